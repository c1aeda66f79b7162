#!/usr/bin/env bash
# The Debian packages, installed into an empty root and used from there (the package stage of
# scripts/test.sh):
#   1. a Release build for /usr of the libraries, the programs and the man pages, then cpack -G DEB
#   2. each package's files and Depends: every library the programs load, and every package the
#      CMake package needs to find, is provided by a package that Depends names
#   3. both packages unpacked with dpkg-deb -x into an empty directory ROOT
#   4. plexbutler-emulator from ROOT serving on loopback
#   5. test/consumer built with find_package(plexbutler) against ROOT (CMAKE_PREFIX_PATH), run
#      against that emulator
#   6. test/package/pkgconfig_consumer.cpp built with only `pkg-config --cflags --libs` (prefix
#      redefined to ROOT/usr; plain and --static both link), run against that emulator
#   7. the man pages and the bash completion of ROOT (man.sh, completion.sh)
#
# usage: test/package/run.sh [BUILD_DIR]   (default build/package; JOBS sets the parallelism)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
build=${1:-build/package}
jobs=${JOBS:-2}
step() { printf '\n--- package: %s\n' "$*"; }

step "Release build for /usr in $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DPLEXBUTLER_BUILD_TESTS=OFF -DPLEXBUTLER_BUILD_EXAMPLES=OFF -DPLEXBUTLER_BUILD_TOOLS=ON \
    -DPLEXBUTLER_BUILD_BENCH=OFF -DPLEXBUTLER_BUILD_FUZZ=OFF >/dev/null
cmake --build "$build" -j "$jobs"

step "cpack -G DEB"
rm -f "$build"/*.deb
(cd "$build" && cpack -G DEB >/dev/null)
dev_deb=$(ls "$build"/libplexbutler-dev_*.deb)
tools_deb=$(ls "$build"/plexbutler_*.deb)
build=$(cd "$build" && pwd)
for deb in "$dev_deb" "$tools_deb"; do
    echo "$(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
done

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# depends_on DEB PACKAGE: whether the Depends of DEB names PACKAGE.
# (No `grep -q` at the end of a pipe: with pipefail, the SIGPIPE of the writer would be a "no".)
depends_on() {
    local names
    names=$(dpkg-deb -f "$1" Depends | tr ',' '\n' | sed 's/^ *//; s/[ (].*//')
    grep -x -- "$2" <<<"$names" >/dev/null
}
# owner FILE: the Debian package that installed FILE (without the architecture).
# (dpkg knows a file by the path its package lists: with merged /usr, /lib/X may be listed as /usr/lib/X or
# the other way round.)
owner() {
    local path
    for path in "$1" "${1#/usr}" "/usr$1"; do
        { dpkg -S "$path" 2>/dev/null || true; } | head -1 | cut -d: -f1 | grep . && return 0
    done
    return 0
}

step "unpack into an empty root"
work=$build/package-test
rm -rf "$work"
mkdir -p "$work/root"
root=$work/root
dpkg-deb -x "$dev_deb" "$root"
dpkg-deb -x "$tools_deb" "$root"
multiarch=$(gcc -print-multiarch 2>/dev/null || dpkg-architecture -qDEB_HOST_MULTIARCH)
expected_files=(
    usr/bin/plexbutler usr/bin/plexbutler-emulator
    usr/share/man/man1/plexbutler.1.gz usr/share/man/man1/plexbutler-emulator.1.gz
    usr/share/bash-completion/completions/plexbutler usr/share/bash-completion/completions/plexbutler-emulator
    usr/include/plexbutler/client.hpp usr/include/plexbutler/emulator/server.hpp
    "usr/lib/$multiarch/libplexbutler.a" "usr/lib/$multiarch/libplexbutler_emulator.a"
    "usr/lib/$multiarch/cmake/plexbutler/plexbutlerConfig.cmake" "usr/lib/$multiarch/pkgconfig/plexbutler.pc"
)
for f in "${expected_files[@]}"; do
    [[ -e "$root/$f" ]] || fail "the packages do not install /$f"
done
echo "root: $(find "$root" -type f | wc -l) files"

step "Depends"
ldcache=$(ldconfig -p)
# The tools package: a package it Depends on provides every library its programs load.
for program in "$root"/usr/bin/*; do
    for lib in $(readelf -d "$program" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        path=$(awk -v lib="$lib" '$1 == lib && /x86-64|64bit/ && !found {print $NF; found = 1}' <<<"$ldcache")
        [[ -n "$path" ]] || path=$(awk -v lib="$lib" '$1 == lib && !found {print $NF; found = 1}' <<<"$ldcache")
        pkg=$(owner "$(readlink -f "$path")")
        [[ -n "$pkg" ]] || pkg=$(owner "$path")
        if [[ -z "$pkg" ]]; then
            fail "$(basename "$program"): no package provides $lib"
        elif depends_on "$tools_deb" "$pkg"; then
            echo "$(basename "$program"): $lib from $pkg"
        else
            fail "$(basename "$program") loads $lib from $pkg, which the tools package does not depend on"
        fi
    done
done
# The dev package: what plexbutlerConfig.cmake finds, what the headers include and what a consumer
# links with.
boost_cmake=/usr/lib/$multiarch/cmake
for f in "$boost_cmake"/Boost-1.81.0 "$boost_cmake"/boost_system-1.81.0 "$boost_cmake"/boost_json-1.81.0 \
    "$boost_cmake"/boost_url-1.81.0 /usr/include/boost/asio.hpp /usr/include/openssl/ssl.h \
    "/usr/lib/$multiarch/libboost_json.so" "/usr/lib/$multiarch/libboost_url.so" "/usr/lib/$multiarch/libssl.so"; do
    pkg=$(owner "$f")
    if [[ -z "$pkg" ]]; then
        fail "no package provides $f"
    elif depends_on "$dev_deb" "$pkg"; then
        echo "libplexbutler-dev: $f from $pkg"
    else
        fail "a consumer of libplexbutler-dev needs $f from $pkg, which the dev package does not depend on"
    fi
done

step "plexbutler-emulator from the root"
export PATH="$root/usr/bin:$PATH"
[[ "$(command -v plexbutler-emulator)" == "$root/usr/bin/plexbutler-emulator" ]] || fail "PATH"
plexbutler --version
token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
# The file exists before the emulator starts: the background job opens it only when it runs.
: >"$work/emulator.out"
plexbutler-emulator --listen 127.0.0.1:0 --token "$token" --quiet --window 00:00-00:00 >"$work/emulator.out" 2>&1 &
emulator_pid=$!
trap 'kill "$emulator_pid" 2>/dev/null || true' EXIT
url=""
for _ in $(seq 100); do
    url=$(sed -n 's/^listening on //p' "$work/emulator.out")
    [[ -n "$url" ]] && break
    sleep 0.1
done
[[ -n "$url" ]] || { cat "$work/emulator.out"; fail "the emulator did not start"; exit 1; }
echo "emulator: $url"
export PLEX_TOKEN=$token

step "test/consumer with find_package (CMAKE_PREFIX_PATH=ROOT/usr)"
cmake -S test/consumer -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$root/usr" >/dev/null
found=$(sed -n 's/^plexbutler_DIR:PATH=//p' "$work/consumer/CMakeCache.txt")
[[ "$found" == "$root/"* ]] || fail "find_package found plexbutler in $found, not in the root"
cmake --build "$work/consumer"
if out=$("$work/consumer/consumer" "$url"); then
    echo "$out"
    [[ "$out" == *"has 25 tasks"* && "$out" == *"start BackupDatabase: started"* ]] || fail "consumer output"
else
    fail "consumer against the emulator: exit $?"
fi

step "a one-file program with pkg-config"
export PKG_CONFIG_PATH="$root/usr/lib/$multiarch/pkgconfig"
# As installed, the paths are those of /usr; --define-variable=prefix moves them into the root.
[[ "$(pkg-config --variable=includedir plexbutler)" == /usr/include ]] || fail "includedir is not /usr/include"
[[ "$(pkg-config --variable=libdir plexbutler)" == "/usr/lib/$multiarch" ]] || fail "libdir is not /usr/lib/$multiarch"
[[ "$(pkg-config --modversion plexbutler)" == "$(plexbutler --version | sed -n '1s/^[^ ]* //p')" ]] || fail "version"
flags=$(pkg-config --define-variable=prefix="$root/usr" --cflags --libs plexbutler)
echo "pkg-config --cflags --libs plexbutler: $flags"
# The library is static: the plain flags must already name what it links with.
static_flags=$(pkg-config --define-variable=prefix="$root/usr" --static --cflags --libs plexbutler)
for lib in -lplexbutler -lboost_json -lboost_url -lssl -lcrypto; do
    [[ " $flags " == *" $lib "* ]] || fail "pkg-config --libs lacks $lib"
    [[ " $static_flags " == *" $lib "* ]] || fail "pkg-config --static --libs lacks $lib"
done
[[ "$flags" == *"-I$root/usr/include"* && "$flags" == *"-L$root/usr/lib/$multiarch"* ]] || fail "pkg-config paths"
# shellcheck disable=SC2086 # one flag per word
c++ -std=c++20 -o "$work/pkgconfig_consumer" test/package/pkgconfig_consumer.cpp $flags
if out=$("$work/pkgconfig_consumer" "$url"); then
    echo "$out"
    [[ "$out" == *"25 tasks"* && "$out" == *"CleanOldBundles started, then stopped"* ]] || fail "pkgconfig_consumer output"
else
    fail "pkgconfig_consumer against the emulator: exit $?"
fi

step "man pages and bash completion of the root"
bash test/package/man.sh "$root/usr/share/man/man1" "$root/usr/bin/plexbutler" "$root/usr/bin/plexbutler-emulator" ||
    fail "man.sh"
env -u PLEX_TOKEN bash test/package/completion.sh "$root/usr/share/bash-completion/completions/plexbutler" \
    "$root/usr/share/bash-completion/completions/plexbutler-emulator" \
    "$root/usr/bin/plexbutler" "$root/usr/bin/plexbutler-emulator" || fail "completion.sh"

if [[ $failures -ne 0 ]]; then
    echo "package: $failures check(s) failed"
    exit 1
fi
echo "package: the packages install into an empty root and both consumers build and run there"

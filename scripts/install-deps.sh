#!/usr/bin/env bash
# Installs the Debian 12 packages plexbutler needs to build, test and demo; with --bench also
# those of the benchmarks (bench/compare, bench/emulator-vs-nginx, plexbutler-micro).
# Idempotent: only packages that are missing are installed (apt runs only then).
set -euo pipefail

packages=(
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev catch2
  cmake ninja-build g++ clang clang-format libclang-rt-14-dev llvm openssl
  dpkg-dev file binutils pkgconf help2man man-db doxygen
)
bench_packages=(wrk nginx-light gnuplot-nox libbenchmark-dev jq gawk time)

case "${1:-}" in
  "") ;;
  --bench) packages+=("${bench_packages[@]}") ;;
  *) echo "usage: scripts/install-deps.sh [--bench]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "install-deps: missing packages: ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps: not root and sudo is not available; install these packages as root:" >&2
  echo "  apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"

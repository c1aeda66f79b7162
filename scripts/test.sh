#!/usr/bin/env bash
# shellcheck disable=SC2317 # stage functions are called indirectly
# The whole plexbutler test suite, as CI runs it:
#   1. deps   install missing Debian packages (scripts/install-deps.sh)
#   2. format every C++ source matches .clang-format (clang-format --dry-run --Werror)
#   3. ci     g++ build with warnings as errors, full CTest suite
#   4. package Release build for /usr, cpack -G DEB, both packages unpacked into an empty root,
#             test/consumer (find_package) and a pkg-config program built and run there against the
#             root's plexbutler-emulator, man pages and bash completion checked (test/package/run.sh)
#   5. docs   the Doxygen reference of the public headers: any warning fails (Doxyfile)
#   6. asan   g++ ASan+UBSan build, full CTest suite with leak detection
#   7. tsan   g++ TSan build of the test sources that have [stress] test cases, those cases only
#   8. fuzz   clang libFuzzer targets under test/fuzz, each run for PLEXBUTLER_FUZZ_SECONDS
#             (PLEXBUTLER_JOBS of them at a time)
# Every stage runs even when an earlier one failed (except deps); the exit status is
# non-zero when any stage failed. Environment:
#   PLEXBUTLER_JOBS           parallel build/test jobs (default 2)
#   PLEXBUTLER_STAGES         space-separated subset of stages to run (default: all)
#   PLEXBUTLER_FUZZ_SECONDS   seconds per fuzz target (default 30)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs=${PLEXBUTLER_JOBS:-2}
fuzz_seconds=${PLEXBUTLER_FUZZ_SECONDS:-30}
stages=${PLEXBUTLER_STAGES:-"deps format ci package docs asan tsan fuzz"}
summary=()
failed=0

banner() { printf '\n========== %s ==========\n' "$*"; }

# configure_and_build PRESET [TARGET...]: configure the preset and build the targets (default: all).
configure_and_build() {
  local preset=$1
  shift
  cmake --preset "$preset"
  if [[ $# -gt 0 ]]; then
    cmake --build --preset "$preset" -j "$jobs" --target "$@"
  else
    cmake --build --preset "$preset" -j "$jobs"
  fi
}

# run_ctest PRESET: the preset's CTest run; its log is kept for the final summary.
run_ctest() {
  local preset=$1
  ctest --preset "$preset" -j "$jobs" 2>&1 | tee "build/$preset/ctest.log"
}

stage_deps() {
  scripts/install-deps.sh
}

stage_format() {
  local files
  files=$(git ls-files -- 'include/*.hpp' 'src/*.cpp' 'src/*.hpp' 'tools/*.cpp' 'tools/*.hpp' 'test/*.cpp' 'test/*.hpp' \
    'bench/*.cpp' 'bench/*.hpp' 'examples/*.cpp' | grep -v '^test/fuzz/corpus/' || true)
  # shellcheck disable=SC2086 # one file per word
  clang-format --dry-run --Werror $files
  echo "format: $(echo "$files" | wc -l) files match .clang-format"
}

stage_ci() {
  configure_and_build ci
  run_ctest ci
}

# The Debian packages in an empty root (test/package/run.sh, which says what it checks).
stage_package() {
  JOBS=$jobs test/package/run.sh build/package
}

# Doxyfile has WARN_AS_ERROR = FAIL_ON_WARNINGS: an undocumented public declaration or a broken
# reference fails the stage; every warning is printed.
stage_docs() {
  rm -rf build/doxygen
  mkdir -p build/doxygen # doxygen makes only the last directory of OUTPUT_DIRECTORY
  doxygen Doxyfile
  echo "docs: the reference has $(find build/doxygen/html -name '*.html' | wc -l) pages, no warning"
}

stage_asan() {
  configure_and_build asan
  ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 run_ctest asan
}

# Test sources (test/AREA/*.cpp) that have a test case tagged [stress].
stress_sources() {
  grep -l '\[stress\]' test/*/*.cpp 2>/dev/null | grep -v -e '^test/support/' -e '^test/fuzz/' -e '^test/consumer/' || true
}

# test/CMakeLists.txt builds the sources with [stress] cases into test_stress (they also belong to
# their area binaries, test_AREA) so that TSan compiles only those sources.
stage_tsan() {
  local sources
  sources=$(stress_sources)
  if [[ -z "$sources" ]]; then
    echo "tsan: no test case is tagged [stress]; nothing to run"
    return 0
  fi
  echo "tsan: [stress] cases in: ${sources//$'\n'/ }"
  configure_and_build tsan test_stress
  echo "tsan: build/tsan/test/test_stress [stress]"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build/tsan/test/test_stress '[stress]'
}

# One fuzz target for PLEXBUTLER_FUZZ_SECONDS on a copy of its seed corpus; its output goes to a log.
run_fuzz_target() {
  local target=$1 name work corpus
  name=$(basename "$target")
  work="build/fuzz/corpus-work/$name"
  rm -rf "$work"
  mkdir -p "$work"
  corpus="test/fuzz/corpus/$name"
  if [[ -d "$corpus" ]]; then
    cp -r "$corpus/." "$work/"
  fi
  "$target" -max_total_time="$fuzz_seconds" -print_final_stats=1 "$work" >"build/fuzz/logs/$name.log" 2>&1
}

# The targets run $jobs at a time (each is one single-threaded process, so each still fuzzes for
# the full PLEXBUTLER_FUZZ_SECONDS on its own core); each log is printed when its target ends.
stage_fuzz() {
  if [[ ! -f test/fuzz/CMakeLists.txt ]]; then
    echo "fuzz: test/fuzz/CMakeLists.txt does not exist; nothing to run"
    return 0
  fi
  cmake --preset fuzz
  # The Ninja generator's per-directory target builds only what test/fuzz defines.
  cmake --build --preset fuzz -j "$jobs" --target test/fuzz/all
  rm -rf build/fuzz/logs
  mkdir -p build/fuzz/logs
  local rc=0 target pid ran=0
  local -A running=() # pid -> target name
  finish_one() {
    local done_pid status=0
    wait -n -p done_pid "${!running[@]}" || status=$?
    echo "---------- fuzz: ${running[$done_pid]} (exit $status) ----------"
    cat "build/fuzz/logs/${running[$done_pid]}.log"
    [[ $status -eq 0 ]] || rc=1
    unset "running[$done_pid]"
  }
  for target in build/fuzz/test/fuzz/*; do
    [[ -f "$target" && -x "$target" ]] || continue
    while [[ ${#running[@]} -ge $jobs ]]; do
      finish_one
    done
    echo "fuzz: $(basename "$target") for ${fuzz_seconds}s"
    run_fuzz_target "$target" &
    pid=$!
    running[$pid]=$(basename "$target")
    ran=$((ran + 1))
  done
  while [[ ${#running[@]} -gt 0 ]]; do
    finish_one
  done
  echo "fuzz: ran $ran target(s), $jobs at a time"
  return "$rc"
}

run_stage() {
  local name=$1 start rc
  banner "stage $name"
  start=$(date +%s)
  ( set -e; "stage_$name" )
  rc=$?
  local seconds=$(( $(date +%s) - start ))
  if [[ $rc -eq 0 ]]; then
    summary+=("$(printf '%-7s passed  (%ds)' "$name" "$seconds")")
  else
    summary+=("$(printf '%-7s FAILED  (%ds, exit %d)' "$name" "$seconds" "$rc")")
    failed=1
  fi
  return "$rc"
}

for stage in $stages; do
  if ! declare -F "stage_$stage" >/dev/null; then
    echo "unknown stage: $stage" >&2
    exit 2
  fi
  # Not in a conditional context: set -e must stay effective inside the stage's subshell.
  set +e
  run_stage "$stage"
  rc=$?
  set -e
  if [[ $rc -ne 0 && $stage == deps ]]; then
    break # nothing can build without the packages
  fi
done

banner "summary"
for line in "${summary[@]}"; do
  echo "$line"
done
for preset in ci asan; do
  if [[ " $stages " == *" $preset "* && -f build/$preset/ctest.log ]]; then
    echo "--- ctest ($preset):"
    grep -E 'tests passed|tests failed|The following tests FAILED|\(Failed\)|\(Timeout\)|\(SEGFAULT\)|\(Subprocess aborted\)' \
      "build/$preset/ctest.log" || true
  fi
done
exit "$failed"

#!/usr/bin/env bash
# Renders the man pages of plexbutler and plexbutler-emulator with `man -l` and checks them against
# the programs: the page renders without a groff warning, and every option that --help lists
# is in it.
#
# usage: man.sh MAN_DIR PLEXBUTLER PLEXBUTLER_EMULATOR   (MAN_DIR holds NAME.1.gz)
set -uo pipefail
if [[ $# -ne 3 ]]; then
    echo "usage: man.sh MAN_DIR PLEXBUTLER PLEXBUTLER_EMULATOR" >&2
    exit 2
fi
man_dir=$1
warnings=$(mktemp)
trap 'rm -f "$warnings"' EXIT
failed=0
passed=0
fail() {
    echo "FAIL: $*"
    failed=$((failed + 1))
}

for program in "$2" "$3"; do
    name=$(basename "$program")
    page="$man_dir/$name.1.gz"
    if [[ ! -f "$page" ]]; then
        fail "$page does not exist"
        continue
    fi
    # --warnings: groff reports what it cannot format; MANWIDTH fixes the line length.
    text=$(MANWIDTH=100 man --warnings -l "$page" 2>"$warnings" | sed 's/.\x08//g')
    rc=${PIPESTATUS[0]}
    if [[ $rc -ne 0 || -s "$warnings" ]]; then
        fail "man -l $page: exit $rc: $(cat "$warnings")"
        continue
    fi
    header=$(echo "$name" | tr '[:lower:]' '[:upper:]')"(1)"
    [[ "$text" == *"$header"* ]] || fail "$name: no $header header"
    [[ "$text" == *"NAME"*"$name - "* ]] || fail "$name: no NAME section"
    # Every option of --help is documented (help2man made the page from it).
    options=$("$program" --help | sed 's/--[a-z-]*-\*//g' | grep -oE -- '--[a-z][a-z-]*[a-z]' | sort -u)
    [[ $(echo "$options" | wc -l) -ge 10 ]] || fail "$name: --help lists fewer than 10 options"
    for option in $options; do
        if grep -qF -- "$option" <<<"$text"; then
            passed=$((passed + 1))
        else
            fail "$name: option $option of --help is not in the man page"
        fi
    done
done
[[ "$(MANWIDTH=100 man -l "$man_dir/plexbutler.1.gz" 2>/dev/null)" == *PLEX_TOKEN* ]] || fail "plexbutler: no PLEX_TOKEN in the page"
echo "man: $passed passed, $failed failed"
[[ $failed -eq 0 ]]

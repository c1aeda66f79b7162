#!/usr/bin/env bash
# Drives the bash completion of plexbutler and plexbutler-emulator the way bash does (COMP_WORDS,
# COMP_CWORD, then the completion function) and checks what it offers: commands, options, file
# names, and task names asked of a running plexbutler-emulator only when PLEX_SERVER_URL and
# PLEX_TOKEN are set.
#
# usage: completion.sh PLEXBUTLER_COMPLETION EMULATOR_COMPLETION PLEXBUTLER PLEXBUTLER_EMULATOR
set -uo pipefail
if [[ $# -ne 4 ]]; then
    echo "usage: completion.sh PLEXBUTLER_COMPLETION EMULATOR_COMPLETION PLEXBUTLER PLEXBUTLER_EMULATOR" >&2
    exit 2
fi
cli_completion=$1 emulator_completion=$2 cli=$3 emulator=$4
# shellcheck source=/dev/null
source "$cli_completion" || exit 1
# shellcheck source=/dev/null
source "$emulator_completion" || exit 1
[[ "$(complete -p plexbutler)" == *"-F _plexbutler plexbutler"* ]] || { echo "FAIL: complete -p plexbutler"; exit 1; }
[[ "$(complete -p plexbutler-emulator)" == *"-F _plexbutler_emulator plexbutler-emulator"* ]] ||
    { echo "FAIL: complete -p plexbutler-emulator"; exit 1; }

work=$(mktemp -d)
emulator_pid=""
cleanup() {
    [[ -n "$emulator_pid" ]] && kill "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0

# offered FUNCTION WORD...: runs FUNCTION as bash would for the command line WORD... (the last word
# is the one being completed) and prints COMPREPLY sorted, space-separated.
offered() {
    local fn=$1
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]:-}"
    if [[ ${#COMPREPLY[@]} -gt 0 ]]; then
        printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
    fi
}

# check DESCRIPTION EXPECTED ACTUAL
check() {
    if [[ "$2" == "$3" ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        printf 'FAIL: %s\n  expected: [%s]\n  actual:   [%s]\n' "$1" "$2" "$3"
    fi
}

sorted() { printf '%s\n' "$@" | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//'; }

unset PLEX_SERVER_URL PLEX_TOKEN

# Commands.
check "commands" "demo list pin start start-all stop stop-all watch" "$(offered _plexbutler "$cli" "")"
check "commands starting with st" "start start-all stop stop-all" "$(offered _plexbutler "$cli" st)"
check "command after options and their values" "list" \
    "$(offered _plexbutler "$cli" --server http://127.0.0.1:1 --timeout-ms 5 --json li)"
check "command after --name=value" "watch" "$(offered _plexbutler "$cli" --timeout-ms = 5 wa)"
check "nothing after a complete command" "" "$(offered _plexbutler "$cli" list "")"

# Options: exactly those of --help.
help_options=$("$cli" --help | sed "s/curl's --[a-z-]*//g" | grep -oE -- '--[a-z][a-z-]+' | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//')
check "every option of --help, no other" "$help_options" "$(offered _plexbutler "$cli" --)"
check "options starting with --ver" "--verbose --version" "$(offered _plexbutler "$cli" --ver)"
check "options after the command" "--json" "$(offered _plexbutler "$cli" list --js)"
check "no value offered for --timeout-ms" "" "$(offered _plexbutler "$cli" --timeout-ms "")"

# File names after --ca-file and --servers (also as --name=value).
mkdir -p "$work/files"
touch "$work/files/ca.pem" "$work/files/cats.txt" "$work/files/servers.txt"
check "files after --ca-file" "$work/files/ca.pem $work/files/cats.txt" \
    "$(offered _plexbutler "$cli" --ca-file "$work/files/ca")"
check "files after --servers=" "$work/files/servers.txt" \
    "$(offered _plexbutler "$cli" --servers = "$work/files/s")"

# Task names: asked of a running emulator (no authentication, so only the environment can keep the
# completion from asking).
# The file exists before the emulator starts: the background job opens it only when it runs.
: >"$work/emulator.out"
"$emulator" --listen 127.0.0.1:0 --quiet --window 00:00-00:00 >"$work/emulator.out" 2>&1 &
emulator_pid=$!
url=""
for _ in $(seq 100); do
    url=$(sed -n 's/^listening on //p' "$work/emulator.out")
    [[ -n "$url" ]] && break
    sleep 0.1
done
if [[ -z "$url" ]]; then
    echo "FAIL: plexbutler-emulator did not start: $(cat "$work/emulator.out")"
    exit 1
fi
# shellcheck disable=SC2207 # task names have no space
server_tasks=($(PLEX_SERVER_URL=$url "$cli" list | tail -n +2 | awk '{print $1}'))
if [[ ${#server_tasks[@]} -lt 20 ]]; then
    echo "FAIL: the emulator lists ${#server_tasks[@]} tasks"
    exit 1
fi

check "no task names without PLEX_SERVER_URL and PLEX_TOKEN" "" "$(offered _plexbutler "$cli" start "")"
export PLEX_SERVER_URL=$url
check "no task names without PLEX_TOKEN" "" "$(offered _plexbutler "$cli" start "")"
export PLEX_TOKEN=completion-test-token
check "every task name of the server after stop" "$(sorted "${server_tasks[@]}")" \
    "$(offered _plexbutler "$cli" stop "")"
check "task names starting with Backup" "BackupDatabase" "$(offered _plexbutler "$cli" start Backup)"
check "task names after options" "BackupDatabase" "$(offered _plexbutler "$cli" --timeout-ms 900 start --verbose Backup)"
check "nothing after the task name" "" "$(offered _plexbutler "$cli" start BackupDatabase "")"
check "no task names for list" "" "$(offered _plexbutler "$cli" list B)"
unset PLEX_SERVER_URL
check "no task names without PLEX_SERVER_URL" "" "$(offered _plexbutler "$cli" start "")"
# A server that is down: nothing, quickly, and nothing on the terminal.
start=$SECONDS
errors=$(PLEX_SERVER_URL=http://127.0.0.1:1 offered _plexbutler "$cli" start "" 2>&1)
check "no task names and no message from a server that is down" "" "$errors"
check "a server that is down answers within 4 s" "yes" "$([[ $((SECONDS - start)) -le 4 ]] && echo yes || echo no)"

# plexbutler-emulator: exactly the options of its --help, and file names after --tasks.
# (--fault-* in the help is a family of options, not one.)
emulator_options=$("$emulator" --help | sed 's/--[a-z-]*-\*//g' | grep -oE -- '--[a-z][a-z-]+[a-z]' | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//')
check "plexbutler-emulator: every option of --help, no other" "$emulator_options" \
    "$(offered _plexbutler_emulator "$emulator" --)"
check "plexbutler-emulator: options starting with --tls-" "--tls-cert --tls-key --tls-name --tls-plex-direct --tls-self-signed --tls-write-ca" \
    "$(offered _plexbutler_emulator "$emulator" --tls-)"
check "plexbutler-emulator: files after --tasks" "$work/files/servers.txt" \
    "$(offered _plexbutler_emulator "$emulator" --tasks "$work/files/se")"
check "plexbutler-emulator: --addressing values" "loopback ports" "$(offered _plexbutler_emulator "$emulator" --addressing "")"
check "plexbutler-emulator: no value offered for --listen" "" "$(offered _plexbutler_emulator "$emulator" --listen "")"

echo "completion: $passed passed, $failed failed"
[[ $failed -eq 0 ]]

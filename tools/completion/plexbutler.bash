# bash completion of plexbutler (installed as /usr/share/bash-completion/completions/plexbutler).
# shellcheck disable=SC2207 # COMPREPLY=($(compgen ...)): the words of compgen, split on purpose
#
# Completes the commands, the options, file names after --ca-file and --servers, and task names
# after `start` and `stop`. Task names are asked of the server (`plexbutler list`, 3 s at most),
# and only when PLEX_SERVER_URL and PLEX_TOKEN are both set: completion never sends a request
# anywhere else, nor without a token. Needs nothing but bash (not the bash-completion helpers).

_plexbutler_commands="list start stop start-all stop-all watch pin demo"
_plexbutler_options="--server --token --client-id --timeout-ms --retries --ca-file --insecure --verbose
--resolve --pinned-pubkey --servers --concurrency --interval-ms --json --help --version"
# Options that take a value (the next word, or --name=value).
_plexbutler_valued="--server --token --client-id --timeout-ms --retries --ca-file --resolve --pinned-pubkey --servers --concurrency --interval-ms"

# _plexbutler_tasks PROGRAM: the task names of the server of PLEX_SERVER_URL, one a line.
_plexbutler_tasks()
{
    [[ -n "${PLEX_SERVER_URL:-}" && -n "${PLEX_TOKEN:-}" ]] || return 0
    local program=$1 name rest IFS=$' \t\n'
    command -v -- "$program" >/dev/null 2>&1 || program=plexbutler
    # The table's first column is the name (a task name has no space); the first line is the header.
    "$program" --timeout-ms 3000 list 2>/dev/null | {
        read -r _ || return 0
        while read -r name rest; do
            [[ -n "$name" && "$name" != *\\* ]] && printf '%s\n' "$name"
        done
    }
}

_plexbutler()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()

    # --name=value: bash splits at '=' (COMP_WORDBREAKS), giving "--name" "=" "value".
    if [[ "$prev" == "=" ]] && ((COMP_CWORD >= 2)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    elif [[ "$cur" == "=" ]]; then
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        cur=""
    fi
    case "$prev" in
    --ca-file | --servers)
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
        return 0
        ;;
    --server | --token | --client-id | --timeout-ms | --retries | --resolve | --pinned-pubkey | --concurrency | --interval-ms)
        return 0 # a value of the user's: nothing to offer
        ;;
    esac

    # The command and its arguments so far: the words that are neither options nor their values.
    local i word command="" arguments=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ "$word" == --* ]]; then
            if [[ " $_plexbutler_valued " == *" $word "* ]]; then
                if [[ "${COMP_WORDS[i + 1]:-}" == "=" ]]; then
                    ((i += 2))
                else
                    ((i += 1))
                fi
            fi
            continue
        fi
        [[ "$word" == "=" ]] && continue
        if [[ -z "$command" ]]; then
            command=$word
        else
            ((arguments += 1))
        fi
    done

    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$_plexbutler_options" -- "$cur"))
        return 0
    fi
    if [[ -z "$command" ]]; then
        COMPREPLY=($(compgen -W "$_plexbutler_commands" -- "$cur"))
    elif [[ ("$command" == start || "$command" == stop) && arguments -eq 0 ]]; then
        local IFS=$'\n'
        COMPREPLY=($(compgen -W "$(_plexbutler_tasks "${COMP_WORDS[0]}")" -- "$cur"))
    fi
    return 0
}

complete -F _plexbutler plexbutler

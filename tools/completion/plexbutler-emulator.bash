# bash completion of plexbutler-emulator (installed as
# shellcheck disable=SC2207 # COMPREPLY=($(compgen ...)): the words of compgen, split on purpose
# /usr/share/bash-completion/completions/plexbutler-emulator): its options, and file names after
# the options that take a file.

_plexbutler_emulator_options="--listen --token --threads --tasks --window --task-duration-ms --latency-ms
--close-after --fail-rate --seed --request-timeout-ms --tls-cert --tls-key --tls-self-signed --tls-name --tls-plex-direct --tls-write-ca
--token-env --quiet --help --version --fleet --addressing --token-pattern --write-servers --fault-fraction
--fault-seed --fault-down --fault-latency-ms --fault-fail-rate --fault-close-after --fault-unauthorized"

_plexbutler_emulator()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    case "$prev" in
    --tasks | --tls-cert | --tls-key | --tls-write-ca | --write-servers)
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
        return 0
        ;;
    --addressing)
        COMPREPLY=($(compgen -W "ports loopback" -- "$cur"))
        return 0
        ;;
    --listen | --token | --threads | --window | --task-duration-ms | --latency-ms | --close-after | --fail-rate | \
        --seed | --request-timeout-ms | --tls-self-signed | --tls-name | --tls-plex-direct | --token-env | --fleet | --token-pattern | \
        --fault-fraction | --fault-seed | --fault-latency-ms | --fault-fail-rate | --fault-close-after)
        return 0 # a value of the user's: nothing to offer
        ;;
    esac
    if [[ "$cur" == -* || -z "$cur" ]]; then
        COMPREPLY=($(compgen -W "$_plexbutler_emulator_options" -- "$cur"))
    fi
    return 0
}

complete -F _plexbutler_emulator plexbutler-emulator

#!/usr/bin/env bash
# Smoke test of plexbutler-fleet-bench (CTest, with PLEXBUTLER_BUILD_BENCH): two emulated servers
# over HTTP, every phase at its smallest; the JSON line must report 2 servers and 0 failures.
#
#   smoke.sh PLEXBUTLER-FLEET-BENCH PLEXBUTLER-EMULATOR
set -euo pipefail
bench=${1:?usage: smoke.sh BENCH EMULATOR}
emulator=${2:?usage: smoke.sh BENCH EMULATOR}

work=$(mktemp -d "${TMPDIR:-/tmp}/fleet-bench-smoke.XXXXXX")
pids=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export SMOKE_TOKEN="smoke-$RANDOM-$RANDOM"
for i in 1 2; do
  "$emulator" --listen 127.0.0.1:0 --token "$SMOKE_TOKEN" --quiet >"$work/emu$i.out" 2>"$work/emu$i.err" &
  pids+=($!)
done
for i in 1 2; do
  for _ in $(seq 300); do
    url=$(sed -n '1s/^listening on \(http[^ ]*\).*/\1/p' "$work/emu$i.out")
    [[ -n "$url" ]] && break
    sleep 0.1
  done
  [[ -n "$url" ]] || { echo "smoke: emulator $i did not start" >&2; cat "$work/emu$i.err" >&2; exit 1; }
  echo "$url env:SMOKE_TOKEN server-$i" >>"$work/servers"
done

json=$("$bench" --servers "$work/servers" --sweeps 2 --idle-s 0.1 --poll-s 0.5 --poll-interval-ms 200)
echo "$json"
grep -q '"servers":2,' <<<"$json" || { echo "smoke: not 2 servers" >&2; exit 1; }
grep -q '"failures":0}' <<<"$json" || { echo "smoke: failures" >&2; exit 1; }
grep -q '"polls":[1-9]' <<<"$json" || { echo "smoke: the poller did not poll" >&2; exit 1; }

#!/usr/bin/env bash
# Builds the release preset and runs `plexbutler demo` (the CLI against a local Butler emulator).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs=${PLEXBUTLER_JOBS:-2}
scripts/install-deps.sh
cmake --preset release
cli=build/release/bin/plexbutler
# Only the CLI (and the libraries it links) is needed for the demo.
if ! cmake --build --preset release -j "$jobs" --target plexbutler_cli || [[ ! -x "$cli" ]]; then
  echo "demo: $cli was not built (the CLI sources under tools/cli are missing or failed to build)" >&2
  exit 1
fi
exec "$cli" demo "$@"

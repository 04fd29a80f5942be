#!/usr/bin/env bash
# npm run bench: starts the real services (as the tests do) and prints every benchmark's figures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh start
# shellcheck disable=SC1091
source .runlog-test/env
node --import tsx bench/index.ts "$@"

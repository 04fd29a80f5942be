#!/usr/bin/env bash
# npm run chaos -- --rounds N: kills runners, the server and a private nats-server mid-build
# (bench/chaos.ts) against the real Postgres that scripts/services.sh starts.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh start
# shellcheck disable=SC1091
source .runlog-test/env
node --import tsx bench/chaos.ts "$@"

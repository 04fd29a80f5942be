#!/usr/bin/env bash
# The whole test suite: installs and starts the real services (PostgreSQL, NATS JetStream,
# dockerd), runs every test tier against them, and stops them again.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
scripts/services.sh start
trap 'scripts/services.sh stop' EXIT
# shellcheck disable=SC1091
source .runlog-test/env
node scripts/run-tests.js "$@"

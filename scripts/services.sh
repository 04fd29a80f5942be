#!/usr/bin/env bash
# Installs (when missing) and starts the real services the tests use, on loopback, in a
# throw-away folder: PostgreSQL 15, nats-server with JetStream, and dockerd behind a dead
# proxy so that no image is ever pulled. Writes their addresses to $RUNLOG_TEST_HOME/env.
#   scripts/services.sh start    start whatever is not running yet (idempotent)
#   scripts/services.sh stop     stop them and remove the folder
set -euo pipefail
cd "$(dirname "$0")/.."
export RUNLOG_TEST_HOME=${RUNLOG_TEST_HOME:-$PWD/.runlog-test}
PG_PORT=${RUNLOG_TEST_PG_PORT:-55432}
NATS_PORT=${RUNLOG_TEST_NATS_PORT:-54222}
DOCKER_SOCK=${RUNLOG_TEST_DOCKER_SOCK:-/var/run/docker.sock}
PG_BIN=/usr/lib/postgresql/15/bin

say() { printf '[services] %s\n' "$*" >&2; }

install_missing() {
  local want=()
  [ -x "$PG_BIN/postgres" ] || want+=(postgresql-15)
  command -v nats-server >/dev/null || want+=(nats-server)
  command -v dockerd >/dev/null || want+=(docker.io)
  [ -x /bin/busybox ] || want+=(busybox-static)
  command -v git >/dev/null || want+=(git)
  # The image registry (caicloud build/push tests) and the browser (web page tests).
  command -v docker-registry >/dev/null || want+=(docker-registry)
  command -v chromium >/dev/null || want+=(chromium)
  if [ ${#want[@]} -gt 0 ]; then
    say "installing ${want[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${want[@]}" >/dev/null
  fi
}

wait_for() { # wait_for <seconds> <what> <command...>
  local limit=$1 what=$2; shift 2
  for _ in $(seq 1 $((limit * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  say "$what did not start within ${limit}s; see $RUNLOG_TEST_HOME/*.log"; return 1
}

start_postgres() {
  local dir=$RUNLOG_TEST_HOME/pg
  if su postgres -c "$PG_BIN/pg_ctl -D $dir status" >/dev/null 2>&1; then return 0; fi
  mkdir -p "$dir"; chown -R postgres "$RUNLOG_TEST_HOME/pg"
  chmod 755 "$RUNLOG_TEST_HOME"
  if [ ! -f "$dir/PG_VERSION" ]; then
    su postgres -c "$PG_BIN/initdb -D $dir -A trust -U postgres" >/dev/null
  fi
  su postgres -c "$PG_BIN/pg_ctl -D $dir -l $dir/postgres.log -w -o '-c listen_addresses=127.0.0.1 -p $PG_PORT -c max_connections=300 -c fsync=off -c unix_socket_directories=$dir' start" >/dev/null
  say "postgres on 127.0.0.1:$PG_PORT"
}

start_nats() {
  local dir=$RUNLOG_TEST_HOME/nats
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then return 0; fi
  mkdir -p "$dir"
  nohup nats-server -js -sd "$dir/store" -a 127.0.0.1 -p "$NATS_PORT" >"$dir/nats.log" 2>&1 &
  echo $! >"$dir/pid"
  wait_for 10 nats-server bash -c "exec 3<>/dev/tcp/127.0.0.1/$NATS_PORT"
  say "nats on 127.0.0.1:$NATS_PORT"
}

start_docker() {
  if docker -H "unix://$DOCKER_SOCK" version >/dev/null 2>&1; then return 0; fi
  local dir=$RUNLOG_TEST_HOME/docker
  mkdir -p "$dir"
  HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 nohup dockerd --ip-masq=false --dns 127.0.0.1 \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/pid" \
    --host "unix://$DOCKER_SOCK" >"$dir/dockerd.log" 2>&1 &
  wait_for 60 dockerd docker -H "unix://$DOCKER_SOCK" version
  say "dockerd on $DOCKER_SOCK"
}

write_env() {
  cat >"$RUNLOG_TEST_HOME/env" <<ENV
export RUNLOG_TEST_HOME=$RUNLOG_TEST_HOME
export RUNLOG_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres
export RUNLOG_TEST_NATS_URL=nats://127.0.0.1:$NATS_PORT
export RUNLOG_TEST_DOCKER_SOCK=$DOCKER_SOCK
ENV
}

case "${1:-start}" in
  start)
    mkdir -p "$RUNLOG_TEST_HOME"
    install_missing
    start_postgres
    start_nats
    start_docker
    [ -x scripts/test-images.sh ] && scripts/test-images.sh
    write_env
    ;;
  stop)
    [ -f "$RUNLOG_TEST_HOME/nats/pid" ] && kill "$(cat "$RUNLOG_TEST_HOME/nats/pid")" 2>/dev/null || true
    su postgres -c "$PG_BIN/pg_ctl -D $RUNLOG_TEST_HOME/pg -m immediate stop" >/dev/null 2>&1 || true
    if [ -f "$RUNLOG_TEST_HOME/docker/pid" ]; then
      kill "$(cat "$RUNLOG_TEST_HOME/docker/pid")" 2>/dev/null || true
      for _ in $(seq 1 100); do [ -f "$RUNLOG_TEST_HOME/docker/pid" ] || break; sleep 0.1; done
    fi
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

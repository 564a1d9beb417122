#!/usr/bin/env bash
# Installs and runs learnstream's local services on loopback, idempotently, on a fresh Debian
# machine: a Kafka-API broker (tansu, sqlite-backed, so a restart keeps every message) and
# ClickHouse. Nothing here is needed in production, where docker-compose.yml (or your own
# cluster) provides Apache Kafka and ClickHouse.
#
#   scripts/services.sh up               install what is missing, start both, wait until they answer
#   scripts/services.sh down             stop what this script started
#   scripts/services.sh status           say what runs where
#   scripts/services.sh kafka-up NAME PORT    start another broker (tests that restart a broker
#   scripts/services.sh kafka-kill NAME       use their own), kill -9 it,
#   scripts/services.sh kafka-down NAME       or stop it with SIGTERM,
#   scripts/services.sh kafka-purge NAME      or stop it and delete its data
#   scripts/services.sh clickhouse-up NAME HTTP_PORT TCP_PORT   start another ClickHouse (fault
#   scripts/services.sh clickhouse-down [NAME]                  tests stop theirs), stop one
#                                                               (main by default),
#   scripts/services.sh clickhouse-purge NAME                   or stop it and delete its data
#
# Environment: LEARNSTREAM_DATA_DIR (default .data), LEARNSTREAM_KAFKA_PORT (9092),
# LEARNSTREAM_CLICKHOUSE_PORT (8123), LEARNSTREAM_CLICKHOUSE_TCP_PORT (9000).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=${LEARNSTREAM_DATA_DIR:-$ROOT/.data}
KAFKA_PORT=${LEARNSTREAM_KAFKA_PORT:-9092}
CLICKHOUSE_PORT=${LEARNSTREAM_CLICKHOUSE_PORT:-8123}
CLICKHOUSE_TCP_PORT=${LEARNSTREAM_CLICKHOUSE_TCP_PORT:-9000}
TANSU_VERSION=0.6.0
CARGO_BIN=${CARGO_HOME:-$HOME/.cargo}/bin
export PATH="$CARGO_BIN:$PATH:/usr/sbin"

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# --- installation -------------------------------------------------------------------------

apt_install() {
    if [ -z "${APT_UPDATED:-}" ]; then
        apt-get update -qq >&2
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

install_tools() {
    command -v curl >/dev/null || apt_install curl
}

# tansu takes about 12 minutes to build on 2 cores: build it once into $CARGO_HOME/bin and reuse
# it whenever the right version is already there. The storage features are not default.
install_tansu() {
    if command -v tansu >/dev/null && [ "$(tansu --version 2>/dev/null)" = "tansu $TANSU_VERSION" ]; then
        return
    fi
    log "building tansu $TANSU_VERSION (about 12 minutes on 2 cores, once per machine)"
    cargo install tansu --locked --version "$TANSU_VERSION" --features libsql,dynostore >&2
}

# A clickhouse server already on PATH wins (the single `clickhouse` binary of current releases,
# or `clickhouse-server`); otherwise Debian's package.
clickhouse_server_command() {
    if command -v clickhouse-server >/dev/null; then
        echo clickhouse-server
    elif command -v clickhouse >/dev/null; then
        echo "clickhouse server"
    fi
}

install_clickhouse() {
    if [ -n "$(clickhouse_server_command)" ]; then
        return
    fi
    log "installing clickhouse-server from Debian's packages"
    apt_install clickhouse-server
    [ -n "$(clickhouse_server_command)" ] || die "clickhouse-server did not install"
}

# --- processes ------------------------------------------------------------------------------

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_until() {
    local what=$1 seconds=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || die "$what did not come up within ${seconds}s"
        sleep 0.2
    done
}

stop_pid() {
    local pid_file=$1 signal=${2:-TERM}
    pid_alive "$pid_file" || { rm -f "$pid_file"; return 0; }
    local pid
    pid=$(cat "$pid_file")
    kill "-$signal" "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        sleep 0.1
    done
    rm -f "$pid_file"
}

kafka_up() {
    local name=$1 port=$2
    local dir=$DATA/kafka-$name
    mkdir -p "$dir"
    if pid_alive "$dir/pid" && port_open "$port"; then
        log "kafka $name already runs on 127.0.0.1:$port"
        return
    fi
    port_open "$port" && die "port $port is taken by another process"
    # The sqlite URL is taken relative to the working directory.
    (
        cd "$dir"
        nohup tansu broker \
            --cluster-id "learnstream-$name" \
            --listener-url "tcp://127.0.0.1:$port" \
            --advertised-listener-url "tcp://127.0.0.1:$port" \
            --storage-engine "sqlite://tansu.db" \
            >>"$dir/broker.log" 2>&1 &
        echo $! >"$dir/pid"
    )
    wait_until "kafka $name" 60 port_open "$port"
    log "kafka $name: 127.0.0.1:$port (data $dir)"
}

# clickhouse_up NAME HTTP_PORT TCP_PORT: "main" is the shared server in $DATA/clickhouse; any
# other name is a server of its own (fault tests stop and start it) in $DATA/clickhouse-NAME.
clickhouse_up() {
    local name=$1 http_port=$2 tcp_port=$3
    local dir
    dir=$(clickhouse_dir "$name")
    mkdir -p "$dir/log" "$dir/data" "$dir/tmp"
    if pid_alive "$dir/pid" && clickhouse_answers "$http_port"; then
        log "clickhouse $name already runs on http://127.0.0.1:$http_port"
        return
    fi
    port_open "$http_port" && die "port $http_port is taken by another process"
    port_open "$tcp_port" && die "port $tcp_port is taken by another process"
    sed -e "s|@DATA@|$dir|g" -e "s|@HTTP_PORT@|$http_port|g" -e "s|@TCP_PORT@|$tcp_port|g" \
        "$ROOT/scripts/clickhouse/config.xml.in" >"$dir/config.xml"
    cp "$ROOT/scripts/clickhouse/users.xml" "$dir/users.xml"
    local server
    server=$(clickhouse_server_command)
    (
        cd "$dir"
        # shellcheck disable=SC2086 # "clickhouse server" is two words on purpose
        nohup $server --config-file="$dir/config.xml" >>"$dir/log/stdout.log" 2>&1 &
        echo $! >"$dir/pid"
    )
    wait_until "clickhouse $name" 90 clickhouse_answers "$http_port"
    log "clickhouse $name: http://127.0.0.1:$http_port ($(clickhouse_version "$http_port"), data $dir)"
}

clickhouse_dir() {
    if [ "$1" = main ]; then echo "$DATA/clickhouse"; else echo "$DATA/clickhouse-$1"; fi
}

clickhouse_answers() {
    [ "$(curl -s --max-time 2 "http://127.0.0.1:$1/ping" 2>/dev/null)" = "Ok." ]
}

clickhouse_version() {
    curl -s --max-time 2 "http://127.0.0.1:$1/?query=SELECT%20version()" 2>/dev/null
}

status() {
    local name dir
    for dir in "$DATA"/kafka-*; do
        [ -d "$dir" ] || continue
        name=${dir##*/kafka-}
        if pid_alive "$dir/pid"; then echo "kafka $name: running (pid $(cat "$dir/pid"))"; else echo "kafka $name: stopped"; fi
    done
    if pid_alive "$DATA/clickhouse/pid" && clickhouse_answers "$CLICKHOUSE_PORT"; then
        echo "clickhouse: running on http://127.0.0.1:$CLICKHOUSE_PORT ($(clickhouse_version "$CLICKHOUSE_PORT"))"
    else
        echo "clickhouse: stopped"
    fi
}

command=${1:-}
case "$command" in
    up)
        install_tools
        install_tansu
        install_clickhouse
        kafka_up main "$KAFKA_PORT"
        clickhouse_up main "$CLICKHOUSE_PORT" "$CLICKHOUSE_TCP_PORT"
        echo "kafka      127.0.0.1:$KAFKA_PORT"
        echo "clickhouse http://127.0.0.1:$CLICKHOUSE_PORT"
        ;;
    down)
        for dir in "$DATA"/kafka-* "$DATA"/clickhouse*; do
            [ -d "$dir" ] && stop_pid "$dir/pid"
        done
        log "stopped"
        ;;
    status) status ;;
    kafka-up) kafka_up "${2:?name}" "${3:?port}" ;;
    kafka-kill) stop_pid "$DATA/kafka-${2:?name}/pid" KILL ;;
    kafka-down) stop_pid "$DATA/kafka-${2:?name}/pid" ;;
    kafka-purge)
        stop_pid "$DATA/kafka-${2:?name}/pid"
        rm -rf "${DATA:?}/kafka-$2"
        ;;
    clickhouse-up) install_clickhouse; clickhouse_up "${2:?name}" "${3:?http port}" "${4:?tcp port}" ;;
    clickhouse-down) stop_pid "$(clickhouse_dir "${2:-main}")/pid" ;;
    clickhouse-purge)
        [ "${2:?name}" != main ] || die "clickhouse-purge is for a test's own server, not main"
        stop_pid "$(clickhouse_dir "$2")/pid"
        rm -rf "$(clickhouse_dir "$2")"
        ;;
    *)
        sed -n '2,20p' "${BASH_SOURCE[0]}" >&2
        exit 2
        ;;
esac

#!/usr/bin/env bash
# Local services without Docker: a real single-node Kafka 4.x (KRaft) broker and Azurite blob.
#
#   bash scripts/services.sh up      # start (no-op when already running), wait until ready
#   bash scripts/services.sh down    # stop both (fine when nothing runs); `down kafka|azurite`: one
#   bash scripts/services.sh status  # what runs
#   bash scripts/services.sh env     # print the env vars to use
#   bash scripts/services.sh fetch   # fetch the Kafka jars once (silent when present)
#
# Ports: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), AZURITE_PORT (10000).
# State lives under .local/ (gitignored): jars, Kafka log dirs, Azurite data, pids, logs.
# With Docker available you can use docker-compose.yml instead.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
AZURITE_PORT="${AZURITE_PORT:-10000}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
AZURITE_START_TIMEOUT="${AZURITE_START_TIMEOUT:-60}"
STOP_TIMEOUT="${STOP_TIMEOUT:-30}"

LOCAL="$ROOT/.local"
LOGS="$LOCAL/logs"
KAFKA_HOME="$LOCAL/kafka"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_DATA="$KAFKA_HOME/data"
KAFKA_PROPS="$KAFKA_HOME/server.properties"
KAFKA_PID="$LOCAL/kafka.pid"
KAFKA_LOG="$LOGS/kafka.log"
AZURITE_DIR="$LOCAL/azurite"
AZURITE_PID="$LOCAL/azurite.pid"
AZURITE_LOG="$LOGS/azurite.log"

AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
KAFKA_BROKERS_VALUE="127.0.0.1:${KAFKA_PORT}"
AZURE_CONN_VALUE="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:${AZURITE_PORT}/devstoreaccount1;"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() {
  local f="$1" pid
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null
}

# Metadata round trip through kafkajs (when installed: in a checkout, or next to this package
# when it is itself installed); a TCP check otherwise.
kafka_answers() {
  port_open "$KAFKA_PORT" || return 1
  if [[ -d "$ROOT/node_modules/kafkajs" || -d "$ROOT/../kafkajs" ]]; then
    node --input-type=module -e "
      import { Kafka, logLevel } from 'kafkajs';
      const admin = new Kafka({ brokers: ['127.0.0.1:${KAFKA_PORT}'], logLevel: logLevel.NOTHING,
        connectionTimeout: 2000, requestTimeout: 5000, retry: { retries: 0 } }).admin();
      const t = setTimeout(() => process.exit(1), 8000);
      try { await admin.connect(); await admin.listTopics(); await admin.disconnect(); clearTimeout(t); process.exit(0); }
      catch { process.exit(1); }
    " >/dev/null 2>&1
  fi
}

azurite_answers() {
  port_open "$AZURITE_PORT" || return 1
  node -e "
    fetch('http://127.0.0.1:${AZURITE_PORT}/devstoreaccount1?comp=list', { signal: AbortSignal.timeout(3000) })
      .then((r) => process.exit(r.status > 0 ? 0 : 1), () => process.exit(1));
  " >/dev/null 2>&1
}

ensure_java() {
  if ! command -v java >/dev/null 2>&1; then
    die "java not found. Kafka 4.x needs Java 17+: install it with
    sudo apt-get install -y openjdk-17-jre-headless
  (and maven to fetch the jars: sudo apt-get install -y maven),
  or run the services with Docker instead: docker compose up -d"
  fi
  local v
  v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
  if [[ -n "$v" && "$v" -lt 17 ]]; then
    die "java $v found, Kafka 4.x needs Java 17+ (sudo apt-get install -y openjdk-17-jre-headless)"
  fi
}

kafka_jars_present() {
  compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null && compgen -G "$KAFKA_LIBS/slf4j-simple-*.jar" >/dev/null
}

fetch_kafka_jars() {
  kafka_jars_present && return 0
  command -v mvn >/dev/null 2>&1 || die "maven not found; it fetches the Kafka jars once.
  Install it with: sudo apt-get install -y maven   (or use Docker: docker compose up -d)"
  log "fetching Kafka jars with Maven into $KAFKA_LIBS (once) ..."
  mkdir -p "$LOGS"
  local tmp="$KAFKA_LIBS.tmp"
  rm -rf "$tmp"
  if ! mvn -q -B -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$tmp" >"$LOGS/kafka-fetch.log" 2>&1; then
    die "fetching Kafka jars failed, see $LOGS/kafka-fetch.log"
  fi
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
}

render_kafka_props() {
  sed -e "s|@KAFKA_PORT@|${KAFKA_PORT}|g" \
      -e "s|@KAFKA_CONTROLLER_PORT@|${KAFKA_CONTROLLER_PORT}|g" \
      -e "s|@KAFKA_LOG_DIR@|${KAFKA_DATA}|g" \
      "$ROOT/scripts/kafka/server.properties.template" >"$KAFKA_PROPS"
}

start_kafka() {
  if kafka_answers; then
    if pid_alive "$KAFKA_PID"; then
      log "Kafka already running (pid $(cat "$KAFKA_PID")) on 127.0.0.1:${KAFKA_PORT}"
    else
      log "something already answers as Kafka on 127.0.0.1:${KAFKA_PORT} (not started by this script); using it"
    fi
    return 0
  fi
  if pid_alive "$KAFKA_PID"; then
    log "Kafka process $(cat "$KAFKA_PID") exists but does not answer yet; waiting"
  else
    if port_open "$KAFKA_PORT"; then
      die "port ${KAFKA_PORT} is taken by something that is not a Kafka broker; set KAFKA_PORT"
    fi
    if port_open "$KAFKA_CONTROLLER_PORT"; then
      die "controller port ${KAFKA_CONTROLLER_PORT} is taken; set KAFKA_CONTROLLER_PORT"
    fi
    ensure_java
    fetch_kafka_jars
    mkdir -p "$KAFKA_DATA" "$LOGS"
    render_kafka_props
    if [[ ! -f "$KAFKA_DATA/meta.properties" ]]; then
      local id
      id="$(java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool random-uuid 2>>"$KAFKA_LOG" | tail -1)"
      [[ -n "$id" ]] || die "StorageTool random-uuid failed, see $KAFKA_LOG"
      log "formatting Kafka storage (cluster id $id)"
      java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format -t "$id" -c "$KAFKA_PROPS" -g \
        >>"$KAFKA_LOG" 2>&1 || die "StorageTool format failed, see $KAFKA_LOG"
    fi
    log "starting Kafka on 127.0.0.1:${KAFKA_PORT} (controller ${KAFKA_CONTROLLER_PORT}), log: $KAFKA_LOG"
    # shellcheck disable=SC2086
    nohup setsid java -Xmx512m -Xms128m ${KAFKA_JAVA_OPTS:-} -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS" \
      >>"$KAFKA_LOG" 2>&1 </dev/null &
    echo $! >"$KAFKA_PID"
  fi
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  until kafka_answers; do
    if ! pid_alive "$KAFKA_PID"; then
      tail -n 30 "$KAFKA_LOG" >&2 || true
      die "Kafka exited during startup, see $KAFKA_LOG"
    fi
    if (( SECONDS >= deadline )); then
      die "Kafka did not answer on 127.0.0.1:${KAFKA_PORT} within ${KAFKA_START_TIMEOUT}s, see $KAFKA_LOG"
    fi
    sleep 1
  done
  log "Kafka ready on 127.0.0.1:${KAFKA_PORT}"
}

# A checkout's devDependency, one installed next to this package, or one on the PATH.
azurite_bin() {
  local candidate
  for candidate in "$ROOT/node_modules/.bin/azurite-blob" "$ROOT/../.bin/azurite-blob"; do
    [[ -x "$candidate" ]] && { echo "$candidate"; return 0; }
  done
  command -v azurite-blob
}

start_azurite() {
  if azurite_answers; then
    if pid_alive "$AZURITE_PID"; then
      log "Azurite already running (pid $(cat "$AZURITE_PID")) on 127.0.0.1:${AZURITE_PORT}"
    else
      log "something already answers on 127.0.0.1:${AZURITE_PORT} (not started by this script); using it"
    fi
    return 0
  fi
  if ! pid_alive "$AZURITE_PID"; then
    local bin
    bin="$(azurite_bin)" || die "Azurite not found. In a checkout: npm ci. With the installed package
  (Azurite is a development dependency, not shipped): npm install -g azurite, or run the
  services with Docker instead: docker compose up -d"
    if port_open "$AZURITE_PORT"; then
      die "port ${AZURITE_PORT} is taken; set AZURITE_PORT"
    fi
    mkdir -p "$AZURITE_DIR" "$LOGS"
    log "starting Azurite blob on 127.0.0.1:${AZURITE_PORT}, data: $AZURITE_DIR, log: $AZURITE_LOG"
    nohup setsid "$bin" --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" --skipApiVersionCheck \
      --location "$AZURITE_DIR" --silent >>"$AZURITE_LOG" 2>&1 </dev/null &
    echo $! >"$AZURITE_PID"
  fi
  local deadline=$((SECONDS + AZURITE_START_TIMEOUT))
  until azurite_answers; do
    if ! pid_alive "$AZURITE_PID"; then
      tail -n 30 "$AZURITE_LOG" >&2 || true
      die "Azurite exited during startup, see $AZURITE_LOG"
    fi
    if (( SECONDS >= deadline )); then
      die "Azurite did not answer on 127.0.0.1:${AZURITE_PORT} within ${AZURITE_START_TIMEOUT}s, see $AZURITE_LOG"
    fi
    sleep 0.5
  done
  log "Azurite ready on 127.0.0.1:${AZURITE_PORT}"
}

stop_one() {
  local name="$1" pidfile="$2" pid
  if ! pid_alive "$pidfile"; then
    rm -f "$pidfile"
    log "$name not running"
    return 0
  fi
  pid="$(cat "$pidfile")"
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if (( SECONDS >= deadline )); then
      log "$name did not stop within ${STOP_TIMEOUT}s; killing"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.5
  done
  rm -f "$pidfile"
}

print_env() {
  cat <<EOF
export KAFKA_BROKERS=${KAFKA_BROKERS_VALUE}
export AZURE_STORAGE_CONNECTION_STRING='${AZURE_CONN_VALUE}'
EOF
}

status_one() {
  local name="$1" pidfile="$2" answers="$3" where="$4"
  local state="stopped"
  if pid_alive "$pidfile"; then state="running (pid $(cat "$pidfile"))"; fi
  if "$answers"; then state="$state, answering on $where"; else state="$state, not answering on $where"; fi
  printf '%-8s %s\n' "$name:" "$state"
}

cmd="${1:-}"
case "$cmd" in
  up)
    start_azurite
    start_kafka
    echo "Services are up. Use:"
    print_env
    ;;
  down)
    # `down` stops both; `down kafka` or `down azurite` only that one (the demo stops what it started).
    which="${2:-all}"
    case "$which" in
      all) stop_one Kafka "$KAFKA_PID"; stop_one Azurite "$AZURITE_PID" ;;
      kafka) stop_one Kafka "$KAFKA_PID" ;;
      azurite) stop_one Azurite "$AZURITE_PID" ;;
      *) echo "usage: bash scripts/services.sh down [kafka|azurite]" >&2; exit 2 ;;
    esac
    ;;
  status)
    status_one Kafka "$KAFKA_PID" kafka_answers "127.0.0.1:${KAFKA_PORT}"
    status_one Azurite "$AZURITE_PID" azurite_answers "127.0.0.1:${AZURITE_PORT}"
    ;;
  env)
    print_env
    ;;
  fetch)
    # Silent and instant when the jars are there (npm run demo / npm test call it every time).
    kafka_jars_present && exit 0
    ensure_java
    fetch_kafka_jars
    log "Kafka jars ready in $KAFKA_LIBS"
    ;;
  *)
    echo "usage: bash scripts/services.sh up|down|status|env|fetch" >&2
    exit 2
    ;;
esac

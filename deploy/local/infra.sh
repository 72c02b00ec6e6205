#!/usr/bin/env bash
# Local Gatehouse infrastructure without Docker: PostgreSQL, one Kafka broker (KRaft, broker and
# controller in one JVM) and one Redis per region.
#
#   bash deploy/local/infra.sh up       # start what is not running yet, wait until it answers
#   bash deploy/local/infra.sh status   # what runs where, and whether it answers (exit 1 if not)
#   bash deploy/local/infra.sh down     # stop what `up` started; reused servers keep running
#   bash deploy/local/infra.sh browser  # Debian's chromium for the console's browser tests, if missing
#
# Each command takes an optional list of components, `postgres`, `kafka`, `redis` (all of them
# when none is named), and acts on those only:
#
#   bash deploy/local/infra.sh up kafka            # just the broker
#   bash deploy/local/infra.sh down kafka redis    # stop those two if this script started them
#
# Defaults (ports, regions, Kafka version) live in deploy/local/defaults.json, which
# docker-compose.yml is tested against. Environment overrides:
#   GATEHOUSE_STATE_DIR          where pid files, logs, data and infra.env go ($root/.gatehouse);
#                                a second instance (e.g. a test's own broker on other ports) uses
#                                a directory of its own and never touches the first one's servers
#   GATEHOUSE_REGIONS            comma list of regions; region i gets Redis port basePort + i
#   GATEHOUSE_REDIS_BASE_PORT    first Redis port (6380)
#   GATEHOUSE_KAFKA_PORT         broker listener port (9092)
#   GATEHOUSE_KAFKA_CONTROLLER_PORT  KRaft controller listener port (9093)
#   GATEHOUSE_KAFKA_EXTRA_LISTENERS  comma list of NAME:port:advertised_port: more plaintext
#                                listeners on the broker's host, each advertising another port
#                                (a TCP proxy there, in front of it: the load test's fault drills
#                                give each region its own listener behind a proxy they control)
#   GATEHOUSE_PG_PORT, GATEHOUSE_PG_USER, GATEHOUSE_PG_PASSWORD  where Postgres is, or is started
#   GATEHOUSE_MAVEN_FLAGS        extra mvn flags, e.g. -Dmaven.repo.local=/tmp/m2
#
# A server that already answers on its port (a system Postgres, a `docker compose up` stack) is
# reused and never stopped. Whatever `up` starts has a pid file in $GATEHOUSE_STATE_DIR/run/ and
# is the only thing `down` stops. The Kafka jars are cached once per checkout in
# .cache/kafka/<version>/ and shared by every state dir. `up` writes $GATEHOUSE_STATE_DIR/infra.env
# (KEY=value lines, sourceable by bash with `set -a`, readable by node's util.parseEnv), naming
# every service's address whichever components were brought up:
#   GATEHOUSE_PG_URL         postgres://user@host:port/gatehouse
#   GATEHOUSE_PG_TEST_URL    the same server, database gatehouse_test
#   GATEHOUSE_KAFKA_BROKERS  host:port[,host:port]
#   GATEHOUSE_REGIONS        region names in order
#   GATEHOUSE_REDIS_URLS     region=redis://host:port, comma separated, in GATEHOUSE_REGIONS order
# `down` with no component (or all three) removes infra.env; `down` of some components keeps it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
state="${GATEHOUSE_STATE_DIR:-$root/.gatehouse}"
[[ -n "$state" ]] || state="$root/.gatehouse"
# Absolute, since it ends up in server.properties and in the marker that identifies the broker.
mkdir -p "$state"
state="$(cd "$state" && pwd)"
run="$state/run"
logs="$state/logs"
env_file="$state/infra.env"

log() { printf 'infra: %s\n' "$*" >&2; }
die() { printf 'infra: error: %s\n' "$*" >&2; exit 1; }

# shellcheck source=deploy/local/node-env.sh
source "$here/node-env.sh"
gatehouse_node_env "$root" || die "no usable Node (see deploy/local/node-env.sh)"

# --- defaults.json, then env overrides --------------------------------------------------------
# shellcheck disable=SC2016 # the single quotes hold JavaScript, not shell
eval "$(node -e '
  const d = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  const q = (v) => "\x27" + String(v).replaceAll("\x27", "\x27\\\x27\x27") + "\x27";
  const out = {
    def_pg_host: d.postgres.host, def_pg_port: d.postgres.port, def_pg_user: d.postgres.user,
    def_pg_db: d.postgres.database, def_pg_test_db: d.postgres.testDatabase,
    kafka_version: d.kafka.version, kafka_host: d.kafka.host, def_kafka_port: d.kafka.port,
    def_kafka_controller_port: d.kafka.controllerPort, kafka_heap: d.kafka.heap,
    redis_host: d.redis.host, def_redis_base_port: d.redis.basePort, def_regions: d.redis.regions.join(","),
  };
  for (const [k, v] of Object.entries(out)) console.log(`${k}=${q(v)}`);
' "$here/defaults.json")"

# Set by the eval above (shellcheck cannot see through it).
: "${def_pg_host:?}" "${def_pg_port:?}" "${def_pg_user:?}" "${def_pg_db:?}" "${def_pg_test_db:?}" "${kafka_version:?}" \
  "${kafka_host:?}" "${def_kafka_port:?}" "${def_kafka_controller_port:?}" "${kafka_heap:?}" "${redis_host:?}" \
  "${def_redis_base_port:?}" "${def_regions:?}"
pg_host="$def_pg_host"
pg_port="${GATEHOUSE_PG_PORT:-$def_pg_port}"
pg_user="${GATEHOUSE_PG_USER:-$def_pg_user}"
pg_password="${GATEHOUSE_PG_PASSWORD:-}"
kafka_port="${GATEHOUSE_KAFKA_PORT:-$def_kafka_port}"
kafka_controller_port="${GATEHOUSE_KAFKA_CONTROLLER_PORT:-$def_kafka_controller_port}"
kafka_extra_listeners="${GATEHOUSE_KAFKA_EXTRA_LISTENERS:-}"
redis_base_port="${GATEHOUSE_REDIS_BASE_PORT:-$def_redis_base_port}"
IFS=',' read -r -a regions <<<"${GATEHOUSE_REGIONS:-$def_regions}"
((${#regions[@]} > 0)) || die "GATEHOUSE_REGIONS is empty"
for r in "${regions[@]}"; do
  [[ "$r" =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "GATEHOUSE_REGIONS: '$r' is not a region name like us-east-1"
done
for p in "$pg_port" "$kafka_port" "$kafka_controller_port" "$redis_base_port"; do
  if [[ ! "$p" =~ ^[0-9]+$ ]] || ((p < 1 || p > 65535)); then die "port '$p' is not a number in 1..65535"; fi
done

kafka_home="$root/.cache/kafka/$kafka_version"
kafka_libs="$kafka_home/libs"
kafka_state="$state/kafka"
kafka_brokers="$kafka_host:$kafka_port"

# --- helpers ----------------------------------------------------------------------------------
port_open() { # host port: true when something accepts TCP connections there
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# The pid in pid file $1 when that process is alive and its command line contains $2 (so a pid
# reused by an unrelated process after a reboot is never signalled); stale files are removed.
owned_pid() {
  local file="$1" marker="$2" pid
  [[ -f "$file" ]] || return 1
  pid="$(head -n1 "$file" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"; then
    echo "$pid"
    return 0
  fi
  rm -f "$file"
  return 1
}

# The pid of the java process whose arguments include $1 (procps may be absent on slim images).
find_java_pid() {
  local dir cmd args
  for dir in /proc/[0-9]*; do
    mapfile -d '' -t args 2>/dev/null <"$dir/cmdline" || continue
    cmd="${args[*]}"
    if [[ "$cmd" == java\ * || "$cmd" == */java\ * ]] && [[ "$cmd" == *"$1"* ]]; then
      echo "${dir#/proc/}"
      return 0
    fi
  done
  return 1
}

# Signal pid $1 with $2, wait up to $3 s for it to exit, then SIGKILL and wait again.
stop_pid() {
  local pid="$1" sig="$2" grace="$3" name="$4" i
  kill -s "$sig" "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "$name (pid $pid) still running after ${grace}s; sending SIGKILL"
  kill -s KILL "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  die "$name (pid $pid) survived SIGKILL"
}

show_log_tail() { # file [lines]
  if [[ -f "$1" ]]; then
    printf -- '----- last %s lines of %s -----\n' "${2:-40}" "$1" >&2
    tail -n "${2:-40}" "$1" >&2
    printf -- '-----\n' >&2
  fi
}

apt_updated=""
apt_install() { # packages...: Debian/Ubuntu only; daemons are kept from starting (policy-rc.d)
  command -v apt-get >/dev/null 2>&1 || die "need $* but apt-get is not available; install it yourself"
  local sudo=""
  if ((EUID != 0)); then
    if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
      die "need $*: run 'sudo apt-get install $*' first"
    fi
    sudo="sudo -n"
  fi
  # A package's post-install script would otherwise start its own server (Postgres with password
  # auth on 5432, Redis on 6379) that this script did not start and could not stop.
  local policy="/usr/sbin/policy-rc.d" made_policy=""
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy" && made_policy=1
  fi
  log "installing $* with apt-get"
  local ok=1
  if [[ -z "$apt_updated" ]]; then
    $sudo apt-get update -qq >&2 || ok=""
    apt_updated=1
  fi
  if [[ -n "$ok" ]]; then
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 || ok=""
  fi
  if [[ -n "$made_policy" ]]; then $sudo rm -f "$policy"; fi
  [[ -n "$ok" ]] || die "apt-get install $* failed"
}

# --- Postgres ---------------------------------------------------------------------------------
pg_data="$state/postgres/data"
pg_sock="$state/postgres/run"
pg_log="$state/postgres/postgres.log"
pg_pidfile="$run/postgres.pid"

pg_psql() { # sql: run against the server's postgres database
  PGPASSWORD="$pg_password" PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 -h "$pg_host" -p "$pg_port" -U "$pg_user" -d postgres -tAc "$1"
}

pg_bindir() { # directory with initdb, pg_ctl and postgres, newest version first
  local d
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r) "$(dirname "$(command -v initdb 2>/dev/null || echo /none/x)")"; do
    if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

pg_as_owner() { # run a command as the data directory's owner: initdb and postgres refuse root
  if ((EUID == 0)); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_start_own() {
  local bindir
  bindir="$(pg_bindir)" || {
    apt_install postgresql
    bindir="$(pg_bindir)" || die "postgresql installed but initdb/pg_ctl not found"
  }
  if ((EUID == 0)) && ! id postgres >/dev/null 2>&1; then
    die "running as root needs a 'postgres' OS user to own the cluster (apt-get install postgresql creates it)"
  fi
  mkdir -p "$state/postgres"
  if ((EUID == 0)); then chown postgres: "$state/postgres"; fi
  pg_as_owner test -w "$state/postgres" \
    || die "the postgres OS user cannot reach $state/postgres (a parent directory is not world-executable?); start a Postgres yourself and set GATEHOUSE_PG_PORT/USER/PASSWORD"
  pg_as_owner mkdir -p "$pg_sock"
  if [[ ! -f "$pg_data/PG_VERSION" ]]; then
    log "initdb $pg_data ($("$bindir/postgres" --version))"
    pg_as_owner "$bindir/initdb" -D "$pg_data" -U "$pg_user" --auth=trust -E UTF8 --locale=C >"$state/postgres/initdb.log" 2>&1 \
      || { show_log_tail "$state/postgres/initdb.log"; die "initdb failed"; }
  fi
  log "starting Postgres on $pg_host:$pg_port"
  # Test data only: durability settings off, they cost seconds per suite on small disks.
  if ! pg_as_owner "$bindir/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t 60 \
    -o "-c listen_addresses=$pg_host -p $pg_port -k $pg_sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null 9>&-; then
    show_log_tail "$pg_log"
    die "Postgres did not start within 60s"
  fi
  head -n1 "$pg_data/postmaster.pid" >"$pg_pidfile"
}

pg_up() {
  if ! command -v pg_isready >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then apt_install postgresql-client; fi
  if owned_pid "$pg_pidfile" "$pg_data" >/dev/null; then
    log "Postgres already running (started by infra.sh) on $pg_host:$pg_port"
  elif pg_isready -q -h "$pg_host" -p "$pg_port" -t 3; then
    log "Postgres already answers on $pg_host:$pg_port: reusing it"
  else
    pg_start_own
  fi
  local i
  for ((i = 0; i < 100; i++)); do
    pg_isready -q -h "$pg_host" -p "$pg_port" -t 1 && break
    sleep 0.3
  done
  pg_psql "select 1" >/dev/null || die "cannot connect to Postgres at $pg_host:$pg_port as '$pg_user' (set GATEHOUSE_PG_USER / GATEHOUSE_PG_PASSWORD)"
  local db
  for db in "$def_pg_db" "$def_pg_test_db"; do
    if [[ -z "$(pg_psql "select 1 from pg_database where datname = '$db'")" ]]; then
      pg_psql "create database \"$db\"" >/dev/null
      log "created database $db"
    fi
  done
}

pg_down() {
  local pid bindir
  pid="$(owned_pid "$pg_pidfile" "$pg_data")" || return 0
  log "stopping Postgres (pid $pid)"
  if bindir="$(pg_bindir)" && pg_as_owner "$bindir/pg_ctl" -D "$pg_data" -m fast -w -t 30 stop >/dev/null 2>&1; then
    :
  else
    stop_pid "$pid" INT 30 Postgres # SIGINT is Postgres's fast shutdown
  fi
  # Backends exit when the postmaster is gone; wait for the pid itself in case pg_ctl gave up.
  stop_pid "$pid" INT 10 Postgres
  rm -f "$pg_pidfile"
}

pg_status() {
  local who="reused, not started by infra.sh" pid answers="no" dbs=""
  if pid="$(owned_pid "$pg_pidfile" "$pg_data")"; then who="pid $pid, data $pg_data"; fi
  if pg_isready -q -h "$pg_host" -p "$pg_port" -t 2 2>/dev/null; then
    answers="yes"
    dbs="$(pg_psql "select string_agg(datname, ',' order by datname) from pg_database where datname in ('$def_pg_db', '$def_pg_test_db')" 2>/dev/null || true)"
  elif [[ -z "${pid:-}" ]]; then
    who="not running"
  fi
  printf '%-22s %-21s %-5s %s\n' "postgres" "$pg_host:$pg_port" "$answers" "$who${dbs:+; databases $dbs}"
  [[ "$answers" == yes ]]
}

# --- Redis ------------------------------------------------------------------------------------
redis_port() { echo $((redis_base_port + $1)); }

redis_up() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then apt_install redis-server; fi
  local i region port pidfile dir
  for i in "${!regions[@]}"; do
    region="${regions[$i]}"
    port="$(redis_port "$i")"
    pidfile="$run/redis-$region.pid"
    if owned_pid "$pidfile" "redis-server" >/dev/null; then
      log "Redis $region already running on $redis_host:$port"
      continue
    fi
    if port_open "$redis_host" "$port"; then
      [[ "$(redis-cli -h "$redis_host" -p "$port" ping 2>/dev/null)" == PONG ]] \
        || die "port $port (Redis for $region) is taken by something that is not Redis"
      log "Redis already answers on $redis_host:$port: reusing it for $region"
      continue
    fi
    dir="$state/redis/$region"
    mkdir -p "$dir"
    redis-server --bind "$redis_host" --port "$port" --save "" --appendonly no --daemonize yes \
      --pidfile "$pidfile" --logfile "$logs/redis-$region.log" --dir "$dir" 9>&- \
      || { show_log_tail "$logs/redis-$region.log"; die "redis-server for $region failed to start"; }
    local k
    for ((k = 0; k < 100; k++)); do
      [[ "$(redis-cli -h "$redis_host" -p "$port" ping 2>/dev/null)" == PONG && -s "$pidfile" ]] && break
      sleep 0.1
    done
    ((k < 100)) || { show_log_tail "$logs/redis-$region.log"; die "Redis for $region did not answer within 10s"; }
    log "Redis $region started on $redis_host:$port (pid $(cat "$pidfile"))"
  done
}

redis_down() { # every Redis this script started, whatever GATEHOUSE_REGIONS says now
  local pidfile pid region
  for pidfile in "$run"/redis-*.pid; do
    [[ -e "$pidfile" ]] || continue
    region="$(basename "$pidfile" .pid)"
    region="${region#redis-}"
    pid="$(owned_pid "$pidfile" redis-server)" || continue
    log "stopping Redis $region (pid $pid)"
    stop_pid "$pid" TERM 15 "Redis $region"
    rm -f "$pidfile"
  done
}

redis_status() {
  local i region port pidfile pid who answers ok=0
  for i in "${!regions[@]}"; do
    region="${regions[$i]}"
    port="$(redis_port "$i")"
    pidfile="$run/redis-$region.pid"
    answers="no"
    [[ "$(redis-cli -h "$redis_host" -p "$port" ping 2>/dev/null)" == PONG ]] && answers="yes"
    if pid="$(owned_pid "$pidfile" redis-server)"; then who="pid $pid"
    elif [[ "$answers" == yes ]]; then who="reused, not started by infra.sh"
    else who="not running"; fi
    printf '%-22s %-21s %-5s %s\n' "redis $region" "$redis_host:$port" "$answers" "$who"
    [[ "$answers" == yes ]] || ok=1
  done
  for pidfile in "$run"/redis-*.pid; do # started earlier with another GATEHOUSE_REGIONS
    [[ -e "$pidfile" ]] || continue
    region="$(basename "$pidfile" .pid)"
    region="${region#redis-}"
    [[ " ${regions[*]} " == *" $region "* ]] && continue
    pid="$(owned_pid "$pidfile" redis-server)" || continue
    printf '%-22s %-21s %-5s %s\n' "redis $region" "?" "?" "pid $pid, not in GATEHOUSE_REGIONS"
  done
  return "$ok"
}

# --- Kafka ------------------------------------------------------------------------------------
kafka_pidfile="$run/kafka.pid"
kafka_log="$logs/kafka.log"
kafka_marker="-Dgatehouse.infra.kafka=$kafka_state"

java_major() {
  java -version 2>&1 | head -n1 | sed -E 's/.*version "([0-9]+)(\.[0-9]+)*.*".*/\1/; s/^1$/8/'
}

kafka_resolve() { # Kafka jars from Maven Central into .cache/kafka/<version>/libs, once
  [[ -f "$kafka_home/.complete" ]] && return 0
  # The cache is shared by every GATEHOUSE_STATE_DIR, whose infra.lock does not cover it: the
  # first instance resolves, the others wait and find it complete.
  mkdir -p "$kafka_home"
  exec 8>"$kafka_home/resolve.lock"
  flock -w 900 8 || die "another infra.sh has been resolving Kafka into ${kafka_home#"$root"/} for 15 minutes"
  if [[ -f "$kafka_home/.complete" ]]; then
    exec 8>&-
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || apt_install maven
  log "resolving Kafka $kafka_version jars from Maven Central into ${kafka_libs#"$root"/}"
  local tmp="$kafka_home/libs.tmp.$$" started=$SECONDS
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # shellcheck disable=SC2086 # GATEHOUSE_MAVEN_FLAGS is a list of flags
  if ! timeout 600 mvn -q -B -f "$here/kafka/pom.xml" -Dkafka.version="$kafka_version" ${GATEHOUSE_MAVEN_FLAGS:-} \
    dependency:copy-dependencies -DoutputDirectory="$tmp" >"$kafka_home/mvn.log" 2>&1; then
    show_log_tail "$kafka_home/mvn.log"
    rm -rf "$tmp"
    die "mvn could not resolve org.apache.kafka:kafka_2.13:$kafka_version"
  fi
  rm -rf "$kafka_libs"
  mv "$tmp" "$kafka_libs"
  touch "$kafka_home/.complete"
  exec 8>&-
  log "Kafka jars resolved in $((SECONDS - started))s"
}

kafka_configure() { # server.properties, regenerated on every start so ports follow the env
  mkdir -p "$kafka_state/data"
  local listeners="PLAINTEXT://$kafka_host:$kafka_port" advertised="PLAINTEXT://$kafka_host:$kafka_port"
  local protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT" entry name port adv
  if [[ -n "$kafka_extra_listeners" ]]; then
    IFS=',' read -r -a entries <<<"$kafka_extra_listeners"
    for entry in "${entries[@]}"; do
      IFS=':' read -r name port adv <<<"$entry"
      [[ "$name" =~ ^[A-Z][A-Z0-9_]*$ && "$name" != PLAINTEXT && "$name" != CONTROLLER && "$port" =~ ^[0-9]+$ && "$adv" =~ ^[0-9]+$ ]] \
        || die "GATEHOUSE_KAFKA_EXTRA_LISTENERS: '$entry' is not NAME:port:advertised_port (NAME in capitals)"
      listeners+=",$name://$kafka_host:$port"
      advertised+=",$name://$kafka_host:$adv"
      protocols+=",$name:PLAINTEXT"
    done
  fi
  cat >"$kafka_state/server.properties" <<EOF
# Generated by deploy/local/infra.sh; edits are overwritten on the next start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$kafka_host:$kafka_controller_port
listeners=$listeners,CONTROLLER://$kafka_host:$kafka_controller_port
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$kafka_state/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
# Topics are created explicitly (services at start-up, tests through the testkit), as in prod.
auto.create.topics.enable=false
delete.topic.enable=true
# One broker: internal topics cannot have more replicas, and need not have 50 partitions.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=8
# Tests join many short-lived groups; the default 3 s delay would be paid by each.
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
EOF
  if [[ ! -f "$kafka_state/data/meta.properties" ]]; then
    # A Kafka cluster id is 16 random bytes in URL-safe base64 without padding. One in 64 starts
    # with "-", which the storage tool's argument parser takes for an option: draw again then, as
    # Kafka's own Uuid.randomUuid() does.
    local cluster_id="-"
    while [[ "$cluster_id" == -* ]]; do
      cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    done
    java -cp "$kafka_libs/*" -Dlog4j.configuration="file:$here/kafka/tools-log4j.properties" \
      kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" -c "$kafka_state/server.properties" \
      >"$kafka_state/format.log" 2>&1 || { show_log_tail "$kafka_state/format.log"; die "kafka storage format failed"; }
    log "formatted Kafka storage (cluster id $cluster_id)"
  fi
}

kafka_ready() { # timeout in ms
  local flags=(--disable-warning=TimeoutNegativeWarning)
  # Node 22.12 to 22.17 run TypeScript only behind a flag; from 22.18 and 23.6 it is the default.
  if [[ "$(node -p 'process.features.typescript ?? false')" == false ]]; then
    flags+=(--experimental-strip-types --disable-warning=ExperimentalWarning)
  fi
  # kafkajs 2.2.4 passes negative delays to setTimeout, which Node 24 warns about; harmless.
  node "${flags[@]}" "$here/kafka-ready.ts" "$kafka_brokers" "$1"
}

kafka_up() {
  if owned_pid "$kafka_pidfile" "$kafka_marker" >/dev/null; then
    if port_open "$kafka_host" "$kafka_port"; then
      log "Kafka already running on $kafka_brokers"
      return 0
    fi
    die "Kafka (pid $(cat "$kafka_pidfile")) runs but $kafka_brokers does not accept connections; run 'down' then 'up'"
  fi
  if port_open "$kafka_host" "$kafka_port"; then
    log "something already listens on $kafka_brokers: checking it is a usable Kafka"
    kafka_ready 30000 || die "$kafka_brokers is taken by something that does not act as a Kafka broker"
    log "reusing the Kafka broker at $kafka_brokers"
    return 0
  fi
  port_open "$kafka_host" "$kafka_controller_port" && die "Kafka controller port $kafka_controller_port is taken"
  command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
  local major
  major="$(java_major)"
  if [[ ! "$major" =~ ^[0-9]+$ ]] || ((major < 17)); then
    die "Kafka needs Java 17+, found '$(java -version 2>&1 | head -n1)'"
  fi
  kafka_resolve
  kafka_configure
  [[ -f "$kafka_log" ]] && mv -f "$kafka_log" "$kafka_log.1"
  log "starting Kafka $kafka_version (KRaft broker+controller) on $kafka_brokers, controller $kafka_host:$kafka_controller_port"
  local started=$SECONDS
  # setsid: a Ctrl-C in the terminal that ran `up` (or a test run) must not reach the broker. It
  # forks, so the broker's pid is found by the marker that names this checkout's state dir.
  setsid -f java -Xms256m "-Xmx$kafka_heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true "$kafka_marker" \
    -Dlog4j.configuration="file:$here/kafka/log4j.properties" \
    -cp "$kafka_libs/*" kafka.Kafka "$kafka_state/server.properties" </dev/null >>"$kafka_log" 2>&1 9>&-
  local pid="" i
  for ((i = 0; i < 50; i++)); do
    pid="$(find_java_pid "$kafka_marker")" && break
    sleep 0.1
  done
  [[ -n "$pid" ]] || { show_log_tail "$kafka_log"; die "Kafka exited at once"; }
  echo "$pid" >"$kafka_pidfile"
  for ((i = 0; i < 600; i++)); do
    port_open "$kafka_host" "$kafka_port" && break
    kill -0 "$pid" 2>/dev/null || { rm -f "$kafka_pidfile"; show_log_tail "$kafka_log"; die "Kafka exited during start-up"; }
    sleep 0.1
  done
  ((i < 600)) || { show_log_tail "$kafka_log"; die "Kafka did not listen on $kafka_brokers within 60s (still running as pid $pid; 'down' stops it)"; }
  if ! kafka_ready 90000; then
    show_log_tail "$kafka_log"
    die "Kafka listens on $kafka_brokers but a message did not round-trip within 90s (pid $pid; 'down' stops it)"
  fi
  log "Kafka ready in $((SECONDS - started))s (pid $pid)"
}

kafka_down() {
  local pid
  pid="$(owned_pid "$kafka_pidfile" "$kafka_marker")" || return 0
  log "stopping Kafka (pid $pid)"
  # SIGTERM runs the controlled shutdown, a few seconds for a single node.
  stop_pid "$pid" TERM 45 Kafka
  rm -f "$kafka_pidfile"
}

kafka_status() {
  local pid who answers="no"
  port_open "$kafka_host" "$kafka_port" && answers="yes"
  if pid="$(owned_pid "$kafka_pidfile" "$kafka_marker")"; then
    who="pid $pid, Kafka $kafka_version KRaft broker+controller (controller $kafka_host:$kafka_controller_port), data $kafka_state/data"
  elif [[ "$answers" == yes ]]; then
    who="reused, not started by infra.sh"
  else
    who="not running"
  fi
  printf '%-22s %-21s %-5s %s\n' "kafka" "$kafka_brokers" "$answers" "$who"
  [[ "$answers" == yes ]]
}

# --- env file ---------------------------------------------------------------------------------
write_env() {
  local auth="$pg_user" urls="" i tmp="$env_file.tmp.$$"
  [[ -n "$pg_password" ]] && auth="$pg_user:$(node -p 'encodeURIComponent(process.argv[1])' "$pg_password")"
  for i in "${!regions[@]}"; do
    urls+="${urls:+,}${regions[$i]}=redis://$redis_host:$(redis_port "$i")"
  done
  cat >"$tmp" <<EOF
# Written by deploy/local/infra.sh up; do not edit. Bash: set -a; . $env_file; set +a
# GATEHOUSE_REDIS_URLS is region=url pairs, comma separated, in GATEHOUSE_REGIONS order.
GATEHOUSE_PG_URL=postgres://$auth@$pg_host:$pg_port/$def_pg_db
GATEHOUSE_PG_TEST_URL=postgres://$auth@$pg_host:$pg_port/$def_pg_test_db
GATEHOUSE_KAFKA_BROKERS=$kafka_brokers
GATEHOUSE_REGIONS=$(IFS=','; echo "${regions[*]}")
GATEHOUSE_REDIS_URLS=$urls
EOF
  mv -f "$tmp" "$env_file"
}

# --- commands ---------------------------------------------------------------------------------
# Concurrent `up`/`down` (two test runs, two terminals) take turns. Servers are started with fd 9
# closed: a daemon inheriting it would hold the lock for its whole life.
with_lock() {
  exec 9>"$run/infra.lock"
  flock -w 600 9 || die "another infra.sh holds $run/infra.lock for more than 10 minutes"
}

# Components named on the command line, in start order; all of them when none is named.
all_components=(postgres redis kafka)
components=()
want() { [[ " ${components[*]} " == *" $1 "* ]]; }

parse_components() {
  local c
  for c in "$@"; do
    case "$c" in
      postgres | kafka | redis) want "$c" || components+=("$c") ;;
      *) die "unknown component '$c'; expected postgres, kafka or redis" ;;
    esac
  done
  if ((${#components[@]} == 0)); then components=("${all_components[@]}"); fi
  # Start order is fixed whatever the command line says: Postgres, Redis, then Kafka (slowest).
  local ordered=()
  for c in "${all_components[@]}"; do want "$c" && ordered+=("$c"); done
  components=("${ordered[@]}")
}

cmd_up() {
  local started=$SECONDS
  # The Kafka readiness probe needs kafkajs and the testkit; a fresh clone may lack node_modules.
  if want kafka && [[ ! -d "$root/node_modules/kafkajs" || ! -e "$root/node_modules/@gatehouse/testkit" ]]; then
    log "node_modules missing: installing dependencies"
    flock /tmp/gatehouse-npm.lock bash -c "source '$here/node-env.sh' && gatehouse_ensure_deps '$root'" \
      || die "installing node_modules (npm ci) failed; see above"
  fi
  if want postgres; then pg_up; fi
  if want redis; then redis_up; fi
  if want kafka; then kafka_up; fi
  write_env
  log "up (${components[*]}) in $((SECONDS - started))s; settings in ${env_file#"$root"/}"
}

cmd_down() {
  if want kafka; then kafka_down; fi
  if want redis; then redis_down; fi
  if want postgres; then pg_down; fi
  if ((${#components[@]} == ${#all_components[@]})); then rm -f "$env_file"; fi
  log "down (${components[*]}): nothing of those started by infra.sh is running"
}

cmd_status() {
  local ok=0
  printf '%-22s %-21s %-5s %s\n' "SERVICE" "ADDRESS" "UP" "PROCESS"
  if want postgres; then pg_status || ok=1; fi
  if want kafka; then kafka_status || ok=1; fi
  if want redis; then redis_status || ok=1; fi
  if [[ -f "$env_file" ]]; then echo "env file: $env_file"; else echo "env file: none (run up)"; fi
  return "$ok"
}

mkdir -p "$run" "$logs"
cmd="${1:-}"
(($# > 0)) && shift
case "$cmd" in
  up) parse_components "$@"; with_lock; cmd_up ;;
  down) parse_components "$@"; with_lock; cmd_down ;;
  status) parse_components "$@"; cmd_status ;;
  # The web console's end-to-end tests drive Debian's chromium (playwright-core downloads no browser).
  browser) [[ -x /usr/bin/chromium ]] || apt_install chromium ;;
  *)
    echo "usage: bash deploy/local/infra.sh up|down|status [postgres|kafka|redis]... | browser" >&2
    exit 2
    ;;
esac

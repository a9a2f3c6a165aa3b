#!/usr/bin/env bash
# Convergence benchmarks (make bench). Everything is measured in one run on
# this machine and compared as ratios: the machines are shared and noisy, so
# absolute numbers move between runs. Results and method: docs/benchmarks.md.
#
#  1. HTTP: wrk -t2 -c64 against nginx serving a fixed 200, then against the
#     gateway's GET /health/live (a fixed answer from the handler).
#  2. API, same cluster, the demo tenant's key: the authenticated read
#     GET /api/v1/pipelines/runs/{id} and the manual run
#     POST /api/v1/pipelines/run/demo/bench/api/noop (wrk -s post_run.lua),
#     each as a ratio to the nginx figure of step 1; then the read again on
#     the newest run, once the POSTs have filled the queue.
#     Then the runs the two workers execute from the backlog in a while.
#  3. Logger ingest: N run events through the real path (emitter, logger,
#     batch transaction, ack) with logger batch sizes 1, 10, 100 and 1000.
#
# BENCH_SECONDS (10) is each wrk run's length, BENCH_EVENTS (20000) the
# logger's event count. BENCH_PERF=DIR (optional, needs perf): during the
# API runs, count the fsyncs of the gateway, scheduler and logger and record
# call-graph profiles of the gateway (GET) and the scheduler (POST) into DIR.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "$root/$build" && pwd)
duration=${BENCH_SECONDS:-10}
events=${BENCH_EVENTS:-20000}
perfdir=${BENCH_PERF:-}
if [ -n "$perfdir" ]; then
  command -v perf >/dev/null || { echo "bench: BENCH_PERF needs perf"; exit 1; }
  mkdir -p "$perfdir"; perfdir=$(cd "$perfdir" && pwd)
fi

need=""
command -v wrk >/dev/null || need="$need wrk"
command -v nginx >/dev/null || need="$need nginx-light"
if [ -n "$need" ]; then
  echo "bench: installing$need"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
fi

work=$(mktemp -d /tmp/cvg-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
rps() { awk '/Requests\/sec/ {print int($2)}'; }
# A percentile of wrk --latency's distribution, in ms: pct 99 < wrk output
pct() {
  awk -v p="$1%" '$1 == p {
    v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
    printf "%.1f\n", v * (u == "us" ? 0.001 : u == "s" ? 1000 : u == "m" ? 60000 : 1) }'
}
non2xx() { awk '/Non-2xx or 3xx responses/ {n = $NF} END {print n + 0}'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== machine: $(nproc) cores, $(uname -r), load average $(load)"

# ---- HTTP --------------------------------------------------------------
nport=$(port)
cat > "$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$nport;
    location / { default_type application/json; return 200 '{"status":"alive"}'; }
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work"
sleep 0.5
nginx_rps=$(wrk -t2 -c64 -d"${duration}s" "http://127.0.0.1:$nport/" | tee "$work/wrk-nginx.txt" | rps)
kill "$(cat "$work/nginx.pid")"; rm -f "$work/nginx.pid"

# The cluster runs on a copy of configs/ plus the bench's own pipeline
# (tests/bench/pipelines/bench/api/noop.yml: no parameters, no provider
# settings, one cheap step), in its own var dir under $work.
cp -r "$root/configs" "$work/configs"
cp -r "$root/tests/bench/pipelines/bench" "$work/configs/bench"
gport=$(port)
api=http://127.0.0.1:$gport
export CVG_VAR_DIR=$work/var CVG_CONFIG_DIR=$work/configs CVG_TEMPLATES_DIR=$root/ps_templates
ADMIN_API_KEY=bench-admin-key-0123456789 API_PORT=$gport "$bin/cvg-run" --bin-dir "$bin" --no-tail \
  > "$work/cvg-run.log" 2>&1 &
pids+=($!)
run_pid=$!
# Ready, then onboarded: cvg-run writes the demo tenant's key after /health/ready.
for _ in $(seq 1 150); do
  [ -s "$CVG_VAR_DIR/demo_api_key" ] && curl -sf "$api/health/ready" >/dev/null && break
  sleep 0.2
done
if [ ! -s "$CVG_VAR_DIR/demo_api_key" ]; then
  echo "bench: the cluster did not start"; cat "$work/cvg-run.log"; exit 1
fi
gw_rps=$(wrk -t2 -c64 -d"${duration}s" "$api/health/live" | tee "$work/wrk-gw.txt" | rps)

echo "== HTTP, wrk -t2 -c64 -d${duration}s, fixed 200 response"
echo "nginx:                      $nginx_rps req/s"
echo "gateway GET /health/live:   $gw_rps req/s"
awk -v g="$gw_rps" -v n="$nginx_rps" 'BEGIN { printf "ratio gateway/nginx:        %.2f\n", g / n }'

# ---- API: authenticated read and manual run ---------------------------------
key=$(head -n1 "$CVG_VAR_DIR/demo_api_key")
db=$CVG_VAR_DIR/warehouse/tenants.db
sql() { sqlite3 -cmd '.timeout 10000' "$db" "$@"; }
queued() { sql "SELECT count(*) FROM tenant_pipeline_execution_queue WHERE tenant_id = 'demo'"; }
metric() { curl -sf "$api/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
lookups() { metric cvg_gateway_auth_lookups_total; }
child() { pgrep -P "$run_pid" -x "$1"; }
# The demo tenant's ENTERPRISE plan accepts 1000 runs a day, 25000 a month
# and 6000 requests a minute per key: raised for the bench, in the bench's
# own warehouse. The gateway re-reads a key's subscription after its auth
# cache entry expires (CVG_AUTH_CACHE_MS, at most 1 s).
sql "UPDATE tenant_subscriptions SET daily_limit = 100000000, monthly_limit = 1000000000,
     rate_limit_per_minute = 1000000000 WHERE tenant_id = 'demo'"
sleep 1.5
policy=$(curl -s -o /dev/null -D - "$api/api/v1/tenants/demo" -H "X-API-Key: $key" |
  tr -d '\r' | awk -F': ' 'tolower($1) == "ratelimit-policy" {print $2}')
case "$policy" in *q=1000000000*) ;; *) echo "bench: raised limits not in effect ($policy)"; exit 1;; esac

# One run to read: queued, run by a worker, finished.
post_url=$api/api/v1/pipelines/run/demo/bench/api/noop
run_id=$(curl -sf -X POST "$post_url" -H "X-API-Key: $key" -H 'Content-Type: application/json' \
  -d '{}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["pipeline_logging_id"])')
status=
for _ in $(seq 1 100); do
  status=$(curl -sf "$api/api/v1/pipelines/runs/$run_id" -H "X-API-Key: $key" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [ "$status" = SUCCEEDED ] && break
  sleep 0.1
done
[ "$status" = SUCCEEDED ] || { echo "bench: run $run_id ended $status"; exit 1; }

# Optional: fsync counts and profiles while wrk runs (BENCH_PERF=DIR).
perf_start() { # phase, process names to count, process to profile
  perf_pids=()
  [ -n "$perfdir" ] || return 0
  local phase=$1 name; shift
  for name in cvg-gateway cvg-scheduler cvg-logger; do
    perf stat -x, -e syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync -p "$(child $name)" \
      -o "$perfdir/$phase-$name.fsyncs" -- sleep "$duration" &
    perf_pids+=($!)
  done
  perf record -q -F 499 --call-graph dwarf,16384 -p "$(child "$1")" \
    -o "$perfdir/$phase-$1.perf.data" -- sleep "$((duration > 3 ? duration - 2 : 1))" 2>/dev/null &
  perf_pids+=($!)
}
perf_end() { # phase, requests
  [ -n "$perfdir" ] || return 0
  local name
  for p in "${perf_pids[@]}"; do wait "$p" || true; done
  for name in cvg-gateway cvg-scheduler cvg-logger; do
    awk -F, -v name="$name" -v n="$2" '$3 ~ /fsync|fdatasync/ {f += $1}
      END {printf "  fsyncs by %-14s %8d  (%.3f per request)\n", name ":", f, f / n}' \
      "$perfdir/$1-$name.fsyncs"
  done
}

# Authenticated read of a finished run: the key from the gateway's memory,
# the run's answer from its cache of finished runs (CVG_RUN_CACHE_MS, one
# warehouse read per expiry). The uncached read (4 queries on a snapshot)
# is measured below on a run still in the queue.
before=$(lookups)
hits=$(metric cvg_gateway_run_cache_hits_total)
perf_start get cvg-gateway
wrk -t2 -c64 -d"${duration}s" --latency -H "X-API-Key: $key" "$api/api/v1/pipelines/runs/$run_id" \
  > "$work/wrk-get.txt"
get_rps=$(rps < "$work/wrk-get.txt")
get_n=$(awk '/requests in/ {print $1}' "$work/wrk-get.txt")
get_bad=$(non2xx < "$work/wrk-get.txt")
get_lookups=$(($(lookups) - before))
get_hits=$(($(metric cvg_gateway_run_cache_hits_total) - hits))
echo "== API, demo tenant's key, wrk -t2 -c64 -d${duration}s --latency"
echo "GET /api/v1/pipelines/runs/{id}:  $get_rps req/s, p50 $(pct 50 < "$work/wrk-get.txt") ms, p99 $(pct 99 < "$work/wrk-get.txt") ms"
awk -v g="$get_rps" -v n="$nginx_rps" 'BEGIN { printf "  ratio GET/nginx:                %.2f (target 0.5)\n", g / n }'
echo "  responses: $((get_n - get_bad)) 2xx, $get_bad other; API-key lookups in the warehouse: $get_lookups"
echo "  answered from the cache of finished runs (gateway's count, wrk's stragglers included): $get_hits"
perf_end get "$get_n"

# Manual run: the answers by status from the gateway's /metrics, the queue
# rows added counted in the warehouse. The two workers do not keep up: this
# measures acceptance (queued and acknowledged), not runs done.
before=$(queued)
m4xx=$(metric cvg_gateway_client_errors_total)
m5xx=$(metric cvg_gateway_server_errors_total)
m429=$(metric cvg_gateway_rate_limited_total)
perf_start post cvg-scheduler
wrk -t2 -c64 -d"${duration}s" --latency -s "$root/tests/bench/post_run.lua" "$post_url" -- "$key" \
  > "$work/wrk-post.txt"
post_rps=$(rps < "$work/wrk-post.txt")
post_n=$(awk '/requests in/ {print $1}' "$work/wrk-post.txt")
post_bad=$(non2xx < "$work/wrk-post.txt")
post_2xx=$((post_n - post_bad))
sleep 2 # requests wrk left in flight finish
added=$(($(queued) - before))
c4xx=$(($(metric cvg_gateway_client_errors_total) - m4xx))
c5xx=$(($(metric cvg_gateway_server_errors_total) - m5xx))
c429=$(($(metric cvg_gateway_rate_limited_total) - m429))
echo "POST /api/v1/pipelines/run/...:   $post_rps req/s, p50 $(pct 50 < "$work/wrk-post.txt") ms, p99 $(pct 99 < "$work/wrk-post.txt") ms"
awk -v g="$post_rps" -v n="$nginx_rps" 'BEGIN { printf "  ratio POST/nginx:               %.2f (target 0.3)\n", g / n }'
echo "  responses: $post_2xx 2xx, $post_bad other (gateway counted $c4xx 4xx of which $c429 429, $c5xx 5xx)"
echo "  runs queued: $added ($((added - post_2xx)) more than 2xx seen: answered after wrk stopped counting)"
perf_end post "$post_n"

# The read again, on the newest run (QUEUED: never cached, read from the
# warehouse each time), now that the queue holds every run the POSTs added.
newest=$(sql "SELECT pipeline_logging_id FROM tenant_pipeline_execution_queue
              ORDER BY enqueued_at DESC LIMIT 1")
rows=$(queued)
hits=$(metric cvg_gateway_run_cache_hits_total)
wrk -t2 -c64 -d"${duration}s" --latency -H "X-API-Key: $key" "$api/api/v1/pipelines/runs/$newest" \
  > "$work/wrk-get2.txt"
get2_hits=$(($(metric cvg_gateway_run_cache_hits_total) - hits))
get2_rps=$(rps < "$work/wrk-get2.txt")
get2_bad=$(non2xx < "$work/wrk-get2.txt")
echo "GET, newest run, queue of $rows:  $get2_rps req/s, p50 $(pct 50 < "$work/wrk-get2.txt") ms, p99 $(pct 99 < "$work/wrk-get2.txt") ms, $get2_bad non-2xx, $get2_hits from the cache"
awk -v g="$get2_rps" -v n="$nginx_rps" 'BEGIN { printf "  ratio GET/nginx:                %.2f\n", g / n }'
echo "  load average after the API runs: $(load)"

# Runs executed: the two workers take queued runs (the bench pipeline's one
# step) from the backlog the POSTs left; count the runs that ended in
# BENCH_SECONDS.
ended() { sql "SELECT count(*) FROM tenant_pipeline_runs WHERE tenant_id = 'demo' AND status = 'SUCCEEDED'"; }
e0=$(ended)
sleep "$duration"
e1=$(ended)
echo "== runs executed by 2 workers from the backlog: $((e1 - e0)) in ${duration}s ($(((e1 - e0) / duration)) runs/s)"

kill -TERM "$run_pid"; wait "$run_pid" || true; pids=()

# ---- logger ingest -------------------------------------------------------
echo "== logger ingest, $events run events end to end (emitter -> logger -> commit -> ack)"
for size in 1 10 100 1000; do
  rm -rf "$work/lg"; mkdir -p "$work/lg"
  eport=$(port); sport=$(port)
  CVG_VAR_DIR=$work/lg CVG_LOGGER_BATCH_SIZE=$size CVG_LOGGER_BATCH_MS=100 \
    CVG_EVENTS_ENDPOINT=tcp://127.0.0.1:$eport CVG_STREAM_ENDPOINT=tcp://127.0.0.1:$sport \
    "$bin/cvg-logger" 2> "$work/lg/logger.log" &
  lp=$!
  # the clock starts once the logger takes events (it opens its stream
  # first and gives subscribers half a second to come back)
  for _ in $(seq 1 100); do grep -q "logger started" "$work/lg/logger.log" 2>/dev/null && break; sleep 0.1; done
  printf "batch %-5s " "$size"
  "$bin/cvg-bench-logger" "sqlite://$work/lg/warehouse" "$root/ps_templates" \
    "tcp://127.0.0.1:$eport" "$events"
  kill -TERM $lp; wait $lp || true
done

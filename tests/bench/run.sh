#!/usr/bin/env bash
# Convergence benchmarks (make bench). Everything is measured in one run on
# this machine and compared as ratios: the machines are shared and noisy, so
# absolute numbers move between runs. Results and method: docs/benchmarks.md.
#
#  1. HTTP: wrk -t2 -c64 against nginx serving a fixed 200, then against the
#     gateway's GET /health/live (a fixed answer from the handler).
#  2. Logger ingest: N run events through the real path (emitter, logger,
#     batch transaction, ack) with logger batch sizes 1, 10, 100 and 1000.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "$root/$build" && pwd)
duration=${BENCH_SECONDS:-10}
events=${BENCH_EVENTS:-20000}

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

echo "== machine: $(nproc) cores, $(uname -r)"

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

gport=$(port)
export CVG_VAR_DIR=$work/var CVG_CONFIG_DIR=$root/configs CVG_TEMPLATES_DIR=$root/ps_templates
ADMIN_API_KEY=bench-admin-key-0123456789 API_PORT=$gport "$bin/cvg-run" --bin-dir "$bin" --no-tail \
  > "$work/cvg-run.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$gport/health/ready" >/dev/null && break; sleep 0.2
done
gw_rps=$(wrk -t2 -c64 -d"${duration}s" "http://127.0.0.1:$gport/health/live" | tee "$work/wrk-gw.txt" | rps)
kill -TERM "${pids[0]}"; wait "${pids[0]}" || true; pids=()

echo "== HTTP, wrk -t2 -c64 -d${duration}s, fixed 200 response"
echo "nginx:                      $nginx_rps req/s"
echo "gateway GET /health/live:   $gw_rps req/s"
awk -v g="$gw_rps" -v n="$nginx_rps" 'BEGIN { printf "ratio gateway/nginx:        %.2f\n", g / n }'

# ---- logger ingest -------------------------------------------------------
echo "== logger ingest, $events run events end to end (emitter -> logger -> commit -> ack)"
for size in 1 10 100 1000; do
  rm -rf "$work/lg"; mkdir -p "$work/lg"
  eport=$(port); sport=$(port)
  CVG_VAR_DIR=$work/lg CVG_LOGGER_BATCH_SIZE=$size CVG_LOGGER_BATCH_MS=100 \
    CVG_EVENTS_ENDPOINT=tcp://127.0.0.1:$eport CVG_STREAM_ENDPOINT=tcp://127.0.0.1:$sport \
    "$bin/cvg-logger" 2> "$work/lg/logger.log" &
  lp=$!
  printf "batch %-5s " "$size"
  "$bin/cvg-bench-logger" "sqlite://$work/lg/warehouse" "$root/ps_templates" \
    "tcp://127.0.0.1:$eport" "$events"
  kill -TERM $lp; wait $lp || true
done

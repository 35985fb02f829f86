#!/usr/bin/env bash
# Issue 3's memory targets, measured: portico's peak RSS (VmHWM) idle, after load, and after a
# 1 GiB download, a 1 GiB upload with Content-Length and a 1 GiB chunked upload through the
# proxy. Targets: idle under 30 MB; each 1 GiB transfer grows the peak by under 64 MiB.
#
#   tests/bench/memory.sh
#
# Starts a throwaway nginx upstream (serving a sparse 1 GiB file, swallowing uploads) and
# `portico` DB-less as the proxy bench starts it (tests/bench/bench-candidate.sh: one service,
# one route, one worker, no access log), on free 127.0.0.1 ports; the load is 2 × 4 s of
# `wrk -c64` on /ok. Prints each reading and whether the targets hold (exit status 1 if not).
# Needs nginx, wrk and curl. PORTICO_BIN overrides the binary (default:
# build/gateway/app/portico).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
binary=${PORTICO_BIN:-$here/build/gateway/app/portico}
for tool in nginx wrk curl; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install nginx wrk curl)" >&2; exit 1; }
done
[[ -x $binary ]] || { echo "no portico binary at $binary: build it first (scripts/build.sh)" >&2; exit 1; }

work=$(mktemp -d /tmp/portico-memory.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port_in_use() { ss -Htan "sport = :$1" 2>/dev/null | grep -q .; }
pick_port() {
  local p
  for _ in $(seq 200); do
    p=$(( 20000 + RANDOM % 10000 ))
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  echo "no free port found" >&2; exit 1
}
up_port=$(pick_port)
proxy_port=$(pick_port)
while [[ $proxy_port == "$up_port" ]]; do proxy_port=$(pick_port); done

mkdir -p "$work/up/tmp" "$work/up/www" "$work/p"
printf ok > "$work/up/www/ok"
truncate -s 1G "$work/up/www/big"
chmod -R a+rX "$work/up/www"
cat > "$work/up/nginx.conf" <<CONF
worker_processes 1;
pid $work/up/nginx.pid;
error_log $work/up/error.log warn;
events { worker_connections 1024; }
http {
  access_log off; server_tokens off; keepalive_timeout 600s; keepalive_requests 1000000;
  client_body_temp_path $work/up/tmp; proxy_temp_path $work/up/tmp; fastcgi_temp_path $work/up/tmp;
  uwsgi_temp_path $work/up/tmp; scgi_temp_path $work/up/tmp;
  server {
    listen 127.0.0.1:$up_port;
    location = /ok { default_type text/plain; return 200 "ok"; }
    location = /big { root $work/up/www; }
    location = /up { client_max_body_size 0; return 200 "up"; }
  }
}
CONF
nginx -e "$work/up/error.log" -p "$work/up" -c "$work/up/nginx.conf" -g 'daemon off;' &
pids+=($!)
BENCH_LISTEN_PORT=$proxy_port BENCH_UPSTREAM=127.0.0.1:$up_port BENCH_WORKERS=1 \
  BENCH_WORKDIR=$work/p PORTICO_BIN=$binary "$here/tests/bench/bench-candidate.sh" \
  > "$work/portico.log" 2>&1 &
pid=$!
pids+=("$pid")
ready=0
for _ in $(seq 100); do
  if curl -s -m 1 -o /dev/null "http://127.0.0.1:$proxy_port/ok"; then ready=1; break; fi
  sleep 0.1
done
(( ready )) || { echo "portico did not answer; its log:" >&2; cat "$work/portico.log" >&2; exit 1; }
sleep 1

hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$pid/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
failed=0
idle=$(hwm_kib)
echo "idle: $(mib "$idle")"
if (( idle * 1024 >= 30000000 )); then echo "  over the 30 MB idle target" >&2; failed=1; fi

wrk -t1 -c64 -d4s "http://127.0.0.1:$proxy_port/ok" > /dev/null
wrk -t1 -c64 -d4s "http://127.0.0.1:$proxy_port/ok" > /dev/null
loaded=$(hwm_kib)
echo "after 2 x 4 s of wrk -c64: $(mib "$loaded")"

# transfer LABEL CURL-ARGS...: one 1 GiB transfer, checked, with its time and the peak's growth.
transfer() {
  local label=$1 before after out
  shift
  before=$(hwm_kib)
  out=$(curl -s -o /dev/null --max-time 300 -w '%{http_code} %{size_download} %{size_upload} %{time_total}' "$@")
  after=$(hwm_kib)
  read -r code down up secs <<< "$out"
  if [[ $code != 200 ]] || (( down + up < 1073741824 )); then
    echo "$label: failed (status $code, $down bytes down, $up up)" >&2
    failed=1
    return
  fi
  echo "$label: ${secs} s, peak $(mib "$after") (+$(mib $(( after - before ))))"
  if (( (after - before) >= 64 * 1024 )); then echo "  over the 64 MiB growth target" >&2; failed=1; fi
}
transfer "1 GiB download" "http://127.0.0.1:$proxy_port/big"
transfer "1 GiB upload with Content-Length" -T "$work/up/www/big" "http://127.0.0.1:$proxy_port/up"
transfer "1 GiB chunked upload" -T - "http://127.0.0.1:$proxy_port/up" < <(head -c 1073741824 /dev/zero)

if (( failed )); then
  echo "memory targets: NOT met" >&2
  exit 1
fi
echo "memory targets: met (idle under 30 MB, under 64 MiB growth per 1 GiB transfer)"

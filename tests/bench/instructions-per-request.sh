#!/usr/bin/env bash
# User-space instructions per proxied request, counted by callgrind: a steadier measure than
# req/s on a shared 2-core machine (runs of the throughput bench vary by ±5%; this count varies
# by about 1%), for comparing two builds of the proxy's request path.
#
#   tests/bench/instructions-per-request.sh [path]     # path: /ok (default) or /4k
#
# Starts a throwaway nginx upstream and `portico` DB-less (one service, one route, one worker,
# no access log) under `valgrind --tool=callgrind` on free 127.0.0.1 ports, warms up for 2 s,
# counts the instructions of 5 s of `wrk -c16` load, and prints requests, instructions and
# instructions per request. Counts everything portico's threads execute in user space (libc and
# the allocator included), nothing of the kernel. Needs nginx, wrk, valgrind and curl.
# PORTICO_BIN overrides the binary (default: the production build of scripts/build-release.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
binary=${PORTICO_BIN:-$here/build-release/gateway/app/portico}
path=${1:-/ok}
# shellcheck source=tests/bench/lib.sh
. "$here/tests/bench/lib.sh"
bench_init insn nginx wrk valgrind callgrind_control callgrind_annotate curl
up_port=$(pick_port)
proxy_port=$(pick_port "$up_port")

mkdir -p "$work/up" "$work/www" "$work/p"
printf ok > "$work/www/ok"
head -c 4096 /dev/zero | tr '\0' x > "$work/www/4k"
chmod -R a+rX "$work/www"
start_upstream "$work/up" "$up_port" "$work/www"

cat > "$work/p/kong.yml" <<YAML
_format_version: "3.0"
services:
  - name: bench
    url: http://127.0.0.1:$up_port
    routes:
      - name: bench
        paths: ["/"]
        strip_path: false
YAML
cat > "$work/p/portico.conf" <<CONF
prefix = $work/p/prefix
database = off
declarative_config = $work/p/kong.yml
proxy_listen = 127.0.0.1:$proxy_port
admin_listen = off
worker_threads = 1
log_level = warn
proxy_access_log = off
CONF
out=$work/callgrind.out
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
  "$binary" start -c "$work/p/portico.conf" > "$work/valgrind.log" 2>&1 &
vpid=$!
pids+=("$vpid")
for _ in $(seq 150); do
  curl -s -m 1 -o /dev/null "http://127.0.0.1:$proxy_port$path" && break
  sleep 0.2
done
curl -s -m 2 -o /dev/null "http://127.0.0.1:$proxy_port$path" ||
  { echo "portico did not answer under valgrind; see:" >&2; cat "$work/valgrind.log" >&2; exit 1; }
wrk -t1 -c16 -d2s "http://127.0.0.1:$proxy_port$path" > /dev/null
callgrind_control -i on "$vpid" > /dev/null 2>&1
wrk -t1 -c16 -d5s "http://127.0.0.1:$proxy_port$path" > "$work/wrk.txt"
callgrind_control -i off "$vpid" > /dev/null 2>&1
callgrind_control -d "$vpid" > /dev/null 2>&1
sleep 1
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
dump=$(ls "$out"* | sort | tail -1)
instructions=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "path $path  requests $requests  instructions $instructions  per request $(( instructions / requests ))"

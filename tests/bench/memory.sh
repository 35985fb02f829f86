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
# Needs nginx, wrk and curl. PORTICO_BIN overrides the binary (default: the production build
# of scripts/build-release.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
binary=${PORTICO_BIN:-$here/build-release/gateway/app/portico}
# shellcheck source=tests/bench/lib.sh
. "$here/tests/bench/lib.sh"
bench_init memory nginx wrk curl
up_port=$(pick_port)
proxy_port=$(pick_port "$up_port")

mkdir -p "$work/up" "$work/www" "$work/p"
printf ok > "$work/www/ok"
truncate -s 1G "$work/www/big"
chmod -R a+rX "$work/www"
start_upstream "$work/up" "$up_port" "$work/www"
BENCH_LISTEN_PORT=$proxy_port BENCH_UPSTREAM=127.0.0.1:$up_port BENCH_WORKERS=1 \
  BENCH_WORKDIR=$work/p PORTICO_BIN=$binary "$here/tests/bench/bench-candidate.sh" \
  > "$work/portico.log" 2>&1 &
pid=$!
pids+=("$pid")
wait_until_answers "http://127.0.0.1:$proxy_port/ok" ||
  { echo "portico did not answer; its log:" >&2; cat "$work/portico.log" >&2; exit 1; }
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
transfer "1 GiB upload with Content-Length" -T "$work/www/big" "http://127.0.0.1:$proxy_port/up"
transfer "1 GiB chunked upload" -T - "http://127.0.0.1:$proxy_port/up" < <(head -c 1073741824 /dev/zero)

if (( failed )); then
  echo "memory targets: NOT met" >&2
  exit 1
fi
echo "memory targets: met (idle under 30 MB, under 64 MiB growth per 1 GiB transfer)"

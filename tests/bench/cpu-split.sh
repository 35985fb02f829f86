#!/usr/bin/env bash
# Where a proxied request's CPU goes: the proxy's own time and the upstream's time behind it,
# for portico, the nginx proxy of ../shared/bench/proxy-bench.sh, and that nginx configured to
# send the upstream the fields Kong sends (kong-compat.md §4.1: X-Real-IP, X-Forwarded-*,
# X-Kong-Request-Id, Via). In the bench, proxy and upstream share one CPU, so a proxy whose
# request costs the upstream more is slower even at the same cost of its own.
#
#   tests/bench/cpu-split.sh [path] [rounds] [seconds]   # defaults: /ok 3 8
#   TARGETS="portico nginx" tests/bench/cpu-split.sh      # a subset (default: all three)
#
# Each round runs every target once, in turn, each with a fresh upstream nginx (the bench's
# configuration) and its proxy, both pinned to CPU 1 and wrk (-t1 -c64) to CPU 0 as the bench
# does on 2 CPUs; 2 s of warm-up, then `seconds` measured. CPU time comes from
# /proc/<pid>/stat (user + system, whole process tree), so no profiler is needed. Prints each
# run and, per target, the medians: req/s, p99, and µs of CPU per request for the proxy, the
# upstream, and both. Every server listens on 127.0.0.1 on free ports. Needs nginx, wrk, curl.
# PORTICO_BIN overrides the binary (default: the production build of scripts/build-release.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
binary=${PORTICO_BIN:-$here/build-release/gateway/app/portico}
path=${1:-/ok}
rounds=${2:-3}
seconds=${3:-8}
targets=${TARGETS:-portico nginx nginx-kong}
for target in $targets; do
  [[ $target == portico || $target == nginx || $target == nginx-kong ]] ||
    { echo "unknown target '$target' (portico, nginx, nginx-kong)" >&2; exit 2; }
done
[[ $path == /ok || $path == /4k ]] || { echo "path must be /ok or /4k" >&2; exit 2; }
[[ $rounds =~ ^[1-9][0-9]*$ && $seconds =~ ^[1-9][0-9]*$ ]] ||
  { echo "rounds and seconds must be positive integers" >&2; exit 2; }
# shellcheck source=tests/bench/lib.sh
. "$here/tests/bench/lib.sh"
bench_init cpu-split nginx wrk curl taskset
server_cpu=() load_cpu=()
if (( $(nproc) >= 2 )); then server_cpu=(taskset -c 1); load_cpu=(taskset -c 0); fi
tck=$(getconf CLK_TCK)

# CPU ticks (user + system) of a process and its children's threads, as the bench counts them.
ticks() {
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1" || true); do
    total=$(( total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0) ))
  done
  echo "$total"
}

mkdir -p "$work/www"
printf ok > "$work/www/ok"
head -c 4096 /dev/zero | tr '\0' x > "$work/www/4k"
chmod -R a+rX "$work/www"

start_nginx_proxy() {  # $1: dir, $2: port, $3: upstream port, $4: 1 to send Kong's fields
  local kong=""
  if [[ $4 == 1 ]]; then
    # shellcheck disable=SC2016  # nginx's variables, not the shell's
    kong='proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Forwarded-Path $uri;
      proxy_set_header X-Kong-Request-Id $request_id;
      proxy_set_header Via "1.1 nginx";'
  fi
  mkdir -p "$1/tmp"
  {
    nginx_preamble "$1"
    cat <<CONF
http {
  access_log off; server_tokens off; tcp_nodelay on;
  keepalive_timeout 75s; keepalive_requests 1000000;
$(nginx_temp_paths "$1")
  upstream backend {
    server 127.0.0.1:$3;
    keepalive 256; keepalive_requests 1000000; keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:$2 backlog=4096;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      $kong
    }
  }
}
CONF
  } > "$1/nginx.conf"
  "${server_cpu[@]}" nginx -e "$1/error.log" -p "$1" -c "$1/nginx.conf" -g 'daemon off;' &
  pids+=($!)
}

start_portico() {  # $1: dir, $2: port, $3: upstream port
  mkdir -p "$1"
  BENCH_LISTEN_PORT=$2 BENCH_UPSTREAM=127.0.0.1:$3 BENCH_WORKERS=1 BENCH_WORKDIR=$1 \
    PORTICO_BIN=$binary "${server_cpu[@]}" "$here/tests/bench/bench-candidate.sh" > "$1/log" 2>&1 &
  pids+=($!)
}

# run TARGET ROUND: one measured run; appends "target req/s p99_ms proxy_us upstream_us".
run() {
  local target=$1 dir="$work/$1-$2" up_port proxy_port up_pid proxy_pid
  up_port=$(pick_port)
  proxy_port=$(pick_port "$up_port")
  start_upstream "$dir/up" "$up_port" "$work/www" "${server_cpu[@]}"
  up_pid=${pids[-1]}
  case $target in
    portico) start_portico "$dir/proxy" "$proxy_port" "$up_port" ;;
    nginx) start_nginx_proxy "$dir/proxy" "$proxy_port" "$up_port" 0 ;;
    nginx-kong) start_nginx_proxy "$dir/proxy" "$proxy_port" "$up_port" 1 ;;
  esac
  proxy_pid=${pids[-1]}
  wait_until_answers "http://127.0.0.1:$proxy_port$path" ||
    { echo "$target did not answer on 127.0.0.1:$proxy_port$path" >&2; exit 1; }
  "${load_cpu[@]}" wrk -t1 -c64 -d2s "http://127.0.0.1:$proxy_port$path" > /dev/null
  local p0 u0 p1 u1
  p0=$(ticks "$proxy_pid"); u0=$(ticks "$up_pid")
  "${load_cpu[@]}" wrk -t1 -c64 "-d${seconds}s" --latency "http://127.0.0.1:$proxy_port$path" \
    > "$dir/wrk.txt"
  p1=$(ticks "$proxy_pid"); u1=$(ticks "$up_pid")
  stop_all
  awk -v t="$target" -v pt=$(( p1 - p0 )) -v ut=$(( u1 - u0 )) -v tck="$tck" '
    /requests in/ { n = $1 }
    / 99%/ { v = $2; ms = v + 0; if (v ~ /us$/) ms /= 1000; else if (v ~ /[^m]s$/) ms *= 1000; p99 = ms }
    /Requests\/sec/ { rps = $2 }
    /Non-2xx|Socket errors/ { bad = 1 }
    END {
      if (bad || n == 0) { print "errors in the run of " t > "/dev/stderr"; exit 1 }
      printf "%s %.0f %.2f %.2f %.2f\n", t, rps, p99, pt / tck / n * 1e6, ut / tck / n * 1e6
    }' "$dir/wrk.txt" | tee -a "$work/runs.txt"
}

echo "path $path, $rounds rounds of $seconds s; columns: target req/s p99_ms proxy_us/req upstream_us/req"
for (( r = 1; r <= rounds; r++ )); do
  for target in $targets; do run "$target" "$r"; done
done
echo
echo "medians: target req/s p99_ms proxy_us upstream_us both_us"
median() {  # median of column $2 over the runs of target $1
  awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$work/runs.txt" | sort -g |
    awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'
}
for target in $targets; do
  rps=$(median "$target" 2); p99=$(median "$target" 3)
  own=$(median "$target" 4); up=$(median "$target" 5)
  awk -v t="$target" -v r="$rps" -v p="$p99" -v o="$own" -v u="$up" \
    'BEGIN { printf "%-10s %8.0f %6.2f %6.2f %6.2f %6.2f\n", t, r, p, o, u, o + u }'
done

#!/usr/bin/env bash
# Starts portico for ../shared/bench/proxy-bench.sh: DB-less, one service and one route to the
# bench upstream, `worker_threads` = the bench's WORKERS, no access log (nginx's bench config has
# none either). Reads BENCH_LISTEN_PORT, BENCH_UPSTREAM, BENCH_WORKERS and BENCH_WORKDIR. Runs the
# production binary of scripts/build-release.sh (LTO and profile-guided), or PORTICO_BIN.
#
#   CANDIDATE_NAME=portico CANDIDATE_CMD="$PWD/tests/bench/bench-candidate.sh" \
#     ../shared/bench/proxy-bench.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
binary=${PORTICO_BIN:-$here/build-release/gateway/app/portico}
[[ -x $binary ]] ||
  { echo "no portico binary at $binary: build it with scripts/build-release.sh, or name one in PORTICO_BIN" >&2; exit 1; }
work=${BENCH_WORKDIR:?}
# PORTICO_BENCH_UPSTREAM=1: the service points at an upstream with the bench upstream as its one
# target (balancer, health bookkeeping) instead of at the host directly.
if [[ ${PORTICO_BENCH_UPSTREAM:-0} == 1 ]]; then
  cat > "$work/kong.yml" <<YAML
_format_version: "3.0"
upstreams:
  - name: bench-upstream
    targets:
      - target: ${BENCH_UPSTREAM:?}
services:
  - name: bench
    host: bench-upstream
    port: 80
    routes:
      - name: bench
        paths: ["/"]
        strip_path: false
YAML
else
  cat > "$work/kong.yml" <<YAML
_format_version: "3.0"
services:
  - name: bench
    url: http://${BENCH_UPSTREAM:?}
    routes:
      - name: bench
        paths: ["/"]
        strip_path: false
YAML
fi
cat > "$work/portico.conf" <<CONF
prefix = $work/prefix
database = off
declarative_config = $work/kong.yml
proxy_listen = 127.0.0.1:${BENCH_LISTEN_PORT:?}
admin_listen = off
worker_threads = ${BENCH_WORKERS:-1}
log_level = warn
proxy_access_log = off
# As the bench configures nginx (keepalive_requests 1000000 towards clients and upstream, idle
# upstream connections kept 300 s) rather than Kong's 10,000 requests and 60 s: with 64
# connections opened together, that limit closes all of them within a few milliseconds every
# ~15 s, and the reconnections land in the tail latency; and between its rounds portico idles
# for up to a minute or more while the other targets run.
keepalive_requests = 1000000
upstream_keepalive_max_requests = 1000000
upstream_keepalive_idle_timeout = 300
CONF
exec "$binary" start -c "$work/portico.conf"

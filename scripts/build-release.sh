#!/usr/bin/env bash
# Builds the production binary, build-release/gateway/app/portico (or $RELEASE_DIR): -O2 with
# link-time optimisation and GCC's profile-guided optimisation trained on the proxy's request
# path. It is the binary docs/benchmarks.md measures. Three steps:
#   1. an instrumented build of portico and portico-echo (PORTICO_PGO=generate);
#   2. training: portico, DB-less, in front of portico-echo on free 127.0.0.1 ports, answering
#      $TRAIN_REQUESTS requests from curl over keep-alive connections: small GETs through a
#      service and through an upstream's balancer, 4 KiB downloads, POSTs with bodies, a few
#      route misses, with the access log on; every answer's status is checked;
#   3. the final build (PORTICO_PGO=use, PORTICO_LTO=ON), then the same requests against it.
# Takes 5-7 minutes on 2 cores. Installs missing Debian packages first, as the README's
# commands do.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/install-deps.sh
dir=${RELEASE_DIR:-build-release}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
profiles=$dir/pgo-profile
requests=${TRAIN_REQUESTS:-40000}
if ! [[ $requests =~ ^[0-9]+$ ]] || (( requests < 100 )); then
  echo "TRAIN_REQUESTS must be a whole number of at least 100" >&2
  exit 2
fi
# shellcheck source=tests/bench/lib.sh
. "$root/tests/bench/lib.sh"  # pick_port, wait_until_answers

configure() {  # $1: off, generate or use; $2: ON or OFF (LTO)
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTICO_WERROR=OFF \
    -DPORTICO_PGO="$1" -DPORTICO_LTO="$2" -DPORTICO_PGO_DIR="$profiles" >/dev/null
}

work=$(mktemp -d /tmp/portico-release.XXXXXX)
pids=()
trap 'stop_all; rm -rf "$work"' EXIT

# train BINARY: runs the request mix against BINARY and fails unless every answer is the
# expected one. portico-echo's own profile goes to the work directory, not into the training.
train() {
  local binary=$1 echo_port proxy_port
  echo_port=$(pick_port)
  proxy_port=$(pick_port "$echo_port")
  GCOV_PREFIX=$work/echo-profile "$dir/tests/support/portico-echo" \
    --listen "127.0.0.1:$echo_port" --name train > "$work/echo.log" &
  pids+=($!)
  cat > "$work/kong.yml" <<YAML
_format_version: "3.0"
upstreams:
  - name: train-upstream
    targets:
      - target: 127.0.0.1:$echo_port
services:
  - name: direct
    url: http://127.0.0.1:$echo_port
    routes:
      - name: direct
        paths: ["/direct"]
  - name: balanced
    host: train-upstream
    port: 80
    routes:
      - name: balanced
        paths: ["/balanced"]
YAML
  cat > "$work/portico.conf" <<CONF
prefix = $work/prefix
database = off
declarative_config = $work/kong.yml
proxy_listen = 127.0.0.1:$proxy_port
admin_listen = off
worker_threads = 1
log_level = warn
proxy_access_log = $work/access.log
CONF
  "$binary" start -c "$work/portico.conf" > "$work/portico.log" 2>&1 &
  local portico_pid=$!
  pids+=("$portico_pid")
  wait_until_answers "http://127.0.0.1:$proxy_port/direct/ready" ||
    { echo "build-release: portico did not answer; its log:" >&2; cat "$work/portico.log" >&2; exit 1; }

  # 16 curls at once, each sending its share of the requests over one keep-alive connection
  # and writing each answer's status.
  local base=http://127.0.0.1:$proxy_port i client clients=16 curls=()
  for ((client = 0; client < clients; client++)); do
    for ((i = client; i < requests; i += clients)); do
      (( i == client )) || echo next
      case $((i % 20)) in
        1 | 2 | 3 | 4) echo "url = \"$base/direct/bytes/4096\"" ;;
        5 | 6 | 7 | 8 | 9) echo "url = \"$base/balanced/get?n=$i\"" ;;
        10) printf 'url = "%s"\ndata = "{\\"n\\": %d}"\nheader = "Content-Type: application/json"\n' \
              "$base/direct/post" "$i" ;;
        11) echo "url = \"$base/missing/$i\"" ;;
        *) echo "url = \"$base/direct/get?n=$i\"" ;;
      esac
      printf 'output = "/dev/null"\nsilent\nwrite-out = "%%{http_code}\\n"\n'
    done > "$work/requests-$client.curl"
    curl -K "$work/requests-$client.curl" > "$work/statuses-$client" &
    curls+=($!)
  done
  local failed=0
  for i in "${curls[@]}"; do wait "$i" || failed=1; done
  local ok missing expected_missing=$(( requests / 20 + (requests % 20 > 11 ? 1 : 0) ))
  cat "$work"/statuses-* > "$work/statuses"
  ok=$(grep -c '^200$' "$work/statuses" || true)
  missing=$(grep -c '^404$' "$work/statuses" || true)
  if (( failed || ok != requests - expected_missing || missing != expected_missing )); then
    echo "build-release: of $requests requests, $ok answered 200 (expected $((requests - expected_missing)))" \
         "and $missing 404 (expected $expected_missing); statuses:" >&2
    sort "$work/statuses" | uniq -c >&2
    exit 1
  fi
  kill "$portico_pid"
  wait "$portico_pid" || { echo "build-release: portico did not stop cleanly" >&2; exit 1; }
  stop_all
  echo "build-release: $requests requests through $binary answered as expected"
}

echo "build-release: 1/3 instrumented build into $dir"
configure generate OFF
cmake --build "$dir" --target portico portico-echo -- -j"${JOBS:-$(nproc)}"
rm -rf "$profiles"
echo "build-release: 2/3 training on $requests requests"
train "$dir/gateway/app/portico"
count=$(find "$profiles" -name '*.gcda' 2>/dev/null | wc -l)
if (( count == 0 )); then
  echo "build-release: training wrote no profiles to $profiles (did portico exit normally?)" >&2
  exit 1
fi
echo "build-release: $count profiles in $profiles"
echo "build-release: 3/3 optimised build (profiles and link-time optimisation)"
configure use ON
cmake --build "$dir" --target portico -- -j"${JOBS:-$(nproc)}"
train "$dir/gateway/app/portico"
echo "build-release: done: $dir/gateway/app/portico"

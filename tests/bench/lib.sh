# shellcheck shell=bash
# Shared by the scripts in tests/bench (sourced, not run): their setup, free ports on 127.0.0.1
# and nginx configurations kept inside a work directory.

# bench_init NAME TOOL...: checks that every TOOL is installed and that the portico binary
# `$binary` exists, then makes `$work` (a temporary directory) and `pids` (the servers started);
# on exit the servers are stopped and the directory removed.
bench_init() {
  local name=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null ||
      { echo "needs $tool (Debian: apt-get install nginx wrk curl valgrind util-linux)" >&2; exit 1; }
  done
  [[ -x ${binary:?} ]] ||
    { echo "no portico binary at $binary: build it with scripts/build-release.sh, or name one in PORTICO_BIN" >&2; exit 1; }
  work=$(mktemp -d "/tmp/portico-$name.XXXXXX")
  chmod 755 "$work"
  pids=()
  trap 'stop_all; rm -rf "$work"' EXIT
}

# Stops the servers in `pids` and forgets them.
stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}

# A TCP port used by any socket (listening or connected) counts as taken.
port_in_use() { ss -Htan "sport = :$1" 2>/dev/null | grep -q .; }

# A port in 20000-29999 that was free a moment ago and differs from the ones given.
pick_port() {
  local p taken
  for _ in $(seq 200); do
    p=$(( 20000 + RANDOM % 10000 ))
    taken=0
    for other in "$@"; do [[ $p == "$other" ]] && taken=1; done
    (( taken )) || port_in_use "$p" || { echo "$p"; return 0; }
  done
  echo "no free port found" >&2
  return 1
}

# The head of an nginx configuration whose pid, log and temporary files stay in DIR (which,
# with DIR/tmp, the caller makes).
nginx_preamble() {
  local dir=$1
  cat <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; }
CONF
}
nginx_temp_paths() {
  local dir=$1
  echo "  client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;"
  echo "  uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;"
}

# start_upstream DIR PORT WWW [COMMAND-PREFIX...]: the proxy bench's upstream nginx (its
# configuration in ../shared/bench/proxy-bench.sh) serving /ok (2 bytes) and, from WWW, /4k and
# /big; /up swallows a body of any size. Appends its pid to `pids`.
start_upstream() {
  local dir=$1 port=$2 www=$3
  shift 3
  mkdir -p "$dir/tmp"
  {
    nginx_preamble "$dir"
    cat <<CONF
http {
  access_log off; server_tokens off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_timeout 600s; keepalive_requests 1000000;
  open_file_cache max=16 inactive=600s; open_file_cache_valid 600s;
$(nginx_temp_paths "$dir")
  server {
    listen 127.0.0.1:$port backlog=4096;
    location = /ok { default_type text/plain; return 200 "ok"; }
    location = /4k { default_type application/octet-stream; root $www; }
    location = /big { default_type application/octet-stream; root $www; }
    location = /up { client_max_body_size 0; return 200 "up"; }
  }
}
CONF
  } > "$dir/nginx.conf"
  "$@" nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' &
  pids+=($!)
}

# wait_until_answers URL: polls for up to 10 s; false if nothing answered.
wait_until_answers() {
  for _ in $(seq 100); do
    curl -s -m 1 -o /dev/null "$1" && return 0
    sleep 0.1
  done
  return 1
}

#!/usr/bin/env bash
# The README's start command: installs what is missing, builds, starts a demo upstream on
# 127.0.0.1:9000, imports resources/example.yml into the embedded store under ./portico-data and
# starts the gateway in the foreground (proxy :8000, Admin API 127.0.0.1:8001). Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh portico portico-echo
build_dir=${BUILD_DIR:-build}
"$build_dir/tests/support/portico-echo" --listen 127.0.0.1:9000 --name demo &
echo_pid=$!
trap 'kill $echo_pid 2>/dev/null || true' EXIT
"$build_dir/gateway/app/portico" config db_import resources/example.yml -c resources/portico.conf
echo "start: try  curl -i http://localhost:8000/demo/hello  and  curl http://localhost:8001/services"
"$build_dir/gateway/app/portico" start -c resources/portico.conf

#!/usr/bin/env bash
# Measures how long a change made through one portico node takes to be served by the others,
# all on one throw-away PostgreSQL (see bench_propagation.cpp). Builds what it needs first.
#
#   tests/bench/propagation-bench.sh --changes 200 --nodes 3
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build} scripts/build.sh bench_propagation portico portico-echo >/dev/null
exec "${BUILD_DIR:-build}/tests/bench/bench_propagation" "$@"

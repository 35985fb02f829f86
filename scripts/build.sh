#!/usr/bin/env bash
# Configures and builds Portico with Ninja and ccache into ./build (or $BUILD_DIR). Arguments
# name targets to build (default: everything). The start and test commands share one
# configuration (warnings as errors, as in CI), so switching between them rebuilds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} \
  -DPORTICO_WERROR=${PORTICO_WERROR:-ON} >/dev/null
echo "build: compiling into $build_dir (the first build takes several minutes on 2 cores)"
cmake --build "$build_dir" ${*:+--target "$@"} -- -j"${JOBS:-$(nproc)}"

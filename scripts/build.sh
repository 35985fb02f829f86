#!/usr/bin/env bash
# Configures and builds Portico with Ninja and ccache into ./build (or $BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} \
  -DPORTICO_WERROR=${PORTICO_WERROR:-OFF} >/dev/null
echo "build: compiling into $build_dir (first build takes several minutes on 2 cores)"
cmake --build "$build_dir" -- -j"${JOBS:-$(nproc)}"

#!/usr/bin/env bash
# The README's test command: installs what is missing, builds from scratch-or-cache with warnings
# as errors, and runs the whole test suite (unit, integration, db, gui) with CTest; without
# arguments, then builds and checks the production binary (scripts/build-release.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
PORTICO_WERROR=ON BUILD_DIR=${BUILD_DIR:-build} scripts/build.sh
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure --timeout 600 -j"${JOBS:-2}" "$@")
# The whole suite (no arguments) ends with the production build, whose script checks the
# optimised binary's answers (README, "Production build").
if (( $# == 0 )); then
  scripts/build-release.sh
fi

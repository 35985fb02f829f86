#!/usr/bin/env bash
# Installs the Debian 12 packages Portico needs to build, run and test, only when missing.
# Non-interactive; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git curl openssl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libspdlog-dev libfmt-dev libsqlite3-dev libyaml-cpp-dev libre2-dev libssl-dev
  libc-ares-dev libpq-dev libbenchmark-dev libjemalloc-dev
  qt6-base-dev qt6-charts-dev
  postgresql-15 postgresql-common
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${#missing[@]} missing packages: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
if [[ " ${missing[*]} " == *" postgresql-15 "* ]]; then
  # The tests start their own PostgreSQL in a temporary directory: keep the package from
  # creating and starting a system cluster on port 5432.
  $sudo apt-get install -y -qq --no-install-recommends postgresql-common
  $sudo sed -i -E 's/^#?\s*create_main_cluster\s*=.*/create_main_cluster = false/' \
    /etc/postgresql-common/createcluster.conf
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"

#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of Plumbline from Debian 12 packages.
# Idempotent: packages already present are skipped by apt; safe to run on every build.
# systemd (systemd-analyze), dpkg-dev (dpkg-shlibdeps) and file are for the packaging checks
# (tests/packaging: the unit, the .deb); nginx, if installed, gets its example config checked.
#
#   install-deps.sh [--bench]    --bench adds wrk and nginx for bench/run_load.sh (optional: the
#                                test suite never needs them)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libssl-dev openssl libsodium-dev libcpp-httplib-dev nlohmann-json3-dev librocksdb-dev
  libgtest-dev libgmock-dev libhowardhinnant-date-dev libtomlplusplus-dev libcli11-dev
  libspdlog-dev libfmt-dev libsystemd-dev libbenchmark-dev tzdata
  curl jq python3 python3-cryptography
  systemd dpkg-dev file
)
if [ "${1:-}" = "--bench" ]; then
  packages+=(wrk nginx)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root to install)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

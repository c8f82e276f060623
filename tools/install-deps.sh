#!/usr/bin/env bash
# Installs every Debian 12 package gmpki needs to build, run and test.
# Idempotent: packages already present are skipped by apt-get.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  libssl-dev openssl
  libboost-dev libboost-system-dev
  nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev
  libsqlite3-dev sqlite3
  libpq-dev postgresql-15 postgresql-client-15
  libgtest-dev libgmock-dev libbenchmark-dev
  libargon2-dev liboath-dev
  openjdk-17-jdk-headless libbcprov-java libbcpkix-java
  curl procps python3 valgrind xxd
  golang-cfssl libbotan-2-dev
  python3-cryptography-vectors
  slapd ldap-utils libldap-dev wrk
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

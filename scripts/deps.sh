#!/usr/bin/env bash
# Installs every Debian package signpost needs (idempotent; quick when all
# are present). README.md says why each one is here.
set -euo pipefail
pkgs=(
  gcc make pkg-config            # build
  librdkafka-dev                 # Kafka client + rdkafka_mock.h (kafka-mock)
  libpq-dev                      # PostgreSQL client
  libjansson-dev                 # JSON
  libsodium-dev                  # sealed boxes, AEAD, BLAKE2b, Ed25519
  libmicrohttpd-dev              # HTTP server
  libcurl4-openssl-dev           # outbound HTTP/SMTP (gateway forwarding, notification)
  libcmocka-dev                  # unit tests
  postgresql-15 postgresql-contrib  # embedded database, pg_trgm, earthdistance, pgbench
  python3 python3-jsonschema     # JSON Schema validation in tests
  docker-compose python3-yaml    # tests/scripts/deploy_manifests.sh: `docker-compose config -q`, parsing deploy/*.yaml
  curl procps iproute2 psmisc    # scripts: readiness probes, process and port checks
  clang-format cppcheck          # format-check, lint
  chromium                       # headless browser for the web-page tests
  openssl libssl-dev             # the embedded broker's TLS client certificates; libcrypto for signpost-admin partner register
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm (GOV.UK Frontend assets, playwright-core, axe-core): any
# install will do; Debian's packages when there is none.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# Java 17 and Maven: the embedded Apache Kafka broker, fetched from Maven
# Central below (any Java 17 or newer will do)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
# npm packages pinned by package-lock.json, installed when the lock changed.
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
# Apache Kafka's broker and its runtime jars, once, into a cache that
# survives make clean (scripts/kafka.sh fetch; tools/kafka/pom.xml pins it)
scripts/kafka.sh fetch

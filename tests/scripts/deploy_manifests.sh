#!/usr/bin/env bash
# The production files, checked offline (there is no Docker engine or
# Kubernetes cluster here): docker-compose.yml is valid for Debian's
# docker-compose, deploy/ is what deploy/gen.py writes, every Kubernetes and
# Strimzi document is valid against its schema (deploy/schema_check.mjs:
# kubernetes-models and the Strimzi 1.0 kafka.strimzi.io/v1 CRDs of
# @kubernetes-models/strimzi-kafka-operator, unknown fields included),
# deploy/compose/secrets.sh makes the broker users' certificates, and every
# manifest keeps the promises tests/lib/deploy_check.py lists (probes,
# topics and their .dlq twins with broker.json's settings, KafkaUser ACLs
# exactly broker.json's, the partner confined to its prefix, every built
# daemon deployed with its broker certificate, the compose broker the
# embedded one).
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
tmp=${SIGNPOST_TEST_TMP:-$(mktemp -d)}
cfg=$tmp/compose-config.yml
# tap_lines: "PASS what" / "FAIL what: why" lines on stdin as TAP
tap_lines() {
  local line
  while IFS= read -r line; do
    case "$line" in
      "PASS "*) ok "${line#PASS }" ;;
      "FAIL "*) not_ok "${line#FAIL }" ;;
      *) echo "# $line" ;;
    esac
  done
}

if command -v docker-compose >/dev/null 2>&1; then
  check "docker-compose config -q accepts docker-compose.yml" \
    docker-compose -f docker-compose.yml config -q
  check "docker-compose config with --profile future accepts it too" \
    docker-compose -f docker-compose.yml --profile future config -q
  docker-compose -f docker-compose.yml config > "$cfg" 2>/dev/null || : > "$cfg"
else
  not_ok "docker-compose is installed (scripts/deps.sh)"
  : > "$cfg"
fi
check "shell scripts under deploy/compose parse" \
  bash -c 'for f in deploy/compose/*.sh; do bash -n "$f" || exit 1; done'
check "deploy/ is what deploy/gen.py writes (run it after changing proto/topics)" \
  /usr/bin/python3 deploy/gen.py --check
# what secrets.sh makes (needs signpost-keygen, the build's)
secrets=$tmp/compose-secrets
rm -rf "$secrets"
bin=${SIGNPOST_TEST_BUILD:-build}/bin
check "deploy/compose/secrets.sh makes the keys and every broker user's certificate" \
  bash -c 'deploy/compose/secrets.sh "$1" "$2" >/dev/null && deploy/compose/secrets.sh "$1" "$2" >/dev/null' _ "$secrets" "$bin"
[ -d "$secrets/kafka" ] || secrets=""
if [ -d node_modules/kubernetes-models ] && [ -d node_modules/@kubernetes-models/strimzi-kafka-operator ] &&
  [ -d node_modules/typescript ]; then
  /usr/bin/python3 tests/lib/deploy_check.py --json . > "$tmp/deploy-docs.json"
  schema_out=$(node deploy/schema_check.mjs "$tmp/deploy-docs.json" "$tmp" 2>&1) || schema_out+=$'\nFAIL deploy/schema_check.mjs exited non-zero'
else
  schema_out="FAIL the schema packages are installed (npm ci; scripts/deps.sh)"
fi
tap_lines <<< "$schema_out"
tap_lines < <(/usr/bin/python3 tests/lib/deploy_check.py . "$cfg" ${secrets:+"$secrets"} 2>&1 || echo "FAIL deploy_check.py ran")
# the throwaway certificates and keys are not kept
rm -rf "$tmp/compose-secrets"

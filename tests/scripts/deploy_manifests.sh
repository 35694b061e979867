#!/usr/bin/env bash
# The production files, checked offline (there is no Docker engine or
# Kubernetes cluster here): docker-compose.yml is valid for Debian's
# docker-compose, deploy/ is what deploy/gen.py writes, and every manifest
# keeps the promises tests/lib/deploy_check.py lists (probes, topics and
# their .dlq twins, ACLs naming real topics, the partner confined to its
# prefix, every built daemon deployed).
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
tmp=${SIGNPOST_TEST_TMP:-$(mktemp -d)}
cfg=$tmp/compose-config.yml

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
while IFS= read -r line; do
  case "$line" in
    "PASS "*) ok "${line#PASS }" ;;
    "FAIL "*) not_ok "${line#FAIL }" ;;
    *) echo "# $line" ;;
  esac
done < <(/usr/bin/python3 tests/lib/deploy_check.py . "$cfg" 2>&1 || echo "FAIL deploy_check.py ran")

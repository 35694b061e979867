#!/usr/bin/env bash
# scripts/secrets.sh DIR BIN: makes (once) every key the platform needs in
# DIR, mode 0600 for secret parts. docs/contracts.md lists what each is for.
set -euo pipefail
dir=$1 bin=$2
mkdir -p "$dir"; chmod 700 "$dir"
for k in principal kek-k1 blind-index token-hash; do
  [ -s "$dir/$k.key" ] || "$bin/signpost-keygen" key "$dir/$k.key"
done
for who in intake notification retention reporting; do
  [ -s "$dir/$who.sk" ] || "$bin/signpost-keygen" box "$dir/$who" >/dev/null
done
for who in audit retention; do
  [ -s "$dir/$who.sign.sk" ] || "$bin/signpost-keygen" sign "$dir/$who" >/dev/null
done

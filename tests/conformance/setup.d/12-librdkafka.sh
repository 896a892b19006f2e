#!/usr/bin/env bash
# Debian's librdkafka (librdkafka-dev, 2.0.2 on bookworm) for the librdkafka
# conformance adapter, tests/conformance/clients/rdkafka_adapter.c, which
# meson builds as rdkafka-adapter when dependency('rdkafka') is found (so run
# `meson setup --reconfigure` on an existing build dir after installing it).
# ca-certificates: the tls scenario checks that a client trusting only the
# public CAs refuses the broker's certificate.
# Idempotent: installs only what is missing.
set -euo pipefail
sudo=${sudo-}
missing=()
for p in librdkafka-dev pkg-config ca-certificates; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; }
fi

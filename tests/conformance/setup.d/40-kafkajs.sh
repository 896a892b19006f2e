#!/usr/bin/env bash
# Compression codecs for the kafkajs conformance adapter
# (tests/conformance/clients/kafkajs_adapter.js). kafkajs itself (2.2.4, from
# tests/clients, installed by scripts/bootstrap) ships gzip only; snappy, lz4
# and zstd are the third-party codec packages its documentation points to:
# kafkajs-snappy (snappyjs), kafkajs-lz4 (node-lz4, a native addon) and
# @kafkajs/zstd (cppzst, a native addon), pinned in
# tests/conformance/clients/kafkajs/package-lock.json and built here with
# node-gyp against the installed Node's headers. cppzst 2.0.6 asks for an
# older C++ standard than Node 20's headers need, hence CXXFLAGS=-std=c++17.
# Idempotent: reinstalls only when package-lock.json changes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
dir=$root/tests/conformance/clients/kafkajs
stamp=$dir/node_modules/.kavka-stamp

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$(cat "${@:2}" | sha256sum)" ]; }
stamp_write() { cat "${@:2}" | sha256sum >"$1"; }

if ! stamp_ok "$stamp" "$dir/package-lock.json"; then
  (cd "$dir" && CXXFLAGS="-std=c++17" npm ci --no-audit --no-fund >/dev/null)
  # fail here, not in the test run, when a codec's native addon did not build
  (cd "$dir" && node -e "require('kafkajs-snappy'); require('kafkajs-lz4'); require('@kafkajs/zstd')")
  stamp_write "$stamp" "$dir/package-lock.json"
fi

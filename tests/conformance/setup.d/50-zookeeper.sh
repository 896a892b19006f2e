#!/usr/bin/env bash
# Apache ZooKeeper 3.8 jars (zkCli) for the zkCli-3.8 conformance adapter,
# from Maven Central into tests/clients/jars-zk38 (zkCli-3.9 uses ZooKeeper
# 3.9.5 from tests/clients/jars, fetched by scripts/bootstrap). The kazoo
# adapter uses the clients' virtualenv and the C adapter Debian's
# libzookeeper-mt-dev, both installed by scripts/bootstrap.
# Idempotent: refetches only when the pom changes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
pom=$root/tests/conformance/clients/zk38/pom.xml
jars=$root/tests/clients/jars-zk38
stamp=$jars/.kavka-stamp

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$(cat "${@:2}" | sha256sum)" ]; }
stamp_write() { cat "${@:2}" | sha256sum >"$1"; }

if ! stamp_ok "$stamp" "$pom"; then
  rm -rf "$jars"  # a version change must not leave old jars on the class path
  mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$jars"
  stamp_write "$stamp" "$pom"
fi

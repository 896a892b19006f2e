#!/usr/bin/env bash
# Apache Curator jars for the curator conformance adapter
# (tests/conformance/clients/curator), from Maven Central into
# tests/clients/jars-curator. Idempotent: refetches only when the pom changes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
pom=$root/tests/conformance/clients/curator/pom.xml
jars=$root/tests/clients/jars-curator
stamp=$jars/.kavka-stamp

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$(cat "${@:2}" | sha256sum)" ]; }
stamp_write() { cat "${@:2}" | sha256sum >"$1"; }

if ! stamp_ok "$stamp" "$pom"; then
  rm -rf "$jars"  # a version change must not leave old jars on the class path
  mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$jars"
  stamp_write "$stamp" "$pom"
fi

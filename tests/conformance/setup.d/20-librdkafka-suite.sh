#!/usr/bin/env bash
# librdkafka's own integration test suite (tests/conformance/librdkafka-suite):
# the build of its test-runner (its Debian packages are in
# scripts/packages/test.txt)
# (fetches Debian's librdkafka 2.0.2-1 source package into
# tests/conformance/librdkafka-suite/src/, git-ignored; verified against the
# pinned .dsc).  The library under test is Debian's librdkafka1 (installed by
# scripts/bootstrap).  Idempotent: the build has a stamp.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
"$root/tests/conformance/librdkafka-suite/build"
# Apache Kafka 3.9's kafka-topics/kafka-acls, which some tests run from
# $KAFKA_PATH/bin, into tests/clients/jars-rdksuite-kafka39 (git-ignored).
pom=$root/tests/conformance/librdkafka-suite/kafka-tools/pom.xml
jars=$root/tests/clients/jars-rdksuite-kafka39
stamp=$jars/.kavka-stamp
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$(sha256sum <"$pom")" ]; then
  rm -rf "$jars"
  mvn -q -B -f "$pom" dependency:copy-dependencies
  sha256sum <"$pom" >"$stamp"
fi

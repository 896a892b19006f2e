#!/usr/bin/env bash
# librdkafka's own integration test suite (tests/conformance/librdkafka-suite):
# the Debian packages its test-runner needs to build, then the build itself
# (fetches Debian's librdkafka 2.0.2-1 source package into
# tests/conformance/librdkafka-suite/src/, git-ignored; verified against the
# pinned .dsc).  The library under test is Debian's librdkafka1 (installed by
# scripts/bootstrap).  Idempotent: apt-get skips what is there, the build has
# a stamp.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
sudo=${sudo-}
pkgs="curl ca-certificates gcc g++ make patch xz-utils librdkafka-dev libssl-dev zlib1g-dev libzstd-dev liblz4-dev rapidjson-dev"
missing=$(dpkg-query -W -f '${Package} ${Status}\n' $pkgs 2>/dev/null | awk '$NF!="installed"{print $1}')
for p in $pkgs; do dpkg-query -W "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "${missing// /}" ]; then
  $sudo apt-get install -y --no-install-recommends $missing
fi
"$root/tests/conformance/librdkafka-suite/build"
# Apache Kafka 3.9's kafka-topics/kafka-acls, which some tests run from
# $KAFKA_PATH/bin, into tests/clients/jars-rdksuite-kafka39 (git-ignored).
pom=$root/tests/conformance/librdkafka-suite/kafka-tools/pom.xml
jars=$root/tests/clients/jars-rdksuite-kafka39
stamp=$jars/.kavka-stamp
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$(sha256sum <"$pom")" ]; then
  command -v mvn >/dev/null || $sudo apt-get install -y --no-install-recommends maven
  rm -rf "$jars"
  mvn -q -B -f "$pom" dependency:copy-dependencies
  sha256sum <"$pom" >"$stamp"
fi

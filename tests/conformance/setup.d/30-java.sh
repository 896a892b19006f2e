#!/usr/bin/env bash
# The java-4.1/java-3.9 conformance adapters (tests/conformance/clients/java)
# compile Conformance.java, so they need javac: bootstrap installs only the
# JRE (openjdk-17-jre-headless).  The jar sets themselves (tests/clients/jars,
# tests/clients/jars-kafka39) are fetched by scripts/bootstrap.  Idempotent.
set -euo pipefail
sudo=${sudo-}
if ! command -v javac >/dev/null 2>&1; then
  if ! $sudo apt-get install -y -q --no-install-recommends openjdk-17-jdk-headless; then
    $sudo apt-get update -q
    $sudo apt-get install -y -q --no-install-recommends openjdk-17-jdk-headless
  fi
fi

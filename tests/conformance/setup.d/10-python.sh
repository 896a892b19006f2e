#!/usr/bin/env bash
# Python clients for the py_adapter.py conformance adapters:
#  - Debian's python3-confluent-kafka (on Debian's librdkafka, from
#    scripts/packages/test.txt) for confluent-kafka-debian, run by /usr/bin/python3;
#  - a virtualenv tests/conformance/clients/latest/.venv with the newest
#    confluent-kafka and kafka-python from PyPI (pinned in requirements.txt).
# Idempotent: the venv is reinstalled only when requirements.txt changes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
latest=$root/tests/conformance/clients/latest
venv=$latest/.venv
req=$latest/requirements.txt

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$(cat "${@:2}" | sha256sum)" ]; }
stamp_write() { cat "${@:2}" | sha256sum >"$1"; }

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! stamp_ok "$venv/.kavka-stamp" "$req"; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  stamp_write "$venv/.kavka-stamp" "$req"
fi

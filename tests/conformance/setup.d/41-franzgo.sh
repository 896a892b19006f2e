#!/usr/bin/env bash
# franz-go (github.com/twmb/franz-go: kgo, kadm, sasl) for the franz-go
# conformance adapter (tests/conformance/clients/franzgo): downloads the
# modules pinned in go.mod/go.sum from the Go module proxy and pre-builds the
# adapter into out/ (its run script rebuilds when the sources change).
# Needs the go toolchain (Go >= 1.26, as go.mod says). Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
dir=$root/tests/conformance/clients/franzgo
command -v go >/dev/null || { echo "41-franzgo.sh: no go toolchain on PATH" >&2; exit 1; }
(cd "$dir" && go mod download && go mod verify >/dev/null)
mkdir -p "$dir/out"
(cd "$dir" && go build -o out/franzgo-adapter .)

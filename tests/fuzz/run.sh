#!/bin/sh
# Runs every codec fuzz target for N seconds, JOBS targets at a time
# (default: the number of cores); fails when any target finds something.
#   tests/fuzz/run.sh [build-dir] [seconds] [jobs]
# Crash inputs are left as <build-dir>/tests/fuzz/crash-* for replay
# (./fuzz_<api> crash-...). Corpora grow in <build-dir>/tests/fuzz/corpus/.
set -eu
build=${1:-build-fuzz}
secs=${2:-10}
jobs=${3:-$(nproc 2>/dev/null || echo 1)}
dir="$build/tests/fuzz"

# One target: its own corpus and log; prints FINDING and the log's tail on a
# finding and exits 1 (xargs then exits 123 once all have run).
one='
name=$(basename "$1")
mkdir -p "$2/corpus/$name"
echo "== $name ($3 s)"
if ! (cd "$2" && FUZZ_SEEDS_DIR="corpus/$name" "./$name" -max_total_time="$3" -print_final_stats=0 \
        "corpus/$name" >"$name.log" 2>&1); then
    echo "FINDING in $name, see $2/$name.log" >&2
    tail -n 30 "$2/$name.log" >&2
    exit 1
fi'

targets=$(for t in "$dir"/fuzz_*; do [ -f "$t" ] && [ -x "$t" ] && echo "$t"; done || true)
ran=$(printf '%s' "$targets" | grep -c . || true)
if [ "$ran" -eq 0 ]; then
    echo "no fuzz targets in $dir (meson setup -Dfuzz=true with clang)" >&2
    exit 1
fi
if printf '%s\n' "$targets" | xargs -P "$jobs" -I{} sh -c "$one" sh {} "$dir" "$secs"; then
    echo "all $ran fuzz targets clean"
    exit 0
fi
exit 1

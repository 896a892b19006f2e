#!/bin/sh
# Runs every fuzz target for N seconds, JOBS targets at a time
# (default: the number of cores); fails when any target finds something.
#   tests/fuzz/run.sh [build-dir] [seconds] [jobs]
# Crash inputs are left as <build-dir>/tests/fuzz/crash-* for replay
# (./fuzz_<api> crash-...). Corpora grow in <build-dir>/tests/fuzz/corpus/;
# a target with a committed seed corpus (tests/fuzz/corpus/<target>/, made by
# tests/fuzz/corpus/make_seeds.py) also reads that, without writing to it.
set -eu
build=${1:-build-fuzz}
secs=${2:-10}
jobs=${3:-$(nproc 2>/dev/null || echo 1)}
dir="$build/tests/fuzz"
seeds=$(cd "$(dirname "$0")" && pwd)/corpus
# UBSan reports are findings too: without this they are printed and the
# target carries on.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

# One target: its own corpus and log; prints FINDING and the log's tail on a
# finding and exits 1 (xargs then exits 123 once all have run).
one='
name=$(basename "$1")
mkdir -p "$2/corpus/$name"
extra=
[ -d "$4/$name" ] && extra="$4/$name"
echo "== $name ($3 s)"
if ! (cd "$2" && FUZZ_SEEDS_DIR="corpus/$name" "./$name" -max_total_time="$3" -print_final_stats=0 \
        "corpus/$name" ${extra:+"$extra"} >"$name.log" 2>&1); then
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
if printf '%s\n' "$targets" | xargs -P "$jobs" -I{} sh -c "$one" sh {} "$dir" "$secs" "$seeds"; then
    echo "all $ran fuzz targets clean"
    exit 0
fi
exit 1

#!/bin/sh
# Runs every codec fuzz target for N seconds; fails on the first finding.
#   tests/fuzz/run.sh [build-dir] [seconds]
# Crash inputs are left as <build-dir>/tests/fuzz/crash-* for replay
# (./fuzz_<api> crash-...). Corpora grow in <build-dir>/tests/fuzz/corpus/.
set -eu
build=${1:-build-fuzz}
secs=${2:-10}
dir="$build/tests/fuzz"
found=0
ran=0
for t in "$dir"/fuzz_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    name=$(basename "$t")
    ran=$((ran + 1))
    mkdir -p "$dir/corpus/$name"
    echo "== $name ($secs s)"
    if ! (cd "$dir" && FUZZ_SEEDS_DIR="corpus/$name" "./$name" -max_total_time="$secs" -print_final_stats=0 \
            "corpus/$name" >"$name.log" 2>&1); then
        echo "FINDING in $name, see $dir/$name.log" >&2
        tail -n 30 "$dir/$name.log" >&2
        found=1
    fi
done
if [ "$ran" -eq 0 ]; then
    echo "no fuzz targets in $dir (meson setup -Dfuzz=true with clang)" >&2
    exit 1
fi
[ "$found" -eq 0 ] && echo "all $ran fuzz targets clean"
exit "$found"

#!/usr/bin/env bash
# Builds the libFuzzer binary (once; SwiftPM rebuilds only what changed) and fuzzes one target, or all of them.
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]   TARGET: map, replay, safetensors, config, state, c-interface, or all
#
# Seeds come from fuzz/corpus/TARGET (committed); inputs libFuzzer finds interesting go to .build-fuzz/corpus/TARGET
# (not committed); crashing inputs are written to fuzz/crashers/TARGET/. Commit a crasher together with its fix:
# FuzzCorpusTests replays every committed crasher. Needs lld (the toolchain's) because ld.gold fails on the
# instrumented link. Set FUZZ_NICE=0 to run at normal priority. Leak detection is off: LeakSanitizer cannot see
# Swift references kept in enum payloads (spare pointer bits), so it reports the harness's cached files as leaks.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(map replay safetensors config state c-interface)
if [[ $# -lt 2 ]]; then
    echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags]; TARGET is one of: ${targets[*]} all" >&2
    exit 2
fi
target=$1 seconds=$2
shift 2
if [[ $target != all && ! " ${targets[*]} " =~ " $target " ]]; then
    echo "unknown target '$target'; use one of: ${targets[*]} all" >&2
    exit 2
fi

build=.build-fuzz
nice=(nice -n "${FUZZ_NICE:-10}")
lld=$(dirname "$(command -v swiftc)")/ld.lld
[[ -x $lld ]] || lld=$(command -v ld.lld || true)
if [[ -z $lld ]]; then echo "ld.lld not found (it ships with the Swift toolchain)" >&2; exit 1; fi
mkdir -p "$build"
printf '{ "schemaVersion": "1.0", "linker": { "path": "%s" } }\n' "$lld" > "$build/toolset.json"

"${nice[@]}" swift build -c release --product dojo-fuzz --build-path "$build" --toolset "$build/toolset.json" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DDOJO_FUZZ 2>&1 | grep -v "Cannot export local symbol" || true
binary=$build/release/dojo-fuzz
[[ -x $binary ]] || { echo "the fuzz build failed" >&2; exit 1; }

run_one() {
    local name=$1
    shift
    local work=$build/corpus/$name crashers=fuzz/crashers/$name
    mkdir -p "$work" "$crashers"
    echo "== fuzzing $name for $seconds s"
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} DOJO_FUZZ_TARGET=$name OPENBLAS_NUM_THREADS=1 "${nice[@]}" "$binary" -max_total_time="$seconds" -timeout=25 \
        -rss_limit_mb=4096 -max_len=1048576 -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$crashers/" "$@" \
        "$work" "fuzz/corpus/$name"
}

if [[ $target == all ]]; then
    status=0
    for name in "${targets[@]}"; do run_one "$name" "$@" || status=1; done
    exit $status
fi
run_one "$target" "$@"

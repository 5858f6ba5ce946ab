#!/usr/bin/env bash
# libFuzzer targets for Tributary's readers of hostile input (Fuzz/, one executable per target).
#
#   scripts/fuzz.sh list                  the targets
#   scripts/fuzz.sh build                 build them all (release, -sanitize=fuzzer,address)
#   scripts/fuzz.sh TARGET SECONDS        fuzz one target for SECONDS
#   scripts/fuzz.sh all SECONDS           fuzz every target for SECONDS each, one after another
#   scripts/fuzz.sh replay [TARGET]       run the saved crash inputs (Fuzz/Regressions/TARGET/*) once
#
# The corpus of TARGET lives in .build-fuzz/corpus/TARGET, seeded from the fixtures by Fuzz/seed.py
# and kept between runs. A crash is written to .build-fuzz/crashes/TARGET/ and makes the script
# exit non-zero; minimize it (`.build-fuzz/release/fuzz-TARGET -minimize_crash=1 -runs=10000 FILE`)
# and save it under Fuzz/Regressions/TARGET/ so `replay` keeps checking it.
# Builds and runs are niced.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$root/.build-fuzz"
targets=(json verify form manifest page cursor)

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

build() {
  # -enable-testing lets the harnesses `@testable import` internal entry points (the Core decoders,
  # the /v1/records cursor); fuzzer-no-link instruments the C code too (libyaml, BoringSSL).
  # lld: gold crashes (dwarf_reader.cc internal error) linking these binaries.
  nice -n 19 swift build --package-path "$root/Fuzz" --scratch-path "$scratch" -c release \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld \
    -Xcc -fsanitize=fuzzer-no-link,address 2>&1 | grep -v "Cannot export local symbol" || true
  for t in "${targets[@]}"; do
    [ -x "$scratch/release/fuzz-$t" ] || { echo "fuzz: build failed (no fuzz-$t)" >&2; exit 1; }
  done
}

is_target() { local t; for t in "${targets[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

run() {
  local target=$1 seconds=$2
  local corpus="$scratch/corpus/$target" crashes="$scratch/crashes/$target" log="$scratch/logs/$target.log"
  mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
  python3 "$root/Fuzz/seed.py" "$target" "$corpus" >/dev/null
  local before; before=$(find "$crashes" -type f | wc -l)
  echo "==> fuzz-$target for ${seconds}s (corpus $corpus, log $log)"
  # -timeout: one input taking over 10 s is a finding. -detect_leaks=0: LeakSanitizer reports a
  # leak inside Foundation's FileManager.contents(atPath:) on an empty file, not ours.
  # timeout: libFuzzer's own -timeout handler can deadlock (seen when the first input, which runs the
  # target's static set-up, took over 10 s on a loaded machine), so the run is bounded from outside too:
  # a hang fails the smoke instead of stalling CI.
  local status=0
  (cd "$crashes" && ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS:-}" timeout -k 10 $((seconds + 120)) nice -n 19 "$scratch/release/fuzz-$target" "$corpus" \
    -max_total_time="$seconds" -print_final_stats=1 -max_len=16384 -timeout=10 -rss_limit_mb=4096 -detect_leaks=0 \
    -artifact_prefix="$crashes/" >"$log" 2>&1) || status=$?
  local execs rate found
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{s=$2} END {print s+0}')
  rate=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{s=$2} END {print s+0}')
  found=$(( $(find "$crashes" -type f | wc -l) - before ))
  echo "fuzz-$target: ${seconds}s, $execs execs, $rate exec/s, $found crash(es) (exit $status)"
  [ "$status" -eq 124 ] && echo "fuzz-$target did not end within $((seconds + 120)) s: killed (a hang; see $log)" >&2
  if [ "$found" -gt 0 ] || [ "$status" -ne 0 ]; then
    grep -E -m5 'ERROR|Fatal error|Precondition failed|SUMMARY|Test unit written' "$log" >&2 || tail -20 "$log" >&2
    return 1
  fi
}

replay() {
  local status=0 t files
  for t in "${@:-${targets[@]}}"; do
    shopt -s nullglob; files=("$root/Fuzz/Regressions/$t"/*); shopt -u nullglob
    [ ${#files[@]} -gt 0 ] || continue
    echo "==> replay fuzz-$t: ${#files[@]} input(s)"
    ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS:-}" nice -n 19 "$scratch/release/fuzz-$t" "${files[@]}" >"$scratch/replay-$t.log" 2>&1 \
      || { echo "fuzz-$t traps on a saved input (log $scratch/replay-$t.log)" >&2; status=1; }
  done
  return $status
}

[ $# -ge 1 ] || usage
case "$1" in
  list) printf '%s\n' "${targets[@]}" ;;
  build) build ;;
  replay) shift; build; replay "$@" ;;
  all)
    [ $# -eq 2 ] || usage
    build
    failed=0
    for t in "${targets[@]}"; do run "$t" "$2" || failed=1; done
    exit $failed ;;
  *)
    [ $# -eq 2 ] && is_target "$1" || usage
    build
    run "$1" "$2" ;;
esac

#!/usr/bin/env bash
# Soak (not in CI): K rounds of `kill -9` of `serve` under signed webhook load, then K power cuts
# through the fault VFS (Sources/TributaryFaultVFS) under the same load with the reconciler running.
# Prints, for each, how many events were acknowledged, lost and applied twice; exits 1 if any
# acknowledged event was lost or applied twice.
#   scripts/soak.sh [K]        (default 200)
# TRIBUTARY_SEED=N replays the power cuts of an earlier run (its seed is printed).
set -uo pipefail
K="${1:-200}"
case "$K" in ''|*[!0-9]*|0) echo "soak.sh: K must be a positive number of rounds, not \"$K\"" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
swift build --build-tests || exit 1
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
echo "== $K rounds of kill -9 under load"
TRIBUTARY_CRASH_ROUNDS="$K" swift test --skip-build --filter 'CrashRecoveryTests' >"$log" 2>&1 || status=1
grep -E '^crash test|lost [1-9]|applied twice [1-9]|✘' "$log"
echo "== $K power cuts under load"
TRIBUTARY_POWER_CUTS="$K" swift test --skip-build --filter 'FaultTests/powerCut\(\)' >"$log" 2>&1 || status=1
grep -E '^power cut|✘' "$log"
[ "$status" = 0 ] && echo "soak: passed" || echo "soak: FAILED"
exit "$status"

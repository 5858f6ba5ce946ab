#!/usr/bin/env bash
# Back-pressure benchmark: serve's memory under a webhook load its store cannot commit at all.
#
# Another process holds the database's write lock for the whole run, so no commit succeeds;
# wrk (Debian's package, an outside load generator) keeps C connections sending signed 256 KiB
# GitHub deliveries. serve's resident memory (VmRSS) is sampled every 0.2 s. Two runs, same binary:
#   1. "unbounded": intake's bounds set out of reach (what intake did before it had bounds);
#   2. "bounded": the defaults (10,000 waiting webhooks, 64 MiB).
# Prints peak RSS of each, and answers by status. Usage:
#   Benchmarks/backpressure/run.sh [SECONDS] [CONNECTIONS]     (default 20 s, 400 connections)
# Uses .build/release/tributary if built (swift build -c release --product tributary), else the debug one.
set -euo pipefail
seconds="${1:-20}"
connections="${2:-400}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
binary="$root/.build/release/tributary"
[ -x "$binary" ] || binary="$root/.build/debug/tributary"
command -v wrk >/dev/null || { echo "run.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
ulimit -n 4096 2>/dev/null || true

secret="bench-backpressure-secret"
python3 - "$work" "$secret" <<'PY'
import hashlib, hmac, json, sys
work, secret = sys.argv[1], sys.argv[2]
body = json.dumps({"action": "edited", "issue": {"id": 1, "number": 1, "title": "x" * (256 * 1024), "updated_at": "2026-11-20T10:00:00Z"}})
signature = "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
open(f"{work}/body.json", "w").write(body)
# Every request carries the same delivery: it is one event, but each waits for its own commit attempt.
open(f"{work}/post.lua", "w").write(f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-GitHub-Event"] = "issues"
wrk.headers["X-GitHub-Delivery"] = "backpressure-1"
wrk.headers["X-Hub-Signature-256"] = "{signature}"
local f = io.open("{work}/body.json", "rb"); wrk.body = f:read("*a"); f:close()
local statuses = {{}}
response = function(status) statuses[status] = (statuses[status] or 0) + 1 end
done = function() end
""")
PY

run() {
    local label="$1"; shift
    local db="$work/$label.db"
    TRIBUTARY_MASTER_KEY="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" "$binary" connections add --db "$db" --providers "$root/Providers" \
        --provider github --tenant bench --id gh1 --webhook-secret "$secret" >/dev/null
    TRIBUTARY_MASTER_KEY="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" LOG_LEVEL=critical "$binary" serve --db "$db" --providers "$root/Providers" \
        --port 0 --no-poll --no-reconcile --max-body 1048576 "$@" >"$work/$label.out" 2>&1 &
    local pid=$!
    local port=""
    for _ in $(seq 100); do
        port="$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/$label.out")"
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { echo "serve did not start:"; cat "$work/$label.out"; exit 1; }
    local idle; idle="$(awk '/VmRSS/ {print $2}' /proc/$pid/status)"
    # The lock: held by another process for the whole load.
    python3 -c "import sqlite3,time; c=sqlite3.connect('$db', isolation_level=None); c.execute('BEGIN IMMEDIATE'); time.sleep($seconds + 3)" &
    local locker=$!
    sleep 0.5
    local peak=0
    ( while kill -0 $pid 2>/dev/null; do awk '/VmRSS/ {print $2}' /proc/$pid/status; sleep 0.2; done ) >"$work/$label.rss" &
    local sampler=$!
    wrk -t 2 -c "$connections" -d "${seconds}s" --timeout 30s -s "$work/post.lua" "http://127.0.0.1:$port/webhooks/github/gh1" >"$work/$label.wrk" 2>&1 || true
    kill $sampler 2>/dev/null || true
    peak="$(sort -n "$work/$label.rss" | tail -1)"
    local requests non2xx
    requests="$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$work/$label.wrk")"
    non2xx="$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' "$work/$label.wrk")"
    printf '%-10s idle RSS %6.1f MiB   peak RSS under load %7.1f MiB   %s answers, %s non-2xx (503 while locked)\n' \
        "$label" "$(echo "$idle / 1024" | bc -l)" "$(echo "$peak / 1024" | bc -l)" "${requests:-0}" "${non2xx:-0}"
    kill -TERM $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    wait $locker 2>/dev/null || true
}

echo "back-pressure: $connections connections of wrk, 256 KiB signed bodies, ${seconds} s, write lock held by another process; $binary"
run unbounded --max-waiting-events 1000000000 --max-waiting-bytes 1000000000000
run bounded

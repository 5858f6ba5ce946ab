#!/usr/bin/env bash
# End-to-end check of a built `tributary` binary, as an operator would use it:
# manifests validate, bad input exits 2 naming the thing at fault, and the README's
# tour (GitHub's published signature vector) works against a real `serve`.
#
# Usage: .ci/e2e.sh BINARY        (called by .ci/run; runnable on its own)
# Needs: curl, python3 with jsonschema. Works in a fresh temp dir; leaves nothing behind.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: .ci/e2e.sh BINARY" >&2
  exit 2
fi
BIN=$(realpath "$1")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$BIN" ] || { echo "e2e: $1 is not an executable" >&2; exit 2; }

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

cd "$WORK"
unset TRIBUTARY_DB TRIBUTARY_MASTER_KEY TRIBUTARY_PUBLIC_URL TRIBUTARY_MAX_BODY TRIBUTARY_BODY_TIMEOUT TRIBUTARY_ADMIN_TOKEN
export TRIBUTARY_PROVIDERS="$ROOT/Providers"

fail() { echo "e2e: FAIL: $*" >&2; exit 1; }
ok() { echo "e2e: ok: $*"; }
# Every CLI call is bounded: a hung command fails the run instead of hanging it.
cli() { timeout 60 "$BIN" "$@"; }
# `expect_exit CODE NAME -- COMMAND…`: runs COMMAND (stdout → NAME.out, stderr → NAME.err), checks its exit code.
expect_exit() {
  local want=$1 name=$2 got=0
  shift 3
  "$@" >"$name.out" 2>"$name.err" || got=$?
  if [ "$got" != "$want" ]; then
    echo "--- stdout"; cat "$name.out"; echo "--- stderr"; cat "$name.err"
    fail "$name: exit $got, expected $want"
  fi
}
contains() { grep -qF -- "$2" "$1" || { echo "--- $1"; cat "$1"; fail "$1 does not contain: $2"; }; }

# --- version and settings --------------------------------------------------
expect_exit 0 version -- cli --version
grep -qE '^[0-9]+\.[0-9]+\.[0-9]+' version.out || fail "--version printed: $(cat version.out)"
ok "tributary --version: $(cat version.out)"
# A wrong setting exits 2 naming it, before anything is created (no database, no admin token).
expect_exit 2 log-level -- env LOG_LEVEL=verbose "$BIN" serve --db bad-setting.db --port 0
contains log-level.err "LOG_LEVEL"
[ ! -e bad-setting.db ] && [ ! -e bad-setting.db.admin-token ] || fail "serve with a bad LOG_LEVEL created files: $(ls bad-setting.db*)"
ok "serve with LOG_LEVEL=verbose: exit 2, nothing created"

# --- manifests -------------------------------------------------------------
expect_exit 0 validate -- cli providers validate
ok "providers validate: $(cat validate.out)"

mkdir broken
# Same file name as the original (so the id check passes): an unknown key and an unknown scheme.
sed -e 's/^    scheme: template$/    scheme: nonsense/' -e 's/^webhooks:$/webhooks:\n  colour: blue/' \
  "$ROOT/Providers/github.yaml" > broken/github.yaml
grep -q 'scheme: nonsense' broken/github.yaml && grep -q 'colour: blue' broken/github.yaml \
  || fail "could not make the broken manifest (Providers/github.yaml changed shape?)"
expect_exit 2 broken -- cli providers validate broken/github.yaml
contains broken.err "broken/github.yaml: /webhooks/colour"
contains broken.err "broken/github.yaml: /webhooks/verification/scheme"
ok "providers validate on a broken manifest exits 2 naming file and path"

# --- connections -----------------------------------------------------------
expect_exit 2 unknown-provider -- cli connections add --provider no-such-provider --tenant acme
contains unknown-provider.err "no-such-provider"
ok "connections add with an unknown provider exits 2"

expect_exit 0 add -- cli connections add --provider github --tenant acme --id gh1 --webhook-secret "It's a Secret to Everybody"
contains add.out "/webhooks/github/gh1"
[ "$(stat -c %a tributary.db.key)" = 600 ] || fail "master key file tributary.db.key is not mode 600"
ok "connections add gh1 (key file tributary.db.key is 0600)"

# --- serve -----------------------------------------------------------------
: >serve.out  # created before serve starts, so the wait loop below never reads a missing file
"$BIN" serve --port 0 >serve.out 2>serve.err &
SERVER_PID=$!
PORT=""
deadline=$((SECONDS + 30))
while [ -z "$PORT" ]; do
  PORT=$(sed -n 's#^tributary listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$#\1#p' serve.out)
  [ -n "$PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat serve.err >&2; fail "serve exited before listening"; }
  [ "$SECONDS" -lt "$deadline" ] || { cat serve.err >&2; fail "serve printed no 'tributary listening on' line within 30 s"; }
  sleep 0.2
done
ok "serve listening on port $PORT"
URL="http://127.0.0.1:$PORT"
# A second serve on the same port fails at once, naming the address and the cause, and creates nothing.
expect_exit 1 port-in-use -- cli serve --db second.db --port "$PORT"
contains port-in-use.err "cannot listen on 127.0.0.1:$PORT: the address is already in use"
[ ! -e second.db ] && [ ! -e second.db.admin-token ] && [ ! -e second.db.key ] || fail "a serve that could not listen created files: $(ls second.db*)"
expect_exit 2 bad-host -- cli serve --db second.db --host 999.1.1.1
contains bad-host.err "--host 999.1.1.1"
[ ! -e second.db ] || fail "a serve with an unresolvable --host created its database"
ok "serve on a port in use exits 1, on an unresolvable host exits 2, both naming the cause and creating nothing"

# `post NAME SIGNATURE DELIVERY BODYFILE`: the README tour's request; writes NAME.body, prints the status.
post() {
  curl -sS --max-time 10 -o "$1.body" -w '%{http_code}' -X POST "$URL/webhooks/github/gh1" \
    -H "X-Hub-Signature-256: $2" -H "X-GitHub-Delivery: $3" -H 'X-GitHub-Event: ping' \
    -H 'Content-Type: application/json' --data-binary "@$4"
}
expect_body() { # NAME STATUS WANT_STATUS WANT_BODY
  [ "$2" = "$3" ] && [ "$(cat "$1.body")" = "$4" ] \
    || fail "$1: got $2 $(cat "$1.body"), expected $3 $4"
}
printf 'Hello, World!' > hello.txt
GITHUB_SIG='sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'
DELIVERY='72d3162e-cc78-11e3-81ab-4c9367dc0958'
status=$(post first "$GITHUB_SIG" "$DELIVERY" hello.txt)
expect_body first "$status" 200 '{"seq":1,"duplicate":false}'
status=$(post again "$GITHUB_SIG" "$DELIVERY" hello.txt)
expect_body again "$status" 200 '{"seq":1,"duplicate":true}'
ok "GitHub docs vector accepted, then answered as a duplicate"

status=$(post badsig 'sha256=0000000000000000000000000000000000000000000000000000000000000000' "$DELIVERY-x" hello.txt)
expect_body badsig "$status" 401 ''
ok "a bad signature is answered 401 with an empty body"

# A body that is not UTF-8 is stored byte-exact and shown as body_base64.
printf '\xff\xfebinary' > binary.bin
BIN_SIG=$(python3 -c 'import hmac,hashlib,sys; print("sha256=" + hmac.new(b"It'"'"'s a Secret to Everybody", open(sys.argv[1],"rb").read(), hashlib.sha256).hexdigest())' binary.bin)
status=$(post binary "$BIN_SIG" 'e2e-binary-1' binary.bin)
# Not necessarily seq 2: SQLite's AUTOINCREMENT spends a number on the duplicate insert above.
BIN_SEQ=$(sed -n 's/^{"seq":\([0-9][0-9]*\),"duplicate":false}$/\1/p' binary.body)
[ "$status" = 200 ] && [ -n "$BIN_SEQ" ] && [ "$BIN_SEQ" -gt 1 ] \
  || fail "binary: got $status $(cat binary.body), expected 200 {\"seq\":N,\"duplicate\":false} with N > 1"
ok "a signed non-UTF-8 body is accepted (seq $BIN_SEQ)"

# --- one webhook URL per app: routed by the installation each delivery names ---------
(umask 077 && printf 'webhook_secret: gh-app-e2e-secret\napp_id: 12345\n' > gh-app.yaml)
expect_exit 2 app-argv -- cli apps add --provider github --id gh --credentials 'webhook_secret: x'
contains app-argv.err "--credentials takes @FILE or -"
expect_exit 0 app-add -- cli apps add --provider github --id gh --credentials @gh-app.yaml
contains app-add.out "webhook path: /webhooks/github/apps/gh"
expect_exit 0 app-conn -- cli connections add --provider github --tenant globex --id globex-gh --app gh --account 222
post_app() { # NAME DELIVERY INSTALLATION: a signed `issues` delivery to the app's URL; prints the status
  printf '{"action":"edited","issue":{"id":%s,"number":1,"updated_at":"2026-11-20T10:00:00Z"},"installation":{"id":%s}}' "$3" "$3" > "$1.json"
  local sig
  sig=$(python3 -c 'import hmac,hashlib,sys; print("sha256=" + hmac.new(b"gh-app-e2e-secret", open(sys.argv[1],"rb").read(), hashlib.sha256).hexdigest())' "$1.json")
  curl -sS --max-time 10 -o "$1.body" -w '%{http_code}' -X POST "$URL/webhooks/github/apps/gh" \
    -H "X-Hub-Signature-256: $sig" -H "X-GitHub-Delivery: $2" -H 'X-GitHub-Event: issues' \
    -H 'Content-Type: application/json' --data-binary "@$1.json"
}
status=$(post_app app-routed e2e-app-1 222)
[ "$status" = 200 ] && ! grep -q quarantined app-routed.body || fail "app delivery for installation 222: $status $(cat app-routed.body)"
status=$(post_app app-waiting e2e-app-2 999)
[ "$status" = 200 ] && grep -qF '"quarantined":true' app-waiting.body || fail "app delivery for unknown installation 999: $status $(cat app-waiting.body)"
expect_exit 0 app-events -- cli events list --connection globex-gh
contains app-events.out "e2e-app-1"
expect_exit 0 app-quarantine -- cli events list --connection app:gh
contains app-quarantine.out "e2e-app-2"
WAITING_SEQ=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seq"])' "$(cat app-waiting.body)")
expect_exit 0 app-late -- cli connections add --provider github --tenant initech --id initech-gh --app gh --account 999
expect_exit 0 app-replay -- cli events replay "$WAITING_SEQ"
contains app-replay.out "routed to connection initech-gh"
expect_exit 0 app-routed-later -- cli events list --connection initech-gh
contains app-routed-later.out "e2e-app-2"
ok "an app's URL routes installation 222 to its connection, keeps 999 waiting, and replay routes it once 999 is added"

for route in healthz readyz; do
  code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$URL/$route")
  [ "$code" = 200 ] || fail "GET /$route answered $code"
done
ok "GET /healthz and /readyz answer 200"

# --- /v1 API ---------------------------------------------------------------
SCHEMA="$ROOT/Schemas/event.schema.json"
# No TRIBUTARY_ADMIN_TOKEN: the first serve on this database generated one into a 0600 file and
# printed only where it is (stdout usually lands in a log).
TOKEN_FILE=$(sed -n 's/^admin token written to \(.*\) (readable by this user only)$/\1/p' serve.out)
[ -n "$TOKEN_FILE" ] && [ -f "$TOKEN_FILE" ] || { cat serve.out; fail "serve printed no 'admin token written to FILE' line"; }
[ "$(stat -c %a "$TOKEN_FILE")" = 600 ] || fail "$TOKEN_FILE is mode $(stat -c %a "$TOKEN_FILE"), expected 600"
TOKEN=$(cat "$TOKEN_FILE")
[ ${#TOKEN} = 43 ] || fail "$TOKEN_FILE does not hold a 43-character token"
! grep -qF "$TOKEN" serve.out serve.err || fail "serve printed the admin token itself"
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$URL/v1/events")
[ "$code" = 401 ] || fail "GET /v1/events without a token answered $code, expected 401"
code=$(curl -sS --max-time 10 -o v1events.body -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/v1/events?limit=1")
[ "$code" = 200 ] || fail "GET /v1/events with the printed token answered $code $(cat v1events.body)"
python3 - v1events.body <<'EOF' || fail "GET /v1/events?limit=1 is not one event and a next_cursor"
import json, sys
page = json.load(open(sys.argv[1]))
assert [e["seq"] for e in page["items"]] == [1] and page["next_cursor"] == "1", page
json.dump(page["items"], open("v1items.json", "w"))
EOF
python3 "$ROOT/.ci/check-event-json.py" "$SCHEMA" v1items.json || fail "GET /v1/events items do not match Schemas/event.schema.json"
ok "GET /v1/events: 401 without the printed admin token, a page of events with it"

# --- event JSON ------------------------------------------------------------
SCHEMA="$ROOT/Schemas/event.schema.json"
expect_exit 0 list -- cli events list --json --connection gh1
python3 "$ROOT/.ci/check-event-json.py" "$SCHEMA" list.out || fail "list: output does not match Schemas/event.schema.json"
python3 - list.out "$DELIVERY" "$BIN_SEQ" <<'EOF' || fail "events list --json does not hold the two events sent"
import json, sys
events = json.load(open(sys.argv[1]))
assert [e["seq"] for e in events] == [1, int(sys.argv[3])], events
first = events[0]
want = {"connection": "gh1", "tenant": "acme", "provider": "github", "source": "webhook",
        "event_id": sys.argv[2], "type": "ping"}
assert all(first[k] == v for k, v in want.items()), first
# serve reconciles every second: a ping is pending until then, applied (it names no record) after.
assert first["status"] in ("pending", "applied"), first
EOF
expect_exit 0 show1 -- cli events show 1
python3 "$ROOT/.ci/check-event-json.py" "$SCHEMA" show1.out || fail "show1: output does not match Schemas/event.schema.json"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); assert e["body"] == "Hello, World!", e' show1.out \
  || fail "events show 1 does not hold the body sent"
expect_exit 0 show2 -- cli events show "$BIN_SEQ"
python3 "$ROOT/.ci/check-event-json.py" "$SCHEMA" show2.out || fail "show2: output does not match Schemas/event.schema.json"
python3 -c 'import json,sys,base64; e=json.load(open(sys.argv[1])); assert base64.b64decode(e["body_base64"]) == open(sys.argv[2],"rb").read(), e' show2.out binary.bin \
  || fail "events show $BIN_SEQ does not hold the binary body byte-exact"
ok "events list --json and events show match Schemas/event.schema.json"

# A verified delivery that cannot be read (no X-GitHub-Delivery) is kept, quarantined, and answered 200.
printf '{"zen":"unreadable without a delivery id"}' > unreadable.json
UNREADABLE_SIG=$(python3 -c 'import hmac,hashlib,sys; print("sha256=" + hmac.new(b"It'"'"'s a Secret to Everybody", open(sys.argv[1],"rb").read(), hashlib.sha256).hexdigest())' unreadable.json)
status=$(post unreadable "$UNREADABLE_SIG" '' unreadable.json)
grep -q '"quarantined":true' unreadable.body && [ "$status" = 200 ] \
  || fail "unreadable: got $status $(cat unreadable.body), expected 200 with \"quarantined\":true"
expect_exit 0 quarantined -- cli events list --status quarantined --json
python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); assert len(e)==1 and e[0]["reason"].startswith("unreadable:") and e[0]["event_id"].startswith("quarantine:sha256:"), e' quarantined.out \
  || fail "the unreadable delivery is not listed as quarantined with its reason"
[ "$(stat -c %a tributary.db)" = 600 ] || fail "tributary.db is mode $(stat -c %a tributary.db), expected 600"
ok "a verified but unreadable delivery is quarantined and answered 200; the database file is 0600"

# --- the first hour (issue 12): each friction a newcomer met, as a row -----------
# 4. Quiet by default: an idle serve logs no reconcile pass (they are debug lines when nothing moved).
sleep 2
before=$(grep -c 'reconcile pass' serve.err || true)
sleep 3
after=$(grep -c 'reconcile pass' serve.err || true)
[ "$before" = "$after" ] || fail "an idle serve logged $((after - before)) 'reconcile pass' lines in 3 s"
ok "an idle serve is quiet (no reconcile pass lines while nothing moves)"

# 5. One rule for unknown ids: exit 1 and "no connection X" in the CLI, 404 with a sentence in /v1.
for command in "records list --connection nope" "events list --connection nope" "status --connection nope" \
               "poll --connection nope" "reconcile --connection nope" "connections show nope"; do
  name=unknown-$(echo "$command" | tr ' ' '-')
  # shellcheck disable=SC2086
  expect_exit 1 "$name" -- cli $command
  contains "$name.err" "no connection nope"
done
expect_exit 1 replay-unknown -- cli events replay 999999
contains replay-unknown.err "no event with seq 999999"
expect_exit 1 show-unknown -- cli events show 999999
contains show-unknown.err "no event with seq 999999"
code=$(curl -sS --max-time 10 -o v1-unknown.body -w '%{http_code}' -H "Authorization: Bearer $(cat tributary.db.admin-token)" "$URL/v1/records?connection=nope")
[ "$code" = 404 ] && grep -qF 'no connection nope' v1-unknown.body || fail "GET /v1/records?connection=nope answered $code $(cat v1-unknown.body), expected 404 naming nope"
ok "unknown connection ids and event seqs: exit 1 naming them in the CLI, 404 in /v1"

# 1. A provider API where nothing listens: a line per retry naming provider, origin and cause, then
#    exit 1 with the last cause within --max-wait (it used to be 8 silent minutes). Port 1: nothing listens.
expect_exit 0 add-dead -- cli connections add --provider github --tenant acme --id dead --account octo/hello \
  --api-token e2e-token --api-base-url http://127.0.0.1:1
started=$SECONDS
expect_exit 1 poll-dead -- cli poll --once --connection dead --allow-private-upstreams --max-wait 5
[ $((SECONDS - started)) -le 30 ] || fail "poll --max-wait 5 took $((SECONDS - started)) s"
contains poll-dead.err "github API at http://127.0.0.1:1: cannot connect: connection refused; retrying in"
contains poll-dead.err "the poll of dead/issues failed: gave up after"
! grep -q 'pages=' poll-dead.err || fail "poll repeated its summary on stderr: $(cat poll-dead.err)"
contains poll-dead.out "failed: gave up after"
ok "poll against a dead API: a line per retry, exit 1 with the cause after $((SECONDS - started)) s"

# 10. status: an aligned table per connection, its resources' state and last error.
expect_exit 0 status-dead -- cli status --connection dead
contains status-dead.out "RESOURCE"
contains status-dead.out "failing"
ok "status prints a table with each resource's state"

# 6. A webhook secret the provider's scheme cannot use is refused at the door, naming the form.
expect_exit 2 plain-secret -- cli connections add --provider simulator --tenant acme --webhook-secret "plain secret"
contains plain-secret.err '"whsec_" followed by base64'
ok "connections add with a secret not in the provider's form exits 2 naming the form"

# 8, 9. Database paths, values and settings: words, exit codes, nothing created.
expect_exit 1 no-dir -- cli connections add --db missing-dir/x.db --provider github --tenant a
contains no-dir.err "the directory missing-dir does not exist"
expect_exit 1 no-db -- cli events list --db typo.db
contains no-db.err "no database at typo.db"
[ ! -e typo.db ] || fail "a read-only command created typo.db"
expect_exit 2 negative-limit -- cli events list --limit -1
contains negative-limit.err "--limit must be a positive number, not -1"
expect_exit 2 bad-key -- env TRIBUTARY_MASTER_KEY=not-a-key "$BIN" serve --db bad-key.db --port 0
contains bad-key.err "TRIBUTARY_MASTER_KEY"
[ ! -e bad-key.db ] || fail "serve with a bad TRIBUTARY_MASTER_KEY created its database"
[ -f "$ROOT/LICENSE" ] && grep -q "Apache License" "$ROOT/LICENSE" || fail "no Apache-2.0 LICENSE at the repository root"
ok "database errors in words, negative --limit and a bad master key exit as documented, nothing created"

# --- shutdown --------------------------------------------------------------
kill -TERM "$SERVER_PID"
# Watchdog: SIGKILL the server if it has not stopped within 15 s (its own sleep ends with it).
( trap 'kill "$nap" 2>/dev/null; exit 0' TERM; sleep 15 & nap=$!; wait "$nap"; kill -KILL "$SERVER_PID" 2>/dev/null ) >/dev/null 2>&1 &
watchdog=$!
code=0
wait "$SERVER_PID" || code=$?
kill "$watchdog" 2>/dev/null || true
wait "$watchdog" 2>/dev/null || true
SERVER_PID=""
[ "$code" = 0 ] || { cat serve.err >&2; fail "serve exited $code on SIGTERM (expected a clean stop within 15 s)"; }
ok "serve stops cleanly on SIGTERM"
# 7. A broken manifest is not an outage: serve starts with the others, answers the broken
#    provider's webhooks 503 with Retry-After (providers retry), and logs what is wrong.
mkdir partly-broken
cp "$ROOT"/Providers/*.yaml partly-broken/
cp broken/github.yaml partly-broken/github.yaml
expect_exit 0 list-broken -- cli providers list --providers partly-broken
contains list-broken.out "github	INVALID	partly-broken/github.yaml: /webhooks"
contains list-broken.out "stripe	Stripe"
"$BIN" serve --port 0 --db broken.db --providers partly-broken >broken-serve.out 2>broken-serve.err &
SERVER_PID=$!
PORT=""
deadline=$((SECONDS + 30))
while [ -z "$PORT" ]; do
  PORT=$(sed -n 's#^tributary listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$#\1#p' broken-serve.out)
  [ -n "$PORT" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat broken-serve.err >&2; fail "serve with one broken manifest exited"; }
  [ "$SECONDS" -lt "$deadline" ] || fail "serve with one broken manifest did not listen within 30 s"
  sleep 0.2
done
code=$(curl -sS --max-time 10 -D broken-hook.headers -o broken-hook.body -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/webhooks/github/gh1" --data-binary '{}')
[ "$code" = 503 ] && grep -qi '^retry-after:' broken-hook.headers || fail "a webhook for the broken provider got $code, expected 503 with Retry-After"
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/webhooks/stripe/nope" --data-binary '{}')
[ "$code" = 404 ] || fail "a webhook for a valid provider's unknown connection got $code, expected 404"
contains broken-serve.err "provider github is unavailable: its manifest is invalid"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=""
ok "serve with one broken manifest starts; that provider's webhooks get 503 + Retry-After, the others work"
echo "e2e: all checks passed"

#!/usr/bin/env bash
# Runs README.md's "A short tour" as written, against a built `tributary`, and checks that every
# command prints what the README says it prints.
#
# Usage: .ci/readme-tour.sh BINARY        (called by .ci/run; runnable on its own)
# Needs: curl, python3, timeout, and port 8080 free on 127.0.0.1 (the tour uses the default port).
#
# How the README is read:
#   - the section is from "## A short tour" to the next "## " heading;
#   - every ```sh block is run, command by command (a line ending in `\` continues on the next),
#     each in its own `bash -o pipefail -c` in the tour's directory (a `cd` or `export` does not
#     carry over to the next command), bounded by `timeout 60`;
#     the lines beginning with `# ` after a command are what it prints (its stdout; it must exit 0
#     and print nothing on stderr);
#   - an expected line beginning with one more space (`#  "event_id":…`) continues the line before
#     it: the README wraps a long line for the page (`events show` prints one line);
#   - a ``` block with no language holds what running the last command again prints (the tour's
#     "Send it again");
#   - compared exactly, except that `…` matches anything (a whole `# …` line: any lines), an RFC 3339
#     timestamp matches any timestamp (received_at) and `curl/7.88.1` any curl version
#     (the User-Agent header).
# `serve` reconciles in the background (the tour says: within about a second), so a read-only
# command (events/records/connections list|show, status) whose output differs is run again, every
# half second for up to 10 s, before it fails.
#
# It runs in a fresh temp directory holding only ./Providers (a symlink to the repository's), with
# a PATH shim where `tributary` is BINARY; it starts `tributary serve` there first, as the tour does,
# and stops it and removes the directory on exit.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: .ci/readme-tour.sh BINARY" >&2
  exit 2
fi
[ -x "$1" ] && [ -f "$1" ] || { echo "readme-tour: $1 is not an executable" >&2; exit 2; }
BIN=$(realpath "$1")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
README="$ROOT/README.md"
for tool in curl python3 timeout; do
  command -v "$tool" >/dev/null || { echo "readme-tour: needs $tool on PATH" >&2; exit 2; }
done

fail() { echo "readme-tour: FAIL: $*" >&2; exit 1; }
ok() { echo "readme-tour: ok: $*"; }

WORK=$(mktemp -d)
SERVE_PID=""
CMD_PID=""
cleanup() {
  if [ -n "$CMD_PID" ]; then
    kill -TERM "$CMD_PID" 2>/dev/null || true   # `timeout`, which passes it on
    wait "$CMD_PID" 2>/dev/null || true
  fi
  if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
    # SERVE_PID is `timeout`, which passes the TERM on to serve; it leads serve's process group.
    kill -TERM "$SERVE_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$SERVE_PID" 2>/dev/null; then
      kill -KILL -- "-$SERVE_PID" 2>/dev/null || kill -KILL "$SERVE_PID" 2>/dev/null || true
    fi
    wait "$SERVE_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TOUR="$WORK/tour"     # the reader's directory: ./tributary.db and ./Providers
SHIM="$WORK/bin"      # `tributary` on PATH
STEPS="$WORK/steps"   # the commands and their expected output, read from the README
mkdir "$TOUR" "$SHIM" "$STEPS"
ln -s "$BIN" "$SHIM/tributary"
ln -s "$ROOT/Providers" "$TOUR/Providers"

# A clean environment for the tour: defaults only (./tributary.db, ./Providers, a generated key),
# and curl talking to 127.0.0.1 directly even where a proxy is configured.
while read -r name; do unset "$name"; done < <(compgen -e | grep '^TRIBUTARY_' || true)
unset LOG_LEVEL
export no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}" NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export PATH="$SHIM:$PATH"

# --- the tour, as steps ---------------------------------------------------------
# STEPS/NNN.cmd (the command), NNN.want (its expected lines, wrapped lines joined), NNN.where
# (README line and what the step is); NNN.cmd is absent for "run the last command again".
python3 - "$README" "$STEPS" <<'EOF' || fail "cannot read the tour's commands from $README"
import os, re, sys
readme, steps = sys.argv[1], sys.argv[2]
lines = open(readme, encoding="utf-8").read().split("\n")
try:
    start = lines.index("## A short tour")
except ValueError:
    sys.exit('readme-tour: README.md has no "## A short tour" section')
end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
intro = " ".join(lines[start + 1:end]).split("```")[0]
if "`tributary serve`" not in intro:
    sys.exit("readme-tour: the tour no longer starts from `tributary serve` running; update .ci/readme-tour.sh")

n = 0
def shown(cmd):  # a command's first line, for messages
    return cmd[0].rstrip("\\").rstrip() + (" …" if len(cmd) > 1 else "")
def step(kind, lineno, cmd, want):
    global n
    n += 1
    base = os.path.join(steps, "%03d" % n)
    if cmd is not None:
        open(base + ".cmd", "w", encoding="utf-8").write(cmd + "\n")
    open(base + ".want", "w", encoding="utf-8").write("".join(w + "\n" for w in want))
    open(base + ".where", "w", encoding="utf-8").write("README.md:%d: %s" % (lineno, kind))

i, last_cmd = start + 1, None
while i < end:
    fence = re.match(r"^```(\S*)\s*$", lines[i])
    if not fence:
        i += 1
        continue
    lang, body_start = fence.group(1), i + 1
    j = body_start
    while j < end and not lines[j].startswith("```"):
        j += 1
    if j >= end:
        sys.exit("readme-tour: README.md:%d: a fenced block that does not close" % (i + 1))
    body = lines[body_start:j]
    if lang == "sh":
        cmds = []  # [lineno, command lines, expected lines]
        for k, line in enumerate(body):
            lineno = body_start + k + 1
            if line.startswith("# ") or line == "#":
                if not cmds:
                    sys.exit("readme-tour: README.md:%d: expected output before any command" % lineno)
                text = line[2:]
                if re.match(r"^ \S", text) and cmds[-1][2]:
                    cmds[-1][2][-1] += text[1:]       # a wrapped line, continued
                else:
                    cmds[-1][2].append(text)
            elif not line.strip():
                continue
            elif cmds and not cmds[-1][2] and cmds[-1][1][-1].endswith("\\"):
                cmds[-1][1].append(line)              # a continued command
            else:
                cmds.append([lineno, [line], []])
        for lineno, cmd, want in cmds:
            step(shown(cmd), lineno, "\n".join(cmd), want)
            last_cmd = cmd
    elif lang == "":
        if last_cmd is None:
            sys.exit("readme-tour: README.md:%d: an output block before any command" % (i + 1))
        step("the command before, run again (%s)" % shown(last_cmd), i + 1, None, body)
    else:
        sys.exit("readme-tour: README.md:%d: a ```%s block in the tour; only sh and plain blocks are understood" % (i + 1, lang))
    i = j + 1
if n == 0:
    sys.exit("readme-tour: no ```sh blocks in the tour")
EOF

# `match WANT GOT`: exit 0 when GOT's lines match WANT's; otherwise prints the first difference.
cat > "$WORK/match.py" <<'EOF'
import re, sys
want = open(sys.argv[1], encoding="utf-8").read().split("\n")[:-1]
got = open(sys.argv[2], encoding="utf-8", errors="replace").read()
got = got[:-1].split("\n") if got.endswith("\n") else (got.split("\n") if got else [])
special = re.compile(r"(…|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z|curl/\d+(?:\.\d+)*)")
def pieces(line):  # [(regex, README text)]
    parts = []
    for piece in special.split(line):
        if not special.fullmatch(piece):
            parts.append((re.escape(piece), piece))
        elif piece == "…":
            parts.append((".*", piece))
        elif piece.startswith("curl/"):
            parts.append((r"curl/[0-9][0-9A-Za-z.+-]*", piece))
        else:
            parts.append((r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z", piece))
    return parts
def pattern(line):
    return re.compile("".join(r for r, _ in pieces(line)))
def where_differs(line, got):  # "column N: expected '…', got '…'" for a long line
    parts, done = pieces(line), ""
    for k, (regex, text) in enumerate(parts):
        m = re.match(done + regex + ("$" if k == len(parts) - 1 else ""), got)
        if m is None:
            at = re.match(done, got).end()
            rest = got[at:]
            if regex == re.escape(text):  # a literal: skip what agrees
                same = 0
                while same < min(len(text), len(rest)) and text[same] == rest[same]:
                    same += 1
                at, text, rest = at + same, text[same:], rest[same:]
            if k > 0 and parts[k - 1][1] == "…":
                return "after column %d, expected %r, not found in %r" % (at, text[:40] or "the end of the line", rest[:80])
            return "column %d: expected %r, got %r" % (at + 1, text[:40] or "the end of the line", rest[:40] or "the end of the line")
        done += ".*?" if text == "…" else regex
    return None
pats = [None if w == "…" else pattern(w) for w in want]
def matches(i, j):  # want[i:] against got[j:]
    if i == len(want):
        return j == len(got)
    if pats[i] is None:
        return any(matches(i + 1, k) for k in range(j, len(got) + 1))
    return j < len(got) and pats[i].fullmatch(got[j]) is not None and matches(i + 1, j + 1)
if matches(0, 0):
    sys.exit(0)
for k in range(max(len(want), len(got))):
    w = want[k] if k < len(want) else None
    g = got[k] if k < len(got) else None
    if w == "…":
        break
    if w is None or g is None or pats[k].fullmatch(g) is None:
        if w is not None and g is not None and len(w) > 60:
            print("line %d, %s" % (k + 1, where_differs(w, g)))
        else:
            print("line %d: expected %s, got %s" % (k + 1,
                  "nothing more" if w is None else repr(w), "nothing more" if g is None else repr(g)))
        break
print("expected (README):")
for w in want: print("  " + w)
print("got:")
for g in got: print("  " + g)
sys.exit(1)
EOF

# --- serve ----------------------------------------------------------------------
# The tour's curl commands go to 127.0.0.1:8080, serve's default: if something already answers
# there, the tour would talk to it, so stop here instead.
if timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' 2>/dev/null; then
  fail "port 8080 on 127.0.0.1 is in use (the tour's serve needs it); stop what listens there (ss -ltnp 'sport = :8080') and run this again"
fi
cd "$TOUR"
timeout 600 tributary serve >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
deadline=$((SECONDS + 30))
until grep -q '^tributary listening on ' "$WORK/serve.out"; do
  if ! kill -0 "$SERVE_PID" 2>/dev/null; then
    cat "$WORK/serve.err" >&2
    fail "tributary serve exited before listening (stderr above)"
  fi
  [ "$SECONDS" -lt "$deadline" ] || { cat "$WORK/serve.err" >&2; fail "tributary serve printed no 'tributary listening on' line within 30 s"; }
  sleep 0.2
done
listening=$(grep '^tributary listening on ' "$WORK/serve.out")
[ "$listening" = "tributary listening on http://127.0.0.1:8080" ] \
  || fail "tributary serve printed \"$listening\", but the tour's commands use http://127.0.0.1:8080"
ok "tributary serve: $listening"

# --- the steps --------------------------------------------------------------------
readonly_cmd='^tributary (events (list|show)|records (list|get)|connections (list|show)|providers list|status)( |$)'
last=""
for want in "$STEPS"/*.want; do
  base=${want%.want}
  where=$(cat "$base.where")
  if [ -f "$base.cmd" ]; then last="$base.cmd"; fi
  cmd=$(cat "$last")
  retry_until=$SECONDS
  if [[ "$cmd" =~ $readonly_cmd ]]; then retry_until=$((SECONDS + 10)); fi
  while :; do
    code=0
    # In the background and waited for, so that a signal to this script is handled at once.
    timeout 60 bash -o pipefail -c "$cmd" >"$WORK/got.out" 2>"$WORK/got.err" </dev/null &
    CMD_PID=$!
    wait "$CMD_PID" || code=$?
    CMD_PID=""
    if [ "$code" != 0 ]; then
      diff="exit $code"
      if [ "$code" = 124 ]; then diff="$diff (timed out after 60 s)"; fi
    elif [ -s "$WORK/got.err" ]; then
      diff="printed on stderr"
    elif diff=$(python3 "$WORK/match.py" "$want" "$WORK/got.out"); then
      break
    fi
    if [ "$SECONDS" -ge "$retry_until" ]; then
      {
        echo "--- command"; echo "$cmd"
        if [ "$code" = 0 ] && [ ! -s "$WORK/got.err" ]; then
          echo "--- difference"; echo "$diff"
        else
          echo "--- stdout"; cat "$WORK/got.out"
          echo "--- stderr"; cat "$WORK/got.err"
        fi
      } >&2
      fail "$where: ${diff%%$'\n'*}"
    fi
    sleep 0.5
  done
  ok "$where"
done

echo "readme-tour: the tour passed as written"

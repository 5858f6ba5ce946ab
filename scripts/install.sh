#!/usr/bin/env bash
# Builds the release binaries and installs `tributary` and `tributary-sim` into PREFIX/bin.
#   scripts/install.sh [--prefix DIR]      (PREFIX defaults to $PREFIX, else ~/.local)
# Runs from any directory. The first release build takes about 15–20 minutes on 2 cores
# (it compiles BoringSSL and SwiftNIO); later ones are incremental.
#
# For CI only: TRIBUTARY_INSTALL_SKIP_BUILD=1 with TRIBUTARY_INSTALL_BIN_DIR=DIR skips the
# release build and installs the `tributary` and `tributary-sim` already built in DIR (e.g.
# the debug build), so `.ci/run` can test the installing part without a second, release,
# build. Not meant for installing by hand.
set -euo pipefail

me="install.sh"
usage() {
  cat <<'EOF'
usage: scripts/install.sh [--prefix DIR]

Builds tributary and tributary-sim in release mode (swift build -c release) and
copies them into DIR/bin. DIR is --prefix, else $PREFIX, else ~/.local.
The first release build takes about 15–20 minutes on 2 cores; later ones are incremental.
EOF
}
die() { echo "$me: $*" >&2; exit 1; }

prefix="${PREFIX:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --prefix)
      [ $# -ge 2 ] && [ -n "$2" ] || { echo "$me: --prefix needs a directory" >&2; usage >&2; exit 2; }
      prefix="$2"; shift 2 ;;
    --prefix=*)
      prefix="${1#--prefix=}"
      [ -n "$prefix" ] || { echo "$me: --prefix needs a directory" >&2; usage >&2; exit 2; }
      shift ;;
    *) echo "$me: unknown argument \"$1\"" >&2; usage >&2; exit 2 ;;
  esac
done
if [ -z "$prefix" ]; then
  [ -n "${HOME:-}" ] || die "HOME is not set, so there is no default prefix; pass --prefix DIR."
  prefix="$HOME/.local"
fi
# A relative prefix means relative to where the script was called from, not the repository.
case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac
bin="${prefix%/}/bin"

skip_build="${TRIBUTARY_INSTALL_SKIP_BUILD:-0}"
if [ "$skip_build" = 1 ]; then
  src="${TRIBUTARY_INSTALL_BIN_DIR:-}"
  [ -n "$src" ] \
    || die "TRIBUTARY_INSTALL_SKIP_BUILD=1 needs TRIBUTARY_INSTALL_BIN_DIR, the directory holding the built binaries."
  case "$src" in /*) ;; *) src="$PWD/$src" ;; esac
elif ! command -v swift >/dev/null 2>&1; then
  die "swift is not on PATH, so nothing can be built; install the Swift toolchain (https://www.swift.org/install/) and run this again."
fi

# Check the destination before a long build: create PREFIX/bin and write a file into it.
# (A test write rather than `[ -w ]`, which says yes to root even on a read-only file system.)
if ! err=$(mkdir -p -- "$bin" 2>&1); then
  die "cannot install into $bin because the prefix is not writable (${err#mkdir: })."
fi
if ! probe=$(mktemp "$bin/.install-probe.XXXXXX" 2>&1); then
  die "cannot install into $bin because the directory is not writable (${probe#mktemp: })."
fi
rm -f -- "$probe"

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$skip_build" = 1 ]; then
  echo "TRIBUTARY_INSTALL_SKIP_BUILD=1: not building; installing the binaries in $src"
else
  echo "Building tributary and tributary-sim (release): the first release build takes about 15–20 minutes on 2 cores; later ones are incremental."
  swift build -c release --product tributary
  swift build -c release --product tributary-sim
  src=$(swift build -c release --show-bin-path)
fi

for exe in tributary tributary-sim; do
  [ -f "$src/$exe" ] && [ -x "$src/$exe" ] || die "$src/$exe is missing or not executable, so there is nothing to install."
done
for exe in tributary tributary-sim; do
  install -m 0755 -- "$src/$exe" "$bin/$exe"
done

version=$("$bin/tributary" --version 2>&1) || die "the installed $bin/tributary does not run: $version"
echo "installed tributary ($version) and tributary-sim into $bin"
case ":${PATH:-}:" in
  *":$bin:"*|*":$bin/:"*)
    found=$(command -v tributary || true)
    if [ -n "$found" ] && [ "$found" -ef "$bin/tributary" ]; then
      echo "$bin is on your PATH: \`tributary --version\` checks it."
    else
      echo "$bin is on your PATH, but \`tributary\` runs $found, which comes before it; remove that one or put $bin first."
    fi ;;
  *)
    echo "$bin is not on your PATH; add this line to your shell's profile (~/.bashrc or ~/.profile), then open a new shell:"
    # Single quotes: the line is printed as is, with a literal $PATH for the shell to expand.
    printf 'export PATH="%s:$PATH"\n' "$bin" ;;
esac

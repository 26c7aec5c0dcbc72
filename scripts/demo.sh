#!/bin/sh
# demo.sh - a short tour of what apcore does, on this machine, now.
set -eu
cd "$(dirname "$0")/.."
APCORE=${APCORE:-$(pwd)/apcore}
demo=$(mktemp -d "${TMPDIR:-/tmp}/apcore-demo.XXXXXX")
trap 'rm -rf "$demo"' EXIT
"$APCORE" --install -s "$demo" >/dev/null
ln -s "$APCORE" "$demo/apcore"
PATH=$demo:$PATH

say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; sh -c "$*" || true; }

say "One binary, several applets (chosen at build time with Kconfig)"
run "apcore --list"
say "Each applet is reachable through a link named after it"
run "ls -l $demo | sed 1d | awk '{print \$9, \$10, \$11}'"
run "apcore-audit --help | head -3"

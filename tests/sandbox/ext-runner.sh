#!/bin/sh
# A module runner that reports what it sees of its extensions root.
cat >/dev/null
f=$(cat "$APCORE_EXTENSIONS_ROOT/f")
if touch "$APCORE_EXTENSIONS_ROOT/new" 2>/dev/null; then w=true; else w=false; fi
printf '{"f": "%s", "writable": %s}\n' "$f" "$w"

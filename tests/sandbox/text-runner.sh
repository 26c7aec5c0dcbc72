#!/bin/sh
# A module runner that answers with text that is not JSON.
cat >/dev/null
printf 'hello from module %s, not JSON\n' "$1"

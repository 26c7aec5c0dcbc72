#!/bin/sh
# A module runner that fails the way a Python runner does: a traceback on
# stderr and exit status 1.
cat >/dev/null
echo "Traceback (most recent call last):" >&2
echo "ModuleNotFoundError: No module named '$1'" >&2
exit 1

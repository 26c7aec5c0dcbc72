#!/bin/bash
# flip.sh FILE OFFSET MASK: xor the byte at OFFSET with MASK, in place.
b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
printf "$(printf '\\%03o' $((b ^ $3)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null

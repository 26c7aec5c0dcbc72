#!/bin/bash
# writer.sh LOG ID DIR: append records kill.ID with duration 1, 2, ... until
# killed.  Each append runs in the background so a killer can find its pid
# in DIR/pid.ID; the number of every append that returned 0 goes to
# DIR/ok.ID, only after it returned.
log=$1 id=$2 dir=$3
i=0
while :; do
	i=$((i + 1))
	apcore-audit log --file "$log" --module "kill.$id" --status success --exit-code 0 \
		--duration-ms "$i" 2>/dev/null &
	echo $! > "$dir/pid.$id"
	wait $! && echo "$i" >> "$dir/ok.$id"
done

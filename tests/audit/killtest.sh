#!/bin/bash
# killtest.sh LOG: 4 looping writers (writer.sh) append to LOG while their
# apcore processes are killed with SIGKILL at random moments, until 40
# kills hit a live writer and 100 appends returned 0 (at most 60 s); then
# verify --repair.  Prints the verify exit status, how many appends that
# returned 0 are missing from the log, and "busy" when enough ran.
log=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/apcore-kill.XXXXXX")
here=$(dirname "$0")
for w in 1 2 3 4; do
	bash "$here/writer.sh" "$log" "$w" "$dir" 2>/dev/null &
	echo $! > "$dir/loop.$w"
done
kills=0
end=$((SECONDS + 60))
while [ $SECONDS -lt $end ]; do
	sleep "0.0$((RANDOM % 9 + 1))"
	w=$((RANDOM % 4 + 1))
	p=$(cat "$dir/pid.$w" 2>/dev/null)
	[ -n "$p" ] && kill -9 "$p" 2>/dev/null && kills=$((kills + 1))
	if [ $kills -ge 40 ] && [ "$(cat "$dir"/ok.* 2>/dev/null | wc -l)" -ge 100 ]; then
		break
	fi
done
for w in 1 2 3 4; do
	kill "$(cat "$dir/loop.$w")" 2>/dev/null
done
wait 2>/dev/null
# A writer's last apcore may still be finishing (its loop is gone).
sleep 0.3
apcore-audit verify --repair --file "$log" --key vk > "$dir/verify.out" 2>&1
echo "verify $?"
missing=0
for w in 1 2 3 4; do
	[ -f "$dir/ok.$w" ] || continue
	grep -o "\"module_id\": \"kill.$w\", .*\"duration_ms\": [0-9]*," "$log" |
		sed 's/.*"duration_ms": \([0-9]*\),/\1/' | sort > "$dir/have.$w"
	sort "$dir/ok.$w" > "$dir/want.$w"
	missing=$((missing + $(comm -23 "$dir/want.$w" "$dir/have.$w" | wc -l)))
done
echo "missing $missing"
[ $kills -ge 40 ] && [ "$(cat "$dir"/ok.* 2>/dev/null | wc -l)" -ge 100 ] && echo busy
rm -rf "$dir"

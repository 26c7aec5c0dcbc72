#!/bin/sh
# Launch cost of apcore-sandbox -- /bin/true against bare /bin/true and the
# peers users compare us with, all measured in this run.
. "$(dirname "$0")/lib.sh"

ours=$(median_ms "$APCORE sandbox -- /bin/true")
row "sandbox: launch /bin/true" "$ours" "bare /bin/true" "$(median_ms /bin/true)" ms
bw="bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc"
if command -v bwrap >/dev/null; then
	row "sandbox: launch /bin/true" "$ours" "$bw" "$(median_ms "$bw /bin/true")" ms
fi
if command -v firejail >/dev/null; then
	row "sandbox: launch /bin/true" "$ours" "firejail --quiet --noprofile" \
		"$(RUNS=50 median_ms "firejail --quiet --noprofile /bin/true")" ms
fi
row "sandbox: launch /bin/true" "$ours" "unshare -Urnpf" "$(median_ms "unshare -Urnpf /bin/true")" ms
row "sandbox: launch /bin/true" "$ours" "unshare -Urmnpfiu --mount-proc" \
	"$(median_ms "unshare -Urmnpfiu --mount-proc /bin/true")" ms

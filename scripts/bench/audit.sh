#!/bin/sh
# apcore-audit: appends per second for `log` (one process per record, as
# shells use it) and for `log --stream` (one process), under each sync
# policy, against the reference's AuditLogger (scripts/bench/refaudit.py);
# and verify throughput against sha256sum of the same file, same run.
. "$(dirname "$0")/lib.sh"

D=$BENCH_TMP/audit
mkdir -p "$D"
LOG=$D/audit.jsonl
apcore-audit init --file "$LOG" --key-out "$D/vk" 2>/dev/null || { echo "bench audit: init failed" >&2; exit 1; }
REC="--module bench.op --status success --exit-code 0 --duration-ms 3"

# rate N MS: N per MS milliseconds as a per-second figure
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { if (ms == "NA" || ms <= 0) print "NA"; else printf "%.0f", n * 1000 / ms }'; }

# One process per record.  Peer: the reference's AuditLogger (refaudit.py,
# Python, the same record bytes without lock, chain, MAC or fsync).
REF=$(dirname "$0")/refaudit.py
PY=/usr/bin/python3
ref_ms=NA
[ -x $PY ] && ref_ms=$(median_ms "$PY $REF log $D/ref.jsonl bench.op success 0 3")
for s in always batch none; do
	ms=$(median_ms "apcore-audit log --file $LOG $REC --sync $s")
	row "audit: log, 1 process/record, sync $s" "$(rate 1 "$ms")" "reference AuditLogger (no fsync)" "$(rate 1 "$ref_ms")" "rec/s" 0
done

# Streaming: N records from JSONL on stdin in one process.  Peer: the
# reference logging the same records in one Python process.
N=20000
awk -v n=$N 'BEGIN { for (i = 1; i <= n; i++)
	printf "{\"module_id\": \"bench.op\", \"status\": \"success\", \"exit_code\": 0, \"duration_ms\": %d, \"input\": {\"a\": %d, \"b\": [1, 2.5, \"x\"]}}\n", i, i }' > "$D/stream.in"
refs_ms=NA
[ -x $PY ] && refs_ms=$(RUNS=3 WARMUP=0 median_ms "sh -c '$PY $REF stream $D/ref-stream.jsonl < $D/stream.in'")
for s in batch none always; do
	n=$N
	in=$D/stream.in
	if [ "$s" = always ]; then
		n=2000
		head -n $n "$D/stream.in" > "$D/stream-always.in"
		in=$D/stream-always.in
	fi
	ms=$(RUNS=5 WARMUP=1 median_ms "sh -c 'apcore-audit log --stream --file $LOG --sync $s < $in'")
	row "audit: log --stream, sync $s" "$(rate $n "$ms")" "reference AuditLogger loop (no fsync)" "$(rate $N "$refs_ms")" "rec/s" 0
done

# Verify throughput on a sealed log of about 100 MB.
VLOG=$D/verify.jsonl
apcore-audit init --file "$VLOG" --key-out "$D/vk2" 2>/dev/null
awk -v n=200000 'BEGIN { for (i = 1; i <= n; i++)
	printf "{\"module_id\": \"bench.op\", \"status\": \"success\", \"exit_code\": 0, \"duration_ms\": %d}\n", i }' |
	apcore-audit log --stream --sync none --file "$VLOG"
apcore-audit seal --file "$VLOG" >/dev/null
size=$(stat -c %s "$VLOG")
v_ms=$(RUNS=5 WARMUP=1 median_ms "apcore-audit verify --file $VLOG --key $D/vk2")
s_ms=$(RUNS=5 WARMUP=1 median_ms "sha256sum $VLOG")
mbs() { awk -v b="$size" -v ms="$1" 'BEGIN { if (ms == "NA" || ms <= 0) print "NA"; else printf "%.1f", b / 1e6 * 1000 / ms }'; }
row "audit: verify --key ($((size / 1000000)) MB, 200k records)" "$(mbs "$v_ms")" "sha256sum (same file)" "$(mbs "$s_ms")" "MB/s" 0

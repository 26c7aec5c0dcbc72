#!/bin/sh
# apcore-auth check: policy decisions per second, one process per call
# (hyperfine median) and through one --batch process.  There is no OPA or
# Casbin packaged here, so the peer for a single call is the process floor:
# /bin/true started the same way, doing nothing.  For --batch the peer is
# our own one-process-per-call rate.
. "$(dirname "$0")/lib.sh"
src=$(cd "$(dirname "$0")/../.." && pwd)
pol=$BENCH_TMP/policy.yaml
cp "$src/tests/files/policy/example.yaml" "$pol"
now=2026-01-15T00:00:00Z
N=${POLICY_BATCH_N:-100000}

# A bigger policy: 1000 roles in an inheritance forest, 50000 subjects.
big=$BENCH_TMP/big.yaml
awk 'BEGIN {
	srand(1); print "version: 1"; print "roles:"
	for (i = 0; i < 1000; i++) {
		print "  r" i ":"
		if (i) print "    inherits: [r" int(rand() * i) "]"
		print "    allow:"
		print "      - actions: [read, \"list:*\"]"
		print "        resources: [\"proj" i "/**\", \"shared/" i "/*\"]"
		if (i % 10 == 0) {
			print "    deny:"
			print "      - actions: [delete]"
			print "        resources: [\"proj" i "/locked/**\"]"
		}
	}
	print "subjects:"
	for (j = 0; j < 50000; j++) print "  user" j ": [r" (j % 1000) "]"
}' > "$big"

# N requests over a mix of subjects, actions and resources.
req=$BENCH_TMP/requests.jsonl
awk -v n="$N" 'BEGIN {
	split("alice bob cn:build-bot mallory", s, " ")
	split("read write list delete", a, " ")
	split("docs/a wiki/x/y audit/2026 frozen/z docs/a/b", r, " ")
	for (i = 0; i < n; i++)
		printf "{\"subject\":\"%s\",\"action\":\"%s\",\"resource\":\"%s\",\"attrs\":{\"env\":\"prod\",\"team\":\"core\"}}\n",
			s[i % 4 + 1], a[int(i / 4) % 4 + 1], r[int(i / 16) % 5 + 1]
}' > "$req"

one=$(median_ms "$APCORE auth check --policy $pol --subject alice --action read --resource docs/a --now $now")
onebig=$(RUNS=30 WARMUP=3 median_ms "$APCORE auth check --policy $big --subject user999 --action read --resource proj0/x --now $now")
floor=$(median_ms "/bin/true")

# --batch: median wall time of a few runs through sh (for the redirections).
hyperfine --style none --warmup 1 --runs "${BATCH_RUNS:-5}" --export-csv "$BENCH_TMP/b.csv" \
	"$APCORE auth check --policy $pol --batch --now $now < $req > /dev/null" >/dev/null 2>&1 &&
	batch_ms=$(awk -F, 'NR == 2 { printf "%.3f", $4 * 1000 }' "$BENCH_TMP/b.csv") || batch_ms=NA

rate() { awk -v n="$1" -v ms="$2" 'BEGIN { if (ms == "NA" || ms == 0) print "NA"; else printf "%.0f", n * 1000 / ms }'; }

row "auth-policy: check, one process per call" "$one" "/bin/true per call (process floor)" "$floor" ms 1
row "auth-policy: check, 1.1 MB policy (50k subjects)" "$onebig" "/bin/true per call (process floor)" "$floor" ms 1
row "auth-policy: decisions/s, one process per call" "$(rate 1 "$one")" \
	"/bin/true per call (process floor)" "$(rate 1 "$floor")" dec/s 0
row "auth-policy: decisions/s, --batch $N requests" "$(rate "$N" "$batch_ms")" \
	"apcore check, one process per call" "$(rate 1 "$one")" dec/s 0

#!/bin/sh
# apcore-auth API keys and rate limits.  No packaged program verifies
# apcore keys or runs GCRA, so the peers are what a call cannot go below:
#   verify, one process per call  vs  /bin/true (the process floor),
#                                     apcore auth status 200 (apcore's own
#                                     floor: the binary starting, no work) and
#                                     openssl dgst -sha256 -mac HMAC (a process
#                                     doing just the one HMAC verify does)
#   verify --batch (keys/s)       vs  apcore verify, one process per call
#   limit, local state file       vs  /bin/true
#   limit --redis                 vs  redis-cli EVALSHA of the same script (a
#                                     process doing the same server round trip)
# verify reads the key from stdin, so it and its peers run as
# sh -c 'CMD < keyfile' (all three pay the same shell); the rest start
# directly (hyperfine -N), as does their /bin/true floor.
. "$(dirname "$0")/lib.sh"
src=$(cd "$(dirname "$0")/../.." && pwd)
S=$BENCH_TMP/keys.json
K=$BENCH_TMP/key
N=${KEYS_BATCH_N:-100000}

# A store of 200 keys; verify the last one.
for i in $(seq 200); do
	"$APCORE" auth keygen --store "$S" --pepper file --scope "read:*,write:r$i" --name "k$i" \
		> "$K" 2>/dev/null
	cat "$K" >> "$BENCH_TMP/all"
done
pepper=$(sed 's/^apcore-auth-pepper:v1://' "$S.pepper")

# median_sh_ms CMD: median wall time in ms of sh -c CMD
median_sh_ms()
{
	median_ms "sh -c '$1'"
}
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { if (ms == "NA" || ms == 0) print "NA"; else printf "%.0f", n * 1000 / ms }'; }

one=$(median_sh_ms "$APCORE auth verify --store $S < $K > /dev/null")
shfloor=$(median_sh_ms "/bin/true < $K")
apfloor=$(median_sh_ms "$APCORE auth status 200 < $K")
hmac=$(median_sh_ms "openssl dgst -sha256 -mac HMAC -macopt hexkey:$pepper < $K > /dev/null")
floor=$(median_ms "/bin/true")

# --batch: N lines cycling through the 200 keys (every lookup a different
# id), every 10th with a typo (rejected by the checksum).
awk -v n="$N" '{ k[c++] = $0 } END { for (i = 0; i < n; i++) { s = k[i % c]; if (i % 10 == 9) s = substr(s, 1, 30) (substr(s, 31, 1) == "a" ? "b" : "a") substr(s, 32); print s } }' \
	"$BENCH_TMP/all" > "$BENCH_TMP/batch"
hyperfine -i --style none --warmup 1 --runs "${BATCH_RUNS:-5}" --export-csv "$BENCH_TMP/b.csv" \
	"$APCORE auth verify --store $S --batch < $BENCH_TMP/batch > /dev/null" >/dev/null 2>&1 &&
	batch_ms=$(awk -F, 'NR == 2 { printf "%.3f", $4 * 1000 }' "$BENCH_TMP/b.csv") || batch_ms=NA

row "auth-keys: verify, sh -c per call" "$one" "/bin/true, sh -c per call (floor)" "$shfloor" ms 1
row "auth-keys: verify, sh -c per call" "$one" "apcore auth status 200 (apcore's floor)" "$apfloor" ms 1
row "auth-keys: verify, sh -c per call" "$one" "openssl dgst HMAC-SHA256, sh -c per call" "$hmac" ms 1
row "auth-keys: verify decisions/s, sh -c per call" "$(rate 1 "$one")" \
	"/bin/true, sh -c per call (floor)" "$(rate 1 "$shfloor")" dec/s 0
row "auth-keys: verify --batch, keys/s ($N keys)" "$(rate "$N" "$batch_ms")" \
	"apcore verify, sh -c per call" "$(rate 1 "$one")" keys/s 0

# limit: every call allowed (so every call writes the state file, fsync
# included), and a limited call (read only).
st=$BENCH_TMP/rl.json
allowed=$(median_ms "$APCORE auth limit bench --rate 1000000/s --state $st")
"$APCORE" auth limit full --rate 1/hour --state "$st" >/dev/null 2>&1
limited=$(hyperfine -N -i --style none --warmup 20 --runs "${RUNS:-200}" --export-csv "$BENCH_TMP/l.csv" \
	"$APCORE auth limit full --rate 1/hour --state $st" >/dev/null 2>&1 &&
	awk -F, 'NR == 2 { printf "%.3f", $4 * 1000 }' "$BENCH_TMP/l.csv" || echo NA)
row "auth-keys: limit, local state, allowed (writes)" "$allowed" "/bin/true per call (process floor)" "$floor" ms 1
row "auth-keys: limit, local state, limited (reads)" "$limited" "/bin/true per call (process floor)" "$floor" ms 1

if command -v redis-server >/dev/null && command -v redis-cli >/dev/null &&
	! "$APCORE" auth limit k --rate 1/s --redis redis://127.0.0.1:1 2>&1 | grep -q 'built without'; then
	sock=$BENCH_TMP/redis.sock
	redis-server --port 0 --unixsocket "$sock" --save '' --appendonly no --daemonize no \
		> "$BENCH_TMP/redis.log" 2>&1 &
	rpid=$!
	for i in $(seq 100); do
		[ "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG ] && break
		sleep 0.05
	done
	sha=$(sed -n 's/^#define GCRA_SHA1 "\([0-9a-f]*\)"/\1/p' "$src/applets/auth/limit.c")
	"$APCORE" auth limit warm --rate 1/s --redis "unix:$sock" >/dev/null 2>&1
	ours=$(median_ms "$APCORE auth limit bench --rate 1000000/s --redis unix:$sock")
	cli=$(median_ms "redis-cli -s $sock EVALSHA $sha 1 apcore:rl:cli 1 1")
	row "auth-keys: limit --redis (unix socket)" "$ours" "redis-cli EVALSHA per call" "$cli" ms 1
	kill -TERM "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
fi

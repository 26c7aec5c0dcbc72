#!/bin/sh
# apcore-encrypt: decrypting one enc:v2 value (PBKDF2-SHA256 600k + AES-GCM)
# against the reference's derivation (python3-cryptography, refcrypt.py)
# and `openssl kdf` doing only the PBKDF2, all on this host.
. "$(dirname "$0")/lib.sh"
export USER="${USER:-root}"
unset APCORE_CLI_CONFIG_PASSPHRASE
ref=$(dirname "$0")/refcrypt.py
tok=$(printf 'sk-live-0123456789' | "$APCORE" encrypt store --backend file auth.api_key 2>/dev/null)

RUNS=${ENC_RUNS:-10} WARMUP=2
ours=$(RUNS=$RUNS WARMUP=2 median_ms "$APCORE encrypt retrieve auth.api_key $tok")
py=$(RUNS=$RUNS WARMUP=2 median_ms "/usr/bin/python3 $ref retrieve auth.api_key $tok")
ossl=$(RUNS=$RUNS WARMUP=2 median_ms "openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt pass:host:user -kdfopt salt:0123456789abcdef -kdfopt iter:600000 PBKDF2")
row "encrypt: retrieve enc:v2 (one process)" "$ours" "python3 reference (refcrypt.py)" "$py" ms
row "encrypt: retrieve enc:v2 (one process)" "$ours" "openssl kdf PBKDF2 600k only" "$ossl" ms

# Many values: get of 8 keys in one process vs 8 reference retrieves.
cfg=$BENCH_TMP/apcore.yaml
: > "$cfg"
for i in 1 2 3 4 5 6 7 8; do
	printf 'v%s: %s\n' "$i" "$(printf "secret-$i" | "$APCORE" encrypt store --backend file k 2>/dev/null)" >> "$cfg"
done
keys="v1 v2 v3 v4 v5 v6 v7 v8"
many=$(RUNS=3 WARMUP=1 median_ms "$APCORE encrypt get -c $cfg $keys")
pymany=$(RUNS=3 WARMUP=1 median_ms "sh -c 'for k in $keys; do /usr/bin/python3 $ref retrieve \$k \$(sed -n \"s/^\$k: //p\" $cfg); done'")
row "encrypt: get 8 enc:v2 values" "$many" "8 reference retrieves" "$pymany" ms

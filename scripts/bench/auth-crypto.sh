#!/bin/sh
# apcore-auth public-key commands, one process per call, against peers on
# the same key and input: JWT verify (HS256, ES256) against PyJWT, ECDSA
# P-256 sign/verify against `openssl dgst -sha256 -sign/-verify`, and SSHSIG
# sign/verify against `ssh-keygen -Y`.  hyperfine 1.15 cannot feed stdin,
# so every command runs under `sh -c` on both sides.
. "$(dirname "$0")/lib.sh"
cd "$BENCH_TMP" || exit 1

head -c 32 /dev/urandom > hs.key && chmod 600 hs.key
"$APCORE" auth sign --keygen --key es.key > es.line
openssl ec -in es.key -pubout -out es.pub 2>/dev/null
cp es.line es.key.pub
"$APCORE" auth jwt sign --alg HS256 --key hs.key --exp 1h --sub bench > hs.tok
"$APCORE" auth jwt sign --alg ES256 --key es.key --exp 1h --sub bench > es.tok
head -c 4096 /dev/urandom > msg
echo "bench $(cat es.line)" > allowed

verify="$APCORE auth jwt verify"
# The floor: starting apcore at all (it links mbedTLS, cJSON, libsecret...).
floor=$(median_ms "sh -c '$APCORE --version < hs.tok > /dev/null'")
row "auth: jwt verify HS256" "$(median_ms "sh -c '$verify --alg HS256 --key hs.key < hs.tok'")" \
	"apcore --version (startup floor)" "$floor" ms
row "auth: jwt verify ES256" "$(median_ms "sh -c '$verify --alg ES256 --key es.pub < es.tok'")" \
	"apcore --version (startup floor)" "$floor" ms
if /usr/bin/python3 -c 'import jwt, cryptography' 2>/dev/null; then
	cat > pyjwt.py <<'EOF'
import sys, jwt
alg, key = sys.argv[1], open(sys.argv[2], "rb").read()
jwt.decode(sys.stdin.read().strip(), key, algorithms=[alg])
EOF
	RUNS=${PY_RUNS:-40}
	row "auth: jwt verify HS256" "$(median_ms "sh -c '$verify --alg HS256 --key hs.key < hs.tok'")" \
		"PyJWT 2 (python3 process)" "$(RUNS=$RUNS median_ms "sh -c '/usr/bin/python3 pyjwt.py HS256 hs.key < hs.tok'")" ms
	row "auth: jwt verify ES256" "$(median_ms "sh -c '$verify --alg ES256 --key es.pub < es.tok'")" \
		"PyJWT 2 (python3 process)" "$(RUNS=$RUNS median_ms "sh -c '/usr/bin/python3 pyjwt.py ES256 es.pub < es.tok'")" ms
fi

openssl dgst -sha256 -sign es.key -out msg.der msg
row "auth: ECDSA P-256 sign 4 KiB (SSHSIG)" "$(median_ms "sh -c '$APCORE auth sign --key es.key -n file msg > msg.sig'")" \
	"openssl dgst -sha256 -sign" "$(median_ms "sh -c 'openssl dgst -sha256 -sign es.key -out msg.der msg'")" ms
"$APCORE" auth sign --key es.key -n file msg > msg.sig
row "auth: ECDSA P-256 verify 4 KiB (SSHSIG)" \
	"$(median_ms "sh -c '$APCORE auth verify --signature msg.sig -f allowed -I bench -n file -q msg'")" \
	"openssl dgst -sha256 -verify" "$(median_ms "sh -c 'openssl dgst -sha256 -verify es.pub -signature msg.der msg > /dev/null'")" ms
if command -v ssh-keygen >/dev/null; then
	row "auth: SSHSIG sign 4 KiB" "$(median_ms "sh -c '$APCORE auth sign --key es.key -n file msg > msg.sig'")" \
		"ssh-keygen -Y sign" "$(median_ms "sh -c 'ssh-keygen -q -Y sign -f es.key -n file < msg > ssh.sig 2>/dev/null'")" ms
	row "auth: SSHSIG verify 4 KiB" \
		"$(median_ms "sh -c '$APCORE auth verify --signature msg.sig -f allowed -I bench -n file -q msg'")" \
		"ssh-keygen -Y verify" \
		"$(median_ms "sh -c 'ssh-keygen -Y verify -f allowed -I bench -n file -s msg.sig < msg > /dev/null 2>&1'")" ms
fi

/* fuzz_jwt.c - libFuzzer target for JWT verification (libcommon/jwt.c):
 * structure, strict base64url, header and claims JSON (duplicates, crit,
 * alg), signatures, time, issuer and audience checks, under fixed keys.
 *
 * The first input byte picks the mode:
 *   even  the rest is a token, verified as HS256 and as ES256
 *   odd   the rest is "HEADER\nCLAIMS": both are base64url-encoded and
 *         HMAC-signed here with the fixed secret, so the checks behind the
 *         signature (claims, times, iss/aud) see arbitrary JSON too; the
 *         claims also go through jwt_sign.
 * Bits 1-2 of that byte choose whether --iss / --aud are required. */

#include "libcommon.h"

#include <stdlib.h>
#include <string.h>

static struct jwt_key *hs, *hs_sign, *es;
static const uint8_t secret[32] = "fuzz-secret-0123456789abcdef-xyz";

static void setup(void)
{
	char why[256];
	hs = jwt_key_new(JWT_HS256, 0, secret, sizeof(secret), why, sizeof(why));
	hs_sign = jwt_key_new(JWT_HS256, 1, secret, sizeof(secret), why, sizeof(why));
	/* RFC 7515 A.3's public key */
	static const char pem[] =
		"-----BEGIN PUBLIC KEY-----\n"
		"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV7\n"
		"6e8Tus9uPHvRVEXH8UTNG72bfocs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==\n"
		"-----END PUBLIC KEY-----\n";
	es = jwt_key_new(JWT_ES256, 0, pem, strlen(pem), why, sizeof(why));
	if (!hs || !hs_sign || !es)
		abort();
}

static void check(enum jwt_alg alg, const struct jwt_key *k, const char *tok, size_t len,
                  unsigned flags)
{
	struct jwt_verify_opts o = {
		.alg = alg, .key = k, .now = 1700000000, .leeway = JWT_LEEWAY_DEFAULT,
		.iss = (flags & 2) ? "issuer" : NULL, .aud = (flags & 4) ? "api" : NULL,
	};
	struct strbuf claims = STRBUF_INIT;
	char why[256];
	enum jwt_status st = jwt_verify(&o, tok, len, &claims, why, sizeof(why));
	/* Claims come back only on success, and then as a JSON object. */
	if (st == JWT_OK ? (claims.len < 2 || claims.buf[0] != '{') : claims.len != 0)
		abort();
	if (st != JWT_OK && !why[0])
		abort();
	sb_free(&claims);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!hs)
		setup();
	if (size < 1 || size > JWT_MAX_LEN)
		return 0;
	unsigned flags = data[0];
	const char *in = (const char *)data + 1;
	size_t n = size - 1;

	if (!(flags & 1)) {
		check(JWT_HS256, hs, in, n, flags);
		check(JWT_ES256, es, in, n, flags);
		return 0;
	}

	const char *nl = memchr(in, '\n', n);
	size_t hlen = nl ? (size_t)(nl - in) : n;
	const char *claims = nl ? nl + 1 : "";
	size_t clen = nl ? n - hlen - 1 : 0;
	char *h64 = crypto_b64url_encode(in, hlen);
	char *c64 = crypto_b64url_encode(claims, clen);
	struct strbuf t = STRBUF_INIT;
	sb_printf(&t, "%s.%s", h64, c64);
	uint8_t mac[SHA256_LEN];
	crypto_hmac_sha256(secret, sizeof(secret), t.buf, t.len, mac);
	char *m64 = crypto_b64url_encode(mac, sizeof(mac));
	sb_printf(&t, ".%s", m64);
	check(JWT_HS256, hs, t.buf, t.len, flags);

	char why[256];
	char *tok = jwt_sign(JWT_HS256, hs_sign, claims, clen, why, sizeof(why));
	if (tok) {
		/* What we sign must parse back; its claims are canonical JSON. */
		struct jwt_verify_opts o = { .alg = JWT_HS256, .key = hs, .now = 0, .leeway = 0 };
		struct strbuf out = STRBUF_INIT;
		enum jwt_status st = jwt_verify(&o, tok, strlen(tok), &out, why, sizeof(why));
		if (st == JWT_BAD_SIGNATURE || st == JWT_BAD_ALG || st == JWT_UNSUPPORTED)
			abort();
		sb_free(&out);
		free(tok);
	}
	free(h64);
	free(c64);
	free(m64);
	sb_free(&t);
	return 0;
}

/* test_jwt.c - jwt.c: the RFC 7515 A.1 (HS256) and A.3 (ES256) examples,
 * round trips, and a must-fail case for every check: pinned algorithm,
 * alg none, crit, strict base64url, duplicate keys, signature, the time
 * claims at their exact leeway boundaries, issuer and audience. */

#include "unit.h"

static const char a1_token[] =
	"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
	".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
	".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const char a1_k[] =
	"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
static const char a3_token[] =
	"eyJhbGciOiJFUzI1NiJ9"
	".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
	".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
static const char a_claims[] = "{\"exp\":1300819380,\"http://example.com/is_root\":true,\"iss\":\"joe\"}";
#define A_EXP 1300819380

static struct jwt_key *hs_key(const char *b64url)
{
	uint8_t *k;
	size_t n;
	char why[256];
	CHECK(crypto_b64url_decode(b64url, strlen(b64url), &k, &n) == 0);
	struct jwt_key *key = jwt_key_new(JWT_HS256, 0, k, n, why, sizeof(why));
	if (!CHECK(key != NULL))
		printf("#   %s\n", why);
	free(k);
	return key;
}

/* The RFC 7515 A.3 public key as PEM-less crypto key, wrapped for ES256. */
static struct jwt_key *a3_key(void)
{
	struct crypto_pk *pk;
	uint8_t *x, *y, q[EC_P256_POINT_LEN];
	size_t n;
	CHECK(crypto_b64url_decode("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", 43, &x, &n) == 0);
	CHECK(crypto_b64url_decode("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", 43, &y, &n) == 0);
	q[0] = 4;
	memcpy(q + 1, x, 32);
	memcpy(q + 33, y, 32);
	free(x);
	free(y);
	CHECK(crypto_pk_from_point(q, sizeof(q), &pk) == 0);
	char *pem = crypto_pk_public_pem(pk);
	crypto_pk_free(pk);
	char why[256];
	struct jwt_key *k = jwt_key_new(JWT_ES256, 0, pem, strlen(pem), why, sizeof(why));
	CHECK(k != NULL);
	free(pem);
	return k;
}

static enum jwt_status verify(enum jwt_alg alg, const struct jwt_key *k, const char *tok,
                              int64_t now, int leeway, const char *iss, const char *aud,
                              struct strbuf *claims, char *why)
{
	struct jwt_verify_opts o = { .alg = alg, .key = k, .iss = iss, .aud = aud, .now = now,
	                             .leeway = leeway };
	return jwt_verify(&o, tok, strlen(tok), claims, why, 256);
}

TEST(rfc7515_a1_hs256)
{
	struct jwt_key *k = hs_key(a1_k);
	struct strbuf c = STRBUF_INIT;
	char why[256];
	CHECK_INT(verify(JWT_HS256, k, a1_token, A_EXP - 100, 0, "joe", NULL, &c, why), JWT_OK);
	CHECK_STR(c.buf, a_claims);
	CHECK_INT(verify(JWT_HS256, k, a1_token, A_EXP, 0, NULL, NULL, NULL, why), JWT_EXPIRED);
	CHECK_STR(why, "expired at 2011-03-22T18:43:00Z (leeway 0 s)");
	/* the same token must fail under ES256 and with one bit of the tag flipped */
	CHECK_INT(verify(JWT_ES256, k, a1_token, A_EXP - 100, 0, NULL, NULL, NULL, why),
	          JWT_MALFORMED);   /* key/alg mismatch is refused outright */
	char *t = xstrdup(a1_token);
	t[strlen(t) - 3] ^= 0x01;   /* 'j' -> 'k': a data character */
	CHECK_INT(verify(JWT_HS256, k, t, A_EXP - 100, 0, NULL, NULL, NULL, why), JWT_BAD_SIGNATURE);
	free(t);
	sb_free(&c);
	jwt_key_free(k);
}

TEST(rfc7515_a3_es256)
{
	struct jwt_key *k = a3_key();
	struct strbuf c = STRBUF_INIT;
	char why[256];
	CHECK_INT(verify(JWT_ES256, k, a3_token, A_EXP - 100, 0, NULL, NULL, &c, why), JWT_OK);
	CHECK_STR(c.buf, a_claims);
	CHECK_INT(verify(JWT_ES256, k, a3_token, A_EXP + 61, 60, NULL, NULL, NULL, why), JWT_EXPIRED);
	/* the HS256 example under the ES256 key: wrong algorithm */
	CHECK_INT(verify(JWT_ES256, k, a1_token, A_EXP - 100, 0, NULL, NULL, NULL, why), JWT_BAD_ALG);
	CHECK_STR(why, "the token's alg is 'HS256', expected ES256");
	sb_free(&c);
	jwt_key_free(k);
}

/* An HS256 token over arbitrary header and claims, signed correctly. */
static char *mint(const struct jwt_key *unused, const uint8_t *key, size_t keylen,
                  const char *header, const char *claims)
{
	(void)unused;
	struct strbuf t = STRBUF_INIT;
	char *h = crypto_b64url_encode(header, strlen(header));
	char *p = crypto_b64url_encode(claims, strlen(claims));
	sb_printf(&t, "%s.%s", h, p);
	uint8_t mac[SHA256_LEN];
	crypto_hmac_sha256(key, keylen, t.buf, t.len, mac);
	char *s = crypto_b64url_encode(mac, sizeof(mac));
	sb_printf(&t, ".%s", s);
	free(h);
	free(p);
	free(s);
	return sb_detach(&t, NULL);
}

static const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";

static enum jwt_status check(const char *header, const char *claims, int64_t now, int leeway,
                             const char *iss, const char *aud, char *why)
{
	char w[256];
	struct jwt_key *k = jwt_key_new(JWT_HS256, 0, secret, sizeof(secret), w, sizeof(w));
	char *t = mint(k, secret, sizeof(secret), header, claims);
	enum jwt_status st = verify(JWT_HS256, k, t, now, leeway, iss, aud, NULL, why);
	free(t);
	jwt_key_free(k);
	return st;
}

#define H "{\"alg\":\"HS256\"}"

TEST(header_checks)
{
	char why[256];
	CHECK_INT(check(H, "{\"exp\":2000}", 1000, 0, NULL, NULL, why), JWT_OK);
	CHECK_INT(check("{\"alg\":\"none\"}", "{\"exp\":2000}", 1000, 0, NULL, NULL, why), JWT_BAD_ALG);
	CHECK_STR(why, "unsigned token (alg none) refused");
	CHECK_INT(check("{\"alg\":\"HS512\"}", "{\"exp\":2000}", 1000, 0, NULL, NULL, why), JWT_BAD_ALG);
	CHECK_INT(check("{\"alg\":\"hs256\"}", "{\"exp\":2000}", 1000, 0, NULL, NULL, why), JWT_BAD_ALG);
	CHECK_INT(check("{\"alg\":[\"HS256\"]}", "{\"exp\":2000}", 1000, 0, NULL, NULL, why), JWT_MALFORMED);
	CHECK_INT(check("{}", "{\"exp\":2000}", 1000, 0, NULL, NULL, why), JWT_MALFORMED);
	CHECK_INT(check("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", "{\"exp\":2000}", 1000, 0,
	                NULL, NULL, why), JWT_UNSUPPORTED);
	CHECK_INT(check("{\"alg\":\"none\",\"alg\":\"HS256\"}", "{\"exp\":2000}", 1000, 0, NULL, NULL, why),
	          JWT_MALFORMED);
	CHECK_INT(check("[]", "{\"exp\":2000}", 1000, 0, NULL, NULL, why), JWT_MALFORMED);
	CHECK_INT(check("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"x\"}", "{\"exp\":2000}", 1000, 0,
	                NULL, NULL, why), JWT_OK);
}

TEST(claims_checks)
{
	char why[256];
	CHECK_INT(check(H, "{\"exp\":2000,\"exp\":3000}", 1000, 0, NULL, NULL, why), JWT_MALFORMED);
	CHECK_INT(check(H, "{\"sub\":\"a\"}", 1000, 0, NULL, NULL, why), JWT_MALFORMED);
	CHECK_INT(check(H, "{\"exp\":\"2000\"}", 1000, 0, NULL, NULL, why), JWT_MALFORMED);
	CHECK_INT(check(H, "{\"exp\":-5}", 1000, 0, NULL, NULL, why), JWT_MALFORMED);
	CHECK_INT(check(H, "{\"exp\":2000,\"nbf\":null}", 1000, 0, NULL, NULL, why), JWT_MALFORMED);
	CHECK_INT(check(H, "[1]", 1000, 0, NULL, NULL, why), JWT_MALFORMED);
	CHECK_INT(check(H, "{\"exp\":2000", 1000, 0, NULL, NULL, why), JWT_MALFORMED);
	CHECK_INT(check(H, "{\"exp\":2000,\"x\":\"\xff\"}", 1000, 0, NULL, NULL, why), JWT_MALFORMED);
}

TEST(time_boundaries)
{
	char why[256];
	/* exp: valid while now < exp + leeway */
	CHECK_INT(check(H, "{\"exp\":1000}", 999, 0, NULL, NULL, why), JWT_OK);
	CHECK_INT(check(H, "{\"exp\":1000}", 1000, 0, NULL, NULL, why), JWT_EXPIRED);
	CHECK_INT(check(H, "{\"exp\":1000}", 1059, 60, NULL, NULL, why), JWT_OK);
	CHECK_INT(check(H, "{\"exp\":1000}", 1060, 60, NULL, NULL, why), JWT_EXPIRED);
	CHECK_INT(check(H, "{\"exp\":1000.5}", 1000, 0, NULL, NULL, why), JWT_OK);
	/* nbf: valid once now + leeway >= nbf */
	CHECK_INT(check(H, "{\"exp\":9000,\"nbf\":1000}", 1000, 0, NULL, NULL, why), JWT_OK);
	CHECK_INT(check(H, "{\"exp\":9000,\"nbf\":1000}", 999, 0, NULL, NULL, why), JWT_NOT_YET_VALID);
	CHECK_INT(check(H, "{\"exp\":9000,\"nbf\":1000}", 940, 60, NULL, NULL, why), JWT_OK);
	CHECK_INT(check(H, "{\"exp\":9000,\"nbf\":1000}", 939, 60, NULL, NULL, why), JWT_NOT_YET_VALID);
	/* iat in the future */
	CHECK_INT(check(H, "{\"exp\":9000,\"iat\":1100}", 1000, 60, NULL, NULL, why), JWT_NOT_YET_VALID);
	CHECK_INT(check(H, "{\"exp\":9000,\"iat\":1060}", 1000, 60, NULL, NULL, why), JWT_OK);
	/* the leeway itself is bounded */
	CHECK_INT(check(H, "{\"exp\":1000}", 999, JWT_LEEWAY_MAX + 1, NULL, NULL, why), JWT_MALFORMED);
	CHECK_INT(check(H, "{\"exp\":1000}", 999, -1, NULL, NULL, why), JWT_MALFORMED);
}

TEST(issuer_audience)
{
	char why[256];
	CHECK_INT(check(H, "{\"exp\":2000,\"iss\":\"a\"}", 1000, 0, "a", NULL, why), JWT_OK);
	CHECK_INT(check(H, "{\"exp\":2000,\"iss\":\"a\"}", 1000, 0, "b", NULL, why), JWT_BAD_ISSUER);
	CHECK_INT(check(H, "{\"exp\":2000}", 1000, 0, "a", NULL, why), JWT_BAD_ISSUER);
	CHECK_INT(check(H, "{\"exp\":2000,\"iss\":7}", 1000, 0, NULL, NULL, why), JWT_MALFORMED);
	CHECK_INT(check(H, "{\"exp\":2000,\"aud\":\"x\"}", 1000, 0, NULL, "x", why), JWT_OK);
	CHECK_INT(check(H, "{\"exp\":2000,\"aud\":[\"y\",\"x\"]}", 1000, 0, NULL, "x", why), JWT_OK);
	CHECK_INT(check(H, "{\"exp\":2000,\"aud\":[\"y\"]}", 1000, 0, NULL, "x", why), JWT_BAD_AUDIENCE);
	CHECK_INT(check(H, "{\"exp\":2000,\"aud\":[]}", 1000, 0, NULL, "x", why), JWT_BAD_AUDIENCE);
	CHECK_INT(check(H, "{\"exp\":2000,\"aud\":\"x\"}", 1000, 0, NULL, NULL, why), JWT_BAD_AUDIENCE);
	CHECK_INT(check(H, "{\"exp\":2000}", 1000, 0, NULL, "x", why), JWT_BAD_AUDIENCE);
	CHECK_INT(check(H, "{\"exp\":2000,\"aud\":{\"x\":1}}", 1000, 0, NULL, "x", why), JWT_MALFORMED);
	CHECK_INT(check(H, "{\"exp\":2000,\"aud\":\"X\"}", 1000, 0, NULL, "x", why), JWT_BAD_AUDIENCE);
}

TEST(structure)
{
	char why[256];
	struct jwt_key *k = jwt_key_new(JWT_HS256, 0, secret, sizeof(secret), why, sizeof(why));
	char *good = mint(k, secret, sizeof(secret), H, "{\"exp\":2000}");
	CHECK_INT(verify(JWT_HS256, k, good, 1000, 0, NULL, NULL, NULL, why), JWT_OK);
	static const char *bad[] = {
		"", ".", "..", "a.b", "a.b.c.d", "eyJhbGciOiJIUzI1NiJ9..", "eyJhbGciOiJIUzI1NiJ9.e30.",
		"eyJhbGciOiJIUzI1NiJ9=.e30.AAAA", "eyJhbGciOiJIUzI1NiJ9.e30.A", " eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		enum jwt_status st = verify(JWT_HS256, k, bad[i], 1000, 0, NULL, NULL, NULL, why);
		if (!CHECK(st != JWT_OK))
			printf("#   accepted '%s'\n", bad[i]);
	}
	/* truncated and extended tags */
	char *t = xasprintf("%.*s", (int)strlen(good) - 1, good);
	CHECK(verify(JWT_HS256, k, t, 1000, 0, NULL, NULL, NULL, why) != JWT_OK);
	free(t);
	t = xasprintf("%sAAAA", good);
	CHECK_INT(verify(JWT_HS256, k, t, 1000, 0, NULL, NULL, NULL, why), JWT_BAD_SIGNATURE);
	free(t);
	free(good);
	jwt_key_free(k);
}

TEST(sign_round_trips)
{
	char why[256];
	struct jwt_key *hk = jwt_key_new(JWT_HS256, 1, secret, sizeof(secret), why, sizeof(why));
	static const char claims[] = "{\"sub\":\"a\",\"exp\":2000}";
	static const char prefix[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjIwMDAsInN1YiI6ImEifQ.";
	char *tok = jwt_sign(JWT_HS256, hk, claims, strlen(claims), why, sizeof(why));
	CHECK(tok != NULL);
	/* header {"alg":"HS256","typ":"JWT"}, claims canonical (sorted) */
	CHECK(tok && !strncmp(tok, prefix, strlen(prefix)));
	struct strbuf c = STRBUF_INIT;
	CHECK_INT(verify(JWT_HS256, hk, tok, 1000, 0, NULL, NULL, &c, why), JWT_OK);
	CHECK_STR(c.buf, "{\"exp\":2000,\"sub\":\"a\"}");
	free(tok);
	CHECK(jwt_sign(JWT_HS256, hk, "{\"a\":1,\"a\":2}", 13, why, sizeof(why)) == NULL);
	CHECK(jwt_sign(JWT_HS256, hk, "[1]", 3, why, sizeof(why)) == NULL);

	struct crypto_pk *pk = crypto_pk_generate();
	size_t n;
	char *pem = crypto_pk_private_pem(pk, &n), *pub = crypto_pk_public_pem(pk);
	struct jwt_key *sk = jwt_key_new(JWT_ES256, 1, pem, n, why, sizeof(why));
	struct jwt_key *vk = jwt_key_new(JWT_ES256, 0, pub, strlen(pub), why, sizeof(why));
	CHECK(sk && vk);
	tok = jwt_sign(JWT_ES256, sk, "{\"exp\":2000}", 12, why, sizeof(why));
	CHECK(tok != NULL);
	sb_reset(&c);
	CHECK_INT(verify(JWT_ES256, vk, tok, 1000, 0, NULL, NULL, &c, why), JWT_OK);
	/* must fail: the ES256 token checked as HS256 with a real secret */
	CHECK_INT(verify(JWT_HS256, hk, tok, 1000, 0, NULL, NULL, NULL, why), JWT_BAD_ALG);
	/* a verify-only key cannot sign */
	CHECK(jwt_sign(JWT_ES256, vk, "{\"exp\":2000}", 12, why, sizeof(why)) == NULL);
	free(tok);
	sb_free(&c);
	secure_free(pem);
	free(pub);
	crypto_pk_free(pk);
	jwt_key_free(sk);
	jwt_key_free(vk);
	jwt_key_free(hk);
}

TEST(key_rules)
{
	char why[256];
	CHECK(jwt_key_new(JWT_HS256, 0, "short", 5, why, sizeof(why)) == NULL);
	CHECK_STR(why, "an HS256 secret needs at least 32 bytes, the file has 5");
	struct crypto_pk *pk = crypto_pk_generate();
	char *pub = crypto_pk_public_pem(pk);
	size_t n;
	char *pem = crypto_pk_private_pem(pk, &n);
	/* alg confusion: a public key PEM never becomes an HMAC secret */
	CHECK(jwt_key_new(JWT_HS256, 0, pub, strlen(pub), why, sizeof(why)) == NULL);
	char *line = sshsig_pubkey_line(pk);
	char *padded = xasprintf("%s %s", line, "padding-to-be-long-enough");
	CHECK(jwt_key_new(JWT_HS256, 0, padded, strlen(padded), why, sizeof(why)) == NULL);
	/* ES256 verification wants the public half */
	CHECK(jwt_key_new(JWT_ES256, 0, pem, n, why, sizeof(why)) == NULL);
	CHECK(jwt_key_new(JWT_ES256, 1, pub, strlen(pub), why, sizeof(why)) == NULL);
	enum jwt_alg a;
	CHECK(jwt_alg_parse("HS256", &a) == 0 && a == JWT_HS256);
	CHECK(jwt_alg_parse("ES256", &a) == 0 && a == JWT_ES256);
	CHECK(jwt_alg_parse("none", &a) != 0);
	CHECK(jwt_alg_parse("es256", &a) != 0);
	CHECK(jwt_alg_parse("RS256", &a) != 0);
	free(line);
	free(padded);
	free(pub);
	secure_free(pem);
	crypto_pk_free(pk);
}

int main(void)
{
	RUN(rfc7515_a1_hs256);
	RUN(rfc7515_a3_es256);
	RUN(header_checks);
	RUN(claims_checks);
	RUN(time_boundaries);
	RUN(issuer_audience);
	RUN(structure);
	RUN(sign_round_trips);
	RUN(key_rules);
	return unit_done();
}

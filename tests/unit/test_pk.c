/* test_pk.c - crypto.c's public-key section: SHA-512, ECDSA P-256 with
 * known answers (RFC 6979 A.2.5, RFC 7515 A.3), raw <-> DER signatures,
 * key parsing and its refusals, and certificate issuing, reading and
 * verification; each check with a case that makes it fail. */

#include "unit.h"

#include <time.h>

static uint8_t *hx(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2;
	uint8_t *p = xmalloc(n + 1);
	if (!CHECK(hex_decode(hex, p, n) == 0))
		printf("#   bad test hex %s\n", hex);
	if (len)
		*len = n;
	return p;
}

static const char *tohex(const void *p, size_t n)
{
	static char slot[4][300];
	static int next;
	char *s = slot[next++ % 4];
	if (n > 149)
		n = 149;
	hex_encode(p, n, s);
	return s;
}

/* --------------------------------------------------------------- SHA-512 */

TEST(sha512_fips180)
{
	uint8_t h[SHA512_LEN];
	crypto_sha512("abc", 3, h);
	CHECK_STR(tohex(h, sizeof(h)),
	          "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	          "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
	struct sha512_ctx *c = crypto_sha512_new();
	crypto_sha512_update(c, "a", 1);
	crypto_sha512_update(c, "bc", 2);
	uint8_t h2[SHA512_LEN];
	crypto_sha512_final(c, h2);
	CHECK_MEM(h, h2, sizeof(h));
	crypto_sha512("abd", 3, h2);
	CHECK(memcmp(h, h2, sizeof(h)) != 0);
}

/* ----------------------------------------------------------------- ECDSA */

/* RFC 6979 A.2.5: P-256, SHA-256, message "sample". */
static const char rfc6979_d[] = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
static const char rfc6979_ux[] = "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6";
static const char rfc6979_uy[] = "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";
static const char rfc6979_rs[] = "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
                                 "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";

TEST(ecdsa_rfc6979_known_answer)
{
	uint8_t *d = hx(rfc6979_d, NULL), sig[ECDSA_P256_SIG_LEN], q[EC_P256_POINT_LEN];
	struct crypto_pk *k;
	CHECK(crypto_pk_from_scalar(d, &k) == 0);
	CHECK(crypto_pk_has_private(k));
	crypto_pk_point(k, q);
	CHECK(q[0] == 0x04);
	CHECK_STR(tohex(q + 1, 32), rfc6979_ux);
	CHECK_STR(tohex(q + 33, 32), rfc6979_uy);
	CHECK(crypto_ecdsa_sign(k, "sample", 6, sig) == 0);
	CHECK_STR(tohex(sig, sizeof(sig)), rfc6979_rs);
	CHECK(crypto_ecdsa_verify(k, "sample", 6, sig, sizeof(sig)) == 0);
	/* must fail: other message, flipped bit, wrong length */
	CHECK(crypto_ecdsa_verify(k, "samplf", 6, sig, sizeof(sig)) != 0);
	sig[40] ^= 0x01;
	CHECK(crypto_ecdsa_verify(k, "sample", 6, sig, sizeof(sig)) != 0);
	sig[40] ^= 0x01;
	CHECK(crypto_ecdsa_verify(k, "sample", 6, sig, sizeof(sig) - 1) != 0);
	crypto_pk_free(k);
	free(d);
}

TEST(ecdsa_public_only_verifies_never_signs)
{
	uint8_t *d = hx(rfc6979_d, NULL), q[EC_P256_POINT_LEN], *rs = hx(rfc6979_rs, NULL);
	uint8_t sig[ECDSA_P256_SIG_LEN];
	struct crypto_pk *k, *pub;
	CHECK(crypto_pk_from_scalar(d, &k) == 0);
	crypto_pk_point(k, q);
	CHECK(crypto_pk_from_point(q, sizeof(q), &pub) == 0);
	CHECK(!crypto_pk_has_private(pub));
	CHECK(crypto_pk_equal(k, pub));
	CHECK(crypto_ecdsa_verify(pub, "sample", 6, rs, 64) == 0);
	CHECK(crypto_ecdsa_sign(pub, "x", 1, sig) != 0);
	crypto_pk_free(k);
	crypto_pk_free(pub);
	free(d);
	free(rs);
}

/* RFC 7515 A.3: the JWS signing input, its raw signature, the JWK x/y. */
TEST(ecdsa_rfc7515_a3)
{
	static const char in[] =
		"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leG"
		"FtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
	uint8_t *x, *y, *sig, q[EC_P256_POINT_LEN];
	size_t xl, yl, sl;
	CHECK(crypto_b64url_decode("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", 43, &x, &xl) == 0);
	CHECK(crypto_b64url_decode("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", 43, &y, &yl) == 0);
	CHECK(crypto_b64url_decode("DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmW"
	                           "QxfKTUJqPP3-Kg6NU1Q", 86, &sig, &sl) == 0);
	CHECK(xl == 32 && yl == 32 && sl == 64);
	q[0] = 4;
	memcpy(q + 1, x, 32);
	memcpy(q + 33, y, 32);
	struct crypto_pk *k;
	CHECK(crypto_pk_from_point(q, sizeof(q), &k) == 0);
	CHECK(crypto_ecdsa_verify(k, in, strlen(in), sig, sl) == 0);
	CHECK(crypto_ecdsa_verify(k, in, strlen(in) - 1, sig, sl) != 0);
	crypto_pk_free(k);
	free(x);
	free(y);
	free(sig);
}

TEST(ecdsa_generated_round_trip_and_other_key)
{
	struct crypto_pk *a = crypto_pk_generate(), *b = crypto_pk_generate();
	uint8_t s1[ECDSA_P256_SIG_LEN], s2[ECDSA_P256_SIG_LEN];
	CHECK(crypto_ecdsa_sign(a, "msg", 3, s1) == 0);
	CHECK(crypto_ecdsa_sign(a, "msg", 3, s2) == 0);
	CHECK_MEM(s1, s2, sizeof(s1));  /* deterministic */
	CHECK(crypto_ecdsa_verify(a, "msg", 3, s1, sizeof(s1)) == 0);
	CHECK(crypto_ecdsa_verify(b, "msg", 3, s1, sizeof(s1)) != 0);
	CHECK(!crypto_pk_equal(a, b));
	uint8_t zero[ECDSA_P256_SIG_LEN] = { 0 };
	CHECK(crypto_ecdsa_verify(a, "msg", 3, zero, sizeof(zero)) != 0);
	crypto_pk_free(a);
	crypto_pk_free(b);
}

/* ------------------------------------------------------------ raw <-> DER */

TEST(sig_raw_der_round_trip)
{
	uint8_t *rs = hx(rfc6979_rs, NULL), der[ECDSA_P256_DER_MAX], back[64];
	size_t n;
	CHECK(crypto_ecdsa_sig_to_der(rs, der, sizeof(der), &n) == 0);
	/* both values have the top bit set: 0x00 padding, 2 + 2*(2+33) bytes */
	CHECK_INT(n, 72);
	CHECK_STR(tohex(der, 8), "3046022100efd48b");
	CHECK(crypto_ecdsa_sig_from_der(der, n, back) == 0);
	CHECK_MEM(back, rs, 64);
	CHECK(crypto_ecdsa_sig_to_der(rs, der, 71, &n) != 0);   /* too small a buffer */

	/* small values: leading zeros are dropped and come back */
	uint8_t small[64] = { 0 };
	small[31] = 1;
	small[63] = 0x7f;
	CHECK(crypto_ecdsa_sig_to_der(small, der, sizeof(der), &n) == 0);
	CHECK_STR(tohex(der, n), "300602010102017f");
	CHECK(crypto_ecdsa_sig_from_der(der, n, back) == 0);
	CHECK_MEM(back, small, 64);
	free(rs);
}

TEST(sig_der_strictness)
{
	uint8_t raw[64];
	size_t n;
	uint8_t *d;
	static const char *bad[] = {
		"3006020101020180",               /* negative s */
		"300702020001020101",             /* non-minimal r */
		"30060201010201",                 /* truncated */
		"3009020101020101020101",         /* three integers */
		"300602010102010100",             /* trailing byte */
		"3106020101020101",               /* not a SEQUENCE */
		"3026020101022101" "0101010101010101010101010101010101010101010101010101010101010101", /* s > 2^256 */
		"3000",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		d = hx(bad[i], &n);
		if (!CHECK(crypto_ecdsa_sig_from_der(d, n, raw) != 0))
			printf("#   accepted %s\n", bad[i]);
		free(d);
	}
	d = hx("3006020101020101", &n);
	CHECK(crypto_ecdsa_sig_from_der(d, n, raw) == 0);
	free(d);
}

/* ------------------------------------------------------------------- keys */

static const char p384_pem[] =
	"-----BEGIN EC PRIVATE KEY-----\n"
	"MIGkAgEBBDD/jZRs9f5yiI2J8U54Po+oxr/rv7MMcoJro5whR7EBEHSc/BGxidHb\n"
	"Uqi1HMbI2BygBwYFK4EEACKhZANiAAS+zBzxzXJrETtcoWQm5qnEPzNLLZFp1Qxv\n"
	"m4ryGm3WeXjhHLIRhMsodtj6oYKyon67j/V7tkDqQIDNeAIAgQW7fcNunsKAFplA\n"
	"rmNbOgBTrf6jB39fppPQxOnN5LvfbXc=\n"
	"-----END EC PRIVATE KEY-----\n";

TEST(pem_round_trip)
{
	struct crypto_pk *k = crypto_pk_generate(), *k2, *pub;
	char why[256];
	size_t n;
	char *pem = crypto_pk_private_pem(k, &n);
	CHECK(!strncmp(pem, "-----BEGIN EC PRIVATE KEY-----\n", 31));
	CHECK(crypto_pk_parse_private(pem, n, &k2, why, sizeof(why)) == 0);
	CHECK(crypto_pk_equal(k, k2) && crypto_pk_has_private(k2));
	char *pub_pem = crypto_pk_public_pem(k);
	CHECK(!strncmp(pub_pem, "-----BEGIN PUBLIC KEY-----\n", 27));
	CHECK(crypto_pk_parse_public(pub_pem, strlen(pub_pem), &pub, why, sizeof(why)) == 0);
	CHECK(crypto_pk_equal(k, pub) && !crypto_pk_has_private(pub));
	/* must fail: a public key is not a private key and vice versa */
	struct crypto_pk *x;
	CHECK(crypto_pk_parse_private(pub_pem, strlen(pub_pem), &x, why, sizeof(why)) != 0);
	CHECK(x == NULL);
	CHECK(crypto_pk_parse_public(pem, n, &x, why, sizeof(why)) != 0);
	secure_free(pem);
	free(pub_pem);
	crypto_pk_free(k);
	crypto_pk_free(k2);
	crypto_pk_free(pub);
}

TEST(key_refusals)
{
	struct crypto_pk *k;
	char why[256];
	CHECK(crypto_pk_parse_private(p384_pem, strlen(p384_pem), &k, why, sizeof(why)) != 0);
	CHECK_STR(why, "not an EC P-256 key (only ECDSA P-256 is supported)");
	CHECK(crypto_pk_parse_private("garbage", 7, &k, why, sizeof(why)) != 0);
	CHECK_STR(why, "not a PEM or DER private key (SEC1 or PKCS#8)");

	/* an encrypted PEM key (Proc-Type: 4,ENCRYPTED) */
	static const char enc[] =
		"-----BEGIN EC PRIVATE KEY-----\n"
		"Proc-Type: 4,ENCRYPTED\n"
		"DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n"
		"\n"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
		"-----END EC PRIVATE KEY-----\n";
	CHECK(crypto_pk_parse_private(enc, strlen(enc), &k, why, sizeof(why)) != 0);
	CHECK(!strncmp(why, "the private key is encrypted", 28));

	/* points: off the curve, compressed, wrong length */
	uint8_t *d = hx(rfc6979_d, NULL), q[EC_P256_POINT_LEN];
	CHECK(crypto_pk_from_scalar(d, &k) == 0);
	crypto_pk_point(k, q);
	crypto_pk_free(k);
	q[64] ^= 1;
	CHECK(crypto_pk_from_point(q, sizeof(q), &k) != 0);
	q[64] ^= 1;
	q[0] = 0x02;
	CHECK(crypto_pk_from_point(q, 33, &k) != 0);
	q[0] = 0x04;
	CHECK(crypto_pk_from_point(q, sizeof(q) - 1, &k) != 0);
	CHECK(crypto_pk_from_point(q, sizeof(q), &k) == 0);
	crypto_pk_free(k);

	/* scalars: 0 and the group order n are not private keys */
	uint8_t zero[32] = { 0 };
	CHECK(crypto_pk_from_scalar(zero, &k) != 0);
	uint8_t *order = hx("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", NULL);
	CHECK(crypto_pk_from_scalar(order, &k) != 0);
	order[31] -= 1;   /* n - 1 is */
	CHECK(crypto_pk_from_scalar(order, &k) == 0);
	crypto_pk_free(k);
	free(order);
	free(d);
}

/* ----------------------------------------------------------- certificates */

struct pki {
	struct crypto_pk *cakey, *key;
	struct crypto_cert *ca, *leaf;
};

static struct crypto_cert *issue(struct crypto_cert_req *r)
{
	char why[512];
	struct crypto_cert *c = NULL;
	xcrypto_random(r->serial, sizeof(r->serial));
	r->serial[0] = (r->serial[0] & 0x7f) | 0x01;
	char *pem = crypto_cert_issue(r, why, sizeof(why));
	if (!CHECK(pem != NULL))
		printf("#   %s\n", why);
	else
		CHECK(crypto_cert_parse(pem, strlen(pem), &c, why, sizeof(why)) == 0);
	free(pem);
	return c;
}

static void make_pki(struct pki *p, enum crypto_cert_kind kind, const char *cn,
                     const struct crypto_san *san, size_t nsan)
{
	int64_t now = (int64_t)time(NULL);
	p->cakey = crypto_pk_generate();
	p->key = crypto_pk_generate();
	struct crypto_cert_req r = { .kind = CRYPTO_CERT_CA, .cn = "Unit CA", .key = p->cakey,
	                             .ca_key = p->cakey, .not_before = now - 300,
	                             .not_after = now + 86400 * 10 };
	p->ca = issue(&r);
	struct crypto_cert_req l = { .kind = kind, .cn = cn, .key = p->key, .ca_key = p->cakey,
	                             .ca = p->ca, .san = san, .nsan = nsan,
	                             .not_before = now - 300, .not_after = now + 86400 };
	p->leaf = issue(&l);
}

static void free_pki(struct pki *p)
{
	crypto_pk_free(p->cakey);
	crypto_pk_free(p->key);
	crypto_cert_free(p->ca);
	crypto_cert_free(p->leaf);
}

TEST(cert_issue_info_verify)
{
	static const uint8_t ip[4] = { 192, 0, 2, 7 };
	const struct crypto_san san[] = {
		{ CRYPTO_SAN_DNS, "api.example.com", 15 },
		{ CRYPTO_SAN_IP, ip, 4 },
		{ CRYPTO_SAN_URI, "spiffe://example.org/api", 24 },
	};
	struct pki p;
	char why[512];
	make_pki(&p, CRYPTO_CERT_SERVER, "api", san, ARRAY_SIZE(san));
	if (!p.ca || !p.leaf) {
		free_pki(&p);
		return;
	}
	struct crypto_cert_info i;
	CHECK(crypto_cert_info(p.ca, &i, why, sizeof(why)) == 0);
	CHECK(i.is_ca);
	CHECK_STR(i.cn, "Unit CA");
	crypto_cert_info_free(&i);

	CHECK(crypto_cert_info(p.leaf, &i, why, sizeof(why)) == 0);
	CHECK(!i.is_ca);
	CHECK_STR(i.subject, "CN=api");
	CHECK_INT(i.ncn, 1);
	CHECK(i.ndns == 1 && i.nip == 1 && i.nuri == 1);
	if (i.ndns == 1 && i.nip == 1 && i.nuri == 1) {
		CHECK_STR(i.dns[0], "api.example.com");
		CHECK_STR(i.ip[0], "192.0.2.7");
		CHECK_STR(i.uri[0], "spiffe://example.org/api");
	}
	CHECK_INT(strlen(i.serial), 32);
	CHECK_INT(i.not_after - i.not_before, 86400 + 300);
	crypto_cert_info_free(&i);

	struct crypto_pk *pub;
	CHECK(crypto_cert_public_key(p.leaf, &pub) == 0);
	CHECK(crypto_pk_equal(pub, p.key));
	crypto_pk_free(pub);

	CHECK(crypto_cert_verify(p.leaf, p.ca, CRYPTO_CERT_SERVER, why, sizeof(why)) == 0);
	/* must fail: wrong purpose, wrong CA */
	CHECK(crypto_cert_verify(p.leaf, p.ca, CRYPTO_CERT_CLIENT, why, sizeof(why)) != 0);
	CHECK_STR(why, "the certificate is not for client authentication");
	struct pki q;
	make_pki(&q, CRYPTO_CERT_CLIENT, "other", NULL, 0);
	CHECK(crypto_cert_verify(p.leaf, q.ca, CRYPTO_CERT_SERVER, why, sizeof(why)) != 0);
	CHECK(crypto_cert_verify(q.leaf, q.ca, CRYPTO_CERT_CLIENT, why, sizeof(why)) == 0);
	free_pki(&q);
	free_pki(&p);
}

TEST(cert_tampered_signature_fails)
{
	struct pki p;
	char why[512];
	int64_t now = (int64_t)time(NULL);
	make_pki(&p, CRYPTO_CERT_CLIENT, "alice", NULL, 0);
	struct crypto_cert_req l = { .kind = CRYPTO_CERT_CLIENT, .cn = "bob", .key = p.key,
	                             .ca_key = p.cakey, .ca = p.ca, .not_before = now - 300,
	                             .not_after = now + 3600 };
	xcrypto_random(l.serial, sizeof(l.serial));
	l.serial[0] = 0x11;
	char *pem = crypto_cert_issue(&l, why, sizeof(why));
	CHECK(pem != NULL);
	if (pem) {
		/* Change a base64 digit in the last full line: the signature's s. */
		char *end = strstr(pem, "\n-----END");
		char *line = end - 1;
		while (line > pem && *line != '\n')
			line--;
		char *c = line - 20;
		*c = *c == 'A' ? 'B' : 'A';
		struct crypto_cert *t;
		if (crypto_cert_parse(pem, strlen(pem), &t, why, sizeof(why)) == 0) {
			CHECK(crypto_cert_verify(t, p.ca, CRYPTO_CERT_CLIENT, why, sizeof(why)) != 0);
			crypto_cert_free(t);
		}
	}
	free(pem);
	free_pki(&p);
}

TEST(cert_issue_refusals)
{
	struct pki p;
	char why[512];
	int64_t now = (int64_t)time(NULL);
	make_pki(&p, CRYPTO_CERT_CLIENT, "x", NULL, 0);
	struct crypto_pk *stranger = crypto_pk_generate();
	struct crypto_cert_req l = { .kind = CRYPTO_CERT_CLIENT, .cn = "ok", .key = p.key,
	                             .ca_key = stranger, .ca = p.ca, .not_before = now - 300,
	                             .not_after = now + 3600 };
	memset(l.serial, 0x22, sizeof(l.serial));
	CHECK(crypto_cert_issue(&l, why, sizeof(why)) == NULL);
	CHECK_STR(why, "the CA key does not belong to the CA certificate");
	l.ca_key = p.cakey;
	l.cn = "a,b";
	CHECK(crypto_cert_issue(&l, why, sizeof(why)) == NULL);
	l.cn = " lead";
	CHECK(crypto_cert_issue(&l, why, sizeof(why)) == NULL);
	l.cn = "ok";
	l.serial[0] = 0x80;   /* would be negative */
	CHECK(crypto_cert_issue(&l, why, sizeof(why)) == NULL);
	memset(l.serial, 0, sizeof(l.serial));
	CHECK(crypto_cert_issue(&l, why, sizeof(why)) == NULL);
	l.serial[15] = 1;
	char *pem = crypto_cert_issue(&l, why, sizeof(why));
	CHECK(pem != NULL);
	free(pem);
	/* a public-only issuer key cannot sign */
	uint8_t q[EC_P256_POINT_LEN];
	struct crypto_pk *pubonly;
	crypto_pk_point(p.cakey, q);
	CHECK(crypto_pk_from_point(q, sizeof(q), &pubonly) == 0);
	l.ca_key = pubonly;
	CHECK(crypto_cert_issue(&l, why, sizeof(why)) == NULL);
	crypto_pk_free(pubonly);
	crypto_pk_free(stranger);
	free_pki(&p);
}

TEST(cert_parse_refusals)
{
	struct crypto_cert *c;
	char why[256];
	CHECK(crypto_cert_parse("nope", 4, &c, why, sizeof(why)) != 0);
	CHECK(c == NULL);
	static const char trunc[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
	CHECK(crypto_cert_parse(trunc, strlen(trunc), &c, why, sizeof(why)) != 0);
}

int main(void)
{
	RUN(sha512_fips180);
	RUN(ecdsa_rfc6979_known_answer);
	RUN(ecdsa_public_only_verifies_never_signs);
	RUN(ecdsa_rfc7515_a3);
	RUN(ecdsa_generated_round_trip_and_other_key);
	RUN(sig_raw_der_round_trip);
	RUN(sig_der_strictness);
	RUN(pem_round_trip);
	RUN(key_refusals);
	RUN(cert_issue_info_verify);
	RUN(cert_tampered_signature_fails);
	RUN(cert_issue_refusals);
	RUN(cert_parse_refusals);
	return unit_done();
}

/* crypto.c - the one door to mbedTLS: random, SHA-256/512, HMAC, HKDF,
 * PBKDF2, AES-256-GCM, base64, hex, and EC P-256 public keys: ECDSA and
 * X.509 certificates.
 *
 * Written against mbedTLS 2.28 (Debian 12) using only calls 3.x kept:
 * hashing goes through mbedtls_md_* (3.0 renamed the mbedtls_sha256_*_ret
 * functions), GCM through crypt_and_tag/auth_decrypt, which are unchanged.
 * Moving to 3.6: PBKDF2 is built here on mbedtls_md_clone (same API in 3.x);
 * a PSA-only build would also need psa_crypto_init() first.
 *
 * The random generator keeps per-process state and is not thread-safe;
 * apcore calls it from one thread.
 */

#include "libcommon.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/base64.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/gcm.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

/* ------------------------------------------------------------------ random */

struct rng_state {
	int ready;
	pid_t pid;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

/* Lives in its own mapping so the kernel can zero it in a forked child
 * (MADV_WIPEONFORK: ready reads 0 there) and keep it out of core dumps.
 * The pid check covers kernels without WIPEONFORK. */
static struct rng_state *rng;

static void rng_map(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t sz = (sizeof(*rng) + (size_t)pg - 1) & ~((size_t)pg - 1);
	void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die_errno("cannot map the random generator state");
	(void)madvise(p, sz, MADV_WIPEONFORK);
	(void)madvise(p, sz, MADV_DONTDUMP);
	rng = p;
}

/* Seed from scratch: after a fork the child must not replay the parent's
 * stream, and fresh OS entropy is the simplest reseed there is. */
static void rng_seed(pid_t pid)
{
	static const char pers[] = "apcore ctr_drbg";
	if (rng->ready) {
		mbedtls_ctr_drbg_free(&rng->drbg);
		mbedtls_entropy_free(&rng->entropy);
		rng->ready = 0;
	}
	mbedtls_entropy_init(&rng->entropy);
	mbedtls_ctr_drbg_init(&rng->drbg);
	uint8_t extra[sizeof(pers) + sizeof(pid)];
	memcpy(extra, pers, sizeof(pers));
	memcpy(extra + sizeof(pers), &pid, sizeof(pid));
	if (mbedtls_ctr_drbg_seed(&rng->drbg, mbedtls_entropy_func, &rng->entropy, extra,
	                          sizeof(extra)) != 0)
		die("cannot seed the random generator from the OS entropy source");
	rng->pid = pid;
	rng->ready = 1;
}

void xcrypto_random(void *buf, size_t len)
{
	if (!rng)
		rng_map();
	pid_t pid = getpid();
	if (!rng->ready || rng->pid != pid)
		rng_seed(pid);
	unsigned char *p = buf;
	while (len) {
		size_t n = len < MBEDTLS_CTR_DRBG_MAX_REQUEST ? len : MBEDTLS_CTR_DRBG_MAX_REQUEST;
		if (mbedtls_ctr_drbg_random(&rng->drbg, p, n) != 0)
			die("random generator failed");
		p += n;
		len -= n;
	}
}

/* ----------------------------------------------------------------- hashing */

static const mbedtls_md_info_t *sha256_info(void)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	if (!md)
		die("mbedTLS lacks SHA-256");
	return md;
}

/* Callers pass NULL for empty inputs; mbedTLS wants a pointer regardless. */
static const unsigned char *nz(const void *p)
{
	return p ? p : (const void *)"";
}

void crypto_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	if (mbedtls_md(sha256_info(), nz(data), len, out) != 0)
		die("SHA-256 failed");
}

/* Streaming hashes: one mbedTLS md context behind each opaque type. */
struct md_stream {
	mbedtls_md_context_t md;
	const char *name;   /* for messages */
};

static struct md_stream *md_stream_new(const mbedtls_md_info_t *info, const char *name)
{
	struct md_stream *c = xmalloc(sizeof(*c));
	c->name = name;
	mbedtls_md_init(&c->md);
	if (mbedtls_md_setup(&c->md, info, 0) != 0 || mbedtls_md_starts(&c->md) != 0)
		die("%s setup failed", name);
	return c;
}

static void md_stream_update(struct md_stream *c, const void *data, size_t len)
{
	if (mbedtls_md_update(&c->md, nz(data), len) != 0)
		die("%s failed", c->name);
}

static void md_stream_final(struct md_stream *c, uint8_t *out)
{
	const char *name = c->name;
	int rc = mbedtls_md_finish(&c->md, out);
	mbedtls_md_free(&c->md);
	free(c);
	if (rc != 0)
		die("%s failed", name);
}

struct sha256_ctx {
	struct md_stream s;
};

struct sha256_ctx *crypto_sha256_new(void)
{
	return (struct sha256_ctx *)md_stream_new(sha256_info(), "SHA-256");
}

struct sha256_ctx *crypto_sha256_clone(const struct sha256_ctx *c)
{
	struct sha256_ctx *n = crypto_sha256_new();
	if (mbedtls_md_clone(&n->s.md, &c->s.md) != 0)
		die("SHA-256 clone failed");
	return n;
}

void crypto_sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	md_stream_update(&c->s, data, len);
}

void crypto_sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN])
{
	md_stream_final(&c->s, out);
}

void crypto_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                        uint8_t out[SHA256_LEN])
{
	if (mbedtls_md_hmac(sha256_info(), nz(key), keylen, nz(msg), msglen, out) != 0)
		die("HMAC-SHA256 failed");
}

/* The md context holds the padded key: mbedtls_md_free wipes it. */
struct hmac_ctx {
	mbedtls_md_context_t md;
};

struct hmac_ctx *crypto_hmac_new(const void *key, size_t keylen)
{
	struct hmac_ctx *c = xmalloc(sizeof(*c));
	mbedtls_md_init(&c->md);
	if (mbedtls_md_setup(&c->md, sha256_info(), 1) != 0 ||
	    mbedtls_md_hmac_starts(&c->md, nz(key), keylen) != 0)
		die("HMAC-SHA256 setup failed");
	return c;
}

void crypto_hmac_update(struct hmac_ctx *c, const void *data, size_t len)
{
	if (mbedtls_md_hmac_update(&c->md, nz(data), len) != 0)
		die("HMAC-SHA256 failed");
}

void crypto_hmac_final(struct hmac_ctx *c, uint8_t out[SHA256_LEN])
{
	int rc = mbedtls_md_hmac_finish(&c->md, out);
	mbedtls_md_free(&c->md);
	free(c);
	if (rc != 0)
		die("HMAC-SHA256 failed");
}

/* -------------------------------------------------------------------- KDFs */

int crypto_hkdf_sha256(const void *salt, size_t saltlen, const void *ikm, size_t ikmlen,
                       const void *info, size_t infolen, void *out, size_t outlen)
{
	return mbedtls_hkdf(sha256_info(), nz(salt), saltlen, nz(ikm), ikmlen, nz(info), infolen,
	                    out, outlen) == 0 ? 0 : -1;
}

/* PBKDF2-HMAC-SHA256 (RFC 8018).  mbedtls_pkcs5_pbkdf2_hmac re-keys the HMAC
 * on every iteration (four SHA-256 compressions where two suffice) and goes
 * through the md layer's indirection.  Here the SHA-256 states after the
 * ipad and opad blocks are computed once and copied for each iteration,
 * which makes a 600k-iteration derivation (the reference's price per
 * value) about 1.8x faster.  Known-answer tests pin the output. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define sha256_starts(c) mbedtls_sha256_starts(c, 0)
#define sha256_update mbedtls_sha256_update
#define sha256_finish mbedtls_sha256_finish
#else
#define sha256_starts(c) mbedtls_sha256_starts_ret(c, 0)
#define sha256_update mbedtls_sha256_update_ret
#define sha256_finish mbedtls_sha256_finish_ret
#endif

int crypto_pbkdf2_sha256(const void *pw, size_t pwlen, const void *salt, size_t saltlen,
                         unsigned iterations, void *out, size_t outlen)
{
	if (iterations == 0 || outlen == 0 || outlen > UINT32_MAX)
		return -1;
	enum { BLOCK = 64 };
	uint8_t k[BLOCK], pad[BLOCK], u[SHA256_LEN], t[SHA256_LEN];
	mbedtls_sha256_context inner0, outer0, c;
	int rc = 0;

	mbedtls_sha256_init(&inner0);
	mbedtls_sha256_init(&outer0);
	mbedtls_sha256_init(&c);
	memset(k, 0, sizeof(k));
	if (pwlen > BLOCK)
		crypto_sha256(pw, pwlen, k);
	else if (pwlen)
		memcpy(k, pw, pwlen);
	for (int i = 0; i < BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	rc = rc ? rc : sha256_starts(&inner0);
	rc = rc ? rc : sha256_update(&inner0, pad, BLOCK);
	for (int i = 0; i < BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	rc = rc ? rc : sha256_starts(&outer0);
	rc = rc ? rc : sha256_update(&outer0, pad, BLOCK);

	uint8_t *dst = out;
	for (uint32_t block = 1; rc == 0 && outlen; block++) {
		uint8_t ctr[4] = { (uint8_t)(block >> 24), (uint8_t)(block >> 16),
		                   (uint8_t)(block >> 8), (uint8_t)block };
		/* U1 = HMAC(P, S || INT(block)) */
		mbedtls_sha256_clone(&c, &inner0);
		rc = rc ? rc : sha256_update(&c, nz(salt), saltlen);
		rc = rc ? rc : sha256_update(&c, ctr, 4);
		rc = rc ? rc : sha256_finish(&c, u);
		mbedtls_sha256_clone(&c, &outer0);
		rc = rc ? rc : sha256_update(&c, u, SHA256_LEN);
		rc = rc ? rc : sha256_finish(&c, u);
		memcpy(t, u, SHA256_LEN);
		for (unsigned i = 1; rc == 0 && i < iterations; i++) {
			mbedtls_sha256_clone(&c, &inner0);
			rc = sha256_update(&c, u, SHA256_LEN);
			rc = rc ? rc : sha256_finish(&c, u);
			mbedtls_sha256_clone(&c, &outer0);
			rc = rc ? rc : sha256_update(&c, u, SHA256_LEN);
			rc = rc ? rc : sha256_finish(&c, u);
			for (int j = 0; j < SHA256_LEN; j++)
				t[j] ^= u[j];
		}
		size_t n = outlen < SHA256_LEN ? outlen : SHA256_LEN;
		memcpy(dst, t, n);
		dst += n;
		outlen -= n;
	}
	mbedtls_sha256_free(&inner0);
	mbedtls_sha256_free(&outer0);
	mbedtls_sha256_free(&c);
	mbedtls_platform_zeroize(k, sizeof(k));
	mbedtls_platform_zeroize(pad, sizeof(pad));
	mbedtls_platform_zeroize(u, sizeof(u));
	mbedtls_platform_zeroize(t, sizeof(t));
	if (rc != 0)
		mbedtls_platform_zeroize(out, (size_t)(dst - (uint8_t *)out) + outlen);
	return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------- AES-256-GCM */

static int gcm_init(mbedtls_gcm_context *g, const uint8_t key[AES256_KEY_LEN])
{
	mbedtls_gcm_init(g);
	return mbedtls_gcm_setkey(g, MBEDTLS_CIPHER_ID_AES, key, AES256_KEY_LEN * 8);
}

int crypto_gcm_encrypt(const uint8_t key[AES256_KEY_LEN], const uint8_t iv[GCM_IV_LEN],
                       const void *aad, size_t aadlen, const void *pt, size_t len,
                       void *ct, uint8_t tag[GCM_TAG_LEN])
{
	mbedtls_gcm_context g;
	int rc = gcm_init(&g, key);
	if (rc == 0)
		rc = mbedtls_gcm_crypt_and_tag(&g, MBEDTLS_GCM_ENCRYPT, len, iv, GCM_IV_LEN,
		                               nz(aad), aadlen, nz(pt), ct, GCM_TAG_LEN, tag);
	mbedtls_gcm_free(&g);
	return rc == 0 ? 0 : -1;
}

int crypto_gcm_decrypt(const uint8_t key[AES256_KEY_LEN], const uint8_t iv[GCM_IV_LEN],
                       const void *aad, size_t aadlen, const void *ct, size_t len,
                       const uint8_t *tag, size_t taglen, void *pt)
{
	/* mbedTLS verifies any tag of 4..16 bytes, so a forger who may choose
	 * the tag length needs only 2^32 tries: insist on the full tag. */
	int rc = -1;
	if (taglen == GCM_TAG_LEN) {
		mbedtls_gcm_context g;
		rc = gcm_init(&g, key);
		if (rc == 0)
			rc = mbedtls_gcm_auth_decrypt(&g, len, iv, GCM_IV_LEN, nz(aad), aadlen,
			                              tag, GCM_TAG_LEN, nz(ct), pt);
		mbedtls_gcm_free(&g);
	}
	if (rc != 0 && pt)
		mbedtls_platform_zeroize(pt, len);
	return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ base64
 *
 * mbedTLS does the bit work; the checks in front of it are ours, because
 * mbedtls_base64_decode skips spaces and newlines, accepts a missing
 * quantum and ignores spare bits.  Decoders return a malloc()ed *out (wipe
 * it before free() if it held a secret), NULL on failure.  "Strict" also
 * means zero spare bits, so every byte string has exactly one encoding.
 */

/* All ones when lo <= c <= hi, else 0, without a data-dependent branch:
 * base64 here often carries key material. */
static unsigned in_range(unsigned c, unsigned lo, unsigned hi)
{
	return 0u - (((lo - 1 - c) & (c - hi - 1)) >> 31);
}

/* Value 0..63 of c in the alphabet whose last two letters are c62 and
 * c63, or -1. */
static int b64_value(unsigned char c, unsigned char c62, unsigned char c63)
{
	unsigned v = 0;  /* value + 1, so 0 means "not in the alphabet" */
	v |= in_range(c, 'A', 'Z') & (c - 'A' + 1u);
	v |= in_range(c, 'a', 'z') & (c - 'a' + 27u);
	v |= in_range(c, '0', '9') & (c - '0' + 53u);
	v |= in_range(c, c62, c62) & 63u;
	v |= in_range(c, c63, c63) & 64u;
	return (int)v - 1;
}

static const char b64_std[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *crypto_b64_encode(const void *data, size_t len)
{
	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		die("base64 input too large");
	size_t cap = (len + 2) / 3 * 4 + 1, olen = 0;
	char *s = xmalloc(cap);
	if (mbedtls_base64_encode((unsigned char *)s, cap, &olen, nz(data), len) != 0)
		die("base64 encoding failed");
	s[olen] = 0;
	return s;
}

/* Decode base64 already checked to be canonical and padded. */
static int b64_decode_checked(const char *s, size_t slen, size_t pads, uint8_t **out,
                              size_t *outlen)
{
	size_t want = slen / 4 * 3 - pads, olen = 0;
	uint8_t *buf = xmalloc(want + 1);
	if (mbedtls_base64_decode(buf, want + 1, &olen, (const unsigned char *)s, slen) != 0 ||
	    olen != want) {
		mbedtls_platform_zeroize(buf, want + 1);
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = olen;
	return 0;
}

/* Bits of the last data character that fall past the final byte: a
 * canonical encoding leaves them zero.  nchars is the number of data
 * characters in the last quantum (2 or 3). */
static unsigned b64_spare_bits(unsigned nchars)
{
	return nchars == 2 ? 0x0f : 0x03;
}

int crypto_b64_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (slen % 4)
		return -1;
	size_t pads = 0;
	while (pads < 2 && pads < slen && s[slen - 1 - pads] == '=')
		pads++;
	unsigned bad = 0, last = 0;
	for (size_t i = 0; i < slen - pads; i++) {
		int v = b64_value((unsigned char)s[i], '+', '/');
		bad |= (unsigned)v >> 31;
		last = (unsigned)v;
	}
	if (pads)
		bad |= last & b64_spare_bits(4 - (unsigned)pads);
	if (bad)
		return -1;
	return b64_decode_checked(s, slen, pads, out, outlen);
}

/* Rewrite s into canonical padded base64 the way CPython 3.11's
 * binascii.a2b_base64 (non-strict) reads it: skip bytes outside the
 * alphabet, stop at a '=' that completes a quantum, and fail on a dangling
 * quantum.  Python's b64decode(str) first rejects non-ASCII.  The last
 * character's spare bits are cleared because Python ignores them. */
static char *b64_normalise_lenient(const char *s, size_t slen, size_t *nlen)
{
	if (slen > SIZE_MAX - 4)
		return NULL;
	for (size_t i = 0; i < slen; i++)
		if ((unsigned char)s[i] >= 0x80)
			return NULL;
	char *n = xmalloc(slen + 4);
	size_t len = 0;
	unsigned quad = 0, pads = 0, last = 0;
	int stopped = 0;
	for (size_t i = 0; i < slen && !stopped; i++) {
		int v = b64_value((unsigned char)s[i], '+', '/');
		if (s[i] == '=') {
			/* as in CPython, pads only counts once quad >= 2 */
			stopped = quad >= 2 && quad + ++pads >= 4;
		} else if (v >= 0) {
			pads = 0;
			quad = (quad + 1) % 4;
			n[len++] = s[i];
			last = (unsigned)v;
		}
	}
	if (quad && !stopped) {
		mbedtls_platform_zeroize(n, slen + 4);
		free(n);
		return NULL;
	}
	if (quad) {
		n[len - 1] = b64_std[last & ~b64_spare_bits(quad)];
		while (len % 4)
			n[len++] = '=';
	}
	*nlen = len;
	return n;
}

int crypto_b64_decode_lenient(const char *s, size_t slen, uint8_t **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	size_t nlen;
	char *n = b64_normalise_lenient(s, slen, &nlen);
	if (!n)
		return -1;
	size_t pads = nlen && n[nlen - 1] == '=' ? 1 + (n[nlen - 2] == '=') : 0;
	int rc = b64_decode_checked(n, nlen, pads, out, outlen);
	mbedtls_platform_zeroize(n, slen + 4);
	free(n);
	return rc;
}

char *crypto_b64url_encode(const void *data, size_t len)
{
	char *s = crypto_b64_encode(data, len);
	size_t n = strlen(s);
	while (n && s[n - 1] == '=')
		s[--n] = 0;
	for (char *p = s; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	return s;
}

int crypto_b64url_decode(const char *s, size_t slen, uint8_t **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (slen % 4 == 1 || slen > SIZE_MAX - 4)
		return -1;
	char *n = xmalloc(slen + 4);
	unsigned bad = 0, last = 0;
	for (size_t i = 0; i < slen; i++) {
		int v = b64_value((unsigned char)s[i], '-', '_');
		bad |= (unsigned)v >> 31;
		last = (unsigned)v;
		n[i] = b64_std[v & 63];
	}
	size_t len = slen, pads = (4 - slen % 4) % 4;
	if (pads)
		bad |= last & b64_spare_bits(4 - (unsigned)pads);
	while (len % 4)
		n[len++] = '=';
	int rc = bad ? -1 : b64_decode_checked(n, len, pads, out, outlen);
	mbedtls_platform_zeroize(n, slen + 4);
	free(n);
	return rc;
}

/* --------------------------------------------------------------------- hex */

void hex_encode(const void *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = data;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = 0;
}

/* Value of a hex digit (either case), or -1. */
static int hex_value(unsigned char c)
{
	unsigned v = 0;
	v |= in_range(c, '0', '9') & (c - '0' + 1u);
	v |= in_range(c, 'a', 'f') & (c - 'a' + 11u);
	v |= in_range(c, 'A', 'F') & (c - 'A' + 11u);
	return (int)v - 1;
}

int hex_decode(const char *hex, void *out, size_t outlen)
{
	if (outlen > (SIZE_MAX - 1) / 2 || strnlen(hex, 2 * outlen + 1) != 2 * outlen)
		return -1;
	uint8_t *o = out;
	unsigned bad = 0;
	for (size_t i = 0; i < outlen; i++) {
		int hi = hex_value((unsigned char)hex[2 * i]);
		int lo = hex_value((unsigned char)hex[2 * i + 1]);
		bad |= (unsigned)(hi | lo) >> 31;
		o[i] = (uint8_t)(((unsigned)hi << 4) | ((unsigned)lo & 15));
	}
	if (bad) {
		mbedtls_platform_zeroize(out, outlen);
		return -1;
	}
	return 0;
}

/* ----------------------------------------------------------------- SHA-512 */

static const mbedtls_md_info_t *sha512_info(void)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA512);
	if (!md)
		die("mbedTLS lacks SHA-512");
	return md;
}

void crypto_sha512(const void *data, size_t len, uint8_t out[SHA512_LEN])
{
	if (mbedtls_md(sha512_info(), nz(data), len, out) != 0)
		die("SHA-512 failed");
}

struct sha512_ctx {
	struct md_stream s;
};

struct sha512_ctx *crypto_sha512_new(void)
{
	return (struct sha512_ctx *)md_stream_new(sha512_info(), "SHA-512");
}

void crypto_sha512_update(struct sha512_ctx *c, const void *data, size_t len)
{
	md_stream_update(&c->s, data, len);
}

void crypto_sha512_final(struct sha512_ctx *c, uint8_t out[SHA512_LEN])
{
	md_stream_final(&c->s, out);
}

/* ------------------------------------------------------------- public keys
 *
 * EC P-256 only, through the pk, asn1, x509 and x509write layers.  3.x kept
 * their calls but added an RNG to pk_parse_key and an output size to
 * pk_sign (the two wrappers below), and made the fields of
 * mbedtls_ecp_keypair private: nothing here touches them.  The curve is
 * checked by comparing the SubjectPublicKeyInfo with the P-256 prefix, raw
 * points go in and out through SPKI and SEC1 DER, and extensions are read
 * by walking the certificate's DER.  2.28 has no setter for
 * extendedKeyUsage or subjectAltName: both are encoded here.  Two calls
 * to revisit past 3.6: mbedtls_pk_ec() for key generation (unusable with
 * MBEDTLS_PK_USE_PSA_EC_DATA) and mbedtls_x509write_crt_set_serial()
 * (deprecated in 3.x, removed in 4.0 for set_serial_raw).
 */

static int rng_cb(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	xcrypto_random(buf, len);
	return 0;
}

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
static int pk_parse_key(mbedtls_pk_context *pk, const unsigned char *key, size_t len)
{
	return mbedtls_pk_parse_key(pk, key, len, NULL, 0, rng_cb, NULL);
}

static int pk_sign(mbedtls_pk_context *pk, const uint8_t digest[SHA256_LEN], unsigned char *sig,
                   size_t cap, size_t *len)
{
	return mbedtls_pk_sign(pk, MBEDTLS_MD_SHA256, digest, SHA256_LEN, sig, cap, len, rng_cb,
	                       NULL);
}
#else
static int pk_parse_key(mbedtls_pk_context *pk, const unsigned char *key, size_t len)
{
	return mbedtls_pk_parse_key(pk, key, len, NULL, 0);
}

static int pk_sign(mbedtls_pk_context *pk, const uint8_t digest[SHA256_LEN], unsigned char *sig,
                   size_t cap, size_t *len)
{
	(void)cap;  /* 2.28 writes at most MBEDTLS_PK_SIGNATURE_MAX_SIZE */
	return mbedtls_pk_sign(pk, MBEDTLS_MD_SHA256, digest, SHA256_LEN, sig, len, rng_cb, NULL);
}
#endif

/* SubjectPublicKeyInfo of an id-ecPublicKey on prime256v1, up to the
 * BIT STRING's contents (the uncompressed point). */
static const uint8_t p256_spki_prefix[] = {
	0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
	0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};
#define P256_SPKI_LEN (sizeof(p256_spki_prefix) + EC_P256_POINT_LEN)

struct crypto_pk {
	mbedtls_pk_context pk;
	int priv;
	uint8_t point[EC_P256_POINT_LEN];
};

/* mbedTLS 2.28 takes non-const contexts even where it only reads. */
static mbedtls_pk_context *pkctx(const struct crypto_pk *k)
{
	return (mbedtls_pk_context *)&k->pk;
}

static struct crypto_pk *pk_new(void)
{
	struct crypto_pk *k = xzalloc(sizeof(*k));
	mbedtls_pk_init(&k->pk);
	return k;
}

void crypto_pk_free(struct crypto_pk *k)
{
	if (!k)
		return;
	mbedtls_pk_free(&k->pk);  /* zeroizes the private scalar */
	secure_wipe(k, sizeof(*k));
	free(k);
}

/* Keep pk only when it is an EC key on P-256; remember its point. */
static int pk_adopt(struct crypto_pk *k)
{
	unsigned char der[160];
	if (mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_ECKEY)
		return -1;
	int n = mbedtls_pk_write_pubkey_der(&k->pk, der, sizeof(der));
	if (n != (int)P256_SPKI_LEN)
		return -1;
	const unsigned char *spki = der + sizeof(der) - n;
	if (memcmp(spki, p256_spki_prefix, sizeof(p256_spki_prefix)) != 0)
		return -1;
	memcpy(k->point, spki + sizeof(p256_spki_prefix), EC_P256_POINT_LEN);
	return 0;
}

struct crypto_pk *crypto_pk_generate(void)
{
	struct crypto_pk *k = pk_new();
	if (mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k->pk), rng_cb, NULL) != 0 ||
	    pk_adopt(k) != 0)
		die("EC P-256 key generation failed");
	k->priv = 1;
	return k;
}

static void set_why(char *why, size_t whylen, const char *msg)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", msg);
}

static int is_pem(const void *buf, size_t len)
{
	return memmem(buf, len, "-----BEGIN ", 11) != NULL;
}

/* mbedTLS wants PEM NUL-terminated with the NUL counted. */
static unsigned char *pem_copy(const void *buf, size_t len, size_t *plen, int secret)
{
	unsigned char *c = secret ? secure_alloc(len + 1) : xmalloc(len + 1);
	memcpy(c, buf, len);
	c[len] = 0;
	*plen = len + (is_pem(buf, len) ? 1 : 0);
	return c;
}

int crypto_pk_parse_private(const void *buf, size_t len, struct crypto_pk **out,
                            char *why, size_t whylen)
{
	*out = NULL;
	size_t plen;
	unsigned char *copy = pem_copy(buf, len, &plen, 1);
	struct crypto_pk *k = pk_new();
	int rc = pk_parse_key(&k->pk, copy, plen);
	secure_free(copy);
	if (rc == MBEDTLS_ERR_PK_PASSWORD_REQUIRED || rc == MBEDTLS_ERR_PK_PASSWORD_MISMATCH) {
		set_why(why, whylen, "the private key is encrypted; store it unencrypted "
		        "(e.g. 'openssl ec -in KEY -out PLAIN') in a 0600 file");
	} else if (rc != 0) {
		set_why(why, whylen, "not a PEM or DER private key (SEC1 or PKCS#8)");
	} else if (pk_adopt(k) != 0) {
		set_why(why, whylen, "not an EC P-256 key (only ECDSA P-256 is supported)");
		rc = -1;
	}
	if (rc != 0) {
		crypto_pk_free(k);
		return -1;
	}
	k->priv = 1;
	*out = k;
	return 0;
}

int crypto_pk_parse_public(const void *buf, size_t len, struct crypto_pk **out,
                           char *why, size_t whylen)
{
	*out = NULL;
	size_t plen;
	unsigned char *copy = pem_copy(buf, len, &plen, 0);
	struct crypto_pk *k = pk_new();
	int rc = mbedtls_pk_parse_public_key(&k->pk, copy, plen);
	free(copy);
	if (rc != 0) {
		set_why(why, whylen, "not a PEM or DER public key (SubjectPublicKeyInfo)");
	} else if (pk_adopt(k) != 0) {
		set_why(why, whylen, "not an EC P-256 key (only ECDSA P-256 is supported)");
		rc = -1;
	}
	if (rc != 0) {
		crypto_pk_free(k);
		return -1;
	}
	*out = k;
	return 0;
}

int crypto_pk_from_point(const uint8_t *q, size_t qlen, struct crypto_pk **out)
{
	*out = NULL;
	if (qlen != EC_P256_POINT_LEN || q[0] != 0x04)
		return -1;
	uint8_t spki[P256_SPKI_LEN];
	memcpy(spki, p256_spki_prefix, sizeof(p256_spki_prefix));
	memcpy(spki + sizeof(p256_spki_prefix), q, qlen);
	/* pk_parse_public_key checks that the point is on the curve. */
	return crypto_pk_parse_public(spki, sizeof(spki), out, NULL, 0);
}

int crypto_pk_from_scalar(const uint8_t d[EC_P256_SCALAR_LEN], struct crypto_pk **out)
{
	/* SEC1 ECPrivateKey without the public key: mbedTLS checks the range
	 * of d and derives Q = dG. */
	static const uint8_t head[] = { 0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20 };
	static const uint8_t tail[] = { 0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48,
	                                0xce, 0x3d, 0x03, 0x01, 0x07 };
	uint8_t der[sizeof(head) + EC_P256_SCALAR_LEN + sizeof(tail)];
	memcpy(der, head, sizeof(head));
	memcpy(der + sizeof(head), d, EC_P256_SCALAR_LEN);
	memcpy(der + sizeof(head) + EC_P256_SCALAR_LEN, tail, sizeof(tail));
	int rc = crypto_pk_parse_private(der, sizeof(der), out, NULL, 0);
	mbedtls_platform_zeroize(der, sizeof(der));
	return rc;
}

int crypto_pk_has_private(const struct crypto_pk *k)
{
	return k->priv;
}

void crypto_pk_point(const struct crypto_pk *k, uint8_t out[EC_P256_POINT_LEN])
{
	memcpy(out, k->point, EC_P256_POINT_LEN);
}

int crypto_pk_equal(const struct crypto_pk *a, const struct crypto_pk *b)
{
	return memcmp(a->point, b->point, EC_P256_POINT_LEN) == 0;
}

char *crypto_pk_public_pem(const struct crypto_pk *k)
{
	unsigned char buf[512];
	if (mbedtls_pk_write_pubkey_pem(pkctx(k), buf, sizeof(buf)) != 0)
		die("cannot encode the public key");
	return xstrdup((char *)buf);
}

char *crypto_pk_private_pem(const struct crypto_pk *k, size_t *len)
{
	enum { CAP = 1024 };
	if (!k->priv)
		die("internal error: no private key to write");
	char *buf = secure_alloc(CAP);
	if (mbedtls_pk_write_key_pem(pkctx(k), (unsigned char *)buf, CAP) != 0)
		die("cannot encode the private key");
	*len = strlen(buf);
	return buf;
}

int crypto_ecdsa_sig_to_der(const uint8_t raw[ECDSA_P256_SIG_LEN], uint8_t *der, size_t cap,
                            size_t *derlen)
{
	unsigned char buf[ECDSA_P256_DER_MAX], *p = buf + sizeof(buf);
	mbedtls_mpi r, s;
	size_t len = 0;
	int rc = 0, n;

	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	if (mbedtls_mpi_read_binary(&r, raw, 32) != 0 || mbedtls_mpi_read_binary(&s, raw + 32, 32) != 0)
		rc = -1;
	if (rc == 0 && (n = mbedtls_asn1_write_mpi(&p, buf, &s)) > 0)
		len += (size_t)n;
	else
		rc = -1;
	if (rc == 0 && (n = mbedtls_asn1_write_mpi(&p, buf, &r)) > 0)
		len += (size_t)n;
	else
		rc = -1;
	if (rc == 0 && (n = mbedtls_asn1_write_len(&p, buf, len)) > 0)
		len += (size_t)n;
	else
		rc = -1;
	if (rc == 0 &&
	    (n = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) > 0)
		len += (size_t)n;
	else
		rc = -1;
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	if (rc != 0 || len > cap)
		return -1;
	memcpy(der, p, len);
	*derlen = len;
	return 0;
}

int crypto_ecdsa_sig_from_der(const uint8_t *der, size_t derlen, uint8_t raw[ECDSA_P256_SIG_LEN])
{
	unsigned char *p = (unsigned char *)der, *end = p + derlen;
	size_t len;
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ||
	    p + len != end)
		return -1;
	memset(raw, 0, ECDSA_P256_SIG_LEN);
	for (int i = 0; i < 2; i++) {
		if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_INTEGER) || len == 0)
			return -1;
		/* DER: positive and minimal */
		if ((p[0] & 0x80) || (len > 1 && p[0] == 0 && !(p[1] & 0x80)))
			return -1;
		const unsigned char *v = p;
		size_t vlen = len;
		if (vlen > 1 && v[0] == 0) {
			v++;
			vlen--;
		}
		if (vlen > 32)
			return -1;
		memcpy(raw + 32 * i + 32 - vlen, v, vlen);
		p += len;
	}
	return p == end ? 0 : -1;
}

int crypto_ecdsa_sign_digest(const struct crypto_pk *k, const uint8_t digest[SHA256_LEN],
                             uint8_t sig[ECDSA_P256_SIG_LEN])
{
	unsigned char der[MBEDTLS_PK_SIGNATURE_MAX_SIZE > 160 ? MBEDTLS_PK_SIGNATURE_MAX_SIZE : 160];
	size_t n = 0;
	if (!k->priv || pk_sign(pkctx(k), digest, der, sizeof(der), &n) != 0)
		return -1;
	return crypto_ecdsa_sig_from_der(der, n, sig);
}

int crypto_ecdsa_verify_digest(const struct crypto_pk *k, const uint8_t digest[SHA256_LEN],
                               const uint8_t *sig, size_t siglen)
{
	uint8_t der[ECDSA_P256_DER_MAX];
	size_t n;
	if (siglen != ECDSA_P256_SIG_LEN || crypto_ecdsa_sig_to_der(sig, der, sizeof(der), &n) != 0)
		return -1;
	return mbedtls_pk_verify(pkctx(k), MBEDTLS_MD_SHA256, digest, SHA256_LEN, der, n) == 0 ? 0 : -1;
}

int crypto_ecdsa_sign(const struct crypto_pk *k, const void *msg, size_t len,
                      uint8_t sig[ECDSA_P256_SIG_LEN])
{
	uint8_t h[SHA256_LEN];
	crypto_sha256(msg, len, h);
	return crypto_ecdsa_sign_digest(k, h, sig);
}

int crypto_ecdsa_verify(const struct crypto_pk *k, const void *msg, size_t len,
                        const uint8_t *sig, size_t siglen)
{
	uint8_t h[SHA256_LEN];
	crypto_sha256(msg, len, h);
	return crypto_ecdsa_verify_digest(k, h, sig, siglen);
}

/* -------------------------------------------------------------------- X.509 */

struct crypto_cert {
	mbedtls_x509_crt crt;
};

static mbedtls_x509_crt *crtp(const struct crypto_cert *c)
{
	return (mbedtls_x509_crt *)&c->crt;
}

int crypto_cert_parse(const void *buf, size_t len, struct crypto_cert **out, char *why,
                      size_t whylen)
{
	*out = NULL;
	size_t plen;
	unsigned char *copy = pem_copy(buf, len, &plen, 0);
	struct crypto_cert *c = xzalloc(sizeof(*c));
	mbedtls_x509_crt_init(&c->crt);
	int rc = mbedtls_x509_crt_parse(&c->crt, copy, plen);
	free(copy);
	if (rc != 0) {
		set_why(why, whylen, rc > 0 ? "a certificate in the file cannot be parsed"
		                            : "not a PEM or DER X.509 certificate");
		crypto_cert_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void crypto_cert_free(struct crypto_cert *c)
{
	if (!c)
		return;
	mbedtls_x509_crt_free(&c->crt);
	free(c);
}

int crypto_cert_public_key(const struct crypto_cert *c, struct crypto_pk **out)
{
	unsigned char der[160];
	*out = NULL;
	int n = mbedtls_pk_write_pubkey_der(&crtp(c)->pk, der, sizeof(der));
	if (n <= 0)
		return -1;
	return crypto_pk_parse_public(der + sizeof(der) - n, (size_t)n, out, NULL, 0);
}

/* Find the extension oid in crt: 1 with its extnValue contents in val/vlen,
 * 0 when absent, -1 when the extensions are malformed.  v3_ext holds the
 * "SEQUENCE OF Extension" inside the [3] tag. */
static int cert_ext(const mbedtls_x509_crt *crt, const char *oid, size_t oidlen,
                    unsigned char **val, size_t *vlen)
{
	unsigned char *p = crt->v3_ext.p, *end;
	size_t len;
	if (!p || crt->v3_ext.len == 0)
		return 0;
	end = p + crt->v3_ext.len;
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return -1;
	end = p + len;
	while (p < end) {
		if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return -1;
		unsigned char *ext_end = p + len, *o;
		size_t olen;
		int critical = 0;
		if (mbedtls_asn1_get_tag(&p, ext_end, &olen, MBEDTLS_ASN1_OID))
			return -1;
		o = p;
		p += olen;
		int rc = mbedtls_asn1_get_bool(&p, ext_end, &critical);
		if (rc != 0 && rc != MBEDTLS_ERR_ASN1_UNEXPECTED_TAG)
			return -1;
		if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING) ||
		    p + len != ext_end)
			return -1;
		if (olen == oidlen && memcmp(o, oid, oidlen) == 0) {
			*val = p;
			*vlen = len;
			return 1;
		}
		p = ext_end;
	}
	return 0;
}

#define OID_ARGS(o) o, MBEDTLS_OID_SIZE(o)

/* The keyIdentifier of a certificate's subjectKeyIdentifier: 1, 0, -1. */
static int cert_ski(const mbedtls_x509_crt *crt, unsigned char **id, size_t *idlen)
{
	unsigned char *v, *end;
	size_t vlen;
	int rc = cert_ext(crt, OID_ARGS(MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER), &v, &vlen);
	if (rc <= 0)
		return rc;
	end = v + vlen;
	if (mbedtls_asn1_get_tag(&v, end, idlen, MBEDTLS_ASN1_OCTET_STRING) || v + *idlen != end ||
	    *idlen == 0)
		return -1;
	*id = v;
	return 1;
}

/* Backwards DER writing: each step adds to len or fails. */
#define DER_ADD(expr) do { int n_ = (expr); if (n_ < 0) return -1; len += (size_t)n_; } while (0)

static int der_seq(unsigned char **p, unsigned char *start, size_t len)
{
	size_t inner = len;
	DER_ADD(mbedtls_asn1_write_len(p, start, inner));
	DER_ADD(mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	return (int)len;
}

static int ext_san(mbedtls_x509write_cert *w, const struct crypto_san *san, size_t n)
{
	unsigned char buf[4096], *p = buf + sizeof(buf);
	size_t len = 0;
	for (size_t i = n; i-- > 0;) {
		static const unsigned char tags[] = { [CRYPTO_SAN_DNS] = 2, [CRYPTO_SAN_IP] = 7,
		                                      [CRYPTO_SAN_URI] = 6 };
		if (san[i].type == CRYPTO_SAN_IP && san[i].len != 4 && san[i].len != 16)
			return -1;
		DER_ADD(mbedtls_asn1_write_raw_buffer(&p, buf, san[i].data, san[i].len));
		DER_ADD(mbedtls_asn1_write_len(&p, buf, san[i].len));
		DER_ADD(mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | tags[san[i].type]));
	}
	int total = der_seq(&p, buf, len);
	if (total < 0)
		return -1;
	return mbedtls_x509write_crt_set_extension(w, OID_ARGS(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, p,
	                                           (size_t)total) ? -1 : 0;
}

static int ext_eku(mbedtls_x509write_cert *w, enum crypto_cert_kind kind)
{
	unsigned char buf[32], *p = buf + sizeof(buf);
	size_t len = 0;
	if (kind == CRYPTO_CERT_SERVER)
		DER_ADD(mbedtls_asn1_write_oid(&p, buf, OID_ARGS(MBEDTLS_OID_SERVER_AUTH)));
	else
		DER_ADD(mbedtls_asn1_write_oid(&p, buf, OID_ARGS(MBEDTLS_OID_CLIENT_AUTH)));
	int total = der_seq(&p, buf, len);
	if (total < 0)
		return -1;
	return mbedtls_x509write_crt_set_extension(w, OID_ARGS(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
	                                           p, (size_t)total) ? -1 : 0;
}

/* authorityKeyIdentifier { [0] keyIdentifier } from the issuer's own
 * subjectKeyIdentifier, so the link holds whatever method made it. */
static int ext_aki(mbedtls_x509write_cert *w, const unsigned char *id, size_t idlen)
{
	unsigned char buf[128], *p = buf + sizeof(buf);
	size_t len = 0;
	if (idlen > 64)
		return -1;
	DER_ADD(mbedtls_asn1_write_raw_buffer(&p, buf, id, idlen));
	DER_ADD(mbedtls_asn1_write_len(&p, buf, idlen));
	DER_ADD(mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0));
	int total = der_seq(&p, buf, len);
	if (total < 0)
		return -1;
	return mbedtls_x509write_crt_set_extension(w, OID_ARGS(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER),
	                                           0, p, (size_t)total) ? -1 : 0;
}

/* Characters that no version of mbedTLS's name parser or RFC 4514 treats
 * specially, so "CN=<cn>" means the same thing everywhere. */
static int cn_ok(const char *cn)
{
	size_t n = strlen(cn);
	if (n == 0 || n > 64 || cn[0] == ' ' || cn[n - 1] == ' ')
		return 0;
	for (const char *c = cn; *c; c++)
		if (*c < 0x20 || *c > 0x7e || strchr(",+\"\\<>;=#", *c))
			return 0;
	return 1;
}

static int x509_time(int64_t t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t < 0 || t > 253402300799LL || !gmtime_r(&tt, &tm))  /* 9999-12-31 */
		return -1;
	return strftime(out, 16, "%Y%m%d%H%M%S", &tm) == 14 ? 0 : -1;
}

int crypto_cert_verify(const struct crypto_cert *c, const struct crypto_cert *ca,
                       enum crypto_cert_kind purpose, char *why, size_t whylen)
{
	uint32_t flags = 0;
	if (mbedtls_x509_crt_verify(crtp(c), crtp(ca), NULL, NULL, &flags, NULL, NULL) != 0) {
		char info[512];
		if (flags == 0 || mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags) <= 0)
			snprintf(info, sizeof(info), "certificate verification failed");
		char *nl = strchr(info, '\n');
		if (nl)
			*nl = 0;
		if (why && whylen)
			snprintf(why, whylen, "%s", info);
		return -1;
	}
	if (purpose == CRYPTO_CERT_SERVER || purpose == CRYPTO_CERT_CLIENT) {
		int server = purpose == CRYPTO_CERT_SERVER;
		int rc = server ? mbedtls_x509_crt_check_extended_key_usage(
		                          crtp(c), OID_ARGS(MBEDTLS_OID_SERVER_AUTH))
		                : mbedtls_x509_crt_check_extended_key_usage(
		                          crtp(c), OID_ARGS(MBEDTLS_OID_CLIENT_AUTH));
		if (rc != 0) {
			set_why(why, whylen, server ? "the certificate is not for server authentication"
			                            : "the certificate is not for client authentication");
			return -1;
		}
		if (mbedtls_x509_crt_check_key_usage(crtp(c), MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0) {
			set_why(why, whylen, "the certificate's keyUsage lacks digitalSignature");
			return -1;
		}
	}
	return 0;
}

char *crypto_cert_issue(const struct crypto_cert_req *r, char *why, size_t whylen)
{
	mbedtls_x509write_cert w;
	mbedtls_mpi serial;
	char subject[80], issuer[1024], nb[16], na[16];
	unsigned char pem[4096];
	int is_ca = r->kind == CRYPTO_CERT_CA, rc = -1, zero = 1;
	char *out = NULL;
	struct crypto_cert *made = NULL;

	if (!cn_ok(r->cn)) {
		set_why(why, whylen, "the common name must be 1-64 printable ASCII characters, "
		        "none of , + \" \\ < > ; = # and no leading or trailing space");
		return NULL;
	}
	if (!r->ca_key->priv) {
		set_why(why, whylen, "the issuer key has no private half");
		return NULL;
	}
	if (is_ca ? (r->ca != NULL || !crypto_pk_equal(r->key, r->ca_key)) : r->ca == NULL) {
		set_why(why, whylen, "internal error: inconsistent issuer");
		return NULL;
	}
	if (!is_ca) {
		struct crypto_pk *capub;
		if (crypto_cert_public_key(r->ca, &capub) != 0) {
			set_why(why, whylen, "the CA certificate's key is not EC P-256");
			return NULL;
		}
		int same = crypto_pk_equal(capub, r->ca_key);
		crypto_pk_free(capub);
		if (!same) {
			set_why(why, whylen, "the CA key does not belong to the CA certificate");
			return NULL;
		}
	}
	for (size_t i = 0; i < sizeof(r->serial); i++)
		zero &= r->serial[i] == 0;
	if ((r->serial[0] & 0x80) || zero || x509_time(r->not_before, nb) ||
	    x509_time(r->not_after, na) || r->not_after <= r->not_before) {
		set_why(why, whylen, "internal error: bad serial or validity");
		return NULL;
	}

	snprintf(subject, sizeof(subject), "CN=%s", r->cn);
	if (is_ca) {
		snprintf(issuer, sizeof(issuer), "%s", subject);
	} else if (mbedtls_x509_dn_gets(issuer, sizeof(issuer), &crtp(r->ca)->subject) < 0) {
		set_why(why, whylen, "cannot read the CA certificate's subject");
		return NULL;
	}

	mbedtls_x509write_crt_init(&w);
	mbedtls_mpi_init(&serial);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, pkctx(r->key));
	mbedtls_x509write_crt_set_issuer_key(&w, pkctx(r->ca_key));
	const char *step = "names";
	if (mbedtls_x509write_crt_set_subject_name(&w, subject) ||
	    mbedtls_x509write_crt_set_issuer_name(&w, issuer))
		goto out;
	step = "serial or validity";
	if (mbedtls_mpi_read_binary(&serial, r->serial, sizeof(r->serial)) ||
	    mbedtls_x509write_crt_set_serial(&w, &serial) ||
	    mbedtls_x509write_crt_set_validity(&w, nb, na))
		goto out;
	step = "extensions";
	if (mbedtls_x509write_crt_set_basic_constraints(&w, is_ca, is_ca ? 0 : -1) ||
	    mbedtls_x509write_crt_set_key_usage(&w, is_ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN |
	                                                         MBEDTLS_X509_KU_CRL_SIGN
	                                                   : MBEDTLS_X509_KU_DIGITAL_SIGNATURE) ||
	    mbedtls_x509write_crt_set_subject_key_identifier(&w))
		goto out;
	if (is_ca) {
		if (mbedtls_x509write_crt_set_authority_key_identifier(&w))
			goto out;
	} else {
		unsigned char *id;
		size_t idlen;
		int has = cert_ski(crtp(r->ca), &id, &idlen);
		if (has < 0 || (has ? ext_aki(&w, id, idlen)
		                    : mbedtls_x509write_crt_set_authority_key_identifier(&w)))
			goto out;
		if (ext_eku(&w, r->kind) || (r->nsan && ext_san(&w, r->san, r->nsan)))
			goto out;
	}
	step = "signature";
	if (mbedtls_x509write_crt_pem(&w, pem, sizeof(pem), rng_cb, NULL))
		goto out;

	/* Check what came out: it parses, names its issuer byte for byte as
	 * the CA names itself, and chains to it. */
	step = "self-check";
	if (crypto_cert_parse(pem, strlen((char *)pem), &made, NULL, 0))
		goto out;
	if (!is_ca) {
		const mbedtls_x509_buf *a = &made->crt.issuer_raw, *b = &crtp(r->ca)->subject_raw;
		if (a->len != b->len || memcmp(a->p, b->p, a->len)) {
			step = "issuer name: the CA's subject cannot be reproduced; "
			       "use a CA made by 'apcore-auth cert ca'";
			goto out;
		}
	}
	char vwhy[256];
	if (crypto_cert_verify(made, is_ca ? made : r->ca, is_ca ? CRYPTO_CERT_CA : r->kind, vwhy,
	                       sizeof(vwhy))) {
		if (why && whylen)
			snprintf(why, whylen, "the new certificate does not verify against its CA: %s",
			         vwhy);
		step = NULL;
		goto out;
	}
	out = xstrdup((char *)pem);
	rc = 0;
out:
	if (rc != 0 && step && why && whylen)
		snprintf(why, whylen, "cannot write the certificate (%s)", step);
	crypto_cert_free(made);
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&w);
	return out;
}

static char *dup_text(const unsigned char *p, size_t n)
{
	if (memchr(p, 0, n) || !utf8_valid(p, n))
		return NULL;
	return xstrndup((const char *)p, n);
}

static void push(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = s;
}

static int64_t x509_time_to_epoch(const mbedtls_x509_time *t)
{
	struct tm tm = { .tm_year = t->year - 1900, .tm_mon = t->mon - 1, .tm_mday = t->day,
	                 .tm_hour = t->hour, .tm_min = t->min, .tm_sec = t->sec };
	return (int64_t)timegm(&tm);
}

int crypto_cert_info(const struct crypto_cert *c, struct crypto_cert_info *info, char *why,
                     size_t whylen)
{
	const mbedtls_x509_crt *crt = &c->crt;
	char buf[1024];
	unsigned char *v, *end;
	size_t vlen;

	memset(info, 0, sizeof(*info));
	if (mbedtls_x509_dn_gets(buf, sizeof(buf), &crt->subject) < 0)
		buf[0] = 0;
	info->subject = xstrdup(buf);
	for (const mbedtls_x509_name *n = &crt->subject; n; n = n->next) {
		if (!n->oid.p || n->oid.len != MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN) ||
		    memcmp(n->oid.p, MBEDTLS_OID_AT_CN, n->oid.len))
			continue;
		info->ncn++;
		free(info->cn);
		info->cn = NULL;
		if (n->val.tag != MBEDTLS_ASN1_UTF8_STRING && n->val.tag != MBEDTLS_ASN1_PRINTABLE_STRING &&
		    n->val.tag != MBEDTLS_ASN1_IA5_STRING)
			goto bad_cn;
		if (!(info->cn = dup_text(n->val.p, n->val.len)))
			goto bad_cn;
	}
	if (info->ncn != 1) {
		free(info->cn);
		info->cn = NULL;
	}

	int has = cert_ext(crt, OID_ARGS(MBEDTLS_OID_SUBJECT_ALT_NAME), &v, &vlen);
	if (has < 0)
		goto bad_ext;
	if (has) {
		size_t len;
		end = v + vlen;
		if (mbedtls_asn1_get_tag(&v, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ||
		    v + len != end)
			goto bad_ext;
		while (v < end) {
			unsigned char tag = *v++;
			if (mbedtls_asn1_get_len(&v, end, &len))
				goto bad_ext;
			if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2) ||
			    tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 6)) {
				char *s = NULL;
				for (size_t i = 0; i < len; i++)
					if (v[i] == 0 || v[i] >= 0x80)
						goto bad_san;
				s = xstrndup((const char *)v, len);
				if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2))
					push(&info->dns, &info->ndns, s);
				else
					push(&info->uri, &info->nuri, s);
			} else if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7)) {
				char ip[INET6_ADDRSTRLEN];
				if ((len != 4 && len != 16) ||
				    !inet_ntop(len == 4 ? AF_INET : AF_INET6, v, ip, sizeof(ip)))
					goto bad_san;
				push(&info->ip, &info->nip, xstrdup(ip));
			}
			v += len;
		}
	}

	has = cert_ext(crt, OID_ARGS(MBEDTLS_OID_BASIC_CONSTRAINTS), &v, &vlen);
	if (has < 0)
		goto bad_ext;
	if (has) {
		size_t len;
		int ca = 0;
		end = v + vlen;
		if (mbedtls_asn1_get_tag(&v, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			goto bad_ext;
		if (len && mbedtls_asn1_get_bool(&v, v + len, &ca) == 0)
			info->is_ca = ca != 0;
	}

	info->not_before = x509_time_to_epoch(&crt->valid_from);
	info->not_after = x509_time_to_epoch(&crt->valid_to);
	if (crt->serial.len <= 20)
		hex_encode(crt->serial.p, crt->serial.len, info->serial);
	return 0;

bad_cn:
	set_why(why, whylen, "the certificate's common name is not text");
	goto fail;
bad_san:
	set_why(why, whylen, "the certificate's subjectAltName holds a malformed name");
	goto fail;
bad_ext:
	set_why(why, whylen, "the certificate's extensions are malformed");
fail:
	crypto_cert_info_free(info);
	return -1;
}

void crypto_cert_info_free(struct crypto_cert_info *info)
{
	free(info->subject);
	free(info->cn);
	for (size_t i = 0; i < info->ndns; i++)
		free(info->dns[i]);
	for (size_t i = 0; i < info->nuri; i++)
		free(info->uri[i]);
	for (size_t i = 0; i < info->nip; i++)
		free(info->ip[i]);
	free(info->dns);
	free(info->uri);
	free(info->ip);
	memset(info, 0, sizeof(*info));
}

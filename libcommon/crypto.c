/* crypto.c - the one door to mbedTLS: random, SHA-256, HMAC, HKDF, PBKDF2,
 * AES-256-GCM, base64 and hex.
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

#include <mbedtls/base64.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/gcm.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

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

struct sha256_ctx {
	mbedtls_md_context_t md;
};

struct sha256_ctx *crypto_sha256_new(void)
{
	struct sha256_ctx *c = xmalloc(sizeof(*c));
	mbedtls_md_init(&c->md);
	if (mbedtls_md_setup(&c->md, sha256_info(), 0) != 0 || mbedtls_md_starts(&c->md) != 0)
		die("SHA-256 setup failed");
	return c;
}

void crypto_sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	if (mbedtls_md_update(&c->md, nz(data), len) != 0)
		die("SHA-256 failed");
}

void crypto_sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN])
{
	int rc = mbedtls_md_finish(&c->md, out);
	mbedtls_md_free(&c->md);
	free(c);
	if (rc != 0)
		die("SHA-256 failed");
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

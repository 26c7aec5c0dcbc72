/* sshsig.c - OpenSSH signatures (PROTOCOL.sshsig) with ecdsa-sha2-nistp256
 * keys, allowed-signers files, and OpenSSH key formats, on top of crypto.c.
 *
 * Wire format (RFC 4251 types): a signature blob is
 *   "SSHSIG" uint32(1) string(publickey) string(namespace) string(reserved)
 *   string(hash_algorithm) string(signature)
 * and the key signs SHA-256 (ecdsa-sha2-nistp256) of
 *   "SSHSIG" string(namespace) string("") string(hash_algorithm) string(H(message)).
 * As in OpenSSH, the reserved field is ignored on reading and empty in
 * the signed data.  Every reader here is strict: no trailing bytes, minimal
 * mpints, one encoding per value.
 */

#include "libcommon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "SSHSIG"
#define MAGIC_LEN 6
#define KEY_TYPE "ecdsa-sha2-nistp256"
#define CURVE "nistp256"
#define ARMOR_BEGIN "-----BEGIN SSH SIGNATURE-----"
#define ARMOR_END "-----END SSH SIGNATURE-----"
#define OPENSSH_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define OPENSSH_END "-----END OPENSSH PRIVATE KEY-----"
#define OPENSSH_MAGIC "openssh-key-v1"   /* followed by a NUL */
#define KEYFILE_CAP (64u << 10)

const char *sshsig_status_str(enum sshsig_status s)
{
	switch (s) {
	case SSHSIG_OK: return "ok";
	case SSHSIG_MALFORMED: return "malformed signature";
	case SSHSIG_UNSUPPORTED: return "unsupported";
	case SSHSIG_NAMESPACE: return "wrong namespace";
	case SSHSIG_BAD: return "bad signature";
	case SSHSIG_NOT_ALLOWED: return "signer not allowed";
	case SSHSIG_ERROR: return "error";
	}
	return "?";
}

/* Input-controlled text for a message: printable ASCII, at most 60 chars. */
static const char *shown(const void *p, size_t n, char out[80])
{
	const unsigned char *s = p;
	size_t i = 0;
	for (; i < n && i < 60; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	if (i < n) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = 0;
	return out;
}

/* ------------------------------------------------------------ wire format */

struct rd {
	const uint8_t *p;
	size_t n;
};

static int rd_u32(struct rd *r, uint32_t *v)
{
	if (r->n < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->n -= 4;
	return 0;
}

static int rd_string(struct rd *r, const uint8_t **s, size_t *len)
{
	uint32_t n;
	if (rd_u32(r, &n) || n > r->n)
		return -1;
	*s = r->p;
	*len = n;
	r->p += n;
	r->n -= n;
	return 0;
}

static int rd_string_is(struct rd *r, const char *want)
{
	const uint8_t *s;
	size_t n;
	return rd_string(r, &s, &n) == 0 && n == strlen(want) && memcmp(s, want, n) == 0;
}

/* A positive mpint of at most 32 significant bytes, minimally encoded,
 * into a 32-byte big-endian buffer. */
static int rd_mpint32(struct rd *r, uint8_t out[32])
{
	const uint8_t *s;
	size_t n;
	if (rd_string(r, &s, &n) || n == 0 || (s[0] & 0x80) ||
	    (s[0] == 0 && (n == 1 || !(s[1] & 0x80))))
		return -1;
	if (s[0] == 0) {
		s++;
		n--;
	}
	if (n > 32)
		return -1;
	memset(out, 0, 32);
	memcpy(out + 32 - n, s, n);
	return 0;
}

static void put_u32(struct strbuf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	sb_add(b, x, 4);
}

static void put_string(struct strbuf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	sb_add(b, p, n);
}

static void put_cstring(struct strbuf *b, const char *s)
{
	put_string(b, s, strlen(s));
}

static void put_mpint32(struct strbuf *b, const uint8_t v[32])
{
	size_t i = 0;
	while (i < 32 && v[i] == 0)
		i++;
	if (i < 32 && (v[i] & 0x80)) {
		put_u32(b, (uint32_t)(32 - i + 1));
		sb_putc(b, 0);
	} else {
		put_u32(b, (uint32_t)(32 - i));
	}
	sb_add(b, v + i, 32 - i);
}

/* ------------------------------------------------------------ public keys */

static void pubkey_blob(const struct crypto_pk *k, struct strbuf *b)
{
	uint8_t q[EC_P256_POINT_LEN];
	crypto_pk_point(k, q);
	put_cstring(b, KEY_TYPE);
	put_cstring(b, CURVE);
	put_string(b, q, sizeof(q));
}

/* Parse a public key blob.  SSHSIG_UNSUPPORTED names the key type. */
static enum sshsig_status parse_pubkey_blob(const uint8_t *p, size_t n, struct crypto_pk **out,
                                            char *why, size_t whylen)
{
	struct rd r = { p, n };
	const uint8_t *type, *q;
	size_t tlen, qlen;
	char s1[80];
	*out = NULL;
	if (rd_string(&r, &type, &tlen)) {
		msgf(why, whylen, "malformed public key");
		return SSHSIG_MALFORMED;
	}
	if (tlen != strlen(KEY_TYPE) || memcmp(type, KEY_TYPE, tlen)) {
		msgf(why, whylen, "key type %s is not supported (only " KEY_TYPE ")",
		        shown(type, tlen, s1));
		return SSHSIG_UNSUPPORTED;
	}
	if (!rd_string_is(&r, CURVE) || rd_string(&r, &q, &qlen) || r.n != 0 ||
	    crypto_pk_from_point(q, qlen, out) != 0) {
		msgf(why, whylen, "malformed " KEY_TYPE " public key");
		return SSHSIG_MALFORMED;
	}
	return SSHSIG_OK;
}

char *sshsig_pubkey_line(const struct crypto_pk *k)
{
	struct strbuf b = STRBUF_INIT;
	pubkey_blob(k, &b);
	char *b64 = crypto_b64_encode(b.buf, b.len);
	char *line = xasprintf(KEY_TYPE " %s", b64);
	free(b64);
	sb_free(&b);
	return line;
}

void sshsig_fingerprint(const struct crypto_pk *k, char fp[SSHSIG_FP_LEN])
{
	struct strbuf b = STRBUF_INIT;
	uint8_t h[SHA256_LEN];
	pubkey_blob(k, &b);
	crypto_sha256(b.buf, b.len, h);
	sb_free(&b);
	char *b64 = crypto_b64_encode(h, sizeof(h));
	size_t n = strlen(b64);
	while (n && b64[n - 1] == '=')
		b64[--n] = 0;
	snprintf(fp, SSHSIG_FP_LEN, "SHA256:%s", b64);
	free(b64);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

int sshsig_key_parse_public(const char *line, size_t len, struct crypto_pk **out, char *why,
                            size_t whylen)
{
	char s1[80];
	size_t i = 0, t0, b0;
	uint8_t *blob;
	size_t bloblen;
	*out = NULL;
	while (i < len && is_space(line[i]))
		i++;
	for (t0 = i; i < len && !is_space(line[i]) && line[i] != '\n'; i++)
		;
	size_t tlen = i - t0;
	while (i < len && is_space(line[i]))
		i++;
	for (b0 = i; i < len && !is_space(line[i]) && line[i] != '\n' && line[i] != '\r'; i++)
		;
	if (tlen != strlen(KEY_TYPE) || memcmp(line + t0, KEY_TYPE, tlen)) {
		msgf(why, whylen, "key type %s is not supported (only " KEY_TYPE ")",
		        shown(line + t0, tlen, s1));
		return -1;
	}
	if (crypto_b64_decode(line + b0, i - b0, &blob, &bloblen) != 0) {
		msgf(why, whylen, "the public key is not base64");
		return -1;
	}
	enum sshsig_status st = parse_pubkey_blob(blob, bloblen, out, why, whylen);
	free(blob);
	return st == SSHSIG_OK ? 0 : -1;
}

/* ----------------------------------------------------------- private keys */

/* The base64 body between two armor lines, joined, decoded into a secure
 * buffer.  NULL when the armor or the base64 is wrong. */
static uint8_t *dearmor_secret(const char *s, size_t len, const char *begin, const char *end,
                               size_t *outlen)
{
	const char *b = memmem(s, len, begin, strlen(begin));
	if (!b)
		return NULL;
	b += strlen(begin);
	const char *e = memmem(b, len - (size_t)(b - s), end, strlen(end));
	if (!e)
		return NULL;
	char *body = secure_alloc((size_t)(e - b) + 1);
	size_t n = 0;
	for (const char *p = b; p < e; p++)
		if (*p != '\n' && *p != '\r')
			body[n++] = *p;
	uint8_t *raw;
	size_t rawlen;
	int rc = crypto_b64_decode(body, n, &raw, &rawlen);
	secure_free(body);
	if (rc != 0)
		return NULL;
	uint8_t *sec = secure_alloc(rawlen ? rawlen : 1);
	memcpy(sec, raw, rawlen);
	secure_wipe(raw, rawlen);
	free(raw);
	*outlen = rawlen;
	return sec;
}

/* openssh-key-v1 (PROTOCOL.key), unencrypted, one ecdsa-sha2-nistp256 key. */
static int parse_openssh_private(const uint8_t *blob, size_t n, struct crypto_pk **out, char *why,
                                 size_t whylen)
{
	struct rd r = { blob, n }, priv;
	const uint8_t *cipher, *kdf, *kdfopts, *pub, *privsec, *q, *comment;
	size_t cipherlen, kdflen, kdfoptslen, publen, privlen, qlen, commentlen;
	uint32_t nkeys, check1, check2;
	uint8_t d[32];
	struct crypto_pk *k = NULL, *outer = NULL;
	int rc = -1;
	char s1[80];

	if (n < sizeof(OPENSSH_MAGIC) || memcmp(blob, OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC))) {
		msgf(why, whylen, "not an openssh-key-v1 private key");
		return -1;
	}
	r.p += sizeof(OPENSSH_MAGIC);
	r.n -= sizeof(OPENSSH_MAGIC);
	if (rd_string(&r, &cipher, &cipherlen) || rd_string(&r, &kdf, &kdflen) ||
	    rd_string(&r, &kdfopts, &kdfoptslen) || rd_u32(&r, &nkeys)) {
		msgf(why, whylen, "malformed OpenSSH private key");
		return -1;
	}
	if (cipherlen != 4 || memcmp(cipher, "none", 4) || kdflen != 4 || memcmp(kdf, "none", 4)) {
		msgf(why, whylen, "the OpenSSH private key is protected by a passphrase, which is "
		        "not supported: use a key made with -N '' in a 0600 file");
		return -1;
	}
	(void)kdfopts;
	if (nkeys != 1 || rd_string(&r, &pub, &publen) || rd_string(&r, &privsec, &privlen) ||
	    r.n != 0) {
		msgf(why, whylen, "malformed OpenSSH private key (one key expected)");
		return -1;
	}
	if (parse_pubkey_blob(pub, publen, &outer, why, whylen) != SSHSIG_OK)
		return -1;

	/* Unencrypted: the private section is padded to the 8-byte block. */
	priv = (struct rd){ privsec, privlen };
	if (privlen % 8 || rd_u32(&priv, &check1) || rd_u32(&priv, &check2) || check1 != check2) {
		msgf(why, whylen, "malformed OpenSSH private key (check bytes)");
		goto out;
	}
	const uint8_t *type;
	size_t typelen;
	if (rd_string(&priv, &type, &typelen)) {
		msgf(why, whylen, "malformed OpenSSH private key");
		goto out;
	}
	if (typelen != strlen(KEY_TYPE) || memcmp(type, KEY_TYPE, typelen)) {
		msgf(why, whylen, "key type %s is not supported (only " KEY_TYPE ")",
		        shown(type, typelen, s1));
		goto out;
	}
	if (!rd_string_is(&priv, CURVE) || rd_string(&priv, &q, &qlen) || rd_mpint32(&priv, d) ||
	    rd_string(&priv, &comment, &commentlen) || priv.n >= 8) {
		msgf(why, whylen, "malformed OpenSSH private key");
		goto out;
	}
	for (size_t i = 0; i < priv.n; i++)
		if (priv.p[i] != (uint8_t)(i + 1)) {
			msgf(why, whylen, "malformed OpenSSH private key (padding)");
			goto out;
		}
	(void)comment;
	if (crypto_pk_from_scalar(d, &k) != 0) {
		msgf(why, whylen, "the OpenSSH private key holds an invalid scalar");
		goto out;
	}
	uint8_t qk[EC_P256_POINT_LEN];
	crypto_pk_point(k, qk);
	if (qlen != sizeof(qk) || memcmp(q, qk, qlen) || !crypto_pk_equal(k, outer)) {
		msgf(why, whylen, "the OpenSSH private key does not match its public key");
		goto out;
	}
	*out = k;
	k = NULL;
	rc = 0;
out:
	secure_wipe(d, sizeof(d));
	crypto_pk_free(k);
	crypto_pk_free(outer);
	return rc;
}

int sshsig_key_parse_private(const void *buf, size_t len, struct crypto_pk **out, char *why,
                             size_t whylen)
{
	*out = NULL;
	if (!memmem(buf, len, OPENSSH_BEGIN, strlen(OPENSSH_BEGIN)))
		return crypto_pk_parse_private(buf, len, out, why, whylen);
	size_t n;
	uint8_t *blob = dearmor_secret(buf, len, OPENSSH_BEGIN, OPENSSH_END, &n);
	if (!blob) {
		msgf(why, whylen, "malformed OpenSSH private key armor or base64");
		return -1;
	}
	int rc = parse_openssh_private(blob, n, out, why, whylen);
	secure_free(blob);
	return rc;
}


int sshsig_key_load(const char *path, struct crypto_pk **out, char *why, size_t whylen)
{
	char w[200];
	size_t len;
	*out = NULL;
	char *buf = secure_read_key_file(path, 1, KEYFILE_CAP, &len, why, whylen);
	if (!buf)
		return -1;
	int rc = sshsig_key_parse_private(buf, len, out, w, sizeof(w));
	secure_free(buf);
	if (rc != 0)
		msgf(why, whylen, "%s: %s", path, w);
	return rc;
}

/* ------------------------------------------------------------- signatures */

struct sshsig {
	struct crypto_pk *key;
	char *ns;
	enum sshsig_hash hash;
	uint8_t sig[ECDSA_P256_SIG_LEN];
};

static const char *hash_name(enum sshsig_hash h)
{
	return h == SSHSIG_SHA256 ? "sha256" : "sha512";
}

static size_t hash_len(enum sshsig_hash h)
{
	return h == SSHSIG_SHA256 ? SHA256_LEN : SHA512_LEN;
}

void sshsig_free(struct sshsig *s)
{
	if (!s)
		return;
	crypto_pk_free(s->key);
	free(s->ns);
	free(s);
}

const char *sshsig_namespace(const struct sshsig *s)
{
	return s->ns;
}

enum sshsig_hash sshsig_hash_alg(const struct sshsig *s)
{
	return s->hash;
}

const struct crypto_pk *sshsig_key(const struct sshsig *s)
{
	return s->key;
}

/* The armored text: BEGIN line, base64 lines, END line, then only
 * whitespace.  Blob in *blob (heap). */
static int dearmor(const char *s, size_t len, uint8_t **blob, size_t *bloblen)
{
	size_t bl = strlen(ARMOR_BEGIN), el = strlen(ARMOR_END);
	if (len < bl || memcmp(s, ARMOR_BEGIN, bl))
		return -1;
	const char *b = s + bl, *end = s + len;
	if (b < end && *b == '\r')
		b++;
	if (b >= end || *b != '\n')
		return -1;
	const char *e = memmem(b, (size_t)(end - b), ARMOR_END, el);
	if (!e)
		return -1;
	for (const char *p = e + el; p < end; p++)
		if (*p != '\n' && *p != '\r' && !is_space(*p))
			return -1;
	char *body = xmalloc((size_t)(e - b) + 1);
	size_t n = 0;
	for (const char *p = b; p < e; p++)
		if (*p != '\n' && *p != '\r')
			body[n++] = *p;
	int rc = crypto_b64_decode(body, n, blob, bloblen);
	free(body);
	return rc;
}

enum sshsig_status sshsig_parse(const char *armored, size_t len, struct sshsig **out, char *why,
                                size_t whylen)
{
	uint8_t *blob = NULL;
	size_t bloblen;
	const uint8_t *pub, *ns, *reserved, *halg, *sigblob, *inner;
	size_t publen, nslen, reslen, halglen, sigbloblen, innerlen;
	uint32_t version;
	struct sshsig *s = xzalloc(sizeof(*s));
	enum sshsig_status st = SSHSIG_MALFORMED;
	char s1[80];

	*out = NULL;
	if (len > SSHSIG_MAX_LEN || dearmor(armored, len, &blob, &bloblen) != 0) {
		msgf(why, whylen, "not an armored SSH signature (" ARMOR_BEGIN " ...)");
		goto out;
	}
	struct rd r = { blob, bloblen };
	if (bloblen < MAGIC_LEN || memcmp(blob, MAGIC, MAGIC_LEN)) {
		msgf(why, whylen, "not an SSHSIG blob");
		goto out;
	}
	r.p += MAGIC_LEN;
	r.n -= MAGIC_LEN;
	if (rd_u32(&r, &version)) {
		msgf(why, whylen, "truncated SSH signature");
		goto out;
	}
	if (version != 1) {
		msgf(why, whylen, "SSH signature version %u is not supported", version);
		st = SSHSIG_UNSUPPORTED;
		goto out;
	}
	if (rd_string(&r, &pub, &publen) || rd_string(&r, &ns, &nslen) ||
	    rd_string(&r, &reserved, &reslen) || rd_string(&r, &halg, &halglen) ||
	    rd_string(&r, &sigblob, &sigbloblen)) {
		msgf(why, whylen, "truncated SSH signature");
		goto out;
	}
	if (r.n != 0) {
		msgf(why, whylen, "the SSH signature has trailing data");
		goto out;
	}
	(void)reserved;
	if (nslen == 0 || memchr(ns, 0, nslen)) {
		msgf(why, whylen, "the SSH signature has an empty or binary namespace");
		goto out;
	}
	if (halglen == 6 && !memcmp(halg, "sha512", 6)) {
		s->hash = SSHSIG_SHA512;
	} else if (halglen == 6 && !memcmp(halg, "sha256", 6)) {
		s->hash = SSHSIG_SHA256;
	} else {
		msgf(why, whylen, "hash algorithm %s is not supported", shown(halg, halglen, s1));
		st = SSHSIG_UNSUPPORTED;
		goto out;
	}
	if ((st = parse_pubkey_blob(pub, publen, &s->key, why, whylen)) != SSHSIG_OK)
		goto out;
	st = SSHSIG_MALFORMED;
	r = (struct rd){ sigblob, sigbloblen };
	if (!rd_string_is(&r, KEY_TYPE) || rd_string(&r, &inner, &innerlen) || r.n != 0) {
		msgf(why, whylen, "malformed " KEY_TYPE " signature");
		goto out;
	}
	r = (struct rd){ inner, innerlen };
	if (rd_mpint32(&r, s->sig) || rd_mpint32(&r, s->sig + 32) || r.n != 0) {
		msgf(why, whylen, "malformed " KEY_TYPE " signature values");
		goto out;
	}
	s->ns = xstrndup((const char *)ns, nslen);
	*out = s;
	s = NULL;
	st = SSHSIG_OK;
out:
	free(blob);
	sshsig_free(s);
	return st;
}

/* What the key signs: SHA-256 of the SSHSIG signed-data structure. */
static void signed_data_digest(const char *ns, enum sshsig_hash h, const uint8_t *digest,
                               uint8_t out[SHA256_LEN])
{
	struct strbuf b = STRBUF_INIT;
	sb_add(&b, MAGIC, MAGIC_LEN);
	put_cstring(&b, ns);
	put_string(&b, NULL, 0);
	put_cstring(&b, hash_name(h));
	put_string(&b, digest, hash_len(h));
	crypto_sha256(b.buf, b.len, out);
	sb_free(&b);
}

enum sshsig_status sshsig_check_digest(const struct sshsig *s, const uint8_t *digest,
                                       size_t dlen, char *why, size_t whylen)
{
	uint8_t h[SHA256_LEN];
	if (dlen != hash_len(s->hash)) {
		msgf(why, whylen, "internal error: digest length");
		return SSHSIG_ERROR;
	}
	signed_data_digest(s->ns, s->hash, digest, h);
	if (crypto_ecdsa_verify_digest(s->key, h, s->sig, sizeof(s->sig)) != 0) {
		msgf(why, whylen, "the signature does not match the message");
		return SSHSIG_BAD;
	}
	return SSHSIG_OK;
}

/* Hash a message from fd (to EOF) or from a buffer.  0 or -1/errno. */
static int hash_message(enum sshsig_hash h, int fd, const void *msg, size_t len,
                        uint8_t out[SHA512_LEN])
{
	struct sha256_ctx *c256 = h == SSHSIG_SHA256 ? crypto_sha256_new() : NULL;
	struct sha512_ctx *c512 = h == SSHSIG_SHA512 ? crypto_sha512_new() : NULL;
	int rc = 0;
	if (fd < 0) {
		if (c256)
			crypto_sha256_update(c256, msg, len);
		else
			crypto_sha512_update(c512, msg, len);
	} else {
		enum { CHUNK = 1 << 16 };
		uint8_t *buf = xmalloc(CHUNK);
		for (;;) {
			ssize_t n = read_full(fd, buf, CHUNK);
			if (n < 0) {
				rc = -1;
				break;
			}
			if (c256)
				crypto_sha256_update(c256, buf, (size_t)n);
			else
				crypto_sha512_update(c512, buf, (size_t)n);
			if ((size_t)n < CHUNK)
				break;
		}
		int e = errno;
		free(buf);
		errno = e;
	}
	if (c256)
		crypto_sha256_final(c256, out);
	else
		crypto_sha512_final(c512, out);
	return rc;
}

static char *armor(const struct strbuf *blob)
{
	struct strbuf out = STRBUF_INIT;
	char *b64 = crypto_b64_encode(blob->buf, blob->len);
	size_t n = strlen(b64);
	sb_puts(&out, ARMOR_BEGIN "\n");
	for (size_t i = 0; i < n; i += 70) {
		sb_add(&out, b64 + i, n - i < 70 ? n - i : 70);
		sb_putc(&out, '\n');
	}
	sb_puts(&out, ARMOR_END "\n");
	free(b64);
	return sb_detach(&out, NULL);
}

static char *sign_common(const struct crypto_pk *key, int fd, const void *msg, size_t len,
                         const char *ns, enum sshsig_hash h, char *why, size_t whylen)
{
	uint8_t digest[SHA512_LEN], sd[SHA256_LEN], sig[ECDSA_P256_SIG_LEN];
	struct strbuf blob = STRBUF_INIT, sigblob = STRBUF_INIT, inner = STRBUF_INIT;

	if (!crypto_pk_has_private(key)) {
		msgf(why, whylen, "signing needs a private key");
		return NULL;
	}
	if (!ns || !*ns) {
		msgf(why, whylen, "the namespace must not be empty");
		return NULL;
	}
	if (hash_message(h, fd, msg, len, digest) != 0) {
		msgf(why, whylen, "cannot read the message: %s", strerror(errno));
		return NULL;
	}
	signed_data_digest(ns, h, digest, sd);
	if (crypto_ecdsa_sign_digest(key, sd, sig) != 0) {
		msgf(why, whylen, "signing failed");
		return NULL;
	}
	put_mpint32(&inner, sig);
	put_mpint32(&inner, sig + 32);
	put_cstring(&sigblob, KEY_TYPE);
	put_string(&sigblob, inner.buf, inner.len);

	struct strbuf pub = STRBUF_INIT;
	pubkey_blob(key, &pub);
	sb_add(&blob, MAGIC, MAGIC_LEN);
	put_u32(&blob, 1);
	put_string(&blob, pub.buf, pub.len);
	put_cstring(&blob, ns);
	put_string(&blob, NULL, 0);
	put_cstring(&blob, hash_name(h));
	put_string(&blob, sigblob.buf, sigblob.len);
	char *out = armor(&blob);
	sb_free(&pub);
	sb_free(&blob);
	sb_free(&sigblob);
	sb_free(&inner);
	return out;
}

char *sshsig_sign_fd(const struct crypto_pk *key, int fd, const char *ns, enum sshsig_hash h,
                     char *why, size_t whylen)
{
	return sign_common(key, fd, NULL, 0, ns, h, why, whylen);
}

char *sshsig_sign_buf(const struct crypto_pk *key, const void *msg, size_t len, const char *ns,
                      enum sshsig_hash h, char *why, size_t whylen)
{
	return sign_common(key, -1, msg, len, ns, h, why, whylen);
}

/* -------------------------------------------------------- allowed signers */

static int glob_match(const char *s, const char *p)
{
	const char *star = NULL, *back = NULL;
	while (*s) {
		if (*p == '*') {
			star = p++;
			back = s;
		} else if (*p == '?' || *p == *s) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++back;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return *p == 0;
}

int sshsig_match_list(const char *s, const char *patterns)
{
	char sub[1024];
	int positive = 0;
	const char *p = patterns;
	while (*p) {
		int negated = *p == '!';
		if (negated)
			p++;
		size_t n = strcspn(p, ",");
		if (n >= sizeof(sub))
			return 0;
		memcpy(sub, p, n);
		sub[n] = 0;
		p += n;
		if (*p == ',')
			p++;
		if (glob_match(s, sub)) {
			if (negated)
				return -1;
			positive = 1;
		}
	}
	return positive;
}

int sshsig_parse_time(const char *s, int64_t *t)
{
	char buf[32];
	size_t l = strlen(s);
	int utc = 0;
	struct tm tm;
	const char *fmt;

	if (l > 1 && (s[l - 1] == 'Z' || s[l - 1] == 'z')) {
		utc = 1;
		l--;
	} else if (l > 3 && !strcasecmp(s + l - 3, "UTC")) {
		utc = 1;
		l -= 3;
	}
	for (size_t i = 0; i < l; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	switch (l) {
	case 8:
		fmt = "%Y-%m-%d";
		snprintf(buf, sizeof(buf), "%.4s-%.2s-%.2s", s, s + 4, s + 6);
		break;
	case 12:
		fmt = "%Y-%m-%dT%H:%M";
		snprintf(buf, sizeof(buf), "%.4s-%.2s-%.2sT%.2s:%.2s", s, s + 4, s + 6, s + 8, s + 10);
		break;
	case 14:
		fmt = "%Y-%m-%dT%H:%M:%S";
		snprintf(buf, sizeof(buf), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s", s, s + 4, s + 6, s + 8,
		         s + 10, s + 12);
		break;
	default:
		return -1;
	}
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(buf, fmt, &tm);
	if (!end || *end)
		return -1;
	tm.tm_isdst = -1;
	time_t tt = utc ? timegm(&tm) : mktime(&tm);
	if (tt <= 0)
		return -1;
	*t = (int64_t)tt;
	return 0;
}

struct signer_opts {
	int ca;
	char *namespaces;
	int64_t valid_after, valid_before;
};

/* A double-quoted option value with \" escapes; advances *pp past it. */
static char *dequote(const char **pp)
{
	const char *p = *pp;
	if (*p != '"')
		return NULL;
	p++;
	char *v = xmalloc(strlen(p) + 1);
	size_t n = 0;
	while (*p && *p != '"') {
		if (p[0] == '\\' && p[1] == '"')
			p++;
		v[n++] = *p++;
	}
	if (*p != '"') {
		free(v);
		return NULL;
	}
	v[n] = 0;
	*pp = p + 1;
	return v;
}

static int opt_name(const char **pp, const char *name)
{
	size_t n = strlen(name);
	if (strncasecmp(*pp, name, n) || (*pp)[n] != '=')
		return 0;
	*pp += n + 1;
	return 1;
}

static const char *opt_time(const char **pp, int64_t *t, int after)
{
	if (*t)
		return after ? "multiple valid-after options" : "multiple valid-before options";
	char *v = dequote(pp);
	int rc = v ? sshsig_parse_time(v, t) : -1;
	free(v);
	if (rc != 0)
		return after ? "invalid valid-after time" : "invalid valid-before time";
	return NULL;
}

static const char *parse_signer_opts(const char *p, struct signer_opts *o)
{
	const char *bad;
	while (*p) {
		if (!strncasecmp(p, "cert-authority", 14) && (p[14] == ',' || !p[14])) {
			o->ca = 1;
			p += 14;
		} else if (opt_name(&p, "namespaces")) {
			if (o->namespaces)
				return "multiple namespaces options";
			if (!(o->namespaces = dequote(&p)))
				return "namespaces needs a quoted value";
		} else if (opt_name(&p, "valid-after")) {
			if ((bad = opt_time(&p, &o->valid_after, 1)))
				return bad;
		} else if (opt_name(&p, "valid-before")) {
			if ((bad = opt_time(&p, &o->valid_before, 0)))
				return bad;
		} else {
			return "unknown option";
		}
		if (*p == ',')
			p++;
		else if (*p)
			return "options must be separated by ','";
	}
	if (o->valid_after && o->valid_before && o->valid_before <= o->valid_after)
		return "valid-before is not after valid-after";
	return NULL;
}

/* Next whitespace-delimited field of *pp; a leading '"' quotes up to the
 * next '"' (ssh-keygen's principals).  NUL-terminates in place. */
static char *next_field(char **pp, int quotes)
{
	char *p = *pp;
	while (is_space(*p))
		p++;
	if (!*p)
		return NULL;
	char *start = p;
	if (quotes && *p == '"') {
		start = ++p;
		p = strchr(p, '"');
		if (!p)
			return NULL;
	} else {
		while (*p && !is_space(*p))
			p++;
	}
	if (*p)
		*p++ = 0;
	*pp = p;
	return start;
}

/* The options field runs to the first blank outside quotes. */
static char *options_field(char **pp)
{
	char *p = *pp;
	while (is_space(*p))
		p++;
	char *start = p;
	int quoted = 0;
	for (; *p && (quoted || !is_space(*p)); p++) {
		if (p[0] == '\\' && p[1] == '"')
			p++;
		else if (*p == '"')
			quoted = !quoted;
	}
	if (quoted)
		return NULL;
	if (*p)
		*p++ = 0;
	*pp = p;
	return start;
}

/* Is the field at f (n bytes up to the first blank) options rather than a
 * key type?  Options always hold '=' or '"', or are cert-authority. */
static int looks_like_options(const char *f, size_t n)
{
	return memchr(f, '=', n) || memchr(f, '"', n) ||
	       (n >= 14 && !strncasecmp(f, "cert-authority", 14));
}

enum sshsig_status sshsig_allowed(const char *text, size_t len, const char *name,
                                  const struct crypto_pk *key, const char *identity,
                                  const char *ns, int64_t now, char *why, size_t whylen)
{
	char fp[SSHSIG_FP_LEN], reason[300] = "", firstbad[200] = "";
	const char *p = text, *end = text + len;
	unsigned long lineno = 0;

	sshsig_fingerprint(key, fp);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = xstrndup(p, n), *cur = line, *f;
		struct signer_opts o = { 0, NULL, 0, 0 };
		const char *bad = memchr(p, 0, n) ? "NUL byte" : NULL;
		struct crypto_pk *lk = NULL;
		p += n + (nl ? 1 : 0);
		lineno++;
		size_t ll = strlen(line);
		if (ll && line[ll - 1] == '\r')
			line[ll - 1] = 0;

		char *first = line + strspn(line, " \t");
		if (!bad && (!*first || *first == '#'))
			goto next;
		char *principals = bad ? NULL : next_field(&cur, 1);
		if (!principals) {
			bad = bad ? bad : "unterminated quote";
			goto next;
		}
		if (sshsig_match_list(identity, principals) != 1)
			goto next;
		cur += strspn(cur, " \t");
		if (looks_like_options(cur, strcspn(cur, " \t"))) {
			char *opts = options_field(&cur);
			if (!opts) {
				bad = "unterminated quote in options";
				goto next;
			}
			if ((bad = parse_signer_opts(opts, &o)))
				goto next;
		}
		if (!(f = next_field(&cur, 0))) {
			bad = "no key";
			goto next;
		}
		char *b64 = next_field(&cur, 0);
		if (!b64) {
			bad = "no key";
			goto next;
		}
		if (o.ca || strcmp(f, KEY_TYPE))
			goto next;  /* certificates and other key types never match */
		uint8_t *blob;
		size_t bloblen;
		if (crypto_b64_decode(b64, strlen(b64), &blob, &bloblen) != 0) {
			bad = "key is not base64";
			goto next;
		}
		enum sshsig_status st = parse_pubkey_blob(blob, bloblen, &lk, NULL, 0);
		free(blob);
		if (st != SSHSIG_OK) {
			bad = "invalid key";
			goto next;
		}
		if (!crypto_pk_equal(lk, key))
			goto next;
		if (o.namespaces && sshsig_match_list(ns, o.namespaces) != 1) {
			char s1[80];
			snprintf(reason, sizeof(reason), "%s:%lu: key not allowed for namespace '%s'",
			         name, lineno, shown(ns, strlen(ns), s1));
			goto next;
		}
		if (o.valid_after && now < o.valid_after) {
			snprintf(reason, sizeof(reason), "%s:%lu: key not yet valid (valid-after)", name,
			         lineno);
			goto next;
		}
		if (o.valid_before && now > o.valid_before) {
			snprintf(reason, sizeof(reason), "%s:%lu: key expired (valid-before)", name, lineno);
			goto next;
		}
		crypto_pk_free(lk);
		free(o.namespaces);
		free(line);
		return SSHSIG_OK;
next:
		if (bad && !firstbad[0])
			snprintf(firstbad, sizeof(firstbad), " (%s:%lu ignored: %s)", name, lineno, bad);
		crypto_pk_free(lk);
		free(o.namespaces);
		free(line);
	}
	if (reason[0]) {
		msgf(why, whylen, "%s", reason);
	} else {
		char s1[80];
		msgf(why, whylen, "%s does not allow key %s for '%s'%s", name, fp,
		        shown(identity, strlen(identity), s1), firstbad);
	}
	return SSHSIG_NOT_ALLOWED;
}

/* ----------------------------------------------------------------- verify */

static enum sshsig_status verify_common(int fd, const void *msg, size_t msglen, const char *sig,
                                        size_t siglen, const char *allowed, const char *identity,
                                        const char *ns, int64_t now, char *fp, char *why,
                                        size_t whylen)
{
	struct sshsig *s = NULL;
	uint8_t digest[SHA512_LEN];
	char *text = NULL, s1[80], s2[80];
	size_t textlen;
	enum sshsig_status st;

	if (why && whylen)
		why[0] = 0;
	if (!identity || !*identity || !ns || !*ns) {
		msgf(why, whylen, "identity and namespace must not be empty");
		return SSHSIG_ERROR;
	}
	if ((st = sshsig_parse(sig, siglen, &s, why, whylen)) != SSHSIG_OK)
		return st;
	if (strcmp(s->ns, ns)) {
		msgf(why, whylen, "signed for namespace '%s', not '%s'",
		        shown(s->ns, strlen(s->ns), s1), shown(ns, strlen(ns), s2));
		st = SSHSIG_NAMESPACE;
		goto out;
	}
	if (hash_message(s->hash, fd, msg, msglen, digest) != 0) {
		msgf(why, whylen, "cannot read the message: %s", strerror(errno));
		st = SSHSIG_ERROR;
		goto out;
	}
	if ((st = sshsig_check_digest(s, digest, hash_len(s->hash), why, whylen)) != SSHSIG_OK)
		goto out;
	if (read_file_capped(allowed, SSHSIG_ALLOWED_CAP, &text, &textlen) != 0) {
		msgf(why, whylen, "cannot read %s: %s", allowed,
		        errno == EFBIG ? "file too large" : strerror(errno));
		st = SSHSIG_ERROR;
		goto out;
	}
	st = sshsig_allowed(text, textlen, allowed, s->key, identity, ns,
	                    now ? now : (int64_t)time(NULL), why, whylen);
	if (st == SSHSIG_OK && fp)
		sshsig_fingerprint(s->key, fp);
out:
	free(text);
	sshsig_free(s);
	return st;
}

enum sshsig_status sshsig_verify_fd(int msg_fd, const char *sig, size_t siglen,
                                    const char *allowed_signers, const char *identity,
                                    const char *ns, int64_t now, char fp[SSHSIG_FP_LEN],
                                    char *why, size_t whylen)
{
	if (msg_fd < 0) {
		msgf(why, whylen, "internal error: no message fd");
		return SSHSIG_ERROR;
	}
	return verify_common(msg_fd, NULL, 0, sig, siglen, allowed_signers, identity, ns, now, fp,
	                     why, whylen);
}

enum sshsig_status sshsig_verify_buf(const void *msg, size_t msglen, const char *sig,
                                     size_t siglen, const char *allowed_signers,
                                     const char *identity, const char *ns, int64_t now,
                                     char fp[SSHSIG_FP_LEN], char *why, size_t whylen)
{
	return verify_common(-1, msg, msglen, sig, siglen, allowed_signers, identity, ns, now, fp,
	                     why, whylen);
}

/* secrets.c - config secret tokens: the apcore-cli formats (keyring:,
 * enc:v2:, legacy enc:) and apcore's key-bound enc:v3:.  Shared by every
 * applet that reads a secret from a config file.
 *
 * Deviations from the reference, each fixing one of its flaws
 * (shared/reference/apcore-reference.md §10):
 * - legacy v1 tries 100k iterations before 600k (no writer used 600k), and
 *   also the passphrase after host:user, so tokens of every SDK decrypt;
 * - keyring errors other than "not found" are reported, not raised raw;
 * - derived v1 keys and the master key are kept for the life of a sec_ctx
 *   so decrypting a whole file does each shared derivation once.
 */

#include "libcommon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define V1_SALT "apcore-cli-config-v1"
#define V2_SALT_LEN 16
#define V2_HDR (V2_SALT_LEN + GCM_IV_LEN + GCM_TAG_LEN)
#define V1_HDR (GCM_IV_LEN + GCM_TAG_LEN)
#define V3_INFO "apcore-encrypt v3 value key"
#define KID_INFO "apcore-encrypt master key id"
#define MASTER_ACCOUNT "encrypt.master-key"
#define MASTER_SERVICE "apcore"
#define MASTER_FILE_TAG "apcore-master-key:v1:"

struct v1_key {
	int passphrase;       /* derived from the passphrase, not host:user */
	unsigned iterations;
	uint8_t key[AES256_KEY_LEN];
};

/* A v2 key derived ahead of time by sec_prefetch(). */
struct v2_key {
	uint8_t salt[V2_SALT_LEN];
	uint8_t key[AES256_KEY_LEN];
	int ok;
};

struct sec_ctx {
	char *hostname, *user;        /* identity override, or NULL */
	char *key_file;               /* master key file override, or NULL */
	int kr_timeout_ms;
	struct v1_key *v1;            /* secure_alloc()ed cache, up to 4 */
	size_t nv1;
	struct v2_key *v2;            /* secure_alloc()ed, from sec_prefetch */
	size_t nv2;
	uint8_t *master;              /* secure_alloc()ed, AES256_KEY_LEN */
	char master_kid[17];
	char *master_where;
	int master_tried;
	enum sec_status master_status;
	char master_msg[256];
};

enum sec_format sec_format_of(const char *t)
{
	if (!strncmp(t, "keyring:", 8))
		return SEC_FMT_KEYRING;
	if (!strncmp(t, "enc:v2:", 7))
		return SEC_FMT_V2;
	if (!strncmp(t, "enc:v3:", 7))
		return SEC_FMT_V3;
	if (!strncmp(t, "enc:", 4))
		return SEC_FMT_V1;
	return SEC_FMT_PLAIN;
}

const char *sec_format_name(enum sec_format f)
{
	static const char *names[] = { "plain", "keyring", "enc-v1", "enc-v2", "enc-v3" };
	return names[f];
}

struct sec_ctx *sec_ctx_new(void)
{
	struct sec_ctx *c = xzalloc(sizeof(*c));
	c->kr_timeout_ms = KR_DEFAULT_TIMEOUT_MS;
	c->v1 = secure_alloc(4 * sizeof(*c->v1));
	return c;
}

void sec_ctx_free(struct sec_ctx *c)
{
	if (!c)
		return;
	free(c->hostname);
	free(c->user);
	free(c->key_file);
	free(c->master_where);
	secure_free(c->v1);
	secure_free(c->v2);
	secure_free(c->master);
	free(c);
}

void sec_ctx_set_identity(struct sec_ctx *c, const char *hostname, const char *user)
{
	free(c->hostname);
	free(c->user);
	c->hostname = hostname ? xstrdup(hostname) : NULL;
	c->user = user ? xstrdup(user) : NULL;
	c->nv1 = 0;
}

void sec_ctx_set_key_file(struct sec_ctx *c, const char *path)
{
	free(c->key_file);
	c->key_file = path ? xstrdup(path) : NULL;
	c->master_tried = 0;
}

void sec_ctx_set_keyring_timeout(struct sec_ctx *c, int timeout_ms)
{
	c->kr_timeout_ms = timeout_ms;
}

/* The reference's message, with the hint pointing at a command that really
 * re-encrypts (the reference's 'apcore-cli config set' never did). */
static enum sec_status decrypt_failed(const char *key, char *msg, size_t msglen)
{
	msgf(msg, msglen,
	       "Failed to decrypt configuration value '%s'. Re-configure with 'apcore-encrypt set %s'.",
	       key, key);
	return SEC_DECRYPT;
}

/* "hostname:user" (heap, caller wipes). */
static char *host_user(const struct sec_ctx *c)
{
	char host[HOST_NAME_MAX + 1];
	const char *h = c->hostname ? c->hostname : ident_hostname(host, sizeof(host));
	const char *u = c->user ? c->user : ident_kdf_user();
	return xasprintf("%s:%s", h, u);
}

static const char *passphrase(void)
{
	const char *p = getenv("APCORE_CLI_CONFIG_PASSPHRASE");
	return p && *p ? p : NULL;
}

/* Decrypt salt-less layouts: data = [salt] nonce tag ct.  On success *plain
 * is a secure buffer holding the UTF-8 plaintext. */
static int gcm_open(const uint8_t key[AES256_KEY_LEN], const uint8_t *nonce_tag_ct, size_t len,
                    const void *aad, size_t aadlen, char **plain, size_t *plen)
{
	size_t ctlen = len - GCM_IV_LEN - GCM_TAG_LEN;
	char *pt = secure_alloc(ctlen + 1);
	if (crypto_gcm_decrypt(key, nonce_tag_ct, aad, aadlen, nonce_tag_ct + V1_HDR, ctlen,
	                       nonce_tag_ct + GCM_IV_LEN, GCM_TAG_LEN, pt) != 0 ||
	    !utf8_valid(pt, ctlen)) {
		secure_free(pt);
		return -1;
	}
	pt[ctlen] = 0;
	*plain = pt;
	*plen = ctlen;
	return 0;
}

static enum sec_status resolve_v2(struct sec_ctx *c, const char *key, const char *body,
                                  char **plain, size_t *plen, char *msg, size_t msglen)
{
	uint8_t *data;
	size_t len;
	if (crypto_b64_decode_lenient(body, strlen(body), &data, &len) != 0)
		return decrypt_failed(key, msg, msglen);
	if (len < V2_HDR) {
		free(data);
		return decrypt_failed(key, msg, msglen);
	}
	uint8_t *k = secure_alloc(AES256_KEY_LEN);
	int rc = -1;
	for (size_t i = 0; i < c->nv2 && rc; i++)
		if (c->v2[i].ok && !memcmp(c->v2[i].salt, data, V2_SALT_LEN)) {
			memcpy(k, c->v2[i].key, AES256_KEY_LEN);
			rc = 0;
		}
	if (rc) {
		const char *pp = passphrase();
		char *material = pp ? xstrdup(pp) : host_user(c);
		rc = crypto_pbkdf2_sha256(material, strlen(material), data, V2_SALT_LEN,
		                          SEC_PBKDF2_V2_ITER, k, AES256_KEY_LEN);
		secure_wipe(material, strlen(material));
		free(material);
	}
	if (rc == 0)
		rc = gcm_open(k, data + V2_SALT_LEN, len - V2_SALT_LEN, NULL, 0, plain, plen);
	secure_free(k);
	free(data);
	return rc == 0 ? SEC_OK : decrypt_failed(key, msg, msglen);
}

static const uint8_t *v1_key(struct sec_ctx *c, int use_pass, unsigned iterations)
{
	for (size_t i = 0; i < c->nv1; i++)
		if (c->v1[i].passphrase == use_pass && c->v1[i].iterations == iterations)
			return c->v1[i].key;
	if (c->nv1 == 4)
		c->nv1 = 0;
	struct v1_key *v = &c->v1[c->nv1];
	char *material = use_pass ? xstrdup(passphrase()) : host_user(c);
	int rc = crypto_pbkdf2_sha256(material, strlen(material), V1_SALT, strlen(V1_SALT),
	                              iterations, v->key, AES256_KEY_LEN);
	secure_wipe(material, strlen(material));
	free(material);
	if (rc)
		return NULL;
	v->passphrase = use_pass;
	v->iterations = iterations;
	c->nv1++;
	return v->key;
}

static enum sec_status resolve_v1(struct sec_ctx *c, const char *key, const char *body,
                                  char **plain, size_t *plen, char *msg, size_t msglen)
{
	uint8_t *data;
	size_t len;
	if (crypto_b64_decode_lenient(body, strlen(body), &data, &len) != 0)
		return decrypt_failed(key, msg, msglen);
	int ok = 0;
	if (len >= V1_HDR) {
		static const unsigned iters[] = { SEC_PBKDF2_V1_ITER_OLD, SEC_PBKDF2_V2_ITER };
		for (int use_pass = 0; use_pass <= (passphrase() != NULL) && !ok; use_pass++)
			for (size_t i = 0; i < ARRAY_SIZE(iters) && !ok; i++) {
				const uint8_t *k = v1_key(c, use_pass, iters[i]);
				ok = k && gcm_open(k, data, len, NULL, 0, plain, plen) == 0;
			}
	}
	free(data);
	return ok ? SEC_OK : decrypt_failed(key, msg, msglen);
}

/* ------------------------------------------------------------- prefetch */

struct prefetch {
	struct v2_key *keys;
	size_t n;
	const char *material;
	size_t next;          /* next job, taken atomically */
};

static void *prefetch_worker(void *arg)
{
	struct prefetch *p = arg;
	for (;;) {
		size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
		if (i >= p->n)
			return NULL;
		struct v2_key *k = &p->keys[i];
		k->ok = crypto_pbkdf2_sha256(p->material, strlen(p->material), k->salt, V2_SALT_LEN,
		                             SEC_PBKDF2_V2_ITER, k->key, AES256_KEY_LEN) == 0;
	}
}

void sec_prefetch(struct sec_ctx *c, const char *const *tokens, size_t n)
{
	/* Each v2 value has its own salt, so nothing can be shared; but the
	 * derivations are independent, so use every core. */
	secure_free(c->v2);
	c->v2 = secure_alloc((n ? n : 1) * sizeof(*c->v2));
	c->nv2 = 0;
	for (size_t i = 0; i < n; i++) {
		if (sec_format_of(tokens[i]) != SEC_FMT_V2)
			continue;
		uint8_t *data;
		size_t len;
		const char *body = tokens[i] + 7;
		if (crypto_b64_decode_lenient(body, strlen(body), &data, &len) == 0) {
			if (len >= V2_HDR)
				memcpy(c->v2[c->nv2++].salt, data, V2_SALT_LEN);
			free(data);
		}
	}
	if (c->nv2 < 2)
		return;  /* one derivation: resolve does it, no threads needed */
	const char *pp = passphrase();
	char *material = pp ? xstrdup(pp) : host_user(c);
	struct prefetch p = { c->v2, c->nv2, material, 0 };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = ncpu < 1 ? 1 : (size_t)ncpu > c->nv2 ? c->nv2 : (size_t)ncpu;
	pthread_t *tids = xcalloc(nthreads, sizeof(*tids));
	size_t started = 0;
	for (; started + 1 < nthreads; started++)
		if (pthread_create(&tids[started], NULL, prefetch_worker, &p))
			break;
	prefetch_worker(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	secure_wipe(material, strlen(material));
	free(material);
}

/* ------------------------------------------------------------ master key */

char *sec_default_key_file(void)
{
	const char *x = getenv("XDG_CONFIG_HOME");
	if (x && *x == '/')
		return xasprintf("%s/apcore/master.key", x);
	const char *h = getenv("HOME");
	return xasprintf("%s/.config/apcore/master.key", h && *h ? h : "/");
}

static void master_kid(const uint8_t *k, char kid[17])
{
	uint8_t h[SHA256_LEN];
	struct sha256_ctx *s = crypto_sha256_new();
	crypto_sha256_update(s, KID_INFO, sizeof(KID_INFO));  /* with the NUL */
	crypto_sha256_update(s, k, AES256_KEY_LEN);
	crypto_sha256_final(s, h);
	hex_encode(h, 8, kid);
}

/* Parse "apcore-master-key:v1:B64\n" into a secure key buffer. */
static int parse_master(const char *text, size_t len, uint8_t **key)
{
	size_t tl = strlen(MASTER_FILE_TAG);
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len <= tl || strncmp(text, MASTER_FILE_TAG, tl))
		return -1;
	uint8_t *raw;
	size_t rawlen;
	if (crypto_b64_decode(text + tl, len - tl, &raw, &rawlen))
		return -1;
	int rc = -1;
	if (rawlen == AES256_KEY_LEN) {
		*key = secure_alloc(AES256_KEY_LEN);
		memcpy(*key, raw, AES256_KEY_LEN);
		rc = 0;
	}
	secure_wipe(raw, rawlen);
	free(raw);
	return rc;
}

static char *format_master(const uint8_t *k)
{
	char *b = crypto_b64_encode(k, AES256_KEY_LEN);
	char *s = xasprintf("%s%s\n", MASTER_FILE_TAG, b);
	secure_wipe(b, strlen(b));
	free(b);
	return s;
}

/* Read a key file, refusing one that others could read or we do not own
 * (as ssh does with private keys). */
static enum sec_status load_key_file(const char *path, uint8_t **key, char *msg, size_t msglen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		msgf(msg, msglen, "cannot open master key file %s: %s", path, strerror(errno));
		return SEC_NOKEY;
	}
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077)) {
		close(fd);
		msgf(msg, msglen,
		       "master key file %s must be a regular file owned by you with mode 0600", path);
		return SEC_NOKEY;
	}
	char *text;
	size_t len;
	int rc = read_fd_capped(fd, 4096, &text, &len);
	close(fd);
	if (rc) {
		msgf(msg, msglen, "cannot read master key file %s: %s", path, strerror(errno));
		return SEC_NOKEY;
	}
	rc = parse_master(text, len, key);
	secure_wipe(text, len);
	free(text);
	if (rc) {
		msgf(msg, msglen, "master key file %s is not an apcore master key", path);
		return SEC_MALFORMED;
	}
	return SEC_OK;
}

/* Find the master key once per context: explicit file, $APCORE_ENCRYPT_KEY_FILE,
 * the keyring, then the default file. */
static enum sec_status load_master(struct sec_ctx *c, char *msg, size_t msglen)
{
	if (c->master_tried) {
		if (c->master_status)
			msgf(msg, msglen, "%s", c->master_msg);
		return c->master_status;
	}
	c->master_tried = 1;
	const char *env = getenv("APCORE_ENCRYPT_KEY_FILE");
	const char *path = c->key_file ? c->key_file : (env && *env ? env : NULL);
	enum sec_status st;
	char *where = NULL;

	if (path) {
		st = load_key_file(path, &c->master, c->master_msg, sizeof(c->master_msg));
		where = xasprintf("file %s", path);
	} else {
		char *secret = NULL, why[200];
		size_t len;
		enum kr_status ks = kr_lookup(MASTER_SERVICE, MASTER_ACCOUNT, &secret, &len,
		                              c->kr_timeout_ms, why, sizeof(why));
		if (ks == KR_OK) {
			st = parse_master(secret, len, &c->master) ? SEC_MALFORMED : SEC_OK;
			if (st)
				msgf(c->master_msg, sizeof(c->master_msg),
				       "keyring item %s/%s is not an apcore master key",
				       MASTER_SERVICE, MASTER_ACCOUNT);
			where = xstrdup("keyring");
			secure_free(secret);
		} else {
			char *def = sec_default_key_file();
			st = load_key_file(def, &c->master, c->master_msg, sizeof(c->master_msg));
			if (st == SEC_NOKEY && access(def, F_OK) != 0)
				msgf(c->master_msg, sizeof(c->master_msg),
				       "no master key (keyring: %s; no file %s): run 'apcore-encrypt init'",
				       ks == KR_NOTFOUND ? "no item" : why, def);
			where = xasprintf("file %s", def);
			free(def);
		}
	}
	c->master_where = where;
	c->master_status = st;
	if (st == SEC_OK)
		master_kid(c->master, c->master_kid);
	else
		msgf(msg, msglen, "%s", c->master_msg);
	return st;
}

enum sec_status sec_master_id(struct sec_ctx *c, char kid[17], char *where, size_t wherelen,
                              char *msg, size_t msglen)
{
	enum sec_status st = load_master(c, msg, msglen);
	if (st == SEC_OK) {
		memcpy(kid, c->master_kid, 17);
		msgf(where, wherelen, "%s", c->master_where);
	}
	return st;
}

enum sec_status sec_master_init(struct sec_ctx *c, int to_keyring, const char *path,
                                char kid[17], char *msg, size_t msglen)
{
	uint8_t *k = secure_alloc(AES256_KEY_LEN);
	xcrypto_random(k, AES256_KEY_LEN);
	char *text = format_master(k);
	enum sec_status st = SEC_OK;

	if (to_keyring) {
		char *old = NULL, why[200];
		size_t len;
		enum kr_status ks = kr_lookup(MASTER_SERVICE, MASTER_ACCOUNT, &old, &len,
		                              c->kr_timeout_ms, why, sizeof(why));
		secure_free(old);
		if (ks == KR_OK) {
			msgf(msg, msglen, "a master key already exists in the keyring; not replacing it");
			st = SEC_MALFORMED;
		} else if (ks != KR_NOTFOUND) {
			msgf(msg, msglen, "keyring unavailable: %s", why);
			st = SEC_KEYRING;
		} else if (kr_store(MASTER_SERVICE, MASTER_ACCOUNT, text, strlen(text),
		                    c->kr_timeout_ms, why, sizeof(why)) != KR_OK) {
			msgf(msg, msglen, "cannot store the master key in the keyring: %s", why);
			st = SEC_KEYRING;
		}
	} else {
		char *def = path ? NULL : sec_default_key_file();
		const char *p = path ? path : def;
		char *dir = xstrdup(p);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = 0;
			if (mkdir_p(dir, 0700))
				msgf(msg, msglen, "cannot create %s: %s", dir, strerror(errno)),
					st = SEC_NOKEY;
		}
		free(dir);
		if (st == SEC_OK) {
			/* O_EXCL: an existing key is never overwritten (it would orphan
			 * every value sealed with it). */
			int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (fd < 0) {
				msgf(msg, msglen, errno == EEXIST ? "%s already exists; not replacing it"
				                                    : "cannot create %s: %s",
				       p, strerror(errno));
				st = SEC_NOKEY;
			} else if (write_full(fd, text, strlen(text)) || fsync(fd) || close(fd)) {
				msgf(msg, msglen, "cannot write %s: %s", p, strerror(errno));
				unlink(p);
				st = SEC_NOKEY;
			}
		}
		free(def);
	}
	if (st == SEC_OK)
		master_kid(k, kid);
	secure_wipe(text, strlen(text));
	free(text);
	secure_free(k);
	c->master_tried = 0;
	secure_free(c->master);
	c->master = NULL;
	return st;
}

/* ------------------------------------------------------------------- v3 */

int sec_v3_header(const char *token, char kid[17], int64_t *expires)
{
	const char *t = token;
	if (strncmp(t, "enc:v3:", 7))
		return -1;
	t += 7;
	for (int i = 0; i < 16; i++)
		if (!strchr("0123456789abcdef", t[i]) || !t[i])
			return -1;
	if (t[16] != ':')
		return -1;
	memcpy(kid, t, 16);
	kid[16] = 0;
	t += 17;
	if (*t < '0' || *t > '9' || (*t == '0' && t[1] != ':'))
		return -1;
	char *end;
	errno = 0;
	long long e = strtoll(t, &end, 10);
	if (errno || *end != ':' || end - t > 18)
		return -1;
	*expires = e;
	return (int)(end + 1 - token);  /* offset of the base64 body */
}

static void v3_aad(struct strbuf *aad, const char *kid, int64_t expires, const char *key)
{
	sb_printf(aad, "enc:v3:%s:%lld:%s", kid, (long long)expires, key);
}

static int v3_key(const uint8_t *master, const uint8_t *salt, uint8_t out[AES256_KEY_LEN])
{
	return crypto_hkdf_sha256(salt, V2_SALT_LEN, master, AES256_KEY_LEN, V3_INFO,
	                          strlen(V3_INFO), out, AES256_KEY_LEN);
}

enum sec_status sec_encrypt_v3(struct sec_ctx *c, const char *key, const void *plain,
                               size_t len, int64_t expires, char **token,
                               char *msg, size_t msglen)
{
	enum sec_status st = load_master(c, msg, msglen);
	if (st)
		return st;
	if (expires < 0) {
		msgf(msg, msglen, "expiry before 1970");
		return SEC_MALFORMED;
	}
	uint8_t *data = xmalloc(V2_HDR + len);
	uint8_t *k = secure_alloc(AES256_KEY_LEN);
	xcrypto_random(data, V2_SALT_LEN + GCM_IV_LEN);
	struct strbuf aad = STRBUF_INIT;
	v3_aad(&aad, c->master_kid, expires, key);
	if (v3_key(c->master, data, k) ||
	    crypto_gcm_encrypt(k, data + V2_SALT_LEN, aad.buf, aad.len, plain, len,
	                       data + V2_HDR, data + V2_SALT_LEN + GCM_IV_LEN))
		die("AES-GCM encryption failed");
	secure_free(k);
	char *b = crypto_b64_encode(data, V2_HDR + len);
	*token = xasprintf("enc:v3:%s:%lld:%s", c->master_kid, (long long)expires, b);
	free(b);
	free(data);
	sb_free(&aad);
	return SEC_OK;
}

static enum sec_status resolve_v3(struct sec_ctx *c, const char *key, const char *token,
                                  char **plain, size_t *plen, char *msg, size_t msglen)
{
	char kid[17];
	int64_t expires;
	int off = sec_v3_header(token, kid, &expires);
	uint8_t *data = NULL;
	size_t len;
	if (off < 0 || crypto_b64_decode(token + off, strlen(token + off), &data, &len) ||
	    len < V2_HDR) {
		free(data);
		msgf(msg, msglen, "configuration value '%s' is not a well-formed enc:v3 token", key);
		return SEC_MALFORMED;
	}
	enum sec_status st = load_master(c, msg, msglen);
	if (st == SEC_OK && strcmp(kid, c->master_kid)) {
		msgf(msg, msglen,
		       "configuration value '%s' was sealed with master key %s, but the key here (%s) is %s",
		       key, kid, c->master_where, c->master_kid);
		st = SEC_NOKEY;
	}
	if (st) {
		free(data);
		return st;
	}
	uint8_t *k = secure_alloc(AES256_KEY_LEN);
	struct strbuf aad = STRBUF_INIT;
	v3_aad(&aad, kid, expires, key);
	int rc = v3_key(c->master, data, k);
	if (rc == 0)
		rc = gcm_open(k, data + V2_SALT_LEN, len - V2_SALT_LEN, aad.buf, aad.len, plain, plen);
	secure_free(k);
	sb_free(&aad);
	free(data);
	if (rc) {
		msgf(msg, msglen,
		       "configuration value '%s' failed authentication: tampered with, or moved from another key",
		       key);
		return SEC_DECRYPT;
	}
	if (expires && time_now_ms() / 1000 >= expires) {
		char when[RFC3339_MS_LEN];
		time_rfc3339_ms(expires * 1000, when);
		secure_free(*plain);
		*plain = NULL;
		msgf(msg, msglen, "configuration value '%s' expired at %s; store a new one with 'apcore-encrypt set %s'",
		       key, when, key);
		return SEC_EXPIRED;
	}
	return SEC_OK;
}

/* ----------------------------------------------------------- public API */

char *sec_encrypt_v2(struct sec_ctx *c, const void *plain, size_t len)
{
	uint8_t *data = xmalloc(V2_HDR + len);
	uint8_t *k = secure_alloc(AES256_KEY_LEN);
	const char *pp = passphrase();
	char *material = pp ? xstrdup(pp) : host_user(c);

	xcrypto_random(data, V2_SALT_LEN + GCM_IV_LEN);
	if (crypto_pbkdf2_sha256(material, strlen(material), data, V2_SALT_LEN,
	                         SEC_PBKDF2_V2_ITER, k, AES256_KEY_LEN) ||
	    crypto_gcm_encrypt(k, data + V2_SALT_LEN, NULL, 0, plain, len, data + V2_HDR,
	                       data + V2_SALT_LEN + GCM_IV_LEN))
		die("AES-GCM encryption failed");
	secure_wipe(material, strlen(material));
	free(material);
	secure_free(k);
	char *b = crypto_b64_encode(data, V2_HDR + len);
	char *t = xasprintf("enc:v2:%s", b);
	free(b);
	free(data);
	return t;
}

enum sec_status sec_store_keyring(struct sec_ctx *c, const char *key, const void *plain,
                                  size_t len, char **token, char *msg, size_t msglen)
{
	char why[256];
	enum kr_status ks = kr_store(SEC_KEYRING_SERVICE, key, plain, len, c->kr_timeout_ms,
	                             why, sizeof(why));
	if (ks != KR_OK) {
		msgf(msg, msglen, "cannot store '%s' in the keyring: %s", key, why);
		return SEC_KEYRING;
	}
	*token = xasprintf("keyring:%s", key);
	return SEC_OK;
}

static enum sec_status resolve_keyring(struct sec_ctx *c, const char *ref, char **plain,
                                       size_t *plen, char *msg, size_t msglen)
{
	char why[256];
	enum kr_status ks = kr_lookup(SEC_KEYRING_SERVICE, ref, plain, plen, c->kr_timeout_ms,
	                              why, sizeof(why));
	if (ks == KR_OK)
		return SEC_OK;
	if (ks == KR_NOTFOUND)
		msgf(msg, msglen, "Keyring entry not found for '%s'.", ref);
	else
		msgf(msg, msglen, "keyring unavailable for '%s': %s", ref, why);
	return SEC_KEYRING;
}

enum sec_status sec_resolve(struct sec_ctx *c, const char *key, const char *token,
                            char **plain, size_t *plen, char *msg, size_t msglen)
{
	*plain = NULL;
	*plen = 0;
	switch (sec_format_of(token)) {
	case SEC_FMT_KEYRING:
		return resolve_keyring(c, token + 8, plain, plen, msg, msglen);
	case SEC_FMT_V2:
		return resolve_v2(c, key, token + 7, plain, plen, msg, msglen);
	case SEC_FMT_V3:
		return resolve_v3(c, key, token, plain, plen, msg, msglen);
	case SEC_FMT_V1:
		return resolve_v1(c, key, token + 4, plain, plen, msg, msglen);
	case SEC_FMT_PLAIN:
		break;
	}
	size_t n = strlen(token);
	*plain = secure_alloc(n + 1);
	memcpy(*plain, token, n + 1);
	*plen = n;
	return SEC_OK;
}

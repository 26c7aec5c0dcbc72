/* auditlog.c - the tamper-evident audit log (format: docs/audit-format.md).
 *
 * Every line starts with the apcore-cli reference's seven fields in its
 * byte layout; ours follow, among them "prev" (SHA-256 of the previous
 * line's exact bytes) and, on logs with key material, last "mac":
 * HMAC-SHA256 under the current epoch's MAC key of the SHA-256 of the
 * line's bytes before ', "mac": "'.
 * A seal record closes an epoch; the writer then replaces key_e with
 * key_{e+1} = HMAC(key_e, "apcore-audit evolve" | e) and forgets key_e.
 *
 * Writers serialise on flock() of the log: read the state, read the last
 * line (seeking from the end), build the line, one write(), sync, unlock.
 * Verification walks the exact bytes; nothing is ever re-serialised.
 */

#include "auditlog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define MAC_SEP ", \"mac\": \""
#define MAC_SEP_LEN (sizeof(MAC_SEP) - 1)
/* ', "mac": "' + 64 hex + '"}' (the newline is not counted) */
#define MAC_TAIL_LEN (MAC_SEP_LEN + 2 * SHA256_LEN + 2)
#define STATE_CAP 4096
#define KR_SERVICE "apcore-audit"
#define VK_PREFIX "apcore-audit-vk1:"
#define CP_MAGIC "apcore-audit checkpoint 1\n"
/* How far back a writer looks for its last record past foreign lines. */
#define TAIL_SCAN_CAP (16u << 20)
/* Epoch keys a verifier derives before it gives up on a record. */
#define EPOCH_STEP_CAP (1u << 20)
#define EXTRA_MAX (64u << 10)

enum rkind { RK_FOREIGN, RK_RECORD, RK_INIT, RK_SEAL, RK_ROTATE, RK_REPAIR };

PRINTF(4, 5) static enum audit_status fail(enum audit_status s, char *err, size_t errlen,
                                           const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vmsg_format(err, errlen, fmt, ap);
		va_end(ap);
	}
	return s;
}

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ------------------------------------------------------------------- keys */

void audit_key_evolve(uint8_t key[SHA256_LEN], uint64_t epoch)
{
	static const char label[] = "apcore-audit evolve";
	uint8_t msg[sizeof(label) - 1 + 8], out[SHA256_LEN];
	memcpy(msg, label, sizeof(label) - 1);
	be64(msg + sizeof(label) - 1, epoch);
	crypto_hmac_sha256(key, SHA256_LEN, msg, sizeof(msg), out);
	memcpy(key, out, SHA256_LEN);
	secure_wipe(out, sizeof(out));
}

void audit_key_mac(const uint8_t key[SHA256_LEN], uint8_t mk[SHA256_LEN])
{
	static const char label[] = "apcore-audit mac";
	crypto_hmac_sha256(key, SHA256_LEN, label, sizeof(label) - 1, mk);
}

static void derive_pepper(const uint8_t seed[SHA256_LEN], uint8_t pepper[SHA256_LEN])
{
	static const char label[] = "apcore-audit pepper";
	crypto_hmac_sha256(seed, SHA256_LEN, label, sizeof(label) - 1, pepper);
}

/* A record's MAC: HMAC(mk, SHA-256(bytes before ', "mac": "')).  Hashing
 * first lets a verifier share the pass over the bytes with the chain hash
 * (line_hashes). */
static void record_mac_of(const uint8_t mk[SHA256_LEN], const uint8_t d[SHA256_LEN],
                          uint8_t mac[SHA256_LEN])
{
	crypto_hmac_sha256(mk, SHA256_LEN, d, SHA256_LEN, mac);
}

static void record_mac(const uint8_t mk[SHA256_LEN], const char *prefix, size_t len,
                       uint8_t mac[SHA256_LEN])
{
	uint8_t d[SHA256_LEN];
	crypto_sha256(prefix, len, d);
	record_mac_of(mk, d, mac);
}

/* One pass over a line: SHA-256 of its first mac_off bytes (the MAC's
 * input) and of the whole line (the chain's). */
static void line_hashes(const char *line, size_t len, size_t mac_off, uint8_t prefix[SHA256_LEN],
                        uint8_t whole[SHA256_LEN])
{
	struct sha256_ctx *c = crypto_sha256_new();
	crypto_sha256_update(c, line, mac_off);
	crypto_sha256_final(crypto_sha256_clone(c), prefix);
	crypto_sha256_update(c, line + mac_off, len - mac_off);
	crypto_sha256_final(c, whole);
}

/* prev of a log's first line: SHA-256("apcore-audit genesis\n" | log_id),
 * log_id empty for a log without key material. */
static void genesis(const char *log_id, uint8_t out[SHA256_LEN])
{
	struct strbuf sb = STRBUF_INIT;
	sb_puts(&sb, "apcore-audit genesis\n");
	sb_puts(&sb, log_id);
	crypto_sha256(sb.buf, sb.len, out);
	sb_free(&sb);
}

/* "apcore-audit-vk1:LOGID:SEED", surrounding whitespace allowed. */
static int parse_vk(const char *vk, char log_id[AUDIT_LOGID_LEN], uint8_t seed[SHA256_LEN])
{
	while (*vk == ' ' || *vk == '\t' || *vk == '\n' || *vk == '\r')
		vk++;
	size_t plen = strlen(VK_PREFIX);
	if (strncmp(vk, VK_PREFIX, plen))
		return -1;
	const char *p = vk + plen;
	if (strlen(p) < 32 + 1 + 64 || !is_hex(p, 32) || p[32] != ':' || !is_hex(p + 33, 64))
		return -1;
	for (const char *q = p + 97; *q; q++)
		if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
			return -1;
	memcpy(log_id, p, 32);
	log_id[32] = 0;
	return hex_decode(p + 33, seed, SHA256_LEN);
}

/* ------------------------------------------------------------------ paths */

char *audit_default_path(void)
{
	const char *env = getenv("APCORE_AUDIT_FILE");
	if (env && *env)
		return xstrdup(env);
	const char *home = getenv("HOME");
	if (!home || !*home)
		home = "/";
	return xasprintf("%s%s.apcore-cli/audit.jsonl", home,
	                 home[strlen(home) - 1] == '/' ? "" : "/");
}

char *audit_state_path(const char *log)
{
	return xasprintf("%s.state", log);
}

static char *dir_of(const char *path)
{
	char *copy = xstrdup(path);
	char *d = xstrdup(dirname(copy));
	free(copy);
	return d;
}

static char *base_of(const char *path)
{
	char *copy = xstrdup(path);
	char *b = xstrdup(basename(copy));
	free(copy);
	return b;
}

static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;  /* the file shrank under us */
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/* SHA-256 of bytes [0, len) of fd. */
static int hash_prefix(int fd, off_t len, uint8_t out[SHA256_LEN])
{
	struct sha256_ctx *c = crypto_sha256_new();
	char *buf = xmalloc(1 << 16);
	off_t off = 0;
	int rc = 0;
	while (off < len) {
		size_t n = (size_t)(len - off) < (1u << 16) ? (size_t)(len - off) : (1u << 16);
		if (pread_full(fd, buf, n, off)) {
			rc = -1;
			break;
		}
		crypto_sha256_update(c, buf, n);
		off += (off_t)n;
	}
	crypto_sha256_final(c, out);
	free(buf);
	return rc;
}

/* ------------------------------------------------------------------ state */

/* A log's key material.  Lives in PATH.state (0600), or in the keyring
 * (service apcore-audit, account log-LOGID) with only a pointer in the
 * file.  Always secure_alloc()ed. */
struct astate {
	char log_id[AUDIT_LOGID_LEN];
	uint64_t epoch;
	uint64_t first_seq;       /* first seq of the current epoch */
	int keyring;
	uint8_t key[SHA256_LEN];  /* key of the current epoch */
	uint8_t pepper[SHA256_LEN];
};

static struct astate *state_new(void)
{
	return secure_alloc(sizeof(struct astate));
}

static void state_free(struct astate *st)
{
	secure_free(st);
}

/* Text form; the secret one includes key and pepper. */
static char *state_text(const struct astate *st, int secret)
{
	char *t = secure_alloc(512);
	char key[2 * SHA256_LEN + 1], pep[2 * SHA256_LEN + 1];
	if (!secret) {
		snprintf(t, 512, "apcore-audit-state 1\nlog_id %s\nstore keyring\n", st->log_id);
		return t;
	}
	hex_encode(st->key, SHA256_LEN, key);
	hex_encode(st->pepper, SHA256_LEN, pep);
	snprintf(t, 512,
	         "apcore-audit-state 1\nlog_id %s\nepoch %" PRIu64 "\nfirst_seq %" PRIu64
	         "\nkey %s\npepper %s\n",
	         st->log_id, st->epoch, st->first_seq, key, pep);
	secure_wipe(key, sizeof(key));
	secure_wipe(pep, sizeof(pep));
	return t;
}

static int parse_u64(const char *s, uint64_t *v)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}

/* Parse a state text.  *store_keyring says whether it is a pointer. */
static int state_parse(char *text, struct astate *st, int *store_keyring, char *why, size_t whylen)
{
	enum { F_ID = 1, F_EPOCH = 2, F_FIRST = 4, F_KEY = 8, F_PEPPER = 16, F_STORE = 32 };
	unsigned seen = 0;
	char *save = NULL;
	char *line = strtok_r(text, "\n", &save);

	*store_keyring = 0;
	if (!line || strcmp(line, "apcore-audit-state 1")) {
		snprintf(why, whylen, "not an apcore-audit state (bad first line)");
		return -1;
	}
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *val = strchr(line, ' ');
		if (!val) {
			snprintf(why, whylen, "malformed line");
			return -1;
		}
		*val++ = 0;
		unsigned f = 0;
		int bad = 0;
		if (!strcmp(line, "log_id")) {
			f = F_ID;
			bad = strlen(val) != 32 || !is_hex(val, 32);
			if (!bad)
				memcpy(st->log_id, val, 33);
		} else if (!strcmp(line, "epoch")) {
			f = F_EPOCH;
			bad = parse_u64(val, &st->epoch);
		} else if (!strcmp(line, "first_seq")) {
			f = F_FIRST;
			bad = parse_u64(val, &st->first_seq) || st->first_seq == 0;
		} else if (!strcmp(line, "key")) {
			f = F_KEY;
			bad = strlen(val) != 64 || hex_decode(val, st->key, SHA256_LEN);
		} else if (!strcmp(line, "pepper")) {
			f = F_PEPPER;
			bad = strlen(val) != 64 || hex_decode(val, st->pepper, SHA256_LEN);
		} else if (!strcmp(line, "store")) {
			f = F_STORE;
			bad = strcmp(val, "keyring") != 0;
			*store_keyring = 1;
		} else {
			snprintf(why, whylen, "unknown field '%.32s'", line);
			return -1;
		}
		if (bad || (seen & f)) {
			snprintf(why, whylen, "%s field '%s'", bad ? "bad" : "repeated", line);
			return -1;
		}
		seen |= f;
	}
	unsigned want = *store_keyring ? (F_ID | F_STORE) : (F_ID | F_EPOCH | F_FIRST | F_KEY | F_PEPPER);
	if (seen != want) {
		snprintf(why, whylen, "fields missing or out of place");
		return -1;
	}
	return 0;
}

static char *kr_account(const char *log_id)
{
	return xasprintf("log-%s", log_id);
}

/* 1: no state file; 0: loaded; -1: error in err. */
static int state_load(const char *log, int kr_timeout, struct astate **out, char *err,
                      size_t errlen)
{
	char *spath = audit_state_path(log);
	char *text = NULL, why[160] = "";
	size_t len;
	int rc = -1;
	struct astate *st = NULL;

	*out = NULL;
	int fd = open(spath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			rc = 1;
		else
			fail(0, err, errlen, "cannot open %s: %s", spath, strerror(errno));
		goto out;
	}
	struct stat sst;
	if (fstat(fd, &sst) || !S_ISREG(sst.st_mode)) {
		fail(0, err, errlen, "%s is not a regular file", spath);
		close(fd);
		goto out;
	}
	/* The text is secret: read it into a wiped buffer. */
	text = secure_read_fd(fd, STATE_CAP, 0, &len);
	int e = errno;
	close(fd);
	if (!text) {
		fail(0, err, errlen, "cannot read %s: %s", spath, e == EFBIG ? "too large" : strerror(e));
		goto out;
	}
	st = state_new();
	int kr;
	if (state_parse(text, st, &kr, why, sizeof(why))) {
		fail(0, err, errlen, "%s: %s", spath, why);
		goto out;
	}
	if (!kr && (sst.st_mode & 077)) {
		fail(0, err, errlen, "%s holds key material but is accessible by others (mode %03o): "
		     "chmod 600 it", spath, (unsigned)(sst.st_mode & 0777));
		goto out;
	}
	if (kr) {
		char *acct = kr_account(st->log_id), *secret = NULL;
		size_t slen;
		enum kr_status ks = kr_lookup(KR_SERVICE, acct, &secret, &slen,
		                              kr_timeout ? kr_timeout : KR_DEFAULT_TIMEOUT_MS, why,
		                              sizeof(why));
		free(acct);
		if (ks != KR_OK) {
			fail(0, err, errlen, "key material of log %s is in the keyring, which failed: %s%s%s",
			     st->log_id, kr_status_str(ks), why[0] ? ": " : "", why);
			goto out;
		}
		struct astate *ks_st = state_new();
		int kr2;
		int bad = state_parse(secret, ks_st, &kr2, why, sizeof(why));
		secure_free(secret);
		if (bad || kr2 || strcmp(ks_st->log_id, st->log_id)) {
			fail(0, err, errlen, "keyring item of log %s is malformed%s%s", st->log_id,
			     bad ? ": " : "", bad ? why : "");
			state_free(ks_st);
			goto out;
		}
		state_free(st);
		st = ks_st;
		st->keyring = 1;
	}
	*out = st;
	st = NULL;
	rc = 0;
out:
	state_free(st);
	secure_free(text);
	free(spath);
	return rc;
}

/* Overwrite a file's bytes in place (its blocks, on filesystems that
 * rewrite in place) so an evolved-away key does not linger on disk. */
static void wipe_fd(int fd)
{
	struct stat st;
	if (fstat(fd, &st) || st.st_size <= 0 || st.st_size > STATE_CAP)
		return;
	char zero[STATE_CAP] = { 0 };
	if (pwrite(fd, zero, (size_t)st.st_size, 0) == st.st_size)
		(void)fdatasync(fd);
}

/* Store st: create (never overwriting) or replace.  Replacing a file
 * state wipes the old one's bytes after the atomic rename. */
static int state_save(const char *log, const struct astate *st, int create, int kr_timeout,
                      char *err, size_t errlen)
{
	char *spath = audit_state_path(log);
	char *secret = state_text(st, 1);
	int rc = -1;

	if (st->keyring) {
		char why[160] = "", *acct = kr_account(st->log_id);
		enum kr_status ks = kr_store(KR_SERVICE, acct, secret, strlen(secret),
		                             kr_timeout ? kr_timeout : KR_DEFAULT_TIMEOUT_MS, why,
		                             sizeof(why));
		free(acct);
		if (ks != KR_OK) {
			fail(0, err, errlen, "cannot store the key of log %s in the keyring: %s%s%s",
			     st->log_id, kr_status_str(ks), why[0] ? ": " : "", why);
			goto out;
		}
		if (!create) {
			rc = 0;
			goto out;
		}
		secure_free(secret);
		secret = state_text(st, 0);
	}
	size_t len = strlen(secret);
	if (create) {
		int fd = open(spath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			fail(0, err, errlen, "cannot create %s: %s", spath, strerror(errno));
			goto out;
		}
		if (fchmod(fd, 0600) || write_full(fd, secret, len) || fsync(fd)) {
			fail(0, err, errlen, "cannot write %s: %s", spath, strerror(errno));
			close(fd);
			unlink(spath);
			goto out;
		}
		close(fd);
		(void)fsync_dir_of(spath);
		rc = 0;
		goto out;
	}
	int old = open(spath, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (atomic_replace(spath, secret, len, 0600)) {
		fail(0, err, errlen, "cannot replace %s: %s", spath, strerror(errno));
		if (old >= 0)
			close(old);
		goto out;
	}
	if (old >= 0) {
		wipe_fd(old);
		close(old);
	}
	rc = 0;
out:
	secure_free(secret);
	free(spath);
	return rc;
}

static void state_unlink(const char *log, const struct astate *st, int kr_timeout)
{
	char *spath = audit_state_path(log);
	int fd = open(spath, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0) {
		wipe_fd(fd);
		close(fd);
	}
	unlink(spath);
	free(spath);
	if (st->keyring) {
		char *acct = kr_account(st->log_id);
		(void)kr_delete(KR_SERVICE, acct, kr_timeout ? kr_timeout : KR_DEFAULT_TIMEOUT_MS,
		                NULL, 0);
		free(acct);
	}
}

/* -------------------------------------------------------------- a record */

/* What verification and writers need to know about one line. */
struct recinfo {
	int ours, keyed;
	enum rkind kind;
	uint64_t seq, epoch;
	char log_id[AUDIT_LOGID_LEN];
	uint8_t prev[SHA256_LEN];
	uint8_t mac[SHA256_LEN];
	size_t mac_off;           /* bytes covered by the MAC */
	uint64_t n1, n2, n3;      /* seal: epoch, records, first_seq; init: adopted_bytes;
	                           * rotate: rotated_bytes; repair: offset, bytes */
	uint8_t digest[SHA256_LEN];
	int has_digest;
	char name[256];           /* rotate: rotated_from; repair: torn_file */
};

static const char *const ref_keys[] = {
	"timestamp", "user", "module_id", "input_hash", "status", "exit_code", "duration_ms",
};

/* Our own keys, which extra fields may not use. */
static const char *const own_keys[] = {
	"seq", "host", "pid", "log_id", "epoch", "prev", "input_hash_alg", "mac",
	"adopted_bytes", "adopted_sha256", "sealed_epoch", "sealed_records", "sealed_first_seq",
	"rotated_from", "rotated_bytes", "torn_offset", "torn_bytes", "torn_sha256", "torn_file",
};

static int get_uint(const cJSON *o, const char *k, uint64_t *v)
{
	const cJSON *i = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsNumber(i))
		return -1;
	double d = i->valuedouble;
	if (!isfinite(d) || d < 0 || d > 9007199254740992.0 || d != floor(d))
		return -1;
	*v = (uint64_t)d;
	return 0;
}

static int get_int(const cJSON *o, const char *k, int64_t *v)
{
	const cJSON *i = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsNumber(i))
		return -1;
	double d = i->valuedouble;
	if (!isfinite(d) || fabs(d) > 9007199254740992.0 || d != floor(d))
		return -1;
	*v = (int64_t)d;
	return 0;
}

static const char *get_str(const cJSON *o, const char *k)
{
	const cJSON *i = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(i) ? i->valuestring : NULL;
}

/* Lower-case hex digit value, or -1 (upper case is not what we write). */
static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int get_hex(const cJSON *o, const char *k, uint8_t *out, size_t n)
{
	const char *s = get_str(o, k);
	if (!s || strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Parse a line (NUL-terminated at len, newline already cut).  Returns the
 * cJSON tree (caller deletes) or NULL when the line is not a JSON object. */
static cJSON *parse_object(const char *line, size_t len, char *why, size_t whylen)
{
	if (memchr(line, 0, len)) {
		snprintf(why, whylen, "NUL byte in the line");
		return NULL;
	}
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithOpts(line, &end, 1);
	if (!root) {
		snprintf(why, whylen, "not valid JSON (at byte %zu)",
		         end && end >= line ? (size_t)(end - line) : (size_t)0);
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(why, whylen, "not a JSON object");
		cJSON_Delete(root);
		return NULL;
	}
	/* Duplicate keys: an open-addressing set of the member names, sized
	 * to the object (only that part of slot[] is cleared). */
	const cJSON *slot[512];
	size_t n = 0, size = 32;
	for (const cJSON *a = root->child; a; a = a->next)
		n++;
	if (n > 256) {
		snprintf(why, whylen, "more than 256 fields");
		cJSON_Delete(root);
		return NULL;
	}
	while (size < 2 * n)
		size *= 2;
	memset(slot, 0, size * sizeof(slot[0]));
	for (const cJSON *a = root->child; a; a = a->next) {
		uint32_t h = 2166136261u;
		for (const unsigned char *q = (const unsigned char *)a->string; *q; q++)
			h = (h ^ *q) * 16777619u;
		for (size_t i = h & (size - 1);; i = (i + 1) & (size - 1)) {
			if (!slot[i]) {
				slot[i] = a;
				break;
			}
			if (!strcmp(slot[i]->string, a->string)) {
				snprintf(why, whylen, "duplicate key \"%.40s\"", a->string);
				cJSON_Delete(root);
				return NULL;
			}
		}
	}
	return root;
}

/* Classify and check the shape of one line.  0 with ri filled (ri->ours 0
 * for a foreign JSON object), -1 with a reason. */
static int rec_parse(const char *line, size_t len, struct recinfo *ri, char *why, size_t whylen)
{
	memset(ri, 0, sizeof(*ri));
	cJSON *root = parse_object(line, len, why, whylen);
	if (!root)
		return -1;
	int rc = -1;
	if (!cJSON_GetObjectItemCaseSensitive(root, "seq")) {
		ri->kind = RK_FOREIGN;
		rc = 0;
		goto out;
	}
	ri->ours = 1;
	/* The reference's seven fields first, in its order, then seq. */
	const cJSON *c = root->child;
	for (size_t i = 0; i < ARRAY_SIZE(ref_keys); i++, c = c->next)
		if (!c || strcmp(c->string, ref_keys[i])) {
			snprintf(why, whylen, "field %zu is not \"%s\"", i + 1, ref_keys[i]);
			goto out;
		}
	if (!c || strcmp(c->string, "seq")) {
		snprintf(why, whylen, "field 8 is not \"seq\"");
		goto out;
	}
	int64_t dummy;
	const char *module = get_str(root, "module_id");
	if (!get_str(root, "timestamp") || !get_str(root, "user") || !module ||
	    !get_str(root, "input_hash") || !get_str(root, "status") ||
	    get_int(root, "exit_code", &dummy) || get_int(root, "duration_ms", &dummy)) {
		snprintf(why, whylen, "a reference field has the wrong type");
		goto out;
	}
	if (get_uint(root, "seq", &ri->seq) || ri->seq == 0) {
		snprintf(why, whylen, "bad seq");
		goto out;
	}
	if (get_hex(root, "prev", ri->prev, SHA256_LEN)) {
		snprintf(why, whylen, "bad prev (not 64 lower-case hex digits)");
		goto out;
	}
	const cJSON *mac = cJSON_GetObjectItemCaseSensitive(root, "mac");
	const cJSON *lid = cJSON_GetObjectItemCaseSensitive(root, "log_id");
	if (mac) {
		ri->keyed = 1;
		const cJSON *last = root->child;
		while (last->next)
			last = last->next;
		if (last != mac || get_hex(root, "mac", ri->mac, SHA256_LEN)) {
			snprintf(why, whylen, "bad mac field");
			goto out;
		}
		/* The MAC covers the bytes before its separator, which sits at a
		 * fixed distance from the end of a line we wrote. */
		if (len < MAC_TAIL_LEN || memcmp(line + len - MAC_TAIL_LEN, MAC_SEP, MAC_SEP_LEN) ||
		    memcmp(line + len - 2, "\"}", 2)) {
			snprintf(why, whylen, "mac is not at the end of the line");
			goto out;
		}
		ri->mac_off = len - MAC_TAIL_LEN;
		const char *id = get_str(root, "log_id");
		if (!id || strlen(id) != 32 || !is_hex(id, 32) || get_uint(root, "epoch", &ri->epoch)) {
			snprintf(why, whylen, "bad log_id or epoch");
			goto out;
		}
		memcpy(ri->log_id, id, 33);
	} else if (lid || cJSON_GetObjectItemCaseSensitive(root, "epoch")) {
		snprintf(why, whylen, "log_id or epoch without a mac");
		goto out;
	}

	ri->kind = RK_RECORD;
	if (!strncmp(module, AUDIT_SYS_PREFIX, strlen(AUDIT_SYS_PREFIX))) {
		const char *k = module + strlen(AUDIT_SYS_PREFIX);
		int bad = 0;
		if (!strcmp(k, "init")) {
			ri->kind = RK_INIT;
			bad = get_uint(root, "adopted_bytes", &ri->n1);
			if (!bad && ri->n1) {
				bad = get_hex(root, "adopted_sha256", ri->digest, SHA256_LEN);
				ri->has_digest = 1;
			}
			bad = bad || !ri->keyed;
		} else if (!strcmp(k, "seal")) {
			ri->kind = RK_SEAL;
			bad = !ri->keyed || get_uint(root, "sealed_epoch", &ri->n1) ||
			      get_uint(root, "sealed_records", &ri->n2) ||
			      get_uint(root, "sealed_first_seq", &ri->n3);
		} else if (!strcmp(k, "rotate")) {
			ri->kind = RK_ROTATE;
			const char *from = get_str(root, "rotated_from");
			bad = !from || !*from || strchr(from, '/') || strlen(from) >= sizeof(ri->name) ||
			      !strcmp(from, ".") || !strcmp(from, "..") ||
			      get_uint(root, "rotated_bytes", &ri->n1);
			if (!bad)
				snprintf(ri->name, sizeof(ri->name), "%s", from);
		} else if (!strcmp(k, "repair")) {
			ri->kind = RK_REPAIR;
			const char *f = get_str(root, "torn_file");
			bad = get_uint(root, "torn_offset", &ri->n1) ||
			      get_uint(root, "torn_bytes", &ri->n2) ||
			      get_hex(root, "torn_sha256", ri->digest, SHA256_LEN) || !f ||
			      strlen(f) >= sizeof(ri->name);
			if (!bad) {
				ri->has_digest = 1;
				snprintf(ri->name, sizeof(ri->name), "%s", f);
			}
		} else {
			snprintf(why, whylen, "unknown record kind \"%.40s\"", module);
			goto out;
		}
		if (bad) {
			snprintf(why, whylen, "malformed %s record", module);
			goto out;
		}
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

static void copy_field(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

int audit_parse_line(const char *line, size_t len, struct audit_line *out, char *err,
                     size_t errlen)
{
	char why[128];
	memset(out, 0, sizeof(*out));
	out->ts_ms = -1;
	char *copy = xstrndup(line, len);
	size_t n = strlen(copy);
	if (n != len) {
		free(copy);
		snprintf(err, errlen, "NUL byte in the line");
		return -1;
	}
	while (n && (copy[n - 1] == '\n' || copy[n - 1] == '\r'))
		copy[--n] = 0;
	cJSON *root = parse_object(copy, n, why, sizeof(why));
	free(copy);
	if (!root) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	out->is_json = 1;
	uint64_t u;
	if (!get_uint(root, "seq", &u)) {
		out->ours = 1;
		out->seq = u;
	}
	out->keyed = cJSON_GetObjectItemCaseSensitive(root, "mac") != NULL;
	if (!get_uint(root, "epoch", &u))
		out->epoch = u;
	copy_field(out->timestamp, sizeof(out->timestamp), get_str(root, "timestamp"));
	copy_field(out->user, sizeof(out->user), get_str(root, "user"));
	copy_field(out->module_id, sizeof(out->module_id), get_str(root, "module_id"));
	copy_field(out->status, sizeof(out->status), get_str(root, "status"));
	out->has_exit = !get_int(root, "exit_code", &out->exit_code);
	out->has_duration = !get_int(root, "duration_ms", &out->duration_ms);
	int64_t ms;
	if (out->timestamp[0] && !time_parse_rfc3339(out->timestamp, &ms))
		out->ts_ms = ms;
	cJSON_Delete(root);
	return 0;
}

/* ------------------------------------------------------ reading the tail */

/* The complete line that ends at offset end (byte end-1 is its newline)
 * into sb, newline included; *start gets its offset. */
static int line_ending_at(int fd, off_t end, struct strbuf *sb, off_t *start)
{
	size_t want = 4096;
	for (;;) {
		off_t from = end > (off_t)want ? end - (off_t)want : 0;
		size_t n = (size_t)(end - from);
		sb_reset(sb);
		sb_grow(sb, n);
		if (pread_full(fd, sb->buf, n, from))
			return -1;
		sb->len = n;
		sb->buf[n] = 0;
		char *p = n > 1 ? memrchr(sb->buf, '\n', n - 1) : NULL;
		if (p) {
			size_t off = (size_t)(p + 1 - sb->buf);
			memmove(sb->buf, p + 1, n - off);
			sb->len = n - off;
			sb->buf[sb->len] = 0;
			*start = from + (off_t)off;
			return 0;
		}
		if (from == 0) {
			*start = 0;
			return 0;
		}
		if (want > AUDIT_LINE_MAX) {
			errno = EFBIG;
			return -1;
		}
		want *= 4;
	}
}

struct tail {
	off_t size;
	int torn;
	int empty;                /* no complete line at all */
	uint8_t head[SHA256_LEN]; /* hash of the last line */
	off_t last_start;         /* offset of the last line */
	int have_ours;
	struct recinfo last;      /* the last line of ours */
	int last_bad;             /* the last line with a seq is malformed */
	char why[256];
};

static enum audit_status tail_read(int fd, const char *path, struct tail *t, char *err,
                                   size_t errlen)
{
	struct stat st;
	struct strbuf sb = STRBUF_INIT;
	enum audit_status rc = AUDIT_OK;

	memset(t, 0, sizeof(*t));
	if (fstat(fd, &st))
		return fail(AUDIT_EIO, err, errlen, "cannot stat %s: %s", path, strerror(errno));
	t->size = st.st_size;
	if (t->size == 0) {
		t->empty = 1;
		return AUDIT_OK;
	}
	char last;
	if (pread_full(fd, &last, 1, t->size - 1))
		return fail(AUDIT_EIO, err, errlen, "cannot read %s: %s", path, strerror(errno));
	if (last != '\n') {
		t->torn = 1;
		return AUDIT_OK;
	}
	off_t end = t->size, start;
	int first = 1;
	while (end > 0 && t->size - end < (off_t)TAIL_SCAN_CAP) {
		if (line_ending_at(fd, end, &sb, &start)) {
			rc = fail(AUDIT_EIO, err, errlen, "cannot read %s: %s", path,
			          errno == EFBIG ? "a line longer than 1 MiB" : strerror(errno));
			goto out;
		}
		if (first) {
			crypto_sha256(sb.buf, sb.len, t->head);
			t->last_start = start;
			first = 0;
		}
		sb.buf[--sb.len] = 0;
		struct recinfo ri;
		char why[128];
		if (rec_parse(sb.buf, sb.len, &ri, why, sizeof(why)) == 0 && ri.ours) {
			t->have_ours = 1;
			t->last = ri;
			goto out;
		}
		/* A line that names a seq but does not parse is a damaged record of
		 * ours: we cannot know where the chain stands. */
		if (strstr(sb.buf, "\"seq\": ")) {
			t->last_bad = 1;
			snprintf(t->why, sizeof(t->why), "the record at byte %lld is damaged (%s)",
			         (long long)start, why);
			goto out;
		}
		end = start;
	}
out:
	sb_free(&sb);
	return rc;
}

/* ---------------------------------------------------------------- writing */

struct audit_log {
	char *path;
	int fd;
	int locked;
	struct audit_opts o;
	char user[256], host[256];
	long pid;
	/* valid under the lock */
	struct astate *st;
	struct tail t;
	uint8_t head[SHA256_LEN];
	uint64_t next_seq;
	/* what we know about the file after our own last write */
	off_t known_size;
	dev_t known_dev;
	ino_t known_ino;
};

const char *audit_log_path(const struct audit_log *l)
{
	return l->path;
}

static int kr_to(const struct audit_log *l)
{
	return l->o.kr_timeout_ms;
}

/* Open (creating it 0600 from the first byte, and its directory 0700). */
static enum audit_status log_open_fd(struct audit_log *l, int create, char *err, size_t errlen)
{
	if (create) {
		char *dir = dir_of(l->path);
		int rc = mkdir_p(dir, 0700);
		int e = errno;
		free(dir);
		if (rc)
			return fail(AUDIT_EIO, err, errlen, "cannot create the directory of %s: %s",
			            l->path, strerror(e));
	}
	int flags = O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
	int fd = create ? open(l->path, flags | O_CREAT | O_EXCL, 0600) : -1;
	int created = fd >= 0;
	if (fd >= 0) {
		(void)fchmod(fd, 0600);
		if (l->o.sync != AUDIT_SYNC_NONE)
			(void)fsync_dir_of(l->path);
	} else if (!create || errno == EEXIST) {
		fd = open(l->path, flags);
	}
	if (fd < 0)
		return fail(AUDIT_EIO, err, errlen, "cannot open %s: %s", l->path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(AUDIT_EIO, err, errlen, "%s is not a regular file", l->path);
	}
	/* A log another writer (the reference) created with the umask. */
	if (!created && (st.st_mode & 077) && st.st_uid == geteuid())
		(void)fchmod(fd, 0600);
	l->fd = fd;
	l->known_size = -1;
	return AUDIT_OK;
}

static struct audit_log *log_new(const char *path, const struct audit_opts *o)
{
	struct audit_log *l = xzalloc(sizeof(*l));
	l->path = path ? xstrdup(path) : audit_default_path();
	l->fd = -1;
	if (o)
		l->o = *o;
	if (l->o.user)
		copy_field(l->user, sizeof(l->user), l->o.user);
	else
		ident_audit_user(l->user, sizeof(l->user));
	if (l->o.host)
		copy_field(l->host, sizeof(l->host), l->o.host);
	else
		ident_hostname(l->host, sizeof(l->host));
	l->pid = (long)getpid();
	l->known_size = -1;
	return l;
}

enum audit_status audit_open(const char *path, const struct audit_opts *o, struct audit_log **out,
                             char *err, size_t errlen)
{
	struct audit_log *l = log_new(path, o);
	char *defpath = path ? NULL : audit_default_path();
	enum audit_status rc = log_open_fd(l, 1, err, errlen);
	if (rc == AUDIT_OK && defpath) {
		/* The reference keeps its default directory private. */
		char *dir = dir_of(l->path);
		(void)chmod(dir, 0700);
		free(dir);
	}
	free(defpath);
	if (rc) {
		audit_close(l);
		return rc;
	}
	*out = l;
	return AUDIT_OK;
}

static void unlock_log(struct audit_log *l)
{
	if (l->locked) {
		(void)flock(l->fd, LOCK_UN);
		l->locked = 0;
	}
}

void audit_close(struct audit_log *l)
{
	if (!l)
		return;
	unlock_log(l);
	if (l->fd >= 0)
		close(l->fd);
	state_free(l->st);
	free(l->path);
	free(l);
}

/* Lock the file that is at path now (a rotation may have replaced it while
 * we waited) and bring our view of state and tail up to date. */
static enum audit_status lock_log(struct audit_log *l, int op, char *err, size_t errlen)
{
	for (int tries = 0;; tries++) {
		while (flock(l->fd, op)) {
			if (errno != EINTR)
				return fail(AUDIT_EIO, err, errlen, "cannot lock %s: %s", l->path,
				            strerror(errno));
		}
		l->locked = 1;
		struct stat a, b;
		if (fstat(l->fd, &a))
			return fail(AUDIT_EIO, err, errlen, "cannot stat %s: %s", l->path, strerror(errno));
		int gone = lstat(l->path, &b) != 0;
		if (!gone && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			break;
		unlock_log(l);
		if (tries > 100)
			return fail(AUDIT_EIO, err, errlen, "%s keeps being replaced", l->path);
		close(l->fd);
		l->fd = -1;
		enum audit_status rc = log_open_fd(l, 1, err, errlen);
		if (rc)
			return rc;
	}
	return AUDIT_OK;
}

/* Under the lock: read state and tail unless nothing changed since our own
 * last write, and decide where the next record goes.  Repairs a state that
 * lags one seal behind the log (a crash between seal and key update). */
static enum audit_status refresh(struct audit_log *l, char *err, size_t errlen)
{
	struct stat sb;
	if (fstat(l->fd, &sb))
		return fail(AUDIT_EIO, err, errlen, "cannot stat %s: %s", l->path, strerror(errno));
	if (l->known_size >= 0 && sb.st_size == l->known_size && sb.st_ino == l->known_ino &&
	    sb.st_dev == l->known_dev)
		return AUDIT_OK;
	l->known_size = -1;
	state_free(l->st);
	l->st = NULL;
	char *spath = audit_state_path(l->path);
	enum audit_status rc;
	int have = state_load(l->path, kr_to(l), &l->st, err, errlen);
	if (have < 0) {
		rc = AUDIT_ESTATE;
		goto out;
	}
	rc = tail_read(l->fd, l->path, &l->t, err, errlen);
	if (rc)
		goto out;
	struct tail *t = &l->t;
	if (t->torn) {
		rc = fail(AUDIT_ETORN, err, errlen,
		          "%s ends with an incomplete line (a writer died mid-write); run "
		          "'apcore-audit verify --repair'", l->path);
		goto out;
	}
	if (t->last_bad) {
		rc = fail(AUDIT_ESTATE, err, errlen, "%s: %s; run 'apcore-audit verify'", l->path, t->why);
		goto out;
	}
	if (!l->st) {
		if (t->have_ours && t->last.keyed) {
			rc = fail(AUDIT_ESTATE, err, errlen,
			          "%s holds authenticated records of log %s but its key material (%s) is "
			          "missing: restore it, or move the log away and run 'apcore-audit init'",
			          l->path, t->last.log_id, spath);
			goto out;
		}
		l->next_seq = t->have_ours ? t->last.seq + 1 : 1;
		if (t->empty)
			genesis("", l->head);
		else
			memcpy(l->head, t->head, SHA256_LEN);
		goto done;
	}
	struct astate *st = l->st;
	if (t->empty) {
		rc = fail(AUDIT_ESTATE, err, errlen,
		          "%s is empty but %s says it holds log %s (epoch %" PRIu64 "): the log was "
		          "removed or replaced; restore it, or move %s away to start a new log",
		          l->path, spath, st->log_id, st->epoch, spath);
		goto out;
	}
	if (!t->have_ours || !t->last.keyed) {
		rc = fail(AUDIT_ESTATE, err, errlen,
		          "%s has no authenticated record but %s exists (an interrupted init, or the "
		          "log was replaced); run 'apcore-audit verify'", l->path, spath);
		goto out;
	}
	const struct recinfo *last = &t->last;
	if (strcmp(last->log_id, st->log_id)) {
		rc = fail(AUDIT_ESTATE, err, errlen, "%s belongs to log %s but %s to log %s", l->path,
		          last->log_id, spath, st->log_id);
		goto out;
	}
	if (last->kind == RK_SEAL && last->epoch == st->epoch) {
		audit_key_evolve(st->key, st->epoch);
		st->epoch++;
		st->first_seq = last->seq + 1;
		if (state_save(l->path, st, 0, kr_to(l), err, errlen)) {
			rc = AUDIT_ESTATE;
			goto out;
		}
	} else if (last->epoch == st->epoch) {
		if (last->seq + 1 < st->first_seq) {
			rc = fail(AUDIT_ESTATE, err, errlen,
			          "%s ends at seq %" PRIu64 " but epoch %" PRIu64 " began at seq %" PRIu64
			          ": records were removed from its end; run 'apcore-audit verify'",
			          l->path, last->seq, st->epoch, st->first_seq);
			goto out;
		}
	} else if (last->epoch + 1 == st->epoch && last->kind == RK_SEAL &&
	           last->seq + 1 == st->first_seq) {
		/* sealed; the next record opens the new epoch */
	} else if (last->epoch < st->epoch) {
		rc = fail(AUDIT_ESTATE, err, errlen,
		          "%s ends in epoch %" PRIu64 " but its key is at epoch %" PRIu64 ": records "
		          "were removed from its end; run 'apcore-audit verify'",
		          l->path, last->epoch, st->epoch);
		goto out;
	} else {
		rc = fail(AUDIT_ESTATE, err, errlen,
		          "%s is at epoch %" PRIu64 " but its key material only at epoch %" PRIu64
		          ": %s was restored from an older copy", l->path, last->epoch, st->epoch, spath);
		goto out;
	}
	l->next_seq = last->seq + 1;
	memcpy(l->head, t->head, SHA256_LEN);
done:
	l->known_size = sb.st_size;
	l->known_ino = sb.st_ino;
	l->known_dev = sb.st_dev;
	rc = AUDIT_OK;
out:
	free(spath);
	return rc;
}

/* System fields of the log's own records. */
struct sysrec {
	enum rkind kind;
	uint64_t n1, n2, n3;
	const uint8_t *digest;
	const char *name;
};

static const char *kind_module(enum rkind k)
{
	switch (k) {
	case RK_INIT: return AUDIT_SYS_PREFIX "init";
	case RK_SEAL: return AUDIT_SYS_PREFIX "seal";
	case RK_ROTATE: return AUDIT_SYS_PREFIX "rotate";
	case RK_REPAIR: return AUDIT_SYS_PREFIX "repair";
	default: return NULL;
	}
}

static void put_hex(struct jw *w, const char *key, const uint8_t *b, size_t n)
{
	char hex[2 * SHA256_LEN + 1];
	hex_encode(b, n, hex);
	jw_kv_str(w, key, hex);
}

/* The seven reference fields, opening the object. */
static void ref_fields(struct jw *w, const char *ts, const char *user, const char *module,
                       const char *hash, const char *status, int64_t exit_code, int64_t duration)
{
	jw_obj_begin(w);
	jw_kv_str(w, "timestamp", ts);
	jw_kv_str(w, "user", user);
	jw_kv_str(w, "module_id", module);
	jw_kv_str(w, "input_hash", hash);
	jw_kv_str(w, "status", status);
	jw_kv_int(w, "exit_code", exit_code);
	jw_kv_int(w, "duration_ms", duration);
}

void audit_reference_line(struct strbuf *out, const char *timestamp, const char *user,
                          const char *module_id, const char *input_hash, const char *status,
                          int64_t exit_code, int64_t duration_ms)
{
	struct jw w;
	jw_init(&w, out, JSON_PYTHON);
	ref_fields(&w, timestamp, user, module_id, input_hash, status, exit_code, duration_ms);
	jw_obj_end(&w);
	sb_putc(out, '\n');
}

int audit_canonical_input(const char *text, size_t len, struct strbuf *out, char *err,
                          size_t errlen)
{
	size_t start = out->len;
	if (len > AUDIT_INPUT_CAP) {
		snprintf(err, errlen, "input larger than %u MiB", AUDIT_INPUT_CAP >> 20);
		return -1;
	}
	if (json_canonicalize(text, len, JSON_PYTHON, out, err, errlen))
		return -1;
	if (out->len == start || out->buf[start] != '{') {
		out->len = start;
		if (out->buf)
			out->buf[start] = 0;
		snprintf(err, errlen, "input is not a JSON object");
		return -1;
	}
	return 0;
}

/* input_hash of a canonical input. */
static const char *hash_input(const struct astate *st, int keyed, const char *canon, size_t len,
                              char out[AUDIT_HEX_LEN])
{
	uint8_t h[SHA256_LEN];
	if (keyed) {
		crypto_hmac_sha256(st->pepper, SHA256_LEN, canon, len, h);
		hex_encode(h, SHA256_LEN, out);
		return "hmac-sha256";
	}
	uint8_t salt[16];
	xcrypto_random(salt, sizeof(salt));
	struct sha256_ctx *c = crypto_sha256_new();
	crypto_sha256_update(c, salt, sizeof(salt));
	crypto_sha256_update(c, canon, len);
	crypto_sha256_final(c, h);
	hex_encode(h, SHA256_LEN, out);
	return "sha256-salted";
}

/* Append one complete line for rec to out, chained to l->head, and advance
 * head and seq.  canon is the canonical input. */
static void build_line(struct audit_log *l, const struct audit_rec *rec, const char *canon,
                       size_t canon_len, int keyed_hash, const struct sysrec *sys,
                       const uint8_t *mk, struct strbuf *out)
{
	char ts[RFC3339_MS_LEN], hash[AUDIT_HEX_LEN];
	struct jw w;
	size_t start = out->len;
	const struct astate *st = l->st;

	time_rfc3339_ms(l->o.now_ms ? l->o.now_ms : time_now_ms(), ts);
	const char *alg = hash_input(st, keyed_hash, canon, canon_len, hash);
	jw_init(&w, out, JSON_PYTHON);
	ref_fields(&w, ts, l->user, sys ? kind_module(sys->kind) : rec->module_id, hash,
	           sys ? "success" : rec->status, sys ? 0 : rec->exit_code,
	           sys ? 0 : rec->duration_ms);
	jw_kv_int(&w, "seq", (int64_t)l->next_seq);
	jw_kv_str(&w, "host", l->host);
	jw_kv_int(&w, "pid", l->pid);
	if (st) {
		jw_kv_str(&w, "log_id", st->log_id);
		jw_kv_int(&w, "epoch", (int64_t)st->epoch);
	}
	put_hex(&w, "prev", l->head, SHA256_LEN);
	jw_kv_str(&w, "input_hash_alg", alg);
	if (sys) {
		switch (sys->kind) {
		case RK_INIT:
			jw_kv_int(&w, "adopted_bytes", (int64_t)sys->n1);
			if (sys->n1)
				put_hex(&w, "adopted_sha256", sys->digest, SHA256_LEN);
			break;
		case RK_SEAL:
			jw_kv_int(&w, "sealed_epoch", (int64_t)sys->n1);
			jw_kv_int(&w, "sealed_records", (int64_t)sys->n2);
			jw_kv_int(&w, "sealed_first_seq", (int64_t)sys->n3);
			break;
		case RK_ROTATE:
			jw_kv_str(&w, "rotated_from", sys->name);
			jw_kv_int(&w, "rotated_bytes", (int64_t)sys->n1);
			break;
		case RK_REPAIR:
			jw_kv_int(&w, "torn_offset", (int64_t)sys->n1);
			jw_kv_int(&w, "torn_bytes", (int64_t)sys->n2);
			put_hex(&w, "torn_sha256", sys->digest, SHA256_LEN);
			jw_kv_str(&w, "torn_file", sys->name);
			break;
		default:
			break;
		}
	} else {
		for (size_t i = 0; i < rec->nextra; i++) {
			jw_key(&w, rec->extra[i].key);
			if (rec->extra[i].str)
				jw_str(&w, rec->extra[i].str);
			else
				jw_int(&w, rec->extra[i].num);
		}
	}
	if (st) {
		uint8_t mac[SHA256_LEN];
		record_mac(mk, out->buf + start, out->len - start, mac);
		put_hex(&w, "mac", mac, SHA256_LEN);
	}
	jw_obj_end(&w);
	sb_putc(out, '\n');
	crypto_sha256(out->buf + start, out->len - start, l->head);
	l->next_seq++;
}

/* One write() of buf at the end of the log; a short write is taken back. */
static enum audit_status write_once(struct audit_log *l, const char *buf, size_t len, int sync,
                                    char *err, size_t errlen)
{
	off_t before = l->known_size;
	ssize_t n;
	do
		n = write(l->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len) {
		int e = n < 0 ? errno : EIO;
		if (n > 0 && before >= 0)
			(void)!ftruncate(l->fd, before);
		l->known_size = -1;
		return fail(AUDIT_EIO, err, errlen, "cannot write %s: %s", l->path,
		            n < 0 ? strerror(e) : "short write (disk full?)");
	}
	if (sync && fdatasync(l->fd)) {
		l->known_size = -1;
		return fail(AUDIT_EIO, err, errlen, "cannot sync %s: %s", l->path, strerror(errno));
	}
	if (l->known_size >= 0)
		l->known_size += (off_t)len;
	return AUDIT_OK;
}

static int key_ok(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return 0;
	for (size_t i = 0; i < ARRAY_SIZE(ref_keys); i++)
		if (!strcmp(k, ref_keys[i]))
			return 0;
	for (size_t i = 0; i < ARRAY_SIZE(own_keys); i++)
		if (!strcmp(k, own_keys[i]))
			return 0;
	return 1;
}

static enum audit_status check_rec(const struct audit_rec *r, char *err, size_t errlen)
{
	if (!r->module_id || !*r->module_id)
		return fail(AUDIT_EINPUT, err, errlen, "module_id is empty");
	size_t n = strlen(r->module_id);
	if (n > AUDIT_MODULE_MAX)
		return fail(AUDIT_EINPUT, err, errlen, "module_id longer than %d bytes",
		            AUDIT_MODULE_MAX);
	if (!utf8_valid(r->module_id, n))
		return fail(AUDIT_EINPUT, err, errlen, "module_id is not valid UTF-8");
	if (!strncmp(r->module_id, AUDIT_SYS_PREFIX, strlen(AUDIT_SYS_PREFIX)))
		return fail(AUDIT_EINPUT, err, errlen, "module_id prefix '%s' is reserved",
		            AUDIT_SYS_PREFIX);
	if (!r->status || (strcmp(r->status, "success") && strcmp(r->status, "error")))
		return fail(AUDIT_EINPUT, err, errlen, "status must be 'success' or 'error'");
	if (r->duration_ms < 0)
		return fail(AUDIT_EINPUT, err, errlen, "duration_ms is negative");
	size_t total = 0;
	if (r->nextra > 64)
		return fail(AUDIT_EINPUT, err, errlen, "more than 64 extra fields");
	for (size_t i = 0; i < r->nextra; i++) {
		const struct audit_field *f = &r->extra[i];
		if (!f->key || !key_ok(f->key))
			return fail(AUDIT_EINPUT, err, errlen, "extra field name '%.64s' is not allowed",
			            f->key ? f->key : "");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(r->extra[j].key, f->key))
				return fail(AUDIT_EINPUT, err, errlen, "extra field '%s' given twice", f->key);
		total += strlen(f->key) + (f->str ? strlen(f->str) : 20);
		if (f->str && !utf8_valid(f->str, strlen(f->str)))
			return fail(AUDIT_EINPUT, err, errlen, "extra field '%s' is not valid UTF-8",
			            f->key);
	}
	if (total > EXTRA_MAX)
		return fail(AUDIT_EINPUT, err, errlen, "extra fields larger than %u KiB",
		            EXTRA_MAX >> 10);
	return AUDIT_OK;
}

static int want_keyed(const struct audit_log *l, char *err, size_t errlen)
{
	if (l->o.hash == AUDIT_HASH_SALTED)
		return 0;
	if (l->o.hash == AUDIT_HASH_KEYED && !l->st) {
		fail(0, err, errlen, "a keyed input hash needs the log's key material: run "
		     "'apcore-audit init' (or use the reference's salted hash)");
		return -1;
	}
	return l->st != NULL;
}

enum audit_status audit_check(struct audit_log *l, char *err, size_t errlen)
{
	enum audit_status rc = lock_log(l, LOCK_EX, err, errlen);
	if (!rc)
		rc = refresh(l, err, errlen);
	if (!rc && want_keyed(l, err, errlen) < 0)
		rc = AUDIT_ESTATE;
	unlock_log(l);
	/* The caller may wait long before it writes: no key in memory meanwhile. */
	state_free(l->st);
	l->st = NULL;
	l->known_size = -1;
	return rc;
}

enum audit_status audit_write(struct audit_log *l, const struct audit_rec *recs, size_t n,
                              size_t *bad, char *err, size_t errlen)
{
	struct strbuf *canon = xcalloc(n ? n : 1, sizeof(*canon));
	struct strbuf out = STRBUF_INIT;
	enum audit_status rc = AUDIT_OK;
	uint8_t mk[SHA256_LEN];
	int have_mk = 0;

	for (size_t i = 0; i < n; i++) {
		char why[200], cwhy[180];
		rc = check_rec(&recs[i], why, sizeof(why));
		if (!rc && recs[i].input && recs[i].input_canonical) {
			sb_add(&canon[i], recs[i].input, recs[i].input_len);
		} else if (!rc && recs[i].input) {
			if (audit_canonical_input(recs[i].input, recs[i].input_len, &canon[i], cwhy,
			                          sizeof(cwhy)))
				rc = fail(AUDIT_EINPUT, why, sizeof(why), "bad input: %s", cwhy);
		} else if (!rc) {
			sb_puts(&canon[i], "{}");
		}
		if (rc) {
			if (bad)
				*bad = i;
			fail(rc, err, errlen, "%s", why);
			goto out;
		}
	}
	enum audit_sync sync = l->o.sync;
	if (sync == AUDIT_SYNC_DEFAULT)
		sync = n == 1 ? AUDIT_SYNC_ALWAYS : AUDIT_SYNC_BATCH;

	rc = lock_log(l, LOCK_EX, err, errlen);
	if (!rc)
		rc = refresh(l, err, errlen);
	if (rc)
		goto out;
	int keyed = want_keyed(l, err, errlen);
	if (keyed < 0) {
		rc = AUDIT_ESTATE;
		goto out;
	}
	if (l->st) {
		audit_key_mac(l->st->key, mk);
		have_mk = 1;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		build_line(l, &recs[i], canon[i].buf, canon[i].len, keyed, NULL, mk, &out);
		if (sync == AUDIT_SYNC_ALWAYS) {
			rc = write_once(l, out.buf, out.len, 1, err, errlen);
			sb_reset(&out);
		}
	}
	if (!rc && out.len)
		rc = write_once(l, out.buf, out.len, sync == AUDIT_SYNC_BATCH, err, errlen);
out:
	if (have_mk)
		secure_wipe(mk, sizeof(mk));
	if (rc)
		l->known_size = -1;
	unlock_log(l);
	for (size_t i = 0; i < n; i++)
		sb_free(&canon[i]);
	free(canon);
	sb_free(&out);
	return rc;
}

enum audit_status audit_append(const char *path, const struct audit_rec *rec,
                               const struct audit_opts *o, char *err, size_t errlen)
{
	struct audit_log *l;
	enum audit_status rc = check_rec(rec, err, errlen);
	if (rc)
		return rc;
	rc = audit_open(path, o, &l, err, errlen);
	if (rc)
		return rc;
	rc = audit_write(l, rec, 1, NULL, err, errlen);
	audit_close(l);
	return rc;
}

/* Write one of the log's own records (lock held, refresh done). */
static enum audit_status write_sys(struct audit_log *l, const struct sysrec *sys, char *err,
                                   size_t errlen)
{
	struct strbuf out = STRBUF_INIT;
	uint8_t mk[SHA256_LEN];
	int keyed = l->st && l->o.hash != AUDIT_HASH_SALTED;
	if (l->st)
		audit_key_mac(l->st->key, mk);
	build_line(l, NULL, "{}", 2, keyed, sys, mk, &out);
	secure_wipe(mk, sizeof(mk));
	enum audit_status rc = write_once(l, out.buf, out.len, 1, err, errlen);
	sb_free(&out);
	return rc;
}

/* ------------------------------------------------------- administration */

enum audit_status audit_init(const char *path, const struct audit_opts *o, char **vk,
                             char *where, size_t wherelen, char *err, size_t errlen)
{
	struct audit_log *l;
	enum audit_status rc = audit_open(path, o, &l, err, errlen);
	if (rc)
		return rc;
	char *spath = audit_state_path(l->path);
	struct astate *st = NULL;
	uint8_t seed[SHA256_LEN];
	int state_made = 0;

	*vk = NULL;
	rc = lock_log(l, LOCK_EX, err, errlen);
	if (rc)
		goto out;
	if (access(spath, F_OK) == 0 || errno != ENOENT) {
		rc = fail(AUDIT_ESTATE, err, errlen, "%s already has key material (%s)", l->path, spath);
		goto out;
	}
	rc = tail_read(l->fd, l->path, &l->t, err, errlen);
	if (rc)
		goto out;
	if (l->t.torn) {
		rc = fail(AUDIT_ETORN, err, errlen, "%s ends with an incomplete line; run "
		          "'apcore-audit verify --repair' first", l->path);
		goto out;
	}
	if (l->t.last_bad || (l->t.have_ours && l->t.last.keyed)) {
		rc = fail(AUDIT_ESTATE, err, errlen,
		          "%s already holds authenticated records whose key material is gone; move it "
		          "away and initialise a new log", l->path);
		goto out;
	}

	int keyring = 0;
	char why[160] = "";
	if (l->o.backend == AUDIT_BACKEND_KEYRING || l->o.backend == AUDIT_BACKEND_AUTO) {
		enum kr_status ks = kr_probe(kr_to(l) ? kr_to(l) : KR_DEFAULT_TIMEOUT_MS, why,
		                             sizeof(why));
		keyring = ks == KR_OK;
		if (!keyring && l->o.backend == AUDIT_BACKEND_KEYRING) {
			rc = fail(AUDIT_ESTATE, err, errlen, "the keyring is not usable: %s%s%s",
			          kr_status_str(ks), why[0] ? ": " : "", why);
			goto out;
		}
	}

	st = state_new();
	uint8_t id[16];
	xcrypto_random(id, sizeof(id));
	hex_encode(id, sizeof(id), st->log_id);
	secure_register(seed, sizeof(seed));
	xcrypto_random(seed, sizeof(seed));
	memcpy(st->key, seed, SHA256_LEN);
	derive_pepper(seed, st->pepper);
	st->epoch = 0;
	st->first_seq = l->t.have_ours ? l->t.last.seq + 1 : 1;
	st->keyring = keyring;
	if (state_save(l->path, st, 1, kr_to(l), err, errlen)) {
		rc = AUDIT_ESTATE;
		goto out;
	}
	state_made = 1;

	uint8_t digest[SHA256_LEN];
	if (l->t.size > 0 && hash_prefix(l->fd, l->t.size, digest)) {
		rc = fail(AUDIT_EIO, err, errlen, "cannot read %s: %s", l->path, strerror(errno));
		goto out;
	}
	l->st = st;
	st = NULL;
	l->next_seq = l->st->first_seq;
	if (l->t.empty)
		genesis(l->st->log_id, l->head);
	else
		memcpy(l->head, l->t.head, SHA256_LEN);
	l->known_size = l->t.size;
	struct sysrec sys = { .kind = RK_INIT, .n1 = (uint64_t)l->t.size, .digest = digest };
	rc = write_sys(l, &sys, err, errlen);
	if (rc)
		goto out;

	char seedhex[2 * SHA256_LEN + 1];
	hex_encode(seed, SHA256_LEN, seedhex);
	*vk = secure_alloc(strlen(VK_PREFIX) + 32 + 1 + 64 + 1);
	sprintf(*vk, "%s%s:%s", VK_PREFIX, l->st->log_id, seedhex);
	secure_wipe(seedhex, sizeof(seedhex));
	if (where)
		snprintf(where, wherelen, "%s", l->st->keyring ? "the keyring" : spath);
out:
	if (rc && state_made)
		state_unlink(l->path, st ? st : l->st, kr_to(l));
	secure_wipe(seed, sizeof(seed));
	secure_unregister(seed);
	state_free(st);
	free(spath);
	audit_close(l);
	return rc;
}

/* Open an existing log and lock it with its state loaded (keyed or not). */
static enum audit_status open_locked(const char *path, const struct audit_opts *o, int need_key,
                                     struct audit_log **out, char *err, size_t errlen)
{
	struct audit_log *l = log_new(path, o);
	enum audit_status rc = log_open_fd(l, 0, err, errlen);
	if (!rc)
		rc = lock_log(l, LOCK_EX, err, errlen);
	if (!rc)
		rc = refresh(l, err, errlen);
	if (!rc && need_key && !l->st)
		rc = fail(AUDIT_ESTATE, err, errlen, "%s has no key material: run 'apcore-audit init'",
		          l->path);
	if (rc) {
		audit_close(l);
		return rc;
	}
	*out = l;
	return AUDIT_OK;
}

/* Seal the current epoch of a locked, refreshed log and evolve its key. */
static enum audit_status seal_locked(struct audit_log *l, char *err, size_t errlen)
{
	struct astate *st = l->st;
	struct sysrec sys = { .kind = RK_SEAL, .n1 = st->epoch,
	                      .n2 = l->next_seq - st->first_seq, .n3 = st->first_seq };
	enum audit_status rc = write_sys(l, &sys, err, errlen);
	if (rc)
		return rc;
	audit_key_evolve(st->key, st->epoch);
	st->epoch++;
	st->first_seq = l->next_seq;
	if (state_save(l->path, st, 0, kr_to(l), err, errlen)) {
		l->known_size = -1;
		size_t n = strlen(err);
		snprintf(err + n, errlen - n, " (the seal is written; the next append retries the key "
		         "update)");
		return AUDIT_ESTATE;
	}
	return AUDIT_OK;
}

enum audit_status audit_seal(const char *path, const struct audit_opts *o, uint64_t *epoch,
                             char *err, size_t errlen)
{
	struct audit_log *l;
	enum audit_status rc = open_locked(path, o, 1, &l, err, errlen);
	if (rc)
		return rc;
	*epoch = l->st->epoch;
	rc = seal_locked(l, err, errlen);
	audit_close(l);
	return rc;
}

enum audit_status audit_rotate(const char *path, const struct audit_opts *o, char **moved_to,
                               char *err, size_t errlen)
{
	struct audit_log *l;
	enum audit_status rc = open_locked(path, o, 0, &l, err, errlen);
	if (rc)
		return rc;
	char *tmp = NULL, *base = NULL;
	int tfd = -1;
	*moved_to = NULL;
	if (l->st && (rc = seal_locked(l, err, errlen)))
		goto out;

	char ts[RFC3339_MS_LEN], stamp[RFC3339_MS_LEN];
	time_rfc3339_ms(l->o.now_ms ? l->o.now_ms : time_now_ms(), ts);
	size_t k = 0;
	for (const char *p = ts; *p; p++)
		if (*p != '-' && *p != ':')
			stamp[k++] = *p;
	stamp[k] = 0;
	*moved_to = xasprintf("%s.%s", l->path, stamp);
	base = base_of(*moved_to);
	struct stat sb;
	if (fstat(l->fd, &sb)) {
		rc = fail(AUDIT_EIO, err, errlen, "cannot stat %s: %s", l->path, strerror(errno));
		goto out;
	}

	/* The new file is complete before it takes the name. */
	char *dir = dir_of(l->path);
	for (int tries = 0; tries < 16 && tfd < 0; tries++) {
		uint32_t r;
		xcrypto_random(&r, sizeof(r));
		free(tmp);
		tmp = xasprintf("%s/.apcore-audit.%ld.%08x", dir, (long)getpid(), r);
		tfd = open(tmp, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (tfd < 0 && errno != EEXIST)
			break;
	}
	free(dir);
	if (tfd < 0) {
		rc = fail(AUDIT_EIO, err, errlen, "cannot create a new log next to %s: %s", l->path,
		          strerror(errno));
		goto out;
	}
	(void)fchmod(tfd, 0600);
	int oldfd = l->fd;
	l->fd = tfd;
	l->known_size = 0;
	struct sysrec sys = { .kind = RK_ROTATE, .n1 = (uint64_t)sb.st_size, .name = base };
	rc = write_sys(l, &sys, err, errlen);
	l->fd = oldfd;
	if (rc)
		goto out;
	if (link(l->path, *moved_to)) {
		rc = fail(AUDIT_EIO, err, errlen, "cannot link %s to %s: %s", l->path, *moved_to,
		          strerror(errno));
		goto out;
	}
	if (rename(tmp, l->path)) {
		rc = fail(AUDIT_EIO, err, errlen, "cannot rename %s to %s: %s", tmp, l->path,
		          strerror(errno));
		unlink(*moved_to);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	(void)fsync_dir_of(l->path);
out:
	if (tfd >= 0)
		close(tfd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(base);
	if (rc) {
		free(*moved_to);
		*moved_to = NULL;
	}
	audit_close(l);
	return rc;
}

static void checkpoint_mac(const uint8_t key[SHA256_LEN], const char *body, size_t len,
                           uint8_t mac[SHA256_LEN])
{
	uint8_t mk[SHA256_LEN];
	audit_key_mac(key, mk);
	crypto_hmac_sha256(mk, SHA256_LEN, body, len, mac);
	secure_wipe(mk, sizeof(mk));
}

enum audit_status audit_checkpoint(const char *path, const struct audit_opts *o, char **text,
                                   char *err, size_t errlen)
{
	struct audit_log *l;
	enum audit_status rc = open_locked(path, o, 1, &l, err, errlen);
	if (rc)
		return rc;
	char ts[RFC3339_MS_LEN], head[AUDIT_HEX_LEN], mac[AUDIT_HEX_LEN];
	uint8_t m[SHA256_LEN];
	struct strbuf sb = STRBUF_INIT;
	time_rfc3339_ms(l->o.now_ms ? l->o.now_ms : time_now_ms(), ts);
	hex_encode(l->head, SHA256_LEN, head);
	sb_puts(&sb, CP_MAGIC);
	sb_printf(&sb, "log_id %s\nsize %lld\nseq %" PRIu64 "\nhead %s\nepoch %" PRIu64 "\ntime %s\n",
	          l->st->log_id, (long long)l->known_size, l->next_seq - 1, head, l->st->epoch, ts);
	checkpoint_mac(l->st->key, sb.buf, sb.len, m);
	hex_encode(m, SHA256_LEN, mac);
	sb_printf(&sb, "mac %s\n", mac);
	*text = sb_detach(&sb, NULL);
	audit_close(l);
	return AUDIT_OK;
}

enum audit_status audit_hash_input(const char *path, const char *vk, const char *input,
                                   size_t len, char out[AUDIT_HEX_LEN], char *err, size_t errlen)
{
	struct strbuf canon = STRBUF_INIT;
	struct astate *st = NULL;
	enum audit_status rc = AUDIT_OK;
	char why[200];

	if (audit_canonical_input(input, len, &canon, why, sizeof(why))) {
		rc = fail(AUDIT_EINPUT, err, errlen, "bad input: %s", why);
		goto out;
	}
	if (vk) {
		uint8_t seed[SHA256_LEN];
		st = state_new();
		secure_register(seed, sizeof(seed));
		int bad = parse_vk(vk, st->log_id, seed);
		if (!bad)
			derive_pepper(seed, st->pepper);
		secure_wipe(seed, sizeof(seed));
		secure_unregister(seed);
		if (bad) {
			rc = fail(AUDIT_EINPUT, err, errlen, "not a verification key (apcore-audit-vk1:...)");
			goto out;
		}
	} else {
		char *p = path ? xstrdup(path) : audit_default_path();
		int have = state_load(p, 0, &st, err, errlen);
		if (have == 1)
			fail(0, err, errlen, "%s has no key material: its records use the reference's "
			     "salted hash, which cannot be recomputed", p);
		free(p);
		if (have) {
			rc = AUDIT_ESTATE;
			goto out;
		}
	}
	hash_input(st, 1, canon.buf, canon.len, out);
out:
	state_free(st);
	sb_free(&canon);
	return rc;
}

/* ---------------------------------------------------------- verification */

/* Sequential line reader over [0, limit) of fd. */
struct lreader {
	int fd;
	off_t limit, off;         /* off: file offset of buf[start] */
	char *buf;
	size_t cap, start, end;
	int eof;
};

/* Next line: 1 with line and len set (newline included, NUL after it is ours to
 * write); 0 at the end; 2 for a final fragment without newline; -1 error
 * (errno, EFBIG for a line over AUDIT_LINE_MAX). */
static int lr_next(struct lreader *r, char **line, size_t *len)
{
	for (;;) {
		char *nl = r->end > r->start ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
		if (nl) {
			*line = r->buf + r->start;
			*len = (size_t)(nl + 1 - *line);
			r->start += *len;
			r->off += (off_t)*len;
			return 1;
		}
		if (r->end - r->start > AUDIT_LINE_MAX) {
			errno = EFBIG;
			return -1;
		}
		if (r->eof) {
			if (r->end == r->start)
				return 0;
			*line = r->buf + r->start;
			*len = r->end - r->start;
			r->start = r->end;
			return 2;
		}
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		off_t pos = r->off + (off_t)r->end;
		size_t room = r->cap - r->end - 1;
		if ((off_t)room > r->limit - pos)
			room = (size_t)(r->limit - pos);
		if (room == 0) {
			r->eof = 1;
			continue;
		}
		ssize_t n = pread(r->fd, r->buf + r->end, room, pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
	}
}

struct vctx {
	const char *path;
	struct audit_verify *res;
	int have_vk;
	char vk_id[AUDIT_LOGID_LEN];
	uint8_t seed[SHA256_LEN];
	struct astate *st;
	/* walk */
	uint8_t prev_hash[SHA256_LEN];
	int seen_ours, seen_keyed, bad;
	int end_check;            /* failures now concern the log as a whole */
	uint64_t next_seq;
	uint64_t epoch, epoch_first_seq, epoch_count;
	int after_seal;
	uint64_t pre_unauth;      /* unauthenticated lines before any init */
	/* derived keys */
	uint8_t key[SHA256_LEN];
	uint64_t key_epoch;
	int have_key;
	uint8_t mk[SHA256_LEN];
	uint64_t mk_epoch;        /* mk is the MAC key of this epoch */
	int have_mk;
	struct sha256_ctx *prefix;   /* all bytes before the first keyed record */
	uint8_t line_prefix_hash[SHA256_LEN];  /* of the line's MAC input (verify_line) */
	/* checkpoint */
	int have_cp;
	uint64_t cp_size, cp_seq, cp_epoch;
	uint8_t cp_head[SHA256_LEN];
	char cp_id[AUDIT_LOGID_LEN];
};

PRINTF(3, 4) static void vbad(struct vctx *v, uint64_t seq, const char *fmt, ...)
{
	if (v->bad)
		return;
	v->bad = 1;
	v->res->bad_line = v->res->lines;
	v->res->bad_seq = seq;
	va_list ap;
	va_start(ap, fmt);
	vmsg_format(v->res->reason, sizeof(v->res->reason), fmt, ap);
	va_end(ap);
}

/* The MAC key of epoch e, derived from the verification key; 0 or -1. */
static int epoch_mk(struct vctx *v, uint64_t e)
{
	if (!v->have_key || v->key_epoch > e) {
		memcpy(v->key, v->seed, SHA256_LEN);
		v->key_epoch = 0;
		v->have_key = 1;
	}
	if (e - v->key_epoch > EPOCH_STEP_CAP)
		return -1;
	while (v->key_epoch < e) {
		audit_key_evolve(v->key, v->key_epoch);
		v->key_epoch++;
	}
	audit_key_mac(v->key, v->mk);
	v->have_mk = 1;
	v->mk_epoch = e;
	return 0;
}

/* Is the predecessor of a rotated log still what the rotation left? */
static void check_predecessor(struct vctx *v, const struct recinfo *ri)
{
	struct audit_verify *res = v->res;
	char *dir = dir_of(v->path);
	char *p = xasprintf("%s/%s", dir, ri->name);
	free(dir);
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(res->predecessor, sizeof(res->predecessor), "%s (not found, not checked)",
		         ri->name);
		free(p);
		return;
	}
	struct stat sb;
	struct strbuf line = STRBUF_INIT;
	off_t start;
	uint8_t h[SHA256_LEN];
	if (fstat(fd, &sb) || (uint64_t)sb.st_size < ri->n1 || ri->n1 == 0 ||
	    line_ending_at(fd, (off_t)ri->n1, &line, &start)) {
		vbad(v, ri->seq, "the predecessor %s is shorter than the %" PRIu64 " bytes it had at "
		     "rotation", ri->name, ri->n1);
	} else {
		crypto_sha256(line.buf, line.len, h);
		if (!ct_memeq(h, ri->prev, SHA256_LEN) || line.len == 0 ||
		    line.buf[line.len - 1] != '\n')
			vbad(v, ri->seq, "the predecessor %s changed since the rotation (its line at byte "
			     "%" PRIu64 " is not the head this log continues)", ri->name, ri->n1);
		else if ((uint64_t)sb.st_size != ri->n1)
			vbad(v, ri->seq, "the predecessor %s grew after the rotation (%lld bytes, %" PRIu64
			     " at rotation)", ri->name, (long long)sb.st_size, ri->n1);
		else {
			res->predecessor_checked = 1;
			snprintf(res->predecessor, sizeof(res->predecessor), "%s (head and size match)",
			         ri->name);
		}
	}
	sb_free(&line);
	close(fd);
	free(p);
}

static void verify_keyed(struct vctx *v, const struct recinfo *ri, char *line, uint64_t off)
{
	struct audit_verify *res = v->res;
	if (!v->seen_keyed) {
		const char *want = v->have_vk ? v->vk_id : v->st ? v->st->log_id : NULL;
		if (want && strcmp(ri->log_id, want)) {
			vbad(v, ri->seq, "log_id %s is not the expected %s (another log, or a forgery)",
			     ri->log_id, want);
			return;
		}
		uint8_t d[SHA256_LEN];
		crypto_sha256_final(v->prefix, d);
		v->prefix = NULL;
		if (ri->kind == RK_INIT) {
			if (ri->epoch != 0) {
				vbad(v, ri->seq, "init record in epoch %" PRIu64, ri->epoch);
				return;
			}
			if (ri->n1 != off) {
				vbad(v, ri->seq, "init record says %" PRIu64 " bytes precede it, but %" PRIu64
				     " do (lines removed or added before it)", ri->n1, off);
				return;
			}
			if (ri->n1 && !ct_memeq(d, ri->digest, SHA256_LEN)) {
				vbad(v, ri->seq, "the %" PRIu64 " lines before the init record changed since "
				     "it adopted them", res->lines - 1);
				return;
			}
			res->adopted = res->lines - 1;
			v->pre_unauth = 0;
		} else if (ri->kind != RK_ROTATE) {
			vbad(v, ri->seq, "the first authenticated record is not an init or rotate record "
			     "(records removed from the start?)");
			return;
		}
		memcpy(res->log_id, ri->log_id, AUDIT_LOGID_LEN);
		v->seen_keyed = 1;
		v->epoch = ri->epoch;
		v->epoch_first_seq = ri->seq;
		v->epoch_count = 0;
		v->after_seal = 0;
		res->unsealed_first_line = res->lines;
	} else {
		if (strcmp(ri->log_id, res->log_id)) {
			vbad(v, ri->seq, "log_id %s differs from the log's %s", ri->log_id, res->log_id);
			return;
		}
		if (ri->kind == RK_INIT || ri->kind == RK_ROTATE) {
			vbad(v, ri->seq, "%s record in the middle of the log",
			     ri->kind == RK_INIT ? "an init" : "a rotate");
			return;
		}
		if (v->after_seal) {
			if (ri->epoch != v->epoch + 1) {
				vbad(v, ri->seq, "epoch %" PRIu64 " after the seal of epoch %" PRIu64
				     " (must be %" PRIu64 ")", ri->epoch, v->epoch, v->epoch + 1);
				return;
			}
			v->epoch = ri->epoch;
			v->epoch_first_seq = ri->seq;
			v->epoch_count = 0;
			v->after_seal = 0;
			res->unsealed_first_line = res->lines;
		} else if (ri->epoch != v->epoch) {
			vbad(v, ri->seq, "epoch %" PRIu64 " without a seal of epoch %" PRIu64, ri->epoch,
			     v->epoch);
			return;
		}
	}

	/* The MAC: a record verifies only under the key of its own epoch. */
	int checked = 0;
	if (v->have_mk && v->mk_epoch == ri->epoch) {
		checked = 1;
	} else if (v->have_vk) {
		if (epoch_mk(v, ri->epoch)) {
			vbad(v, ri->seq, "epoch %" PRIu64 " is implausibly far ahead", ri->epoch);
			return;
		}
		checked = 1;
	} else if (v->st && !strcmp(v->st->log_id, ri->log_id) && v->st->epoch == ri->epoch) {
		audit_key_mac(v->st->key, v->mk);
		checked = 1;
	}
	v->have_mk = checked;
	v->mk_epoch = ri->epoch;
	if (checked) {
		uint8_t mac[SHA256_LEN];
		(void)line;
		record_mac_of(v->mk, v->line_prefix_hash, mac);
		if (!ct_memeq(mac, ri->mac, SHA256_LEN)) {
			vbad(v, ri->seq, "MAC mismatch under the epoch %" PRIu64 " key: the record was "
			     "altered or forged", ri->epoch);
			return;
		}
		res->mac_ok++;
	} else {
		if (!res->mac_unchecked)
			res->unchecked_first_epoch = ri->epoch;
		res->unchecked_last_epoch = ri->epoch;
		res->mac_unchecked++;
	}

	if (ri->kind == RK_SEAL) {
		if (ri->n1 != v->epoch || ri->n3 != v->epoch_first_seq || ri->n2 != v->epoch_count) {
			vbad(v, ri->seq, "the seal of epoch %" PRIu64 " covers %" PRIu64 " records from "
			     "seq %" PRIu64 " but the log has %" PRIu64 " from seq %" PRIu64, ri->n1,
			     ri->n2, ri->n3, v->epoch_count, v->epoch_first_seq);
			return;
		}
		res->epochs_sealed++;
		v->after_seal = 1;
	} else {
		v->epoch_count++;
	}
	if (ri->kind == RK_REPAIR)
		res->repairs++;
	res->have_epoch = 1;
	res->last_epoch = ri->epoch;
}

/* One complete line (newline included; line[len] writable). */
static void verify_line(struct vctx *v, char *line, size_t len, uint64_t off)
{
	struct audit_verify *res = v->res;
	uint8_t h[SHA256_LEN];
	char why[160];
	struct recinfo ri;

	res->lines++;
	line[len - 1] = 0;
	int prc = rec_parse(line, len - 1, &ri, why, sizeof(why));
	line[len - 1] = '\n';
	if (prc) {
		vbad(v, 0, "%s", why);
		return;
	}
	if (ri.ours && ri.keyed)
		line_hashes(line, len, ri.mac_off, v->line_prefix_hash, h);
	else
		crypto_sha256(line, len, h);
	if (!ri.ours) {
		res->foreign++;
		if (v->seen_keyed)
			res->unauth++;
		else
			v->pre_unauth++;
	} else {
		/* The chain: prev is the hash of the exact bytes before. */
		uint8_t want[SHA256_LEN];
		if (ri.kind == RK_ROTATE && res->lines != 1) {
			vbad(v, ri.seq, "a rotate record that is not the first line");
			return;
		}
		if (res->lines == 1 && ri.kind == RK_ROTATE) {
			check_predecessor(v, &ri);
			if (v->bad)
				return;
		} else {
			if (res->lines == 1)
				genesis(ri.keyed ? ri.log_id : "", want);
			else
				memcpy(want, v->prev_hash, SHA256_LEN);
			if (!ct_memeq(want, ri.prev, SHA256_LEN)) {
				vbad(v, ri.seq, "prev does not match the line before it (a line was "
				     "removed, inserted or moved here)");
				return;
			}
		}
		if (v->seen_ours ? ri.seq != v->next_seq : (ri.seq != 1 && ri.kind != RK_ROTATE)) {
			vbad(v, ri.seq, "seq %" PRIu64 " where %" PRIu64 " was due", ri.seq,
			     v->seen_ours ? v->next_seq : 1);
			return;
		}
		if (!v->seen_ours)
			res->first_seq = ri.seq;
		v->seen_ours = 1;
		v->next_seq = ri.seq + 1;
		res->records++;
		res->last_seq = ri.seq;
		if (ri.keyed) {
			verify_keyed(v, &ri, line, off);
			if (v->bad)
				return;
		} else if (v->seen_keyed) {
			vbad(v, ri.seq, "a record without a MAC after authenticated ones (written without "
			     "the key material)");
			return;
		} else {
			v->pre_unauth++;
		}
	}
	if (v->prefix)
		crypto_sha256_update(v->prefix, line, len);
	memcpy(v->prev_hash, h, SHA256_LEN);
	res->good_lines = res->lines;
	if (v->have_cp && off + len == v->cp_size) {
		if (!ct_memeq(h, v->cp_head, SHA256_LEN) || res->last_seq != v->cp_seq)
			vbad(v, ri.seq, "the line at the checkpoint's head (byte %" PRIu64 ") is not the "
			     "one the checkpoint recorded: the log was rewritten", v->cp_size);
		else
			res->checkpoint_checked = 1;
	}
}

/* Parse a checkpoint; check its MAC when a key is at hand. */
static enum audit_status load_checkpoint(struct vctx *v, const char *file, char *err,
                                         size_t errlen)
{
	char *text;
	size_t len;
	if (read_file_capped(file, 4096, &text, &len))
		return fail(AUDIT_EIO, err, errlen, "cannot read checkpoint %s: %s", file,
		            errno == EFBIG ? "too large" : strerror(errno));
	enum audit_status rc = fail(AUDIT_EINPUT, err, errlen, "%s is not an apcore-audit checkpoint",
	                            file);
	char *macl = strstr(text, "\nmac ");
	char head[65] = "", id[33] = "", mac[65] = "";
	unsigned long long size, seq, epoch;
	if (strncmp(text, CP_MAGIC, strlen(CP_MAGIC)) || !macl ||
	    sscanf(text + strlen(CP_MAGIC),
	           "log_id %32s\nsize %llu\nseq %llu\nhead %64s\nepoch %llu\n", id, &size, &seq,
	           head, &epoch) != 5 ||
	    sscanf(macl + 1, "mac %64s", mac) != 1 || strlen(id) != 32 || !is_hex(id, 32) ||
	    strlen(head) != 64 || hex_decode(head, v->cp_head, SHA256_LEN) || strlen(mac) != 64 ||
	    !is_hex(mac, 64))
		goto out;
	size_t body = (size_t)(macl + 1 - text);
	memcpy(v->cp_id, id, 33);
	v->cp_size = size;
	v->cp_seq = seq;
	v->cp_epoch = epoch;
	v->have_cp = 1;
	v->res->checkpoint_seq = seq;
	uint8_t m[SHA256_LEN], want[SHA256_LEN];
	hex_decode(mac, want, SHA256_LEN);
	int have = 0;
	if (v->have_vk && !strcmp(id, v->vk_id) && epoch_mk(v, epoch) == 0) {
		checkpoint_mac(v->key, text, body, m);
		have = 1;
	} else if (v->st && !strcmp(id, v->st->log_id) && v->st->epoch == epoch) {
		checkpoint_mac(v->st->key, text, body, m);
		have = 1;
	}
	if (have && !ct_memeq(m, want, SHA256_LEN)) {
		rc = fail(AUDIT_EINPUT, err, errlen, "checkpoint %s: MAC mismatch (altered or forged)",
		          file);
		v->have_cp = 0;
		goto out;
	}
	v->res->checkpoint_mac = have;
	rc = AUDIT_OK;
out:
	free(text);
	return rc;
}

/* Cut a torn final line off: keep it in PATH.torn.OFFSET, record a repair. */
static enum audit_status repair_tail(const char *path, struct audit_verify *res, char *err,
                                     size_t errlen)
{
	struct audit_log *l = log_new(path, NULL);
	struct strbuf frag = STRBUF_INIT;
	char *fpath = NULL;
	enum audit_status rc = log_open_fd(l, 0, err, errlen);
	if (!rc)
		rc = lock_log(l, LOCK_EX, err, errlen);
	if (rc)
		goto out;
	struct stat sb;
	if (fstat(l->fd, &sb)) {
		rc = fail(AUDIT_EIO, err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	char lastc = '\n';
	if (sb.st_size == 0 || pread_full(l->fd, &lastc, 1, sb.st_size - 1) || lastc == '\n')
		goto out;   /* nothing torn (any more) */
	/* Find the end of the last complete line. */
	off_t cut = sb.st_size;
	size_t want = 4096;
	for (;;) {
		off_t from = sb.st_size > (off_t)want ? sb.st_size - (off_t)want : 0;
		sb_reset(&frag);
		sb_grow(&frag, (size_t)(sb.st_size - from));
		if (pread_full(l->fd, frag.buf, (size_t)(sb.st_size - from), from)) {
			rc = fail(AUDIT_EIO, err, errlen, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		frag.len = (size_t)(sb.st_size - from);
		char *nl = memrchr(frag.buf, '\n', frag.len);
		if (nl || from == 0) {
			size_t skip = nl ? (size_t)(nl + 1 - frag.buf) : 0;
			memmove(frag.buf, frag.buf + skip, frag.len - skip);
			frag.len -= skip;
			cut = from + (off_t)skip;
			break;
		}
		if (want > AUDIT_LINE_MAX) {
			rc = fail(AUDIT_EINPUT, err, errlen, "%s ends with more than 1 MiB without a "
			          "newline: that is not a torn record; not repaired", path);
			goto out;
		}
		want *= 4;
	}
	/* Keep the fragment before anything is cut. */
	fpath = xasprintf("%s.torn.%lld", path, (long long)cut);
	int ffd = open(fpath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (ffd < 0 || write_full(ffd, frag.buf, frag.len) || fsync(ffd)) {
		rc = fail(AUDIT_EIO, err, errlen, "cannot save the torn line to %s: %s", fpath,
		          strerror(errno));
		if (ffd >= 0)
			close(ffd);
		goto out;
	}
	close(ffd);
	(void)fsync_dir_of(fpath);
	if (ftruncate(l->fd, cut) || fsync(l->fd)) {
		rc = fail(AUDIT_EIO, err, errlen, "cannot truncate %s: %s", path, strerror(errno));
		goto out;
	}
	res->repaired = 1;
	res->torn_offset = (uint64_t)cut;
	res->torn_bytes = frag.len;
	snprintf(res->repair_file, sizeof(res->repair_file), "%s", fpath);
	rc = refresh(l, err, errlen);
	if (rc)
		goto out;
	uint8_t d[SHA256_LEN];
	crypto_sha256(frag.buf, frag.len, d);
	char *fbase = base_of(fpath);
	struct sysrec sys = { .kind = RK_REPAIR, .n1 = (uint64_t)cut, .n2 = frag.len, .digest = d,
	                      .name = fbase };
	res->repair_seq = l->next_seq;
	rc = write_sys(l, &sys, err, errlen);
	free(fbase);
out:
	free(fpath);
	sb_free(&frag);
	audit_close(l);
	return rc;
}

enum audit_status audit_verify(const char *path, const struct audit_verify_opts *vo,
                               struct audit_verify *res, char *err, size_t errlen)
{
	struct vctx v;
	struct lreader r = { .fd = -1 };
	enum audit_status rc = AUDIT_OK;
	char *p = path ? xstrdup(path) : audit_default_path();

	memset(res, 0, sizeof(*res));
	memset(&v, 0, sizeof(v));
	v.path = p;
	v.res = res;
	secure_register(&v, sizeof(v));
	if (vo->vk) {
		if (parse_vk(vo->vk, v.vk_id, v.seed)) {
			rc = fail(AUDIT_EINPUT, err, errlen,
			          "not a verification key (expected apcore-audit-vk1:LOGID:KEY)");
			goto out;
		}
		v.have_vk = 1;
	}
	if (vo->repair) {
		rc = repair_tail(p, res, err, errlen);
		if (rc)
			goto out;
	}
	r.fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (r.fd < 0) {
		rc = fail(AUDIT_EIO, err, errlen, "cannot open %s: %s", p, strerror(errno));
		goto out;
	}
	/* A consistent snapshot: the size and the state at one instant. */
	while (flock(r.fd, LOCK_SH) && errno == EINTR)
		;
	struct stat sb;
	if (fstat(r.fd, &sb)) {
		rc = fail(AUDIT_EIO, err, errlen, "cannot stat %s: %s", p, strerror(errno));
		goto out;
	}
	if (!vo->no_state && state_load(p, 0, &v.st, err, errlen) < 0) {
		rc = AUDIT_ESTATE;
		goto out;
	}
	(void)flock(r.fd, LOCK_UN);
	r.limit = sb.st_size;
	if (vo->checkpoint && (rc = load_checkpoint(&v, vo->checkpoint, err, errlen)))
		goto out;

	if (v.have_vk && v.st) {
		if (strcmp(v.st->log_id, v.vk_id)) {
			vbad(&v, 0, "the key material next to the log belongs to log %s, not to the "
			     "verification key's %s", v.st->log_id, v.vk_id);
		} else if (epoch_mk(&v, v.st->epoch) || !ct_memeq(v.key, v.st->key, SHA256_LEN)) {
			vbad(&v, 0, "the key material next to the log does not derive from the "
			     "verification key (epoch %" PRIu64 ")", v.st->epoch);
		}
	}
	v.prefix = crypto_sha256_new();
	r.cap = AUDIT_LINE_MAX + (1u << 18) + 2;
	r.buf = xmalloc(r.cap);
	while (!v.bad) {
		char *line;
		size_t len;
		uint64_t off = (uint64_t)r.off;
		int n = lr_next(&r, &line, &len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EFBIG) {
				res->lines++;
				vbad(&v, 0, "line longer than 1 MiB");
				break;
			}
			rc = fail(AUDIT_EIO, err, errlen, "cannot read %s: %s", p, strerror(errno));
			goto out;
		}
		if (n == 2) {
			res->torn = 1;
			res->torn_offset = off;
			res->torn_bytes = len;
			break;
		}
		res->bytes += len;
		verify_line(&v, line, len, off);
	}
	if (v.bad)
		goto verdict;

	v.end_check = 1;
	if (v.have_vk && !v.seen_keyed) {
		vbad(&v, 0, "no authenticated record of log %s in this file", v.vk_id);
		goto verdict;
	}
	if (!v.seen_keyed)
		res->unauth += v.pre_unauth;
	if (v.seen_keyed && !v.after_seal)
		res->unsealed = v.epoch_count;
	/* The state knows how far the log got: the end cannot go missing.
	 * A torn last line is reported first: it may be the record the state
	 * is ahead of, and verify --repair settles it. */
	if (res->torn) {
		/* checked again after the repair */
	} else if (v.st && v.seen_keyed) {
		struct astate *st = v.st;
		res->state_epoch = st->epoch;
		if (strcmp(st->log_id, res->log_id)) {
			vbad(&v, 0, "the key material next to the log belongs to log %s, the log is %s",
			     st->log_id, res->log_id);
		} else if (!(v.after_seal ? (st->epoch == v.epoch + 1 || st->epoch == v.epoch)
		                          : st->epoch == v.epoch)) {
			if (st->epoch < v.epoch)
				vbad(&v, 0, "the key material is at epoch %" PRIu64 ", behind the log (epoch %"
				     PRIu64 "): it was restored from an older copy", st->epoch, v.epoch);
			else
				vbad(&v, 0, "the log ends in epoch %" PRIu64 "%s but its key is at epoch %"
				     PRIu64 ": records were removed from its end", v.epoch,
				     v.after_seal ? " (sealed)" : "", st->epoch);
		} else {
			res->state_checked = 1;
		}
	} else if (v.st && !v.seen_keyed && !res->torn) {
		vbad(&v, 0, "key material for log %s exists but the log has no authenticated record "
		     "(replaced or truncated)", v.st->log_id);
	}
	if (v.have_cp && !v.bad) {
		if (strcmp(v.cp_id, res->log_id))
			vbad(&v, 0, "the checkpoint is of log %s, not of this log (%s)", v.cp_id,
			     res->log_id[0] ? res->log_id : "without key material");
		else if (!res->checkpoint_checked && res->first_seq > v.cp_seq)
			vbad(&v, 0, "the checkpoint (seq %" PRIu64 ") predates this file, which starts at "
			     "seq %" PRIu64 "%s%s: check the older file against it", v.cp_seq,
			     res->first_seq, res->predecessor[0] ? " after " : "",
			     res->predecessor[0] ? res->predecessor : "");
		else if (!res->checkpoint_checked)
			vbad(&v, 0, "the log does not extend the checkpoint: no line ends at its byte %"
			     PRIu64 " (%s)", v.cp_size,
			     (uint64_t)res->bytes < v.cp_size ? "the log is shorter: truncated" :
			     "rewritten");
	}
verdict:
	if (v.bad && v.end_check)
		res->bad_line = 0;
	if (v.bad)
		res->code = AUDIT_V_BAD;
	else if (res->torn)
		res->code = AUDIT_V_TORN;
	else if (res->unauth || res->mac_unchecked || (v.have_cp && !res->checkpoint_mac))
		res->code = AUDIT_V_UNAUTH;
	else if (res->unsealed)
		res->code = AUDIT_V_UNSEALED;
	else
		res->code = AUDIT_V_OK;
out:
	if (v.prefix)
		crypto_sha256_final(v.prefix, v.prev_hash);
	if (r.fd >= 0)
		close(r.fd);
	free(r.buf);
	state_free(v.st);
	v.st = NULL;
	secure_wipe(&v, sizeof(v));
	secure_unregister(&v);
	free(p);
	return rc;
}

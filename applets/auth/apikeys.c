/* apikeys.c - API key issuance: keygen, verify, revoke, list.
 *
 * A key is  apk_<id>_<secret>_<check>  (67 characters):
 *   id      12 lower-case hex digits, 48 random bits; public (list, revoke)
 *   secret  43 base62 characters, 256 random bits
 *   check   6 base62 digits of the first 32 bits of SHA-256("apk_<id>_<secret>"):
 *           a typo fails before the store is even opened
 * The store (JSON) keeps per key only HMAC-SHA256(pepper, "apk_<id>_<secret>")
 * with metadata; the 256-bit pepper lives in the keyring or in a 0600 file
 * next to the store, so a copy of the store alone can neither confirm a
 * leaked or guessed key nor mint one.  Writers (keygen, revoke) hold an
 * flock on STORE.lock and replace the store atomically; readers need no
 * lock.
 */
#include "apcore.h"
#include "auth.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* SSHSIG verification (sign.c) may be absent from a build. */
#pragma weak auth_verify_sig

#define ID_LEN 12
#define SECRET_LEN 43
#define CHECK_LEN 6
#define BODY_LEN (4 + ID_LEN + 1 + SECRET_LEN)   /* "apk_<id>_<secret>" */
#define KEY_LEN (BODY_LEN + 1 + CHECK_LEN)
#define PEPPER_LEN 32
#define STORE_CAP (64u << 20)
#define KEY_READ_CAP 4096
#define LINE_CAP 4096              /* verify --batch: longer lines are malformed */
#define MAX_SCOPES 32
#define SCOPE_MAX 128
#define NAME_MAX_LEN 64
#define KR_SERVICE "apcore-auth"
#define STORE_FORMAT "apcore-auth-keys"
#define PEPPER_MAGIC "apcore-auth-pepper:v1:"
#define PEPPER_ID_INFO "apcore-auth pepper id"

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* ------------------------------------------------------------ help */

static const char keygen_help[] =
	"usage: apcore-auth keygen --scope S[,S...] [--expires WHEN] [--name NAME]\n"
	"                          [--store FILE] [--pepper auto|keyring|file] [--json]\n"
	"\n"
	"Issue an API key and print it once: apk_<id>_<secret>_<check>, with a\n"
	"12-hex-digit id, a 256-bit base62 secret and a 6-character checksum.  The\n"
	"store keeps only a keyed hash (HMAC-SHA256 under a secret pepper), the\n"
	"scopes, expiry, name and creation time.\n"
	"  --scope S[,S...]   scopes granted: letters, digits and _ . : / -, a\n"
	"                     trailing * grants every scope with that prefix\n"
	"                     (read:* grants read:docs; * grants everything)\n"
	"  --expires WHEN     90d, 12h, 30m, 45s, 2w, an RFC 3339 time, or never\n"
	"                     (the default)\n"
	"  --name NAME        a label for list (at most 64 bytes, no control chars)\n"
	"  --store FILE       the key store (else $APCORE_AUTH_KEY_STORE, else\n"
	"                     ~/.config/apcore/keys.json)\n"
	"  --pepper WHERE     where a new store keeps its pepper: auto (the keyring\n"
	"                     when usable, else FILE.pepper, mode 0600), keyring, file\n"
	"  --timeout MS       bound on every keyring call (default 2000)\n"
	"  --json             print {\"id\",\"key\",\"name\",\"scopes\",\"created\",\"expires\"}\n"
	"\n"
	"Exit status: 0 ok, 1 error, 2 usage.\n";

static const char verify_help[] =
	"usage: apcore-auth verify [--scope S[,S...]] [--store FILE] [--json] [--batch]\n"
	"\n"
	"Check an API key read from stdin (one trailing newline removed; a prompt\n"
	"without echo on a terminal): checksum first (a typo never touches the\n"
	"store), then the id, the keyed hash (constant-time), revocation, expiry\n"
	"and every --scope (granted exactly or by a trailing-* prefix).  A valid\n"
	"key prints its id (with --json: {\"valid\":true,\"id\",\"name\"}); a rejected\n"
	"one exits 77 with the reason on stderr, never the key.\n"
	"  --batch     one key per input line, one JSON line per key out:\n"
	"              {\"valid\":true,\"id\":..,\"name\":..} or\n"
	"              {\"valid\":false,\"reason\":R[,\"id\":..]} with R one of\n"
	"              malformed checksum unknown mismatch revoked expired scope;\n"
	"              exit 0 when all were valid, else 77\n"
	"  --store FILE, --timeout MS   as for keygen\n"
	"With --signature, verify checks an SSHSIG signature instead (see\n"
	"'apcore-auth verify --signature --help').\n"
	"\n"
	"Exit status: 0 valid, 1 error (store, pepper), 2 usage, 77 rejected.\n";

static const char revoke_help[] =
	"usage: apcore-auth revoke [--store FILE] ID\n"
	"\n"
	"Revoke the key with id ID (the 12 hex digits after apk_; never pass the key\n"
	"itself).  Revoking twice is not an error.\n"
	"\n"
	"Exit status: 0 ok, 1 error (no such key), 2 usage.\n";

static const char list_help[] =
	"usage: apcore-auth list [--store FILE] [--json]\n"
	"\n"
	"List issued keys: id, status (active, expired, revoked), expiry, name and\n"
	"scopes; never secrets or hashes.  --json prints an array of objects with\n"
	"id, name, scopes, created, expires, revoked (times or null) and status.\n"
	"\n"
	"Exit status: 0 ok, 1 error, 2 usage.\n";

/* --------------------------------------------------------- options */

enum { O_SCOPE = 256, O_EXPIRES, O_NAME, O_STORE, O_PEPPER, O_JSON, O_BATCH, O_TIMEOUT };
#define B(o) (1u << ((o) - 256))

struct opts {
	const char *scope, *expires, *name, *store, *pepper;
	int json, batch, timeout_ms;
	unsigned seen;
};

static const struct option longopts[] = {
	{ "scope", required_argument, NULL, O_SCOPE },
	{ "expires", required_argument, NULL, O_EXPIRES },
	{ "name", required_argument, NULL, O_NAME },
	{ "store", required_argument, NULL, O_STORE },
	{ "pepper", required_argument, NULL, O_PEPPER },
	{ "json", no_argument, NULL, O_JSON },
	{ "batch", no_argument, NULL, O_BATCH },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Returns 1 for --help.  The operand of revoke may come first. */
static int parse_opts(int argc, char **argv, unsigned allowed, struct opts *o)
{
	int c;
	memset(o, 0, sizeof(*o));
	o->timeout_ms = KR_DEFAULT_TIMEOUT_MS;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		if (c == 'h')
			return 1;
		opt_accept(longopts, c, argv, NULL, allowed, 0, &o->seen);
		switch (c) {
		case O_SCOPE: o->scope = optarg; break;
		case O_EXPIRES: o->expires = optarg; break;
		case O_NAME: o->name = optarg; break;
		case O_STORE:
			if (!*optarg)
				die_usage("--store wants a file name");
			o->store = optarg;
			break;
		case O_PEPPER:
			if (strcmp(optarg, "auto") && strcmp(optarg, "keyring") && strcmp(optarg, "file"))
				die_usage("--pepper must be auto, keyring or file, not '%s'", optarg);
			o->pepper = optarg;
			break;
		case O_JSON: o->json = 1; break;
		case O_BATCH: o->batch = 1; break;
		case O_TIMEOUT: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < 1 || v > 600000)
				die_usage("--timeout wants milliseconds between 1 and 600000");
			o->timeout_ms = (int)v;
			break;
		}
		}
	}
	return 0;
}

/* ---------------------------------------------------------- scopes */

static int scope_valid(const char *s, size_t n, int glob)
{
	if (!n || n > SCOPE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("_.:/-", ch))
			continue;
		if (ch == '*' && glob && i == n - 1)
			continue;
		return 0;
	}
	return 1;
}

/* "a,b,c" into a NULL-terminated array of copies; dies on a bad one. */
static char **parse_scopes(const char *list, int glob, size_t *n)
{
	char **v = xcalloc(MAX_SCOPES + 1, sizeof(char *));
	const char *p = list;
	*n = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		if (!scope_valid(p, len, glob))
			die_usage("bad scope '%.*s': letters, digits and _ . : / -%s, at most %d characters",
			          (int)len, p, glob ? ", optionally ending in *" : " (no *)", SCOPE_MAX);
		if (*n == MAX_SCOPES)
			die_usage("at most %d scopes", MAX_SCOPES);
		v[(*n)++] = xstrndup(p, len);
		if (!p[len])
			break;
		p += len + 1;
	}
	return v;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* ----------------------------------------------------------- store */

struct apikey {
	char id[ID_LEN + 1];
	char *name;
	char **scopes;          /* NULL-terminated */
	int64_t created;        /* ms since the epoch */
	int64_t expires;        /* 0: never */
	int64_t revoked;        /* 0: not revoked */
	uint8_t hash[SHA256_LEN];
};

struct store {
	char *path;
	int exists;
	int pepper_keyring;
	char pepper_id[17];
	struct apikey *k;
	size_t n, cap;
	struct apikey **byid;   /* sorted by id, built for lookups */
};

static char *store_path(const struct opts *o)
{
	if (o->store)
		return xstrdup(o->store);
	const char *e = getenv("APCORE_AUTH_KEY_STORE");
	if (e && *e)
		return xstrdup(e);
	const char *x = getenv("XDG_CONFIG_HOME");
	if (x && *x == '/')
		return xasprintf("%s/apcore/keys.json", x);
	const char *h = getenv("HOME");
	if (!h || !*h)
		die("no key store: HOME is not set (use --store FILE or APCORE_AUTH_KEY_STORE)");
	return xasprintf("%s/.config/apcore/keys.json", h);
}

static void store_free(struct store *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->k[i].name);
		free_strv(s->k[i].scopes);
	}
	free(s->k);
	free(s->byid);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

static NORETURN void corrupt(const struct store *s, const char *what)
{
	die("key store %s is corrupt: %s", s->path, what);
}

static const cJSON *jget(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static int is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* A time string, or with nullable a JSON null (0). */
static int64_t json_time(const struct store *s, const cJSON *v, int nullable, const char *what)
{
	int64_t ms;
	if (nullable && cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || time_parse_rfc3339(v->valuestring, &ms) || ms <= 0)
		corrupt(s, what);
	return ms;
}

static void parse_key_entry(struct store *s, const cJSON *e, struct apikey *k)
{
	const cJSON *v;
	memset(k, 0, sizeof(*k));
	if (!cJSON_IsObject(e))
		corrupt(s, "a key entry is not an object");
	v = jget(e, "id");
	if (!cJSON_IsString(v) || !is_hex(v->valuestring, ID_LEN))
		corrupt(s, "bad key id");
	memcpy(k->id, v->valuestring, ID_LEN + 1);
	v = jget(e, "name");
	if (!cJSON_IsString(v) || strlen(v->valuestring) > 256)
		corrupt(s, "bad key name");
	k->name = xstrdup(v->valuestring);
	v = jget(e, "scopes");
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 || cJSON_GetArraySize(v) > MAX_SCOPES)
		corrupt(s, "bad scopes");
	k->scopes = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
	size_t i = 0;
	for (const cJSON *sc = v->child; sc; sc = sc->next) {
		if (!cJSON_IsString(sc) || !scope_valid(sc->valuestring, strlen(sc->valuestring), 1))
			corrupt(s, "bad scope");
		k->scopes[i++] = xstrdup(sc->valuestring);
	}
	k->created = json_time(s, jget(e, "created"), 0, "bad creation time");
	k->expires = json_time(s, jget(e, "expires"), 1, "bad expiry");
	k->revoked = json_time(s, jget(e, "revoked"), 1, "bad revocation time");
	v = jget(e, "hash");
	if (!cJSON_IsString(v) || !is_hex(v->valuestring, 2 * SHA256_LEN) ||
	    hex_decode(v->valuestring, k->hash, SHA256_LEN))
		corrupt(s, "bad key hash");
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp((*(struct apikey *const *)a)->id, (*(struct apikey *const *)b)->id);
}

/* Load path; a missing file is an empty store (exists = 0). */
static void store_load(struct store *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	s->path = xstrdup(path);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return;
		die_errno("cannot open key store %s", path);
	}
	struct stat st;
	if (fstat(fd, &st))
		die_errno("cannot stat key store %s", path);
	if (!S_ISREG(st.st_mode))
		die("key store %s is not a regular file", path);
	if ((st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & 022))
		die("key store %s must be owned by you (or root) and writable by nobody else", path);
	char *text;
	size_t len;
	if (read_fd_capped(fd, STORE_CAP, &text, &len)) {
		if (errno == EFBIG)
			die("key store %s is larger than %u MiB", path, STORE_CAP >> 20);
		die_errno("cannot read key store %s", path);
	}
	close(fd);
	s->exists = 1;

	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root)
		corrupt(s, "not JSON");
	if (end && strspn(end, " \t\r\n") != (size_t)(text + len - end))
		corrupt(s, "text after the JSON value");
	free(text);
	if (!cJSON_IsObject(root))
		corrupt(s, "not a JSON object");
	if (json_dup_keys(root))
		corrupt(s, "duplicate keys in an object");
	const cJSON *v = jget(root, "format");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, STORE_FORMAT))
		corrupt(s, "not an apcore-auth key store");
	v = jget(root, "version");
	if (!cJSON_IsNumber(v) || v->valuedouble != 1)
		die("key store %s has an unsupported version", path);
	const cJSON *pep = jget(root, "pepper");
	const cJSON *be = jget(pep, "backend"), *pid = jget(pep, "id");
	if (!cJSON_IsObject(pep) || !cJSON_IsString(be) || !cJSON_IsString(pid) ||
	    (strcmp(be->valuestring, "file") && strcmp(be->valuestring, "keyring")) ||
	    !is_hex(pid->valuestring, 16))
		corrupt(s, "bad pepper entry");
	s->pepper_keyring = !strcmp(be->valuestring, "keyring");
	memcpy(s->pepper_id, pid->valuestring, 17);
	const cJSON *keys = jget(root, "keys");
	if (!cJSON_IsArray(keys))
		corrupt(s, "no key list");
	s->cap = (size_t)cJSON_GetArraySize(keys) + 1;
	s->k = xcalloc(s->cap, sizeof(*s->k));
	for (const cJSON *e = keys->child; e; e = e->next)
		parse_key_entry(s, e, &s->k[s->n++]);
	cJSON_Delete(root);

	s->byid = xcalloc(s->n + 1, sizeof(*s->byid));
	for (size_t i = 0; i < s->n; i++)
		s->byid[i] = &s->k[i];
	qsort(s->byid, s->n, sizeof(*s->byid), cmp_id);
	for (size_t i = 1; i < s->n; i++)
		if (!strcmp(s->byid[i - 1]->id, s->byid[i]->id))
			corrupt(s, "a key id appears twice");
}

static struct apikey *store_find(const struct store *s, const char *id)
{
	struct apikey probe, *pp = &probe, **hit;
	memcpy(probe.id, id, ID_LEN + 1);
	hit = s->n ? bsearch(&pp, s->byid, s->n, sizeof(*s->byid), cmp_id) : NULL;
	return hit ? *hit : NULL;
}

static void jw_time(struct jw *w, const char *key, int64_t ms)
{
	char buf[RFC3339_MS_LEN];
	jw_key(w, key);
	if (!ms) {
		jw_null(w);
		return;
	}
	time_rfc3339_ms(ms, buf);
	jw_str(w, buf);
}

static void jw_scopes(struct jw *w, char **scopes)
{
	jw_key(w, "scopes");
	jw_arr_begin(w);
	for (size_t i = 0; scopes[i]; i++)
		jw_str(w, scopes[i]);
	jw_arr_end(w);
}

/* What the store and 'list' both show of a key (never its hash). */
static void jw_key_fields(struct jw *w, const struct apikey *k)
{
	jw_kv_str(w, "id", k->id);
	jw_kv_str(w, "name", k->name);
	jw_scopes(w, k->scopes);
	jw_time(w, "created", k->created);
	jw_time(w, "expires", k->expires);
	jw_time(w, "revoked", k->revoked);
}

static void store_write(const struct store *s)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw w;
	char hex[2 * SHA256_LEN + 1];

	jw_init(&w, &sb, JSON_COMPACT);
	jw_obj_begin(&w);
	jw_kv_str(&w, "format", STORE_FORMAT);
	jw_kv_int(&w, "version", 1);
	jw_key(&w, "pepper");
	jw_obj_begin(&w);
	jw_kv_str(&w, "backend", s->pepper_keyring ? "keyring" : "file");
	jw_kv_str(&w, "id", s->pepper_id);
	jw_obj_end(&w);
	jw_key(&w, "keys");
	jw_arr_begin(&w);
	for (size_t i = 0; i < s->n; i++) {
		const struct apikey *k = &s->k[i];
		jw_obj_begin(&w);
		jw_key_fields(&w, k);
		hex_encode(k->hash, SHA256_LEN, hex);
		jw_kv_str(&w, "hash", hex);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	sb_putc(&sb, '\n');
	if (atomic_replace(s->path, sb.buf, sb.len, 0600))
		die_errno("cannot write key store %s", s->path);
	sb_free(&sb);
}

/* Writers serialise on STORE.lock (the store itself is replaced by rename,
 * so it cannot carry the lock).  Creates the store's directory (0700). */
static int store_lock(const char *path)
{
	char *copy = xstrdup(path);
	const char *dir = dirname(copy);
	if (mkdir_p(dir, 0700))
		die_errno("cannot create %s", dir);
	free(copy);
	char *lp = xasprintf("%s.lock", path);
	int fd = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		die_errno("cannot open lock file %s", lp);
	while (flock(fd, LOCK_EX))
		if (errno != EINTR)
			die_errno("cannot lock %s", lp);
	free(lp);
	return fd;
}

/* ---------------------------------------------------------- pepper */

static void pepper_id(const uint8_t *p, char id[17])
{
	uint8_t h[SHA256_LEN];
	crypto_hmac_sha256(p, PEPPER_LEN, PEPPER_ID_INFO, strlen(PEPPER_ID_INFO), h);
	hex_encode(h, 8, id);
}

/* STORE.pepper: "apcore-auth-pepper:v1:<64 hex>\n", a regular 0600 file of
 * ours.  NULL when it does not exist and may_be_missing. */
static uint8_t *pepper_file_read(const char *path, int may_be_missing)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT && may_be_missing)
			return NULL;
		die_errno("cannot open pepper file %s", path);
	}
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & 077))
		die("pepper file %s must be a regular file owned by you with mode 0600", path);
	size_t len, m = strlen(PEPPER_MAGIC);
	char *text = secure_read_fd(fd, 256, 1, &len);
	close(fd);
	if (!text)
		die_errno("cannot read pepper file %s", path);
	uint8_t *p = secure_alloc(PEPPER_LEN);
	if (len != m + 2 * PEPPER_LEN || memcmp(text, PEPPER_MAGIC, m) ||
	    hex_decode(text + m, p, PEPPER_LEN))
		die("%s is not an apcore-auth pepper file", path);
	secure_free(text);
	return p;
}

static void pepper_file_create(const char *path, const uint8_t *p)
{
	size_t m = strlen(PEPPER_MAGIC), n = m + 2 * PEPPER_LEN + 1;
	char *text = secure_alloc(n + 1);
	memcpy(text, PEPPER_MAGIC, m);
	hex_encode(p, PEPPER_LEN, text + m);
	text[n - 1] = '\n';
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		die_errno("cannot create pepper file %s", path);
	if (write_full(fd, text, n) || fsync(fd) || close(fd)) {
		int e = errno;
		unlink(path);
		errno = e;
		die_errno("cannot write pepper file %s", path);
	}
	secure_free(text);
}

static char *pepper_account(const char *id)
{
	return xasprintf("pepper-%s", id);
}

/* The pepper of an existing store; dies unless it is the one the store
 * was made with. */
static uint8_t *pepper_load(const struct store *s, int timeout_ms)
{
	uint8_t *p;
	char id[17];
	if (s->pepper_keyring) {
		char *acct = pepper_account(s->pepper_id), *sec, why[256] = "";
		size_t len;
		enum kr_status ks = kr_lookup(KR_SERVICE, acct, &sec, &len, timeout_ms, why, sizeof(why));
		if (ks != KR_OK)
			die("cannot read the pepper of key store %s from the keyring (service %s, "
			    "account %s): %s", s->path, KR_SERVICE, acct,
			    ks == KR_NOTFOUND ? "no such item" : why);
		p = secure_alloc(PEPPER_LEN);
		if (len != 2 * PEPPER_LEN || hex_decode(sec, p, PEPPER_LEN))
			die("keyring item %s/%s is not an apcore-auth pepper", KR_SERVICE, acct);
		secure_free(sec);
		free(acct);
	} else {
		char *pf = xasprintf("%s.pepper", s->path);
		p = pepper_file_read(pf, 0);
		free(pf);
	}
	pepper_id(p, id);
	if (strcmp(id, s->pepper_id))
		die("the pepper found (id %s) is not the one of key store %s (id %s)", id, s->path,
		    s->pepper_id);
	return p;
}

/* A new store's pepper: keyring when asked or usable, else STORE.pepper
 * (reusing one left by an interrupted first keygen). */
static uint8_t *pepper_create(struct store *s, const struct opts *o)
{
	const char *want = o->pepper ? o->pepper : "auto";
	char why[256] = "";
	int keyring = 0;
	uint8_t *p;

	if (strcmp(want, "file")) {
		keyring = kr_probe(o->timeout_ms, why, sizeof(why)) == KR_OK;
		if (!keyring && !strcmp(want, "keyring"))
			die("--pepper keyring: the keyring is not usable: %s", why);
	}
	if (keyring) {
		char hex[2 * PEPPER_LEN + 1];
		p = secure_alloc(PEPPER_LEN);
		xcrypto_random(p, PEPPER_LEN);
		pepper_id(p, s->pepper_id);
		char *acct = pepper_account(s->pepper_id);
		secure_register(hex, sizeof(hex));
		hex_encode(p, PEPPER_LEN, hex);
		enum kr_status ks = kr_store(KR_SERVICE, acct, hex, 2 * PEPPER_LEN, o->timeout_ms,
		                             why, sizeof(why));
		secure_wipe(hex, sizeof(hex));
		secure_unregister(hex);
		if (ks != KR_OK)
			die("cannot store the pepper in the keyring: %s", why);
		fprintf(stderr, "%s: new key store %s, pepper in the keyring (service %s, account %s)\n",
		        applet_name, s->path, KR_SERVICE, acct);
		free(acct);
	} else {
		char *pf = xasprintf("%s.pepper", s->path);
		p = pepper_file_read(pf, 1);
		if (!p) {
			p = secure_alloc(PEPPER_LEN);
			xcrypto_random(p, PEPPER_LEN);
			pepper_file_create(pf, p);
		}
		pepper_id(p, s->pepper_id);
		fprintf(stderr, "%s: new key store %s, pepper in %s (mode 0600)\n", applet_name,
		        s->path, pf);
		free(pf);
	}
	s->pepper_keyring = keyring;
	return p;
}

/* ------------------------------------------------------------- keys */

static void key_checksum(const char *body, char out[CHECK_LEN])
{
	uint8_t h[SHA256_LEN];
	crypto_sha256(body, BODY_LEN, h);
	uint32_t v = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	for (int i = CHECK_LEN - 1; i >= 0; i--) {
		out[i] = b62[v % 62];
		v /= 62;
	}
}

static int is_b62(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			return 0;
	}
	return 1;
}

enum vres { V_OK, V_MALFORMED, V_CHECKSUM, V_UNKNOWN, V_MISMATCH, V_REVOKED, V_EXPIRED, V_SCOPE };
static const char *const vcode[] = {
	"ok", "malformed", "checksum", "unknown", "mismatch", "revoked", "expired", "scope",
};

/* Shape and checksum only: no store, no pepper. */
static enum vres key_parse(const char *k, size_t len, char id[ID_LEN + 1])
{
	char c[CHECK_LEN];
	id[0] = 0;
	if (len != KEY_LEN || memcmp(k, "apk_", 4) || k[4 + ID_LEN] != '_' || k[BODY_LEN] != '_')
		return V_MALFORMED;
	for (size_t i = 4; i < 4 + ID_LEN; i++)
		if (!((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'f')))
			return V_MALFORMED;
	if (!is_b62(k + 5 + ID_LEN, SECRET_LEN) || !is_b62(k + BODY_LEN + 1, CHECK_LEN))
		return V_MALFORMED;
	key_checksum(k, c);
	if (!ct_memeq(c, k + BODY_LEN + 1, CHECK_LEN))
		return V_CHECKSUM;
	memcpy(id, k + 4, ID_LEN);
	id[ID_LEN] = 0;
	return V_OK;
}

/* A fresh key for id into k (KEY_LEN bytes, secure). */
static void key_make(const char *id, char *k)
{
	uint8_t rnd[64];
	size_t n = 0;
	memcpy(k, "apk_", 4);
	memcpy(k + 4, id, ID_LEN);
	k[4 + ID_LEN] = '_';
	secure_register(rnd, sizeof(rnd));
	/* Uniform base62 by rejection: 248 = 4 * 62. */
	while (n < SECRET_LEN) {
		xcrypto_random(rnd, sizeof(rnd));
		for (size_t i = 0; i < sizeof(rnd) && n < SECRET_LEN; i++)
			if (rnd[i] < 248)
				k[5 + ID_LEN + n++] = b62[rnd[i] % 62];
	}
	secure_wipe(rnd, sizeof(rnd));
	secure_unregister(rnd);
	k[BODY_LEN] = '_';
	key_checksum(k, k + BODY_LEN + 1);
}

static int scope_granted(const struct apikey *k, const char *need)
{
	for (size_t i = 0; k->scopes[i]; i++) {
		const char *g = k->scopes[i];
		size_t gl = strlen(g);
		if (g[gl - 1] == '*' ? !strncmp(g, need, gl - 1) : !strcmp(g, need))
			return 1;
	}
	return 0;
}

/* ---------------------------------------------------------- verify */

struct verifier {
	const struct opts *o;
	char *path;
	struct store s;
	int loaded;
	uint8_t *pepper;
	char **need;            /* required scopes, NULL-terminated */
	int64_t now;
};

static void verifier_ready(struct verifier *v)
{
	if (v->loaded)
		return;
	store_load(&v->s, v->path);
	if (!v->s.exists)
		die("no key store at %s (issue a key with 'apcore-auth keygen', or set --store)",
		    v->path);
	v->pepper = pepper_load(&v->s, v->o->timeout_ms);
	v->loaded = 1;
}

static enum vres verify_key(struct verifier *v, const char *k, size_t len, char id[ID_LEN + 1],
                            const struct apikey **out, const char **missing)
{
	uint8_t h[SHA256_LEN];
	*out = NULL;
	*missing = NULL;
	enum vres r = key_parse(k, len, id);
	if (r != V_OK)
		return r;
	verifier_ready(v);
	const struct apikey *e = store_find(&v->s, id);
	if (!e)
		return V_UNKNOWN;
	crypto_hmac_sha256(v->pepper, PEPPER_LEN, k, BODY_LEN, h);
	if (!ct_memeq(h, e->hash, SHA256_LEN))
		return V_MISMATCH;
	*out = e;
	if (e->revoked)
		return V_REVOKED;
	if (e->expires && v->now >= e->expires)
		return V_EXPIRED;
	for (size_t i = 0; v->need && v->need[i]; i++)
		if (!scope_granted(e, v->need[i])) {
			*missing = v->need[i];
			return V_SCOPE;
		}
	return V_OK;
}

static void result_json(struct strbuf *sb, enum vres r, const char *id, const struct apikey *e)
{
	struct jw w;
	jw_init(&w, sb, JSON_COMPACT);
	jw_obj_begin(&w);
	jw_kv_bool(&w, "valid", r == V_OK);
	if (r != V_OK)
		jw_kv_str(&w, "reason", vcode[r]);
	if (*id)
		jw_kv_str(&w, "id", id);
	if (r == V_OK)
		jw_kv_str(&w, "name", e->name);
	jw_obj_end(&w);
	sb_putc(sb, '\n');
}

static NORETURN void reject(enum vres r, const char *id, const struct apikey *e,
                            const char *missing)
{
	char when[RFC3339_MS_LEN];
	switch (r) {
	case V_MALFORMED:
		die_code(APC_EX_AUTH, "API key rejected: not an apcore API key "
		         "(apk_<id>_<secret>_<checksum>)");
	case V_CHECKSUM:
		die_code(APC_EX_AUTH, "API key rejected: checksum mismatch (mistyped or truncated key)");
	case V_UNKNOWN:
		die_code(APC_EX_AUTH, "API key rejected: no key with id %s in the key store", id);
	case V_MISMATCH:
		die_code(APC_EX_AUTH, "API key rejected: wrong secret for key %s", id);
	case V_REVOKED:
		time_rfc3339_ms(e->revoked, when);
		die_code(APC_EX_AUTH, "API key rejected: key %s was revoked at %s", id, when);
	case V_EXPIRED:
		time_rfc3339_ms(e->expires, when);
		die_code(APC_EX_AUTH, "API key rejected: key %s expired at %s", id, when);
	case V_SCOPE:
		die_code(APC_EX_AUTH, "API key rejected: key %s lacks scope '%s'", id, missing);
	case V_OK:
		break;
	}
	die("internal error: no reason to reject");
}

static int verify_one(struct verifier *v)
{
	char *k, id[ID_LEN + 1] = "";
	size_t len;
	const struct apikey *e = NULL;
	const char *missing = NULL;

	if (isatty(STDIN_FILENO)) {
		char why[128];
		k = secure_read_tty("API key: ", 0, &len, why, sizeof(why));
		if (!k)
			die("cannot read the key: %s", why);
	} else {
		k = secure_read_fd(STDIN_FILENO, KEY_READ_CAP, 1, &len);
		if (!k && errno != EFBIG)
			die_errno("cannot read the key from stdin");
	}
	enum vres r = k ? verify_key(v, k, len, id, &e, &missing) : V_MALFORMED;
	secure_free(k);
	if (r != V_OK) {
		if (v->o->json) {
			struct strbuf sb = STRBUF_INIT;
			result_json(&sb, r, id, e);
			xwrite_full(STDOUT_FILENO, sb.buf, sb.len);
			sb_free(&sb);
		}
		reject(r, id, e, missing);
	}
	if (v->o->json) {
		struct strbuf sb = STRBUF_INIT;
		result_json(&sb, r, id, e);
		xwrite_full(STDOUT_FILENO, sb.buf, sb.len);
		sb_free(&sb);
	} else {
		printf("%s\n", id);
	}
	return 0;
}

/* One key per line in, one JSON line per key out.  Output is flushed
 * whenever more input has to be waited for, so a co-process can use it
 * line by line. */
static int verify_batch(struct verifier *v)
{
	char *buf = secure_alloc(LINE_CAP + 1);
	size_t have = 0;
	int eof = 0, discarding = 0, all_ok = 1;
	struct strbuf out = STRBUF_INIT;
	char id[ID_LEN + 1];
	const struct apikey *e;
	const char *missing;

	for (;;) {
		char *start = buf, *nl;
		while ((nl = memchr(start, '\n', (size_t)(buf + have - start)))) {
			size_t len = (size_t)(nl - start);
			if (len && start[len - 1] == '\r')
				len--;
			enum vres r = V_MALFORMED;
			id[0] = 0;
			e = NULL;
			if (!discarding)
				r = verify_key(v, start, len, id, &e, &missing);
			discarding = 0;
			all_ok &= r == V_OK;
			result_json(&out, r, id, e);
			start = nl + 1;
		}
		size_t rest = (size_t)(buf + have - start);
		memmove(buf, start, rest);
		secure_wipe(buf + rest, LINE_CAP + 1 - rest);
		have = rest;
		if (eof) {
			if (have || discarding) {
				enum vres r = V_MALFORMED;
				id[0] = 0;
				e = NULL;
				if (!discarding)
					r = verify_key(v, buf, have, id, &e, &missing);
				all_ok &= r == V_OK;
				result_json(&out, r, id, e);
			}
			break;
		}
		if (have == LINE_CAP) {
			/* No key is this long: drop the line up to its end. */
			discarding = 1;
			have = 0;
		}
		if (out.len) {
			xwrite_full(STDOUT_FILENO, out.buf, out.len);
			sb_reset(&out);
		}
		ssize_t n = read(STDIN_FILENO, buf + have, LINE_CAP - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_errno("cannot read keys from stdin");
		if (n == 0)
			eof = 1;
		have += n > 0 ? (size_t)n : 0;
	}
	if (out.len)
		xwrite_full(STDOUT_FILENO, out.buf, out.len);
	sb_free(&out);
	secure_free(buf);
	return all_ok ? 0 : APC_EX_AUTH;
}

int auth_cmd_verify(int argc, char **argv)
{
	/* SSHSIG verification is another command behind the same verb. */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--signature") || !strncmp(argv[i], "--signature=", 12)) {
			if (!auth_verify_sig)
				die("'verify --signature' is not available in this build");
			optind = 0;
			return auth_verify_sig(argc, argv);
		}
	}
	struct opts o;
	if (parse_opts(argc, argv, B(O_SCOPE) | B(O_STORE) | B(O_JSON) | B(O_BATCH) | B(O_TIMEOUT),
	               &o)) {
		fputs(verify_help, stdout);
		return 0;
	}
	if (optind != argc)
		die_usage("verify reads the key from stdin, never from the command line");
	struct verifier v;
	memset(&v, 0, sizeof(v));
	v.o = &o;
	v.now = time_now_ms();
	if (o.scope) {
		size_t n;
		v.need = parse_scopes(o.scope, 0, &n);
	}
	v.path = store_path(&o);
	int rc = o.batch ? verify_batch(&v) : verify_one(&v);
	secure_free(v.pepper);
	store_free(&v.s);
	free(v.path);
	free_strv(v.need);
	return rc;
}

/* ---------------------------------------------------------- keygen */

/* 90d, 12h, 30m, 45s, 2w from now, an RFC 3339 time, or never (0). */
static int64_t parse_expires(const char *s, int64_t now)
{
	static const struct { char c; int64_t ms; } units[] = {
		{ 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 }, { 'd', 86400000 }, { 'w', 604800000 },
	};
	if (!strcmp(s, "never"))
		return 0;
	char *end;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (!errno && end != s && n > 0 && end[0] && !end[1] && s[0] >= '0' && s[0] <= '9') {
		for (size_t i = 0; i < ARRAY_SIZE(units); i++)
			if (*end == units[i].c && n <= (INT64_MAX / 4) / units[i].ms)
				return now + n * units[i].ms;
	}
	int64_t ms;
	if (time_parse_rfc3339(s, &ms) == 0) {
		if (ms <= now)
			die_usage("--expires %s is in the past", s);
		return ms;
	}
	die_usage("--expires: '%s' is not a duration (90d, 12h, 30m, 45s, 2w), an RFC 3339 time "
	          "or never", s);
}

static void check_name(const char *name)
{
	size_t n = strlen(name);
	if (n > NAME_MAX_LEN)
		die_usage("--name is longer than %d bytes", NAME_MAX_LEN);
	if (!utf8_valid(name, n))
		die_usage("--name is not valid UTF-8");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			die_usage("--name contains a control character");
}

int auth_cmd_keygen(int argc, char **argv)
{
	struct opts o;
	if (parse_opts(argc, argv, B(O_SCOPE) | B(O_EXPIRES) | B(O_NAME) | B(O_STORE) |
	               B(O_PEPPER) | B(O_JSON) | B(O_TIMEOUT), &o)) {
		fputs(keygen_help, stdout);
		return 0;
	}
	if (optind != argc)
		die_usage("usage: apcore-auth keygen --scope S[,S...] [--expires WHEN] [--name NAME]");
	if (!o.scope)
		die_usage("keygen needs --scope S[,S...]");
	size_t nscopes;
	char **scopes = parse_scopes(o.scope, 1, &nscopes);
	int64_t now = time_now_ms();
	int64_t expires = o.expires ? parse_expires(o.expires, now) : 0;
	if (o.name)
		check_name(o.name);

	char *path = store_path(&o);
	int lock = store_lock(path);
	struct store s;
	store_load(&s, path);
	if (s.exists && o.pepper && strcmp(o.pepper, "auto") &&
	    (strcmp(o.pepper, "keyring") == 0) != s.pepper_keyring)
		die_usage("--pepper %s: key store %s already keeps its pepper in %s", o.pepper, path,
		          s.pepper_keyring ? "the keyring" : "a file");
	uint8_t *pepper = s.exists ? pepper_load(&s, o.timeout_ms) : pepper_create(&s, &o);

	/* A fresh id, unique in this store. */
	char id[ID_LEN + 1];
	for (int tries = 0;; tries++) {
		uint8_t r[ID_LEN / 2];
		xcrypto_random(r, sizeof(r));
		hex_encode(r, sizeof(r), id);
		int clash = 0;
		for (size_t i = 0; i < s.n && !clash; i++)
			clash = !strcmp(s.k[i].id, id);
		if (!clash)
			break;
		if (tries > 100)
			die("cannot find a free key id in %s", path);
	}
	char *key = secure_alloc(KEY_LEN + 2);
	key_make(id, key);

	if (s.n == s.cap) {
		s.cap = s.cap ? 2 * s.cap : 4;
		s.k = xreallocarray(s.k, s.cap, sizeof(*s.k));
	}
	struct apikey *k = &s.k[s.n++];
	memset(k, 0, sizeof(*k));
	memcpy(k->id, id, ID_LEN + 1);
	k->name = xstrdup(o.name ? o.name : "");
	k->scopes = scopes;
	k->created = now;
	k->expires = expires;
	crypto_hmac_sha256(pepper, PEPPER_LEN, key, BODY_LEN, k->hash);
	secure_free(pepper);
	store_write(&s);
	close(lock);

	/* Printed only once the store holds it. */
	if (o.json) {
		struct strbuf sb = STRBUF_INIT;
		struct jw w;
		jw_init(&w, &sb, JSON_COMPACT);
		jw_obj_begin(&w);
		jw_kv_str(&w, "id", id);
		jw_key(&w, "key");
		jw_strn(&w, key, KEY_LEN);
		jw_kv_str(&w, "name", k->name);
		jw_scopes(&w, k->scopes);
		jw_time(&w, "created", k->created);
		jw_time(&w, "expires", k->expires);
		jw_obj_end(&w);
		sb_putc(&sb, '\n');
		int rc = write_full(STDOUT_FILENO, sb.buf, sb.len);
		sb_free_secure(&sb);
		if (rc)
			die_errno("cannot write the key");
	} else {
		key[KEY_LEN] = '\n';
		if (write_full(STDOUT_FILENO, key, KEY_LEN + 1))
			die_errno("cannot write the key");
	}
	secure_free(key);
	store_free(&s);
	free(path);
	return 0;
}

/* ---------------------------------------------------- revoke, list */

int auth_cmd_revoke(int argc, char **argv)
{
	struct opts o;
	const char *id = NULL;
	char **args = argv;

	if (argc > 1 && argv[1][0] != '-') {
		id = argv[1];
		args = xcalloc((size_t)argc, sizeof(char *));
		args[0] = argv[0];
		for (int i = 2; i < argc; i++)
			args[i - 1] = argv[i];
		argc--;
	}
	int help = parse_opts(argc, args, B(O_STORE), &o);
	int rest = argc - optind;
	const char *next = rest > 0 ? args[optind] : NULL;
	if (args != argv)
		free(args);
	if (help) {
		fputs(revoke_help, stdout);
		return 0;
	}
	if (id ? rest != 0 : rest != 1)
		die_usage("usage: apcore-auth revoke [--store FILE] ID");
	if (!id)
		id = next;
	/* Never echo the operand: it might be a whole key pasted by mistake. */
	if (!is_hex(id, ID_LEN))
		die_usage("revoke wants a key id: the 12 lower-case hex digits after apk_ (never "
		          "the key itself: argv is visible to other users)");

	char *path = store_path(&o);
	int lock = store_lock(path);
	struct store s;
	store_load(&s, path);
	struct apikey *k = store_find(&s, id);
	if (!k)
		die("no key %s in %s", id, path);
	if (k->revoked) {
		char when[RFC3339_MS_LEN];
		time_rfc3339_ms(k->revoked, when);
		fprintf(stderr, "%s: key %s was already revoked at %s\n", applet_name, id, when);
	} else {
		k->revoked = time_now_ms();
		store_write(&s);
		fprintf(stderr, "%s: key %s revoked\n", applet_name, id);
	}
	close(lock);
	store_free(&s);
	free(path);
	return 0;
}

static const char *key_status(const struct apikey *k, int64_t now)
{
	if (k->revoked)
		return "revoked";
	if (k->expires && now >= k->expires)
		return "expired";
	return "active";
}

int auth_cmd_list(int argc, char **argv)
{
	struct opts o;
	if (parse_opts(argc, argv, B(O_STORE) | B(O_JSON), &o)) {
		fputs(list_help, stdout);
		return 0;
	}
	if (optind != argc)
		die_usage("usage: apcore-auth list [--store FILE] [--json]");
	char *path = store_path(&o);
	struct store s;
	store_load(&s, path);
	int64_t now = time_now_ms();
	struct strbuf sb = STRBUF_INIT;

	if (o.json) {
		struct jw w;
		jw_init(&w, &sb, JSON_COMPACT);
		jw_arr_begin(&w);
		for (size_t i = 0; i < s.n; i++) {
			const struct apikey *k = &s.k[i];
			jw_obj_begin(&w);
			jw_key_fields(&w, k);
			jw_kv_str(&w, "status", key_status(k, now));
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		sb_putc(&sb, '\n');
	} else if (s.n) {
		int namew = 4;
		for (size_t i = 0; i < s.n; i++)
			if ((int)strlen(s.k[i].name) > namew)
				namew = (int)strlen(s.k[i].name);
		sb_printf(&sb, "%-12s  %-7s  %-24s  %-*s  %s\n", "ID", "STATUS", "EXPIRES", namew,
		          "NAME", "SCOPES");
		for (size_t i = 0; i < s.n; i++) {
			const struct apikey *k = &s.k[i];
			char when[RFC3339_MS_LEN] = "never";
			if (k->expires)
				time_rfc3339_ms(k->expires, when);
			sb_printf(&sb, "%-12s  %-7s  %-24s  %-*s  ", k->id, key_status(k, now), when,
			          namew, *k->name ? k->name : "-");
			for (size_t j = 0; k->scopes[j]; j++)
				sb_printf(&sb, "%s%s", j ? "," : "", k->scopes[j]);
			sb_putc(&sb, '\n');
		}
	}
	if (sb.len)
		xwrite_full(STDOUT_FILENO, sb.buf, sb.len);
	sb_free(&sb);
	store_free(&s);
	free(path);
	return 0;
}

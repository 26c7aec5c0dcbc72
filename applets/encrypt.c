/* apcore-encrypt - secrets in config files.
 *
 * Keyring first (Secret Service), AES-256-GCM + PBKDF2 fallback in the
 * apcore-cli token formats, and apcore's key-bound enc:v3 format.  The
 * token work lives in libcommon/secrets.c (auth and sandbox resolve config
 * secrets too); this file is the command line around it.
 */
//applet:APPLET(encrypt, APCORE_ENCRYPT, APPLET_NODUMP, "secrets in config files: keyring first, AES-256-GCM fallback")
//config:config APCORE_ENCRYPT
//config:	bool "apcore-encrypt: secrets in config files"
//config:	default y
//config:	help
//config:	  usage: apcore-encrypt COMMAND [OPTIONS] [ARGS]
//config:
//config:	  Keep the secrets of config files (apcore.yaml) out of them: in the OS
//config:	  keyring, or encrypted, in the apcore-cli token formats keyring:NAME,
//config:	  enc:v2:BASE64 and legacy enc:BASE64, or in apcore's enc:v3 format.
//config:	  Secrets are read from stdin, a file or a terminal prompt, never argv.
//config:
//config:	  Commands:
//config:	    store KEY           read a secret, print the token to put in the config
//config:	    retrieve KEY TOKEN  print the plaintext of TOKEN ('-': read it from stdin)
//config:	    get KEY...          print the plaintext of config keys (one per line)
//config:	    set KEY             store a secret and write its token into the config
//config:	    rekey               re-encrypt every enc: value of the config, all or nothing
//config:	    status              which backends are usable here, and why not
//config:	    init                create the master key that enc:v3 needs
//config:	    inspect TOKEN       show a token's format, key id and expiry ('-': stdin)
//config:
//config:	  Options:
//config:	    -c, --config FILE     config file (default ./apcore.yaml)
//config:	    --backend auto|keyring|file
//config:	                          where store/set/init keep the secret (default auto:
//config:	                          the keyring when usable, else the file)
//config:	    --format v2|v3        file format: v2 (default, apcore-cli compatible) or
//config:	                          v3 (bound to its key, random master key)
//config:	    --expires WHEN        v3 expiry: 90d, 12h, 30m, 2w or an RFC 3339 date
//config:	    --from-file FILE      read the secret from FILE instead of stdin
//config:	    --raw                 keep a trailing newline of the secret
//config:	    -n                    print plaintexts without a trailing newline
//config:	    --to v2|v3|keyring    rekey target (default v2)
//config:	    --identity HOST:USER  read v1/v2 values written on another machine
//config:	    --key-file FILE       master key file (also APCORE_ENCRYPT_KEY_FILE)
//config:	    --timeout MS          bound on every keyring call (default 2000)
//config:	    --json                machine-readable output (get, status, inspect)
//config:
//config:	  enc:v2 keys come from APCORE_CLI_CONFIG_PASSPHRASE when set, else from
//config:	  "hostname:user": that is obfuscation, not strong encryption.  enc:v3
//config:	  binds each value to its config key and expiry under a random 256-bit
//config:	  master key kept in the keyring or a 0600 file (see 'init').
//config:
//config:	  Exit status: 0 ok, 1 error, 2 usage, 47 decryption failed (wrong key
//config:	  material, tampered, moved to another key, keyring entry missing),
//config:	  48 malformed token, 49 master key missing, 50 expired.

#include "apcore.h"
#include "yamledit.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { EX_MALFORMED = 48, EX_NOKEY = 49, EX_EXPIRED = 50 };
#define SECRET_CAP (1u << 20)

enum backend { BK_AUTO, BK_KEYRING, BK_FILE };

struct opts {
	const char *config;
	enum backend backend;
	int v3;
	int64_t expires;
	const char *from_file;
	int raw, no_nl, json;
	const char *to;
	const char *identity;
	const char *key_file;
	int timeout_ms;
	unsigned seen;   /* options given, to refuse repeats */
};

static const char warn_fallback[] =
	"OS keyring unavailable. Falling back to file-based obfuscation with a host+user-derived "
	"key. This is NOT strong encryption: any local user who can read the config AND observe "
	"hostname+username can recover the value. Install a real keyring backend (macOS Keychain / "
	"GNOME Keyring / KWallet / Windows Credential Manager) for real protection.";
static const char warn_file[] =
	"file backend: obfuscation with a host+user-derived key. This is NOT strong encryption: any "
	"local user who can read the config AND observe hostname+username can recover the value. "
	"Use the keyring, APCORE_CLI_CONFIG_PASSPHRASE or --format v3 for real protection.";

static int sec_exit(enum sec_status s)
{
	switch (s) {
	case SEC_OK: return APC_EX_OK;
	case SEC_MALFORMED: return EX_MALFORMED;
	case SEC_NOKEY: return EX_NOKEY;
	case SEC_EXPIRED: return EX_EXPIRED;
	case SEC_DECRYPT:
	case SEC_KEYRING: break;
	}
	return APC_EX_CONFIG;
}

/* "90d", "12h", "30m", "45s", "2w" from now, or an RFC 3339 time. */
static int64_t parse_when(const char *s)
{
	char *end;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (!errno && end != s && n > 0 && end[0] && !end[1]) {
		static const struct { char c; long long mul; } units[] = {
			{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 },
		};
		for (size_t i = 0; i < ARRAY_SIZE(units); i++)
			if (*end == units[i].c && n <= INT64_MAX / units[i].mul / 2)
				return time_now_ms() / 1000 + n * units[i].mul;
	}
	int64_t ms;
	if (time_parse_rfc3339(s, &ms) == 0 && ms > 0)
		return (ms + 999) / 1000;
	die_usage("--expires: '%s' is neither a duration (90d, 12h, 30m, 45s, 2w) nor an RFC 3339 time", s);
}

enum { O_BACKEND = 256, O_FORMAT, O_EXPIRES, O_FROM_FILE, O_RAW, O_TO, O_IDENTITY,
       O_KEY_FILE, O_TIMEOUT, O_JSON };

static void once(struct opts *o, int opt, const char *name)
{
	unsigned bit = 1u << (opt >= 256 ? opt - 256 + 2 : (opt == 'c' ? 0 : 1));
	if (o->seen & bit)
		die_usage("%s given twice", name);
	o->seen |= bit;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "backend", required_argument, NULL, O_BACKEND },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "expires", required_argument, NULL, O_EXPIRES },
		{ "from-file", required_argument, NULL, O_FROM_FILE },
		{ "raw", no_argument, NULL, O_RAW },
		{ "to", required_argument, NULL, O_TO },
		{ "identity", required_argument, NULL, O_IDENTITY },
		{ "key-file", required_argument, NULL, O_KEY_FILE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "json", no_argument, NULL, O_JSON },
		{ NULL, 0, NULL, 0 },
	};
	const char *expires = NULL;
	int opt;

	memset(o, 0, sizeof(*o));
	o->config = "apcore.yaml";
	o->timeout_ms = KR_DEFAULT_TIMEOUT_MS;
	while ((opt = getopt_long(argc, argv, "+c:n", longopts, NULL)) != -1) {
		const char *name = NULL;
		for (const struct option *l = longopts; l->name; l++)
			if (l->val == opt)
				name = l->name;
		if (opt != '?')
			once(o, opt, opt == 'n' ? "-n" : name);
		switch (opt) {
		case 'c': o->config = optarg; break;
		case 'n': o->no_nl = 1; break;
		case O_BACKEND:
			if (!strcmp(optarg, "auto")) o->backend = BK_AUTO;
			else if (!strcmp(optarg, "keyring")) o->backend = BK_KEYRING;
			else if (!strcmp(optarg, "file")) o->backend = BK_FILE;
			else die_usage("--backend must be auto, keyring or file, not '%s'", optarg);
			break;
		case O_FORMAT:
			if (strcmp(optarg, "v2") && strcmp(optarg, "v3"))
				die_usage("--format must be v2 or v3, not '%s'", optarg);
			o->v3 = !strcmp(optarg, "v3");
			break;
		case O_EXPIRES: expires = optarg; break;
		case O_FROM_FILE: o->from_file = optarg; break;
		case O_RAW: o->raw = 1; break;
		case O_TO:
			if (strcmp(optarg, "v2") && strcmp(optarg, "v3") && strcmp(optarg, "keyring"))
				die_usage("--to must be v2, v3 or keyring, not '%s'", optarg);
			o->to = optarg;
			break;
		case O_IDENTITY:
			if (!strchr(optarg, ':'))
				die_usage("--identity wants HOST:USER");
			o->identity = optarg;
			break;
		case O_KEY_FILE: o->key_file = optarg; break;
		case O_TIMEOUT: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 600000)
				die_usage("--timeout wants milliseconds between 1 and 600000");
			o->timeout_ms = (int)v;
			break;
		}
		case O_JSON: o->json = 1; break;
		default: die_usage("bad option");
		}
	}
	if (expires) {
		if (!o->v3 && !(o->to && !strcmp(o->to, "v3")))
			die_usage("--expires needs --format v3 (only enc:v3 carries an expiry)");
		o->expires = parse_when(expires);
	}
	if (o->v3 && o->backend == BK_KEYRING)
		die_usage("--format v3 keeps the value in the config file; it cannot go with --backend keyring");
}

static struct sec_ctx *make_ctx(const struct opts *o)
{
	struct sec_ctx *c = sec_ctx_new();
	sec_ctx_set_keyring_timeout(c, o->timeout_ms);
	if (o->key_file)
		sec_ctx_set_key_file(c, o->key_file);
	if (o->identity) {
		char *host = xstrdup(o->identity);
		char *user = strrchr(host, ':');
		*user++ = 0;
		sec_ctx_set_identity(c, host, user);
		free(host);
	}
	return c;
}

/* Config keys are dotted YAML paths and keyring account names. */
static void check_key(const char *key)
{
	if (!*key || strlen(key) > 256 || key[0] == '.' || key[strlen(key) - 1] == '.' ||
	    strstr(key, ".."))
		die_usage("bad config key '%s'", key);
	for (const char *p = key; *p; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f || *p == ':')
			die_usage("bad config key '%s': no spaces, control characters or ':'", key);
}

static char *read_secret(const struct opts *o, const char *key, size_t *len)
{
	char *s;
	if (o->from_file) {
		int fd = !strcmp(o->from_file, "-") ? dup(0) : open(o->from_file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die_errno("cannot open %s", o->from_file);
		s = secure_read_fd(fd, SECRET_CAP, !o->raw, len);
		close(fd);
	} else if (isatty(0)) {
		char why[128];
		char *prompt = xasprintf("Secret for %s: ", key);
		s = secure_read_tty(prompt, 1, len, why, sizeof(why));
		free(prompt);
		if (!s)
			die("cannot read the secret: %s", why);
	} else {
		s = secure_read_fd(0, SECRET_CAP, !o->raw, len);
	}
	if (!s)
		die_errno("cannot read the secret%s%s", o->from_file ? " from " : "",
		          o->from_file ? o->from_file : "");
	if (memchr(s, 0, *len))
		die("the secret for '%s' contains a NUL byte", key);
	if (!utf8_valid(s, *len))
		die("the secret for '%s' is not valid UTF-8 (the token formats carry text)", key);
	return s;
}

/* Seal plain for key according to the options; returns the token. */
static char *seal(struct sec_ctx *c, const struct opts *o, const char *key, const char *plain,
                  size_t len, enum backend backend, int v3, int64_t expires)
{
	char msg[512];
	char *token = NULL;
	enum sec_status st;

	if (v3) {
		st = sec_encrypt_v3(c, key, plain, len, expires, &token, msg, sizeof(msg));
		if (st)
			die_code(sec_exit(st), "%s", msg);
		return token;
	}
	if (backend == BK_AUTO) {
		char why[256];
		backend = kr_probe(o->timeout_ms, why, sizeof(why)) == KR_OK ? BK_KEYRING : BK_FILE;
		if (backend == BK_FILE && !getenv("APCORE_CLI_CONFIG_PASSPHRASE"))
			warn_msg("%s (%s)", warn_fallback, why);
	} else if (backend == BK_FILE) {
		const char *pp = getenv("APCORE_CLI_CONFIG_PASSPHRASE");
		if (!pp || !*pp)
			warn_msg("%s", warn_file);
	}
	if (backend == BK_KEYRING) {
		st = sec_store_keyring(c, key, plain, len, &token, msg, sizeof(msg));
		if (st)
			die("%s", msg);
		return token;
	}
	return sec_encrypt_v2(c, plain, len);
}

static void print_plain(const struct opts *o, const char *p, size_t len)
{
	xwrite_full(1, p, len);
	if (!o->no_nl)
		xwrite_full(1, "\n", 1);
}

/* Resolve or die with the right exit code. */
static char *resolve(struct sec_ctx *c, const char *key, const char *token, size_t *len)
{
	char msg[512], *plain;
	enum sec_status st = sec_resolve(c, key, token, &plain, len, msg, sizeof(msg));
	if (st)
		die_code(sec_exit(st), "%s", msg);
	return plain;
}

static char *read_token_arg(const char *arg)
{
	if (strcmp(arg, "-"))
		return xstrdup(arg);
	size_t len;
	char *t = secure_read_fd(0, SECRET_CAP, 0, &len);
	if (!t)
		die_errno("cannot read the token from stdin");
	while (len && (t[len - 1] == '\n' || t[len - 1] == '\r'))
		t[--len] = 0;
	char *copy = xstrdup(t);
	secure_free(t);
	return copy;
}

static void load_config(struct cfg *cfg, const char *path)
{
	char err[512];
	if (cfg_load(cfg, path, err, sizeof(err)))
		die_code(APC_EX_CONFIG, "%s", err);
}

static const struct cfg_entry *config_value(const struct cfg *cfg, const char *key)
{
	const struct cfg_entry *e = cfg_get(cfg, key);
	if (!e)
		die("'%s' is not set in %s", key, cfg->path);
	if (e->kind != CFG_SCALAR)
		die("'%s' in %s is not a single value", key, cfg->path);
	return e;
}

/* ------------------------------------------------------------ commands */

static int cmd_store(int argc, char **argv, const struct opts *o)
{
	if (argc != 1)
		die_usage("usage: apcore-encrypt store [OPTIONS] KEY");
	check_key(argv[0]);
	struct sec_ctx *c = make_ctx(o);
	size_t len;
	char *plain = read_secret(o, argv[0], &len);
	char *token = seal(c, o, argv[0], plain, len, o->backend, o->v3, o->expires);
	secure_free(plain);
	printf("%s\n", token);
	free(token);
	sec_ctx_free(c);
	return 0;
}

static int cmd_retrieve(int argc, char **argv, const struct opts *o)
{
	if (argc != 2)
		die_usage("usage: apcore-encrypt retrieve [OPTIONS] KEY TOKEN|-");
	char *token = read_token_arg(argv[1]);
	struct sec_ctx *c = make_ctx(o);
	size_t len;
	char *plain = resolve(c, argv[0], token, &len);
	print_plain(o, plain, len);
	secure_free(plain);
	free(token);
	sec_ctx_free(c);
	return 0;
}

static int cmd_get(int argc, char **argv, const struct opts *o)
{
	if (argc < 1)
		die_usage("usage: apcore-encrypt get [OPTIONS] KEY...");
	struct cfg cfg;
	load_config(&cfg, o->config);
	struct sec_ctx *c = make_ctx(o);
	struct strbuf out = STRBUF_INIT;
	struct jw w;

	/* Resolve everything before printing anything: all or nothing. */
	const char **tokens = xcalloc((size_t)argc, sizeof(char *));
	for (int i = 0; i < argc; i++)
		tokens[i] = config_value(&cfg, argv[i])->value;
	sec_prefetch(c, tokens, (size_t)argc);
	free(tokens);
	if (o->json) {
		jw_init(&w, &out, JSON_COMPACT);
		jw_obj_begin(&w);
	}
	for (int i = 0; i < argc; i++) {
		const struct cfg_entry *e = config_value(&cfg, argv[i]);
		size_t len;
		char *plain = resolve(c, argv[i], e->value, &len);
		if (o->json) {
			jw_key(&w, argv[i]);
			jw_strn(&w, plain, len);
		} else {
			if (argc > 1 && memchr(plain, '\n', len))
				die("'%s' contains a newline; use --json to get several values", argv[i]);
			sb_add(&out, plain, len);
			if (!o->no_nl || i + 1 < argc)
				sb_putc(&out, '\n');
		}
		secure_free(plain);
	}
	if (o->json) {
		jw_obj_end(&w);
		sb_putc(&out, '\n');
	}
	xwrite_full(1, out.buf, out.len);
	sb_free_secure(&out);
	sec_ctx_free(c);
	cfg_free(&cfg);
	return 0;
}

/* Read the config file (or "" when it does not exist yet) and its mode. */
static char *read_config_text(const char *path, size_t *len, mode_t *mode)
{
	char *text;
	struct stat st;
	*mode = 0600;
	if (read_file_capped(path, XIO_DEFAULT_CAP, &text, len)) {
		if (errno != ENOENT)
			die_errno("cannot read %s", path);
		*len = 0;
		return xstrdup("");
	}
	if (stat(path, &st) == 0)
		*mode = st.st_mode & 07777;
	return text;
}

/* Apply edits (key -> token) to the config text and replace the file once. */
static void write_tokens(const char *path, char **keys, char **tokens, int n)
{
	size_t len;
	mode_t mode;
	char *text = read_config_text(path, &len, &mode);
	for (int i = 0; i < n; i++) {
		char err[512], *out;
		size_t outlen;
		if (yedit_set(path, text, len, keys[i], tokens[i], &out, &outlen, err, sizeof(err)))
			die("%s", err);
		free(text);
		text = out;
		len = outlen;
	}
	if (atomic_replace(path, text, len, mode))
		die_errno("cannot write %s", path);
	free(text);
}

static int cmd_set(int argc, char **argv, const struct opts *o)
{
	if (argc != 1)
		die_usage("usage: apcore-encrypt set [OPTIONS] KEY");
	check_key(argv[0]);
	struct sec_ctx *c = make_ctx(o);
	size_t len;
	char *plain = read_secret(o, argv[0], &len);
	char *token = seal(c, o, argv[0], plain, len, o->backend, o->v3, o->expires);
	secure_free(plain);
	write_tokens(o->config, argv, &token, 1);
	fprintf(stderr, "%s: %s set in %s (%s)\n", applet_name, argv[0], o->config,
	        sec_format_name(sec_format_of(token)));
	free(token);
	sec_ctx_free(c);
	return 0;
}

static int cmd_rekey(int argc, char **argv, const struct opts *o)
{
	(void)argv;
	if (argc != 0)
		die_usage("usage: apcore-encrypt rekey [OPTIONS]");
	const char *to = o->to ? o->to : "v2";
	struct cfg cfg;
	load_config(&cfg, o->config);
	struct sec_ctx *c = make_ctx(o);
	/* Writing uses this machine's material, reading may use --identity. */
	struct opts wo = *o;
	wo.identity = NULL;
	struct sec_ctx *wc = make_ctx(&wo);
	char **keys = xcalloc(cfg.n, sizeof(char *));
	char **tokens = xcalloc(cfg.n, sizeof(char *));
	int n = 0;

	for (size_t i = 0; i < cfg.n; i++)
		if (cfg.e[i].kind == CFG_SCALAR)
			tokens[n++] = cfg.e[i].value;
	sec_prefetch(c, (const char *const *)tokens, (size_t)n);
	n = 0;

	/* Decrypt and re-seal everything first; write only when all succeeded. */
	for (size_t i = 0; i < cfg.n; i++) {
		const struct cfg_entry *e = &cfg.e[i];
		if (e->kind != CFG_SCALAR)
			continue;
		enum sec_format f = sec_format_of(e->value);
		if (f != SEC_FMT_V1 && f != SEC_FMT_V2 && f != SEC_FMT_V3)
			continue;
		size_t len;
		char *plain = resolve(c, e->key, e->value, &len);
		int64_t expires = o->expires;
		char kid[17];
		if (f == SEC_FMT_V3 && !expires)
			sec_v3_header(e->value, kid, &expires);
		keys[n] = e->key;
		tokens[n] = seal(wc, o, e->key, plain, len,
		                 !strcmp(to, "keyring") ? BK_KEYRING : BK_FILE, !strcmp(to, "v3"),
		                 expires);
		secure_free(plain);
		n++;
	}
	if (n)
		write_tokens(o->config, keys, tokens, n);
	fprintf(stderr, "%s: %d value%s re-encrypted to %s in %s\n", applet_name, n,
	        n == 1 ? "" : "s", to, o->config);
	for (int i = 0; i < n; i++)
		free(tokens[i]);
	free(tokens);
	free(keys);
	sec_ctx_free(wc);
	sec_ctx_free(c);
	cfg_free(&cfg);
	return 0;
}

static int cmd_status(int argc, char **argv, const struct opts *o)
{
	(void)argv;
	if (argc != 0)
		die_usage("usage: apcore-encrypt status [--json] [--timeout MS]");
	char why[256] = "", kid[17] = "", where[300] = "", mwhy[512] = "";
	int64_t t0 = time_mono_ms();
	enum kr_status ks = kr_probe(o->timeout_ms, why, sizeof(why));
	int64_t elapsed = time_mono_ms() - t0;
	struct sec_ctx *c = make_ctx(o);
	enum sec_status ms = sec_master_id(c, kid, where, sizeof(where), mwhy, sizeof(mwhy));
	const char *pp = getenv("APCORE_CLI_CONFIG_PASSPHRASE");
	const char *material = pp && *pp ? "passphrase" : "hostname:user";

	if (o->json) {
		struct strbuf out = STRBUF_INIT;
		struct jw w;
		jw_init(&w, &out, JSON_COMPACT);
		jw_obj_begin(&w);
		jw_key(&w, "keyring");
		jw_obj_begin(&w);
		jw_kv_bool(&w, "usable", ks == KR_OK);
		jw_kv_str(&w, "status", kr_status_str(ks));
		if (ks != KR_OK)
			jw_kv_str(&w, "reason", why);
		jw_kv_int(&w, "probe_ms", elapsed);
		jw_kv_int(&w, "timeout_ms", o->timeout_ms);
		jw_obj_end(&w);
		jw_key(&w, "file");
		jw_obj_begin(&w);
		jw_kv_bool(&w, "usable", 1);
		jw_kv_str(&w, "format", "enc:v2");
		jw_kv_str(&w, "key_material", material);
		jw_kv_str(&w, "strength", pp && *pp ? "passphrase" : "obfuscation");
		jw_obj_end(&w);
		jw_key(&w, "v3");
		jw_obj_begin(&w);
		jw_kv_bool(&w, "usable", ms == SEC_OK);
		if (ms == SEC_OK) {
			jw_kv_str(&w, "key_id", kid);
			jw_kv_str(&w, "where", where);
		} else {
			jw_kv_str(&w, "reason", mwhy);
		}
		jw_obj_end(&w);
		jw_kv_str(&w, "default_backend", ks == KR_OK ? "keyring" : "file");
		jw_obj_end(&w);
		sb_putc(&out, '\n');
		xwrite_full(1, out.buf, out.len);
		sb_free(&out);
	} else {
		printf("keyring: %s%s%s (probe %lld ms, bound %d ms)\n", ks == KR_OK ? "usable" : "unusable",
		       ks == KR_OK ? "" : ": ", ks == KR_OK ? "" : why, (long long)elapsed, o->timeout_ms);
		printf("file:    usable (enc:v2, key material %s%s)\n", material,
		       pp && *pp ? "" : " - obfuscation, not strong encryption");
		if (ms == SEC_OK)
			printf("v3:      usable (master key %s in %s)\n", kid, where);
		else
			printf("v3:      unusable: %s\n", mwhy);
	}
	sec_ctx_free(c);
	return 0;
}

static int cmd_init(int argc, char **argv, const struct opts *o)
{
	(void)argv;
	if (argc != 0)
		die_usage("usage: apcore-encrypt init [--backend auto|keyring|file] [--key-file FILE]");
	if (o->key_file && o->backend == BK_KEYRING)
		die_usage("--key-file and --backend keyring contradict each other");
	int to_keyring = o->backend == BK_KEYRING;
	char why[256];
	if (o->backend == BK_AUTO && !o->key_file && !getenv("APCORE_ENCRYPT_KEY_FILE"))
		to_keyring = kr_probe(o->timeout_ms, why, sizeof(why)) == KR_OK;
	const char *path = o->key_file ? o->key_file : getenv("APCORE_ENCRYPT_KEY_FILE");
	if (path && !*path)
		path = NULL;
	struct sec_ctx *c = make_ctx(o);
	char kid[17], msg[512];
	enum sec_status st = sec_master_init(c, to_keyring, path, kid, msg, sizeof(msg));
	if (st)
		die("%s", msg);
	char *def = sec_default_key_file();
	printf("master key %s created in %s%s\n", kid, to_keyring ? "the keyring" : "file ",
	       to_keyring ? "" : (path ? path : def));
	free(def);
	sec_ctx_free(c);
	return 0;
}

static int cmd_inspect(int argc, char **argv, const struct opts *o)
{
	if (argc != 1)
		die_usage("usage: apcore-encrypt inspect [--json] TOKEN|-");
	char *token = read_token_arg(argv[0]);
	enum sec_format f = sec_format_of(token);
	char kid[17] = "";
	int64_t expires = 0;
	int malformed = f == SEC_FMT_V3 && sec_v3_header(token, kid, &expires) < 0;
	char when[RFC3339_MS_LEN] = "";
	if (expires)
		time_rfc3339_ms(expires * 1000, when);
	int expired = expires && time_now_ms() / 1000 >= expires;

	if (o->json) {
		struct strbuf out = STRBUF_INIT;
		struct jw w;
		jw_init(&w, &out, JSON_COMPACT);
		jw_obj_begin(&w);
		jw_kv_str(&w, "format", sec_format_name(f));
		if (f == SEC_FMT_KEYRING) {
			jw_kv_str(&w, "service", SEC_KEYRING_SERVICE);
			jw_kv_str(&w, "account", token + 8);
		}
		if (f == SEC_FMT_V3 && !malformed) {
			jw_kv_str(&w, "key_id", kid);
			if (expires) {
				jw_kv_str(&w, "expires", when);
				jw_kv_bool(&w, "expired", expired);
			} else {
				jw_key(&w, "expires");
				jw_null(&w);
			}
		}
		if (malformed)
			jw_kv_bool(&w, "malformed", 1);
		jw_obj_end(&w);
		sb_putc(&out, '\n');
		xwrite_full(1, out.buf, out.len);
		sb_free(&out);
	} else {
		printf("format: %s\n", sec_format_name(f));
		if (f == SEC_FMT_KEYRING)
			printf("keyring item: service=%s username=%s\n", SEC_KEYRING_SERVICE, token + 8);
		if (f == SEC_FMT_V3 && !malformed)
			printf("key id: %s\nexpires: %s%s\n", kid, expires ? when : "never",
			       expired ? " (expired)" : "");
	}
	free(token);
	return malformed ? EX_MALFORMED : 0;
}

static const struct {
	const char *name;
	int (*fn)(int, char **, const struct opts *);
} commands[] = {
	{ "store", cmd_store }, { "retrieve", cmd_retrieve }, { "get", cmd_get },
	{ "set", cmd_set }, { "rekey", cmd_rekey }, { "status", cmd_status },
	{ "init", cmd_init }, { "inspect", cmd_inspect },
};

int encrypt_main(int argc, char **argv)
{
	if (argc < 2)
		die_usage("missing command");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		struct opts o;
		parse_opts(argc - 1, argv + 1, &o);
		return commands[i].fn(argc - 1 - optind, argv + 1 + optind, &o);
	}
	die_usage("unknown command '%s'", argv[1]);
}

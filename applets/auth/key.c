/* key.c - reference parity (apcore-cli AuthProvider) for shell pipelines:
 * the resolved API key, the Bearer header, the HTTP status mapping.
 *
 * Fixes over the reference (reference §10.11): the key is never taken from
 * argv, nothing is silently stripped from it, it must be 1-512 visible ASCII
 * characters (an HTTP header value), and decryption failures exit 47.
 */
#include "apcore.h"
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define API_KEY_MAX 512
#define API_KEY_READ_CAP 4096   /* longer input is reported as too long */
#define CONFIG_KEY "auth.api_key"
#define HINT "Re-configure with 'apcore-encrypt set auth.api_key'."

static const char msg_missing[] =
	"Remote registry requires authentication. Set --api-key, APCORE_AUTH_API_KEY, or "
	"auth.api_key in config.";
static const char msg_control[] =
	"Malformed API key: contains invalid characters (CR/LF or control characters). " HINT;
static const char msg_visible[] =
	"Malformed API key: contains spaces or non-ASCII characters (an HTTP header value "
	"must be visible ASCII). " HINT;
static const char msg_long[] = "Malformed API key: longer than 512 characters. " HINT;
static const char msg_auth_failed[] = "Authentication failed. Verify your API key.";

static const char key_help[] =
	"usage: apcore-auth key [-c FILE] [--api-key-file FILE|-]\n"
	"\n"
	"Print the resolved API key and a newline.  The first source that is set\n"
	"wins:\n"
	"  --api-key-file FILE   the key in FILE; '-' (or --api-key -) reads stdin;\n"
	"                        one trailing newline (\\n or \\r\\n) is removed\n"
	"  APCORE_AUTH_API_KEY   when non-empty\n"
	"  auth.api_key          in the config: -c FILE, default ./apcore.yaml (a\n"
	"                        missing default file means not set)\n"
	"Values of the form keyring:NAME, enc:v2:..., enc:... and enc:v3:... are\n"
	"decrypted as apcore-encrypt does.  The key must be 1-512 visible ASCII\n"
	"characters; an empty key counts as not set.  --api-key VALUE is refused:\n"
	"argv is visible to every local user.\n"
	"\n"
	"Exit status: 0 ok, 1 error, 2 usage, 47 config unreadable or stored key\n"
	"cannot be decrypted, 77 no key or malformed key.\n";

static const char header_help[] =
	"usage: apcore-auth header [-c FILE] [--api-key-file FILE|-] [--fd N]\n"
	"\n"
	"Print \"Authorization: Bearer KEY\" and a newline, for curl -H @- and the\n"
	"like.  The key is resolved as 'apcore-auth key' does.\n"
	"  --fd N   write the header to the already-open file descriptor N (not 2)\n"
	"           instead of stdout\n"
	"\n"
	"Exit status: 0 ok, 1 error, 2 usage, 47 config unreadable or stored key\n"
	"cannot be decrypted, 77 no key or malformed key.\n";

static const char status_help[] =
	"usage: apcore-auth status [--strict] CODE\n"
	"\n"
	"Map the HTTP status CODE (100-599) of a registry response to an exit\n"
	"status, as the reference's handle_response does: 401 and 403 exit 77\n"
	"(\"Authentication failed. Verify your API key.\"), every other code 0.\n"
	"  --strict   only 2xx exits 0; 401/403 exit 77, any other code exits 1\n"
	"\n"
	"Exit status: 0 ok, 1 not a success (--strict), 2 usage, 77 authentication\n"
	"failed.\n";

enum { O_API_KEY = 256, O_API_KEY_FILE, O_FD, O_STRICT };
#define ALLOW(o) (1u << ((o) - 256 + 2))
#define ALLOW_CONFIG (1u << 0)
#define SEEN_SOURCE (1u << 1)

struct key_opts {
	const char *config;     /* -c, NULL = ./apcore.yaml if it exists */
	const char *key_file;   /* --api-key-file FILE, "-" = stdin */
	int fd;                 /* header --fd, -1 = stdout */
	int strict;
	unsigned seen;
};

static const struct option longopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "api-key", required_argument, NULL, O_API_KEY },
	{ "api-key-file", required_argument, NULL, O_API_KEY_FILE },
	{ "fd", required_argument, NULL, O_FD },
	{ "strict", no_argument, NULL, O_STRICT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Name an offending argument without what follows '=' (it may be a key). */
static void once(struct key_opts *o, unsigned bit, const char *name)
{
	if (o->seen & bit)
		die_usage("%s given twice", name);
	o->seen |= bit;
}

/* Parse options; allowed is a mask of ALLOW() bits.  Returns 1 for --help. */
static int parse_opts(int argc, char **argv, unsigned allowed, struct key_opts *o)
{
	int c;
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return 1;
		case 'c':
			if (!(allowed & ALLOW_CONFIG))
				die_usage("-c does not apply to '%s'", argv[0]);
			once(o, ALLOW_CONFIG, "--config");
			o->config = optarg;
			break;
		case O_API_KEY:
		case O_API_KEY_FILE:
			if (!(allowed & ALLOW(O_API_KEY_FILE)))
				die_usage("--api-key does not apply to '%s'", argv[0]);
			if (c == O_API_KEY && strcmp(optarg, "-"))
				die_usage("--api-key does not take the key on the command line: argv is "
				          "visible to every local user (ps, /proc); use --api-key-file FILE, "
				          "--api-key - (stdin), APCORE_AUTH_API_KEY or auth.api_key");
			once(o, SEEN_SOURCE, "--api-key/--api-key-file");
			o->key_file = optarg;
			break;
		case O_FD: {
			if (!(allowed & ALLOW(O_FD)))
				die_usage("--fd does not apply to '%s'", argv[0]);
			once(o, ALLOW(O_FD), "--fd");
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 0 || v > INT_MAX)
				die_usage("--fd wants a file descriptor number, not '%s'", optarg);
			o->fd = (int)v;
			break;
		}
		case O_STRICT:
			if (!(allowed & ALLOW(O_STRICT)))
				die_usage("--strict does not apply to '%s'", argv[0]);
			once(o, ALLOW(O_STRICT), "--strict");
			o->strict = 1;
			break;
		default:
			die_bad_option(c, argv);
		}
	}
	return 0;
}

/* A key read from a file or stdin: one trailing "\n" or "\r\n" is the
 * line end, anything else stays and is judged by check_key(). */
static char *read_key_fd(int fd, const char *what, size_t *len)
{
	char *k = secure_read_fd(fd, API_KEY_READ_CAP, 1, len);
	if (!k) {
		if (errno == EFBIG)
			die_code(APC_EX_AUTH, "%s", msg_long);
		die_errno("cannot read the API key from %s", what);
	}
	return k;
}

static char *secure_copy(const char *s, size_t n)
{
	char *p = secure_alloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

/* The config holds the key in plain heap memory: wipe it before freeing. */
static void cfg_wipe_free(struct cfg *c)
{
	if (c->text)
		secure_wipe(c->text, c->len);
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].value)
			secure_wipe(c->e[i].value, strlen(c->e[i].value));
	cfg_free(c);
}

/* auth.api_key from the config, or NULL when it is not set (or empty). */
static char *config_key(const struct key_opts *o, size_t *len)
{
	struct cfg cfg;
	char err[512];
	const char *path = o->config ? o->config : "apcore.yaml";

	if (cfg_load(&cfg, path, err, sizeof(err))) {
		if (errno == ENOENT && !o->config)
			return NULL;
		die_code(APC_EX_CONFIG, "%s", err);
	}
	const struct cfg_entry *e = cfg_get(&cfg, CONFIG_KEY);
	char *val = NULL;
	int nested = 0;
	for (size_t i = 0; i < cfg.n; i++)
		nested |= !strncmp(cfg.e[i].key, CONFIG_KEY ".", strlen(CONFIG_KEY "."));
	if (nested || (e && (e->kind == CFG_SEQ || e->kind == CFG_MAP))) {
		cfg_wipe_free(&cfg);
		die_code(APC_EX_CONFIG, "%s in %s is not a single value", CONFIG_KEY, path);
	}
	if (e && e->kind == CFG_SCALAR && e->value && *e->value) {
		*len = strlen(e->value);
		val = secure_copy(e->value, *len);
	}
	cfg_wipe_free(&cfg);
	return val;
}

/* An HTTP header value, and no surprises: 1-512 of 0x21-0x7e. */
static void check_key(const char *k, size_t len)
{
	if (!len)
		die_code(APC_EX_AUTH, "%s", msg_missing);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)k[i];
		if (ch < 0x20 || ch == 0x7f)
			die_code(APC_EX_AUTH, "%s", msg_control);
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)k[i];
		if (ch == 0x20 || ch >= 0x80)
			die_code(APC_EX_AUTH, "%s", msg_visible);
	}
	if (len > API_KEY_MAX)
		die_code(APC_EX_AUTH, "%s", msg_long);
}

/* Flag, then environment, then config; keyring:/enc: values decrypted.
 * Returns a secure buffer (NUL-terminated) with a valid key. */
static char *resolve_key(const struct key_opts *o, size_t *len)
{
	char *k = NULL;
	const char *env;

	*len = 0;
	if (o->key_file) {
		if (!strcmp(o->key_file, "-")) {
			k = read_key_fd(STDIN_FILENO, "standard input", len);
		} else {
			int fd = open(o->key_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
			if (fd < 0)
				die_errno("cannot open API key file %s", o->key_file);
			k = read_key_fd(fd, o->key_file, len);
			close(fd);
		}
	} else if ((env = getenv("APCORE_AUTH_API_KEY")) && *env) {
		*len = strlen(env);
		k = secure_copy(env, *len);
	} else {
		k = config_key(o, len);
	}
	if (!k || !*len)
		die_code(APC_EX_AUTH, "%s", msg_missing);
	/* A NUL would cut the value short for everything below. */
	if (memchr(k, 0, *len))
		die_code(APC_EX_AUTH, "%s", msg_control);

	if (sec_format_of(k) != SEC_FMT_PLAIN) {
		char msg[512], *plain;
		size_t plen;
		struct sec_ctx *c = sec_ctx_new();
		enum sec_status st = sec_resolve(c, CONFIG_KEY, k, &plain, &plen, msg, sizeof(msg));
		sec_ctx_free(c);
		secure_free(k);
		if (st != SEC_OK)
			die_code(APC_EX_CONFIG, "%s", msg);
		k = plain;
		*len = plen;
		if (memchr(k, 0, *len))
			die_code(APC_EX_AUTH, "%s", msg_control);
	}
	check_key(k, *len);
	return k;
}

/* Write prefix KEY "\n" with one write, from a wiped buffer. */
static void emit_key(int fd, const char *prefix, const char *k, size_t len)
{
	size_t plen = strlen(prefix), n = plen + len + 1;
	char *line = secure_alloc(n);
	memcpy(line, prefix, plen);
	memcpy(line + plen, k, len);
	line[n - 1] = '\n';
	int rc = write_full(fd, line, n);
	secure_free(line);
	if (rc)
		die_errno("cannot write the %s", *prefix ? "header" : "key");
}

int auth_cmd_key(int argc, char **argv)
{
	struct key_opts o;
	if (parse_opts(argc, argv, ALLOW_CONFIG | ALLOW(O_API_KEY_FILE), &o)) {
		fputs(key_help, stdout);
		return 0;
	}
	if (optind != argc)
		die_usage("usage: apcore-auth key [-c FILE] [--api-key-file FILE|-]");
	size_t len;
	char *k = resolve_key(&o, &len);
	emit_key(STDOUT_FILENO, "", k, len);
	secure_free(k);
	return 0;
}

int auth_cmd_header(int argc, char **argv)
{
	struct key_opts o;
	if (parse_opts(argc, argv, ALLOW_CONFIG | ALLOW(O_API_KEY_FILE) | ALLOW(O_FD), &o)) {
		fputs(header_help, stdout);
		return 0;
	}
	if (optind != argc)
		die_usage("usage: apcore-auth header [-c FILE] [--api-key-file FILE|-] [--fd N]");
	int fd = STDOUT_FILENO;
	if (o.fd >= 0) {
		if (o.fd == STDERR_FILENO)
			die_usage("--fd 2 is stderr, where diagnostics and logs go; not writing the key there");
		int fl = fcntl(o.fd, F_GETFL);
		if (fl < 0)
			die("--fd %d is not an open file descriptor", o.fd);
		if ((fl & O_ACCMODE) == O_RDONLY)
			die("--fd %d is not open for writing", o.fd);
		fd = o.fd;
	}
	size_t len;
	char *k = resolve_key(&o, &len);
	emit_key(fd, "Authorization: Bearer ", k, len);
	secure_free(k);
	return 0;
}

int auth_cmd_status(int argc, char **argv)
{
	struct key_opts o;
	const char *code_arg = NULL;
	char **args = argv;

	/* "status 401 --strict" as well as "status --strict 401". */
	if (argc > 1 && argv[1][0] != '-') {
		code_arg = argv[1];
		args = xcalloc((size_t)argc, sizeof(char *));
		args[0] = argv[0];
		for (int i = 2; i < argc; i++)
			args[i - 1] = argv[i];
		argc--;
	}
	int help = parse_opts(argc, args, ALLOW(O_STRICT), &o);
	int rest = argc - optind;
	const char *next = rest > 0 ? args[optind] : NULL;
	if (args != argv)
		free(args);
	if (help) {
		fputs(status_help, stdout);
		return 0;
	}
	if (code_arg ? rest != 0 : rest != 1)
		die_usage("usage: apcore-auth status [--strict] CODE");
	if (!code_arg)
		code_arg = next;

	int code = 0;
	if (strlen(code_arg) == 3 && strspn(code_arg, "0123456789") == 3)
		code = atoi(code_arg);
	if (code < 100 || code > 599)
		die_usage("status wants an HTTP status code from 100 to 599, not '%s'", code_arg);
	if (code == 401 || code == 403)
		die_code(APC_EX_AUTH, "%s", msg_auth_failed);
	if (o.strict && (code < 200 || code > 299))
		die("HTTP status %d is not a success (--strict)", code);
	return 0;
}

/* jwt.c - 'jwt sign' and 'jwt verify': JSON Web Tokens, HS256 and ES256.
 *
 * The token work lives in libcommon/jwt.c; this file reads keys, claims and
 * tokens, and maps outcomes to exit codes.
 */
#include "apcore.h"
#include "auth.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLAIMS_CAP (1u << 20)

static const char jwt_help[] =
	"usage: apcore-auth jwt sign --alg HS256|ES256 --key FILE [--claims FILE|-]\n"
	"                            [--exp WHEN] [--nbf WHEN] [--iss I] [--aud A] [--sub S]\n"
	"       apcore-auth jwt verify --alg HS256|ES256 --key FILE [--iss I] [--aud A]\n"
	"                              [--leeway S] [--json]        (token on stdin)\n"
	"\n"
	"JSON Web Tokens (RFC 7519) in compact form.  The algorithm is pinned by\n"
	"--alg: a token whose header names another one (\"none\" included) is\n"
	"refused, and so is one with \"crit\" header parameters, duplicate JSON keys\n"
	"or anything but strict base64url.\n"
	"  --alg HS256|ES256   HMAC-SHA256, or ECDSA P-256 + SHA-256 (raw r||s)\n"
	"  --key FILE          HS256: the file's bytes are the secret, at least 32 of\n"
	"                      them (head -c 32 /dev/urandom > FILE); PEM, SSH and\n"
	"                      JWK keys are refused.  ES256: a PEM private key to\n"
	"                      sign, a PEM public key or certificate to verify.\n"
	"                      Secrets must be readable by their owner only (0600).\n"
	"\n"
	"sign prints a token for the claims in --claims (a JSON object; '-' reads\n"
	"stdin), plus:\n"
	"  --exp WHEN          expiry, required here or in the claims\n"
	"  --nbf WHEN          not before\n"
	"                      WHEN: 90d 12h 30m 45s 2w from now, an RFC 3339 time,\n"
	"                      or @SECONDS since the epoch\n"
	"  --iss I, --aud A, --sub S   issuer, audience, subject\n"
	"iat (now) is added unless the claims have one; a claim given both in the\n"
	"file and as an option is an error.\n"
	"\n"
	"verify reads one token from stdin and checks the signature, exp (required),\n"
	"nbf and iat, then:\n"
	"  --iss I             the issuer must be I\n"
	"  --aud A             the token's aud (a string or an array) must hold A;\n"
	"                      a token that has an aud is refused without --aud\n"
	"  --leeway S          clock skew allowed on exp, nbf and iat: 0-300 seconds\n"
	"                      (default 60)\n"
	"  --json              print the claims on success (compact JSON, sorted keys)\n"
	"\n"
	"Exit status: 0 ok, 1 error (key or claims file), 2 usage, 77 token rejected\n"
	"(malformed, wrong algorithm, bad signature, expired, not yet valid, wrong\n"
	"issuer or audience; the reason on stderr).\n";

enum { O_ALG = 256, O_KEY, O_CLAIMS, O_EXP, O_NBF, O_ISS, O_AUD, O_SUB, O_LEEWAY, O_JSON };
#define B(o) (1u << ((o) - 256))

static const struct option longopts[] = {
	{ "alg", required_argument, NULL, O_ALG },
	{ "key", required_argument, NULL, O_KEY },
	{ "claims", required_argument, NULL, O_CLAIMS },
	{ "exp", required_argument, NULL, O_EXP },
	{ "nbf", required_argument, NULL, O_NBF },
	{ "iss", required_argument, NULL, O_ISS },
	{ "aud", required_argument, NULL, O_AUD },
	{ "sub", required_argument, NULL, O_SUB },
	{ "leeway", required_argument, NULL, O_LEEWAY },
	{ "json", no_argument, NULL, O_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct opts {
	enum jwt_alg alg;
	const char *key, *claims, *exp, *nbf, *iss, *aud, *sub;
	int leeway, json;
	unsigned seen;
};

/* Returns 1 for --help. */
static int parse_opts(int argc, char **argv, unsigned allowed, struct opts *o)
{
	int c;
	memset(o, 0, sizeof(*o));
	o->leeway = JWT_LEEWAY_DEFAULT;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		if (c == 'h')
			return 1;
		opt_accept(longopts, c, argv, "jwt", allowed, 0, &o->seen);
		switch (c) {
		case O_ALG:
			if (jwt_alg_parse(optarg, &o->alg))
				die_usage("--alg must be HS256 or ES256, not '%s'", optarg);
			break;
		case O_KEY: o->key = optarg; break;
		case O_CLAIMS: o->claims = optarg; break;
		case O_EXP: o->exp = optarg; break;
		case O_NBF: o->nbf = optarg; break;
		case O_ISS: o->iss = optarg; break;
		case O_AUD: o->aud = optarg; break;
		case O_SUB: o->sub = optarg; break;
		case O_LEEWAY: {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 0 || v > JWT_LEEWAY_MAX)
				die_usage("--leeway wants seconds between 0 and %d", JWT_LEEWAY_MAX);
			o->leeway = (int)v;
			break;
		}
		case O_JSON: o->json = 1; break;
		}
	}
	if (!(o->seen & B(O_ALG)))
		die_usage("--alg HS256|ES256 is required: the algorithm is never taken from the token");
	if (!o->key)
		die_usage("--key FILE is required");
	if (optind != argc)
		die_usage("'jwt %s' takes no operands%s", argv[0],
		          !strcmp(argv[0], "verify") ? " (the token is read from stdin)" : "");
	return 0;
}

/* 90d 12h 30m 45s 2w from now, @SECONDS, or an RFC 3339 time. */
static int64_t parse_when(const char *opt, const char *s, int64_t now)
{
	char *end;
	errno = 0;
	if (s[0] == '@' && s[1] >= '0' && s[1] <= '9') {
		long long v = strtoll(s + 1, &end, 10);
		if (!errno && !*end && v <= 253402300799LL)
			return v;
	} else if (s[0] >= '0' && s[0] <= '9') {
		long long n = strtoll(s, &end, 10);
		static const struct { char c; long long mul; } units[] = {
			{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 },
		};
		if (!errno && n > 0 && end[0] && !end[1])
			for (size_t i = 0; i < ARRAY_SIZE(units); i++)
				if (*end == units[i].c && n <= 253402300799LL / units[i].mul)
					return now + n * units[i].mul;
	}
	int64_t ms;
	if (time_parse_rfc3339(s, &ms) == 0 && ms >= 0)
		return ms / 1000;
	die_usage("--%s: '%s' is not a duration (90d, 12h, 30m, 45s, 2w), @SECONDS or an RFC 3339 "
	          "time", opt, s);
}

static struct jwt_key *load_key(const struct opts *o, int for_signing)
{
	char why[512];
	struct jwt_key *k = jwt_key_load(o->alg, for_signing, o->key, why, sizeof(why));
	if (!k)
		die("%s", why);
	return k;
}

/* The claims of --claims with the options' claims merged in, as JSON. */
static char *build_claims(const struct opts *o, int64_t now)
{
	struct strbuf canon = STRBUF_INIT, extra = STRBUF_INIT, out = STRBUF_INIT;
	char err[256];
	char *text = NULL;
	size_t len = 2;

	if (o->claims) {
		int rc = !strcmp(o->claims, "-") ? read_fd_capped(STDIN_FILENO, CLAIMS_CAP, &text, &len)
		                                 : read_file_capped(o->claims, CLAIMS_CAP, &text, &len);
		if (rc != 0)
			die_errno("cannot read the claims from %s", o->claims);
	}
	if (json_canonicalize(text ? text : "{}", len, JSON_COMPACT, &canon, err, sizeof(err)))
		die("claims %s: %s", o->claims, err);
	free(text);
	cJSON *j = cJSON_Parse(canon.buf);
	if (!cJSON_IsObject(j))
		die("claims %s: not a JSON object", o->claims);

	static const struct { int opt; const char *claim; } map[] = {
		{ O_AUD, "aud" }, { O_EXP, "exp" }, { O_ISS, "iss" }, { O_NBF, "nbf" }, { O_SUB, "sub" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if ((o->seen & B(map[i].opt)) && cJSON_GetObjectItemCaseSensitive(j, map[i].claim))
			die_usage("claim %s is given both in %s and as --%s", map[i].claim, o->claims,
			          map[i].claim);
	if (!o->exp && !cJSON_GetObjectItemCaseSensitive(j, "exp"))
		die_usage("a token needs an expiry: --exp WHEN (or exp in the claims)");
	int has_iat = cJSON_GetObjectItemCaseSensitive(j, "iat") != NULL;
	cJSON_Delete(j);

	/* Keys in sorted order, so the merged object stays canonical. */
	struct jw w;
	jw_init(&w, &extra, JSON_COMPACT);
	jw_obj_begin(&w);
	if (o->aud)
		jw_kv_str(&w, "aud", o->aud);
	if (o->exp)
		jw_kv_int(&w, "exp", parse_when("exp", o->exp, now));
	if (!has_iat)
		jw_kv_int(&w, "iat", now);
	if (o->iss)
		jw_kv_str(&w, "iss", o->iss);
	if (o->nbf)
		jw_kv_int(&w, "nbf", parse_when("nbf", o->nbf, now));
	if (o->sub)
		jw_kv_str(&w, "sub", o->sub);
	jw_obj_end(&w);

	if (canon.len <= 2) {
		sb_add(&out, extra.buf, extra.len);
	} else {
		sb_add(&out, canon.buf, canon.len - 1);
		if (extra.len > 2) {
			sb_putc(&out, ',');
			sb_add(&out, extra.buf + 1, extra.len - 1);
		} else {
			sb_putc(&out, '}');
		}
	}
	sb_free(&canon);
	sb_free(&extra);
	return sb_detach(&out, NULL);
}

static int cmd_sign(int argc, char **argv)
{
	struct opts o;
	if (parse_opts(argc, argv, B(O_ALG) | B(O_KEY) | B(O_CLAIMS) | B(O_EXP) | B(O_NBF) |
	                           B(O_ISS) | B(O_AUD) | B(O_SUB), &o)) {
		fputs(jwt_help, stdout);
		return 0;
	}
	int64_t now = time_now_ms() / 1000;
	char *claims = build_claims(&o, now);
	struct jwt_key *k = load_key(&o, 1);
	char why[512];
	char *token = jwt_sign(o.alg, k, claims, strlen(claims), why, sizeof(why));
	jwt_key_free(k);
	free(claims);
	if (!token)
		die("%s", why);
	printf("%s\n", token);
	free(token);
	return 0;
}

static int cmd_verify(int argc, char **argv)
{
	struct opts o;
	if (parse_opts(argc, argv, B(O_ALG) | B(O_KEY) | B(O_ISS) | B(O_AUD) | B(O_LEEWAY) |
	                           B(O_JSON), &o)) {
		fputs(jwt_help, stdout);
		return 0;
	}
	struct jwt_key *k = load_key(&o, 0);
	/* A bearer token is a secret: keep it in a secure buffer. */
	size_t len;
	char *tok = secure_read_fd(STDIN_FILENO, JWT_MAX_LEN + 2, 0, &len);
	if (!tok) {
		if (errno == EFBIG)
			die_code(APC_EX_AUTH, "token rejected: longer than %u bytes", JWT_MAX_LEN);
		die_errno("cannot read the token from stdin");
	}
	const char *t = tok;
	while (len && (*t == ' ' || *t == '\t' || *t == '\r' || *t == '\n'))
		t++, len--;
	while (len && (t[len - 1] == ' ' || t[len - 1] == '\t' || t[len - 1] == '\r' ||
	               t[len - 1] == '\n'))
		len--;
	if (!len)
		die_code(APC_EX_AUTH, "token rejected: no token on stdin");

	struct jwt_verify_opts vo = {
		.alg = o.alg, .key = k, .iss = o.iss, .aud = o.aud,
		.now = time_now_ms() / 1000, .leeway = o.leeway,
	};
	struct strbuf claims = STRBUF_INIT;
	char why[512];
	enum jwt_status st = jwt_verify(&vo, t, len, &claims, why, sizeof(why));
	secure_free(tok);
	jwt_key_free(k);
	if (st != JWT_OK)
		die_code(APC_EX_AUTH, "token rejected: %s", why);
	if (o.json) {
		sb_putc(&claims, '\n');
		xwrite_full(STDOUT_FILENO, claims.buf, claims.len);
	}
	sb_free(&claims);
	return 0;
}

int auth_cmd_jwt(int argc, char **argv)
{
	if (argc < 2)
		die_usage("jwt wants a command: sign or verify");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(jwt_help, stdout);
		return 0;
	}
	optind = 0;
	if (!strcmp(argv[1], "sign"))
		return cmd_sign(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return cmd_verify(argc - 1, argv + 1);
	die_usage("unknown jwt command '%s' (sign or verify)", argv[1]);
}

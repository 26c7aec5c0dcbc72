/* policy.c - apcore-auth check and policy: authorization decisions from a
 * policy file (libcommon/policy.c, docs/auth-policy.md).
 *
 *   check --policy FILE --subject S --action A --resource R [--attr K=V]...
 *         [--now TIME] [--json]          exit 0 allow, 77 deny
 *   check --policy FILE --batch [--now TIME]
 *                                        JSONL requests in, JSONL decisions out
 *   policy test [--now TIME] FILE CASES  fixture requests with expected decisions
 *   policy validate FILE                 load a policy, report its first error
 *
 * A policy that does not load is exit 1 (fail closed), whatever was asked.
 */

#include "apcore.h"
#include "auth.h"
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define LINE_CAP (1u << 20)       /* one JSONL request */
#define CASES_CAP (16u << 20)     /* a CASES file */

static const char check_usage[] =
	"usage: apcore-auth check --policy FILE --subject S --action A --resource R\n"
	"                         [--attr K=V]... [--now TIME] [--json]\n"
	"       apcore-auth check --policy FILE --batch [--now TIME]\n"
	"\n"
	"Decide whether SUBJECT may do ACTION on RESOURCE under the policy FILE:\n"
	"exit 0 allow, 77 deny.  Prints the decision and the deciding rule, or with\n"
	"--json the decision, the roles held and every matching rule with its\n"
	"file:line:col and role chain.\n"
	"\n"
	"  --attr K=V    a request attribute for 'when' conditions (repeatable)\n"
	"  --now TIME    judge time-bounded grants at TIME (RFC 3339 date-time)\n"
	"                instead of now\n"
	"  --batch       read JSONL requests on stdin, {\"subject\": .., \"action\": ..,\n"
	"                \"resource\": .., \"attrs\": {..}, \"now\": ..} (attrs and now\n"
	"                optional), and print one JSON decision per line, in order;\n"
	"                a malformed line is denied (reason invalid_request) and\n"
	"                makes the exit status 1\n"
	"\n"
	"Exit status: 0 allow (--batch: every line well formed), 1 the policy does\n"
	"not load or another error, 2 usage, 77 deny.\n";

static const char policy_usage[] =
	"usage: apcore-auth policy test [--now TIME] FILE CASES\n"
	"       apcore-auth policy validate FILE\n"
	"\n"
	"test: evaluate the requests of CASES (JSONL: one request per line with\n"
	"\"expect\": \"allow\" or \"deny\" and an optional \"name\"; blank lines and\n"
	"lines starting with '#' are skipped) against the policy FILE; print a line\n"
	"per failing case and a summary.  Exit 0 when every case passes, else 1.\n"
	"Cases without \"now\" are judged at --now, else at the current time.\n"
	"\n"
	"validate: load FILE and print a summary, or its first error as\n"
	"FILE:LINE:COL: message.  Exit 0 valid, 1 not.\n";

/* A full RFC 3339 date-time (a bare date would silently mean midnight UTC). */
static int parse_datetime(const char *s, int64_t *ms)
{
	return strlen(s) < 20 || (s[10] != 'T' && s[10] != 't') || time_parse_rfc3339(s, ms) ? -1 : 0;
}

static struct policy *load_or_die(const char *path)
{
	struct policy *p;
	char err[600];
	if (policy_load(&p, path, err, sizeof(err)))
		die("%s", err);
	return p;
}

/* ------------------------------------------------------------ requests */

/* A request parsed from one JSON line; the strings point into root. */
struct jreq {
	cJSON *root;
	struct policy_request rq;
	struct policy_attr attrs[POLICY_ATTRS_MAX];
	int has_now;
	int expect;              /* cases: POLICY_ALLOW or POLICY_DENY */
	const char *name;
};

/* cJSON turns \u0000 into a NUL that ends the C string early: a subject
 * "alice\u0000x" would be read as "alice".  Refuse the escape. */
static int has_nul_escape(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < len && !memcmp(s + i + 2, "0000", 4))
			return 1;
		i++;
	}
	return 0;
}

static const char *jstring(const cJSON *v)
{
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

PRINTF(3, 4) static int jfail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Parse one request (cases != 0: a test case with "expect" and "name").
 * 0, or -1 with a reason in err. */
static int parse_request(const char *line, size_t len, int cases, struct jreq *j, char *err,
                         size_t errlen)
{
	static const char *const keys[] = { "subject", "action", "resource", "attrs", "now",
	                                    "expect", "name" };
	const char *end = NULL;
	size_t nkeys = cases ? 7 : 5;

	memset(j, 0, sizeof(*j));
	if (has_nul_escape(line, len))
		return jfail(err, errlen, "\\u0000 is not allowed in a request");
	j->root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (!j->root)
		return jfail(err, errlen, "not valid JSON");
	for (; end && end < line + len; end++)
		if (!strchr(" \t\r\n", *end))
			return jfail(err, errlen, "text after the JSON object");
	if (!cJSON_IsObject(j->root))
		return jfail(err, errlen, "a request must be a JSON object");

	const cJSON *seen[7] = { 0 };
	for (const cJSON *c = j->root->child; c; c = c->next) {
		size_t k;
		for (k = 0; k < nkeys; k++)
			if (!strcmp(c->string, keys[k]))
				break;
		if (k == nkeys)
			return jfail(err, errlen, "unknown key \"%.40s\" (expected subject, action, "
			             "resource, attrs, now%s)", c->string, cases ? ", expect, name" : "");
		if (seen[k])
			return jfail(err, errlen, "duplicate key \"%s\"", keys[k]);
		seen[k] = c;
		if (k != 3 && !cJSON_IsString(c))
			return jfail(err, errlen, "\"%s\" must be a string", keys[k]);
	}
	for (size_t k = 0; k < 3; k++)
		if (!seen[k])
			return jfail(err, errlen, "missing \"%s\"", keys[k]);
	j->rq.subject = jstring(seen[0]);
	j->rq.action = jstring(seen[1]);
	j->rq.resource = jstring(seen[2]);
	if (seen[3]) {
		if (!cJSON_IsObject(seen[3]))
			return jfail(err, errlen, "\"attrs\" must be an object of strings");
		for (const cJSON *a = seen[3]->child; a; a = a->next) {
			if (j->rq.nattrs == POLICY_ATTRS_MAX)
				return jfail(err, errlen, "more than %d attributes", POLICY_ATTRS_MAX);
			if (!cJSON_IsString(a))
				return jfail(err, errlen, "attribute \"%.40s\" must be a string", a->string);
			j->attrs[j->rq.nattrs++] = (struct policy_attr){ a->string, a->valuestring };
		}
		j->rq.attrs = j->attrs;
	}
	if (seen[4]) {
		if (parse_datetime(seen[4]->valuestring, &j->rq.now_ms))
			return jfail(err, errlen, "\"now\" must be an RFC 3339 date-time such as "
			             "2026-01-01T00:00:00Z");
		j->has_now = 1;
	}
	if (cases) {
		const char *e = jstring(seen[5]);
		if (!e)
			return jfail(err, errlen, "missing \"expect\"");
		if (!strcmp(e, "allow"))
			j->expect = POLICY_ALLOW;
		else if (!strcmp(e, "deny"))
			j->expect = POLICY_DENY;
		else
			return jfail(err, errlen, "\"expect\" must be \"allow\" or \"deny\"");
		j->name = jstring(seen[6]);
		if (j->name && !utf8_valid(j->name, strlen(j->name)))
			return jfail(err, errlen, "\"name\" is not valid UTF-8");
	}
	return policy_request_check(&j->rq, err, errlen);
}

/* ----------------------------------------------------------- line input */

struct lines {
	int fd;
	char buf[65536];
	size_t pos, len;
	int eof;
	struct strbuf line;
	struct strbuf *out;     /* flushed before every read that may block */
};

static void flush_out(struct strbuf *out)
{
	if (out && out->len) {
		xwrite_full(1, out->buf, out->len);
		sb_reset(out);
	}
}

/* The next line without its newline; *toolong when it was longer than
 * LINE_CAP (its text is then dropped).  0 at the end of input. */
static int next_line(struct lines *l, int *toolong)
{
	sb_reset(&l->line);
	*toolong = 0;
	for (;;) {
		if (l->pos == l->len) {
			if (l->eof)
				return l->line.len || *toolong;
			flush_out(l->out);
			ssize_t n;
			do
				n = read(l->fd, l->buf, sizeof(l->buf));
			while (n < 0 && errno == EINTR);
			if (n < 0)
				die_errno("cannot read the requests");
			l->pos = 0;
			l->len = (size_t)n;
			if (!n) {
				l->eof = 1;
				continue;
			}
		}
		char *nl = memchr(l->buf + l->pos, '\n', l->len - l->pos);
		size_t take = nl ? (size_t)(nl - (l->buf + l->pos)) : l->len - l->pos;
		if (!*toolong && l->line.len + take > LINE_CAP) {
			*toolong = 1;
			sb_reset(&l->line);
		}
		if (!*toolong)
			sb_add(&l->line, l->buf + l->pos, take);
		l->pos += take + (nl ? 1 : 0);
		if (nl)
			return 1;
	}
}

/* -------------------------------------------------------------- check */

enum { O_POLICY = 1, O_SUBJECT, O_ACTION, O_RESOURCE, O_ATTR, O_NOW, O_JSON, O_BATCH, O_HELP };

#define BIT(o) (1u << (o))

struct check_opts {
	const char *policy, *subject, *action, *resource;
	struct policy_attr attrs[POLICY_ATTRS_MAX];
	char *keys[POLICY_ATTRS_MAX];   /* attrs[i].key, owned */
	size_t nattrs;
	int64_t now_ms;
	int has_now, json, batch;
	unsigned seen;
};

static const struct option check_longopts[] = {
	{ "policy", required_argument, NULL, O_POLICY },
	{ "subject", required_argument, NULL, O_SUBJECT },
	{ "action", required_argument, NULL, O_ACTION },
	{ "resource", required_argument, NULL, O_RESOURCE },
	{ "attr", required_argument, NULL, O_ATTR },
	{ "now", required_argument, NULL, O_NOW },
	{ "json", no_argument, NULL, O_JSON },
	{ "batch", no_argument, NULL, O_BATCH },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

static void bad_option(char **argv)
{
	if (optopt >= O_POLICY && optopt <= O_HELP)
		die_usage("option '%s' takes no value", argv[optind - 1]);
	if (optopt)
		die_usage("unknown option '-%c'", optopt);
	die_usage("unknown option '%s'", argv[optind - 1]);
}

static void parse_check(int argc, char **argv, struct check_opts *o)
{
	int c;
	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", check_longopts, NULL)) != -1) {
		if (c == ':')
			die_usage("option '%s' needs a value", argv[optind - 1]);
		if (c == '?')
			bad_option(argv);
		if (c == O_HELP) {
			fputs(check_usage, stdout);
			xexit(0);
		}
		if (c != O_ATTR && (o->seen & BIT(c)))
			die_usage("option --%s given twice", check_longopts[c - 1].name);
		o->seen |= BIT(c);
		switch (c) {
		case O_POLICY: o->policy = optarg; break;
		case O_SUBJECT: o->subject = optarg; break;
		case O_ACTION: o->action = optarg; break;
		case O_RESOURCE: o->resource = optarg; break;
		case O_ATTR: {
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg)
				die_usage("--attr wants KEY=VALUE, not '%s'", optarg);
			if (o->nattrs == POLICY_ATTRS_MAX)
				die_usage("more than %d --attr options", POLICY_ATTRS_MAX);
			char *key = xstrndup(optarg, (size_t)(eq - optarg));
			for (size_t i = 0; i < o->nattrs; i++)
				if (!strcmp(o->attrs[i].key, key))
					die_usage("--attr %s given twice", key);
			o->keys[o->nattrs] = key;
			o->attrs[o->nattrs++] = (struct policy_attr){ key, eq + 1 };
			break;
		}
		case O_NOW:
			if (parse_datetime(optarg, &o->now_ms))
				die_usage("--now wants an RFC 3339 date-time such as 2026-01-01T00:00:00Z, "
				          "not '%s'", optarg);
			o->has_now = 1;
			break;
		case O_JSON: o->json = 1; break;
		case O_BATCH: o->batch = 1; break;
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);
	if (!o->policy)
		die_usage("check needs --policy FILE");
	if (o->batch) {
		if (o->seen & (BIT(O_SUBJECT) | BIT(O_ACTION) | BIT(O_RESOURCE) | BIT(O_ATTR)))
			die_usage("--batch reads the requests from stdin: no --subject, --action, "
			          "--resource or --attr");
		if (o->json)
			die_usage("--batch always prints JSON: drop --json");
		return;
	}
	if (!o->subject || !o->action || !o->resource)
		die_usage("check needs --subject, --action and --resource (or --batch)");
}

static void print_json(const struct policy *p, const struct policy_request *rq,
                       const struct policy_result *res, struct strbuf *out)
{
	struct jw w;
	jw_init(&w, out, JSON_COMPACT);
	policy_result_json(p, rq, res, &w);
	sb_putc(out, '\n');
}

/* "FILE:LINE:COL (role a -> b)" of the first deciding rule, or NULL. */
static char *deciding_rule(const struct policy *p, const struct policy_result *res)
{
	const struct policy_match *m = NULL;
	if (res->reason == POLICY_REASON_ALLOWED && res->nallow)
		m = &res->allow[0];
	else if (res->reason == POLICY_REASON_EXPLICIT_DENY && res->ndeny)
		m = &res->deny[0];
	if (!m)
		return NULL;
	struct strbuf sb = STRBUF_INIT;
	sb_printf(&sb, "%s:%d:%d (", policy_name(p), m->line, m->col);
	if (!m->role)
		sb_puts(&sb, "global deny");
	for (size_t i = 0; i < m->nchain; i++)
		sb_printf(&sb, "%s%s", i ? " -> " : "role ", m->chain[i]);
	sb_putc(&sb, ')');
	return sb_detach(&sb, NULL);
}

static int check_batch(const struct policy *p, const struct check_opts *o)
{
	struct policy_result res = POLICY_RESULT_INIT;
	struct strbuf out = STRBUF_INIT;
	struct lines *l = xzalloc(sizeof(*l));
	size_t lineno = 0, bad = 0;
	int toolong;

	l->fd = 0;
	l->out = &out;
	while (next_line(l, &toolong)) {
		struct jreq j;
		char err[300];
		int rc;
		lineno++;
		if (toolong) {
			memset(&j, 0, sizeof(j));
			rc = jfail(err, sizeof(err), "longer than %u bytes", LINE_CAP);
		} else {
			const char *s = l->line.buf ? l->line.buf : "";
			size_t n = l->line.len;
			while (n && strchr(" \t\r", s[n - 1]))
				n--;
			if (!n)
				continue;  /* blank lines carry no request */
			rc = parse_request(s, n, 0, &j, err, sizeof(err));
		}
		if (rc) {
			struct jw w;
			char *msg = xasprintf("stdin:%zu: %s", lineno, err);
			jw_init(&w, &out, JSON_COMPACT);
			jw_obj_begin(&w);
			jw_kv_str(&w, "decision", "deny");
			jw_kv_str(&w, "reason", policy_reason_name(POLICY_REASON_INVALID));
			jw_kv_str(&w, "error", msg);
			jw_obj_end(&w);
			sb_putc(&out, '\n');
			free(msg);
			bad++;
		} else {
			if (!j.has_now)
				j.rq.now_ms = o->has_now ? o->now_ms : time_now_ms();
			policy_eval(p, &j.rq, POLICY_EXPLAIN, &res);
			print_json(p, &j.rq, &res, &out);
		}
		cJSON_Delete(j.root);
		if (out.len >= 65536)
			flush_out(&out);
	}
	flush_out(&out);
	sb_free(&out);
	sb_free(&l->line);
	free(l);
	policy_result_free(&res);
	if (bad) {
		warn_msg("%zu malformed request%s denied", bad, bad == 1 ? "" : "s");
		return APC_EX_FAIL;
	}
	return APC_EX_OK;
}

static int check_one(const struct policy *p, const struct check_opts *o,
                     const struct policy_request *rq)
{
	struct policy_result res = POLICY_RESULT_INIT;
	struct strbuf out = STRBUF_INIT;
	enum policy_decision d = policy_eval(p, rq, POLICY_EXPLAIN, &res);
	if (o->json) {
		print_json(p, rq, &res, &out);
	} else {
		char *why = deciding_rule(p, &res);
		if (why)
			sb_printf(&out, "%s by %s\n", d == POLICY_ALLOW ? "allow" : "deny", why);
		else
			sb_puts(&out, "deny: no rule allows it\n");
		free(why);
	}
	xwrite_full(1, out.buf, out.len);
	sb_free(&out);
	policy_result_free(&res);
	return d == POLICY_ALLOW ? APC_EX_OK : APC_EX_AUTH;
}

int auth_cmd_check(int argc, char **argv)
{
	struct check_opts o;
	parse_check(argc, argv, &o);

	struct policy_request rq = { o.subject, o.action, o.resource, o.attrs, o.nattrs,
	                             o.has_now ? o.now_ms : time_now_ms() };
	char err[300];
	if (!o.batch && policy_request_check(&rq, err, sizeof(err)))
		die_usage("%s", err);

	struct policy *p = load_or_die(o.policy);
	if (o.batch) {
		int rc = check_batch(p, &o);
		policy_free(p);
		return rc;
	}
	int rc = check_one(p, &o, &rq);
	for (size_t i = 0; i < o.nattrs; i++)
		free(o.keys[i]);
	policy_free(p);
	return rc;
}

/* -------------------------------------------------------------- policy */

static int policy_test(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "now", required_argument, NULL, O_NOW },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int64_t now_ms = 0;
	int has_now = 0, c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", longopts, NULL)) != -1) {
		if (c == ':')
			die_usage("option '%s' needs a value", argv[optind - 1]);
		if (c == '?')
			bad_option(argv);
		if (c == O_HELP) {
			fputs(policy_usage, stdout);
			xexit(0);
		}
		if (has_now)
			die_usage("option --now given twice");
		if (parse_datetime(optarg, &now_ms))
			die_usage("--now wants an RFC 3339 date-time such as 2026-01-01T00:00:00Z, "
			          "not '%s'", optarg);
		has_now = 1;
	}
	if (argc - optind != 2)
		die_usage("usage: apcore-auth policy test [--now TIME] FILE CASES");
	const char *cases = argv[optind + 1];
	char *text;
	size_t len;
	if (read_file_capped(cases, CASES_CAP, &text, &len)) {
		if (errno == EFBIG)
			die("%s: larger than %u bytes", cases, CASES_CAP);
		die_errno("cannot read %s", cases);
	}
	struct policy *p = load_or_die(argv[optind]);
	struct policy_result res = POLICY_RESULT_INIT;
	struct strbuf out = STRBUF_INIT;
	size_t total = 0, failed = 0, lineno = 0;

	for (char *s = text; s < text + len;) {
		char *nl = memchr(s, '\n', (size_t)(text + len - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(text + len - s);
		char *next = s + n + (nl ? 1 : 0);
		const char *t = s;
		lineno++;
		while (n && strchr(" \t\r", t[n - 1]))
			n--;
		while (n && strchr(" \t", *t))
			t++, n--;
		s = next;
		if (!n || *t == '#')
			continue;
		total++;
		struct jreq j;
		char err[300];
		if (parse_request(t, n, 1, &j, err, sizeof(err))) {
			sb_printf(&out, "%s:%zu: bad case: %s\n", cases, lineno, err);
			failed++;
			cJSON_Delete(j.root);
			continue;
		}
		if (!j.has_now)
			j.rq.now_ms = has_now ? now_ms : time_now_ms();
		enum policy_decision d = policy_eval(p, &j.rq, POLICY_EXPLAIN, &res);
		if (d != (enum policy_decision)j.expect) {
			char *why = deciding_rule(p, &res);
			sb_printf(&out, "%s:%zu: ", cases, lineno);
			if (j.name)
				sb_printf(&out, "%s", j.name);
			else
				sb_printf(&out, "%s %s %s", j.rq.subject, j.rq.action, j.rq.resource);
			sb_printf(&out, ": expected %s, got %s: %s%s%s\n",
			          j.expect == POLICY_ALLOW ? "allow" : "deny",
			          d == POLICY_ALLOW ? "allow" : "deny", policy_reason_name(res.reason),
			          why ? " by " : "", why ? why : "");
			free(why);
			failed++;
		}
		cJSON_Delete(j.root);
	}
	free(text);
	if (!total) {
		policy_free(p);
		policy_result_free(&res);
		sb_free(&out);
		die("%s: no cases", cases);
	}
	sb_printf(&out, "%zu case%s: %zu passed, %zu failed\n", total, total == 1 ? "" : "s",
	          total - failed, failed);
	xwrite_full(1, out.buf, out.len);
	sb_free(&out);
	policy_result_free(&res);
	policy_free(p);
	return failed ? APC_EX_FAIL : APC_EX_OK;
}

static int policy_validate(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--help")) {
		fputs(policy_usage, stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-')
		die_usage("usage: apcore-auth policy validate FILE");
	struct policy *p = load_or_die(argv[1]);
	struct policy_stats st;
	policy_stats(p, &st);
	printf("%s: ok (%zu role%s, %zu subject%s, %zu grant%s, %zu rule%s)\n", argv[1],
	       st.roles, st.roles == 1 ? "" : "s", st.subjects, st.subjects == 1 ? "" : "s",
	       st.grants, st.grants == 1 ? "" : "s", st.rules, st.rules == 1 ? "" : "s");
	policy_free(p);
	return 0;
}

int auth_cmd_policy(int argc, char **argv)
{
	if (argc < 2)
		die_usage("usage: apcore-auth policy test|validate ...");
	if (!strcmp(argv[1], "--help")) {
		fputs(policy_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "test"))
		return policy_test(argc - 1, argv + 1);
	if (!strcmp(argv[1], "validate"))
		return policy_validate(argc - 1, argv + 1);
	die_usage("unknown policy command '%s' (test or validate)", argv[1]);
}

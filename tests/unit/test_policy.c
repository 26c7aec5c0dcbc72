/* test_policy.c - policy.c: the glob matcher (with must-fail cases and
 * pathological patterns), every loader rejection with its exact
 * file:line:col, inheritance, cycles, deny-wins, attribute conditions,
 * time-bounded grants at their boundaries, default deny and the JSON. */

#include "unit.h"
#include "policy.h"

#include <time.h>

static struct policy *P;
static struct policy_result R = POLICY_RESULT_INIT;
static char err[600];

static int load(const char *yaml)
{
	policy_free(P);
	P = NULL;
	return policy_load_mem(&P, "t.yaml", yaml, strlen(yaml), err, sizeof(err));
}

static int64_t T(const char *s)
{
	int64_t ms = 0;
	if (time_parse_rfc3339(s, &ms))
		printf("# bad time in test: %s\n", s);
	return ms;
}

/* Decide with attrs "k=v,k=v" (NULL: none) at time now; the explained
 * result is in R, and the fast path must agree. */
static int decide_at(const char *sub, const char *act, const char *res, const char *attrs,
                     const char *now)
{
	static char abuf[512];
	struct policy_attr a[16];
	size_t na = 0;
	if (attrs) {
		snprintf(abuf, sizeof(abuf), "%s", attrs);
		for (char *tok = strtok(abuf, ","); tok && na < 16; tok = strtok(NULL, ",")) {
			char *eq = strchr(tok, '=');
			*eq = 0;
			a[na++] = (struct policy_attr){ tok, eq + 1 };
		}
	}
	struct policy_request rq = { sub, act, res, a, na, now ? T(now) : T("2026-01-15T00:00:00Z") };
	struct policy_result fast = POLICY_RESULT_INIT;
	enum policy_decision quick = policy_eval(P, &rq, 0, &fast);
	enum policy_reason qreason = fast.reason;
	policy_result_free(&fast);
	enum policy_decision d = policy_eval(P, &rq, POLICY_EXPLAIN, &R);
	if (!unit_check(quick == d && qreason == R.reason, "fast path agrees", __FILE__, __LINE__))
		printf("#   %s %s %s\n", sub, act, res);
	return d;
}

static int decide(const char *sub, const char *act, const char *res, const char *attrs)
{
	return decide_at(sub, act, res, attrs, NULL);
}

/* "role:a>b>c" for each match of list (allow or deny), space-separated,
 * with the rule's line: "12:role:a>b". */
static const char *matches(int deny)
{
	static char buf[512];
	const struct policy_match *m = deny ? R.deny : R.allow;
	size_t n = deny ? R.ndeny : R.nallow;
	buf[0] = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(buf);
		snprintf(buf + l, sizeof(buf) - l, "%s%d:%s:", i ? " " : "", m[i].line,
		         m[i].role ? m[i].role : "(global)");
		for (size_t k = 0; k < m[i].nchain; k++) {
			l = strlen(buf);
			snprintf(buf + l, sizeof(buf) - l, "%s%s", k ? ">" : "", m[i].chain[k]);
		}
	}
	return buf;
}

static const char *held(void)
{
	static char buf[512];
	buf[0] = 0;
	for (size_t i = 0; i < R.nheld; i++) {
		size_t l = strlen(buf);
		snprintf(buf + l, sizeof(buf) - l, "%s%s/%s@%d", i ? " " : "", R.held[i].role,
		         R.held[i].grant ? "grant" : "subject", R.held[i].line);
	}
	return buf;
}

/* ------------------------------------------------------------------ globs */

struct gcase {
	int kind;
	const char *pat, *text;
	int want;
};

static const struct gcase gcases[] = {
	{ POLICY_GLOB_PATH, "docs/*", "docs/a", 1 },
	{ POLICY_GLOB_PATH, "docs/*", "docs/abc", 1 },
	{ POLICY_GLOB_PATH, "docs/*", "docs/", 1 },
	{ POLICY_GLOB_PATH, "docs/*", "docs", 0 },
	{ POLICY_GLOB_PATH, "docs/*", "docs/a/b", 0 },
	{ POLICY_GLOB_PATH, "docs/*", "Docs/a", 0 },
	{ POLICY_GLOB_PATH, "docs/*", "docsx/a", 0 },
	{ POLICY_GLOB_PATH, "wiki/**", "wiki", 1 },
	{ POLICY_GLOB_PATH, "wiki/**", "wiki/", 1 },
	{ POLICY_GLOB_PATH, "wiki/**", "wiki/a", 1 },
	{ POLICY_GLOB_PATH, "wiki/**", "wiki/a/b/c", 1 },
	{ POLICY_GLOB_PATH, "wiki/**", "wikix", 0 },
	{ POLICY_GLOB_PATH, "wiki/**", "wiki2/a", 0 },
	{ POLICY_GLOB_PATH, "wiki/**", "wik", 0 },
	{ POLICY_GLOB_PATH, "**", "a", 1 },
	{ POLICY_GLOB_PATH, "**", "a/b/c", 1 },
	{ POLICY_GLOB_PATH, "**/b", "b", 1 },
	{ POLICY_GLOB_PATH, "**/b", "a/b", 1 },
	{ POLICY_GLOB_PATH, "**/b", "a/c/b", 1 },
	{ POLICY_GLOB_PATH, "**/b", "ab", 0 },
	{ POLICY_GLOB_PATH, "**/b", "a/bc", 0 },
	{ POLICY_GLOB_PATH, "a/**/b", "a/b", 1 },
	{ POLICY_GLOB_PATH, "a/**/b", "a/x/b", 1 },
	{ POLICY_GLOB_PATH, "a/**/b", "a/x/y/b", 1 },
	{ POLICY_GLOB_PATH, "a/**/b", "a/xb", 0 },
	{ POLICY_GLOB_PATH, "a/**/b", "ab", 0 },
	{ POLICY_GLOB_PATH, "a/**/b", "a/b/c", 0 },
	{ POLICY_GLOB_PATH, "a/**/**/b", "a/b", 1 },
	{ POLICY_GLOB_PATH, "a/**/**/b", "a/x/y/b", 1 },
	{ POLICY_GLOB_PATH, "**/**", "x", 1 },
	{ POLICY_GLOB_PATH, "a/**/*.txt", "a/b/c.txt", 1 },
	{ POLICY_GLOB_PATH, "a/**/*.txt", "a/c.txt", 1 },
	{ POLICY_GLOB_PATH, "a/**/*.txt", "a/b/c.txt/d", 0 },
	{ POLICY_GLOB_PATH, "a?c", "abc", 1 },
	{ POLICY_GLOB_PATH, "a?c", "ac", 0 },
	{ POLICY_GLOB_PATH, "a?c", "a/c", 0 },
	{ POLICY_GLOB_PATH, "a?c", "abbc", 0 },
	{ POLICY_GLOB_PATH, "a?c", "a\xc3\xa9" "c", 1 },          /* one character, two bytes */
	{ POLICY_GLOB_PATH, "?", "\xe2\x82\xac", 1 },              /* three bytes */
	{ POLICY_GLOB_PATH, "??", "\xc3\xa9", 0 },
	{ POLICY_GLOB_PATH, "?*?", "\xc3\xa9", 0 },
	{ POLICY_GLOB_PATH, "?*?", "\xc3\xa9" "x", 1 },
	{ POLICY_GLOB_PATH, "*.txt", "a.txt", 1 },
	{ POLICY_GLOB_PATH, "*.txt", "d/a.txt", 0 },
	{ POLICY_GLOB_PATH, "a\\*b", "a*b", 1 },
	{ POLICY_GLOB_PATH, "a\\*b", "axb", 0 },
	{ POLICY_GLOB_PATH, "a\\?", "a?", 1 },
	{ POLICY_GLOB_PATH, "a\\?", "ab", 0 },
	{ POLICY_GLOB_PATH, "\\[x\\]", "[x]", 1 },
	{ POLICY_GLOB_PATH, "*/*/c", "a/b/c", 1 },
	{ POLICY_GLOB_PATH, "*/*/c", "a/c", 0 },
	{ POLICY_GLOB_PATH, "/abs/*", "/abs/x", 1 },
	{ POLICY_GLOB_PATH, "\xc3\xa9/*", "\xc3\xa9/x", 1 },
	{ POLICY_GLOB_PATH, "a*b*c", "abxbyc", 1 },
	{ POLICY_GLOB_PATH, "a*b*c", "acb", 0 },
	{ POLICY_GLOB_PATH, "exact/path", "exact/path", 1 },
	{ POLICY_GLOB_PATH, "exact/path", "exact/pat", 0 },
	{ POLICY_GLOB_PATH, "exact/path", "exact/paths", 0 },
	{ POLICY_GLOB_NAME, "*", "read", 1 },
	{ POLICY_GLOB_NAME, "*", "s3:get", 1 },
	{ POLICY_GLOB_NAME, "*", "a/b", 1 },
	{ POLICY_GLOB_NAME, "s3:*", "s3:get", 1 },
	{ POLICY_GLOB_NAME, "s3:*", "s3:get:acl", 1 },
	{ POLICY_GLOB_NAME, "s3:*", "s3", 0 },
	{ POLICY_GLOB_NAME, "s3:*", "S3:get", 0 },
	{ POLICY_GLOB_NAME, "**", "x:y/z", 1 },
	{ POLICY_GLOB_NAME, "a**", "abc", 1 },
	{ POLICY_GLOB_NAME, "re?d", "read", 1 },
	{ POLICY_GLOB_NAME, "re?d", "red", 0 },
	{ POLICY_GLOB_NAME, "read", "read", 1 },
	{ POLICY_GLOB_NAME, "read", "reads", 0 },
	{ POLICY_GLOB_NAME, "read", "rea", 0 },
	{ POLICY_GLOB_NAME, "read", "READ", 0 },
	{ POLICY_GLOB_NAME, "*:read", "docs:read", 1 },
	{ POLICY_GLOB_NAME, "*:read", "docs:write", 0 },
	{ POLICY_GLOB_NAME, "cn:*", "cn:build-bot", 1 },
	{ POLICY_GLOB_NAME, "cn:*", "alice", 0 },
};

TEST(glob_matches)
{
	for (size_t i = 0; i < ARRAY_SIZE(gcases); i++) {
		const struct gcase *c = &gcases[i];
		struct policy_glob *g = policy_glob_compile(c->pat, strlen(c->pat), c->kind, err,
		                                            sizeof(err));
		if (!unit_check(g != NULL, "pattern compiles", __FILE__, __LINE__)) {
			printf("#   '%s': %s\n", c->pat, err);
			continue;
		}
		int got = policy_glob_match(g, c->text, strlen(c->text));
		if (!unit_check(got == c->want, "glob result", __FILE__, __LINE__))
			printf("#   %s '%s' vs '%s': got %d\n", c->kind ? "path" : "name", c->pat,
			       c->text, got);
		policy_glob_free(g);
	}
}

struct gerr {
	int kind;
	const char *pat;
	const char *msg;
};

static const struct gerr gerrs[] = {
	{ POLICY_GLOB_PATH, "", "empty pattern" },
	{ POLICY_GLOB_PATH, "a***", "'***': at most two '*' in a row" },
	{ POLICY_GLOB_NAME, "***", "'***': at most two '*' in a row" },
	{ POLICY_GLOB_PATH, "a**", "'**' must be a whole path segment (as in a/**/b); use '*' within a segment" },
	{ POLICY_GLOB_PATH, "**a", "'**' must be a whole path segment (as in a/**/b); use '*' within a segment" },
	{ POLICY_GLOB_PATH, "a/**b/c", "'**' must be a whole path segment (as in a/**/b); use '*' within a segment" },
	{ POLICY_GLOB_PATH, "a/b**", "'**' must be a whole path segment (as in a/**/b); use '*' within a segment" },
	{ POLICY_GLOB_PATH, "[ab]", "'[': character classes and braces are not supported (write '\\[' to match it literally)" },
	{ POLICY_GLOB_NAME, "x]", "']': character classes and braces are not supported (write '\\]' to match it literally)" },
	{ POLICY_GLOB_PATH, "{a,b}", "'{': character classes and braces are not supported (write '\\{' to match it literally)" },
	{ POLICY_GLOB_PATH, "a\\", "pattern ends with a lone '\\'" },
	{ POLICY_GLOB_PATH, "a\\x", "'\\x' is not an escape (only \\* \\? \\\\ \\[ \\] \\{ \\} are)" },
	{ POLICY_GLOB_PATH, "a\\/b", "'\\/' is not an escape (only \\* \\? \\\\ \\[ \\] \\{ \\} are)" },
	{ POLICY_GLOB_PATH, "a\tb", "control character in pattern" },
	{ POLICY_GLOB_PATH, "a\x7f", "control character in pattern" },
	{ POLICY_GLOB_PATH, "\xff", "pattern is not valid UTF-8" },
};

TEST(glob_rejects)
{
	for (size_t i = 0; i < ARRAY_SIZE(gerrs); i++) {
		err[0] = 0;
		struct policy_glob *g = policy_glob_compile(gerrs[i].pat, strlen(gerrs[i].pat),
		                                            gerrs[i].kind, err, sizeof(err));
		CHECK(g == NULL);
		policy_glob_free(g);
		CHECK_STR(err, gerrs[i].msg);
	}
	char big[POLICY_PATTERN_MAX + 2];
	memset(big, 'a', sizeof(big));
	CHECK(policy_glob_compile(big, POLICY_PATTERN_MAX + 1, POLICY_GLOB_PATH, err, sizeof(err)) == NULL);
	CHECK_STR(err, "pattern longer than 1024 bytes");
	struct policy_glob *g = policy_glob_compile(big, POLICY_PATTERN_MAX, POLICY_GLOB_PATH, err,
	                                            sizeof(err));
	CHECK(g != NULL);
	CHECK(policy_glob_match(g, big, POLICY_PATTERN_MAX));
	CHECK(!policy_glob_match(g, big, POLICY_PATTERN_MAX - 1));
	policy_glob_free(g);
}

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Patterns that make a backtracking matcher exponential must stay linear:
 * each of these against 4096 bytes of 'a' with no match. */
TEST(glob_pathological)
{
	static char text[POLICY_FIELD_MAX + 1];
	struct strbuf pat = STRBUF_INIT;
	memset(text, 'a', POLICY_FIELD_MAX);
	struct {
		int kind;
		const char *unit, *tail;
		int reps;
	} cases[] = {
		{ POLICY_GLOB_NAME, "*a", "*b", 30 },
		{ POLICY_GLOB_NAME, "a*", "b", 200 },
		{ POLICY_GLOB_PATH, "*a", "*b", 30 },
		{ POLICY_GLOB_PATH, "**/a/", "**/b", 30 },
		{ POLICY_GLOB_PATH, "?*", "b", 100 },
	};
	double t0 = secs();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		sb_reset(&pat);
		for (int r = 0; r < cases[i].reps; r++)
			sb_puts(&pat, cases[i].unit);
		sb_puts(&pat, cases[i].tail);
		struct policy_glob *g = policy_glob_compile(pat.buf, pat.len, cases[i].kind, err,
		                                            sizeof(err));
		if (!unit_check(g != NULL, "compiles", __FILE__, __LINE__)) {
			printf("#   %s\n", err);
			continue;
		}
		CHECK(!policy_glob_match(g, text, POLICY_FIELD_MAX));
		text[POLICY_FIELD_MAX - 1] = 'b';
		CHECK(policy_glob_match(g, text, POLICY_FIELD_MAX) == (i != 3));
		text[POLICY_FIELD_MAX - 1] = 'a';
		policy_glob_free(g);
	}
	double dt = secs() - t0;
	if (!CHECK(dt < 2.0))
		printf("#   took %.2f s\n", dt);
	sb_free(&pat);
}

/* ---------------------------------------------------------------- loading */

struct lcase {
	const char *yaml;
	const char *msg;
};

static const struct lcase lcases[] = {
	/* shape */
	{ "", "t.yaml:1:1: empty policy: expected a mapping with 'version: 1'" },
	{ "# nothing\n", "t.yaml:1:1: empty policy: expected a mapping with 'version: 1'" },
	{ "- a\n", "t.yaml:1:1: the policy must be a mapping, not a list" },
	{ "roles: {}\n", "t.yaml:1:1: the policy is missing 'version: 1'" },
	{ "version: 2\n", "t.yaml:1:10: unsupported version '2' (this apcore reads version 1)" },
	{ "version: [1]\n", "t.yaml:1:10: 'version' must be a string, not a list" },
	{ "version: !!int 1\n", "t.yaml:1:10: unsupported tag 'tag:yaml.org,2002:int'" },
	{ "version: 1\nfoo: 1\n",
	  "t.yaml:2:1: unknown key 'foo' in the policy (expected version, roles, subjects, grants, deny)" },
	{ "version: 1\nVersion: 1\n",
	  "t.yaml:2:1: unknown key 'Version' in the policy (expected version, roles, subjects, grants, deny)" },
	{ "version: 1\nroles: [a]\n", "t.yaml:2:8: 'roles' must be a mapping, not a list" },
	{ "version: 1\nroles:\n  a:\n", "t.yaml:3:5: a role must be a mapping, not null" },
	{ "version: 1\nroles:\n  a: {allows: []}\n",
	  "t.yaml:3:7: unknown key 'allows' in a role (expected inherits, allow, deny)" },
	{ "version: 1\nroles:\n  a:\n    allow:\n      - action: [x]\n",
	  "t.yaml:5:9: unknown key 'action' in a rule (expected actions, resources, when)" },
	{ "version: 1\nroles:\n  a:\n    allow:\n      - actions: [x]\n        resources: [y]\n        subjects: [z]\n",
	  "t.yaml:7:9: unknown key 'subjects' in a rule (expected actions, resources, when)" },
	{ "version: 1\nroles:\n  a:\n    allow:\n      - resources: [y]\n",
	  "t.yaml:5:9: a rule is missing 'actions'" },
	{ "version: 1\nroles:\n  a:\n    allow:\n      - actions: [x]\n",
	  "t.yaml:5:9: a rule is missing 'resources'" },
	{ "version: 1\nroles:\n  a:\n    allow:\n      - {actions: read, resources: [y]}\n",
	  "t.yaml:5:19: 'actions' must be a list, not a string" },
	{ "version: 1\nroles:\n  a:\n    allow:\n      - {actions: [], resources: [y]}\n",
	  "t.yaml:5:19: 'actions' must not be empty" },
	{ "version: 1\nroles:\n  a:\n    allow:\n      - {actions: [[x]], resources: [y]}\n",
	  "t.yaml:5:20: a pattern must be a string, not a list" },
	{ "version: 1\nroles:\n  a:\n    allow:\n      - {actions: [~], resources: [y]}\n",
	  "t.yaml:5:20: a pattern must be a string, not null" },
	{ "version: 1\nroles:\n  a:\n    allow: {actions: [x]}\n",
	  "t.yaml:4:12: a role's 'allow' must be a list, not a mapping" },
	{ "version: 1\nroles:\n  a:\n    deny: [x]\n", "t.yaml:4:12: a rule must be a mapping, not a string" },
	{ "version: 1\nroles:\n  a:\n    inherits: b\n  b: {}\n",
	  "t.yaml:4:15: 'inherits' must be a list, not a string" },
	{ "version: 1\nroles:\n  a: {allow: [{actions: [x], resources: [y], when: [env]}]}\n",
	  "t.yaml:3:52: 'when' must be a mapping, not a list" },
	{ "version: 1\nroles:\n  a: {allow: [{actions: [x], resources: [y], when: {env: {no: x}}}]}\n",
	  "t.yaml:3:59: unknown key 'no' in a condition (expected not)" },
	{ "version: 1\nroles:\n  a: {allow: [{actions: [x], resources: [y], when: {env: {}}}]}\n",
	  "t.yaml:3:58: a condition mapping needs 'not'" },
	{ "version: 1\nroles:\n  a: {allow: [{actions: [x], resources: [y], when: {env: []}}]}\n",
	  "t.yaml:3:58: a list of values must not be empty" },
	{ "version: 1\nroles:\n  a: {allow: [{actions: [x], resources: [y], when: {env: ~}}]}\n",
	  "t.yaml:3:58: the value of an attribute must be a string, not null" },
	{ "version: 1\nroles:\n  a: {allow: [{actions: [x], resources: [y], when: {env: [a, [b]]}}]}\n",
	  "t.yaml:3:62: a value must be a string, not a list" },
	{ "version: 1\nsubjects:\n  alice: editor\n", "t.yaml:3:10: a subject's roles must be a list, not a string" },
	{ "version: 1\nsubjects: [alice]\n", "t.yaml:2:11: 'subjects' must be a mapping, not a list" },
	{ "version: 1\nsubjects:\n  \"\": []\n", "t.yaml:3:3: a subject must not be empty" },
	{ "version: 1\nsubjects:\n  \"a\\tb\": []\n", "t.yaml:3:3: a subject contains a control character" },
	{ "version: 1\ngrants: {}\n", "t.yaml:2:9: 'grants' must be a list, not a mapping" },
	{ "version: 1\ngrants:\n  - roles: [a]\n", "t.yaml:3:5: a grant is missing 'subject'" },
	{ "version: 1\ngrants:\n  - subject: a\n", "t.yaml:3:5: a grant is missing 'roles'" },
	{ "version: 1\ngrants:\n  - {subject: a, roles: [a], until: x}\n",
	  "t.yaml:3:30: unknown key 'until' in a grant (expected subject, roles, not_before, not_after)" },
	{ "version: 1\ndeny:\n  - {actions: [x], resources: [y]}\n",
	  "t.yaml:3:5: a global deny rule is missing 'subjects'" },
	{ "version: 1\ndeny:\n  - {subjects: x, actions: [x], resources: [y]}\n",
	  "t.yaml:3:16: 'subjects' must be a list, not a string" },
	/* duplicates */
	{ "version: 1\nversion: 1\n", "t.yaml:2:1: duplicate key 'version' (first at line 1, column 1)" },
	{ "version: 1\nroles:\n  a: {}\n  b: {}\n  a: {}\n",
	  "t.yaml:5:3: duplicate key 'a' (first at line 3, column 3)" },
	{ "version: 1\nroles:\n  a: {allow: [{actions: [x], resources: [y], actions: [z]}]}\n",
	  "t.yaml:3:46: duplicate key 'actions' (first at line 3, column 16)" },
	{ "version: 1\nroles:\n  a: {allow: [{actions: [x], resources: [y], when: {e: a, e: b}}]}\n",
	  "t.yaml:3:59: duplicate key 'e' (first at line 3, column 53)" },
	{ "version: 1\nsubjects:\n  bob: []\n  \"bob\": []\n",
	  "t.yaml:4:3: duplicate key 'bob' (first at line 3, column 3)" },
	{ "version: 1\nroles:\n  a: {}\n  b: {inherits: [a, a]}\n",
	  "t.yaml:4:21: role 'a' is listed twice (first at line 4, column 18)" },
	{ "version: 1\nroles:\n  a: {}\nsubjects:\n  bob: [a, a]\n",
	  "t.yaml:5:12: role 'a' is listed twice (first at line 5, column 9)" },
	/* references */
	{ "version: 1\nsubjects:\n  bob: [ghost]\n", "t.yaml:3:9: role 'ghost' is not defined under 'roles'" },
	{ "version: 1\nroles:\n  a: {inherits: [b]}\n", "t.yaml:3:18: role 'b' is not defined under 'roles'" },
	{ "version: 1\nroles:\n  a: {}\ngrants:\n  - {subject: x, roles: [a, Ab]}\n",
	  "t.yaml:5:29: role 'Ab' is not defined under 'roles'" },
	/* the first undefined role in file order, whichever section it is in */
	{ "version: 1\nsubjects:\n  bob: [x1]\nroles:\n  a: {inherits: [x2]}\n",
	  "t.yaml:3:9: role 'x1' is not defined under 'roles'" },
	/* cycles */
	{ "version: 1\nroles:\n  a: {inherits: [a]}\n", "t.yaml:3:18: inheritance cycle: a -> a" },
	{ "version: 1\nroles:\n  a: {inherits: [b]}\n  b: {inherits: [a]}\n",
	  "t.yaml:4:18: inheritance cycle: a -> b -> a" },
	{ "version: 1\nroles:\n  a:\n    inherits: [b]\n  b:\n    inherits: [c]\n  c:\n    inherits: [a]\n",
	  "t.yaml:8:16: inheritance cycle: a -> b -> c -> a" },
	{ "version: 1\nroles:\n  x: {}\n  a: {inherits: [x, b]}\n  b: {inherits: [c]}\n  c: {inherits: [x, b]}\n",
	  "t.yaml:6:21: inheritance cycle: b -> c -> b" },
	{ "version: 1\nroles:\n  r0: {inherits: [r1]}\n  r1: {inherits: [r2]}\n  r2: {inherits: [r3]}\n"
	  "  r3: {inherits: [r4]}\n  r4: {inherits: [r5]}\n  r5: {inherits: [r6]}\n  r6: {inherits: [r7]}\n"
	  "  r7: {inherits: [r8]}\n  r8: {inherits: [r9]}\n  r9: {inherits: [r0]}\n",
	  "t.yaml:12:19: inheritance cycle: r0 -> r1 -> r2 -> ... -> r7 -> r8 -> r9 -> r0" },
	/* globs */
	{ "version: 1\nroles:\n  a: {allow: [{actions: [x], resources: [\"a**\"]}]}\n",
	  "t.yaml:3:42: bad pattern 'a**': '**' must be a whole path segment (as in a/**/b); use '*' within a segment" },
	{ "version: 1\nroles:\n  a: {allow: [{actions: [\"[rw]\"], resources: [y]}]}\n",
	  "t.yaml:3:26: bad pattern '[rw]': '[': character classes and braces are not supported (write '\\[' to match it literally)" },
	{ "version: 1\ndeny:\n  - {subjects: [\"\"], actions: [x], resources: [y]}\n",
	  "t.yaml:3:17: bad pattern '': empty pattern" },
	{ "version: 1\ndeny:\n  - {subjects: [\"a\\0b\"], actions: [x], resources: [y]}\n",
	  "t.yaml:3:17: a pattern contains a NUL character" },
	/* times */
	{ "version: 1\nroles: {a: {}}\ngrants:\n  - {subject: x, roles: [a], not_before: 2026-01-01}\n",
	  "t.yaml:4:42: bad time '2026-01-01' for 'not_before': expected an RFC 3339 date-time such as 2026-01-01T00:00:00Z" },
	{ "version: 1\nroles: {a: {}}\ngrants:\n  - {subject: x, roles: [a], not_after: 2026-13-01T00:00:00Z}\n",
	  "t.yaml:4:41: bad time '2026-13-01T00:00:00Z' for 'not_after': expected an RFC 3339 date-time such as 2026-01-01T00:00:00Z" },
	{ "version: 1\nroles: {a: {}}\ngrants:\n  - {subject: x, roles: [a], not_after: 2026-01-01T00:00:00}\n",
	  "t.yaml:4:41: bad time '2026-01-01T00:00:00' for 'not_after': expected an RFC 3339 date-time such as 2026-01-01T00:00:00Z" },
	{ "version: 1\nroles: {a: {}}\ngrants:\n  - subject: x\n    roles: [a]\n    not_before: 2026-02-01T00:00:00Z\n    not_after: 2026-02-01T00:00:00Z\n",
	  "t.yaml:7:16: 'not_after' must be later than 'not_before'" },
	{ "version: 1\nroles: {a: {}}\ngrants:\n  - subject: x\n    roles: [a]\n    not_after: 2026-01-01T00:00:00Z\n    not_before: 2026-02-01T00:00:00+01:00\n",
	  "t.yaml:6:16: 'not_after' must be later than 'not_before'" },
	/* YAML itself */
	{ "version: 1\nroles:\n  a: &x {}\n  b: *x\n",
	  "t.yaml:4:6: aliases are not supported in a policy (write each rule out, so that it has one place in the file)" },
	{ "version: 1\nroles:\n  <<: {a: {}}\n", "t.yaml:3:3: merge keys ('<<') are not supported" },
	{ "version: 1\n---\nversion: 1\n", "t.yaml:2:1: more than one document" },
	{ "version: [1\n",
	  "t.yaml:2:1: did not find expected ',' or ']' while parsing a flow sequence (line 1, column 10)" },
	{ "version: 1\n\xff\n", "t.yaml:2:1: invalid leading UTF-8 octet" },
	{ "version: 1\nroles: {a: {allow: [{actions: [[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]}]}}\n",
	  "t.yaml:2:42: nested deeper than 16 levels" },
	{ "version: 1\n? [a]\n: b\n", "t.yaml:2:3: keys must be strings, not a list" },
};

TEST(load_errors)
{
	for (size_t i = 0; i < ARRAY_SIZE(lcases); i++) {
		err[0] = 0;
		int rc = load(lcases[i].yaml);
		if (!unit_check(rc == -1 && P == NULL, "load fails", __FILE__, __LINE__))
			printf("#   case %zu\n", i);
		if (!unit_check(!strcmp(err, lcases[i].msg), "message", __FILE__, __LINE__))
			printf("#   case %zu\n#   got  \"%s\"\n#   want \"%s\"\n", i, err, lcases[i].msg);
	}
}

TEST(load_limits)
{
	/* larger than the cap: refused before parsing */
	size_t big = POLICY_FILE_CAP + 1;
	char *text = xmalloc(big);
	memset(text, '#', big);
	CHECK(policy_load_mem(&P, "t.yaml", text, big, err, sizeof(err)) == -1);
	CHECK(P == NULL);
	CHECK_STR(err, "t.yaml: larger than 4194304 bytes");
	free(text);
	CHECK(policy_load(&P, "/nonexistent/p.yaml", err, sizeof(err)) == -1);
	CHECK_STR(err, "/nonexistent/p.yaml: No such file or directory");
	/* NUL in the middle of the text */
	CHECK(policy_load_mem(&P, "t.yaml", "version: 1\n\0x", 13, err, sizeof(err)) == -1);
	CHECK_STR(err, "t.yaml:2:1: control characters are not allowed");
}

TEST(load_fixture)
{
	CHECK(policy_load(&P, unit_path("tests/files/policy/example.yaml"), err, sizeof(err)) == 0);
	if (!P) {
		printf("# %s\n", err);
		return;
	}
	struct policy_stats st;
	policy_stats(P, &st);
	CHECK_INT(st.roles, 3);
	CHECK_INT(st.subjects, 2);
	CHECK_INT(st.grants, 1);
	CHECK_INT(st.rules, 5);
	policy_free(P);
	P = NULL;
}

/* ------------------------------------------------------------- evaluation */

static const char base_policy[] =
	"version: 1\n"                                              /*  1 */
	"roles:\n"                                                  /*  2 */
	"  base:\n"                                                 /*  3 */
	"    allow:\n"                                              /*  4 */
	"      - actions: [read]\n"                                 /*  5 */
	"        resources: [\"pub/**\"]\n"                         /*  6 */
	"  left:\n"                                                 /*  7 */
	"    inherits: [base]\n"                                    /*  8 */
	"    allow:\n"                                              /*  9 */
	"      - actions: [write]\n"                                /* 10 */
	"        resources: [\"left/*\"]\n"                         /* 11 */
	"  right:\n"                                                /* 12 */
	"    inherits: [base]\n"                                    /* 13 */
	"    deny:\n"                                               /* 14 */
	"      - actions: [read]\n"                                 /* 15 */
	"        resources: [\"pub/secret/**\"]\n"                  /* 16 */
	"  top:\n"                                                  /* 17 */
	"    inherits: [left, right]\n"                             /* 18 */
	"  tagged:\n"                                               /* 19 */
	"    allow:\n"                                              /* 20 */
	"      - actions: [deploy]\n"                               /* 21 */
	"        resources: [\"svc/*\"]\n"                          /* 22 */
	"        when: {env: prod, team: [core, infra]}\n"          /* 23 */
	"      - actions: [restart]\n"                              /* 24 */
	"        resources: [\"svc/*\"]\n"                          /* 25 */
	"        when: {env: {not: prod}}\n"                        /* 26 */
	"      - actions: [drain]\n"                                /* 27 */
	"        resources: [\"svc/*\"]\n"                          /* 28 */
	"        when: {zone: {not: [a, b]}, empty: \"\"}\n"        /* 29 */
	"  l1: {inherits: [l2]}\n"                                  /* 30 */
	"  l2: {inherits: [l3]}\n"                                  /* 31 */
	"  l3: {allow: [{actions: [x], resources: [deep]}]}\n"      /* 32 */
	"subjects:\n"                                               /* 33 */
	"  dia: [top]\n"                                            /* 34 */
	"  ops: [tagged]\n"                                         /* 35 */
	"  chain: [l1]\n"                                           /* 36 */
	"  nobody: []\n"                                            /* 37 */
	"  both: [left, right]\n"                                   /* 38 */
	"  \"cn:bot\": [left]\n"                                    /* 39 */
	"grants:\n"                                                 /* 40 */
	"  - subject: tmp\n"                                        /* 41 */
	"    roles: [left]\n"                                       /* 42 */
	"    not_before: 2026-01-01T00:00:00Z\n"                    /* 43 */
	"    not_after: 2026-02-01T00:00:00Z\n"                     /* 44 */
	"  - subject: tmp\n"                                        /* 45 */
	"    roles: [right]\n"                                      /* 46 */
	"    not_after: 2026-01-10T00:00:00Z\n"                     /* 47 */
	"  - subject: late\n"                                       /* 48 */
	"    roles: [base]\n"                                       /* 49 */
	"    not_before: 2026-03-01T00:00:00+02:00\n"               /* 50 */
	"deny:\n"                                                   /* 51 */
	"  - subjects: [\"*\"]\n"                                   /* 52 */
	"    actions: [\"*\"]\n"                                    /* 53 */
	"    resources: [\"frozen/**\"]\n"                          /* 54 */
	"  - subjects: [\"cn:*\"]\n"                                /* 55 */
	"    actions: [write]\n"                                    /* 56 */
	"    resources: [\"**\"]\n";                                /* 57 */

static int load_base(void)
{
	if (load(base_policy)) {
		printf("# %s\n", err);
		return -1;
	}
	return 0;
}

TEST(inheritance_multilevel)
{
	if (load_base())
		return CHECK(0), (void)0;
	CHECK_INT(decide("chain", "x", "deep", NULL), POLICY_ALLOW);
	CHECK_STR(matches(0), "32:l3:l1>l2>l3");
	CHECK_STR(held(), "l1/subject@36");
	CHECK_INT(decide("chain", "x", "deeper", NULL), POLICY_DENY);
	CHECK_INT(R.reason, POLICY_REASON_DEFAULT_DENY);
}

TEST(inheritance_diamond)
{
	if (load_base())
		return CHECK(0), (void)0;
	/* top -> left -> base and top -> right -> base: base once, via left */
	CHECK_INT(decide("dia", "read", "pub/x", NULL), POLICY_ALLOW);
	CHECK_STR(matches(0), "5:base:top>left>base");
	CHECK_STR(matches(1), "");
	CHECK_INT(decide("dia", "write", "left/x", NULL), POLICY_ALLOW);
	CHECK_STR(matches(0), "10:left:top>left");
}

TEST(deny_wins)
{
	if (load_base())
		return CHECK(0), (void)0;
	/* a deny inherited through right beats the allow inherited through left */
	CHECK_INT(decide("dia", "read", "pub/secret/k", NULL), POLICY_DENY);
	CHECK_INT(R.reason, POLICY_REASON_EXPLICIT_DENY);
	CHECK_STR(matches(0), "5:base:top>left>base");
	CHECK_STR(matches(1), "15:right:top>right");
	CHECK_INT(decide("both", "read", "pub/secret/k", NULL), POLICY_DENY);
	CHECK_STR(matches(1), "15:right:right");
	CHECK_INT(decide("both", "read", "pub/open", NULL), POLICY_ALLOW);
	/* global deny: everyone, every action */
	CHECK_INT(decide("dia", "read", "frozen/a/b", NULL), POLICY_DENY);
	CHECK_STR(matches(1), "52:(global):");
	CHECK_INT(R.deny[0].nchain, 0);
	CHECK(R.deny[0].role == NULL);
	/* global deny by subject glob, over the subject's own allow */
	CHECK_INT(decide("cn:bot", "write", "left/x", NULL), POLICY_DENY);
	CHECK_STR(matches(0), "10:left:left");
	CHECK_STR(matches(1), "55:(global):");
	CHECK_INT(decide("both", "write", "left/x", NULL), POLICY_ALLOW);
	/* two denies and an allow: all reported, in file order */
	CHECK_INT(decide("cn:bot", "write", "frozen/x", NULL), POLICY_DENY);
	CHECK_STR(matches(1), "52:(global): 55:(global):");
	/* a global deny applies to unknown subjects too */
	CHECK_INT(decide("stranger", "read", "frozen/x", NULL), POLICY_DENY);
	CHECK_INT(R.reason, POLICY_REASON_EXPLICIT_DENY);
}

TEST(default_deny_and_unknown_subject)
{
	if (load_base())
		return CHECK(0), (void)0;
	CHECK_INT(decide("dia", "delete", "pub/x", NULL), POLICY_DENY);
	CHECK_INT(R.reason, POLICY_REASON_DEFAULT_DENY);
	CHECK_INT(R.nallow + R.ndeny, 0);
	CHECK_INT(decide("zed", "read", "pub/x", NULL), POLICY_DENY);
	CHECK_INT(R.reason, POLICY_REASON_DEFAULT_DENY);
	CHECK_INT(R.nheld, 0);
	CHECK_INT(decide("nobody", "read", "pub/x", NULL), POLICY_DENY);
	CHECK_INT(R.nheld, 0);
	/* subjects are exact and case-sensitive */
	CHECK_INT(decide("Dia", "read", "pub/x", NULL), POLICY_DENY);
	CHECK_INT(decide("dia ", "read", "pub/x", NULL), POLICY_DENY);
	CHECK_INT(decide("dia", "Read", "pub/x", NULL), POLICY_DENY);
	CHECK_INT(decide("dia", "read", "Pub/x", NULL), POLICY_DENY);
}

TEST(attribute_conditions)
{
	if (load_base())
		return CHECK(0), (void)0;
	/* all listed attributes must match; a list is any of */
	CHECK_INT(decide("ops", "deploy", "svc/a", "env=prod,team=core"), POLICY_ALLOW);
	CHECK_STR(matches(0), "21:tagged:tagged");
	CHECK_INT(decide("ops", "deploy", "svc/a", "team=infra,env=prod"), POLICY_ALLOW);
	CHECK_INT(decide("ops", "deploy", "svc/a", "env=prod,team=web"), POLICY_DENY);
	CHECK_INT(decide("ops", "deploy", "svc/a", "env=dev,team=core"), POLICY_DENY);
	CHECK_INT(decide("ops", "deploy", "svc/a", "env=prod"), POLICY_DENY);
	CHECK_INT(decide("ops", "deploy", "svc/a", NULL), POLICY_DENY);
	CHECK_INT(decide("ops", "deploy", "svc/a", "env=Prod,team=core"), POLICY_DENY);
	CHECK_INT(decide("ops", "deploy", "svc/a", "env=prod ,team=core"), POLICY_DENY);
	CHECK_INT(decide("ops", "deploy", "svc/a", "env=prod,team=core,extra=1"), POLICY_ALLOW);
	/* {not: v}: true unless the attribute equals v (absent included) */
	CHECK_INT(decide("ops", "restart", "svc/a", "env=dev"), POLICY_ALLOW);
	CHECK_INT(decide("ops", "restart", "svc/a", "env=prod"), POLICY_DENY);
	CHECK_INT(decide("ops", "restart", "svc/a", NULL), POLICY_ALLOW);
	/* {not: [a, b]} and an empty-string value */
	CHECK_INT(decide("ops", "drain", "svc/a", "zone=c,empty="), POLICY_ALLOW);
	CHECK_INT(decide("ops", "drain", "svc/a", "zone=a,empty="), POLICY_DENY);
	CHECK_INT(decide("ops", "drain", "svc/a", "zone=b,empty="), POLICY_DENY);
	CHECK_INT(decide("ops", "drain", "svc/a", "empty="), POLICY_ALLOW);
	CHECK_INT(decide("ops", "drain", "svc/a", "zone=c"), POLICY_DENY);
	CHECK_INT(decide("ops", "drain", "svc/a", "zone=c,empty=x"), POLICY_DENY);
}

TEST(grants_time_bounds)
{
	if (load_base())
		return CHECK(0), (void)0;
	/* [not_before, not_after) */
	CHECK_INT(decide_at("tmp", "write", "left/x", NULL, "2025-12-31T23:59:59.999Z"), POLICY_DENY);
	CHECK_STR(held(), "right/grant@45");
	CHECK_INT(decide_at("tmp", "write", "left/x", NULL, "2026-01-01T00:00:00Z"), POLICY_ALLOW);
	CHECK_STR(matches(0), "10:left:left");
	CHECK_INT(decide_at("tmp", "write", "left/x", NULL, "2026-01-31T23:59:59.999Z"), POLICY_ALLOW);
	CHECK_INT(decide_at("tmp", "write", "left/x", NULL, "2026-02-01T00:00:00Z"), POLICY_DENY);
	CHECK_INT(decide_at("tmp", "write", "left/x", NULL, "2026-02-01T00:00:00.001Z"), POLICY_DENY);
	/* the same instant written with an offset */
	CHECK_INT(decide_at("tmp", "write", "left/x", NULL, "2026-02-01T00:59:59.999+01:00"), POLICY_ALLOW);
	CHECK_INT(decide_at("tmp", "write", "left/x", NULL, "2026-02-01T01:00:00+01:00"), POLICY_DENY);
	/* two grants: right (with its deny) until 01-10, open-ended start */
	CHECK_INT(decide_at("tmp", "read", "pub/secret/x", NULL, "2026-01-05T00:00:00Z"), POLICY_DENY);
	CHECK_STR(held(), "left/grant@41 right/grant@45");
	CHECK_STR(matches(1), "15:right:right");
	CHECK_INT(decide_at("tmp", "read", "pub/secret/x", NULL, "2026-01-09T23:59:59.999Z"), POLICY_DENY);
	CHECK_INT(decide_at("tmp", "read", "pub/secret/x", NULL, "2026-01-10T00:00:00Z"), POLICY_ALLOW);
	CHECK_STR(held(), "left/grant@41");
	CHECK_INT(decide_at("tmp", "read", "pub/secret/x", NULL, "1970-01-01T00:00:00Z"), POLICY_DENY);
	CHECK_INT(R.reason, POLICY_REASON_EXPLICIT_DENY);
	CHECK_INT(decide_at("tmp", "read", "pub/x", NULL, "2026-03-01T00:00:00Z"), POLICY_DENY);
	CHECK_INT(R.reason, POLICY_REASON_DEFAULT_DENY);
	CHECK_INT(R.nheld, 0);
	/* open-ended end; not_before given with +02:00 */
	CHECK_INT(decide_at("late", "read", "pub/x", NULL, "2026-02-28T21:59:59.999Z"), POLICY_DENY);
	CHECK_INT(decide_at("late", "read", "pub/x", NULL, "2026-02-28T22:00:00Z"), POLICY_ALLOW);
	CHECK_INT(decide_at("late", "read", "pub/x", NULL, "9999-12-31T23:59:59Z"), POLICY_ALLOW);
}

TEST(invalid_requests)
{
	if (load_base())
		return CHECK(0), (void)0;
	struct policy_attr dup[2] = { { "a", "1" }, { "a", "2" } };
	struct { struct policy_request rq; const char *why; } cases[] = {
		{ { "", "read", "pub/x", NULL, 0, 0 }, "the subject is empty" },
		{ { "dia", NULL, "pub/x", NULL, 0, 0 }, "the action is missing" },
		{ { "dia", "read", "pub/\xff", NULL, 0, 0 }, "the resource is not valid UTF-8" },
		{ { "dia", "read", "pub/x", dup, 2, 0 }, "attribute 'a' given twice" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECK_INT(policy_eval(P, &cases[i].rq, POLICY_EXPLAIN, &R), POLICY_DENY);
		CHECK_INT(R.reason, POLICY_REASON_INVALID);
		CHECK_STR(R.why, cases[i].why);
	}
	static char longres[POLICY_FIELD_MAX + 2];
	memset(longres, 'p', POLICY_FIELD_MAX + 1);
	struct policy_request rq = { "dia", "read", longres, NULL, 0, 0 };
	CHECK_INT(policy_eval(P, &rq, 0, &R), POLICY_DENY);
	CHECK_STR(R.why, "the resource is longer than 4096 bytes");
}

TEST(json_output)
{
	if (load_base())
		return CHECK(0), (void)0;
	struct strbuf sb = STRBUF_INIT;
	struct jw w;
	struct policy_request rq = { "dia", "read", "pub/secret/k", NULL, 0, T("2026-01-15T00:00:00Z") };
	policy_eval(P, &rq, POLICY_EXPLAIN, &R);
	jw_init(&w, &sb, JSON_COMPACT);
	policy_result_json(P, &rq, &R, &w);
	CHECK_STR(sb.buf,
	          "{\"decision\":\"deny\",\"reason\":\"explicit_deny\",\"subject\":\"dia\","
	          "\"action\":\"read\",\"resource\":\"pub/secret/k\",\"now\":\"2026-01-15T00:00:00.000Z\","
	          "\"roles\":[{\"role\":\"top\",\"via\":\"subject\",\"at\":\"t.yaml:34:9\"}],"
	          "\"allow\":[{\"rule\":\"t.yaml:5:9\",\"role\":\"base\",\"chain\":[\"top\",\"left\",\"base\"]}],"
	          "\"deny\":[{\"rule\":\"t.yaml:15:9\",\"role\":\"right\",\"chain\":[\"top\",\"right\"]}]}");
	sb_reset(&sb);
	rq.subject = "";
	policy_eval(P, &rq, POLICY_EXPLAIN, &R);
	jw_init(&w, &sb, JSON_COMPACT);
	policy_result_json(P, &rq, &R, &w);
	CHECK_STR(sb.buf, "{\"decision\":\"deny\",\"reason\":\"invalid_request\",\"error\":\"the subject is empty\"}");
	sb_free(&sb);
}

/* A result reused across policies of different sizes. */
TEST(result_reuse)
{
	struct policy *small = NULL;
	CHECK(policy_load_mem(&small, "s.yaml", "version: 1\nroles: {r: {allow: [{actions: [a], resources: [b]}]}}\nsubjects: {u: [r]}\n",
	                      strlen("version: 1\nroles: {r: {allow: [{actions: [a], resources: [b]}]}}\nsubjects: {u: [r]}\n"),
	                      err, sizeof(err)) == 0);
	if (load_base() || !small)
		return CHECK(0), (void)0;
	struct policy_request rq = { "u", "a", "b", NULL, 0, 0 };
	for (int i = 0; i < 3; i++) {
		CHECK_INT(policy_eval(small, &rq, POLICY_EXPLAIN, &R), POLICY_ALLOW);
		CHECK_INT(decide("dia", "read", "pub/x", NULL), POLICY_ALLOW);
		CHECK_INT(decide("chain", "x", "deep", NULL), POLICY_ALLOW);
	}
	policy_free(small);
}

int main(void)
{
	RUN(glob_matches);
	RUN(glob_rejects);
	RUN(glob_pathological);
	RUN(load_errors);
	RUN(load_limits);
	RUN(load_fixture);
	RUN(inheritance_multilevel);
	RUN(inheritance_diamond);
	RUN(deny_wins);
	RUN(default_deny_and_unknown_subject);
	RUN(attribute_conditions);
	RUN(grants_time_bounds);
	RUN(invalid_requests);
	RUN(json_output);
	RUN(result_reuse);
	policy_free(P);
	policy_result_free(&R);
	return unit_done();
}

/* policy.h - authorization policies (libcommon/policy.c).
 *
 * A policy is a YAML file (docs/auth-policy.md): roles with inheritance,
 * allow and deny rules over action and resource globs with attribute
 * conditions, subjects holding roles, time-bounded grants of roles, and
 * global denies.  Decisions follow IAM/Casbin: default deny; any matching
 * deny wins; else any matching allow allows.
 *
 * Loading is all or nothing: the first problem (unknown or duplicate key,
 * wrong type, bad glob or time, undefined role, inheritance cycle) is
 * returned as "FILE:LINE:COL: message" and no policy exists.  A loaded
 * policy is immutable; evaluating it is deterministic and needs only the
 * caller's policy_result for scratch, so one policy may serve many threads
 * with one result each.
 */
#ifndef APCORE_POLICY_H
#define APCORE_POLICY_H

#include "libcommon.h"

#define POLICY_FILE_CAP (4u << 20)   /* largest policy file read */
#define POLICY_PATTERN_MAX 1024      /* bytes in one glob */
#define POLICY_FIELD_MAX 4096        /* bytes in a request's subject, action, resource, attr */
#define POLICY_ATTRS_MAX 64          /* attributes in one request */

struct policy;

struct policy_attr {
	const char *key;
	const char *value;
};

/* Strings are UTF-8 without NUL, 1..POLICY_FIELD_MAX bytes (an attribute
 * value may be empty); attribute keys are unique. */
struct policy_request {
	const char *subject;
	const char *action;
	const char *resource;
	const struct policy_attr *attrs;
	size_t nattrs;
	int64_t now_ms;               /* the time grants are judged at */
};

enum policy_decision { POLICY_DENY = 0, POLICY_ALLOW = 1 };

enum policy_reason {
	POLICY_REASON_ALLOWED,        /* an allow matched and no deny did */
	POLICY_REASON_EXPLICIT_DENY,  /* a deny rule matched */
	POLICY_REASON_DEFAULT_DENY,   /* nothing matched */
	POLICY_REASON_INVALID,        /* the request was malformed (why says how) */
};

/* A rule that matched, and how the subject reached it. */
struct policy_match {
	size_t rule;                  /* index of the rule, in file order */
	const char *role;             /* the rule's role; NULL for a global deny */
	const char *const *chain;     /* held role first ... role last (nchain 0 for global) */
	size_t nchain;
	int line, col;                /* where the rule is written */
};

/* A role the subject holds directly at the request's time. */
struct policy_held {
	const char *role;
	int grant;                    /* 0: listed under subjects, 1: a grant */
	int line, col;                /* the role's name under subjects, or the grant */
};

struct policy_result {
	enum policy_decision decision;
	enum policy_reason reason;
	char why[160];                /* POLICY_REASON_INVALID: the problem */
	/* Filled when evaluated with POLICY_EXPLAIN, in file order. */
	const struct policy_held *held;
	size_t nheld;
	const struct policy_match *allow, *deny;
	size_t nallow, ndeny;
	struct policy_scratch *scratch;  /* private; reused across calls */
};
#define POLICY_RESULT_INIT { 0 }

/* Load a policy.  0 with *out set, or -1 with "NAME:LINE:COL: reason" (or
 * "NAME: reason") in err and *out NULL. */
int policy_load(struct policy **out, const char *path, char *err, size_t errlen);
int policy_load_mem(struct policy **out, const char *name, const void *text, size_t len,
                    char *err, size_t errlen);
void policy_free(struct policy *p);
/* The name given at load time (used in rule locations). */
const char *policy_name(const struct policy *p);

struct policy_stats {
	size_t roles, subjects, grants, rules;
};
void policy_stats(const struct policy *p, struct policy_stats *st);

/* Is rq well formed?  0, or -1 with a one-line reason. */
int policy_request_check(const struct policy_request *rq, char *err, size_t errlen);

/* Decide rq.  With POLICY_EXPLAIN every matching rule is collected (and
 * the held roles); without it evaluation stops as soon as the decision is
 * known.  A malformed request is denied (POLICY_REASON_INVALID). */
#define POLICY_EXPLAIN 1
enum policy_decision policy_eval(const struct policy *p, const struct policy_request *rq,
                                 int flags, struct policy_result *res);
void policy_result_free(struct policy_result *res);
/* "allowed", "explicit_deny", "default_deny", "invalid_request". */
const char *policy_reason_name(enum policy_reason r);
/* The decision as one JSON object (docs/auth-policy.md, "JSON output"). */
void policy_result_json(const struct policy *p, const struct policy_request *rq,
                        const struct policy_result *res, struct jw *w);

/* The glob matcher, exposed for tests.  NAME globs (actions, subjects)
 * have no segments: '*' matches any run of characters.  PATH globs
 * (resources) have '/'-separated segments: '*' stays within a segment and
 * '**', a whole segment, matches zero or more segments.  '?' is one
 * character; '\' escapes * ? \ [ ] { }.  Matching takes time linear in
 * the text for a given pattern (no backtracking). */
enum policy_glob_kind { POLICY_GLOB_NAME, POLICY_GLOB_PATH };
struct policy_glob;
/* NULL with a reason in err when the pattern is not valid. */
struct policy_glob *policy_glob_compile(const char *pat, size_t len, enum policy_glob_kind kind,
                                        char *err, size_t errlen);
int policy_glob_match(const struct policy_glob *g, const char *text, size_t len);
void policy_glob_free(struct policy_glob *g);

#endif

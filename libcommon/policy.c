/* policy.c - authorization policies: the glob matcher, the YAML loader
 * and the evaluator (include/policy.h, docs/auth-policy.md).
 *
 * Globs compile to a small program run as a Thompson NFA (a Pike VM
 * without captures): every step keeps each program counter at most once,
 * so matching costs O(text * program) whatever the pattern; there is no
 * backtracking to blow up on "a*a*a*a*...b".
 *
 * The loader reads the file with libyaml's document API, which keeps a
 * position for every node.  A token pass runs first: it rejects aliases
 * (every rule is written out once, so each matched rule has exactly one
 * place in the file) and bounds nesting and the node count before the
 * document is built (libyaml's scanner slows down with deep flow
 * nesting).  Then three passes over the document, each reporting the
 * first problem in file order: shape (keys, types, globs, times), role
 * references, inheritance cycles.  Any failure frees everything: there is
 * never a partially loaded policy.
 *
 * Evaluation: the roles the subject holds (its subjects entry, then the
 * grants active at the request's time, in file order) are expanded through
 * inheritance depth first, in the order roles are listed; a role reached
 * twice (a diamond) keeps the first path, which is the chain reported.
 * Then: any matching deny -> deny; else any matching allow -> allow; else
 * deny.
 */

#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 16          /* the schema needs 7 */
#define MAX_NODES 1000000

/* ================================================================ globs */

enum { G_CHAR, G_ONE, G_CONT, G_NOTSEP, G_ANY, G_SPLIT, G_JMP, G_MATCH };

struct ginst {
	uint8_t op, c;
	uint16_t x, y;
};

struct policy_glob {
	struct ginst *prog;
	size_t nprog;
	int sep;               /* '/' for PATH globs, -1 for NAME globs */
	char *lit;             /* literal prefix (the whole pattern when literal) */
	size_t litlen;
	int literal;
};

enum { T_CHAR, T_ONE, T_STAR, T_DSTAR, T_SEP };

struct gtok {
	uint8_t type, c;
};

struct gbuild {
	struct ginst *prog;
	size_t n;
};

static size_t emit(struct gbuild *b, int op, int c, size_t x, size_t y)
{
	b->prog[b->n] = (struct ginst){ (uint8_t)op, (uint8_t)c, (uint16_t)x, (uint16_t)y };
	return b->n++;
}

/* x* where x is one consuming instruction. */
static void emit_loop(struct gbuild *b, int op)
{
	size_t l = b->n;
	emit(b, G_SPLIT, 0, l + 1, l + 3);
	emit(b, op, 0, 0, 0);
	emit(b, G_JMP, 0, l, 0);
}

PRINTF(3, 4) static int gfail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int glob_tokens(const char *pat, size_t len, enum policy_glob_kind kind, struct gtok *t,
                       size_t *nt, char *err, size_t errlen)
{
	size_t n = 0;

	if (!len)
		return gfail(err, errlen, "empty pattern");
	if (len > POLICY_PATTERN_MAX)
		return gfail(err, errlen, "pattern longer than %d bytes", POLICY_PATTERN_MAX);
	if (!utf8_valid(pat, len))
		return gfail(err, errlen, "pattern is not valid UTF-8");
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)pat[i];
		if (c < 0x20 || c == 0x7f)
			return gfail(err, errlen, "control character in pattern");
		if (c == '\\') {
			if (i + 1 == len)
				return gfail(err, errlen, "pattern ends with a lone '\\'");
			if (!strchr("*?\\[]{}", pat[i + 1]) || !pat[i + 1])
				return gfail(err, errlen, "'\\%c' is not an escape (only \\* \\? \\\\ \\[ \\] "
				             "\\{ \\} are)", pat[i + 1]);
			t[n++] = (struct gtok){ T_CHAR, (uint8_t)pat[i + 1] };
			i += 2;
		} else if (strchr("[]{}", c)) {
			return gfail(err, errlen, "'%c': character classes and braces are not supported "
			             "(write '\\%c' to match it literally)", c, c);
		} else if (c == '*') {
			size_t k = 1;
			while (i + k < len && pat[i + k] == '*')
				k++;
			if (k > 2)
				return gfail(err, errlen, "'***': at most two '*' in a row");
			if (k == 2 && kind == POLICY_GLOB_PATH) {
				if ((i && pat[i - 1] != '/') || (i + 2 < len && pat[i + 2] != '/'))
					return gfail(err, errlen, "'**' must be a whole path segment "
					             "(as in a/**/b); use '*' within a segment");
				t[n++] = (struct gtok){ T_DSTAR, 0 };
			} else {
				t[n++] = (struct gtok){ T_STAR, 0 };  /* NAME: '**' is '*' */
			}
			i += k;
		} else if (c == '?') {
			t[n++] = (struct gtok){ T_ONE, 0 };
			i++;
		} else if (c == '/' && kind == POLICY_GLOB_PATH) {
			t[n++] = (struct gtok){ T_SEP, '/' };
			i++;
		} else {
			t[n++] = (struct gtok){ T_CHAR, c };
			i++;
		}
	}
	/* A globstar, slash, globstar is one globstar. */
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i].type == T_DSTAR && i + 2 < n && t[i + 1].type == T_SEP &&
		    t[i + 2].type == T_DSTAR) {
			i++;
			continue;
		}
		t[m++] = t[i];
	}
	*nt = m;
	return 0;
}

static int glob_init(struct policy_glob *g, const char *pat, size_t len,
                     enum policy_glob_kind kind, char *err, size_t errlen)
{
	struct gtok *t;
	size_t nt = 0;

	memset(g, 0, sizeof(*g));
	if (len > POLICY_PATTERN_MAX)
		return gfail(err, errlen, "pattern longer than %d bytes", POLICY_PATTERN_MAX);
	t = xcalloc(len ? len : 1, sizeof(*t));
	if (glob_tokens(pat, len, kind, t, &nt, err, errlen)) {
		free(t);
		return -1;
	}
	struct gbuild b = { xcalloc(5 * nt + 1, sizeof(struct ginst)), 0 };
	g->sep = kind == POLICY_GLOB_PATH ? '/' : -1;
	g->lit = xmalloc(nt + 1);
	while (g->litlen < nt && t[g->litlen].type == T_CHAR) {
		g->lit[g->litlen] = (char)t[g->litlen].c;
		g->litlen++;
	}
	g->lit[g->litlen] = 0;
	g->literal = g->litlen == nt;
	for (size_t k = 0; k < nt; k++) {
		size_t l = b.n;
		switch (t[k].type) {
		case T_CHAR:
			emit(&b, G_CHAR, t[k].c, 0, 0);
			break;
		case T_ONE:
			emit(&b, G_ONE, 0, 0, 0);
			emit_loop(&b, G_CONT);   /* the rest of a multi-byte character */
			break;
		case T_STAR:
			emit_loop(&b, G_NOTSEP);
			break;
		case T_SEP:
			if (k + 2 == nt && t[k + 1].type == T_DSTAR) {
				/* a trailing slash-globstar: ("/" any*)? */
				emit(&b, G_SPLIT, 0, l + 1, l + 5);
				emit(&b, G_CHAR, '/', 0, 0);
				emit(&b, G_SPLIT, 0, l + 3, l + 5);
				emit(&b, G_ANY, 0, 0, 0);
				emit(&b, G_JMP, 0, l + 2, 0);
				k++;
			} else {
				emit(&b, G_CHAR, '/', 0, 0);
			}
			break;
		case T_DSTAR:
			if (k + 1 == nt) {
				emit_loop(&b, G_ANY);  /* the whole pattern is "**" */
			} else {
				/* globstar + slash: (any* "/")?, zero or more whole segments */
				emit(&b, G_SPLIT, 0, l + 1, l + 5);
				emit(&b, G_SPLIT, 0, l + 2, l + 4);
				emit(&b, G_ANY, 0, 0, 0);
				emit(&b, G_JMP, 0, l + 1, 0);
				emit(&b, G_CHAR, '/', 0, 0);
				k++;
			}
			break;
		}
	}
	emit(&b, G_MATCH, 0, 0, 0);
	g->prog = b.prog;
	g->nprog = b.n;
	free(t);
	return 0;
}

static void glob_fini(struct policy_glob *g)
{
	free(g->prog);
	free(g->lit);
	memset(g, 0, sizeof(*g));
}

struct vm {
	const struct ginst *prog;
	uint32_t *mark, gen;
	uint16_t *stack;
};

/* Add pc and everything reachable from it without consuming input. */
static void vm_add(struct vm *v, uint16_t *list, size_t *n, size_t pc0)
{
	size_t sp = 0;
	if (v->mark[pc0] == v->gen)
		return;
	v->mark[pc0] = v->gen;
	v->stack[sp++] = (uint16_t)pc0;
	while (sp) {
		size_t pc = v->stack[--sp];
		const struct ginst *in = &v->prog[pc];
		if (in->op == G_SPLIT || in->op == G_JMP) {
			size_t to[2] = { in->x, in->y };
			for (int i = 0; i < (in->op == G_SPLIT ? 2 : 1); i++) {
				if (v->mark[to[i]] != v->gen) {
					v->mark[to[i]] = v->gen;
					v->stack[sp++] = (uint16_t)to[i];
				}
			}
		} else {
			list[(*n)++] = (uint16_t)pc;
		}
	}
}

#define VM_STACK_PROG 128

int policy_glob_match(const struct policy_glob *g, const char *text, size_t len)
{
	if (g->literal)
		return len == g->litlen && !memcmp(text, g->lit, len);
	if (len < g->litlen || memcmp(text, g->lit, g->litlen))
		return 0;

	uint32_t smark[VM_STACK_PROG];
	uint16_t sbuf[3 * VM_STACK_PROG];
	uint32_t *mark = smark;
	uint16_t *buf = sbuf;
	size_t np = g->nprog;
	if (np > VM_STACK_PROG) {
		mark = xcalloc(np, sizeof(*mark));
		buf = xcalloc(3 * np, sizeof(*buf));
	} else {
		memset(smark, 0, sizeof(smark));
	}
	struct vm v = { g->prog, mark, 1, buf + 2 * np };
	uint16_t *cur = buf, *next = buf + np;
	size_t ncur = 0, nnext;
	const unsigned char *s = (const unsigned char *)text;
	int sep = g->sep, matched = 0;

	vm_add(&v, cur, &ncur, g->litlen);  /* the literal prefix is instructions 0..litlen-1 */
	for (size_t i = g->litlen; i < len && ncur; i++) {
		unsigned b = s[i];
		v.gen++;
		nnext = 0;
		for (size_t k = 0; k < ncur; k++) {
			const struct ginst *in = &g->prog[cur[k]];
			int ok;
			switch (in->op) {
			case G_CHAR: ok = b == in->c; break;
			case G_ONE: ok = (int)b != sep && (b & 0xc0) != 0x80; break;
			case G_CONT: ok = (b & 0xc0) == 0x80; break;
			case G_NOTSEP: ok = (int)b != sep; break;
			case G_ANY: ok = 1; break;
			default: ok = 0; break;
			}
			if (ok)
				vm_add(&v, next, &nnext, cur[k] + 1u);
		}
		uint16_t *tmp = cur;
		cur = next;
		next = tmp;
		ncur = nnext;
	}
	for (size_t k = 0; k < ncur; k++)
		if (g->prog[cur[k]].op == G_MATCH)
			matched = 1;
	if (mark != smark) {
		free(mark);
		free(buf);
	}
	return matched;
}

struct policy_glob *policy_glob_compile(const char *pat, size_t len, enum policy_glob_kind kind,
                                        char *err, size_t errlen)
{
	struct policy_glob *g = xmalloc(sizeof(*g));
	if (glob_init(g, pat, len, kind, err, errlen)) {
		free(g);
		return NULL;
	}
	return g;
}

void policy_glob_free(struct policy_glob *g)
{
	if (!g)
		return;
	glob_fini(g);
	free(g);
}

/* =========================================================== the policy */

struct cond {
	char *key;
	char **vals;
	size_t nvals;
	int negate;            /* {not: ...} */
};

struct rule {
	int role;              /* -1: a global deny */
	int deny;
	struct policy_glob *subjects, *actions, *resources;
	size_t nsubjects, nactions, nresources;
	struct cond *conds;
	size_t nconds;
	int line, col;
};

struct rolepos {
	int id;
	int line, col;
};

struct role {
	char *name;
	int line, col;
	struct rolepos *inherits;
	size_t ninherits;
	size_t *allow, *deny;  /* rule indices */
	size_t nallow, ndeny;
};

struct subject {
	char *name;
	struct rolepos *roles;
	size_t nroles;
};

struct grant {
	char *subject;
	struct rolepos *roles;
	size_t nroles;
	int has_nb, has_na;
	int64_t nb, na;
	int line, col;
};

struct policy {
	char *name;
	struct role *roles;
	size_t nroles;
	struct rule *rules;
	size_t nrules;
	struct subject *subjects;   /* sorted by name */
	size_t nsubjects;
	struct grant *grants;       /* file order */
	size_t ngrants;
	size_t *grant_idx;          /* grants sorted by (subject, file order) */
	size_t *global;             /* global deny rule indices */
	size_t nglobal;
	int *role_idx;              /* role ids sorted by name (loading) */
};

static void rule_fini(struct rule *r)
{
	for (size_t i = 0; i < r->nsubjects; i++)
		glob_fini(&r->subjects[i]);
	for (size_t i = 0; i < r->nactions; i++)
		glob_fini(&r->actions[i]);
	for (size_t i = 0; i < r->nresources; i++)
		glob_fini(&r->resources[i]);
	free(r->subjects);
	free(r->actions);
	free(r->resources);
	for (size_t i = 0; i < r->nconds; i++) {
		for (size_t j = 0; j < r->conds[i].nvals; j++)
			free(r->conds[i].vals[j]);
		free(r->conds[i].vals);
		free(r->conds[i].key);
	}
	free(r->conds);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nroles; i++) {
		free(p->roles[i].name);
		free(p->roles[i].inherits);
		free(p->roles[i].allow);
		free(p->roles[i].deny);
	}
	free(p->roles);
	for (size_t i = 0; i < p->nrules; i++)
		rule_fini(&p->rules[i]);
	free(p->rules);
	for (size_t i = 0; i < p->nsubjects; i++) {
		free(p->subjects[i].name);
		free(p->subjects[i].roles);
	}
	free(p->subjects);
	for (size_t i = 0; i < p->ngrants; i++) {
		free(p->grants[i].subject);
		free(p->grants[i].roles);
	}
	free(p->grants);
	free(p->grant_idx);
	free(p->global);
	free(p->role_idx);
	free(p->name);
	free(p);
}

const char *policy_name(const struct policy *p)
{
	return p->name;
}

void policy_stats(const struct policy *p, struct policy_stats *st)
{
	st->roles = p->nroles;
	st->subjects = p->nsubjects;
	st->grants = p->ngrants;
	st->rules = p->nrules;
}

/* ============================================================= loading */

/* A role named somewhere, resolved once all roles are known. */
struct ref {
	char *name;
	struct rolepos *slot;  /* gets id, line, col */
	int line, col;
};

struct ld {
	struct policy *p;
	const char *name;
	const char *text;
	size_t len;
	char *err;
	size_t errlen;
	yaml_document_t doc;
	struct ref *refs;
	size_t nrefs, caprefs;
	size_t caprules;
};

#define POS_MARK(m) (int)(m).line + 1, (int)(m).column + 1
#define POS(n) POS_MARK((n)->start_mark)

PRINTF(4, 5) static int fail_at(struct ld *ld, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsgf_at(ld->err, ld->errlen, ld->name, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

#define FAIL(ld, node, ...) fail_at((ld), POS(node), __VA_ARGS__)

/* A string for a message: at most 40 bytes cut at a character boundary,
 * control characters as '?'. */
static const char *shown(const char *s, size_t n, char out[48])
{
	size_t cut = n, i;
	if (cut > 40)
		for (cut = 40; cut && ((unsigned char)s[cut] & 0xc0) == 0x80; cut--)
			;
	for (i = 0; i < cut; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	strcpy(out + i, cut < n ? "..." : "");
	return out;
}

static yaml_node_t *node(struct ld *ld, int i)
{
	return yaml_document_get_node(&ld->doc, i);
}

static int is_null(const yaml_node_t *n)
{
	static const char *const forms[] = { "", "~", "null", "Null", "NULL" };
	if (n->type != YAML_SCALAR_NODE)
		return 0;
	if (n->tag && !strcmp((const char *)n->tag, YAML_NULL_TAG))
		return 1;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++)
		if (n->data.scalar.length == strlen(forms[i]) &&
		    !memcmp(n->data.scalar.value, forms[i], n->data.scalar.length))
			return 1;
	return 0;
}

static const char *kind_of(const yaml_node_t *n)
{
	if (is_null(n))
		return "null";
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a string";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

/* Explicit tags other than the plain ones (!!str, !!seq, !!map) are refused:
 * a value tagged !!int or !custom would be read as text silently. */
static int check_tag(struct ld *ld, const yaml_node_t *n)
{
	const char *want = n->type == YAML_SCALAR_NODE ? YAML_STR_TAG :
	                   n->type == YAML_SEQUENCE_NODE ? YAML_SEQ_TAG : YAML_MAP_TAG;
	if (n->tag && strcmp((const char *)n->tag, want) && !is_null(n))
		return FAIL(ld, n, "unsupported tag '%s'", (const char *)n->tag);
	return 0;
}

static int want_map(struct ld *ld, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_MAPPING_NODE)
		return FAIL(ld, n, "%s must be a mapping, not %s", what, kind_of(n));
	return check_tag(ld, n);
}

static int want_seq(struct ld *ld, const yaml_node_t *n, const char *what, int nonempty)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return FAIL(ld, n, "%s must be a list, not %s", what, kind_of(n));
	if (check_tag(ld, n))
		return -1;
	if (nonempty && n->data.sequence.items.top == n->data.sequence.items.start)
		return FAIL(ld, n, "%s must not be empty", what);
	return 0;
}

/* A string scalar: no NUL; with name != 0 also non-empty, no control
 * characters, at most POLICY_FIELD_MAX bytes. */
static int want_str(struct ld *ld, const yaml_node_t *n, const char *what, int name,
                    const char **s, size_t *len)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return FAIL(ld, n, "%s must be a string, not %s", what, kind_of(n));
	if (check_tag(ld, n))
		return -1;
	*s = (const char *)n->data.scalar.value;
	*len = n->data.scalar.length;
	if (memchr(*s, 0, *len))
		return FAIL(ld, n, "%s contains a NUL character", what);
	if (*len > POLICY_FIELD_MAX)
		return FAIL(ld, n, "%s is longer than %d bytes", what, POLICY_FIELD_MAX);
	if (name) {
		if (!*len)
			return FAIL(ld, n, "%s must not be empty", what);
		for (size_t i = 0; i < *len; i++)
			if ((unsigned char)(*s)[i] < 0x20 || (*s)[i] == 0x7f)
				return FAIL(ld, n, "%s contains a control character", what);
	}
	return 0;
}

static char *dup_str(struct ld *ld, const yaml_node_t *n, const char *what, int name)
{
	const char *s;
	size_t len;
	if (want_str(ld, n, what, name, &s, &len))
		return NULL;
	return xstrndup(s, len);
}

/* The keys of a mapping: strings, no merge key, no duplicates, and, when
 * known is given (NULL-terminated), only those.  what names the mapping. */
static int check_keys(struct ld *ld, const yaml_node_t *map, const char *const *known,
                      const char *what)
{
	const yaml_node_pair_t *pairs = map->data.mapping.pairs.start;
	size_t n = (size_t)(map->data.mapping.pairs.top - pairs);
	char sh[48];

	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *k = node(ld, pairs[i].key);
		const char *s;
		size_t len;
		if (k->type != YAML_SCALAR_NODE || is_null(k))
			return FAIL(ld, k, "keys must be strings, not %s", kind_of(k));
		if (check_tag(ld, k))
			return -1;
		s = (const char *)k->data.scalar.value;
		len = k->data.scalar.length;
		if (k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && len == 2 && !memcmp(s, "<<", 2))
			return FAIL(ld, k, "merge keys ('<<') are not supported");
		if (!known)
			continue;
		size_t j;
		for (j = 0; known[j]; j++)
			if (strlen(known[j]) == len && !memcmp(known[j], s, len))
				break;
		if (!known[j]) {
			struct strbuf sb = STRBUF_INIT;
			for (j = 0; known[j]; j++)
				sb_printf(&sb, "%s%s", j ? ", " : "", known[j]);
			int rc = FAIL(ld, k, "unknown key '%s' in %s (expected %s)", shown(s, len, sh),
			              what, sb.buf);
			sb_free(&sb);
			return rc;
		}
	}
	if (n < 2)
		return 0;

	const yaml_node_t **keys = xcalloc(n, sizeof(*keys));
	size_t first, second;
	for (size_t i = 0; i < n; i++)
		keys[i] = node(ld, pairs[i].key);
	int dup = yaml_first_dup(keys, n, &first, &second);
	free(keys);
	if (!dup)
		return 0;
	const yaml_node_t *k1 = node(ld, pairs[first].key), *k2 = node(ld, pairs[second].key);
	return FAIL(ld, k2, "duplicate key '%s' (first at line %d, column %d)",
	            shown((const char *)k2->data.scalar.value, k2->data.scalar.length, sh),
	            POS(k1));
}

static int key_is(struct ld *ld, const yaml_node_pair_t *pr, const char *name)
{
	const yaml_node_t *k = node(ld, pr->key);
	return k->data.scalar.length == strlen(name) &&
	       !memcmp(k->data.scalar.value, name, k->data.scalar.length);
}

static const yaml_node_t *lookup(struct ld *ld, const yaml_node_t *map, const char *name)
{
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
	     pr++)
		if (key_is(ld, pr, name))
			return node(ld, pr->value);
	return NULL;
}

#define ITEMS(n) (size_t)((n)->data.sequence.items.top - (n)->data.sequence.items.start)
#define ITEM(ld, n, i) node((ld), (n)->data.sequence.items.start[i])

/* A list of globs. */
static int load_globs(struct ld *ld, const yaml_node_t *seq, const char *what,
                      enum policy_glob_kind kind, struct policy_glob **out, size_t *nout)
{
	if (want_seq(ld, seq, what, 1))
		return -1;
	size_t n = ITEMS(seq);
	*out = xcalloc(n, sizeof(**out));
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *it = ITEM(ld, seq, i);
		const char *s;
		size_t len;
		char why[200], sh[48];
		if (want_str(ld, it, "a pattern", 0, &s, &len))
			return -1;
		if (glob_init(&(*out)[i], s, len, kind, why, sizeof(why)))
			return FAIL(ld, it, "bad pattern '%s': %s", shown(s, len, sh), why);
		(*nout)++;
	}
	return 0;
}

static int load_values(struct ld *ld, const yaml_node_t *v, struct cond *c)
{
	if (v->type == YAML_SEQUENCE_NODE) {
		if (want_seq(ld, v, "a list of values", 1))
			return -1;
		c->vals = xcalloc(ITEMS(v), sizeof(char *));
		for (size_t i = 0; i < ITEMS(v); i++) {
			if (!(c->vals[i] = dup_str(ld, ITEM(ld, v, i), "a value", 0)))
				return -1;
			c->nvals++;
		}
		return 0;
	}
	c->vals = xcalloc(1, sizeof(char *));
	if (!(c->vals[0] = dup_str(ld, v, "the value of an attribute", 0)))
		return -1;
	c->nvals = 1;
	return 0;
}

/* when: {KEY: VALUE | [VALUE...] | {not: VALUE | [VALUE...]}} */
static int load_when(struct ld *ld, const yaml_node_t *map, struct rule *r)
{
	static const char *const notkeys[] = { "not", NULL };
	if (want_map(ld, map, "'when'") || check_keys(ld, map, NULL, "'when'"))
		return -1;
	size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	r->conds = xcalloc(n ? n : 1, sizeof(*r->conds));
	for (size_t i = 0; i < n; i++) {
		const yaml_node_pair_t *pr = &map->data.mapping.pairs.start[i];
		const yaml_node_t *v = node(ld, pr->value);
		struct cond *c = &r->conds[r->nconds++];
		if (!(c->key = dup_str(ld, node(ld, pr->key), "an attribute name", 1)))
			return -1;
		if (v->type == YAML_MAPPING_NODE) {
			if (check_tag(ld, v) || check_keys(ld, v, notkeys, "a condition"))
				return -1;
			const yaml_node_t *nv = lookup(ld, v, "not");
			if (!nv)
				return FAIL(ld, v, "a condition mapping needs 'not'");
			c->negate = 1;
			v = nv;
		}
		if (load_values(ld, v, c))
			return -1;
	}
	return 0;
}

static struct rule *new_rule(struct ld *ld, const yaml_node_t *n, int role, int deny)
{
	struct policy *p = ld->p;
	if (p->nrules == ld->caprules) {
		ld->caprules = ld->caprules ? 2 * ld->caprules : 16;
		p->rules = xreallocarray(p->rules, ld->caprules, sizeof(*p->rules));
	}
	struct rule *r = &p->rules[p->nrules++];
	memset(r, 0, sizeof(*r));
	r->role = role;
	r->deny = deny;
	r->line = (int)n->start_mark.line + 1;
	r->col = (int)n->start_mark.column + 1;
	return r;
}

/* One rule; global rules (role -1) also have subjects. */
static int load_rule(struct ld *ld, const yaml_node_t *n, int role, int deny, size_t *index)
{
	static const char *const keys[] = { "actions", "resources", "when", NULL };
	static const char *const gkeys[] = { "subjects", "actions", "resources", "when", NULL };
	int global = role < 0;

	if (want_map(ld, n, "a rule") ||
	    check_keys(ld, n, global ? gkeys : keys, global ? "a global deny rule" : "a rule"))
		return -1;
	for (const char *const *k = global ? gkeys : keys; *k; k++)
		if (strcmp(*k, "when") && !lookup(ld, n, *k))
			return FAIL(ld, n, "%s is missing '%s'", global ? "a global deny rule" : "a rule",
			            *k);
	size_t idx = ld->p->nrules;
	struct rule *r = new_rule(ld, n, role, deny);
	*index = idx;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		const yaml_node_t *v = node(ld, pr->value);
		int rc;
		r = &ld->p->rules[idx];
		if (key_is(ld, pr, "subjects"))
			rc = load_globs(ld, v, "'subjects'", POLICY_GLOB_NAME, &r->subjects,
			                &r->nsubjects);
		else if (key_is(ld, pr, "actions"))
			rc = load_globs(ld, v, "'actions'", POLICY_GLOB_NAME, &r->actions, &r->nactions);
		else if (key_is(ld, pr, "resources"))
			rc = load_globs(ld, v, "'resources'", POLICY_GLOB_PATH, &r->resources,
			                &r->nresources);
		else
			rc = load_when(ld, v, r);
		if (rc)
			return -1;
	}
	return 0;
}

static int load_rules(struct ld *ld, const yaml_node_t *seq, int role, int deny, size_t **out,
                      size_t *nout)
{
	const char *what = role < 0 ? "'deny'" : deny ? "a role's 'deny'" : "a role's 'allow'";
	if (want_seq(ld, seq, what, 0))
		return -1;
	size_t n = ITEMS(seq);
	if (out)
		*out = xcalloc(n ? n : 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		size_t idx = 0;
		if (load_rule(ld, ITEM(ld, seq, i), role, deny, &idx))
			return -1;
		if (out)
			(*out)[(*nout)++] = idx;
	}
	return 0;
}

static void add_ref(struct ld *ld, const char *s, size_t len, const yaml_node_t *n,
                    struct rolepos *slot)
{
	if (ld->nrefs == ld->caprefs) {
		ld->caprefs = ld->caprefs ? 2 * ld->caprefs : 32;
		ld->refs = xreallocarray(ld->refs, ld->caprefs, sizeof(*ld->refs));
	}
	ld->refs[ld->nrefs++] = (struct ref){ xstrndup(s, len), slot, POS(n) };
	slot->id = -1;
	slot->line = (int)n->start_mark.line + 1;
	slot->col = (int)n->start_mark.column + 1;
}

/* A list of role names (inherits, a subject's roles, a grant's roles). */
static int load_role_list(struct ld *ld, const yaml_node_t *seq, const char *what, int nonempty,
                          struct rolepos **out, size_t *nout)
{
	if (want_seq(ld, seq, what, nonempty))
		return -1;
	size_t n = ITEMS(seq);
	char sh[48];
	*out = xcalloc(n ? n : 1, sizeof(**out));
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *it = ITEM(ld, seq, i);
		const char *s;
		size_t len;
		if (want_str(ld, it, "a role name", 1, &s, &len))
			return -1;
		add_ref(ld, s, len, it, &(*out)[i]);
		(*nout)++;
	}
	const yaml_node_t **items = xcalloc(n ? n : 1, sizeof(*items));
	size_t first, second;
	for (size_t i = 0; i < n; i++)
		items[i] = ITEM(ld, seq, i);
	int dup = yaml_first_dup(items, n, &first, &second);
	free(items);
	if (dup) {
		const yaml_node_t *it = ITEM(ld, seq, second);
		return FAIL(ld, it, "role '%s' is listed twice (first at line %d, column %d)",
		            shown((const char *)it->data.scalar.value, it->data.scalar.length, sh),
		            POS(ITEM(ld, seq, first)));
	}
	return 0;
}

static int load_role(struct ld *ld, int id, const yaml_node_t *body)
{
	static const char *const keys[] = { "inherits", "allow", "deny", NULL };
	struct role *ro = &ld->p->roles[id];

	if (want_map(ld, body, "a role") || check_keys(ld, body, keys, "a role"))
		return -1;
	for (yaml_node_pair_t *pr = body->data.mapping.pairs.start;
	     pr < body->data.mapping.pairs.top; pr++) {
		const yaml_node_t *v = node(ld, pr->value);
		int rc;
		ro = &ld->p->roles[id];
		if (key_is(ld, pr, "inherits"))
			rc = load_role_list(ld, v, "'inherits'", 0, &ro->inherits, &ro->ninherits);
		else if (key_is(ld, pr, "allow"))
			rc = load_rules(ld, v, id, 0, &ro->allow, &ro->nallow);
		else
			rc = load_rules(ld, v, id, 1, &ro->deny, &ro->ndeny);
		if (rc)
			return -1;
	}
	return 0;
}

/* Role names come first (rules refer to their role by index, references
 * are resolved after everything is read); the bodies when 'roles' comes up
 * in file order. */
static int load_role_names(struct ld *ld, const yaml_node_t *map)
{
	struct policy *p = ld->p;
	if (want_map(ld, map, "'roles'") || check_keys(ld, map, NULL, "'roles'"))
		return -1;
	size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	p->roles = xcalloc(n ? n : 1, sizeof(*p->roles));
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *k = node(ld, map->data.mapping.pairs.start[i].key);
		if (!(p->roles[i].name = dup_str(ld, k, "a role name", 1)))
			return -1;
		p->roles[i].line = (int)k->start_mark.line + 1;
		p->roles[i].col = (int)k->start_mark.column + 1;
		p->nroles++;
	}
	return 0;
}

static int load_roles(struct ld *ld, const yaml_node_t *map)
{
	size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	for (size_t i = 0; i < n; i++)
		if (load_role(ld, (int)i, node(ld, map->data.mapping.pairs.start[i].value)))
			return -1;
	return 0;
}

static int load_subjects(struct ld *ld, const yaml_node_t *map)
{
	struct policy *p = ld->p;
	if (want_map(ld, map, "'subjects'") || check_keys(ld, map, NULL, "'subjects'"))
		return -1;
	size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	p->subjects = xcalloc(n ? n : 1, sizeof(*p->subjects));
	for (size_t i = 0; i < n; i++) {
		const yaml_node_pair_t *pr = &map->data.mapping.pairs.start[i];
		struct subject *s = &p->subjects[p->nsubjects];
		if (!(s->name = dup_str(ld, node(ld, pr->key), "a subject", 1)))
			return -1;
		p->nsubjects++;
		if (load_role_list(ld, node(ld, pr->value), "a subject's roles", 0, &s->roles,
		                   &s->nroles))
			return -1;
	}
	return 0;
}

static int load_time(struct ld *ld, const yaml_node_t *n, const char *what, int64_t *ms)
{
	const char *s;
	size_t len;
	char sh[48];
	if (want_str(ld, n, what, 1, &s, &len))
		return -1;
	/* A full date-time: a bare date would mean midnight UTC, silently. */
	if (len < 20 || (s[10] != 'T' && s[10] != 't') || time_parse_rfc3339(s, ms))
		return FAIL(ld, n, "bad time '%s' for %s: expected an RFC 3339 date-time such as "
		            "2026-01-01T00:00:00Z", shown(s, len, sh), what);
	return 0;
}

static int load_grants(struct ld *ld, const yaml_node_t *seq)
{
	static const char *const keys[] = { "subject", "roles", "not_before", "not_after", NULL };
	struct policy *p = ld->p;
	if (want_seq(ld, seq, "'grants'", 0))
		return -1;
	size_t n = ITEMS(seq);
	p->grants = xcalloc(n ? n : 1, sizeof(*p->grants));
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *g = ITEM(ld, seq, i);
		struct grant *gr = &p->grants[p->ngrants];
		if (want_map(ld, g, "a grant") || check_keys(ld, g, keys, "a grant"))
			return -1;
		if (!lookup(ld, g, "subject"))
			return FAIL(ld, g, "a grant is missing 'subject'");
		if (!lookup(ld, g, "roles"))
			return FAIL(ld, g, "a grant is missing 'roles'");
		gr->line = (int)g->start_mark.line + 1;
		gr->col = (int)g->start_mark.column + 1;
		p->ngrants++;
		const yaml_node_t *nan = NULL;
		for (yaml_node_pair_t *pr = g->data.mapping.pairs.start; pr < g->data.mapping.pairs.top;
		     pr++) {
			const yaml_node_t *v = node(ld, pr->value);
			int rc = 0;
			if (key_is(ld, pr, "subject")) {
				rc = !(gr->subject = dup_str(ld, v, "'subject'", 1));
			} else if (key_is(ld, pr, "roles")) {
				rc = load_role_list(ld, v, "a grant's 'roles'", 1, &gr->roles, &gr->nroles);
			} else if (key_is(ld, pr, "not_before")) {
				rc = load_time(ld, v, "'not_before'", &gr->nb);
				gr->has_nb = 1;
			} else {
				rc = load_time(ld, v, "'not_after'", &gr->na);
				gr->has_na = 1;
				nan = v;
			}
			if (rc)
				return -1;
		}
		if (gr->has_nb && gr->has_na && gr->na <= gr->nb)
			return FAIL(ld, nan, "'not_after' must be later than 'not_before'");
	}
	return 0;
}

static int role_name_cmp(const void *a, const void *b, void *arg)
{
	const struct policy *p = arg;
	return strcmp(p->roles[*(const int *)a].name, p->roles[*(const int *)b].name);
}

static int find_role(const struct policy *p, const char *name)
{
	size_t lo = 0, hi = p->nroles;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(p->roles[p->role_idx[mid]].name, name);
		if (!c)
			return p->role_idx[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Pass 2: every role named is defined. */
static int resolve_refs(struct ld *ld)
{
	struct policy *p = ld->p;
	char sh[48];
	p->role_idx = xcalloc(p->nroles ? p->nroles : 1, sizeof(int));
	for (size_t i = 0; i < p->nroles; i++)
		p->role_idx[i] = (int)i;
	qsort_r(p->role_idx, p->nroles, sizeof(int), role_name_cmp, p);
	for (size_t i = 0; i < ld->nrefs; i++) {
		struct ref *r = &ld->refs[i];
		int id = find_role(p, r->name);
		if (id < 0)
			return fail_at(ld, r->line, r->col, "role '%s' is not defined under 'roles'",
			               shown(r->name, strlen(r->name), sh));
		r->slot->id = id;
	}
	return 0;
}

/* Pass 3: no inheritance cycle.  Iterative DFS over roles in file order;
 * an edge back to a role on the current path closes a cycle, reported at
 * that edge with the path. */
static int check_cycles(struct ld *ld)
{
	struct policy *p = ld->p;
	size_t n = p->nroles;
	unsigned char *color = xcalloc(n ? n : 1, 1);
	struct frame { int role; size_t next; } *st = xcalloc(n ? n : 1, sizeof(*st));
	int rc = 0;

	for (size_t root = 0; root < n && !rc; root++) {
		if (color[root])
			continue;
		size_t sp = 0;
		st[sp++] = (struct frame){ (int)root, 0 };
		color[root] = 1;
		while (sp && !rc) {
			struct frame *f = &st[sp - 1];
			const struct role *ro = &p->roles[f->role];
			if (f->next == ro->ninherits) {
				color[f->role] = 2;
				sp--;
				continue;
			}
			const struct rolepos *e = &ro->inherits[f->next++];
			if (color[e->id] == 2)
				continue;
			if (color[e->id] == 0) {
				color[e->id] = 1;
				st[sp++] = (struct frame){ e->id, 0 };
				continue;
			}
			/* e->id is on the path: the cycle is from there to here. */
			size_t from = sp - 1;
			while (st[from].role != e->id)
				from--;
			struct strbuf sb = STRBUF_INIT;
			char sh[48];
			size_t len = sp - from;
			for (size_t k = from; k < sp; k++) {
				if (len > 8 && k == from + 3) {
					sb_puts(&sb, " -> ...");
					k = sp - 3;
				}
				const char *nm = p->roles[st[k].role].name;
				sb_printf(&sb, "%s%s", k == from ? "" : " -> ", shown(nm, strlen(nm), sh));
			}
			const char *nm = p->roles[e->id].name;
			sb_printf(&sb, " -> %s", shown(nm, strlen(nm), sh));
			rc = fail_at(ld, e->line, e->col, "inheritance cycle: %s", sb.buf);
			sb_free(&sb);
		}
	}
	free(st);
	free(color);
	return rc;
}

static int subject_cmp(const void *a, const void *b)
{
	return strcmp(((const struct subject *)a)->name, ((const struct subject *)b)->name);
}

static int grant_cmp(const void *a, const void *b, void *arg)
{
	const struct policy *p = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(p->grants[x].subject, p->grants[y].subject);
	return c ? c : (x > y) - (x < y);
}

static int load_top(struct ld *ld, const yaml_node_t *root)
{
	static const char *const keys[] = { "version", "roles", "subjects", "grants", "deny", NULL };
	struct policy *p = ld->p;

	if (!root || is_null(root))
		return fail_at(ld, 1, 1, "empty policy: expected a mapping with 'version: 1'");
	if (want_map(ld, root, "the policy") || check_keys(ld, root, keys, "the policy"))
		return -1;
	const yaml_node_t *v = lookup(ld, root, "version");
	const char *s;
	size_t len;
	char sh[48];
	if (!v)
		return FAIL(ld, root, "the policy is missing 'version: 1'");
	if (want_str(ld, v, "'version'", 1, &s, &len))
		return -1;
	if (len != 1 || *s != '1')
		return FAIL(ld, v, "unsupported version '%s' (this apcore reads version 1)",
		            shown(s, len, sh));
	const yaml_node_t *roles = lookup(ld, root, "roles");
	if (roles && load_role_names(ld, roles))
		return -1;
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top; pr++) {
		const yaml_node_t *val = node(ld, pr->value);
		int rc = 0;
		if (key_is(ld, pr, "roles"))
			rc = load_roles(ld, val);
		else if (key_is(ld, pr, "subjects"))
			rc = load_subjects(ld, val);
		else if (key_is(ld, pr, "grants"))
			rc = load_grants(ld, val);
		else if (key_is(ld, pr, "deny"))
			rc = load_rules(ld, val, -1, 1, &p->global, &p->nglobal);
		if (rc)
			return -1;
	}
	/* Everything was read in file order, so rule indices are file order. */
	if (resolve_refs(ld) || check_cycles(ld))
		return -1;

	if (p->nsubjects > 1)
		qsort(p->subjects, p->nsubjects, sizeof(*p->subjects), subject_cmp);
	p->grant_idx = xcalloc(p->ngrants ? p->ngrants : 1, sizeof(size_t));
	for (size_t i = 0; i < p->ngrants; i++)
		p->grant_idx[i] = i;
	qsort_r(p->grant_idx, p->ngrants, sizeof(size_t), grant_cmp, p);
	return 0;
}

/* 1-based line and column (in characters) of a byte offset. */
static void pos_of(const struct ld *ld, size_t off, int *line, int *col)
{
	const unsigned char *t = (const unsigned char *)ld->text;
	int l = 1, c = 1;
	for (size_t i = 0; i < off && i < ld->len; i++) {
		if (t[i] == '\n') {
			l++;
			c = 1;
		} else if ((t[i] & 0xc0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

static int parser_fail(struct ld *ld, const yaml_parser_t *y)
{
	const char *problem = y->problem ? y->problem : "invalid YAML";
	int line, col;

	switch (y->error) {
	case YAML_MEMORY_ERROR:
		return fail_at(ld, 0, 0, "out of memory");
	case YAML_READER_ERROR:
		pos_of(ld, y->problem_offset, &line, &col);
		return fail_at(ld, line, col, "%s", problem);
	default:
		if (y->context)
			return fail_at(ld, POS_MARK(y->problem_mark), "%s %s (line %d, column %d)",
			               problem, y->context, POS_MARK(y->context_mark));
		return fail_at(ld, POS_MARK(y->problem_mark), "%s", problem);
	}
}

/* Tokens only: no aliases, bounded nesting and node count. */
static int scan_tokens(struct ld *ld)
{
	yaml_parser_t y;
	yaml_token_t t;
	int rc = 0, depth = 0;
	size_t nodes = 0;

	if (!yaml_parser_initialize(&y))
		return fail_at(ld, 0, 0, "out of memory");
	yaml_parser_set_encoding(&y, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&y, (const unsigned char *)ld->text, ld->len);
	for (;;) {
		if (!yaml_parser_scan(&y, &t)) {
			rc = parser_fail(ld, &y);
			break;
		}
		yaml_token_type_t type = t.type;
		int opens = type == YAML_BLOCK_SEQUENCE_START_TOKEN ||
		            type == YAML_BLOCK_MAPPING_START_TOKEN ||
		            type == YAML_FLOW_SEQUENCE_START_TOKEN ||
		            type == YAML_FLOW_MAPPING_START_TOKEN;
		if (type == YAML_ALIAS_TOKEN)
			rc = fail_at(ld, POS_MARK(t.start_mark), "aliases are not supported in a policy "
			             "(write each rule out, so that it has one place in the file)");
		else if ((opens || type == YAML_SCALAR_TOKEN) && ++nodes > MAX_NODES)
			rc = fail_at(ld, POS_MARK(t.start_mark), "more than %d values", MAX_NODES);
		else if (opens && ++depth > MAX_DEPTH)
			rc = fail_at(ld, POS_MARK(t.start_mark), "nested deeper than %d levels",
			             MAX_DEPTH);
		else if (type == YAML_BLOCK_END_TOKEN || type == YAML_FLOW_SEQUENCE_END_TOKEN ||
		         type == YAML_FLOW_MAPPING_END_TOKEN)
			depth--;
		yaml_token_delete(&t);
		if (rc || type == YAML_STREAM_END_TOKEN)
			break;
	}
	yaml_parser_delete(&y);
	return rc;
}

static int load(struct ld *ld)
{
	yaml_parser_t y;
	yaml_document_t extra;
	int rc;

	if (scan_tokens(ld))
		return -1;
	if (!yaml_parser_initialize(&y))
		return fail_at(ld, 0, 0, "out of memory");
	yaml_parser_set_encoding(&y, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&y, (const unsigned char *)ld->text, ld->len);
	if (!yaml_parser_load(&y, &ld->doc)) {
		rc = parser_fail(ld, &y);
		yaml_parser_delete(&y);
		return rc;
	}
	if (!yaml_parser_load(&y, &extra)) {
		rc = parser_fail(ld, &y);
		yaml_parser_delete(&y);
		yaml_document_delete(&ld->doc);
		return rc;
	}
	rc = 0;
	if (yaml_document_get_root_node(&extra))
		rc = fail_at(ld, POS_MARK(extra.start_mark), "more than one document");
	yaml_document_delete(&extra);
	yaml_parser_delete(&y);
	if (!rc)
		rc = load_top(ld, yaml_document_get_root_node(&ld->doc));
	yaml_document_delete(&ld->doc);
	return rc;
}

int policy_load_mem(struct policy **out, const char *name, const void *text, size_t len,
                    char *err, size_t errlen)
{
	struct ld ld = { .name = name ? name : "(policy)", .text = text, .len = len,
	                 .err = err, .errlen = errlen };
	int rc;

	*out = NULL;
	if (errlen)
		err[0] = 0;
	if (len > POLICY_FILE_CAP)
		return fail_at(&ld, 0, 0, "larger than %u bytes", POLICY_FILE_CAP);
	ld.p = xzalloc(sizeof(*ld.p));
	ld.p->name = xstrdup(ld.name);
	rc = load(&ld);
	for (size_t i = 0; i < ld.nrefs; i++)
		free(ld.refs[i].name);
	free(ld.refs);
	if (rc) {
		policy_free(ld.p);
		errno = EINVAL;
		return -1;
	}
	*out = ld.p;
	return 0;
}

int policy_load(struct policy **out, const char *path, char *err, size_t errlen)
{
	char *text;
	size_t len;

	*out = NULL;
	if (read_file_capped(path, POLICY_FILE_CAP, &text, &len)) {
		int e = errno;
		if (errlen) {
			if (e == EFBIG)
				snprintf(err, errlen, "%s: larger than %u bytes", path, POLICY_FILE_CAP);
			else
				snprintf(err, errlen, "%s: %s", path, strerror(e));
		}
		errno = e;
		return -1;
	}
	int rc = policy_load_mem(out, path, text, len, err, errlen);
	free(text);
	return rc;
}

/* ========================================================== evaluation */

struct hit {
	size_t rule;
	int role;
};

struct policy_scratch {
	size_t nroles;
	uint32_t *seen, gen;
	int *parent;
	int *order;
	size_t norder;
	struct { int role, parent; } *stack;
	size_t capstack;
	struct policy_held *held;
	size_t nheld, capheld;
	struct hit *hits[2];
	size_t nhits[2], caphits[2];
	struct policy_match *m[2];
	size_t capm[2];
	const char **chains;
	size_t capchains;
};

const char *policy_reason_name(enum policy_reason r)
{
	switch (r) {
	case POLICY_REASON_ALLOWED: return "allowed";
	case POLICY_REASON_EXPLICIT_DENY: return "explicit_deny";
	case POLICY_REASON_DEFAULT_DENY: return "default_deny";
	case POLICY_REASON_INVALID: break;
	}
	return "invalid_request";
}

static int field_check(const char *what, const char *s, int may_be_empty, char *err,
                       size_t errlen)
{
	if (!s)
		return gfail(err, errlen, "%s is missing", what);
	size_t n = strnlen(s, POLICY_FIELD_MAX + 1);
	if (!n && !may_be_empty)
		return gfail(err, errlen, "%s is empty", what);
	if (n > POLICY_FIELD_MAX)
		return gfail(err, errlen, "%s is longer than %d bytes", what, POLICY_FIELD_MAX);
	if (!utf8_valid(s, n))
		return gfail(err, errlen, "%s is not valid UTF-8", what);
	return 0;
}

int policy_request_check(const struct policy_request *rq, char *err, size_t errlen)
{
	if (field_check("the subject", rq->subject, 0, err, errlen) ||
	    field_check("the action", rq->action, 0, err, errlen) ||
	    field_check("the resource", rq->resource, 0, err, errlen))
		return -1;
	if (rq->nattrs > POLICY_ATTRS_MAX)
		return gfail(err, errlen, "more than %d attributes", POLICY_ATTRS_MAX);
	for (size_t i = 0; i < rq->nattrs; i++) {
		if (field_check("an attribute name", rq->attrs[i].key, 0, err, errlen) ||
		    field_check("an attribute value", rq->attrs[i].value, 1, err, errlen))
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(rq->attrs[i].key, rq->attrs[j].key))
				return gfail(err, errlen, "attribute '%.40s' given twice", rq->attrs[i].key);
	}
	return 0;
}

static struct policy_scratch *scratch_for(struct policy_result *res, const struct policy *p)
{
	struct policy_scratch *s = res->scratch;
	if (!s)
		s = res->scratch = xzalloc(sizeof(*s));
	if (s->nroles < p->nroles || !s->seen) {
		size_t n = p->nroles > s->nroles ? p->nroles : s->nroles;
		if (!n)
			n = 1;
		free(s->seen);
		s->seen = xcalloc(n, sizeof(*s->seen));
		s->parent = xreallocarray(s->parent, n, sizeof(*s->parent));
		s->order = xreallocarray(s->order, n, sizeof(*s->order));
		s->nroles = n;
		s->gen = 0;
	}
	if (++s->gen == 0) {
		memset(s->seen, 0, s->nroles * sizeof(*s->seen));
		s->gen = 1;
	}
	s->norder = 0;
	s->nheld = 0;
	s->nhits[0] = s->nhits[1] = 0;
	return s;
}

static void hold(struct policy_scratch *s, const char *role, int grant, int line, int col)
{
	if (s->nheld == s->capheld) {
		s->capheld = s->capheld ? 2 * s->capheld : 8;
		s->held = xreallocarray(s->held, s->capheld, sizeof(*s->held));
	}
	s->held[s->nheld++] = (struct policy_held){ role, grant, line, col };
}

/* Depth first from root in inherits order; a role already reached keeps
 * its first path. */
static void expand(const struct policy *p, struct policy_scratch *s, int root)
{
	size_t sp = 0;
	if (s->seen[root] == s->gen)
		return;
	if (!s->capstack) {
		s->capstack = 16;
		s->stack = xreallocarray(s->stack, s->capstack, sizeof(*s->stack));
	}
	s->stack[sp].role = root;
	s->stack[sp++].parent = -1;
	while (sp) {
		int r = s->stack[--sp].role, parent = s->stack[sp].parent;
		if (s->seen[r] == s->gen)
			continue;
		s->seen[r] = s->gen;
		s->parent[r] = parent;
		s->order[s->norder++] = r;
		const struct role *ro = &p->roles[r];
		if (sp + ro->ninherits > s->capstack) {
			while (sp + ro->ninherits > s->capstack)
				s->capstack *= 2;
			s->stack = xreallocarray(s->stack, s->capstack, sizeof(*s->stack));
		}
		for (size_t i = ro->ninherits; i-- > 0;) {
			if (s->seen[ro->inherits[i].id] == s->gen)
				continue;
			s->stack[sp].role = ro->inherits[i].id;
			s->stack[sp++].parent = r;
		}
	}
}

struct rq {
	const struct policy_request *r;
	size_t slen, alen, rlen;
};

static int any_glob(const struct policy_glob *g, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (policy_glob_match(&g[i], s, len))
			return 1;
	return 0;
}

static int conds_hold(const struct rule *ru, const struct policy_request *r)
{
	for (size_t i = 0; i < ru->nconds; i++) {
		const struct cond *c = &ru->conds[i];
		const char *v = NULL;
		for (size_t j = 0; j < r->nattrs; j++)
			if (!strcmp(r->attrs[j].key, c->key)) {
				v = r->attrs[j].value;
				break;
			}
		int in = 0;
		for (size_t j = 0; v && j < c->nvals && !in; j++)
			in = !strcmp(v, c->vals[j]);
		if (in == c->negate)
			return 0;
	}
	return 1;
}

static int rule_matches(const struct rule *ru, const struct rq *q)
{
	if (ru->role < 0 && !any_glob(ru->subjects, ru->nsubjects, q->r->subject, q->slen))
		return 0;
	return any_glob(ru->actions, ru->nactions, q->r->action, q->alen) &&
	       any_glob(ru->resources, ru->nresources, q->r->resource, q->rlen) &&
	       conds_hold(ru, q->r);
}

static void hit(struct policy_scratch *s, int deny, size_t rule, int role)
{
	if (s->nhits[deny] == s->caphits[deny]) {
		s->caphits[deny] = s->caphits[deny] ? 2 * s->caphits[deny] : 8;
		s->hits[deny] = xreallocarray(s->hits[deny], s->caphits[deny], sizeof(struct hit));
	}
	s->hits[deny][s->nhits[deny]++] = (struct hit){ rule, role };
}

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	return (x->rule > y->rule) - (x->rule < y->rule);
}

/* Matches in file order, each with its chain of roles. */
static void explain(const struct policy *p, struct policy_scratch *s, struct policy_result *res)
{
	size_t nchain = 0;
	for (int d = 0; d < 2; d++) {
		if (s->nhits[d] > 1)
			qsort(s->hits[d], s->nhits[d], sizeof(struct hit), hit_cmp);
		for (size_t i = 0; i < s->nhits[d]; i++)
			for (int r = s->hits[d][i].role; r >= 0; r = s->parent[r])
				nchain++;
	}
	if (nchain > s->capchains) {
		s->capchains = nchain;
		s->chains = xreallocarray(s->chains, nchain, sizeof(*s->chains));
	}
	size_t used = 0;
	for (int d = 0; d < 2; d++) {
		if (s->nhits[d] > s->capm[d]) {
			s->capm[d] = s->nhits[d];
			s->m[d] = xreallocarray(s->m[d], s->capm[d], sizeof(struct policy_match));
		}
		for (size_t i = 0; i < s->nhits[d]; i++) {
			const struct hit *h = &s->hits[d][i];
			struct policy_match *m = &s->m[d][i];
			size_t len = 0;
			for (int r = h->role; r >= 0; r = s->parent[r])
				len++;
			size_t k = len;
			for (int r = h->role; r >= 0; r = s->parent[r])
				s->chains[used + --k] = p->roles[r].name;
			*m = (struct policy_match){ h->rule, h->role >= 0 ? p->roles[h->role].name : NULL,
			                            len ? s->chains + used : NULL, len,
			                            p->rules[h->rule].line, p->rules[h->rule].col };
			used += len;
		}
	}
	res->allow = s->m[0];
	res->nallow = s->nhits[0];
	res->deny = s->m[1];
	res->ndeny = s->nhits[1];
	res->held = s->held;
	res->nheld = s->nheld;
}

static const struct subject *find_subject(const struct policy *p, const char *name)
{
	size_t lo = 0, hi = p->nsubjects;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(p->subjects[mid].name, name);
		if (!c)
			return &p->subjects[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static enum policy_decision decide(struct policy_result *res, enum policy_reason why)
{
	res->reason = why;
	res->decision = why == POLICY_REASON_ALLOWED ? POLICY_ALLOW : POLICY_DENY;
	return res->decision;
}

enum policy_decision policy_eval(const struct policy *p, const struct policy_request *r,
                                 int flags, struct policy_result *res)
{
	int full = flags & POLICY_EXPLAIN;
	res->held = NULL;
	res->allow = res->deny = NULL;
	res->nheld = res->nallow = res->ndeny = 0;
	res->why[0] = 0;
	if (policy_request_check(r, res->why, sizeof(res->why)))
		return decide(res, POLICY_REASON_INVALID);

	struct policy_scratch *s = scratch_for(res, p);
	struct rq q = { r, strlen(r->subject), strlen(r->action), strlen(r->resource) };

	/* The roles held: subjects entry, then active grants in file order. */
	const struct subject *su = find_subject(p, r->subject);
	for (size_t i = 0; su && i < su->nroles; i++)
		if (full)
			hold(s, p->roles[su->roles[i].id].name, 0, su->roles[i].line, su->roles[i].col);
	size_t lo = 0, hi = p->ngrants;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(p->grants[p->grant_idx[mid]].subject, r->subject) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t g0 = lo;
	for (size_t i = 0; su && i < su->nroles; i++)
		expand(p, s, su->roles[i].id);
	for (size_t gi = g0; gi < p->ngrants; gi++) {
		const struct grant *g = &p->grants[p->grant_idx[gi]];
		if (strcmp(g->subject, r->subject))
			break;
		if ((g->has_nb && r->now_ms < g->nb) || (g->has_na && r->now_ms >= g->na))
			continue;
		for (size_t i = 0; i < g->nroles; i++) {
			if (full)
				hold(s, p->roles[g->roles[i].id].name, 1, g->line, g->col);
			expand(p, s, g->roles[i].id);
		}
	}

	int denied = 0, allowed = 0;
	for (size_t i = 0; i < s->norder && (full || !denied); i++) {
		const struct role *ro = &p->roles[s->order[i]];
		for (size_t j = 0; j < ro->ndeny && (full || !denied); j++)
			if (rule_matches(&p->rules[ro->deny[j]], &q)) {
				denied = 1;
				if (full)
					hit(s, 1, ro->deny[j], s->order[i]);
			}
	}
	for (size_t j = 0; j < p->nglobal && (full || !denied); j++)
		if (rule_matches(&p->rules[p->global[j]], &q)) {
			denied = 1;
			if (full)
				hit(s, 1, p->global[j], -1);
		}
	for (size_t i = 0; i < s->norder && (full || (!denied && !allowed)); i++) {
		const struct role *ro = &p->roles[s->order[i]];
		for (size_t j = 0; j < ro->nallow && (full || !allowed); j++)
			if (rule_matches(&p->rules[ro->allow[j]], &q)) {
				allowed = 1;
				if (full)
					hit(s, 0, ro->allow[j], s->order[i]);
			}
	}
	if (full)
		explain(p, s, res);
	return decide(res, denied ? POLICY_REASON_EXPLICIT_DENY :
	                   allowed ? POLICY_REASON_ALLOWED : POLICY_REASON_DEFAULT_DENY);
}

void policy_result_free(struct policy_result *res)
{
	struct policy_scratch *s = res->scratch;
	if (s) {
		free(s->seen);
		free(s->parent);
		free(s->order);
		free(s->stack);
		free(s->held);
		for (int d = 0; d < 2; d++) {
			free(s->hits[d]);
			free(s->m[d]);
		}
		free(s->chains);
		free(s);
	}
	memset(res, 0, sizeof(*res));
}

/* ================================================================ JSON */

static void jw_at(struct jw *w, const char *key, const struct policy *p, int line, int col)
{
	char *at = xasprintf("%s:%d:%d", p->name, line, col);
	jw_kv_str(w, key, at);
	free(at);
}

static void jw_matches(struct jw *w, const struct policy *p, const char *key,
                       const struct policy_match *m, size_t n)
{
	jw_key(w, key);
	jw_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		jw_obj_begin(w);
		jw_at(w, "rule", p, m[i].line, m[i].col);
		jw_key(w, "role");
		if (m[i].role)
			jw_str(w, m[i].role);
		else
			jw_null(w);
		jw_key(w, "chain");
		jw_arr_begin(w);
		for (size_t k = 0; k < m[i].nchain; k++)
			jw_str(w, m[i].chain[k]);
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

void policy_result_json(const struct policy *p, const struct policy_request *rq,
                        const struct policy_result *res, struct jw *w)
{
	char now[RFC3339_MS_LEN];

	jw_obj_begin(w);
	jw_kv_str(w, "decision", res->decision == POLICY_ALLOW ? "allow" : "deny");
	jw_kv_str(w, "reason", policy_reason_name(res->reason));
	if (res->reason == POLICY_REASON_INVALID) {
		jw_kv_str(w, "error", res->why);
		jw_obj_end(w);
		return;
	}
	jw_kv_str(w, "subject", rq->subject);
	jw_kv_str(w, "action", rq->action);
	jw_kv_str(w, "resource", rq->resource);
	time_rfc3339_ms(rq->now_ms, now);
	jw_kv_str(w, "now", now);
	jw_key(w, "roles");
	jw_arr_begin(w);
	for (size_t i = 0; i < res->nheld; i++) {
		jw_obj_begin(w);
		jw_kv_str(w, "role", res->held[i].role);
		jw_kv_str(w, "via", res->held[i].grant ? "grant" : "subject");
		jw_at(w, "at", p, res->held[i].line, res->held[i].col);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_matches(w, p, "allow", res->allow, res->nallow);
	jw_matches(w, p, "deny", res->deny, res->ndeny);
	jw_obj_end(w);
}

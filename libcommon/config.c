/* config.c - apcore.yaml through libyaml's document API, flattened to dot
 * keys ({auth: {api_key: x}} is the entry "auth.api_key").
 *
 * What is accepted: one document whose top level is a mapping (an empty
 * file, comments only, or a plain null such as "---" or "~" give no
 * entries); keys that are non-empty scalars without '.', control
 * characters or NUL, and unique within their mapping.  Limits: MAX_NODES
 * values in the file (libyaml's document holds them all), MAX_DEPTH nested
 * collections, and, once aliases are expanded, MAX_ENTRIES entries and
 * MAX_BYTES of key and value text (a few lines of nested aliases can
 * expand exponentially, and an alias may even contain itself).
 * Merge keys ("<<") are rejected: libyaml does not apply them, and
 * flattening "<<" as an ordinary key would silently give wrong entries.
 * Keys are checked in every mapping, including those inside sequences,
 * although only the mappings on the way to a leaf are flattened.  Because
 * no key contains '.', two different paths never flatten to the same
 * dotted key, so per-mapping duplicate checks also rule out duplicates
 * like "a.b: 1" next to "a: {b: 2}" (the first fails the '.' rule).
 *
 * Values: a scalar leaf is CFG_SCALAR with its text, or CFG_NULL (value
 * NULL) for a plain, untagged "", "~", "null", "Null" or "NULL" or any
 * scalar tagged !!null.  A sequence is one CFG_SEQ entry; an empty mapping
 * is a CFG_MAP entry.  A scalar containing NUL is rejected (the value is a
 * C string).
 *
 * Positions.  libyaml marks count characters (code points; CRLF counts two,
 * a leading BOM none); they are turned into byte offsets into c->text.
 * line and col are 1-based, col in characters.  For a scalar value,
 * [start, end) is the scalar itself as written, which is what libyaml's
 * scalar token covers:
 *   plain       the text without surrounding blanks or a trailing comment
 *               ("k: a b  # c" gives "a b"); a multi-line plain scalar
 *               spans its lines
 *   'single'    including both quotes
 *   "double"    including both quotes
 *   | and >     from the indicator (with any chomping and indentation
 *               digits) to the start of the first line after the scalar,
 *               or the end of the file: the final line break and trailing
 *               blank lines are inside, so a replacement must end in "\n"
 *   empty       start == end, right after the ':' (or after the anchor or
 *               tag of an empty value): an insertion point, so a writer
 *               must add the separating space itself
 * libyaml's node marks start at an anchor or tag in front of the scalar
 * ("&a x", "!!str x"); we use the token's start instead, so replacing the
 * range keeps the properties.  Sequences and empty mappings get the node's
 * range ('[' to after ']', '{}', or '-' of a block sequence to the start
 * of the line after it), properties included.
 * Through an alias an entry gets the anchored node's range, line and col,
 * so entries sharing a node have equal ranges: editing that text changes
 * all of them, and an in-place editor must refuse a range that more than
 * one entry has.
 */

#include "libcommon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 64
#define MAX_ENTRIES 100000
#define MAX_BYTES (64u << 20)
#define MAX_NODES 1000000  /* libyaml holds ~150 bytes per node */
#define CKPT_SHIFT 8   /* one character-to-byte checkpoint per 256 chars */

/* A scalar token that is a mapping key or value (char indices). */
struct stok {
	size_t start, end;
	int line, col;
};

struct loader {
	struct cfg *c;
	const char *name;
	char *err;
	size_t errlen;
	yaml_document_t doc;
	int have_doc;
	size_t bom;                 /* 3 when the text starts with a UTF-8 BOM */
	size_t *ckpt, nckpt;        /* byte offset of character k << CKPT_SHIFT */
	struct stok *tok;           /* sorted by end */
	size_t ntok, captok;
	size_t *tag, ntag, captag;  /* start of every tag token, ascending */
	unsigned char *seen;        /* collection nodes already checked */
	size_t cap;                 /* entries allocated */
	size_t bytes;               /* key and value bytes held by entries */
};

#define MARK(m) (int)(m).line + 1, (int)(m).column + 1

/* "NAME:LINE:COL: message" (or "NAME: message" when line is 0) into the
 * caller's error buffer.  Always returns -1. */
PRINTF(4, 5) static int fail(struct loader *ld, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsgf_at(ld->err, ld->errlen, ld->name, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

/* A key for a message: at most 40 bytes, cut at a character boundary,
 * control characters as '?'. */
static const char *show(const yaml_node_t *k, char out[48])
{
	const unsigned char *s = k->data.scalar.value;
	size_t n = k->data.scalar.length, cut = n, i;
	if (cut > 40)
		for (cut = 40; cut && (s[cut] & 0xc0) == 0x80; cut--)
			;
	for (i = 0; i < cut; i++)
		out[i] = s[i] < 0x20 || s[i] == 0x7f ? '?' : (char)s[i];
	strcpy(out + i, cut < n ? "..." : "");
	return out;
}

/* 1-based line and column of a byte offset, counted the way libyaml counts
 * them for '\n'-terminated lines. */
static void pos_of(const struct loader *ld, size_t off, int *line, int *col)
{
	const unsigned char *t = (const unsigned char *)ld->c->text;
	int l = 1, c = 1;
	for (size_t i = ld->bom; i < off && i < ld->c->len; i++) {
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

/* Offset of the first byte that is not part of a valid UTF-8 sequence;
 * only called on text utf8_valid() rejected. */
static size_t utf8_bad_offset(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t l;
		for (l = 1; l <= 4 && i + l <= n; l++)
			if (utf8_valid(s + i, l))
				break;
		if (l > 4 || i + l > n)
			return i;
		i += l;
	}
	return n;
}

static void build_checkpoints(struct loader *ld)
{
	const unsigned char *t = (const unsigned char *)ld->c->text;
	size_t len = ld->c->len, nchars = 0, i;

	for (i = 0; i < len && t[i] < 0x80; i++)
		;
	if (i == len)
		return;  /* ASCII: character index == byte offset */
	for (i = ld->bom; i < len; i++)
		nchars += (t[i] & 0xc0) != 0x80;
	ld->nckpt = (nchars >> CKPT_SHIFT) + 1;
	ld->ckpt = xcalloc(ld->nckpt, sizeof(*ld->ckpt));
	for (size_t k = 0; k < ld->nckpt; k++)
		ld->ckpt[k] = len;
	size_t ci = 0;
	for (i = ld->bom; i < len; i++) {
		if ((t[i] & 0xc0) == 0x80)
			continue;
		if (!(ci & ((1u << CKPT_SHIFT) - 1)))
			ld->ckpt[ci >> CKPT_SHIFT] = i;
		ci++;
	}
}

static size_t byte_off(const struct loader *ld, size_t ci)
{
	if (!ld->ckpt)
		return ci < ld->c->len ? ci : ld->c->len;
	const unsigned char *t = (const unsigned char *)ld->c->text;
	size_t k = ci >> CKPT_SHIFT;
	if (k >= ld->nckpt)
		k = ld->nckpt - 1;
	size_t b = ld->ckpt[k], n = k << CKPT_SHIFT, len = ld->c->len;
	while (n < ci && b < len) {
		b++;
		while (b < len && (t[b] & 0xc0) == 0x80)
			b++;
		n++;
	}
	return b;
}

static int parser_fail(struct loader *ld, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "invalid YAML";
	int line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return fail(ld, 0, 0, "out of memory");
	case YAML_READER_ERROR:
		pos_of(ld, p->problem_offset, &line, &col);
		if (p->problem_value >= 0)
			return fail(ld, line, col, "%s (U+%04X)", problem, (unsigned)p->problem_value);
		return fail(ld, line, col, "%s", problem);
	default:
		if (p->context)
			return fail(ld, MARK(p->problem_mark), "%s (%s at line %d, column %d)", problem,
			            p->context, MARK(p->context_mark));
		return fail(ld, MARK(p->problem_mark), "%s", problem);
	}
}

/* A pass with libyaml's scanner alone: the scalar tokens that are mapping
 * keys or values (their marks exclude the anchor and tag that node marks
 * include), where tags are, aliases used as keys (the document API
 * resolves an alias to its node and loses where it was), and a first
 * bound on nesting. */
static int scan_tokens(struct loader *ld)
{
	yaml_parser_t p;
	yaml_token_t t;
	yaml_token_type_t prev = YAML_NO_TOKEN;
	int rc = 0, depth = 0;
	size_t nodes = 0;

	if (!yaml_parser_initialize(&p))
		return fail(ld, 0, 0, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)ld->c->text, ld->c->len);
	for (;;) {
		if (!yaml_parser_scan(&p, &t)) {
			rc = parser_fail(ld, &p);
			break;
		}
		yaml_token_type_t type = t.type;
		int opens = type == YAML_BLOCK_SEQUENCE_START_TOKEN ||
		            type == YAML_BLOCK_MAPPING_START_TOKEN ||
		            type == YAML_FLOW_SEQUENCE_START_TOKEN ||
		            type == YAML_FLOW_MAPPING_START_TOKEN;
		if ((opens || type == YAML_SCALAR_TOKEN) && ++nodes > MAX_NODES) {
			rc = fail(ld, MARK(t.start_mark), "more than %d values", MAX_NODES);
		} else if (opens) {
			if (++depth > MAX_DEPTH)
				rc = fail(ld, MARK(t.start_mark), "nested deeper than %d levels",
				          MAX_DEPTH);
		} else if (type == YAML_BLOCK_END_TOKEN || type == YAML_FLOW_SEQUENCE_END_TOKEN ||
		           type == YAML_FLOW_MAPPING_END_TOKEN) {
			depth--;
		} else if (type == YAML_ALIAS_TOKEN && prev == YAML_KEY_TOKEN) {
			rc = fail(ld, MARK(t.start_mark), "an alias cannot be a mapping key");
		} else if (type == YAML_SCALAR_TOKEN &&
		           (prev == YAML_KEY_TOKEN || prev == YAML_VALUE_TOKEN)) {
			if (ld->ntok == ld->captok) {
				ld->captok = ld->captok ? 2 * ld->captok : 64;
				ld->tok = xreallocarray(ld->tok, ld->captok, sizeof(*ld->tok));
			}
			ld->tok[ld->ntok++] = (struct stok){ t.start_mark.index, t.end_mark.index,
			                                     MARK(t.start_mark) };
		} else if (type == YAML_TAG_TOKEN) {
			if (ld->ntag == ld->captag) {
				ld->captag = ld->captag ? 2 * ld->captag : 16;
				ld->tag = xreallocarray(ld->tag, ld->captag, sizeof(*ld->tag));
			}
			ld->tag[ld->ntag++] = t.start_mark.index;
		}
		if (type != YAML_ANCHOR_TOKEN && type != YAML_TAG_TOKEN)
			prev = type;
		yaml_token_delete(&t);
		if (rc || type == YAML_STREAM_END_TOKEN)
			break;
	}
	yaml_parser_delete(&p);
	return rc;
}

static const struct stok *find_tok(const struct loader *ld, size_t end)
{
	size_t lo = 0, hi = ld->ntok;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ld->tok[mid].end < end)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ld->ntok && ld->tok[lo].end == end ? &ld->tok[lo] : NULL;
}

/* Does the node carry an explicit tag?  Its properties come first, so a tag
 * token starting inside the node's range is its own. */
static int node_tagged(const struct loader *ld, const yaml_node_t *n)
{
	size_t lo = 0, hi = ld->ntag;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ld->tag[mid] < n->start_mark.index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ld->ntag && ld->tag[lo] < n->end_mark.index;
}

static int is_null(const struct loader *ld, const yaml_node_t *n)
{
	static const char *const forms[] = { "", "~", "null", "Null", "NULL" };
	if (n->type != YAML_SCALAR_NODE)
		return 0;
	if (n->tag && !strcmp((const char *)n->tag, YAML_NULL_TAG))
		return 1;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || node_tagged(ld, n))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++)
		if (n->data.scalar.length == strlen(forms[i]) &&
		    !memcmp(n->data.scalar.value, forms[i], n->data.scalar.length))
			return 1;
	return 0;
}

/* Where a scalar node is written: its token, or for an empty scalar (which
 * has none) the insertion point at the end of the node. */
struct spos {
	size_t start, end;
	int line, col;
};

static struct spos scalar_pos(const struct loader *ld, const yaml_node_t *n)
{
	const struct stok *t = find_tok(ld, n->end_mark.index);
	struct spos p;
	if (t && t->start >= n->start_mark.index) {
		p = (struct spos){ t->start, t->end, t->line, t->col };
	} else {
		p = (struct spos){ n->end_mark.index, n->end_mark.index, MARK(n->end_mark) };
	}
	p.start = byte_off(ld, p.start);
	p.end = byte_off(ld, p.end);
	return p;
}

static yaml_node_t *node_at(struct loader *ld, int index)
{
	return yaml_document_get_node(&ld->doc, index);
}

struct keyref {
	const unsigned char *s;
	size_t n, i;
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	int r = memcmp(x->s, y->s, x->n);
	if (r)
		return r;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* (libcommon.h)  Sorted by text then position, equal scalars form runs
 * whose first two are an occurrence and its first repeat; the repeat that
 * comes first in the file wins. */
int yaml_first_dup(const yaml_node_t *const *nodes, size_t n, size_t *first, size_t *second)
{
	if (n < 2)
		return 0;
	struct keyref *refs = xcalloc(n, sizeof(*refs));
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct keyref){ nodes[i]->data.scalar.value, nodes[i]->data.scalar.length, i };
	qsort(refs, n, sizeof(*refs), keyref_cmp);
	*second = n;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && refs[j].n == refs[i].n && !memcmp(refs[j].s, refs[i].s, refs[i].n))
			j++;
		if (j - i > 1 && refs[i + 1].i < *second) {
			*first = refs[i].i;
			*second = refs[i + 1].i;
		}
		i = j;
	}
	free(refs);
	return *second < n;
}

/* Keys of one mapping: scalars, no merge key, no NUL or control
 * characters, no duplicates. */
static int check_keys(struct loader *ld, const yaml_node_t *map)
{
	const yaml_node_pair_t *pairs = map->data.mapping.pairs.start;
	size_t n = (size_t)(map->data.mapping.pairs.top - pairs);
	char shown[48];

	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *k = node_at(ld, pairs[i].key);
		if (k->type != YAML_SCALAR_NODE)
			return fail(ld, MARK(k->start_mark), "mapping keys must be scalars, not a %s",
			            k->type == YAML_MAPPING_NODE ? "mapping" : "sequence");
		struct spos p = scalar_pos(ld, k);
		const unsigned char *s = k->data.scalar.value;
		size_t len = k->data.scalar.length;
		if (k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && len == 2 && !memcmp(s, "<<", 2) &&
		    !node_tagged(ld, k))
			return fail(ld, p.line, p.col, "merge keys ('<<') are not supported; "
			            "write the keys out");
		for (size_t j = 0; j < len; j++)
			if (s[j] < 0x20 || s[j] == 0x7f)
				return fail(ld, p.line, p.col, "key '%s' contains a control character",
				            show(k, shown));
	}
	if (n < 2)
		return 0;

	const yaml_node_t **keys = xcalloc(n, sizeof(*keys));
	size_t first, second;
	for (size_t i = 0; i < n; i++)
		keys[i] = node_at(ld, pairs[i].key);
	int dup = yaml_first_dup(keys, n, &first, &second);
	free(keys);
	if (!dup)
		return 0;
	const yaml_node_t *k2 = node_at(ld, pairs[second].key);
	struct spos p1 = scalar_pos(ld, node_at(ld, pairs[first].key));
	struct spos p2 = scalar_pos(ld, k2);
	return fail(ld, p2.line, p2.col, "duplicate key '%s' (first at line %d, column %d)",
	            show(k2, shown), p1.line, p1.col);
}

/* Check every collection reachable from n once, at most MAX_DEPTH
 * deep. */
static int check_tree(struct loader *ld, yaml_node_t *n, int depth)
{
	size_t idx = (size_t)(n - ld->doc.nodes.start);
	if (n->type == YAML_SCALAR_NODE || ld->seen[idx])
		return 0;
	if (depth > MAX_DEPTH)
		return fail(ld, MARK(n->start_mark), "nested deeper than %d levels", MAX_DEPTH);
	ld->seen[idx] = 1;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++)
			if (check_tree(ld, node_at(ld, *it), depth + 1))
				return -1;
		return 0;
	}
	if (check_keys(ld, n))
		return -1;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++)
		if (check_tree(ld, node_at(ld, pr->value), depth + 1))
			return -1;
	return 0;
}

static int add_entry(struct loader *ld, const struct strbuf *key, const yaml_node_t *v,
                     const struct spos *kp)
{
	struct cfg *c = ld->c;
	struct cfg_entry e = { 0 };

	if (c->n >= MAX_ENTRIES)
		return fail(ld, kp->line, kp->col, "more than %d entries after flattening",
		            MAX_ENTRIES);
	if (v->type == YAML_SCALAR_NODE) {
		struct spos p = scalar_pos(ld, v);
		e.start = p.start;
		e.end = p.end;
		e.line = p.line;
		e.col = p.col;
		e.plain = v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		e.kind = is_null(ld, v) ? CFG_NULL : CFG_SCALAR;
		if (memchr(v->data.scalar.value, 0, v->data.scalar.length))
			return fail(ld, p.line, p.col, "the value of '%s' contains a NUL character",
			            key->buf);
	} else {
		e.start = byte_off(ld, v->start_mark.index);
		e.end = byte_off(ld, v->end_mark.index);
		e.line = (int)v->start_mark.line + 1;
		e.col = (int)v->start_mark.column + 1;
		e.kind = v->type == YAML_SEQUENCE_NODE ? CFG_SEQ : CFG_MAP;
	}
	size_t vlen = e.kind == CFG_SCALAR ? v->data.scalar.length + 1 : 0;
	if (key->len + 1 + vlen > MAX_BYTES - ld->bytes)
		return fail(ld, kp->line, kp->col, "more than %u bytes of keys and values after "
		            "flattening", MAX_BYTES);
	ld->bytes += key->len + 1 + vlen;

	e.key = xstrndup(key->buf, key->len);
	if (e.kind == CFG_SCALAR)
		e.value = xstrndup((const char *)v->data.scalar.value, v->data.scalar.length);
	if (c->n == ld->cap) {
		ld->cap = ld->cap ? 2 * ld->cap : 16;
		c->e = xreallocarray(c->e, ld->cap, sizeof(*c->e));
	}
	c->e[c->n++] = e;
	return 0;
}

static int flatten(struct loader *ld, const yaml_node_t *map, struct strbuf *key, int depth)
{
	char shown[48];

	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
	     pr++) {
		const yaml_node_t *k = node_at(ld, pr->key), *v = node_at(ld, pr->value);
		struct spos kp = scalar_pos(ld, k);
		size_t klen = k->data.scalar.length, mark = key->len;
		int rc;

		if (!klen)
			return fail(ld, kp.line, kp.col, "empty key");
		if (memchr(k->data.scalar.value, '.', klen))
			return fail(ld, kp.line, kp.col, "key '%s' contains '.'; nest it instead",
			            show(k, shown));
		if (klen + 1 > MAX_BYTES - key->len)
			return fail(ld, kp.line, kp.col, "key longer than %u bytes after "
			            "flattening", MAX_BYTES);
		if (mark)
			sb_putc(key, '.');
		sb_add(key, k->data.scalar.value, klen);
		if (v->type == YAML_MAPPING_NODE && v->data.mapping.pairs.top > v->data.mapping.pairs.start) {
			if (depth >= MAX_DEPTH)
				rc = fail(ld, kp.line, kp.col, "nested deeper than %d levels (a recursive "
				          "alias?)", MAX_DEPTH);
			else
				rc = flatten(ld, v, key, depth + 1);
		} else {
			rc = add_entry(ld, key, v, &kp);
		}
		key->len = mark;
		key->buf[mark] = 0;
		if (rc)
			return rc;
	}
	return 0;
}

static int load(struct loader *ld)
{
	struct cfg *c = ld->c;
	yaml_parser_t p;
	yaml_document_t extra;
	int line, col, rc;

	if (c->len >= 3 && !memcmp(c->text, "\xef\xbb\xbf", 3))
		ld->bom = 3;
	if (!utf8_valid(c->text, c->len)) {
		pos_of(ld, utf8_bad_offset(c->text, c->len), &line, &col);
		return fail(ld, line, col, "invalid UTF-8");
	}
	build_checkpoints(ld);
	/* Tokens first: libyaml's scanner slows down quadratically with flow
	 * nesting, and this pass stops at the depth limit. */
	if (scan_tokens(ld))
		return -1;

	if (!yaml_parser_initialize(&p))
		return fail(ld, 0, 0, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)c->text, c->len);
	if (!yaml_parser_load(&p, &ld->doc)) {
		rc = parser_fail(ld, &p);
		yaml_parser_delete(&p);
		return rc;
	}
	ld->have_doc = 1;
	if (!yaml_parser_load(&p, &extra)) {
		rc = parser_fail(ld, &p);
		yaml_parser_delete(&p);
		return rc;
	}
	rc = 0;
	if (yaml_document_get_root_node(&extra))
		rc = fail(ld, MARK(extra.start_mark), "more than one document");
	yaml_document_delete(&extra);
	yaml_parser_delete(&p);
	if (rc)
		return -1;

	yaml_node_t *root = yaml_document_get_root_node(&ld->doc);
	if (!root || is_null(ld, root))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return fail(ld, MARK(root->start_mark), "the top level must be a mapping, not a %s",
		            root->type == YAML_SEQUENCE_NODE ? "sequence" : "scalar");
	ld->seen = xcalloc((size_t)(ld->doc.nodes.top - ld->doc.nodes.start), 1);
	if (check_tree(ld, root, 1))
		return -1;

	struct strbuf key = STRBUF_INIT;
	sb_grow(&key, 64);
	rc = flatten(ld, root, &key, 1);
	sb_free(&key);
	return rc;
}

/* Load from text (heap, len + 1 bytes, NUL-terminated), which c takes
 * over whatever the outcome. */
static int load_owned(struct cfg *c, const char *name, char *text, size_t len, char *err,
                      size_t errlen)
{
	struct loader ld = { .c = c, .name = name ? name : "(config)", .err = err, .errlen = errlen };

	c->path = xstrdup(ld.name);
	c->text = text;
	c->len = len;

	int rc = load(&ld);

	if (ld.have_doc)
		yaml_document_delete(&ld.doc);
	free(ld.ckpt);
	free(ld.tok);
	free(ld.tag);
	free(ld.seen);
	if (rc) {
		cfg_free(c);
		errno = EINVAL;
	}
	return rc;
}

int cfg_load_mem(struct cfg *c, const char *name, const char *text, size_t len, char *err,
                 size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (errlen)
		err[0] = 0;
	if (len > XIO_DEFAULT_CAP) {
		if (errlen)
			snprintf(err, errlen, "%s: larger than %u bytes", name ? name : "(config)",
			         XIO_DEFAULT_CAP);
		errno = EFBIG;
		return -1;
	}
	char *copy = xmalloc(len + 1);
	if (len)
		memcpy(copy, text, len);
	copy[len] = 0;
	return load_owned(c, name, copy, len, err, errlen);
}

int cfg_load(struct cfg *c, const char *path, char *err, size_t errlen)
{
	char *text;
	size_t len;

	memset(c, 0, sizeof(*c));
	if (errlen)
		err[0] = 0;
	if (read_file_capped(path, XIO_DEFAULT_CAP, &text, &len) != 0) {
		int e = errno;
		if (errlen) {
			if (e == EFBIG)
				snprintf(err, errlen, "%s: larger than %u bytes", path, XIO_DEFAULT_CAP);
			else
				snprintf(err, errlen, "%s: %s", path, strerror(e));
		}
		errno = e;
		return -1;
	}
	return load_owned(c, path, text, len, err, errlen);
}

const struct cfg_entry *cfg_get(const struct cfg *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->e[i].key, key))
			return &c->e[i];
	return NULL;
}

void cfg_free(struct cfg *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].key);
		free(c->e[i].value);
	}
	free(c->e);
	free(c->text);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

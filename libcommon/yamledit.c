/* yamledit.c - set one dotted key of a YAML file, keeping every other byte.
 *
 * libyaml's event API gives the structure together with the marks where
 * each node is written; aliases and anchors are seen where they are.  The
 * edit splices new text into one byte range and never re-serialises.  The
 * result is parsed again and compared node by node with the input (only
 * the edited value or the added entry may differ) before it is returned.
 *
 * libyaml marks count code points (CR LF as two), not bytes; doc_byte()
 * converts.  What an event's marks cover:
 *   scalar   from its first property (&anchor, !tag) or else the scalar
 *            itself, to the end of the scalar: after the closing quote;
 *            after the last non-blank character of a plain scalar; for |
 *            and > after the trailing line breaks, possibly inside the
 *            next line's indentation.  The scalar token (yaml_parser_scan)
 *            starts at the quote or the | > indicator.
 *   empty    zero width: after the ':' in block context, at the next ','
 *            or '}' in flow context; after the properties if it has any.
 *   alias    the "*name" text.
 *   mapping  block: its first key (or its properties) to the next token at
 *            a lower indentation; flow: '{' (or properties) to after '}'.
 *
 * Policy.  A value is replaced from its scalar token (properties kept) to
 * its end; a | or > scalar up to its last content line, its header comment
 * kept.  An alias value is replaced by the scalar where the alias is.  A
 * new key goes on a line of its own after the whole value of the
 * mapping's last entry, at the siblings' column; new parents are indented
 * by the file's own step.  In flow mappings ", k: v" goes after the last
 * value.  An empty value on the path becomes the new mapping.  Refused:
 * editing a node that an alias elsewhere names (or anything inside one),
 * a path through an alias, non-string tags, duplicate or dotted keys on
 * the path, a new parent where a merge key (<<) could hold it, more than
 * one document.  New values are plain only in block context and from a
 * conservative set, double-quoted otherwise.
 */

#include "libcommon.h"
#include "yamledit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YE_MAX_DEPTH 256
#define YE_MAX_COMPS 64
#define YE_MAX_KEY 1000        /* libyaml: a simple key fits in 1024 characters */
#define YE_CP_STEP 64          /* code points between doc_byte() anchors */

enum ntype { N_SCALAR, N_MAP, N_SEQ, N_ALIAS };

struct ynode {
	enum ntype type;
	int parent;
	int def;               /* alias: the anchored node it names */
	int used_by;           /* first alias naming this node, -1 if none */
	int style;             /* yaml_scalar_style_t / yaml_mapping_style_t / ... */
	size_t start, end;     /* event marks, in code points */
	size_t close;          /* collection: start mark of its end event */
	size_t line, col;      /* start mark, 0-based */
	char *value;           /* scalar text / alias name, NUL-terminated */
	size_t vlen;
	char *anchor, *tag;
	int *kids;             /* mapping: key, value, key, value...; sequence: items */
	size_t nkids, capkids;
};

struct ydoc {
	const char *name;
	const char *text;
	size_t len;
	size_t bom;            /* bytes of a UTF-8 byte order mark */
	struct ynode *n;
	size_t nn, capn;
	int root;              /* -1: no document */
	size_t *cpmap;         /* byte offset of code point YE_CP_STEP * i */
	size_t ncp;
};

PRINTF(6, 7)
static void seterr(char *err, size_t errlen, const char *name, size_t line, size_t col,
                   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsgf_at(err, errlen, name, (int)line, (int)col, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------- positions */

static size_t u8_width(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Call only on valid UTF-8. */
static void doc_index(struct ydoc *d)
{
	size_t i = d->bom, cp = 0;

	d->cpmap = xreallocarray(NULL, d->len / YE_CP_STEP + 2, sizeof(size_t));
	while (i < d->len) {
		if (cp % YE_CP_STEP == 0)
			d->cpmap[cp / YE_CP_STEP] = i;
		i += u8_width((unsigned char)d->text[i]);
		cp++;
	}
	d->ncp = cp;
}

static size_t doc_byte(const struct ydoc *d, size_t cp)
{
	if (cp >= d->ncp)
		return d->len;
	size_t b = d->cpmap[cp / YE_CP_STEP];
	for (size_t k = cp % YE_CP_STEP; k; k--)
		b += u8_width((unsigned char)d->text[b]);
	return b;
}

/* 1-based line and column (in code points) of a byte offset. */
static void doc_pos(const struct ydoc *d, size_t off, size_t *line, size_t *col)
{
	size_t l = 1, c = 1;
	for (size_t i = d->bom; i < off && i < d->len; i++) {
		unsigned char ch = (unsigned char)d->text[i];
		if (ch == '\n' || (ch == '\r' && (i + 1 >= d->len || d->text[i + 1] != '\n'))) {
			l++;
			c = 1;
		} else if (ch != '\r' && (ch & 0xC0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

static int is_brk(char c)
{
	return c == '\n' || c == '\r';
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Offset of the start of the line after the one holding byte e (or len). */
static size_t line_after(const struct ydoc *d, size_t e)
{
	while (e < d->len && !is_brk(d->text[e]))
		e++;
	if (e < d->len && d->text[e] == '\r')
		e++;
	if (e < d->len && d->text[e] == '\n')
		e++;
	return e;
}

/* The header line of a block scalar whose | or > is at byte s: *ind after
 * its chomping and indentation indicators, *hend at its line break (or
 * len); returns the chomping indicator ('+', '-' or 0). */
static char block_header(const struct ydoc *d, size_t s, size_t *ind, size_t *hend)
{
	const char *t = d->text;
	char chomp = 0;
	size_t h;

	for (h = s + 1; h < d->len && (t[h] == '+' || t[h] == '-' || (t[h] >= '0' && t[h] <= '9')); h++)
		if (t[h] == '+' || t[h] == '-')
			chomp = t[h];
	*ind = h;
	while (h < d->len && !is_brk(t[h]))
		h++;
	*hend = h;
	return chomp;
}

/* ------------------------------------------------------- the tree */

static void doc_free(struct ydoc *d)
{
	for (size_t i = 0; i < d->nn; i++) {
		struct ynode *x = &d->n[i];
		if (x->value) {
			secure_wipe(x->value, x->vlen);
			free(x->value);
		}
		free(x->anchor);
		free(x->tag);
		free(x->kids);
	}
	free(d->n);
	free(d->cpmap);
	d->n = NULL;
	d->cpmap = NULL;
	d->nn = d->capn = 0;
}

static int doc_add(struct ydoc *d, enum ntype type, const yaml_event_t *ev, int parent)
{
	if (d->nn == d->capn) {
		d->capn = d->capn ? d->capn * 2 : 64;
		d->n = xreallocarray(d->n, d->capn, sizeof(*d->n));
	}
	int i = (int)d->nn++;
	struct ynode *x = &d->n[i];
	const yaml_char_t *anchor = NULL, *tag = NULL;

	memset(x, 0, sizeof(*x));
	x->type = type;
	x->parent = parent;
	x->def = -1;
	x->used_by = -1;
	x->start = ev->start_mark.index;
	x->end = ev->end_mark.index;
	x->line = ev->start_mark.line;
	x->col = ev->start_mark.column;
	switch (type) {
	case N_SCALAR:
		x->value = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		x->vlen = ev->data.scalar.length;
		x->style = ev->data.scalar.style;
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case N_ALIAS:
		x->value = xstrdup((const char *)ev->data.alias.anchor);
		x->vlen = strlen(x->value);
		break;
	case N_MAP:
		x->style = ev->data.mapping_start.style;
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	case N_SEQ:
		x->style = ev->data.sequence_start.style;
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	}
	if (anchor)
		x->anchor = xstrdup((const char *)anchor);
	if (tag)
		x->tag = xstrdup((const char *)tag);
	if (parent < 0) {
		d->root = i;
	} else {
		struct ynode *p = &d->n[parent];
		if (p->nkids == p->capkids) {
			p->capkids = p->capkids ? p->capkids * 2 : 8;
			p->kids = xreallocarray(p->kids, p->capkids, sizeof(int));
		}
		p->kids[p->nkids++] = i;
	}
	return i;
}

static void parse_error(const struct ydoc *d, const yaml_parser_t *p, char *err, size_t errlen)
{
	const char *what = p->problem ? p->problem : "cannot parse";
	size_t line, col;

	if (p->error == YAML_MEMORY_ERROR) {
		seterr(err, errlen, d->name, 0, 0, "out of memory parsing YAML");
	} else if (p->error == YAML_READER_ERROR) {
		doc_pos(d, p->problem_offset, &line, &col);
		seterr(err, errlen, d->name, line, col, "%s", what);
	} else if (p->context) {
		seterr(err, errlen, d->name, p->problem_mark.line + 1, p->problem_mark.column + 1,
		       "%s (%s at %zu:%zu)", what, p->context, p->context_mark.line + 1,
		       p->context_mark.column + 1);
	} else {
		seterr(err, errlen, d->name, p->problem_mark.line + 1, p->problem_mark.column + 1,
		       "%s", what);
	}
}

struct anchor_def {
	char *name;
	int node;
};

/* Parse text into d: one document at most, every node with its marks. */
static int doc_parse(struct ydoc *d, const char *name, const char *text, size_t len,
                     char *err, size_t errlen)
{
	yaml_parser_t p;
	int stack[YE_MAX_DEPTH];
	int sp = 0, ndoc = 0, rc = -1;
	struct anchor_def *defs = NULL;
	size_t ndefs = 0;

	memset(d, 0, sizeof(*d));
	d->name = name;
	d->text = text;
	d->len = len;
	d->root = -1;
	if (len >= 2 && (((unsigned char)text[0] == 0xFE && (unsigned char)text[1] == 0xFF) ||
	                 ((unsigned char)text[0] == 0xFF && (unsigned char)text[1] == 0xFE))) {
		seterr(err, errlen, name, 0, 0, "not UTF-8 (UTF-16 byte order mark)");
		return -1;
	}
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
		d->bom = 3;
	if (!yaml_parser_initialize(&p)) {
		seterr(err, errlen, name, 0, 0, "out of memory parsing YAML");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	for (;;) {
		yaml_event_t ev;
		int bad = 0, parent = sp ? stack[sp - 1] : -1, i;

		if (!yaml_parser_parse(&p, &ev)) {
			parse_error(d, &p, err, errlen);
			goto out;
		}
		yaml_event_type_t type = ev.type;
		switch (type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++ndoc > 1) {
				seterr(err, errlen, name, ev.start_mark.line + 1,
				       ev.start_mark.column + 1,
				       "a second YAML document; only a single document is supported");
				bad = 1;
			}
			break;
		case YAML_ALIAS_EVENT:
			i = doc_add(d, N_ALIAS, &ev, parent);
			for (size_t k = ndefs; k-- > 0;) {
				if (!strcmp(defs[k].name, d->n[i].value)) {
					d->n[i].def = defs[k].node;
					break;
				}
			}
			if (d->n[i].def < 0) {
				seterr(err, errlen, name, ev.start_mark.line + 1,
				       ev.start_mark.column + 1, "undefined alias *%s", d->n[i].value);
				bad = 1;
			} else if (d->n[d->n[i].def].used_by < 0) {
				d->n[d->n[i].def].used_by = i;
			}
			break;
		case YAML_SCALAR_EVENT:
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (type != YAML_SCALAR_EVENT && sp == YE_MAX_DEPTH) {
				seterr(err, errlen, name, ev.start_mark.line + 1,
				       ev.start_mark.column + 1, "nested deeper than %d levels",
				       YE_MAX_DEPTH);
				bad = 1;
				break;
			}
			i = doc_add(d, type == YAML_SCALAR_EVENT ? N_SCALAR :
			               type == YAML_MAPPING_START_EVENT ? N_MAP : N_SEQ, &ev, parent);
			if (d->n[i].anchor) {
				defs = xreallocarray(defs, ndefs + 1, sizeof(*defs));
				defs[ndefs].name = xstrdup(d->n[i].anchor);
				defs[ndefs++].node = i;
			}
			if (type != YAML_SCALAR_EVENT)
				stack[sp++] = i;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			i = stack[--sp];
			d->n[i].end = ev.end_mark.index;
			d->n[i].close = ev.start_mark.index;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (bad)
			goto out;
		if (type == YAML_STREAM_END_EVENT)
			break;
	}
	if (!utf8_valid(text, len)) {
		seterr(err, errlen, name, 0, 0, "not valid UTF-8");
		goto out;
	}
	doc_index(d);
	rc = 0;
out:
	for (size_t k = 0; k < ndefs; k++)
		free(defs[k].name);
	free(defs);
	yaml_parser_delete(&p);
	if (rc)
		doc_free(d);
	return rc;
}

/* Start (code points) of the scalar token that ends at end: the scalar
 * without its properties.  -1 when there is none (an empty node). */
static int scalar_token_start(const struct ydoc *d, size_t end, size_t *start)
{
	yaml_parser_t p;
	int rc = -1;

	if (!yaml_parser_initialize(&p))
		return -1;
	yaml_parser_set_input_string(&p, (const unsigned char *)d->text, d->len);
	for (;;) {
		yaml_token_t t;
		if (!yaml_parser_scan(&p, &t))
			break;
		yaml_token_type_t type = t.type;
		size_t s = t.start_mark.index, e = t.end_mark.index;
		yaml_token_delete(&t);
		if (type == YAML_SCALAR_TOKEN && e == end) {
			*start = s;
			rc = 0;
			break;
		}
		if (type == YAML_STREAM_END_TOKEN || s > end)
			break;
	}
	yaml_parser_delete(&p);
	return rc;
}

/* ------------------------------------------------------- the path */

struct path {
	char *buf;
	char *c[YE_MAX_COMPS];
	size_t n;
	const char *key;
};

static int path_split(struct path *pa, const char *name, const char *key, char *err,
                      size_t errlen)
{
	size_t klen = strlen(key);

	memset(pa, 0, sizeof(*pa));
	pa->key = key;
	if (!klen) {
		seterr(err, errlen, name, 0, 0, "empty key");
		return -1;
	}
	if (!utf8_valid(key, klen)) {
		seterr(err, errlen, name, 0, 0, "key is not valid UTF-8");
		return -1;
	}
	for (size_t i = 0; i < klen; i++) {
		unsigned char c = (unsigned char)key[i];
		if (c < 0x20 || c == 0x7F) {
			seterr(err, errlen, name, 0, 0, "key contains a control character");
			return -1;
		}
	}
	pa->buf = xstrdup(key);
	for (char *s = pa->buf;;) {
		char *dot = strchr(s, '.');
		if (dot)
			*dot = 0;
		if (!*s) {
			seterr(err, errlen, name, 0, 0, "invalid key %s: empty component", key);
			goto bad;
		}
		if (strlen(s) > YE_MAX_KEY) {
			seterr(err, errlen, name, 0, 0, "invalid key: a component is longer than %d bytes",
			       YE_MAX_KEY);
			goto bad;
		}
		if (pa->n == YE_MAX_COMPS) {
			seterr(err, errlen, name, 0, 0, "invalid key: more than %d components",
			       YE_MAX_COMPS);
			goto bad;
		}
		pa->c[pa->n++] = s;
		if (!dot)
			break;
		s = dot + 1;
	}
	return 0;
bad:
	free(pa->buf);
	pa->buf = NULL;
	return -1;
}

/* The first k components, dotted, for messages. */
static const char *path_prefix(const struct path *pa, size_t k, char *buf, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < pa->n && i < k; i++)
		n += strlen(pa->c[i]) + 1;
	if (!k)
		snprintf(buf, len, "the top level");
	else
		snprintf(buf, len, "%.*s", (int)(n - 1), pa->key);
	return buf;
}

/* The node an alias names, or i itself. */
static int deref(const struct ydoc *d, int i)
{
	return d->n[i].type == N_ALIAS ? d->n[i].def : i;
}

static int node_is(const struct ynode *x, const char *s, size_t n)
{
	return x->type == N_SCALAR && x->vlen == n && !memcmp(x->value, s, n);
}

static int is_empty_null(const struct ynode *x)
{
	return x->type == N_SCALAR && !x->vlen && x->style == YAML_PLAIN_SCALAR_STYLE &&
	       !x->anchor && !x->tag;
}

enum walk_end {
	W_FOUND,    /* node: the value at the key (key: its key node) */
	W_MISSING,  /* node: the mapping that lacks component k */
	W_EMPTY,    /* node: an empty value where a mapping holding component k belongs */
	W_NODOC,    /* no document at all */
};

struct walk {
	enum walk_end end;
	int node, key;
	size_t k;
};

/* Follow pa through d.  follow: aliases on the way are followed (get);
 * otherwise they are refused (set must not edit a shared node). */
static int walk(const struct ydoc *d, const struct path *pa, int follow, struct walk *w,
                char *err, size_t errlen)
{
	char what[256];
	int cur = d->root, curkey = -1;

	memset(w, 0, sizeof(*w));
	w->key = -1;
	if (cur < 0) {
		w->end = W_NODOC;
		return 0;
	}
	for (size_t k = 0; k < pa->n; k++) {
		const struct ynode *x = &d->n[cur];
		const char *comp = pa->c[k];
		size_t clen = strlen(comp);
		int found = -1;

		if (x->type == N_ALIAS) {
			if (!follow) {
				seterr(err, errlen, d->name, x->line + 1, x->col + 1,
				       "%s is an alias (*%s); refusing to edit the node it shares",
				       path_prefix(pa, k, what, sizeof(what)), x->value);
				return -1;
			}
			cur = x->def;
			x = &d->n[cur];
		}
		if (is_empty_null(x)) {
			w->end = W_EMPTY;
			w->node = cur;
			w->key = curkey;
			w->k = k;
			return 0;
		}
		if (x->type != N_MAP) {
			seterr(err, errlen, d->name, x->line + 1, x->col + 1, "%s is a %s, not a mapping",
			       path_prefix(pa, k, what, sizeof(what)),
			       x->type == N_SEQ ? "sequence" : "scalar");
			return -1;
		}
		for (size_t j = 0; j + 1 < x->nkids; j += 2) {
			const struct ynode *kn = &d->n[deref(d, x->kids[j])];
			if (kn->type != N_SCALAR)
				continue;
			if (node_is(kn, comp, clen)) {
				if (found >= 0) {
					const struct ynode *f = &d->n[x->kids[found]];
					const struct ynode *g = &d->n[x->kids[j]];
					seterr(err, errlen, d->name, g->line + 1, g->col + 1,
					       "duplicate key %s (also at %zu:%zu)",
					       path_prefix(pa, k + 1, what, sizeof(what)), f->line + 1,
					       f->col + 1);
					return -1;
				}
				found = (int)j;
				continue;
			}
			/* A key "a.b" reads like the path a.b: refuse the ambiguity. */
			if (!memchr(kn->value, '.', kn->vlen))
				continue;
			size_t n = clen;
			for (size_t m = k + 1; m < pa->n && n < kn->vlen; m++) {
				n += 1 + strlen(pa->c[m]);
				if (n == kn->vlen && !memcmp(kn->value, pa->key + (comp - pa->buf), n)) {
					const struct ynode *g = &d->n[x->kids[j]];
					seterr(err, errlen, d->name, g->line + 1, g->col + 1,
					       "the key \"%.*s\" contains '.' and is ambiguous with the "
					       "dotted key %s", (int)n, pa->key + (comp - pa->buf),
					       pa->key);
					return -1;
				}
			}
		}
		if (found < 0) {
			w->end = W_MISSING;
			w->node = cur;
			w->k = k;
			return 0;
		}
		curkey = x->kids[found];
		cur = x->kids[found + 1];
	}
	w->end = W_FOUND;
	w->node = cur;
	w->key = curkey;
	w->k = pa->n;
	return 0;
}

/* ------------------------------------------------------- new text */

static int ascii_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int ascii_alnum(char c)
{
	return ascii_alpha(c) || (c >= '0' && c <= '9');
}

/* Can s be written as a plain scalar that reads back as this string?  A
 * conservative set: starts with a letter (no numbers, dates, .inf), no
 * indicator or blank anywhere, not a YAML 1.1 null or boolean word. */
static int plain_ok(const char *s, size_t n, int key)
{
	static const char *const words[] = {
		"null", "true", "false", "yes", "no", "on", "off", "y", "n",
	};
	const char *extra = key ? "_-" : ":+/=._@-";

	if (!n || !(ascii_alpha(s[0]) || (key && s[0] == '_')))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!ascii_alnum(s[i]) && !strchr(extra, s[i]))
			return 0;
	if (s[n - 1] == ':')
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strlen(words[i]) == n && !strncasecmp(words[i], s, n))
			return 0;
	return 1;
}

/* A double-quoted scalar: \" \\, \xXX for C0/C1 controls and DEL,
 * \uXXXX for the characters libyaml treats as line breaks or a BOM. */
static void put_dq(struct strbuf *sb, const char *s, size_t n)
{
	sb_putc(sb, '"');
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			sb_putc(sb, '\\');
			sb_putc(sb, (char)c);
			i++;
		} else if (c < 0x20 || c == 0x7F) {
			sb_printf(sb, "\\x%02X", c);
			i++;
		} else if (c < 0x80) {
			sb_putc(sb, (char)c);
			i++;
		} else {
			size_t w = u8_width(c);
			unsigned long cp = c & (w == 2 ? 0x1F : w == 3 ? 0x0F : 0x07);
			for (size_t k = 1; k < w; k++)
				cp = cp << 6 | ((unsigned char)s[i + k] & 0x3F);
			if (cp <= 0x9F)
				sb_printf(sb, "\\x%02lX", cp);
			else if (cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE ||
			         cp == 0xFFFF)
				sb_printf(sb, "\\u%04lX", cp);
			else
				sb_add(sb, s + i, w);
			i += w;
		}
	}
	sb_putc(sb, '"');
}

static void put_key(struct strbuf *sb, const char *k)
{
	size_t n = strlen(k);
	if (plain_ok(k, n, 1))
		sb_add(sb, k, n);
	else
		put_dq(sb, k, n);
}

/* The value; plain when allowed and the byte that will follow it cannot
 * continue a plain scalar.  Returns 1 when written plain. */
static int put_value(struct strbuf *sb, const char *v, size_t n, int flow, int next)
{
	if (!flow && (next < 0 || next == ' ' || next == '\t' || is_brk((char)next)) &&
	    plain_ok(v, n, 0)) {
		sb_add(sb, v, n);
		return 1;
	}
	put_dq(sb, v, n);
	return 0;
}

/* ------------------------------------------------------- the edit */

struct edit {
	struct walk w;
	const struct path *pa;
	const char *value;
	size_t vlen;
	int plain;             /* the value was written plain */
	size_t a, b;           /* bytes [a, b) of the input ... */
	struct strbuf rep;     /* ... become rep */
};

static const char *doc_eol(const struct ydoc *d)
{
	const char *nl = memchr(d->text, '\n', d->len);
	if (nl)
		return nl > d->text && nl[-1] == '\r' ? "\r\n" : "\n";
	return memchr(d->text, '\r', d->len) ? "\r" : "\n";
}

/* The file's indentation step: the most common distance between a block
 * mapping nested in a block mapping and its parent (2 when none). */
static size_t doc_step(const struct ydoc *d)
{
	size_t count[9] = { 0 }, best = 2;

	for (size_t i = 0; i < d->nn; i++) {
		const struct ynode *x = &d->n[i];
		if (x->type != N_MAP || x->style != YAML_BLOCK_MAPPING_STYLE || !x->nkids ||
		    x->parent < 0)
			continue;
		const struct ynode *p = &d->n[x->parent];
		if (p->type != N_MAP || p->style != YAML_BLOCK_MAPPING_STYLE)
			continue;
		size_t c = d->n[x->kids[0]].col, pc = d->n[p->kids[0]].col;
		if (c > pc && c - pc < ARRAY_SIZE(count))
			count[c - pc]++;
	}
	for (size_t s = 1; s < ARRAY_SIZE(count); s++)
		if (count[s] > count[best])
			best = s;
	return best;
}

/* Column of a block mapping's keys. */
static size_t map_indent(const struct ydoc *d, int m)
{
	const struct ynode *x = &d->n[m];
	if (x->anchor || x->tag)
		return d->n[x->kids[0]].col;
	return x->col;
}

/* Where a line may be added after node i (a line start, or len).  -1
 * when the last value is a block scalar that ends the file without a line
 * break: a line after it would add a line break to its value. */
static ssize_t ins_after(const struct ydoc *d, int i)
{
	const struct ynode *x = &d->n[i];

	while ((x->type == N_MAP || x->type == N_SEQ) && x->nkids &&
	       x->style != YAML_FLOW_MAPPING_STYLE && x->style != YAML_FLOW_SEQUENCE_STYLE)
		x = &d->n[x->kids[x->nkids - 1]];
	const char *t = d->text;
	size_t e = doc_byte(d, x->end), q, p;
	if (x->type == N_SCALAR &&
	    (x->style == YAML_LITERAL_SCALAR_STYLE || x->style == YAML_FOLDED_SCALAR_STYLE)) {
		size_t s = x->start, ind, hend;
		if (x->anchor || x->tag)
			scalar_token_start(d, x->end, &s);
		char chomp = block_header(d, doc_byte(d, s), &ind, &hend);
		/* q: the end of its last content line (hend if none) */
		for (q = e; q > hend && (is_blank(t[q - 1]) || is_brk(t[q - 1])); q--)
			;
		p = line_after(d, q);
		if (chomp == '+') {
			/* The trailing line breaks are its value's; its end mark
			 * follows them, maybe inside the next line's indentation. */
			for (p = e; p > 0 && is_blank(t[p - 1]); p--)
				;
			if (!is_brk(t[p - 1]))
				p = line_after(d, e);
		}
		/* A line break added after its last line would join its value. */
		if (p == d->len && !is_brk(t[p - 1]) && q > hend && chomp != '-')
			return -1;
		return (ssize_t)p;
	}
	return (ssize_t)line_after(d, e);
}

/* "k: v" for components k.. of the path, in flow style. */
static void put_flow_chain(struct edit *ed, size_t k)
{
	put_key(&ed->rep, ed->pa->c[k]);
	sb_puts(&ed->rep, ": ");
	if (k + 1 == ed->pa->n) {
		ed->plain = put_value(&ed->rep, ed->value, ed->vlen, 1, -1);
		return;
	}
	sb_putc(&ed->rep, '{');
	put_flow_chain(ed, k + 1);
	sb_putc(&ed->rep, '}');
}

/* Block lines for components k.. of the path, inserted at byte p. */
static void put_block_lines(struct edit *ed, const struct ydoc *d, size_t p, size_t indent,
                            size_t step)
{
	const char *eol = doc_eol(d);
	int lead = p > 0 && !is_brk(d->text[p - 1]);

	if (lead)
		sb_puts(&ed->rep, eol);
	for (size_t k = ed->w.k; k < ed->pa->n; k++) {
		for (size_t s = 0; s < indent + (k - ed->w.k) * step; s++)
			sb_putc(&ed->rep, ' ');
		put_key(&ed->rep, ed->pa->c[k]);
		sb_putc(&ed->rep, ':');
		if (k + 1 == ed->pa->n) {
			sb_putc(&ed->rep, ' ');
			ed->plain = put_value(&ed->rep, ed->value, ed->vlen, 0, '\n');
		}
		/* At the end of a file without a final line break, add none. */
		if (k + 1 < ed->pa->n || !lead || p < d->len)
			sb_puts(&ed->rep, eol);
	}
	ed->a = ed->b = p;
}

/* A value at an empty node (zero width at its mark) of the pair whose key
 * is keyi: after the ':' when there is one, else (flow "{a}") after the
 * key with a ':' added.  chain: a new mapping for components k.. instead
 * of the value. */
static int edit_empty_value(struct edit *ed, const struct ydoc *d, int keyi, int nodei,
                            int flow, int chain, char *err, size_t errlen)
{
	const struct ynode *x = &d->n[nodei];
	size_t q = doc_byte(d, d->n[keyi].end);

	while (q < d->len && is_blank(d->text[q]))
		q++;
	if (q < d->len && d->text[q] == ':') {
		if (!flow && doc_byte(d, x->start) != q + 1)
			goto odd;
		if (flow && q + 2 < d->len && is_blank(d->text[q + 1]) &&
		    (d->text[q + 2] == ',' || d->text[q + 2] == '}')) {
			/* "{a: , b}" -> "{a: "v", b}" */
			ed->a = ed->b = q + 2;
		} else {
			ed->a = ed->b = q + 1;
			sb_putc(&ed->rep, ' ');
		}
	} else if (flow) {
		ed->a = ed->b = doc_byte(d, d->n[keyi].end);
		sb_puts(&ed->rep, ": ");
	} else {
		goto odd;
	}
	if (chain) {
		sb_putc(&ed->rep, '{');
		put_flow_chain(ed, ed->w.k);
		sb_putc(&ed->rep, '}');
	} else {
		int next = ed->b < d->len ? (unsigned char)d->text[ed->b] : -1;
		ed->plain = put_value(&ed->rep, ed->value, ed->vlen, flow, next);
	}
	return 0;
odd:
	seterr(err, errlen, d->name, x->line + 1, x->col + 1,
	       "%s: empty value of an explicit (?) key; edit it by hand", ed->pa->key);
	return -1;
}

static int edit_replace(struct edit *ed, const struct ydoc *d, int flow, char *err,
                        size_t errlen)
{
	const struct ynode *x = &d->n[ed->w.node];
	const char *t = d->text;
	size_t s = x->start;
	int next;

	if (x->type == N_SCALAR && x->start == x->end)
		return edit_empty_value(ed, d, ed->w.key, ed->w.node, flow, 0, err, errlen);
	if (x->type == N_SCALAR && (x->anchor || x->tag) && scalar_token_start(d, x->end, &s)) {
		/* Properties and no scalar: "key: &a". */
		ed->a = ed->b = doc_byte(d, x->end);
		sb_putc(&ed->rep, ' ');
		next = ed->b < d->len ? (unsigned char)t[ed->b] : -1;
		ed->plain = put_value(&ed->rep, ed->value, ed->vlen, flow, next);
		return 0;
	}
	ed->a = doc_byte(d, s);
	ed->b = doc_byte(d, x->end);
	if (!flow) {
		/* libyaml takes a block scalar that starts a line at or left of
		 * its key's column ("k:\n|\n  text"); a plain or quoted scalar
		 * there would start a new entry, so it is indented. */
		size_t ls = ed->a, indent = map_indent(d, x->parent);
		while (ls > 0 && t[ls - 1] == ' ')
			ls--;
		if ((ls == 0 || is_brk(t[ls - 1])) && ed->a - ls <= indent)
			for (size_t k = ed->a - ls; k < indent + doc_step(d); k++)
				sb_putc(&ed->rep, ' ');
	}
	if (x->type == N_SCALAR &&
	    (x->style == YAML_LITERAL_SCALAR_STYLE || x->style == YAML_FOLDED_SCALAR_STYLE)) {
		/* Header: indicator, chomping/indentation digits, blanks, comment. */
		size_t ind, hend, cs, ce, e = ed->b;
		block_header(d, ed->a, &ind, &hend);
		for (cs = ind; cs < hend && is_blank(t[cs]); cs++)
			;
		for (ce = hend; ce > cs && (is_blank(t[ce - 1])); ce--)
			;
		while (e > hend && (is_blank(t[e - 1]) || is_brk(t[e - 1])))
			e--;
		if (e <= hend) {
			/* No content lines: the header's rest stays as it is. */
			ed->b = ind;
			next = ind < d->len ? (unsigned char)t[ind] : -1;
			ed->plain = put_value(&ed->rep, ed->value, ed->vlen, flow, next);
		} else if (cs < ce && t[cs] == '#') {
			/* Keep the header's comment on the value's line. */
			ed->b = e;
			ed->plain = put_value(&ed->rep, ed->value, ed->vlen, flow,
			                      (unsigned char)t[ind]);
			sb_add(&ed->rep, t + ind, ce - ind);
		} else {
			ed->b = e;
			ed->plain = put_value(&ed->rep, ed->value, ed->vlen, flow,
			                      e < d->len ? (unsigned char)t[e] : -1);
		}
		return 0;
	}
	next = ed->b < d->len ? (unsigned char)t[ed->b] : -1;
	ed->plain = put_value(&ed->rep, ed->value, ed->vlen, flow, next);
	return 0;
}

static int tag_is_string(const char *tag)
{
	return !tag || !strcmp(tag, "!") || !strcmp(tag, "tag:yaml.org,2002:str");
}

/* Refuse to change a node that an alias elsewhere also names, or anything
 * inside one. */
static int check_unshared(const struct ydoc *d, const struct edit *ed, char *err,
                          size_t errlen)
{
	for (int i = ed->w.node; i >= 0; i = d->n[i].parent) {
		const struct ynode *x = &d->n[i];
		if (x->used_by < 0)
			continue;
		const struct ynode *al = &d->n[x->used_by];
		seterr(err, errlen, d->name, x->line + 1, x->col + 1,
		       "cannot set %s: the %s here is anchored as &%s and the alias at %zu:%zu "
		       "uses it; editing it would change both", ed->pa->key,
		       i == ed->w.node && ed->w.end == W_FOUND ? "value" :
		       x->type == N_MAP ? "mapping" : "node", x->anchor, al->line + 1, al->col + 1);
		return -1;
	}
	return 0;
}

static int has_merge_key(const struct ydoc *d, int m)
{
	const struct ynode *x = &d->n[m];
	for (size_t j = 0; j + 1 < x->nkids; j += 2) {
		const struct ynode *k = &d->n[x->kids[j]];
		if (k->type == N_SCALAR && k->style == YAML_PLAIN_SCALAR_STYLE && node_is(k, "<<", 2))
			return 1;
	}
	return 0;
}

static int plan_edit(struct edit *ed, const struct ydoc *d, char *err, size_t errlen)
{
	const struct ynode *x;
	char what[256], what2[256];
	ssize_t at;
	int flow;

	if (walk(d, ed->pa, 0, &ed->w, err, errlen))
		return -1;
	if (ed->w.end == W_NODOC) {
		put_block_lines(ed, d, d->len, 0, doc_step(d));
		return 0;
	}
	x = &d->n[ed->w.node];
	flow = x->parent >= 0 && d->n[x->parent].style == YAML_FLOW_MAPPING_STYLE;
	if (ed->w.end == W_FOUND) {
		const struct ynode *v = &d->n[deref(d, ed->w.node)];
		if (v->type == N_MAP || v->type == N_SEQ) {
			seterr(err, errlen, d->name, x->line + 1, x->col + 1,
			       "%s is a %s, not a scalar value", ed->pa->key,
			       v->type == N_MAP ? "mapping" : "sequence");
			return -1;
		}
		if (x->type == N_SCALAR && !tag_is_string(x->tag)) {
			seterr(err, errlen, d->name, x->line + 1, x->col + 1,
			       "%s has the tag %s; refusing to replace a value that is not a string",
			       ed->pa->key, x->tag);
			return -1;
		}
	}
	if (check_unshared(d, ed, err, errlen))
		return -1;
	switch (ed->w.end) {
	case W_FOUND:
		return edit_replace(ed, d, flow, err, errlen);
	case W_MISSING:
		if (ed->w.k + 1 < ed->pa->n && has_merge_key(d, ed->w.node)) {
			seterr(err, errlen, d->name, x->line + 1, x->col + 1,
			       "%s has a merge key (<<); a new mapping %s would hide the merged one",
			       path_prefix(ed->pa, ed->w.k, what, sizeof(what)),
			       path_prefix(ed->pa, ed->w.k + 1, what2, sizeof(what2)));
			return -1;
		}
		if (x->style == YAML_FLOW_MAPPING_STYLE) {
			if (x->nkids) {
				ed->a = ed->b = doc_byte(d, d->n[x->kids[x->nkids - 1]].end);
				sb_puts(&ed->rep, ", ");
			} else {
				ed->a = ed->b = doc_byte(d, x->close);
			}
			put_flow_chain(ed, ed->w.k);
			return 0;
		}
		at = ins_after(d, ed->w.node);
		if (at < 0) {
			seterr(err, errlen, d->name, 0, 0,
			       "cannot add %s after the block scalar (| or >) that ends the file "
			       "without a line break; add a final newline first", ed->pa->key);
			return -1;
		}
		put_block_lines(ed, d, (size_t)at, map_indent(d, ed->w.node), doc_step(d));
		return 0;
	case W_EMPTY:
		if (ed->w.key < 0) {
			put_block_lines(ed, d, doc_byte(d, x->start), 0, doc_step(d));
			return 0;
		}
		if (flow)
			return edit_empty_value(ed, d, ed->w.key, ed->w.node, 1, 1, err, errlen);
		if (doc_byte(d, x->start) == 0 || d->text[doc_byte(d, x->start) - 1] != ':') {
			seterr(err, errlen, d->name, x->line + 1, x->col + 1,
			       "%s: empty value of an explicit (?) key; edit it by hand", ed->pa->key);
			return -1;
		}
		put_block_lines(ed, d, line_after(d, doc_byte(d, x->start)),
		                map_indent(d, x->parent) + doc_step(d), doc_step(d));
		return 0;
	case W_NODOC:
		break;
	}
	return -1;
}

/* ------------------------------------------------------- verification */

static int str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Node i of the output is the new mapping chain for components k.. (or,
 * with k == n, the new value). */
static int chain_ok(const struct ydoc *o, int i, const struct edit *ed, size_t k)
{
	const struct ynode *x = &o->n[i];

	if (x->anchor || x->tag)
		return 0;
	if (k == ed->pa->n)
		return node_is(x, ed->value, ed->vlen) &&
		       x->style == (ed->plain ? YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
	if (x->type != N_MAP || x->nkids != 2)
		return 0;
	const struct ynode *kn = &o->n[x->kids[0]];
	if (kn->anchor || kn->tag || !node_is(kn, ed->pa->c[k], strlen(ed->pa->c[k])))
		return 0;
	return chain_ok(o, x->kids[1], ed, k + 1);
}

/* Is output node bi input node ai, with exactly the planned change? */
static int same(const struct ydoc *in, int ai, const struct ydoc *o, int bi,
                const struct edit *ed)
{
	const struct ynode *x = &in->n[ai], *y = &o->n[bi];
	size_t extra = 0;

	if (ai == ed->w.node && ed->w.end == W_FOUND) {
		return y->type == N_SCALAR && node_is(y, ed->value, ed->vlen) &&
		       y->style == (ed->plain ? YAML_PLAIN_SCALAR_STYLE :
		                    YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
		       str_same(y->anchor, x->type == N_SCALAR ? x->anchor : NULL) &&
		       str_same(y->tag, x->type == N_SCALAR ? x->tag : NULL);
	}
	if (ai == ed->w.node && ed->w.end == W_EMPTY)
		return chain_ok(o, bi, ed, ed->w.k);
	if (ai == ed->w.node && ed->w.end == W_MISSING)
		extra = 2;
	if (x->type != y->type || x->style != y->style || !str_same(x->anchor, y->anchor) ||
	    !str_same(x->tag, y->tag) || y->nkids != x->nkids + extra)
		return 0;
	if ((x->type == N_SCALAR || x->type == N_ALIAS) &&
	    (x->vlen != y->vlen || memcmp(x->value, y->value, x->vlen)))
		return 0;
	for (size_t j = 0; j < x->nkids; j++)
		if (!same(in, x->kids[j], o, y->kids[j], ed))
			return 0;
	if (extra) {
		const struct ynode *kn = &o->n[y->kids[x->nkids]];
		const char *c = ed->pa->c[ed->w.k];
		if (kn->anchor || kn->tag || !node_is(kn, c, strlen(c)))
			return 0;
		return chain_ok(o, y->kids[x->nkids + 1], ed, ed->w.k + 1);
	}
	return 1;
}

static int verify(const struct ydoc *in, const struct edit *ed, const char *out, size_t outlen)
{
	struct ydoc o;
	struct walk w;
	int ok;

	if (doc_parse(&o, in->name, out, outlen, NULL, 0))
		return 0;
	if (in->root < 0)
		ok = o.root >= 0 && chain_ok(&o, o.root, ed, 0);
	else
		ok = o.root >= 0 && same(in, in->root, &o, o.root, ed);
	ok = ok && !walk(&o, ed->pa, 1, &w, NULL, 0) && w.end == W_FOUND &&
	     node_is(&o.n[deref(&o, w.node)], ed->value, ed->vlen);
	doc_free(&o);
	return ok;
}

/* ------------------------------------------------------- the API */

void (*yedit_test_hook)(char *text, size_t len);

int yedit_set_ex(const char *name, const char *text, size_t len, const char *dotted_key,
                 const char *value, char **out, size_t *outlen, struct yedit_span *span,
                 char *err, size_t errlen)
{
	struct ydoc d;
	struct path pa;
	struct edit ed;
	struct strbuf sb = STRBUF_INIT;
	int rc = -1;

	*out = NULL;
	if (outlen)
		*outlen = 0;
	if (path_split(&pa, name, dotted_key, err, errlen))
		return -1;
	memset(&ed, 0, sizeof(ed));
	ed.pa = &pa;
	ed.value = value;
	ed.vlen = strlen(value);
	if (!utf8_valid(value, ed.vlen)) {
		seterr(err, errlen, name, 0, 0, "the value for %s is not valid UTF-8", dotted_key);
		free(pa.buf);
		return -1;
	}
	if (doc_parse(&d, name, text, len, err, errlen)) {
		free(pa.buf);
		return -1;
	}
	if (plan_edit(&ed, &d, err, errlen))
		goto out;
	sb_grow(&sb, len + ed.rep.len);
	sb_add(&sb, text, ed.a);
	sb_add(&sb, ed.rep.buf ? ed.rep.buf : "", ed.rep.len);
	sb_add(&sb, text + ed.b, len - ed.b);
	if (yedit_test_hook)
		yedit_test_hook(sb.buf, sb.len);
	if (!verify(&d, &ed, sb.buf, sb.len)) {
		seterr(err, errlen, name, 0, 0, "internal error: edit of %s did not verify",
		       dotted_key);
		sb_free_secure(&sb);
		goto out;
	}
	if (span) {
		span->old_start = span->new_start = ed.a;
		span->old_end = ed.b;
		span->new_end = ed.a + ed.rep.len;
	}
	*out = sb_detach(&sb, outlen);
	rc = 0;
out:
	sb_free(&ed.rep);
	doc_free(&d);
	free(pa.buf);
	return rc;
}

int yedit_set(const char *name, const char *text, size_t len, const char *dotted_key,
              const char *value, char **out, size_t *outlen, char *err, size_t errlen)
{
	return yedit_set_ex(name, text, len, dotted_key, value, out, outlen, NULL, err, errlen);
}

int yedit_get(const char *name, const char *text, size_t len, const char *dotted_key,
              char **value, size_t *vlen, char *err, size_t errlen)
{
	struct ydoc d;
	struct path pa;
	struct walk w;
	int rc = -1;

	*value = NULL;
	if (path_split(&pa, name, dotted_key, err, errlen))
		return -1;
	if (doc_parse(&d, name, text, len, err, errlen)) {
		free(pa.buf);
		return -1;
	}
	if (walk(&d, &pa, 1, &w, err, errlen))
		goto out;
	if (w.end != W_FOUND) {
		rc = 1;
		goto out;
	}
	const struct ynode *x = &d.n[deref(&d, w.node)];
	if (x->type != N_SCALAR) {
		seterr(err, errlen, name, x->line + 1, x->col + 1, "%s is a %s, not a scalar value",
		       dotted_key, x->type == N_MAP ? "mapping" : "sequence");
		goto out;
	}
	*value = xstrndup(x->value, x->vlen);
	if (vlen)
		*vlen = x->vlen;
	rc = 0;
out:
	doc_free(&d);
	free(pa.buf);
	return rc;
}

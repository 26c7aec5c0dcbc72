/* json.c - the one JSON writer, and the canonicaliser behind the audit
 * record's input_hash.
 *
 * cJSON parses; every byte we emit comes from here.  JSON_PYTHON reproduces
 * Python's json.dumps() default layout byte for byte (the reference hashes
 * and logs with it); JSON_COMPACT is for everything that is ours.
 *
 * Floating point goes through strtod/snprintf and so assumes LC_NUMERIC is
 * "C": apcore never calls setlocale().
 */

#include "libcommon.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* ------------------------------------------------------------------ UTF-8 */

/* Length (1-4) of the well-formed UTF-8 sequence at p, with its code point
 * in *cp; 0 when the byte at p does not start one.  Same strictness as
 * utf8_valid(): no overlongs, surrogates or code points past U+10FFFF. */
static size_t utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	unsigned c = p[0];
	size_t len;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80, v = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800, v = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000, v = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* ----------------------------------------------------------------- writer */

/* struct jw keeps one byte per open container in first[]; we use two bits
 * of it so the header needs no second array: whether the container is
 * still empty (separator decision) and whether it is an object (so a value
 * without a key, or a key in an array, is caught). */
#define JW_EMPTY 1u
#define JW_OBJECT 2u

static const char hexdig[] = "0123456789abcdef";

static void put_u4(struct strbuf *sb, uint32_t u)
{
	char e[6] = { '\\', 'u', hexdig[u >> 12 & 15], hexdig[u >> 8 & 15],
	              hexdig[u >> 4 & 15], hexdig[u & 15] };
	sb_add(sb, e, sizeof(e));
}

/* A quoted string.  Both styles escape what JSON requires plus nothing
 * surprising; they differ above ASCII: compact keeps valid UTF-8 as it is
 * (except U+2028/U+2029, which break JavaScript consumers), Python escapes
 * every non-ASCII code point.  Both escape DEL: Python's ensure_ascii does
 * (its safe set is ' '..'~'), whatever the reference notes say.  A byte
 * that is not part of valid UTF-8 is never copied out: it becomes U+FFFD,
 * so a log line stays valid UTF-8 whatever a caller hands us. */
static void put_string(struct strbuf *sb, enum json_style style, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t run = 0;   /* start of the pending stretch copied verbatim */
	size_t i = 0;

	sb_grow(sb, n + 2);
	sb_putc(sb, '"');
	while (i < n) {
		unsigned c = s[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			i++;
			continue;
		}
		uint32_t cp = 0;
		size_t len = c < 0x80 ? 1 : utf8_seq(s + i, n - i, &cp);
		if (len > 1 && style == JSON_COMPACT && cp != 0x2028 && cp != 0x2029) {
			i += len;
			continue;
		}
		sb_add(sb, s + run, i - run);
		if (len == 0) {
			put_u4(sb, 0xfffd);
			i++;
		} else if (len > 1) {
			if (cp >= 0x10000) {
				cp -= 0x10000;
				put_u4(sb, 0xd800 | cp >> 10);
				put_u4(sb, 0xdc00 | (cp & 0x3ff));
			} else {
				put_u4(sb, cp);
			}
			i += len;
		} else {
			switch (c) {
			case '"': sb_add(sb, "\\\"", 2); break;
			case '\\': sb_add(sb, "\\\\", 2); break;
			case '\n': sb_add(sb, "\\n", 2); break;
			case '\r': sb_add(sb, "\\r", 2); break;
			case '\t': sb_add(sb, "\\t", 2); break;
			case '\b': sb_add(sb, "\\b", 2); break;
			case '\f': sb_add(sb, "\\f", 2); break;
			default: put_u4(sb, c); break;
			}
			i++;
		}
		run = i;
	}
	sb_add(sb, s + run, i - run);
	sb_putc(sb, '"');
}

void jw_init(struct jw *w, struct strbuf *sb, enum json_style style)
{
	memset(w, 0, sizeof(*w));
	w->sb = sb;
	w->style = style;
}

/* Separator and key bookkeeping before any value. */
static void pre_value(struct jw *w)
{
	if (w->depth == 0)
		return;
	unsigned char *f = &w->first[w->depth - 1];
	if (*f & JW_OBJECT) {
		if (!w->after_key)
			die("json writer misuse: value without a key in an object");
		w->after_key = 0;
		return;
	}
	if (!(*f & JW_EMPTY))
		sb_puts(w->sb, w->style == JSON_PYTHON ? ", " : ",");
	*f &= (unsigned char)~JW_EMPTY;
}

static void open_container(struct jw *w, int object)
{
	pre_value(w);
	if (w->depth >= JW_MAX_DEPTH)
		die("json writer misuse: nesting deeper than %d", JW_MAX_DEPTH);
	w->first[w->depth++] = (unsigned char)(JW_EMPTY | (object ? JW_OBJECT : 0));
	sb_putc(w->sb, object ? '{' : '[');
}

static void close_container(struct jw *w, int object)
{
	if (w->depth == 0)
		die("json writer misuse: %s without an open container", object ? "}" : "]");
	if (!(w->first[w->depth - 1] & JW_OBJECT) != !object)
		die("json writer misuse: closing %s inside %s", object ? "an object" : "an array",
		    object ? "an array" : "an object");
	if (w->after_key)
		die("json writer misuse: key without a value");
	w->depth--;
	sb_putc(w->sb, object ? '}' : ']');
}

void jw_obj_begin(struct jw *w) { open_container(w, 1); }
void jw_obj_end(struct jw *w) { close_container(w, 1); }
void jw_arr_begin(struct jw *w) { open_container(w, 0); }
void jw_arr_end(struct jw *w) { close_container(w, 0); }

void jw_key(struct jw *w, const char *key)
{
	if (w->depth == 0 || !(w->first[w->depth - 1] & JW_OBJECT))
		die("json writer misuse: key \"%.40s\" outside an object", key);
	if (w->after_key)
		die("json writer misuse: key \"%.40s\" right after another key", key);
	unsigned char *f = &w->first[w->depth - 1];
	if (!(*f & JW_EMPTY))
		sb_puts(w->sb, w->style == JSON_PYTHON ? ", " : ",");
	*f &= (unsigned char)~JW_EMPTY;
	put_string(w->sb, w->style, key, strlen(key));
	sb_puts(w->sb, w->style == JSON_PYTHON ? ": " : ":");
	w->after_key = 1;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
	pre_value(w);
	put_string(w->sb, w->style, s, n);
}

void jw_str(struct jw *w, const char *s)
{
	jw_strn(w, s, strlen(s));
}

void jw_int(struct jw *w, int64_t v)
{
	pre_value(w);
	sb_printf(w->sb, "%" PRId64, v);
}

void jw_uint(struct jw *w, uint64_t v)
{
	pre_value(w);
	sb_printf(w->sb, "%" PRIu64, v);
}

void jw_bool(struct jw *w, int v)
{
	pre_value(w);
	sb_puts(w->sb, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
	pre_value(w);
	sb_puts(w->sb, "null");
}

/* Length of the JSON number (RFC 8259 grammar, which is also Python's) at
 * the start of s[0..n), or 0 when there is none. */
static size_t number_len(const unsigned char *s, size_t n)
{
	size_t i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return 0;
	if (i < n && s[i] == '.') {
		size_t d = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t d = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	return i;
}

void jw_raw(struct jw *w, const char *text)
{
	size_t n = strlen(text);
	/* Anything but one whole number would break the document's syntax. */
	if (n == 0 || number_len((const unsigned char *)text, n) != n)
		die("json writer misuse: \"%.40s\" is not a JSON number", text);
	pre_value(w);
	sb_add(w->sb, text, n);
}

void jw_kv_str(struct jw *w, const char *key, const char *val)
{
	jw_key(w, key);
	jw_str(w, val);
}

void jw_kv_int(struct jw *w, const char *key, int64_t val)
{
	jw_key(w, key);
	jw_int(w, val);
}

void jw_kv_bool(struct jw *w, const char *key, int val)
{
	jw_key(w, key);
	jw_bool(w, val);
}

/* ------------------------------------------------------------ float repr */

/* Replace the n-significant-digit decimal in buf ("D.DDDe±XX") with the
 * next n-digit decimal above it. */
static void next_decimal_up(char *buf, size_t size)
{
	char digits[20];
	int nd = 0;
	const char *p = buf;

	for (; *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	int exp = atoi(p + 1), i = nd - 1;
	while (i >= 0 && digits[i] == '9')
		digits[i--] = '0';
	if (i < 0) {
		digits[0] = '1';
		exp++;
	} else {
		digits[i]++;
	}
	snprintf(buf, size, "%c%s%.*se%+03d", digits[0], nd > 1 ? "." : "", nd - 1, digits + 1, exp);
}

/* Python's repr(float): the shortest decimal string that reads back as the
 * same double, laid out the way float_repr_style 'short' does it. */
void json_python_float(double d, char out[32])
{
	char buf[40], up[40], digits[20];
	int exp, nd = 0, neg = signbit(d) != 0;
	double a = fabs(d);

	if (isnan(d)) {
		strcpy(out, "nan");
		return;
	}
	if (isinf(d)) {
		strcpy(out, neg ? "-inf" : "inf");
		return;
	}
	if (d == 0) {
		strcpy(out, neg ? "-0.0" : "0.0");
		return;
	}

	/* %.Ne rounds correctly (glibc), so the first precision whose result
	 * reads back is the shortest; 17 significant digits always do.  At a
	 * power of two the doubles below are twice as dense as those above, so
	 * the nearest decimal can miss the (narrower) lower half of the
	 * rounding interval while the next one up still lies in the upper half:
	 * that one is the shortest then, as Python (dtoa mode 0) finds. */
	for (int prec = 0; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec, a);
		double r = strtod(buf, NULL);
		if (r == a)
			break;
		if (r < a) {
			memcpy(up, buf, sizeof(up));
			next_decimal_up(up, sizeof(up));
			if (strtod(up, NULL) == a) {
				memcpy(buf, up, sizeof(buf));
				break;
			}
		}
	}

	/* buf is "D[.DDD]e±XX": collect the significant digits. */
	const char *p = buf;
	for (; *p && *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	exp = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;

	char *o = out;
	if (neg)
		*o++ = '-';
	if (exp < -4 || exp >= 16) {
		*o++ = digits[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, digits + 1, (size_t)nd - 1);
			o += nd - 1;
		}
		/* C's exponent form, sign and at least two digits, is Python's. */
		strcpy(o, p);
		return;
	}
	if (exp < 0) {
		*o++ = '0';
		*o++ = '.';
		for (int i = -1; i > exp; i--)
			*o++ = '0';
		memcpy(o, digits, (size_t)nd);
		o += nd;
	} else {
		for (int i = 0; i <= exp; i++)
			*o++ = i < nd ? digits[i] : '0';
		*o++ = '.';
		if (nd > exp + 1) {
			memcpy(o, digits + exp + 1, (size_t)(nd - exp - 1));
			o += nd - exp - 1;
		} else {
			*o++ = '0';
		}
	}
	*o = 0;
}

/* ----------------------------------------------------------- canonicaliser */

/* Python refuses to convert integers longer than this (sys.int_info.
 * default_max_str_digits, 3.11+), so json.loads() fails on them. */
#define PY_INT_MAX_DIGITS 4300

struct numtok {
	size_t off, len;
};

struct canon {
	const unsigned char *s;
	size_t n;
	struct numtok *num;     /* number tokens in document order */
	size_t nnum, numcap;
	struct strbuf scratch;
	struct jw w;
	char *err;
	size_t errlen;
};

PRINTF(2, 3) static int fail(struct canon *c, const char *fmt, ...)
{
	va_list ap;
	if (c->err && c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int is_ws(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int hex4(const unsigned char *p, size_t n, uint32_t *v)
{
	*v = 0;
	if (n < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		unsigned ch = p[i], lc = ch | 0x20, d;
		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (lc >= 'a' && lc <= 'f')
			d = lc - 'a' + 10;
		else
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

/* One string token starting at the quote at *pi.  cJSON would accept raw
 * control characters (Python does not) and silently cut a string at \u0000;
 * surrogate escapes must pair up. */
static int lex_string(struct canon *c, size_t *pi)
{
	const unsigned char *s = c->s;
	size_t start = *pi, i = start + 1;

	for (;;) {
		if (i >= c->n)
			return fail(c, "unterminated string starting at byte %zu", start);
		unsigned ch = s[i];
		if (ch == '"')
			break;
		if (ch < 0x20)
			return fail(c, "control character 0x%02x in a string at byte %zu", ch, i);
		if (ch != '\\') {
			i++;
			continue;
		}
		if (i + 1 >= c->n)
			return fail(c, "unterminated string starting at byte %zu", start);
		ch = s[i + 1];
		if (ch && strchr("\"\\/bfnrt", (int)ch)) {
			i += 2;
			continue;
		}
		if (ch != 'u')
			return fail(c, "invalid escape in a string at byte %zu", i);
		uint32_t u, lo;
		if (hex4(s + i + 2, c->n - i - 2, &u))
			return fail(c, "invalid \\u escape at byte %zu", i);
		if (u == 0)
			return fail(c, "\\u0000 in a string at byte %zu is not supported", i);
		if (u >= 0xdc00 && u <= 0xdfff)
			return fail(c, "lone surrogate escape at byte %zu", i);
		if (u >= 0xd800 && u <= 0xdbff) {
			if (i + 7 >= c->n || s[i + 6] != '\\' || s[i + 7] != 'u' ||
			    hex4(s + i + 8, c->n - i - 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
				return fail(c, "lone surrogate escape at byte %zu", i);
			i += 12;
		} else {
			i += 6;
		}
	}
	*pi = i + 1;
	return 0;
}

static int lex_number(struct canon *c, size_t *pi)
{
	size_t i = *pi, len = number_len(c->s + i, c->n - i);
	size_t end = i + len;

	/* cJSON reads "01", "1." and "1.5.3" as numbers; Python does not. */
	if (!len || (end < c->n && c->s[end] && strchr("0123456789+-.eE", c->s[end])))
		return fail(c, "invalid number at byte %zu", i);
	if (!memchr(c->s + i, '.', len) && !memchr(c->s + i, 'e', len) &&
	    !memchr(c->s + i, 'E', len) && len - (c->s[i] == '-') > PY_INT_MAX_DIGITS)
		return fail(c, "integer at byte %zu has more than %d digits", i, PY_INT_MAX_DIGITS);
	if (c->nnum == c->numcap) {
		c->numcap = c->numcap ? 2 * c->numcap : 16;
		c->num = xreallocarray(c->num, c->numcap, sizeof(*c->num));
	}
	c->num[c->nnum].off = i;
	c->num[c->nnum].len = len;
	c->nnum++;
	*pi = end;
	return 0;
}

static int starts(const struct canon *c, size_t i, const char *word)
{
	size_t n = strlen(word);
	return c->n - i >= n && !memcmp(c->s + i, word, n);
}

/* A lexical pass over the whole text, before cJSON sees it: it records the
 * number tokens as written (cJSON keeps only a double), bounds the nesting,
 * and rejects what cJSON accepts but Python's json.loads() does not.  The
 * structure itself is left to cJSON. */
static int lex(struct canon *c)
{
	const unsigned char *s = c->s;
	size_t i = 0;
	int depth = 0, tokens = 0;

	for (size_t j = 0; j < c->n;) {
		uint32_t cp;
		size_t len = utf8_seq(s + j, c->n - j, &cp);
		if (!len)
			return fail(c, "invalid UTF-8 at byte %zu", j);
		j += len;
	}
	/* json.loads() on bytes decodes a leading BOM away (utf-8-sig); cJSON
	 * skips it too. */
	if (starts(c, 0, "\xef\xbb\xbf"))
		i = 3;

	while (i < c->n) {
		unsigned char ch = s[i];
		if (is_ws(ch)) {
			i++;
			continue;
		}
		tokens++;
		switch (ch) {
		case '{':
		case '[':
			if (++depth > JW_MAX_DEPTH)
				return fail(c, "nesting deeper than %d at byte %zu", JW_MAX_DEPTH, i);
			i++;
			break;
		case '}':
		case ']':
			if (depth > 0)
				depth--;
			i++;
			break;
		case ',':
		case ':':
			i++;
			break;
		case '"':
			if (lex_string(c, &i))
				return -1;
			break;
		case 't':
		case 'f':
		case 'n':
			if (starts(c, i, "true"))
				i += 4;
			else if (starts(c, i, "false"))
				i += 5;
			else if (starts(c, i, "null"))
				i += 4;
			else
				return fail(c, "invalid literal at byte %zu", i);
			break;
		default:
			if (starts(c, i, "NaN") || starts(c, i, "Infinity") || starts(c, i, "-Infinity"))
				return fail(c, "NaN and Infinity are not JSON (byte %zu)", i);
			if (ch == '-' || (ch >= '0' && ch <= '9')) {
				if (lex_number(c, &i))
					return -1;
				break;
			}
			if (ch < 0x20 || ch == 0x7f)
				return fail(c, "unexpected control character 0x%02x at byte %zu", ch, i);
			return fail(c, "unexpected character '%c' at byte %zu",
			            ch < 0x80 ? ch : '?', i);
		}
	}
	if (!tokens)
		return fail(c, "no JSON value (empty input)");
	return 0;
}

/* Tie each cJSON number node to its token.  cJSON keeps members in source
 * order, so a document-order walk meets them in token order.  The token
 * index goes into valueint, which nothing else reads in this private tree. */
static int bind_numbers(struct canon *c, cJSON *node, size_t *k)
{
	for (; node; node = node->next) {
		if (cJSON_IsNumber(node)) {
			if (*k >= c->nnum || *k > INT_MAX)
				return fail(c, "internal error: number tokens do not match the parse");
			node->valueint = (int)(*k)++;
		} else if (node->child && bind_numbers(c, node->child, k)) {
			return -1;
		}
	}
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	/* Byte order of UTF-8 is code point order, which is Python's str order. */
	return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

static int emit(struct canon *c, const cJSON *node);

static int emit_object(struct canon *c, const cJSON *obj)
{
	size_t n = 0;
	for (const cJSON *m = obj->child; m; m = m->next)
		n++;
	cJSON **v = xreallocarray(NULL, n ? n : 1, sizeof(*v));
	n = 0;
	for (cJSON *m = obj->child; m; m = m->next)
		v[n++] = m;
	qsort(v, n, sizeof(*v), key_cmp);

	int rc = 0;
	for (size_t i = 1; i < n; i++) {
		if (!strcmp(v[i - 1]->string, v[i]->string)) {
			char shown[48];
			snprintf(shown, sizeof(shown), "%s", v[i]->string);
			for (char *p = shown; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					*p = '?';
			rc = fail(c, "duplicate key \"%s\"", shown);
			break;
		}
	}
	if (!rc) {
		jw_obj_begin(&c->w);
		for (size_t i = 0; i < n && !rc; i++) {
			jw_key(&c->w, v[i]->string);
			rc = emit(c, v[i]);
		}
		if (!rc)
			jw_obj_end(&c->w);
	}
	free(v);
	return rc;
}

/* Python keeps integers exact and prints floats with repr(). */
static int emit_number(struct canon *c, const cJSON *node)
{
	const struct numtok *t = &c->num[node->valueint];
	const char *text = (const char *)c->s + t->off;

	sb_reset(&c->scratch);
	sb_add(&c->scratch, text, t->len);
	if (!memchr(text, '.', t->len) && !memchr(text, 'e', t->len) && !memchr(text, 'E', t->len)) {
		jw_raw(&c->w, strcmp(c->scratch.buf, "-0") ? c->scratch.buf : "0");
		return 0;
	}
	double d = strtod(c->scratch.buf, NULL);
	if (isinf(d))
		return fail(c, "number at byte %zu is too large for a double", t->off);
	char repr[32];
	json_python_float(d, repr);
	jw_raw(&c->w, repr);
	return 0;
}

static int emit(struct canon *c, const cJSON *node)
{
	if (cJSON_IsObject(node))
		return emit_object(c, node);
	if (cJSON_IsArray(node)) {
		jw_arr_begin(&c->w);
		for (const cJSON *e = node->child; e; e = e->next)
			if (emit(c, e))
				return -1;
		jw_arr_end(&c->w);
		return 0;
	}
	if (cJSON_IsNumber(node))
		return emit_number(c, node);
	if (cJSON_IsString(node)) {
		jw_str(&c->w, node->valuestring);
		return 0;
	}
	if (cJSON_IsBool(node)) {
		jw_bool(&c->w, cJSON_IsTrue(node));
		return 0;
	}
	if (cJSON_IsNull(node)) {
		jw_null(&c->w);
		return 0;
	}
	return fail(c, "internal error: unexpected cJSON node type %d", node->type);
}

int json_canonicalize(const char *text, size_t len, enum json_style style,
                      struct strbuf *out, char *err, size_t errlen)
{
	struct canon c = { .s = (const unsigned char *)text, .n = len, .err = err,
	                   .errlen = errlen, .scratch = STRBUF_INIT };
	size_t start = out->len, k = 0;
	cJSON *root = NULL;
	char *masked = NULL;
	int rc = -1;

	if (err && errlen)
		err[0] = 0;
	if (len == SIZE_MAX) {
		fail(&c, "input too large");
		goto out;
	}
	if (lex(&c))
		goto out;

	/* cJSON only supplies the structure.  It would round every number to a
	 * double and refuses numbers longer than 63 bytes, so each number token
	 * becomes "0" padded with spaces: same length (error offsets stay
	 * true), still a number node in the same place.  The copy also gives
	 * the NUL that require_null_terminated needs inside the length. */
	masked = xmalloc(len + 1);
	memcpy(masked, text, len);
	masked[len] = 0;
	for (size_t i = 0; i < c.nnum; i++) {
		masked[c.num[i].off] = '0';
		memset(masked + c.num[i].off + 1, ' ', c.num[i].len - 1);
	}
	const char *end = NULL;
	root = cJSON_ParseWithLengthOpts(masked, len + 1, &end, 1);
	if (!root) {
		fail(&c, "invalid JSON at byte %zu",
		     end && end >= masked ? (size_t)(end - masked) : (size_t)0);
		goto out;
	}
	if (bind_numbers(&c, root, &k))
		goto out;
	if (k != c.nnum) {
		fail(&c, "internal error: number tokens do not match the parse");
		goto out;
	}

	jw_init(&c.w, out, style);
	rc = emit(&c, root);
out:
	if (rc && out->buf) {
		out->len = start;
		out->buf[start] = 0;
	}
	cJSON_Delete(root);
	free(masked);
	free(c.num);
	sb_free(&c.scratch);
	return rc;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int json_dup_keys(const cJSON *node)
{
	size_t n = 0;
	for (const cJSON *c = node->child; c; c = c->next) {
		n++;
		if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && json_dup_keys(c))
			return 1;
	}
	if (!cJSON_IsObject(node) || n < 2)
		return 0;
	const char **names = xcalloc(n, sizeof(*names));
	size_t i = 0;
	for (const cJSON *c = node->child; c; c = c->next)
		names[i++] = c->string ? c->string : "";
	qsort(names, n, sizeof(*names), cmp_key);
	int dup = 0;
	for (i = 1; i < n && !dup; i++)
		dup = !strcmp(names[i - 1], names[i]);
	free(names);
	return dup;
}

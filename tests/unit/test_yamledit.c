/* test_yamledit.c - libcommon/yamledit.c: set a dotted key, keep every other byte.
 *
 * Every success case asserts the exact output, and then, independently of
 * yamledit.c's own checks:
 *   - byte preservation: the output with the new span cut out is the input
 *     with the old span cut out (and, where given, the spans hold exactly
 *     the old and the new scalar text);
 *   - an oracle built on libyaml's document loader (not the event code
 *     under test) flattens input and output to "path style value" lines:
 *     every line but the edited key's is unchanged;
 *   - libcommon/config.c's cfg_load_mem, where it accepts the input, agrees:
 *     every other entry keeps its kind and value;
 *   - yedit_get reads the value back, and setting it again is a no-op.
 */

#include "unit.h"
#include "yamledit.h"

#include <yaml.h>

#define NAME "t.yaml"

/* ------------------------------------------------------------- oracle */

struct flat {
	char **e;
	size_t n;
};

static void flat_node(yaml_document_t *doc, yaml_node_t *nd, const char *path,
                      struct flat *f, int depth)
{
	if (!nd || depth > 64)
		return;
	if (nd->type == YAML_SCALAR_NODE) {
		f->e = xreallocarray(f->e, f->n + 1, sizeof(char *));
		f->e[f->n++] = xasprintf("%s\t%d\t%.*s", path, (int)nd->data.scalar.style,
		                         (int)nd->data.scalar.length,
		                         (const char *)nd->data.scalar.value);
	} else if (nd->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = nd->data.mapping.pairs.start;
		     p < nd->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			const char *kt = k && k->type == YAML_SCALAR_NODE ?
			                 (const char *)k->data.scalar.value : "?";
			char *sub = *path ? xasprintf("%s.%s", path, kt) : xstrdup(kt);
			flat_node(doc, yaml_document_get_node(doc, p->value), sub, f, depth + 1);
			free(sub);
		}
	} else if (nd->type == YAML_SEQUENCE_NODE) {
		size_t i = 0;
		for (yaml_node_item_t *it = nd->data.sequence.items.start;
		     it < nd->data.sequence.items.top; it++, i++) {
			char *sub = xasprintf("%s[%zu]", path, i);
			flat_node(doc, yaml_document_get_node(doc, *it), sub, f, depth + 1);
			free(sub);
		}
	}
}

static int flatten(const char *text, size_t len, struct flat *f)
{
	yaml_parser_t p;
	yaml_document_t doc;
	int ok;

	f->e = NULL;
	f->n = 0;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	ok = yaml_parser_load(&p, &doc);
	if (ok) {
		flat_node(&doc, yaml_document_get_root_node(&doc), "", f, 0);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&p);
	return ok;
}

static void flat_free(struct flat *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->e[i]);
	free(f->e);
}

static size_t path_len(const char *e)
{
	return strcspn(e, "\t");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Drop the entries the edit may change: key itself, and the empty values
 * (or empty document) that became its parents.  Returns the value of key
 * when present. */
static const char *flat_drop(struct flat *f, const char *key)
{
	const char *val = NULL;
	size_t klen = strlen(key), j = 0;
	for (size_t i = 0; i < f->n; i++) {
		size_t pl = path_len(f->e[i]);
		int drop = pl == 0 || (pl <= klen && !memcmp(f->e[i], key, pl) &&
		                       (pl == klen || key[pl] == '.'));
		if (drop && pl == klen && pl) {
			const char *v = strchr(f->e[i] + pl + 1, '\t');
			val = v ? v + 1 : NULL;
		}
		if (drop)
			free(f->e[i]);
		else
			f->e[j++] = f->e[i];
	}
	f->n = j;
	if (f->n)
		qsort(f->e, f->n, sizeof(char *), cmp_str);
	return val;
}

/* Every leaf but key's is the same before and after; key's is value. */
static void oracle_check(const char *in, size_t inlen, const char *out, size_t outlen,
                         const char *key, const char *value)
{
	struct flat a, b;
	int ain = flatten(in, inlen, &a), bout = flatten(out, outlen, &b);

	CHECK(ain && bout);
	char *keep = NULL;
	for (size_t i = 0; i < b.n; i++) {
		size_t pl = path_len(b.e[i]);
		if (pl == strlen(key) && !memcmp(b.e[i], key, pl)) {
			const char *v = strchr(b.e[i] + pl + 1, '\t');
			keep = xstrdup(v ? v + 1 : "");
		}
	}
	CHECK_STR(keep, value);
	free(keep);
	flat_drop(&a, key);
	flat_drop(&b, key);
	CHECK_INT(a.n, b.n);
	for (size_t i = 0; i < a.n && i < b.n; i++)
		CHECK_STR(b.e[i], a.e[i]);
	flat_free(&a);
	flat_free(&b);
}

/* The same through libcommon/config.c, when it accepts the input (it
 * refuses merge keys and keys with '.', among others). */
static size_t cfg_checked;

static int is_self_or_parent(const char *k, const char *key)
{
	size_t n = strlen(k);
	return !strncmp(k, key, n) && (key[n] == 0 || key[n] == '.');
}

static void cfg_check(const char *in, size_t inlen, const char *out, size_t outlen,
                      const char *key, const char *value)
{
	struct cfg a, b;
	char err[512];
	size_t kept = 0;

	if (cfg_load_mem(&a, NAME, in, inlen, err, sizeof(err)))
		return;
	cfg_checked++;
	CHECK_INT(cfg_load_mem(&b, NAME, out, outlen, err, sizeof(err)), 0);
	const struct cfg_entry *e = cfg_get(&b, key);
	CHECK(e && e->kind == CFG_SCALAR && e->value && !strcmp(e->value, value));
	for (size_t i = 0; i < a.n; i++) {
		const struct cfg_entry *x = &a.e[i];
		if (is_self_or_parent(x->key, key))
			continue;
		kept++;
		const struct cfg_entry *y = cfg_get(&b, x->key);
		CHECK(y && y->kind == x->kind && y->plain == x->plain);
		CHECK(y && (x->value ? y->value && !strcmp(x->value, y->value) : !y->value));
	}
	CHECK_INT(b.n, kept + 1);
	cfg_free(&a);
	cfg_free(&b);
}

/* ------------------------------------------------------------- runner */

static void check_set(const char *what, const char *in, size_t inlen, const char *key,
                      const char *value, const char *want, size_t wantlen,
                      const char *old_text, const char *new_text)
{
	int before = unit_cur_failed;
	char *out = NULL, *again = NULL, *got = NULL, err[512] = "";
	size_t outlen = 0, againlen = 0;
	struct yedit_span sp;

	int rc = yedit_set_ex(NAME, in, inlen, key, value, &out, &outlen, &sp, err, sizeof(err));
	CHECK_INT(rc, 0);
	if (rc) {
		printf("#   error: %s\n", err);
		goto done;
	}
	CHECK_INT(outlen, wantlen);
	CHECK(outlen == wantlen && !memcmp(out, want, wantlen));
	CHECK(out[outlen] == 0);
	if (outlen != wantlen || memcmp(out, want, wantlen))
		printf("#   got:\n%s\n#   want:\n%s\n", out, want);

	/* Byte preservation. */
	CHECK(sp.old_start == sp.new_start);
	CHECK(sp.old_start <= sp.old_end && sp.old_end <= inlen);
	CHECK(sp.new_start <= sp.new_end && sp.new_end <= outlen);
	CHECK(inlen - sp.old_end == outlen - sp.new_end);
	CHECK(!memcmp(out, in, sp.old_start));
	CHECK(!memcmp(out + sp.new_end, in + sp.old_end, inlen - sp.old_end));
	if (old_text) {
		CHECK(sp.old_end - sp.old_start == strlen(old_text) &&
		      !memcmp(in + sp.old_start, old_text, strlen(old_text)));
		CHECK(sp.new_end - sp.new_start == strlen(new_text) &&
		      !memcmp(out + sp.new_start, new_text, strlen(new_text)));
	}

	oracle_check(in, inlen, out, outlen, key, value);
	cfg_check(in, inlen, out, outlen, key, value);

	CHECK_INT(yedit_get(NAME, out, outlen, key, &got, NULL, err, sizeof(err)), 0);
	CHECK_STR(got, value);

	/* Setting the same value again changes nothing. */
	CHECK_INT(yedit_set(NAME, out, outlen, key, value, &again, &againlen, err, sizeof(err)), 0);
	CHECK(again && againlen == outlen && !memcmp(again, out, outlen));
done:
	if (unit_cur_failed != before)
		printf("#   in case: %s\n", what);
	free(out);
	free(again);
	free(got);
}

struct set_case {
	const char *name, *in, *key, *value, *want;
	const char *old_text, *new_text;   /* the replaced span, when checked */
};

static void run_set_cases(const struct set_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_set(c[i].name, c[i].in, strlen(c[i].in), c[i].key, c[i].value, c[i].want,
		          strlen(c[i].want), c[i].old_text, c[i].new_text);
}

#define TOKEN "enc:v2:BwK38+RR8e/9aQ=="

/* ------------------------------------------------------------- replace */

TEST(replace_scalars)
{
	static const struct set_case c[] = {
		{ "plain", "a: 1\nauth:\n  api_key: old # c\n  user: bob\n", "auth.api_key", TOKEN,
		  "a: 1\nauth:\n  api_key: " TOKEN " # c\n  user: bob\n", "old", TOKEN },
		{ "single-quoted", "auth:\n  api_key: 'it''s' # c\n", "auth.api_key",
		  "keyring:auth.api_key", "auth:\n  api_key: keyring:auth.api_key # c\n",
		  "'it''s'", "keyring:auth.api_key" },
		{ "double-quoted", "k: \"old\\n\"  # c\nz: 1\n", "k", "new",
		  "k: new  # c\nz: 1\n", "\"old\\n\"", "new" },
		{ "multi-line plain", "a: first\n  second\n  third # c\nb: 1\n", "a", "new",
		  "a: new # c\nb: 1\n", "first\n  second\n  third", "new" },
		{ "multi-line double-quoted", "a: \"one\n  two\"\nb: 1\n", "a", "new",
		  "a: new\nb: 1\n", "\"one\n  two\"", "new" },
		{ "value on the next line", "a:\n  value\nb: 1\n", "a", "new",
		  "a:\n  new\nb: 1\n", "value", "new" },
		{ "null ~", "a: ~\n", "a", "new", "a: new\n", "~", "new" },
		{ "empty value", "a:\nb: 1\n", "a", "new", "a: new\nb: 1\n", "", " new" },
		{ "empty value with comment", "a: # c\nb: 1\n", "a", "new",
		  "a: new # c\nb: 1\n", "", " new" },
		{ "explicit key", "? q\n: 1\n", "q", "new", "? q\n: new\n", "1", "new" },
		{ "quoted keys match", "'auth':\n  \"api_key\": old\n", "auth.api_key", "new",
		  "'auth':\n  \"api_key\": new\n", "old", "new" },
		{ "quote when a comment touches the scalar", "a: \"x\"#c\n", "a", "new",
		  "a: \"new\"#c\n", "\"x\"", "\"new\"" },
	};
	run_set_cases(c, ARRAY_SIZE(c));
}

TEST(replace_block_scalars)
{
	static const struct set_case c[] = {
		{ "literal", "a: |\n  line1\n  line2\nb: 1\n", "a", "new", "a: new\nb: 1\n",
		  "|\n  line1\n  line2", "new" },
		{ "folded with header comment", "a: >-  # note\n  x\n  y\n\nb: 1\n", "a", "new",
		  "a: new  # note\n\nb: 1\n", ">-  # note\n  x\n  y", "new  # note" },
		{ "keep chomping", "a: |+\n  x\n\nb: 1\n", "a", "new", "a: new\n\nb: 1\n",
		  "|+\n  x", "new" },
		{ "no content", "a: |\nb: 1\n", "a", "new", "a: new\nb: 1\n", "|", "new" },
		{ "nested, next key at lower indent", "s:\n  t: |\n    x\n    y\n  u: 1\n",
		  "s.t", "new", "s:\n  t: new\n  u: 1\n", "|\n    x\n    y", "new" },
		{ "at the end without newline", "a:\n  t: |\n    keep", "a.t", "new",
		  "a:\n  t: new", "|\n    keep", "new" },
		{ "indentation indicator", "a: |2\n    lead\nb: 1\n", "a", "new",
		  "a: new\nb: 1\n", "|2\n    lead", "new" },
		{ "indicator at the key's column (libyaml takes it)", "auth:\n> # c\n  text\nz: 1\n",
		  "auth", "new", "auth:\n  new # c\nz: 1\n", "> # c\n  text", "  new # c" },
		{ "nested indicator at the key's column", "m:\n  auth:\n  |\n    text\n  z: 1\n",
		  "m.auth", "new", "m:\n  auth:\n    new\n  z: 1\n", "|\n    text", "  new" },
	};
	run_set_cases(c, ARRAY_SIZE(c));
}

TEST(replace_quoting)
{
	static const struct set_case c[] = {
		{ "spaces", "a: 1\n", "a", "two words", "a: \"two words\"\n", "1", "\"two words\"" },
		{ "boolean word", "a: 1\n", "a", "yes", "a: \"yes\"\n", NULL, NULL },
		{ "boolean word, other case", "a: 1\n", "a", "Off", "a: \"Off\"\n", NULL, NULL },
		{ "null word", "a: 1\n", "a", "null", "a: \"null\"\n", NULL, NULL },
		{ "number", "a: x\n", "a", "123", "a: \"123\"\n", NULL, NULL },
		{ "float", "a: x\n", "a", "1.5e3", "a: \"1.5e3\"\n", NULL, NULL },
		{ "date", "a: x\n", "a", "2001-12-14", "a: \"2001-12-14\"\n", NULL, NULL },
		{ "trailing colon", "a: x\n", "a", "keyring:", "a: \"keyring:\"\n", NULL, NULL },
		{ "indicator first", "a: x\n", "a", "-x", "a: \"-x\"\n", NULL, NULL },
		{ "comment sign", "a: x\n", "a", "a#b", "a: \"a#b\"\n", NULL, NULL },
		{ "empty", "a: x\n", "a", "", "a: \"\"\n", "x", "\"\"" },
		{ "escapes", "a: x\n", "a", "q\"b\\s\nt\tc\x01" "d\x7f" "é\xc2\x85\xe2\x80\xa8\xef\xbb\xbf",
		  "a: \"q\\\"b\\\\s\\x0At\\x09c\\x01d\\x7Fé\\x85\\u2028\\uFEFF\"\n", NULL, NULL },
		{ "token stays plain", "a: x\n", "a", "enc:v2:a+b/c==", "a: enc:v2:a+b/c==\n",
		  NULL, NULL },
		{ "key that needs quotes", "a: 1\n", "my key.on", "v",
		  "a: 1\n\"my key\":\n  \"on\": v\n", "", "\"my key\":\n  \"on\": v\n" },
	};
	run_set_cases(c, ARRAY_SIZE(c));
}

/* ------------------------------------------------------------- anchors */

TEST(anchors_and_aliases)
{
	static const struct set_case c[] = {
		{ "alias value replaced where it is; the anchor and the other alias keep old",
		  "base: &k old\nauth:\n  api_key: *k # shared\nother: *k\n", "auth.api_key", "new",
		  "base: &k old\nauth:\n  api_key: new # shared\nother: *k\n", "*k", "new" },
		{ "alias value in flow", "base: &k old\nauth: {api_key: *k}\n", "auth.api_key", "new",
		  "base: &k old\nauth: {api_key: \"new\"}\n", "*k", "\"new\"" },
		{ "anchored value keeps its anchor", "a: &k old # c\nb: 2\n", "a", "new",
		  "a: &k new # c\nb: 2\n", "old", "new" },
		{ "anchor and tag kept", "a: &k !!str 'x'\n", "a", "new", "a: &k !!str new\n",
		  "'x'", "new" },
		{ "anchor only, empty", "a: &k\nb: 1\n", "a", "new", "a: &k new\nb: 1\n", "", " new" },
		{ "tag !!str", "a: !!str old\n", "a", "new", "a: !!str new\n", "old", "new" },
		{ "tag !", "a: ! old\n", "a", "new", "a: ! new\n", "old", "new" },
		{ "anchored block scalar", "a: &k |\n  x\nb: 1\n", "a", "new", "a: &k new\nb: 1\n",
		  "|\n  x", "new" },
		{ "insert next to a merge key", "base: &b\n  k: 1\nprod:\n  <<: *b\n", "prod.k", "v",
		  "base: &b\n  k: 1\nprod:\n  <<: *b\n  k: v\n", "", "  k: v\n" },
		{ "anchored mapping that no alias uses", "m: &m\n  a: 1\n", "m.b", "v",
		  "m: &m\n  a: 1\n  b: v\n", "", "  b: v\n" },
	};
	run_set_cases(c, ARRAY_SIZE(c));
}

/* ------------------------------------------------------------- comments */

static const char comments_in[] =
	"# head comment\n"
	"\n"
	"auth:   # after key\n"
	"  # before entry\n"
	"  user: bob # inline\n"
	"  # between\n"
	"  api_key: old   # inline after value\n"
	"  # after the last entry, at its indentation\n"
	"\n"
	"# before the next top key\n"
	"server: {port: 8080} # flow\n"
	"# end\n";

TEST(comments_everywhere)
{
	static const struct set_case c[] = {
		{ "replace", comments_in, "auth.api_key", TOKEN,
		  "# head comment\n"
		  "\n"
		  "auth:   # after key\n"
		  "  # before entry\n"
		  "  user: bob # inline\n"
		  "  # between\n"
		  "  api_key: " TOKEN "   # inline after value\n"
		  "  # after the last entry, at its indentation\n"
		  "\n"
		  "# before the next top key\n"
		  "server: {port: 8080} # flow\n"
		  "# end\n", "old", TOKEN },
		{ "insert leaf", comments_in, "auth.token", "v",
		  "# head comment\n"
		  "\n"
		  "auth:   # after key\n"
		  "  # before entry\n"
		  "  user: bob # inline\n"
		  "  # between\n"
		  "  api_key: old   # inline after value\n"
		  "  token: v\n"
		  "  # after the last entry, at its indentation\n"
		  "\n"
		  "# before the next top key\n"
		  "server: {port: 8080} # flow\n"
		  "# end\n", "", "  token: v\n" },
		{ "insert top level", comments_in, "top", "v",
		  "# head comment\n"
		  "\n"
		  "auth:   # after key\n"
		  "  # before entry\n"
		  "  user: bob # inline\n"
		  "  # between\n"
		  "  api_key: old   # inline after value\n"
		  "  # after the last entry, at its indentation\n"
		  "\n"
		  "# before the next top key\n"
		  "server: {port: 8080} # flow\n"
		  "top: v\n"
		  "# end\n", "", "top: v\n" },
		{ "insert into the flow value", comments_in, "server.host", "h",
		  "# head comment\n"
		  "\n"
		  "auth:   # after key\n"
		  "  # before entry\n"
		  "  user: bob # inline\n"
		  "  # between\n"
		  "  api_key: old   # inline after value\n"
		  "  # after the last entry, at its indentation\n"
		  "\n"
		  "# before the next top key\n"
		  "server: {port: 8080, host: \"h\"} # flow\n"
		  "# end\n", "", ", host: \"h\"" },
	};
	run_set_cases(c, ARRAY_SIZE(c));
}

/* ------------------------------------------------------------- flow */

TEST(flow_mappings)
{
	static const struct set_case c[] = {
		{ "replace", "auth: {api_key: old, user: bob}\n", "auth.api_key", TOKEN,
		  "auth: {api_key: \"" TOKEN "\", user: bob}\n", "old", "\"" TOKEN "\"" },
		{ "insert leaf", "auth: {user: bob}\n", "auth.api_key", "v",
		  "auth: {user: bob, api_key: \"v\"}\n", "", ", api_key: \"v\"" },
		{ "missing parents inside flow", "cfg: {a: {b: 1}}\n", "cfg.a.c.d", "v",
		  "cfg: {a: {b: 1, c: {d: \"v\"}}}\n", "", ", c: {d: \"v\"}" },
		{ "empty flow mapping", "auth: {}\n", "auth.api_key", "v",
		  "auth: {api_key: \"v\"}\n", "", "api_key: \"v\"" },
		{ "empty flow mapping with blank", "auth: { }\n", "auth.api_key", "v",
		  "auth: { api_key: \"v\"}\n", "", "api_key: \"v\"" },
		{ "empty value", "auth: {api_key: , user: bob}\n", "auth.api_key", "v",
		  "auth: {api_key: \"v\", user: bob}\n", "", "\"v\"" },
		{ "key without value", "auth: {api_key, user: bob}\n", "auth.api_key", "v",
		  "auth: {api_key: \"v\", user: bob}\n", "", ": \"v\"" },
		{ "after a key without value", "auth: {user}\n", "auth.api_key", "v",
		  "auth: {user, api_key: \"v\"}\n", "", ", api_key: \"v\"" },
		{ "empty value becomes a mapping", "auth: {oidc: , x: 1}\n", "auth.oidc.secret", "v",
		  "auth: {oidc: {secret: \"v\"}, x: 1}\n", "", "{secret: \"v\"}" },
		{ "multi-line flow", "auth: {\n  user: bob,\n  x: 1   # c\n}\n", "auth.api_key", "v",
		  "auth: {\n  user: bob,\n  x: 1, api_key: \"v\"   # c\n}\n", "", ", api_key: \"v\"" },
		{ "trailing comma", "auth: {user: bob, }\n", "auth.api_key", "v",
		  "auth: {user: bob, api_key: \"v\", }\n", "", ", api_key: \"v\"" },
		{ "top-level {}", "{}\n", "auth.api_key", "v", "{auth: {api_key: \"v\"}}\n",
		  "", "auth: {api_key: \"v\"}" },
		{ "top-level flow, no newline", "{a: 1}", "b", "v", "{a: 1, b: \"v\"}",
		  "", ", b: \"v\"" },
		{ "block mapping inside a flow sequence is not on the path",
		  "list: [{a: 1}]\nauth: {}\n", "auth.k", "v",
		  "list: [{a: 1}]\nauth: {k: \"v\"}\n", NULL, NULL },
	};
	run_set_cases(c, ARRAY_SIZE(c));
}

/* ------------------------------------------------------------- insert */

TEST(insert_block)
{
	static const struct set_case c[] = {
		{ "missing leaf", "auth:\n  user: bob\nserver:\n  port: 1\n", "auth.api_key", "v",
		  "auth:\n  user: bob\n  api_key: v\nserver:\n  port: 1\n", "", "  api_key: v\n" },
		{ "after nested blocks",
		  "auth:\n  user: bob\n  opts:\n    deep:\n      x: 1\n    list:\n    - a\n    - b\nnext: 1\n",
		  "auth.api_key", "v",
		  "auth:\n  user: bob\n  opts:\n    deep:\n      x: 1\n    list:\n    - a\n    - b\n"
		  "  api_key: v\nnext: 1\n", NULL, NULL },
		{ "after a block scalar, before blank lines and comments",
		  "auth:\n  motd: |\n    hi\n\n# c\nz: 1\n", "auth.api_key", "v",
		  "auth:\n  motd: |\n    hi\n  api_key: v\n\n# c\nz: 1\n", NULL, NULL },
		{ "after a |+ block scalar, which owns its blank lines",
		  "auth:\n  motd: |+\n    hi\n\nz: 1\n", "auth.api_key", "v",
		  "auth:\n  motd: |+\n    hi\n\n  api_key: v\nz: 1\n", NULL, NULL },
		{ "after a |- block scalar at the end without newline",
		  "auth:\n  motd: |-\n    hi", "auth.api_key", "v",
		  "auth:\n  motd: |-\n    hi\n  api_key: v", NULL, NULL },
		{ "after a multi-line flow value", "a:\n  l: [1,\n    2]  # c\nb: 1\n", "a.k", "v",
		  "a:\n  l: [1,\n    2]  # c\n  k: v\nb: 1\n", NULL, NULL },
		{ "missing parents", "server:\n  port: 1\n", "auth.oidc.secret", "v",
		  "server:\n  port: 1\nauth:\n  oidc:\n    secret: v\n", "",
		  "auth:\n  oidc:\n    secret: v\n" },
		{ "missing parents two levels down", "auth:\n  user: bob\n",
		  "auth.oidc.client.secret", "v",
		  "auth:\n  user: bob\n  oidc:\n    client:\n      secret: v\n", NULL, NULL },
		{ "top-level key", "a: 1\nb: 2\n", "c", "v", "a: 1\nb: 2\nc: v\n", "", "c: v\n" },
		{ "empty value becomes a mapping", "auth:\nz: 1\n", "auth.api_key", "v",
		  "auth:\n  api_key: v\nz: 1\n", "", "  api_key: v\n" },
		{ "empty value with comment becomes a mapping", "auth: # fill in\nz: 1\n",
		  "auth.api_key", "v", "auth: # fill in\n  api_key: v\nz: 1\n", NULL, NULL },
		{ "mapping in a sequence item",
		  "list:\n- a: 1\n  b: 2\nk:\n  x: 1\n", "k.y2", "v",
		  "list:\n- a: 1\n  b: 2\nk:\n  x: 1\n  y2: v\n", NULL, NULL },
		{ "first key with properties", "m: &m\n  a: 1\nz: 0\n", "m.b", "v",
		  "m: &m\n  a: 1\n  b: v\nz: 0\n", NULL, NULL },
		{ "explicit key mapping", "? q\n: 1\n? r\n: 2\n", "s", "v",
		  "? q\n: 1\n? r\n: 2\ns: v\n", NULL, NULL },
	};
	run_set_cases(c, ARRAY_SIZE(c));
}

TEST(insert_documents)
{
	static const struct set_case c[] = {
		{ "empty file", "", "auth.api_key", "v", "auth:\n  api_key: v\n", "",
		  "auth:\n  api_key: v\n" },
		{ "blank lines only", "\n\n", "a", "v", "\n\na: v\n", NULL, NULL },
		{ "comments only", "# c1\n\n# c2\n", "auth.api_key", "v",
		  "# c1\n\n# c2\nauth:\n  api_key: v\n", NULL, NULL },
		{ "comment without newline", "# c", "auth.api_key", "v",
		  "# c\nauth:\n  api_key: v", "", "\nauth:\n  api_key: v" },
		{ "document start only", "---\n", "auth.api_key", "v",
		  "---\nauth:\n  api_key: v\n", NULL, NULL },
		{ "document start and end", "--- # c\n...\n", "auth.api_key", "v",
		  "--- # c\nauth:\n  api_key: v\n...\n", NULL, NULL },
		{ "document end kept", "a: 1\n...\n# after\n", "b", "v",
		  "a: 1\nb: v\n...\n# after\n", NULL, NULL },
		{ "directive", "%YAML 1.1\n---\na: 1\n", "b", "v", "%YAML 1.1\n---\na: 1\nb: v\n",
		  NULL, NULL },
	};
	run_set_cases(c, ARRAY_SIZE(c));
}

/* ------------------------------------------------------------- layout */

TEST(no_trailing_newline)
{
	static const struct set_case c[] = {
		{ "replace last", "a: 1\nb: old", "b", "new", "a: 1\nb: new", "old", "new" },
		{ "insert leaf", "a: 1\nb: old", "c", "v", "a: 1\nb: old\nc: v", "", "\nc: v" },
		{ "insert parents", "a: 1\nb: old", "x.z", "v", "a: 1\nb: old\nx:\n  z: v",
		  "", "\nx:\n  z: v" },
		{ "insert after trailing comment", "a: 1 # c", "b", "v", "a: 1 # c\nb: v",
		  NULL, NULL },
		{ "empty value at the end", "a:", "a", "v", "a: v", "", " v" },
		{ "empty value at the end becomes a mapping", "a:", "a.b", "v", "a:\n  b: v",
		  NULL, NULL },
	};
	run_set_cases(c, ARRAY_SIZE(c));
}

TEST(crlf)
{
	static const struct set_case c[] = {
		{ "replace", "a: old\r\nb: 1\r\n", "a", "new", "a: new\r\nb: 1\r\n", "old", "new" },
		{ "replace block scalar", "a: |\r\n  x\r\n  y\r\nb: 1\r\n", "a", "new",
		  "a: new\r\nb: 1\r\n", "|\r\n  x\r\n  y", "new" },
		{ "insert leaf", "auth:\r\n  user: bob\r\n", "auth.api_key", "v",
		  "auth:\r\n  user: bob\r\n  api_key: v\r\n", "", "  api_key: v\r\n" },
		{ "insert parents", "a: 1\r\n", "x.p.q", "v", "a: 1\r\nx:\r\n  p:\r\n    q: v\r\n",
		  NULL, NULL },
		{ "no final newline", "a: 1\r\nb: 2", "c", "v", "a: 1\r\nb: 2\r\nc: v", NULL, NULL },
		{ "comments only", "# c\r\n", "a", "v", "# c\r\na: v\r\n", NULL, NULL },
	};
	run_set_cases(c, ARRAY_SIZE(c));
}

TEST(indentation)
{
	static const struct set_case c[] = {
		{ "four spaces, parents", "a:\n    b: 1\n", "a.c.d", "v",
		  "a:\n    b: 1\n    c:\n        d: v\n", NULL, NULL },
		{ "four spaces, top-level parents", "a:\n    b: 1\n", "x.y2.z", "v",
		  "a:\n    b: 1\nx:\n    y2:\n        z: v\n", NULL, NULL },
		{ "three spaces", "a:\n   b:\n      c: 1\n", "a.nn.m", "v",
		  "a:\n   b:\n      c: 1\n   nn:\n      m: v\n", NULL, NULL },
		{ "mostly four", "a:\n    b: 1\nc:\n    d:\n        e: 1\nf:\n  g: 1\n", "f.h.i", "v",
		  "a:\n    b: 1\nc:\n    d:\n        e: 1\nf:\n  g: 1\n  h:\n      i: v\n",
		  NULL, NULL },
		{ "empty value in a four-space file", "a:\n    b: 1\nc:\n", "c.d", "v",
		  "a:\n    b: 1\nc:\n    d: v\n", NULL, NULL },
	};
	run_set_cases(c, ARRAY_SIZE(c));
}

TEST(unicode_untouched)
{
	static const struct set_case c[] = {
		{ "BOM and non-ASCII before the edit",
		  "\xEF\xBB\xBFname: \"日本語\"\nauth:\n  user: Jürgen  # ✓\n  api_key: old\n",
		  "auth.api_key", "new",
		  "\xEF\xBB\xBFname: \"日本語\"\nauth:\n  user: Jürgen  # ✓\n  api_key: new\n",
		  "old", "new" },
		{ "non-ASCII inside the replaced block scalar",
		  "é: ü\nmotd: |\n  Grüße ✓\n  日本\nz: ñ\n", "motd", "new",
		  "é: ü\nmotd: new\nz: ñ\n", "|\n  Grüße ✓\n  日本", "new" },
		{ "insert after non-ASCII", "ключ:\n  значение: да\n", "ключ.new", "v",
		  "ключ:\n  значение: да\n  new: v\n", "", "  new: v\n" },
		{ "non-ASCII key and value", "a: 1\n", "ключ", "значение",
		  "a: 1\n\"ключ\": \"значение\"\n", NULL, NULL },
		{ "flow after non-ASCII", "m: {ä: 1, ö: 2}\n", "m.k", "✓",
		  "m: {ä: 1, ö: 2, k: \"✓\"}\n", "", ", k: \"✓\"" },
	};
	run_set_cases(c, ARRAY_SIZE(c));
}

/* ------------------------------------------------------------- fixtures */

static char *slurp(const char *rel, size_t *len)
{
	FILE *f = fopen(unit_path(rel), "rb");
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_add(&sb, buf, n);
	fclose(f);
	return sb_detach(&sb, len);
}

TEST(fixture_pairs)
{
	static const struct {
		const char *base, *key, *value;
	} c[] = {
		{ "apcore", "auth.api_key", "enc:v2:BwK38+RR8e/Q==" },
		{ "apcore", "auth.token", "keyring:auth.token" },
		{ "apcore", "cloud.aws.secret", "enc:v2:AAAA" },
		{ "apcore", "auth.motd", "line one\nline \"two\"" },
		{ "apcore", "registry.url", "keyring:registry.url" },
		{ "apcore", "auth.scopes.admin", "enc:v2:x" },
		{ "apcore", "sandbox.note", "replaced" },
		{ "indent4", "server.tls.key", "keyring:tls" },
		{ "indent4", "server.auth.oidc.secret", "enc:v2:QQ==" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		char in_rel[256], want_rel[256];
		size_t inlen = 0, wantlen = 0;
		snprintf(in_rel, sizeof(in_rel), "tests/files/yamledit/%s.yaml", c[i].base);
		snprintf(want_rel, sizeof(want_rel), "tests/files/yamledit/%s--%s.yaml", c[i].base,
		         c[i].key);
		char *in = slurp(in_rel, &inlen), *want = slurp(want_rel, &wantlen);
		CHECK(in && want);
		if (in && want)
			check_set(want_rel, in, inlen, c[i].key, c[i].value, want, wantlen, NULL, NULL);
		else
			printf("#   missing %s or %s\n", in_rel, want_rel);
		free(in);
		free(want);
	}
}

/* Every leaf of a fixture can be replaced, and a key added next to it, or
 * the edit is refused with a reason (never the self-check's). */
static void set_all(const char *what, const char *text, size_t len, size_t *ok, size_t *refused)
{
	struct flat f;
	CHECK(flatten(text, len, &f));
	for (size_t i = 0; i < f.n; i++) {
		size_t pl = path_len(f.e[i]);
		char *leaf = xstrndup(f.e[i], pl), *dot = strrchr(leaf, '.');
		char *sib = dot ? xasprintf("%.*s.zz_new", (int)(dot - leaf), leaf) : xstrdup("zz_new");
		const char *keys[] = { leaf, sib };
		if (!pl || strchr(leaf, '[')) {
			free(leaf);
			free(sib);
			continue;
		}
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
			char *out = NULL, err[512] = "";
			size_t outlen = 0;
			int before = unit_cur_failed;
			if (yedit_set(NAME, text, len, keys[k], TOKEN, &out, &outlen, err, sizeof(err))) {
				CHECK(!strstr(err, "internal error"));
				(*refused)++;
			} else {
				oracle_check(text, len, out, outlen, keys[k], TOKEN);
				cfg_check(text, len, out, outlen, keys[k], TOKEN);
				(*ok)++;
			}
			if (unit_cur_failed != before)
				printf("#   in %s, key %s: %s\n", what, keys[k], err);
			free(out);
		}
		free(leaf);
		free(sib);
	}
	flat_free(&f);
}

TEST(every_key_of_fixtures)
{
	static const char *const files[] = {
		"tests/files/yamledit/apcore.yaml",
		"tests/files/yamledit/indent4.yaml",
	};
	size_t ok = 0, refused = 0;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		size_t len = 0;
		char *text = slurp(files[i], &len);
		CHECK(text != NULL);
		if (text)
			set_all(files[i], text, len, &ok, &refused);
		free(text);
	}
	/* apcore.yaml: defaults.timeout/retries sit in the mapping that
	 * sandbox's << alias shares, sandbox.<<.timeout/retries go through that
	 * alias: 4 leaves, 8 edits refused. */
	CHECK_INT(refused, 8);
	CHECK_INT(ok, 24);
	set_all("comments", comments_in, strlen(comments_in), &ok, &refused);
	CHECK_INT(refused, 8);
	CHECK_INT(ok, 30);
}

/* ------------------------------------------------------------- refusals */

struct refuse_case {
	const char *name, *in, *key, *value, *err;   /* err ending in '*': prefix */
	size_t len;                                  /* 0: strlen(in) */
};

TEST(refusals)
{
	static const struct refuse_case c[] = {
		{ "value is a mapping", "auth:\n  api_key:\n    x: 1\n", "auth.api_key", "v",
		  NAME ":3:5: auth.api_key is a mapping, not a scalar value", 0 },
		{ "value is a sequence", "auth:\n  api_key:\n  - 1\n", "auth.api_key", "v",
		  NAME ":3:3: auth.api_key is a sequence, not a scalar value", 0 },
		{ "value is a flow sequence", "auth: {api_key: [1]}\n", "auth.api_key", "v",
		  NAME ":1:17: auth.api_key is a sequence, not a scalar value", 0 },
		{ "parent is a scalar", "auth: x\n", "auth.api_key", "v",
		  NAME ":1:7: auth is a scalar, not a mapping", 0 },
		{ "parent is null", "auth: ~\n", "auth.api_key", "v",
		  NAME ":1:7: auth is a scalar, not a mapping", 0 },
		{ "parent is a sequence", "auth:\n- a\n", "auth.api_key", "v",
		  NAME ":2:1: auth is a sequence, not a mapping", 0 },
		{ "top level is a sequence", "- a\n", "a", "v",
		  NAME ":1:1: the top level is a sequence, not a mapping", 0 },
		{ "top level is a scalar", "hello\n", "a", "v",
		  NAME ":1:1: the top level is a scalar, not a mapping", 0 },
		{ "duplicate leaf", "auth:\n  api_key: a\n  api_key: b\n", "auth.api_key", "v",
		  NAME ":3:3: duplicate key auth.api_key (also at 2:3)", 0 },
		{ "duplicate parent", "auth: {}\nauth: {}\n", "auth.api_key", "v",
		  NAME ":2:1: duplicate key auth (also at 1:1)", 0 },
		{ "duplicate through an alias key", "k: &n auth\nm:\n  auth: 1\n  *n : 2\n", "m.auth", "v",
		  NAME ":4:3: duplicate key m.auth (also at 3:3)", 0 },
		{ "two documents", "a: 1\n---\nb: 2\n", "a", "v",
		  NAME ":2:1: a second YAML document; only a single document is supported", 0 },
		{ "parse error", "a: [1\nb: 2\n", "a", "v",
		  NAME ":2:2: did not find expected ',' or ']' (while parsing a flow sequence at 1:4)", 0 },
		{ "bad indentation", "a:\n  b: 1\n c: 2\n", "a", "v",
		  NAME ":3:2: did not find expected key*", 0 },
		{ "tab indentation", "a:\n\tb: 1\n", "a", "v", NAME ":2:1: *", 0 },
		{ "invalid UTF-8 in the file", "a: 1\nb: \xff\n", "a", "v",
		  NAME ":2:4: invalid leading UTF-8 octet", 0 },
		{ "NUL in the file", "a: 1\n\0", "a", "v", NAME ":2:1: control characters are not allowed", 6 },
		{ "UTF-16", "\xff\xfe" "a\0:\0", "a", "v", NAME ": not UTF-8 (UTF-16 byte order mark)", 6 },
		{ "undefined alias", "a: *x\n", "a", "v", NAME ":1:4: undefined alias *x", 0 },
		{ "file key with a dot", "\"auth.api_key\": x\n", "auth.api_key", "v",
		  NAME ":1:1: the key \"auth.api_key\" contains '.' and is ambiguous with the "
		  "dotted key auth.api_key", 0 },
		{ "nested file key with dots", "a:\n  \"b.c.d\": 1\n", "a.b.c.d", "v",
		  NAME ":2:3: the key \"b.c.d\" contains '.' and is ambiguous with the "
		  "dotted key a.b.c.d", 0 },
		{ "empty key", "a: 1\n", "", "v", NAME ": empty key", 0 },
		{ "empty component", "a: 1\n", "a..b", "v", NAME ": invalid key a..b: empty component", 0 },
		{ "leading dot", "a: 1\n", ".a", "v", NAME ": invalid key .a: empty component", 0 },
		{ "trailing dot", "a: 1\n", "a.", "v", NAME ": invalid key a.: empty component", 0 },
		{ "control character in key", "a: 1\n", "a\nb", "v",
		  NAME ": key contains a control character", 0 },
		{ "invalid UTF-8 in key", "a: 1\n", "a\xc3", "v", NAME ": key is not valid UTF-8", 0 },
		{ "invalid UTF-8 in value", "a: 1\n", "auth.api_key", "x\xc3\x28",
		  NAME ": the value for auth.api_key is not valid UTF-8", 0 },
		{ "surrogate in value", "a: 1\n", "a", "\xed\xa0\x80",
		  NAME ": the value for a is not valid UTF-8", 0 },
		{ "anchored value used by an alias", "a: &k old\nb: *k\n", "a", "v",
		  NAME ":1:4: cannot set a: the value here is anchored as &k and the alias at 2:4 "
		  "uses it; editing it would change both", 0 },
		{ "anchored mapping used by an alias", "base: &b\n  k: 1\nother: *b\n", "base.k", "v",
		  NAME ":1:7: cannot set base.k: the mapping here is anchored as &b and the alias at "
		  "3:8 uses it; editing it would change both", 0 },
		{ "insert into an anchored mapping used by an alias", "base: &b\n  k: 1\nother: *b\n",
		  "base.new", "v",
		  NAME ":1:7: cannot set base.new: the mapping here is anchored as &b and the alias "
		  "at 3:8 uses it; editing it would change both", 0 },
		{ "anchored grandparent used by an alias", "r: &r\n  a:\n    b: 1\ns: *r\n", "r.a.b", "v",
		  NAME ":1:4: cannot set r.a.b: the mapping here is anchored as &r and the alias at "
		  "4:4 uses it; editing it would change both", 0 },
		{ "value is an alias of a mapping", "base: &b {k: 1}\nauth: *b\n", "auth", "v",
		  NAME ":2:7: auth is a mapping, not a scalar value", 0 },
		{ "tag with an escaped line break", "a: !x%0Ay 1\n", "a", "v",
		  NAME ":1:4: a has the tag !x?y; refusing to replace a value that is not a string", 0 },
		{ "parent is an alias", "base: &b {k: 1}\nother: *b\n", "other.k", "v",
		  NAME ":2:8: other is an alias (*b); refusing to edit the node it shares", 0 },
		{ "tag !!int", "a: !!int 5\n", "a", "v",
		  NAME ":1:4: a has the tag tag:yaml.org,2002:int; refusing to replace a value that "
		  "is not a string", 0 },
		{ "custom tag", "a: !secret x\n", "a", "v",
		  NAME ":1:4: a has the tag !secret; refusing to replace a value that is not a "
		  "string", 0 },
		{ "new parent would hide a merged one",
		  "base: &b\n  auth: {user: x}\nprod:\n  <<: *b\n", "prod.auth.api_key", "v",
		  NAME ":4:3: prod has a merge key (<<); a new mapping prod.auth would hide the "
		  "merged one", 0 },
		{ "block scalar ends the file without newline", "a:\n  t: |\n    keep", "a.n", "v",
		  NAME ": cannot add a.n after the block scalar (| or >) that ends the file without "
		  "a line break; add a final newline first", 0 },
		{ "explicit key without value", "? q\n", "q", "v",
		  NAME ":2:1: q: empty value of an explicit (?) key; edit it by hand", 0 },
		{ "explicit key without value, as a parent", "? q\n", "q.r", "v",
		  NAME ":2:1: q.r: empty value of an explicit (?) key; edit it by hand", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		int before = unit_cur_failed;
		char *out = (char *)"untouched", err[512] = "";
		size_t outlen = 99, len = c[i].len ? c[i].len : strlen(c[i].in);
		size_t elen = strlen(c[i].err);

		CHECK_INT(yedit_set(NAME, c[i].in, len, c[i].key, c[i].value, &out, &outlen,
		                    err, sizeof(err)), -1);
		CHECK(out == NULL);
		if (c[i].err[elen - 1] == '*')
			CHECK(!strncmp(err, c[i].err, elen - 1));
		else
			CHECK_STR(err, c[i].err);
		CHECK(!strchr(err, '\n'));
		if (unit_cur_failed != before)
			printf("#   in case: %s\n#   err: %s\n", c[i].name, err);
	}
}

TEST(refuse_deep_nesting)
{
	struct strbuf sb = STRBUF_INIT;
	char *out, err[256];

	sb_puts(&sb, "a: ");
	for (int i = 0; i < 300; i++)
		sb_putc(&sb, '[');
	for (int i = 0; i < 300; i++)
		sb_putc(&sb, ']');
	sb_putc(&sb, '\n');
	CHECK_INT(yedit_set(NAME, sb.buf, sb.len, "b", "v", &out, NULL, err, sizeof(err)), -1);
	/* The top mapping is the first level, the 256th '[' the 257th. */
	CHECK_STR(err, NAME ":1:259: nested deeper than 256 levels");
	sb_free(&sb);
}

TEST(refuse_long_key)
{
	char key[1200], *out, err[256];

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = 0;
	CHECK_INT(yedit_set(NAME, "a: 1\n", 5, key, "v", &out, NULL, err, sizeof(err)), -1);
	CHECK_STR(err, NAME ": invalid key: a component is longer than 1000 bytes");
}

/* ------------------------------------------------------------- self-check */

static void hook_flip_other(char *text, size_t len)
{
	char *p = memmem(text, len, "8080", 4);
	if (p)
		p[3] = '1';
}

static void hook_break_syntax(char *text, size_t len)
{
	char *p = memmem(text, len, "port:", 5);
	if (p)
		p[4] = '[';
}

static void hook_change_value(char *text, size_t len)
{
	char *p = memmem(text, len, "secret", 6);
	if (p)
		p[0] = 'S';
}

static void hook_rename_anchor(char *text, size_t len)
{
	char *p = memmem(text, len, "&k", 2);
	if (p)
		p[1] = 'j';
}

TEST(self_check_refuses_corruption)
{
	static const char in[] = "server:\n  port: 8080\n  api_key: &k old\n";
	static const struct {
		void (*hook)(char *, size_t);
		const char *key;
	} c[] = {
		{ hook_flip_other, "server.api_key" },
		{ hook_flip_other, "server.new" },
		{ hook_break_syntax, "server.api_key" },
		{ hook_change_value, "server.api_key" },
		{ hook_change_value, "x.y" },
		{ hook_rename_anchor, "server.api_key" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		char *out = NULL, err[256] = "", want[256];
		yedit_test_hook = c[i].hook;
		CHECK_INT(yedit_set(NAME, in, strlen(in), c[i].key, "secret", &out, NULL, err,
		                    sizeof(err)), -1);
		CHECK(out == NULL);
		snprintf(want, sizeof(want), NAME ": internal error: edit of %s did not verify",
		         c[i].key);
		CHECK_STR(err, want);
	}
	yedit_test_hook = NULL;
	char *out = NULL, err[256] = "";
	CHECK_INT(yedit_set(NAME, in, strlen(in), "server.api_key", "secret", &out, NULL, err,
	                    sizeof(err)), 0);
	CHECK_STR(out, "server:\n  port: 8080\n  api_key: &k secret\n");
	free(out);
}

/* ------------------------------------------------------------- get */

TEST(get)
{
	static const char doc[] =
		"base: &k shared\n"
		"m: &m {x: 1}\n"
		"auth:\n"
		"  api_key: *k\n"
		"  user: 'bob'\n"
		"  empty:\n"
		"  list: [1]\n"
		"alias_map: *m\n";
	char *v = NULL, err[256] = "";
	size_t vlen = 0;

	CHECK_INT(yedit_get(NAME, doc, strlen(doc), "auth.user", &v, &vlen, err, sizeof(err)), 0);
	CHECK_STR(v, "bob");
	CHECK_INT(vlen, 3);
	free(v);
	CHECK_INT(yedit_get(NAME, doc, strlen(doc), "auth.api_key", &v, NULL, err, sizeof(err)), 0);
	CHECK_STR(v, "shared");
	free(v);
	CHECK_INT(yedit_get(NAME, doc, strlen(doc), "alias_map.x", &v, NULL, err, sizeof(err)), 0);
	CHECK_STR(v, "1");
	free(v);
	CHECK_INT(yedit_get(NAME, doc, strlen(doc), "auth.empty", &v, NULL, err, sizeof(err)), 0);
	CHECK_STR(v, "");
	free(v);
	CHECK_INT(yedit_get(NAME, doc, strlen(doc), "auth.nope", &v, NULL, err, sizeof(err)), 1);
	CHECK(v == NULL);
	CHECK_INT(yedit_get(NAME, doc, strlen(doc), "nope.deeper", &v, NULL, err, sizeof(err)), 1);
	CHECK_INT(yedit_get(NAME, doc, strlen(doc), "auth.empty.x", &v, NULL, err, sizeof(err)), 1);
	CHECK_INT(yedit_get(NAME, "", 0, "a", &v, NULL, err, sizeof(err)), 1);
	CHECK_INT(yedit_get(NAME, doc, strlen(doc), "auth", &v, NULL, err, sizeof(err)), -1);
	CHECK_STR(err, NAME ":4:3: auth is a mapping, not a scalar value");
	CHECK_INT(yedit_get(NAME, doc, strlen(doc), "auth.list", &v, NULL, err, sizeof(err)), -1);
	CHECK_STR(err, NAME ":7:9: auth.list is a sequence, not a scalar value");
	CHECK_INT(yedit_get(NAME, doc, strlen(doc), "base.x", &v, NULL, err, sizeof(err)), -1);
	CHECK_STR(err, NAME ":1:7: base is a scalar, not a mapping");
	CHECK_INT(yedit_get(NAME, "a: 1\na: 2\n", 10, "a", &v, NULL, err, sizeof(err)), -1);
	CHECK_STR(err, NAME ":2:1: duplicate key a (also at 1:1)");
	/* libyaml puts the end of a file without a final newline on a new line */
	CHECK_INT(yedit_get(NAME, "a: [", 4, "a", &v, NULL, err, sizeof(err)), -1);
	CHECK_STR(err, NAME ":2:1: did not find expected node content (while parsing a flow node at 2:1)");
}

/* Runs last: the cases above went through config.c's loader as well. */
TEST(config_c_agrees)
{
	printf("# %zu edits checked with cfg_load_mem\n", cfg_checked);
	CHECK(cfg_checked >= 100);
}

int main(void)
{
	RUN(replace_scalars);
	RUN(replace_block_scalars);
	RUN(replace_quoting);
	RUN(anchors_and_aliases);
	RUN(comments_everywhere);
	RUN(flow_mappings);
	RUN(insert_block);
	RUN(insert_documents);
	RUN(no_trailing_newline);
	RUN(crlf);
	RUN(indentation);
	RUN(unicode_untouched);
	RUN(fixture_pairs);
	RUN(every_key_of_fixtures);
	RUN(refusals);
	RUN(refuse_deep_nesting);
	RUN(refuse_long_key);
	RUN(self_check_refuses_corruption);
	RUN(get);
	RUN(config_c_agrees);
	return unit_done();
}

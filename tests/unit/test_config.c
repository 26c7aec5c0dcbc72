/* test_config.c - config.c: apcore.yaml loading, flattening, positions and
 * every rejection (with its exact line:col). */

#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static struct cfg C;
static char err[600];

static int load(const char *text)
{
	return cfg_load_mem(&C, "t.yaml", text, strlen(text), err, sizeof(err));
}

static int loadn(const char *text, size_t len)
{
	return cfg_load_mem(&C, "t.yaml", text, len, err, sizeof(err));
}

/* The value of key, "<null>", "<seq>", "<map>" or "<missing>". */
static const char *val(const char *key)
{
	const struct cfg_entry *e = cfg_get(&C, key);
	if (!e)
		return "<missing>";
	switch (e->kind) {
	case CFG_SCALAR: return e->value;
	case CFG_NULL: return e->value ? "<null with value!>" : "<null>";
	case CFG_SEQ: return "<seq>";
	case CFG_MAP: return "<map>";
	}
	return "<?>";
}

/* The source text of key's value range. */
static const char *src(const char *key)
{
	static char buf[512];
	const struct cfg_entry *e = cfg_get(&C, key);
	if (!e || e->start > e->end || e->end > C.len)
		return "<bad range>";
	snprintf(buf, sizeof(buf), "%.*s", (int)(e->end - e->start), C.text + e->start);
	return buf;
}

/* "line:col" of key's value. */
static const char *pos(const char *key)
{
	static char buf[32];
	const struct cfg_entry *e = cfg_get(&C, key);
	if (!e)
		return "<missing>";
	snprintf(buf, sizeof(buf), "%d:%d", e->line, e->col);
	return buf;
}

/* Load must fail with exactly this message. */
#define REJECT(in_, msg_) do { \
	CHECK(load(in_) == -1); \
	CHECK_STR(err, msg_); \
	CHECK(C.n == 0 && C.e == NULL && C.text == NULL); \
	CHECK_INT(errno, EINVAL); \
} while (0)

#define REJECTN(in_, len_, msg_) do { \
	CHECK(loadn(in_, len_) == -1); \
	CHECK_STR(err, msg_); \
} while (0)

/* ---------------------------------------------------------- accepting */

TEST(nested_file)
{
	CHECK(cfg_load(&C, unit_path("tests/files/config/nested.yaml"), err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK_INT(C.n, 6);
	static const char *keys[] = {
		"auth.api_key", "auth.provider", "sandbox.enabled", "sandbox.limits.memory_mb",
		"sandbox.limits.timeout", "audit.path",
	};
	for (size_t i = 0; i < ARRAY_SIZE(keys) && i < C.n; i++)
		CHECK_STR(C.e[i].key, keys[i]);  /* document order */
	CHECK_STR(val("auth.api_key"), "enc:v2:c2FsdA==");
	CHECK_STR(val("auth.provider"), "token");
	CHECK_STR(val("sandbox.enabled"), "true");
	CHECK_STR(val("sandbox.limits.memory_mb"), "512");
	CHECK_STR(val("sandbox.limits.timeout"), "300");
	CHECK_STR(val("audit.path"), "/var/log/apcore/audit.jsonl");
	CHECK_STR(pos("auth.api_key"), "2:12");
	CHECK_STR(pos("sandbox.limits.timeout"), "8:14");
	CHECK(cfg_get(&C, "auth.api_key")->plain);
	CHECK(cfg_get(&C, "auth.api_key")->kind == CFG_SCALAR);
	CHECK(C.path && strstr(C.path, "nested.yaml"));
	CHECK(C.text[C.len] == 0 && C.len == strlen(C.text));
	/* Intermediate mappings are not entries; lookups are exact. */
	CHECK_STR(val("auth"), "<missing>");
	CHECK_STR(val("sandbox.limits"), "<missing>");
	CHECK_STR(val("Auth.api_key"), "<missing>");
	CHECK_STR(val("auth.api_key "), "<missing>");
	CHECK_STR(val("auth.api"), "<missing>");
	CHECK_STR(val(""), "<missing>");
	cfg_free(&C);
}

TEST(comments_and_blank_lines)
{
	CHECK(cfg_load(&C, unit_path("tests/files/config/comments.yaml"), err, sizeof(err)) == 0);
	CHECK_INT(C.n, 3);
	CHECK_STR(val("auth.api_key"), "abc123");
	CHECK_STR(src("auth.api_key"), "abc123");
	CHECK_STR(pos("auth.api_key"), "7:12");
	CHECK_STR(val("auth.realm"), "x # not a comment");
	CHECK_STR(src("auth.realm"), "\"x # not a comment\"");
	CHECK_STR(val("log"), "it's");
	CHECK_STR(src("log"), "'it''s'");
	CHECK(!cfg_get(&C, "log")->plain);
	cfg_free(&C);
}

TEST(quoted_and_flow_styles)
{
	CHECK(load("top: {a: 1, b: [1, 2], 'c': \"x\\ty\", d: {e: f}}\n"
	           "s: 'single ''q'''\n"
	           "d: \"double \\\"q\\\" \\u00e9\"\n"
	           "seq: [a, {b: c}]\n"
	           "blockseq:\n  - 1\n  - two\n"
	           "empty_map: {}\n"
	           "empty_seq: []\n") == 0);
	CHECK_STR(err, "");
	CHECK_STR(val("top.a"), "1");
	CHECK_STR(val("top.b"), "<seq>");
	CHECK_STR(src("top.b"), "[1, 2]");
	CHECK_STR(val("top.c"), "x\ty");
	CHECK_STR(val("top.d.e"), "f");
	CHECK_STR(val("s"), "single 'q'");
	CHECK_STR(val("d"), "double \"q\" \xc3\xa9");
	CHECK_STR(val("seq"), "<seq>");
	CHECK_STR(val("seq.b"), "<missing>");  /* sequences are leaves */
	CHECK_STR(val("blockseq"), "<seq>");
	CHECK_STR(pos("blockseq"), "6:3");
	CHECK_STR(val("empty_map"), "<map>");
	CHECK_STR(src("empty_map"), "{}");
	CHECK_STR(val("empty_seq"), "<seq>");
	CHECK_STR(src("empty_seq"), "[]");
	CHECK(cfg_get(&C, "top.a")->plain);
	CHECK(!cfg_get(&C, "top.c")->plain);
	CHECK(!cfg_get(&C, "s")->plain);
	CHECK(!cfg_get(&C, "d")->plain);
	CHECK_INT(C.n, 10);
	cfg_free(&C);

	/* Keys are scalars of any style; a quoted key is the same key. */
	CHECK(load("'a': 1\n\"b\": 2\n? c\n: 3\n") == 0);
	CHECK_STR(val("a"), "1");
	CHECK_STR(val("b"), "2");
	CHECK_STR(val("c"), "3");
	cfg_free(&C);
}

TEST(anchors_and_aliases_file)
{
	CHECK(cfg_load(&C, unit_path("tests/files/config/anchors.yaml"), err, sizeof(err)) == 0);
	CHECK_INT(C.n, 6);
	CHECK_STR(val("defaults.timeout"), "30");
	CHECK_STR(val("defaults.retries"), "3");
	CHECK_STR(val("shared"), "s3cr3t");
	CHECK_STR(val("prod.settings.timeout"), "30");
	CHECK_STR(val("prod.settings.retries"), "3");
	CHECK_STR(val("prod.token"), "s3cr3t");
	/* The anchor is not part of the value's range. */
	CHECK_STR(src("shared"), "s3cr3t");
	/* Through an alias: the anchored node's position, shared range. */
	const struct cfg_entry *a = cfg_get(&C, "shared"), *b = cfg_get(&C, "prod.token");
	CHECK(a && b && a->start == b->start && a->end == b->end);
	CHECK_STR(pos("prod.token"), "4:16");
	const struct cfg_entry *t1 = cfg_get(&C, "defaults.timeout");
	const struct cfg_entry *t2 = cfg_get(&C, "prod.settings.timeout");
	CHECK(t1 && t2 && t1->start == t2->start);
	cfg_free(&C);
}

TEST(aliases_in_memory)
{
	CHECK(load("base: &b {x: 1, y: {z: 2}}\n"
	           "v: &v hello\n"
	           "copy: *b\n"
	           "deep: {inner: *b, w: *v}\n"
	           "list: &l [1, 2]\n"
	           "list2: *l\n") == 0);
	CHECK_STR(val("copy.x"), "1");
	CHECK_STR(val("copy.y.z"), "2");
	CHECK_STR(val("deep.inner.y.z"), "2");
	CHECK_STR(val("deep.w"), "hello");
	CHECK_STR(val("list2"), "<seq>");
	CHECK_INT(C.n, 10);
	cfg_free(&C);

	/* An anchor on a key is fine; its range is the key's own text. */
	CHECK(load("&k a: &v 1\nb: *k\n") == 0);
	CHECK_STR(val("a"), "1");
	CHECK_STR(src("a"), "1");
	CHECK_STR(val("b"), "a");
	cfg_free(&C);
}

TEST(block_scalars)
{
	CHECK(cfg_load(&C, unit_path("tests/files/config/blocks.yaml"), err, sizeof(err)) == 0);
	CHECK_STR(val("literal"), "line one\nline two\n");
	CHECK_STR(val("folded"), "folded text\npara\n");
	CHECK_STR(val("strip"), "no newline");
	CHECK_STR(val("keep"), "kept\n\n\n");
	CHECK_STR(val("last"), "end");
	/* Indicator through the start of the next line, blank lines included. */
	CHECK_STR(src("literal"), "|\n  line one\n  line two\n");
	CHECK_STR(src("folded"), ">\n  folded\n  text\n\n  para\n");
	CHECK_STR(src("strip"), "|-\n  no newline\n");
	CHECK_STR(src("keep"), "|+\n  kept\n\n\n");
	CHECK_STR(pos("literal"), "1:10");
	CHECK(!cfg_get(&C, "literal")->plain);
	cfg_free(&C);

	/* A block scalar at the end of a file without a final newline. */
	CHECK(load("a: >2\n   x\n  y") == 0);
	CHECK_STR(val("a"), " x\ny");
	CHECK_STR(src("a"), ">2\n   x\n  y");
	cfg_free(&C);
}

TEST(null_forms)
{
	CHECK(load("a:\nb: ~\nc: null\nd: Null\ne: NULL\nf: ''\ng: 'null'\nh: \"~\"\n"
	           "i: nULL\nj: !!str null\nk: !!null x\nl: !!str\nm: &n\nn: {x: }\n"
	           "o: !!null ''\np: none\n") == 0);
	CHECK_STR(err, "");
	CHECK_STR(val("a"), "<null>");
	CHECK_STR(val("b"), "<null>");
	CHECK_STR(val("c"), "<null>");
	CHECK_STR(val("d"), "<null>");
	CHECK_STR(val("e"), "<null>");
	CHECK_STR(val("f"), "");        /* quoted empty string */
	CHECK_STR(val("g"), "null");
	CHECK_STR(val("h"), "~");
	CHECK_STR(val("i"), "nULL");
	CHECK_STR(val("j"), "null");    /* explicit str tag */
	CHECK_STR(val("k"), "<null>");  /* explicit null tag */
	CHECK_STR(val("l"), "");        /* empty, tagged str */
	CHECK_STR(val("m"), "<null>");  /* empty with an anchor */
	CHECK_STR(val("n.x"), "<null>");
	CHECK_STR(val("o"), "<null>");
	CHECK_STR(val("p"), "none");
	CHECK(cfg_get(&C, "b")->plain);
	/* An empty value is an insertion point right after the ':'. */
	const struct cfg_entry *e = cfg_get(&C, "a");
	CHECK(e->start == 2 && e->end == 2);
	CHECK_STR(pos("a"), "1:3");
	CHECK_STR(src("b"), "~");
	cfg_free(&C);

	/* Documents with no mapping at all: no entries. */
	static const char *empty[] = { "", "\n\n", "# only a comment\n", "---\n", "--- ~\n",
	                               "null\n", "--- # c\n...\n", "\xef\xbb\xbf" };
	for (size_t i = 0; i < ARRAY_SIZE(empty); i++) {
		if (!CHECK(load(empty[i]) == 0))
			printf("#   input %zu: %s\n", i, err);
		CHECK_INT(C.n, 0);
		CHECK(cfg_get(&C, "a") == NULL);
		cfg_free(&C);
	}
	CHECK(loadn(NULL, 0) == 0);
	cfg_free(&C);
}

/* text[start:end] is exactly the scalar as written, for every style. */
TEST(byte_ranges)
{
	static const struct {
		const char *key, *src, *value;
	} want[] = {
		{ "plain", "plain value", "plain value" },
		{ "padded", "x y", "x y" },
		{ "single", "'it''s'", "it's" },
		{ "double", "\"tab\\there\"", "tab\there" },
		{ "multi", "first\n  second", "first second" },
		{ "anchored", "target", "target" },
		{ "tagged", "'7'", "7" },
		{ "both", "\"v\"", "v" },
		{ "nested.inner", "deep", "deep" },
		{ "flow.k", "fv", "fv" },
		{ "flow.q", "'fq'", "fq" },
		{ "utf8", "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		  "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "after_utf8", "\"z\"", "z" },
		{ "last", "end", "end" },
	};
	const char *text =
		"plain: plain value\n"
		"padded:    x y    # comment\n"
		"single: 'it''s'\n"
		"double: \"tab\\there\"\n"
		"multi: first\n  second\n"
		"anchored: &anc target\n"
		"tagged: !!str '7'\n"
		"both: &b2 !!str \"v\"\n"
		"nested:\n  inner: deep\n"
		"flow: {k: fv, q: 'fq'}\n"
		"utf8: \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n"
		"after_utf8: \"z\"\n"
		"last: end";
	CHECK(load(text) == 0);
	CHECK_INT(C.n, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		CHECK_STR(src(want[i].key), want[i].src);
		CHECK_STR(val(want[i].key), want[i].value);
	}
	CHECK(cfg_get(&C, "multi")->plain);
	CHECK(!cfg_get(&C, "tagged")->plain);
	/* Columns count characters, not bytes. */
	CHECK_STR(pos("utf8"), "13:7");
	CHECK_STR(pos("after_utf8"), "14:13");
	cfg_free(&C);
}

/* Multi-byte characters before a value, a BOM and CRLF line ends: the
 * ranges are still byte offsets. */
TEST(byte_ranges_bom_crlf_long)
{
	CHECK(load("\xef\xbb\xbf" "k\xc3\xa9y: \xe2\x82\xac\r\nb: 'x'\r\nc: |\r\n  y\r\nd: z\r\n") == 0);
	CHECK_STR(src("k\xc3\xa9y"), "\xe2\x82\xac");
	CHECK_STR(src("b"), "'x'");
	CHECK_STR(src("c"), "|\r\n  y\r\n");
	CHECK_STR(val("c"), "y\n");
	CHECK_STR(src("d"), "z");
	CHECK_STR(pos("k\xc3\xa9y"), "1:6");
	CHECK_STR(pos("d"), "5:4");
	cfg_free(&C);

	/* Past several character-to-byte checkpoints (one per 256 chars). */
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < 2000; i++)
		sb_printf(&sb, "k%d: \"\xc3\xa9%d\xe2\x82\xac\"  # \xf0\x9f\x98\x80\n", i, i);
	CHECK(loadn(sb.buf, sb.len) == 0);
	CHECK_INT(C.n, 2000);
	int bad = 0;
	for (size_t i = 0; i < C.n; i++) {
		char want[64];
		snprintf(want, sizeof(want), "\"\xc3\xa9%zu\xe2\x82\xac\"", i);
		if (C.e[i].end - C.e[i].start != strlen(want) ||
		    memcmp(C.text + C.e[i].start, want, strlen(want)) || C.e[i].line != (int)i + 1)
			bad++;
	}
	CHECK_INT(bad, 0);
	cfg_free(&C);
	sb_free(&sb);
}

/* Replace one value's range with new text, reload: that value changed and
 * nothing else did. */
static void splice_check(const char *text, const char *key, const char *repl, const char *want)
{
	struct cfg old;
	CHECK(cfg_load_mem(&old, "t.yaml", text, strlen(text), err, sizeof(err)) == 0);
	const struct cfg_entry *e = cfg_get(&old, key);
	if (!CHECK(e != NULL))
		return;
	struct strbuf sb = STRBUF_INIT;
	sb_add(&sb, old.text, e->start);
	sb_puts(&sb, repl);
	sb_add(&sb, old.text + e->end, old.len - e->end);
	CHECK(cfg_load_mem(&C, "t.yaml", sb.buf, sb.len, err, sizeof(err)) == 0);
	CHECK_INT(C.n, old.n);
	for (size_t i = 0; i < old.n && i < C.n; i++) {
		CHECK_STR(C.e[i].key, old.e[i].key);
		if (!strcmp(old.e[i].key, key))
			CHECK_STR(C.e[i].value, want);
		else
			CHECK_STR(C.e[i].value ? C.e[i].value : "(null)",
			          old.e[i].value ? old.e[i].value : "(null)");
	}
	/* The bytes outside the range are untouched. */
	CHECK(!memcmp(C.text, old.text, e->start));
	CHECK(!strcmp(C.text + e->start + strlen(repl), old.text + e->end));
	cfg_free(&C);
	cfg_free(&old);
	sb_free(&sb);
}

TEST(in_place_replacement)
{
	const char *text = "# keep me\n"
	                   "auth:\n"
	                   "  api_key: plain-secret   # trailing\n"
	                   "  other: 'quoted'\n"
	                   "  dq: \"double\"\n"
	                   "  anch: &a !!str tagged\n"
	                   "  block: |\n    multi\n    line\n"
	                   "  empty:\n"
	                   "  flow: {x: 1, y: two}\n"
	                   "tail: \xe2\x82\xac done\n";
	splice_check(text, "auth.api_key", "enc:v2:QUJD", "enc:v2:QUJD");
	splice_check(text, "auth.other", "'new ''one'''", "new 'one'");
	splice_check(text, "auth.dq", "\"a\\nb\"", "a\nb");
	splice_check(text, "auth.anch", "changed", "changed");
	splice_check(text, "auth.block", "replaced\n", "replaced");
	splice_check(text, "auth.empty", " filled", "filled");
	splice_check(text, "auth.flow.y", "'three'", "three");
	splice_check(text, "tail", "euro", "euro");
	/* An anchored value: the anchor survives, so the alias follows. */
	CHECK(load("a: &x old\nb: *x\n") == 0);
	const struct cfg_entry *e = cfg_get(&C, "a");
	struct strbuf sb = STRBUF_INIT;
	sb_add(&sb, C.text, e->start);
	sb_puts(&sb, "new");
	sb_puts(&sb, C.text + e->end);
	cfg_free(&C);
	CHECK_STR(sb.buf, "a: &x new\nb: *x\n");
	sb_free(&sb);
}

TEST(get_and_free)
{
	struct cfg z;
	memset(&z, 0, sizeof(z));
	cfg_free(&z);
	cfg_free(&z);
	CHECK(cfg_get(&z, "a") == NULL);

	CHECK(load("A: 1\na: 2\n") == 0);
	CHECK_STR(val("A"), "1");
	CHECK_STR(val("a"), "2");
	cfg_free(&C);
	cfg_free(&C);
	CHECK(C.n == 0 && C.e == NULL && C.text == NULL && C.path == NULL);

	/* Error buffers may be absent or small. */
	CHECK(cfg_load_mem(&C, "t.yaml", "a: [", 4, NULL, 0) == -1);
	char small[8];
	CHECK(cfg_load_mem(&C, "t.yaml", "a: [", 4, small, sizeof(small)) == -1);
	CHECK_STR(small, "t.yaml:");
	/* Not NUL-terminated input: only len bytes count. */
	CHECK(cfg_load_mem(&C, "t.yaml", "a: 1xyz", 4, err, sizeof(err)) == 0);
	CHECK_STR(val("a"), "1");
	cfg_free(&C);
}

/* ---------------------------------------------------------- rejecting */

TEST(reject_duplicates)
{
	REJECT("a: 1\nb: 2\na: 3\n", "t.yaml:3:1: duplicate key 'a' (first at line 1, column 1)");
	REJECT("x:\n  k: 1\n  k: 2\n", "t.yaml:3:3: duplicate key 'k' (first at line 2, column 3)");
	REJECT("{a: 1, 'a': 2}", "t.yaml:1:8: duplicate key 'a' (first at line 1, column 2)");
	/* The earliest duplicate is reported, against the first occurrence. */
	REJECT("b: 0\na: 1\nb: 2\na: 3\nb: 4\n",
	       "t.yaml:3:1: duplicate key 'b' (first at line 1, column 1)");
	REJECT("a: 1\nc: 0\nb: 1\nb: 1\na: 1\n",
	       "t.yaml:4:1: duplicate key 'b' (first at line 3, column 1)");
	/* Inside a sequence, where nothing is flattened, too. */
	REJECT("a: [{b: 1, b: 2}]\n", "t.yaml:1:12: duplicate key 'b' (first at line 1, column 6)");
	CHECK(cfg_load(&C, unit_path("tests/files/config/duplicate.yaml"), err, sizeof(err)) == -1);
	CHECK(strstr(err, "duplicate.yaml:4:3: duplicate key 'api_key' (first at line 2, column 3)"));
	/* Duplicates that would only meet after flattening cannot be written:
	 * the dotted key is rejected first. */
	REJECT("a.b: 1\na:\n  b: 2\n", "t.yaml:1:1: key 'a.b' contains '.'; nest it instead");
	REJECT("a:\n  b: 2\na.b: 1\n", "t.yaml:3:1: key 'a.b' contains '.'; nest it instead");
	/* Distinct keys that differ only in case or type are not duplicates. */
	CHECK(load("a: 1\nA: 2\n1: 3\n'01': 4\n") == 0);
	cfg_free(&C);
}

TEST(reject_keys)
{
	REJECT("[a]: 1\n", "t.yaml:1:1: mapping keys must be scalars, not a sequence");
	REJECT("x: 1\n? {a: 1}\n: 2\n", "t.yaml:2:3: mapping keys must be scalars, not a mapping");
	REJECT("a:\n  b:\n    \"c.d\": 1\n", "t.yaml:3:5: key 'c.d' contains '.'; nest it instead");
	REJECT("a: 1\n?\n: 2\n", "t.yaml:2:2: empty key");
	REJECT("a: 1\n'': 2\n", "t.yaml:2:1: empty key");
	REJECT("\"a\\nb\": 1\n", "t.yaml:1:1: key 'a?b' contains a control character");
	REJECT("\"a\\0b\": 1\n", "t.yaml:1:1: key 'a?b' contains a control character");
	REJECT("\"\\x7f\": 1\n", "t.yaml:1:1: key '?' contains a control character");
	/* Long keys are cut in messages. */
	REJECT("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b: 1\n",
	       "t.yaml:1:1: key 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' contains '.'; "
	       "nest it instead");
	/* ... at a character boundary: 39 ASCII bytes, then a 2-byte 'é'. */
	REJECT("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9.b: 1\n",
	       "t.yaml:1:1: key 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' contains '.'; "
	       "nest it instead");
}

TEST(reject_alias_key)
{
	REJECT("&k a: 1\n*k : 2\n", "t.yaml:2:1: an alias cannot be a mapping key");
	REJECT("x: &k a\ny: {*k : 1}\n", "t.yaml:2:5: an alias cannot be a mapping key");
	REJECT("x: &k a\n? *k\n: 1\n", "t.yaml:2:3: an alias cannot be a mapping key");
	/* An alias as a value is fine. */
	CHECK(load("x: &k a\ny: *k\n") == 0);
	cfg_free(&C);
}

TEST(reject_merge_keys)
{
	REJECT("base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",
	       "t.yaml:3:3: merge keys ('<<') are not supported; write the keys out");
	REJECT("<<: {a: 1}\n", "t.yaml:1:1: merge keys ('<<') are not supported; write the keys out");
	REJECT("a: [{<<: {b: 1}}]\n",
	       "t.yaml:1:6: merge keys ('<<') are not supported; write the keys out");
	/* A quoted "<<" is an ordinary key. */
	CHECK(load("'<<': 1\n") == 0);
	CHECK_STR(val("<<"), "1");
	cfg_free(&C);
}

TEST(reject_documents_and_top_level)
{
	REJECT("a: 1\n---\nb: 2\n", "t.yaml:2:1: more than one document");
	REJECT("---\na: 1\n--- \n", "t.yaml:3:1: more than one document");
	REJECT("a: 1\n...\n---\n", "t.yaml:3:1: more than one document");
	REJECT("- a\n- b\n", "t.yaml:1:1: the top level must be a mapping, not a sequence");
	REJECT("just text\n", "t.yaml:1:1: the top level must be a mapping, not a scalar");
	REJECT("--- 'null'\n", "t.yaml:1:5: the top level must be a mapping, not a scalar");
	REJECT("[a, b]", "t.yaml:1:1: the top level must be a mapping, not a sequence");
}

TEST(reject_parse_errors)
{
	REJECT("a: 'unterminated\n",
	       "t.yaml:2:1: found unexpected end of stream "
	       "(while scanning a quoted scalar at line 1, column 4)");
	REJECT("a: 1\n b: 2\n", "t.yaml:2:3: mapping values are not allowed in this context");
	REJECT("a:\n  b: 1\n c: 2\n",
	       "t.yaml:3:2: did not find expected key "
	       "(while parsing a block mapping at line 1, column 1)");
	REJECT("a: [1, 2\n",
	       "t.yaml:2:1: did not find expected ',' or ']' "
	       "(while parsing a flow sequence at line 1, column 4)");
	REJECT("a: *nope\n", "t.yaml:1:4: found undefined alias");
	REJECT("a: &x 1\nb: &x 2\n",
	       "t.yaml:2:4: second occurrence "
	       "(found duplicate anchor; first occurrence at line 1, column 4)");
	REJECT("a: @x\n",
	       "t.yaml:1:4: found character that cannot start any token "
	       "(while scanning for the next token at line 1, column 4)");
	REJECTN("a: 1\nb: \x01\n", 9, "t.yaml:2:4: control characters are not allowed (U+0001)");
	REJECTN("a: x\0y\n", 7, "t.yaml:1:5: control characters are not allowed (U+0000)");
}

TEST(reject_utf8)
{
	REJECT("a: ok\nb: \xc3\x28\n", "t.yaml:2:4: invalid UTF-8");
	REJECT("a: \xc0\xaf\n", "t.yaml:1:4: invalid UTF-8");          /* overlong */
	REJECT("\xc3\xa9: \xed\xa0\x80\n", "t.yaml:1:4: invalid UTF-8");  /* surrogate */
	REJECT("a: \xf4\x90\x80\x80\n", "t.yaml:1:4: invalid UTF-8");  /* > U+10FFFF */
	REJECT("a: x\xe2\x82", "t.yaml:1:5: invalid UTF-8");            /* truncated */
	REJECT("\xff\xfe" "a\0:\0", "t.yaml:1:1: invalid UTF-8");      /* UTF-16 */
	REJECT("\xef\xbb\xbf" "a: \x80", "t.yaml:1:4: invalid UTF-8");   /* BOM not counted */
}

TEST(reject_values)
{
	REJECT("a: \"x\\0y\"\n", "t.yaml:1:4: the value of 'a' contains a NUL character");
	REJECT("a:\n  b: \"\\0\"\n", "t.yaml:2:6: the value of 'a.b' contains a NUL character");
}

/* A tiny file whose aliases expand to 3^20 entries. */
TEST(reject_alias_bombs)
{
	struct strbuf sb = STRBUF_INIT;
	sb_puts(&sb, "l0: &l0 {a: lol, b: lol, c: lol}\n");
	for (int i = 1; i <= 20; i++)
		sb_printf(&sb, "l%d: &l%d {a: *l%d, b: *l%d, c: *l%d}\n", i, i, i - 1, i - 1, i - 1);
	CHECK(loadn(sb.buf, sb.len) == -1);
	CHECK_STR(err, "t.yaml:1:18: more than 100000 entries after flattening");
	sb_free(&sb);

	/* A 1 MB value referenced many times. */
	sb_puts(&sb, "v: &v \"");
	for (int i = 0; i < 1 << 20; i++)
		sb_putc(&sb, 'x');
	sb_puts(&sb, "\"\n");
	for (int i = 0; i < 100; i++)
		sb_printf(&sb, "k%d: *v\n", i);
	CHECK(loadn(sb.buf, sb.len) == -1);
	CHECK_STR(err, "t.yaml:64:1: more than 67108864 bytes of keys and values after flattening");
	sb_free(&sb);

	/* An alias inside its own anchor. */
	REJECT("a: &x {b: *x}\n", "t.yaml:1:8: nested deeper than 64 levels (a recursive alias?)");
	/* A sequence is a leaf, so a sequence containing itself is not expanded. */
	CHECK(load("a: &x [*x]\nb: 1\n") == 0);
	CHECK_STR(val("a"), "<seq>");
	cfg_free(&C);
}

static void nest(struct strbuf *sb, int levels)
{
	for (int i = 0; i < levels; i++)
		sb_printf(sb, "%*sk%d:\n", i, "", i);
	sb_printf(sb, "%*sv\n", levels, "");
}

TEST(depth_limit)
{
	struct strbuf sb = STRBUF_INIT;
	/* 64 nested mappings: the deepest holds the leaf. */
	nest(&sb, 64);
	CHECK(loadn(sb.buf, sb.len) == 0);
	CHECK_INT(C.n, 1);
	CHECK(C.n == 1 && !strncmp(C.e[0].key, "k0.k1.k2.", 9) && strstr(C.e[0].key, ".k63") &&
	      !strcmp(C.e[0].value, "v"));
	cfg_free(&C);
	sb_reset(&sb);
	nest(&sb, 65);
	CHECK(loadn(sb.buf, sb.len) == -1);
	CHECK_STR(err, "t.yaml:65:65: nested deeper than 64 levels");
	sb_reset(&sb);

	/* Flow nesting a million deep is refused at once (libyaml's scanner is
	 * quadratic in flow depth). */
	sb_puts(&sb, "a: ");
	for (int i = 0; i < 1000000; i++)
		sb_putc(&sb, '[');
	for (int i = 0; i < 1000000; i++)
		sb_putc(&sb, ']');
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(loadn(sb.buf, sb.len) == -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_STR(err, "t.yaml:1:67: nested deeper than 64 levels");
	CHECK(t1.tv_sec - t0.tv_sec < 2);
	sb_reset(&sb);

	/* Through aliases: each level is shallow, the expansion is not. */
	sb_puts(&sb, "m0: &m0 {x: 1}\n");
	for (int i = 1; i <= 70; i++)
		sb_printf(&sb, "m%d: &m%d {n: *m%d}\n", i, i, i - 1);
	CHECK(loadn(sb.buf, sb.len) == -1);
	CHECK_STR(err, "t.yaml:2:10: nested deeper than 64 levels (a recursive alias?)");
	sb_free(&sb);
}

TEST(node_limit)
{
	struct strbuf sb = STRBUF_INIT;
	sb_puts(&sb, "a: [");
	for (int i = 0; i < 1000000; i++)
		sb_puts(&sb, "1,");
	sb_puts(&sb, "1]\n");
	CHECK(loadn(sb.buf, sb.len) == -1);
	CHECK_STR(err, "t.yaml:1:1999999: more than 1000000 values");
	sb_reset(&sb);
	sb_puts(&sb, "a: [");
	for (int i = 0; i < 999996; i++)
		sb_puts(&sb, "1,");
	sb_puts(&sb, "1]\n");
	CHECK(loadn(sb.buf, sb.len) == 0);
	CHECK_STR(val("a"), "<seq>");
	cfg_free(&C);
	sb_free(&sb);
}

/* ------------------------------------------------------------- files */

TEST(load_file_errors)
{
	char path[] = "/tmp/apcore-cfg.XXXXXX";
	CHECK(mkdtemp(path) != NULL);
	char missing[256], big[256];
	snprintf(missing, sizeof(missing), "%s/apcore.yaml", path);
	snprintf(big, sizeof(big), "%s/big.yaml", path);

	errno = 0;
	CHECK(cfg_load(&C, missing, err, sizeof(err)) == -1);
	CHECK_INT(errno, ENOENT);
	char want[600];
	snprintf(want, sizeof(want), "%s: No such file or directory", missing);
	CHECK_STR(err, want);
	CHECK(C.n == 0 && C.text == NULL);
	cfg_free(&C);

	CHECK(cfg_load(&C, path, err, sizeof(err)) == -1);
	CHECK_INT(errno, EISDIR);

	/* One byte past the cap: a sparse file of "a: 1" and zeros. */
	int fd = open(big, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, "a: 1\n", 5) == 5);
	CHECK(ftruncate(fd, (off_t)XIO_DEFAULT_CAP + 1) == 0);
	close(fd);
	CHECK(cfg_load(&C, big, err, sizeof(err)) == -1);
	CHECK_INT(errno, EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 16777216 bytes", big);
	CHECK_STR(err, want);
	/* The same through cfg_load_mem (the bytes are never read). */
	CHECK(cfg_load_mem(&C, "m.yaml", "", (size_t)XIO_DEFAULT_CAP + 1, err, sizeof(err)) == -1);
	CHECK_INT(errno, EFBIG);
	CHECK_STR(err, "m.yaml: larger than 16777216 bytes");

	/* Exactly at the cap is read (and then fails on its NUL bytes). */
	CHECK(truncate(big, (off_t)XIO_DEFAULT_CAP) == 0);
	CHECK(cfg_load(&C, big, err, sizeof(err)) == -1);
	CHECK_INT(errno, EINVAL);
	snprintf(want, sizeof(want), "%s:2:1: control characters are not allowed (U+0000)", big);
	CHECK_STR(err, want);

	/* A good file at a path. */
	fd = open(missing, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, "auth:\n  api_key: k\n", 19) == 19);
	close(fd);
	CHECK(cfg_load(&C, missing, err, sizeof(err)) == 0);
	CHECK_STR(val("auth.api_key"), "k");
	CHECK_STR(C.path, missing);
	cfg_free(&C);

	unlink(missing);
	unlink(big);
	rmdir(path);
}

int main(void)
{
	RUN(nested_file);
	RUN(comments_and_blank_lines);
	RUN(quoted_and_flow_styles);
	RUN(anchors_and_aliases_file);
	RUN(aliases_in_memory);
	RUN(block_scalars);
	RUN(null_forms);
	RUN(byte_ranges);
	RUN(byte_ranges_bom_crlf_long);
	RUN(in_place_replacement);
	RUN(get_and_free);
	RUN(reject_duplicates);
	RUN(reject_keys);
	RUN(reject_alias_key);
	RUN(reject_merge_keys);
	RUN(reject_documents_and_top_level);
	RUN(reject_parse_errors);
	RUN(reject_utf8);
	RUN(reject_values);
	RUN(reject_alias_bombs);
	RUN(depth_limit);
	RUN(node_limit);
	RUN(load_file_errors);
	return unit_done();
}

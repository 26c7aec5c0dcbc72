/* test_json.c - json.c: the writer in both styles, Python float repr, and
 * the canonicaliser behind the audit input_hash, against the reference's
 * pinned-salt vectors and sample log. */

#include "unit.h"

#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

/* Run fn in a child with stderr captured; returns its exit status and the
 * stderr text in out. */
static int run_child(void (*fn)(void), char *out, size_t outlen)
{
	int p[2];
	if (pipe(p))
		abort();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		fn();
		_exit(99);
	}
	close(p[1]);
	ssize_t n = read_full(p[0], out, outlen - 1);
	out[n < 0 ? 0 : n] = 0;
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Canonicalise a NUL-terminated text; returns a heap string or NULL, with
 * the reason in err. */
static char *canon(const char *text, enum json_style style, char *err, size_t errlen)
{
	struct strbuf sb = STRBUF_INIT;
	if (json_canonicalize(text, strlen(text), style, &sb, err, errlen)) {
		sb_free(&sb);
		return NULL;
	}
	return sb_detach(&sb, NULL);
}

#define CHECK_CANON(in, style, want) do { char e_[256] = ""; char *g_ = canon((in), (style), e_, sizeof(e_)); \
	CHECK_STR(g_ ? g_ : e_, (want)); free(g_); } while (0)

/* ------------------------------------------------------------ float repr */

TEST(python_float_repr)
{
	static const struct { double d; const char *want; } t[] = {
		{ 2.5, "2.5" },
		{ 1e16, "1e+16" },
		{ 1e15, "1000000000000000.0" },
		{ 0.1, "0.1" },
		{ 1 / 3.0, "0.3333333333333333" },
		{ 1e-05, "1e-05" },
		{ 0.0001, "0.0001" },
		{ -0.0, "-0.0" },
		{ 0.0, "0.0" },
		{ 5e-324, "5e-324" },
		{ 1.5e-323, "1.5e-323" },
		{ 1.7976931348623157e+308, "1.7976931348623157e+308" },
		{ 123456789012345678.0, "1.2345678901234568e+17" },
		{ 100.0, "100.0" },
		{ 123.0, "123.0" },
		{ 1e22, "1e+22" },
		{ 1e23, "1e+23" },
		{ 9007199254740993.0, "9007199254740992.0" },
		{ -1.5e-300, "-1.5e-300" },
		{ 1234.5678, "1234.5678" },
		{ 1152921504606846976.0, "1.152921504606847e+18" },
		/* Just above a power of two the nearest 16-digit decimal falls
		 * outside the narrow lower half of the rounding interval; the
		 * next one up is Python's answer. */
		{ 7.120236347223045e-307, "7.120236347223045e-307" },
		{ 5.641232424577593e-278, "5.641232424577593e-278" },
		{ 7.854549544476363e-90, "7.854549544476363e-90" },
	};
	char out[32];
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		json_python_float(t[i].d, out);
		CHECK_STR(out, t[i].want);
	}
	json_python_float(INFINITY, out);
	CHECK_STR(out, "inf");
	json_python_float(-INFINITY, out);
	CHECK_STR(out, "-inf");
	json_python_float(NAN, out);
	CHECK_STR(out, "nan");
}

/* ----------------------------------------------------------------- writer */

static void build_sample(struct jw *w)
{
	jw_obj_begin(w);
	jw_kv_int(w, "a", 1);
	jw_key(w, "b");
	jw_arr_begin(w);
	jw_int(w, 2);
	jw_int(w, 3);
	jw_arr_begin(w);
	jw_arr_end(w);
	jw_obj_begin(w);
	jw_obj_end(w);
	jw_arr_end(w);
	jw_key(w, "c");
	jw_obj_begin(w);
	jw_key(w, "n");
	jw_null(w);
	jw_kv_bool(w, "t", 1);
	jw_kv_bool(w, "f", 0);
	jw_obj_end(w);
	jw_kv_str(w, "s", "x y");
	jw_key(w, "u");
	jw_uint(w, 7);
	jw_key(w, "r");
	jw_raw(w, "2.5e-3");
	jw_obj_end(w);
}

TEST(writer_layouts)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw w;

	jw_init(&w, &sb, JSON_COMPACT);
	build_sample(&w);
	CHECK_STR(sb.buf, "{\"a\":1,\"b\":[2,3,[],{}],\"c\":{\"n\":null,\"t\":true,\"f\":false},"
	                  "\"s\":\"x y\",\"u\":7,\"r\":2.5e-3}");
	CHECK_INT(w.depth, 0);

	sb_reset(&sb);
	jw_init(&w, &sb, JSON_PYTHON);
	build_sample(&w);
	CHECK_STR(sb.buf, "{\"a\": 1, \"b\": [2, 3, [], {}], \"c\": {\"n\": null, \"t\": true, "
	                  "\"f\": false}, \"s\": \"x y\", \"u\": 7, \"r\": 2.5e-3}");

	/* Empty top-level containers and scalars. */
	sb_reset(&sb);
	jw_init(&w, &sb, JSON_PYTHON);
	jw_obj_begin(&w);
	jw_obj_end(&w);
	CHECK_STR(sb.buf, "{}");
	sb_reset(&sb);
	jw_init(&w, &sb, JSON_PYTHON);
	jw_arr_begin(&w);
	jw_arr_end(&w);
	CHECK_STR(sb.buf, "[]");
	sb_reset(&sb);
	jw_init(&w, &sb, JSON_COMPACT);
	jw_str(&w, "top");
	CHECK_STR(sb.buf, "\"top\"");

	/* The writer appends: what the buffer held stays. */
	sb_reset(&sb);
	sb_puts(&sb, "prefix ");
	jw_init(&w, &sb, JSON_COMPACT);
	jw_arr_begin(&w);
	jw_null(&w);
	jw_arr_end(&w);
	CHECK_STR(sb.buf, "prefix [null]");
	sb_free(&sb);
}

TEST(writer_depth_limit)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw w;

	jw_init(&w, &sb, JSON_COMPACT);
	for (int i = 0; i < JW_MAX_DEPTH; i++)
		jw_arr_begin(&w);
	for (int i = 0; i < JW_MAX_DEPTH; i++)
		jw_arr_end(&w);
	CHECK_INT(sb.len, 2 * JW_MAX_DEPTH);
	CHECK_INT(w.depth, 0);
	sb_free(&sb);
}

TEST(writer_integers)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw w;

	jw_init(&w, &sb, JSON_PYTHON);
	jw_arr_begin(&w);
	jw_int(&w, INT64_MIN);
	jw_int(&w, INT64_MAX);
	jw_uint(&w, UINT64_MAX);
	jw_int(&w, 0);
	jw_int(&w, -1);
	jw_uint(&w, 9007199254740993u);  /* 2^53 + 1: a double cannot hold it */
	jw_arr_end(&w);
	CHECK_STR(sb.buf, "[-9223372036854775808, 9223372036854775807, 18446744073709551615, "
	                  "0, -1, 9007199254740993]");
	sb_free(&sb);
}

/* One string through the writer, as a top-level value. */
static char *wstr(enum json_style style, const char *s, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw w;
	jw_init(&w, &sb, style);
	jw_strn(&w, s, n);
	return sb_detach(&sb, NULL);
}

#define CHECK_WSTR(style, lit, want) do { char *g_ = wstr((style), (lit), sizeof(lit) - 1); \
	CHECK_STR(g_, (want)); free(g_); } while (0)

static const char *const ctl_escaped[32] = {
	"\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
	"\\b", "\\t", "\\n", "\\u000b", "\\f", "\\r", "\\u000e", "\\u000f",
	"\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
	"\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
};

TEST(escape_control_chars)
{
	for (int style = JSON_COMPACT; style <= JSON_PYTHON; style++) {
		for (int c = 0; c < 32; c++) {
			char in[3] = { 'a', (char)c, 'z' }, want[16];
			snprintf(want, sizeof(want), "\"a%sz\"", ctl_escaped[c]);
			char *got = wstr((enum json_style)style, in, sizeof(in));
			CHECK_STR(got, want);
			free(got);
		}
	}
}

TEST(escape_python)
{
	CHECK_WSTR(JSON_PYTHON, "\"", "\"\\\"\"");
	CHECK_WSTR(JSON_PYTHON, "\\", "\"\\\\\"");
	CHECK_WSTR(JSON_PYTHON, "a/b", "\"a/b\"");
	CHECK_WSTR(JSON_PYTHON, " ~", "\" ~\"");
	/* Python's ensure_ascii safe set ends at '~': DEL is escaped. */
	CHECK_WSTR(JSON_PYTHON, "\x7f", "\"\\u007f\"");
	CHECK_WSTR(JSON_PYTHON, "h\xc3\xa9llo \xe2\x9c\x93", "\"h\\u00e9llo \\u2713\"");
	CHECK_WSTR(JSON_PYTHON, "\xf0\x9f\x94\x91", "\"\\ud83d\\udd11\"");
	CHECK_WSTR(JSON_PYTHON, "\xf4\x8f\xbf\xbf", "\"\\udbff\\udfff\"");  /* U+10FFFF */
	CHECK_WSTR(JSON_PYTHON, "\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\"");
	CHECK_WSTR(JSON_PYTHON, "\xef\xbf\xbf", "\"\\uffff\"");
	CHECK_WSTR(JSON_PYTHON, "\xc2\x80", "\"\\u0080\"");
	CHECK_WSTR(JSON_PYTHON, "\xff", "\"\\ufffd\"");
	CHECK_WSTR(JSON_PYTHON, "", "\"\"");
}

TEST(escape_compact)
{
	CHECK_WSTR(JSON_COMPACT, "\"", "\"\\\"\"");
	CHECK_WSTR(JSON_COMPACT, "\\", "\"\\\\\"");
	CHECK_WSTR(JSON_COMPACT, "a/b ~", "\"a/b ~\"");
	CHECK_WSTR(JSON_COMPACT, "\x7f", "\"\\u007f\"");
	/* Valid UTF-8 passes through, except the JavaScript line breaks. */
	CHECK_WSTR(JSON_COMPACT, "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x94\x91",
	           "\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x94\x91\"");
	CHECK_WSTR(JSON_COMPACT, "a\xe2\x80\xa8" "b\xe2\x80\xa9", "\"a\\u2028b\\u2029\"");
	CHECK_WSTR(JSON_COMPACT, "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");
	/* Invalid UTF-8 is never copied out: one U+FFFD per bad byte. */
	CHECK_WSTR(JSON_COMPACT, "a\xff" "b", "\"a\\ufffdb\"");
	CHECK_WSTR(JSON_COMPACT, "\xc3", "\"\\ufffd\"");                       /* truncated */
	CHECK_WSTR(JSON_COMPACT, "\xe2\x82" "A", "\"\\ufffd\\ufffdA\"");        /* truncated */
	CHECK_WSTR(JSON_COMPACT, "\xc0\xaf", "\"\\ufffd\\ufffd\"");             /* overlong '/' */
	CHECK_WSTR(JSON_COMPACT, "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");  /* overlong */
	CHECK_WSTR(JSON_COMPACT, "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");  /* surrogate */
	CHECK_WSTR(JSON_COMPACT, "\xf4\x90\x80\x80",                            /* > U+10FFFF */
	           "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	CHECK_WSTR(JSON_COMPACT, "\x80\xc3\xa9", "\"\\ufffd\xc3\xa9\"");        /* stray continuation */
	CHECK_WSTR(JSON_COMPACT, "\xf0\x9f\x94", "\"\\ufffd\\ufffd\\ufffd\"");  /* cut emoji */

	/* Keys go through the same escaping. */
	struct strbuf sb = STRBUF_INIT;
	struct jw w;
	jw_init(&w, &sb, JSON_COMPACT);
	jw_obj_begin(&w);
	jw_kv_str(&w, "k\"\n\xc3\xa9", "v");
	jw_obj_end(&w);
	CHECK_STR(sb.buf, "{\"k\\\"\\n\xc3\xa9\":\"v\"}");
	sb_reset(&sb);
	jw_init(&w, &sb, JSON_PYTHON);
	jw_obj_begin(&w);
	jw_kv_str(&w, "k\"\n\xc3\xa9", "v");
	jw_obj_end(&w);
	CHECK_STR(sb.buf, "{\"k\\\"\\n\\u00e9\": \"v\"}");
	sb_free(&sb);
}

/* Misuse is a programming error: die("json writer misuse: ...").  The
 * buffer lives in static storage so LeakSanitizer, which runs at the
 * child's exit, sees nothing lost. */
static struct strbuf misuse_sb;
static struct jw misuse_w;

static void misuse_value_without_key(void)
{
	jw_init(&misuse_w, &misuse_sb, JSON_COMPACT);
	jw_obj_begin(&misuse_w);
	jw_int(&misuse_w, 1);
}

static void misuse_key_in_array(void)
{
	jw_init(&misuse_w, &misuse_sb, JSON_COMPACT);
	jw_arr_begin(&misuse_w);
	jw_key(&misuse_w, "k");
}

static void misuse_key_at_top(void)
{
	jw_init(&misuse_w, &misuse_sb, JSON_COMPACT);
	jw_key(&misuse_w, "k");
}

static void misuse_two_keys(void)
{
	jw_init(&misuse_w, &misuse_sb, JSON_COMPACT);
	jw_obj_begin(&misuse_w);
	jw_key(&misuse_w, "a");
	jw_key(&misuse_w, "b");
}

static void misuse_key_without_value(void)
{
	jw_init(&misuse_w, &misuse_sb, JSON_COMPACT);
	jw_obj_begin(&misuse_w);
	jw_key(&misuse_w, "a");
	jw_obj_end(&misuse_w);
}

static void misuse_unbalanced_end(void)
{
	jw_init(&misuse_w, &misuse_sb, JSON_COMPACT);
	jw_arr_begin(&misuse_w);
	jw_arr_end(&misuse_w);
	jw_arr_end(&misuse_w);
}

static void misuse_wrong_end(void)
{
	jw_init(&misuse_w, &misuse_sb, JSON_COMPACT);
	jw_obj_begin(&misuse_w);
	jw_arr_end(&misuse_w);
}

static void misuse_too_deep(void)
{
	jw_init(&misuse_w, &misuse_sb, JSON_COMPACT);
	for (int i = 0; i <= JW_MAX_DEPTH; i++)
		jw_arr_begin(&misuse_w);
}

static void misuse_raw_not_number(void)
{
	jw_init(&misuse_w, &misuse_sb, JSON_COMPACT);
	jw_raw(&misuse_w, "1,\"x\":2");
}

TEST(writer_misuse_dies)
{
	static const struct { void (*fn)(void); const char *what; } t[] = {
		{ misuse_value_without_key, "value without a key" },
		{ misuse_key_in_array, "outside an object" },
		{ misuse_key_at_top, "outside an object" },
		{ misuse_two_keys, "right after another key" },
		{ misuse_key_without_value, "key without a value" },
		{ misuse_unbalanced_end, "without an open container" },
		{ misuse_wrong_end, "closing an array inside an object" },
		{ misuse_too_deep, "nesting deeper than 64" },
		{ misuse_raw_not_number, "is not a JSON number" },
	};
	char buf[512];
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		CHECK_INT(run_child(t[i].fn, buf, sizeof(buf)), 1);
		CHECK(strstr(buf, "json writer misuse: ") != NULL);
		if (!CHECK(strstr(buf, t[i].what) != NULL))
			printf("#   case %zu: %s", i, buf);
	}
}

/* ------------------------------------------------- audit reference vectors */

/* The inputs of audit-hash-vectors.json as JSON text, written the way a
 * caller might: member order as in the file, assorted whitespace and
 * escapes. */
static const char *const vector_input_text[] = {
	"{\"b\": 2, \"a\": 1}",
	("{\n  \"text\": \"h\\u00e9llo \xe2\x9c\x93\",\n  \"opts\": {\"z\": [1, 2.5, null, true], "
	 "\"a\": \"x\"}\n}\n"),
	" {} ",
};

static char *sha256hex_salted(const unsigned char *salt, size_t saltlen, const char *payload)
{
	struct strbuf sb = STRBUF_INIT;
	uint8_t md[SHA256_LEN];
	char *hex = xmalloc(2 * SHA256_LEN + 1);
	sb_add(&sb, salt, saltlen);
	sb_puts(&sb, payload);
	crypto_sha256(sb.buf, sb.len, md);
	hex_encode(md, sizeof(md), hex);
	sb_free(&sb);
	return hex;
}

/* The record, in the reference's key order, from the fields of line. */
static char *rebuild_record(const cJSON *line, const char *input_hash)
{
	static const char *const strkeys[] = { "timestamp", "user", "module_id" };
	struct strbuf sb = STRBUF_INIT;
	struct jw w;
	const cJSON *v;

	jw_init(&w, &sb, JSON_PYTHON);
	jw_obj_begin(&w);
	for (size_t i = 0; i < ARRAY_SIZE(strkeys); i++) {
		v = cJSON_GetObjectItemCaseSensitive(line, strkeys[i]);
		jw_kv_str(&w, strkeys[i], cJSON_IsString(v) ? v->valuestring : "?");
	}
	if (!input_hash) {
		v = cJSON_GetObjectItemCaseSensitive(line, "input_hash");
		input_hash = cJSON_IsString(v) ? v->valuestring : "?";
	}
	jw_kv_str(&w, "input_hash", input_hash);
	v = cJSON_GetObjectItemCaseSensitive(line, "status");
	jw_kv_str(&w, "status", cJSON_IsString(v) ? v->valuestring : "?");
	v = cJSON_GetObjectItemCaseSensitive(line, "exit_code");
	jw_kv_int(&w, "exit_code", cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -999);
	v = cJSON_GetObjectItemCaseSensitive(line, "duration_ms");
	jw_kv_int(&w, "duration_ms", cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -999);
	jw_obj_end(&w);
	return sb_detach(&sb, NULL);
}

TEST(audit_hash_vectors)
{
	size_t len;
	char *text = xread_file(unit_path("tests/vectors/audit-hash-vectors.json"), XIO_DEFAULT_CAP, &len);
	cJSON *root = cJSON_ParseWithLength(text, len);
	free(text);
	if (!CHECK(cJSON_IsArray(root)))
		return;
	CHECK_INT(cJSON_GetArraySize(root), ARRAY_SIZE(vector_input_text));

	size_t i = 0;
	const cJSON *vec;
	cJSON_ArrayForEach(vec, root) {
		const cJSON *input = cJSON_GetObjectItemCaseSensitive(vec, "input");
		const char *payload = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(vec, "hashed_payload_utf8"));
		const char *salt_hex = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(vec, "salt_hex"));
		const char *want_hash = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(vec, "input_hash"));
		const char *ref_line = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(vec, "reference_line"));
		if (!CHECK(input && payload && salt_hex && want_hash && ref_line && i < ARRAY_SIZE(vector_input_text)))
			break;

		/* The canonical payload, from the text as a caller wrote it and
		 * from cJSON's own rendering of the vector's input. */
		CHECK_CANON(vector_input_text[i], JSON_PYTHON, payload);
		char *printed = cJSON_PrintUnformatted(input);
		CHECK_CANON(printed, JSON_PYTHON, payload);
		cJSON_free(printed);

		/* input_hash = sha256(salt16 || payload). */
		unsigned char salt[16];
		CHECK_INT(unit_unhex(salt_hex, salt, sizeof(salt)), 16);
		char *hash = sha256hex_salted(salt, sizeof(salt), payload);
		CHECK_STR(hash, want_hash);
		/* Must-fail: a flipped salt bit or a compact payload changes it. */
		salt[0] ^= 1;
		char *forged = sha256hex_salted(salt, sizeof(salt), payload);
		CHECK(strcmp(forged, want_hash) != 0);
		free(forged);
		salt[0] ^= 1;
		char *compact = canon(vector_input_text[i], JSON_COMPACT, NULL, 0);
		if (CHECK(compact != NULL) && strcmp(compact, "{}")) {
			forged = sha256hex_salted(salt, sizeof(salt), compact);
			CHECK(strcmp(forged, want_hash) != 0);
			free(forged);
		}
		free(compact);

		/* The whole record, rebuilt with the hash we computed. */
		cJSON *line = cJSON_Parse(ref_line);
		CHECK(line != NULL);
		char *rec = rebuild_record(line, hash);
		CHECK_STR(rec, ref_line);
		free(rec);
		cJSON_Delete(line);
		free(hash);
		i++;
	}
	CHECK_INT(i, ARRAY_SIZE(vector_input_text));
	cJSON_Delete(root);
}

TEST(audit_sample_lines)
{
	size_t len;
	char *text = xread_file(unit_path("tests/vectors/audit-sample.jsonl"), XIO_DEFAULT_CAP, &len);
	int lines = 0;

	for (char *p = text, *nl; p < text + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(text + len - p));
		if (!CHECK(nl != NULL))  /* every record ends with a newline */
			break;
		*nl = 0;
		cJSON *line = cJSON_Parse(p);
		if (!CHECK(line != NULL))
			continue;
		char *rec = rebuild_record(line, NULL);
		CHECK_STR(rec, p);
		free(rec);
		cJSON_Delete(line);
		lines++;
	}
	CHECK_INT(lines, 3);
	free(text);
}

/* ---------------------------------------------------------- canonicaliser */

TEST(canon_numbers)
{
	CHECK_CANON("12345678901234567890", JSON_PYTHON, "12345678901234567890");
	CHECK_CANON("-12345678901234567890123456789012345678901234567890123456789012345678901234567890",
	            JSON_PYTHON,
	            "-12345678901234567890123456789012345678901234567890123456789012345678901234567890");
	CHECK_CANON("[1.0, 1, -0, 0, -0.0, 1E5, 1e-400, 2.50, 0.1, 1e16, 1e15, 100.0, 123456789012345678.0]",
	            JSON_PYTHON,
	            "[1.0, 1, 0, 0, -0.0, 100000.0, 0.0, 2.5, 0.1, 1e+16, 1000000000000000.0, 100.0, "
	            "1.2345678901234568e+17]");
	CHECK_CANON("[9223372036854775807, -9223372036854775808, 18446744073709551616]", JSON_COMPACT,
	            "[9223372036854775807,-9223372036854775808,18446744073709551616]");
	CHECK_CANON("{\"f\": 1.7976931348623157e+308, \"g\": 5e-324, \"h\": 0.00001}", JSON_PYTHON,
	            "{\"f\": 1.7976931348623157e+308, \"g\": 5e-324, \"h\": 1e-05}");

	/* Python's int() limit is 4300 digits: one more and json.loads fails. */
	struct strbuf big = STRBUF_INIT, out = STRBUF_INIT;
	char err[256];
	sb_putc(&big, '-');
	for (int i = 0; i < 4300; i++)
		sb_putc(&big, (char)('1' + i % 9));
	CHECK_INT(json_canonicalize(big.buf, big.len, JSON_PYTHON, &out, err, sizeof(err)), 0);
	CHECK_STR(out.buf, big.buf);
	sb_reset(&out);
	sb_putc(&big, '0');
	CHECK_INT(json_canonicalize(big.buf, big.len, JSON_PYTHON, &out, err, sizeof(err)), -1);
	CHECK(strstr(err, "more than 4300 digits") != NULL);
	sb_free(&big);
	sb_free(&out);
}

TEST(canon_sorting)
{
	CHECK_CANON("{\"b\":1,\"a\":2,\"\xc3\xa9\":3,\"Z\":4,\"aa\":5}", JSON_PYTHON,
	            "{\"Z\": 4, \"a\": 2, \"aa\": 5, \"b\": 1, \"\\u00e9\": 3}");
	/* Code point order, not UTF-16 order: U+FFFF before U+1F511. */
	CHECK_CANON("{\"\xf0\x9f\x94\x91\":1,\"\\uffff\":2}", JSON_PYTHON,
	            "{\"\\uffff\": 2, \"\\ud83d\\udd11\": 1}");
	CHECK_CANON("{\"z\":{\"b\":[{\"d\":1,\"c\":2}],\"a\":null},\"a\":[3,{\"y\":1,\"x\":2}]}",
	            JSON_PYTHON,
	            "{\"a\": [3, {\"x\": 2, \"y\": 1}], \"z\": {\"a\": null, \"b\": [{\"c\": 2, \"d\": 1}]}}");
	/* Arrays keep their order. */
	CHECK_CANON("[3, 1, 2]", JSON_PYTHON, "[3, 1, 2]");
	/* Keys written with escapes sort by what they decode to. */
	CHECK_CANON("{\"\\u0062\": 1, \"a\": 2}", JSON_PYTHON, "{\"a\": 2, \"b\": 1}");
}

TEST(canon_strings_and_styles)
{
	const char *in = "{\"\xc3\xa9\": \"\xe2\x9c\x93\xf0\x9f\x94\x91\\u2028\", "
	                 "\"a\": [\"\\/\\\\\\\"\", true, false, null, \"\\u007f\\t\"]}";
	CHECK_CANON(in, JSON_PYTHON,
	            "{\"a\": [\"/\\\\\\\"\", true, false, null, \"\\u007f\\t\"], "
	            "\"\\u00e9\": \"\\u2713\\ud83d\\udd11\\u2028\"}");
	CHECK_CANON(in, JSON_COMPACT,
	            "{\"a\":[\"/\\\\\\\"\",true,false,null,\"\\u007f\\t\"],"
	            "\"\xc3\xa9\":\"\xe2\x9c\x93\xf0\x9f\x94\x91\\u2028\"}");
	/* Any value at top level, as json.loads accepts it; surrounding
	 * whitespace and a UTF-8 BOM (json.loads on bytes) are fine. */
	CHECK_CANON(" \"x\"\n", JSON_PYTHON, "\"x\"");
	CHECK_CANON("7", JSON_PYTHON, "7");
	CHECK_CANON("true", JSON_PYTHON, "true");
	CHECK_CANON("null", JSON_COMPACT, "null");
	CHECK_CANON("\t2.50\r\n", JSON_PYTHON, "2.5");
	CHECK_CANON("\xef\xbb\xbf{\"a\": 1}", JSON_PYTHON, "{\"a\": 1}");
	CHECK_CANON("{\"\": {}}", JSON_PYTHON, "{\"\": {}}");
}

TEST(canon_length_bounds)
{
	/* The text need not be NUL-terminated (ASan checks the reads), and
	 * nothing past len counts. */
	const char src[] = "{\"k\": [1, 2.0]}";
	char *exact = xmalloc(sizeof(src) - 1);
	memcpy(exact, src, sizeof(src) - 1);
	struct strbuf out = STRBUF_INIT;
	char err[256];
	CHECK_INT(json_canonicalize(exact, sizeof(src) - 1, JSON_COMPACT, &out, err, sizeof(err)), 0);
	CHECK_STR(out.buf, "{\"k\":[1,2.0]}");
	free(exact);

	sb_reset(&out);
	CHECK_INT(json_canonicalize("[1]xyz", 3, JSON_COMPACT, &out, err, sizeof(err)), 0);
	CHECK_STR(out.buf, "[1]");

	/* 64 levels are allowed, 65 are not. */
	struct strbuf deep = STRBUF_INIT;
	for (int i = 0; i < JW_MAX_DEPTH; i++)
		sb_putc(&deep, '[');
	for (int i = 0; i < JW_MAX_DEPTH; i++)
		sb_putc(&deep, ']');
	sb_reset(&out);
	CHECK_INT(json_canonicalize(deep.buf, deep.len, JSON_PYTHON, &out, err, sizeof(err)), 0);
	CHECK_STR(out.buf, deep.buf);
	sb_reset(&deep);
	for (int i = 0; i <= JW_MAX_DEPTH; i++)
		sb_puts(&deep, "{\"a\":");
	sb_putc(&deep, '1');
	for (int i = 0; i <= JW_MAX_DEPTH; i++)
		sb_putc(&deep, '}');
	sb_reset(&out);
	CHECK_INT(json_canonicalize(deep.buf, deep.len, JSON_PYTHON, &out, err, sizeof(err)), -1);
	CHECK(strstr(err, "nesting deeper than 64") != NULL);
	sb_free(&deep);
	sb_free(&out);
}

TEST(canon_rejects)
{
	static const struct { const char *in; size_t len; const char *why; } t[] = {
#define R(lit, why) { lit, sizeof(lit) - 1, why }
		/* invalid JSON, with where */
		R("{\"a\": 1,}", "invalid JSON at byte "),
		R("[1,]", "invalid JSON at byte 3"),
		R("{\"a\" 1}", "invalid JSON at byte 5"),
		R("[1 2]", "invalid JSON at byte 3"),
		R("1 2", "invalid JSON at byte 2"),
		R("{\"a\":1}x", "unexpected character 'x' at byte 7"),
		R("{\"a\":1}}", "invalid JSON at byte 7"),
		R("[", "invalid JSON"),
		R("", "empty input"),
		R(" \n", "empty input"),
		R("tru", "invalid literal at byte 0"),
		R("'a'", "unexpected character"),
		R("\"abc", "unterminated string starting at byte 0"),
		R("\"\\x\"", "invalid escape"),
		R("\"\\u12g4\"", "invalid \\u escape"),
		R("\"a\x01\"", "control character 0x01 in a string at byte 2"),
		R("\"a\tb\"", "control character 0x09"),
		R("\x0c[1]", "unexpected control character 0x0c at byte 0"),
		R("[1]\x00", "unexpected control character 0x00 at byte 3"),
		/* numbers cJSON would take but Python does not */
		R("01", "invalid number at byte 0"),
		R("[-01]", "invalid number at byte 1"),
		R("[1.]", "invalid number at byte 1"),
		R("[.5]", "unexpected character '.' at byte 1"),
		R("[1e]", "invalid number at byte 1"),
		R("[1.5.3]", "invalid number at byte 1"),
		R("[+1]", "unexpected character '+'"),
		R("[-]", "invalid number"),
		R("[0x10]", "unexpected character 'x'"),
		/* numbers Python would print as Infinity/NaN */
		R("NaN", "NaN and Infinity are not JSON"),
		R("[Infinity]", "NaN and Infinity are not JSON (byte 1)"),
		R("{\"a\": -Infinity}", "NaN and Infinity are not JSON (byte 6)"),
		R("[1e400]", "too large for a double"),
		R("{\"a\": -1.5e99999}", "too large for a double"),
		/* invalid UTF-8 anywhere */
		R("\"\xff\"", "invalid UTF-8 at byte 1"),
		R("{\"\xc3\": 1}", "invalid UTF-8 at byte 2"),
		R("\"\xed\xa0\x80\"", "invalid UTF-8 at byte 1"),
		R("[1, \"\xc0\xaf\"]", "invalid UTF-8 at byte 5"),
		R("[1]\xff", "invalid UTF-8 at byte 3"),
		/* duplicate keys, also when spelt differently, also nested */
		R("{\"a\": 1, \"a\": 2}", "duplicate key \"a\""),
		R("{\"a\": 1, \"\\u0061\": 1}", "duplicate key \"a\""),
		R("[{\"x\": {\"k\": 1, \"j\": 0, \"k\": 1}}]", "duplicate key \"k\""),
		R("{\"a\\nb\": 1, \"a\\nb\": 2}", "duplicate key \"a?b\""),
		/* \u0000 (cJSON would cut the string) and lone surrogates */
		R("\"a\\u0000b\"", "\\u0000 in a string at byte 2"),
		R("{\"\\u0000\": 1}", "\\u0000 in a string"),
		R("\"\\ud800\"", "lone surrogate escape at byte 1"),
		R("\"\\udc00\"", "lone surrogate escape at byte 1"),
		R("\"\\ud83d\\u0041\"", "lone surrogate escape"),
		R("\"\\ud83dx\"", "lone surrogate escape"),
		R("\"\\ud83d\\udd11\\udd11\"", "lone surrogate escape at byte 13"),
#undef R
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct strbuf out = STRBUF_INIT;
		char err[256] = "";
		sb_puts(&out, "kept");
		int rc = json_canonicalize(t[i].in, t[i].len, JSON_PYTHON, &out, err, sizeof(err));
		if (!CHECK(rc == -1))
			printf("#   case %zu accepted: %s\n", i, out.buf);
		else if (!CHECK(strstr(err, t[i].why) != NULL))
			printf("#   case %zu: got \"%s\", want \"%s\"\n", i, err, t[i].why);
		/* A failure leaves the output as it was. */
		CHECK_STR(out.buf, "kept");
		CHECK(strchr(err, '\n') == NULL);
		sb_free(&out);
	}

	/* err may be omitted. */
	struct strbuf out = STRBUF_INIT;
	CHECK_INT(json_canonicalize("[", 1, JSON_PYTHON, &out, NULL, 0), -1);
	sb_free(&out);
}

int main(void)
{
	RUN(python_float_repr);
	RUN(writer_layouts);
	RUN(writer_depth_limit);
	RUN(writer_integers);
	RUN(escape_control_chars);
	RUN(escape_python);
	RUN(escape_compact);
	RUN(writer_misuse_dies);
	RUN(audit_hash_vectors);
	RUN(audit_sample_lines);
	RUN(canon_numbers);
	RUN(canon_sorting);
	RUN(canon_strings_and_styles);
	RUN(canon_length_bounds);
	RUN(canon_rejects);
	return unit_done();
}

/* test_auditlog.c - libcommon/auditlog.c: the reference's byte layout and
 * input hash (tests/vectors/audit-*.json*), key evolution known answers,
 * the writer, and verification with a must-fail case for every check.
 *
 * Known answers for the key schedule were computed with Python's hmac and
 * hashlib from the definitions in docs/audit-format.md, e.g.
 *   hmac.new(seed, b"apcore-audit evolve" + (0).to_bytes(8, "big"), sha256)
 * with seed = bytes(range(32)).
 */

#include "unit.h"
#include "auditlog.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

static char *tpath(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	if (read_file_capped(path, 1u << 30, &buf, &n))
		return NULL;
	if (len)
		*len = n;
	return buf;
}

static void spit(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		(void)write_full(fd, data, len);
		close(fd);
	}
}

static void copy_file(const char *from, const char *to)
{
	size_t n = 0;
	char *d = slurp(from, &n);
	if (d)
		spit(to, d, n);
	free(d);
}

/* Lines of a file (each with its newline) into an array. */
struct lines {
	char *l[4096];
	size_t n;
};

static void load_lines(const char *path, struct lines *ls)
{
	size_t n = 0;
	char *d = slurp(path, &n);
	ls->n = 0;
	for (char *p = d; p && *p && ls->n < 4096;) {
		char *nl = strchr(p, '\n');
		size_t k = nl ? (size_t)(nl + 1 - p) : strlen(p);
		ls->l[ls->n++] = xstrndup(p, k);
		p += k;
	}
	free(d);
}

static void save_lines(const char *path, struct lines *ls)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < ls->n; i++)
		sb_puts(&sb, ls->l[i]);
	spit(path, sb.buf ? sb.buf : "", sb.len);
	sb_free(&sb);
}

static void free_lines(struct lines *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		free(ls->l[i]);
	ls->n = 0;
}

static const struct audit_opts fixed = {
	.now_ms = 1795460406281LL, .user = "alice", .host = "build-host-01",
	.sync = AUDIT_SYNC_NONE, .backend = AUDIT_BACKEND_FILE,
};

static int append(const char *log, const char *module, const char *status, int code,
                  const char *input)
{
	char err[256];
	struct audit_rec r = { .module_id = module, .status = status, .exit_code = code,
	                       .duration_ms = 7, .input = input,
	                       .input_len = input ? strlen(input) : 0 };
	int rc = audit_append(log, &r, &fixed, err, sizeof(err));
	if (rc)
		printf("# append: %s\n", err);
	return rc;
}

static int verify(const char *log, const char *vk, struct audit_verify *v)
{
	char err[256];
	struct audit_verify_opts vo = { .vk = vk };
	int rc = audit_verify(log, &vo, v, err, sizeof(err));
	if (rc) {
		printf("# verify: %s\n", err);
		return -1;
	}
	return v->code;
}

/* A keyed log: init, 4 records, seal, 3 records, seal.  Returns the vk. */
static char *make_log(const char *log)
{
	char err[256], *vk = NULL;
	uint64_t e;
	char *sp = audit_state_path(log);
	unlink(log);
	unlink(sp);
	free(sp);
	if (audit_init(log, &fixed, &vk, NULL, 0, err, sizeof(err))) {
		printf("# init: %s\n", err);
		return NULL;
	}
	for (int i = 0; i < 4; i++)
		append(log, "math.add", "success", 0, "{\"a\": 1}");
	audit_seal(log, &fixed, &e, err, sizeof(err));
	for (int i = 0; i < 3; i++)
		append(log, "text.upper", "error", 45, NULL);
	audit_seal(log, &fixed, &e, err, sizeof(err));
	return vk;
}

/* Copy log and state to NAME / NAME.state. */
static char *clone_log(const char *log, const char *name)
{
	char *to = tpath(name), *s1 = audit_state_path(log), *s2 = audit_state_path(to);
	copy_file(log, to);
	copy_file(s1, s2);
	chmod(s2, 0600);
	free(s1);
	free(s2);
	return to;
}

static char *vk_string(void)
{
	return xstrdup("apcore-audit-vk1:00112233445566778899aabbccddeeff:"
	               "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
}

/* --------------------------------------------------- reference vectors */

TEST(hash_vectors_reproduced)
{
	size_t n = 0;
	char *text = slurp(unit_path("tests/vectors/audit-hash-vectors.json"), &n);
	CHECK(text != NULL);
	if (!text)
		return;
	cJSON *arr = cJSON_Parse(text);
	CHECK(cJSON_GetArraySize(arr) == 3);
	const cJSON *v;
	cJSON_ArrayForEach(v, arr) {
		/* The input object as JSON text, any layout. */
		char *in = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(v, "input"));
		struct strbuf canon = STRBUF_INIT;
		char err[128];
		CHECK(audit_canonical_input(in, strlen(in), &canon, err, sizeof(err)) == 0);
		CHECK_STR(canon.buf,
		          cJSON_GetObjectItemCaseSensitive(v, "hashed_payload_utf8")->valuestring);
		uint8_t salt[16], h[SHA256_LEN];
		char hex[65];
		unit_unhex(cJSON_GetObjectItemCaseSensitive(v, "salt_hex")->valuestring, salt, 16);
		struct sha256_ctx *c = crypto_sha256_new();
		crypto_sha256_update(c, salt, 16);
		crypto_sha256_update(c, canon.buf, canon.len);
		crypto_sha256_final(c, h);
		hex_encode(h, SHA256_LEN, hex);
		const char *want = cJSON_GetObjectItemCaseSensitive(v, "input_hash")->valuestring;
		CHECK_STR(hex, want);

		/* The whole reference line, byte for byte. */
		const char *ref = cJSON_GetObjectItemCaseSensitive(v, "reference_line")->valuestring;
		cJSON *line = cJSON_Parse(ref);
		struct strbuf out = STRBUF_INIT;
		audit_reference_line(&out,
		                     cJSON_GetObjectItemCaseSensitive(line, "timestamp")->valuestring,
		                     cJSON_GetObjectItemCaseSensitive(line, "user")->valuestring,
		                     cJSON_GetObjectItemCaseSensitive(line, "module_id")->valuestring,
		                     hex,
		                     cJSON_GetObjectItemCaseSensitive(line, "status")->valuestring,
		                     cJSON_GetObjectItemCaseSensitive(line, "exit_code")->valueint,
		                     cJSON_GetObjectItemCaseSensitive(line, "duration_ms")->valueint);
		char *want_line = xasprintf("%s\n", ref);
		CHECK_STR(out.buf, want_line);
		free(want_line);
		cJSON_Delete(line);
		sb_free(&out);
		sb_free(&canon);
		free(in);
	}
	cJSON_Delete(arr);
	free(text);
}

TEST(canonical_input_rejects)
{
	struct strbuf sb = STRBUF_INIT;
	char err[128];
	CHECK(audit_canonical_input("[1, 2]", 6, &sb, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not a JSON object") != NULL);
	CHECK(sb.len == 0);
	CHECK(audit_canonical_input("{\"a\": ", 6, &sb, err, sizeof(err)) == -1);
	CHECK(audit_canonical_input("{\"a\": \"\xff\"}", 9, &sb, err, sizeof(err)) == -1);
	CHECK(strstr(err, "UTF-8") != NULL);
	CHECK(audit_canonical_input("{\"a\": 1, \"a\": 2}", 16, &sb, err, sizeof(err)) == -1);
	CHECK(strstr(err, "duplicate") != NULL);
	CHECK(audit_canonical_input("{\"b\": 1e16, \"a\": 1.0}", 21, &sb, err, sizeof(err)) == 0);
	CHECK_STR(sb.buf, "{\"a\": 1.0, \"b\": 1e+16}");
	sb_free(&sb);
}

TEST(reference_sample_is_read_not_trusted)
{
	char *log = tpath("ref.jsonl");
	copy_file(unit_path("tests/vectors/audit-sample.jsonl"), log);
	struct audit_verify v;
	CHECK_INT(verify(log, NULL, &v), AUDIT_V_UNAUTH);
	CHECK_INT(v.lines, 3);
	CHECK_INT(v.foreign, 3);
	CHECK_INT(v.unauth, 3);
	CHECK_INT(v.records, 0);

	/* Each line parses for show. */
	struct lines ls;
	load_lines(log, &ls);
	struct audit_line al;
	char err[128];
	CHECK(audit_parse_line(ls.l[1], strlen(ls.l[1]), &al, err, sizeof(err)) == 0);
	CHECK_STR(al.module_id, "text.upper");
	CHECK_STR(al.user, "alice");
	CHECK_STR(al.status, "error");
	CHECK_INT(al.exit_code, 45);
	CHECK_INT(al.duration_ms, 7);
	CHECK(!al.ours && !al.keyed);
	CHECK(al.ts_ms > 0);
	CHECK(audit_parse_line("{\"a\": ", 6, &al, err, sizeof(err)) == -1);

	/* Appending chains onto the reference line's exact bytes. */
	CHECK(append(log, "math.add", "success", 0, NULL) == 0);
	struct lines after;
	load_lines(log, &after);
	CHECK_INT(after.n, 4);
	uint8_t h[SHA256_LEN];
	char hex[65], *want;
	crypto_sha256(ls.l[2], strlen(ls.l[2]), h);
	hex_encode(h, SHA256_LEN, hex);
	want = xasprintf("\"prev\": \"%s\"", hex);
	CHECK(strstr(after.l[3], want) != NULL);
	CHECK(strstr(after.l[3], "\"seq\": 1, ") != NULL);
	CHECK(strstr(after.l[3], "\"input_hash_alg\": \"sha256-salted\"") != NULL);
	CHECK(strstr(after.l[3], "\"mac\"") == NULL);
	free(want);
	CHECK_INT(verify(log, NULL, &v), AUDIT_V_UNAUTH);
	CHECK_INT(v.unauth, 4);
	free_lines(&ls);
	free_lines(&after);
	free(log);
}

/* ------------------------------------------------------ key schedule */

TEST(key_schedule_known_answers)
{
	uint8_t k[SHA256_LEN], mk[SHA256_LEN], want[SHA256_LEN];
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)i;
	audit_key_mac(k, mk);
	unit_unhex("1061c21913190e95409ac5a007548c6c4178a647c13c0bc76d3c69fd013a6c1a", want, 32);
	CHECK_MEM(mk, want, 32);
	audit_key_evolve(k, 0);
	unit_unhex("572fcacafac5324d9ced2fdcda36026997c6010cd041fbf58329bb528fb013bd", want, 32);
	CHECK_MEM(k, want, 32);
	audit_key_evolve(k, 1);
	unit_unhex("0f7add1cd1dcadf058d1b9fd0d09810b4b131345af4dd3ea553c5aaea192e93b", want, 32);
	CHECK_MEM(k, want, 32);
	audit_key_mac(k, mk);
	unit_unhex("ea977dc5f5c513fff8b8ae75c2562954d5500046c2686c9ec49a28c43dbad12e", want, 32);
	CHECK_MEM(mk, want, 32);
	/* The evolution step binds the epoch number. */
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)i;
	audit_key_evolve(k, 1);
	unit_unhex("572fcacafac5324d9ced2fdcda36026997c6010cd041fbf58329bb528fb013bd", want, 32);
	CHECK(memcmp(k, want, 32) != 0);
}

/* The first line of a log chains to the genesis value (docs/audit-format.md). */
TEST(genesis_known_answers)
{
	char *log = tpath("gen.jsonl");
	unlink(log);
	CHECK(append(log, "m", "success", 0, NULL) == 0);
	struct lines ls;
	load_lines(log, &ls);
	CHECK(strstr(ls.l[0], "\"prev\": "
	             "\"ec49b43594444f0e456ba060e9b3a4c3e1063d39a410aa914a6e982c4909af72\"") != NULL);
	free_lines(&ls);
	char *k = tpath("genk.jsonl"), err[256], *vk = NULL;
	unlink(k);
	CHECK(audit_init(k, &fixed, &vk, NULL, 0, err, sizeof(err)) == AUDIT_OK);
	load_lines(k, &ls);
	char *want = xasprintf("apcore-audit genesis\n%.32s", vk + strlen("apcore-audit-vk1:"));
	uint8_t h[SHA256_LEN];
	char hex[65], *field;
	crypto_sha256(want, strlen(want), h);
	hex_encode(h, SHA256_LEN, hex);
	field = xasprintf("\"prev\": \"%s\"", hex);
	CHECK(strstr(ls.l[0], field) != NULL);
	free(field);
	free(want);
	free_lines(&ls);
	secure_free(vk);
	free(k);
	free(log);
}

TEST(keyed_input_hash_known_answer)
{
	char out[AUDIT_HEX_LEN], err[128];
	char *vk = vk_string();
	CHECK(audit_hash_input(NULL, vk, "{\"b\":2,\"a\":1}", 13, out, err, sizeof(err)) == AUDIT_OK);
	CHECK_STR(out, "c5b5705ba9d6182fd5279bf5c5a1eab560ad9dccf93098307ee89a4290c48f7f");
	CHECK(audit_hash_input(NULL, "apcore-audit-vk1:zz", "{}", 2, out, err, sizeof(err)) ==
	      AUDIT_EINPUT);
	CHECK(audit_hash_input(NULL, vk, "{", 1, out, err, sizeof(err)) == AUDIT_EINPUT);
	free(vk);
}

/* ------------------------------------------------------------ writing */

TEST(record_layout)
{
	char *log = tpath("layout.jsonl"), err[256], *vk = NULL;
	unlink(log);
	CHECK(audit_init(log, &fixed, &vk, NULL, 0, err, sizeof(err)) == AUDIT_OK);
	struct audit_field extra[] = { { "argv0", "sh", 0 }, { "signal", NULL, 9 } };
	struct audit_rec r = { .module_id = "h\xc3\xa9llo", .status = "error", .exit_code = -3,
	                       .duration_ms = 12, .input = "{\"b\":2,\"a\":1}", .input_len = 13,
	                       .extra = extra, .nextra = 2 };
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_OK);
	struct lines ls;
	load_lines(log, &ls);
	CHECK_INT(ls.n, 2);
	char hash[AUDIT_HEX_LEN], hash2[AUDIT_HEX_LEN];
	CHECK(audit_hash_input(log, NULL, "{\"a\": 1, \"b\": 2}", 16, hash, err, sizeof(err)) == 0);
	CHECK(audit_hash_input(NULL, vk, "{\"a\":1,\"b\":2}", 13, hash2, err, sizeof(err)) == 0);
	CHECK_STR(hash, hash2);
	/* The seven reference fields first, in the reference's bytes. */
	struct strbuf ref = STRBUF_INIT;
	audit_reference_line(&ref, "2026-11-23T19:00:06.281Z", "alice", "h\xc3\xa9llo", hash,
	                     "error", -3, 12);
	ref.buf[ref.len - 2] = 0;   /* drop "}\n" */
	if (!CHECK(!strncmp(ls.l[1], ref.buf, strlen(ref.buf))))
		printf("#   line %s#   ref  %s\n", ls.l[1], ref.buf);
	CHECK(strstr(ls.l[1], "\"module_id\": \"h\\u00e9llo\"") != NULL);
	CHECK(strstr(ls.l[1], ", \"seq\": 2, \"host\": \"build-host-01\", \"pid\": ") != NULL);
	CHECK(strstr(ls.l[1], "\"epoch\": 0, \"prev\": \"") != NULL);
	CHECK(strstr(ls.l[1], "\"input_hash_alg\": \"hmac-sha256\", \"argv0\": \"sh\", \"signal\": 9, "
	             "\"mac\": \"") != NULL);
	CHECK(strstr(ls.l[0], "\"module_id\": \"apcore-audit.init\"") != NULL);
	CHECK(strstr(ls.l[0], "\"adopted_bytes\": 0") != NULL);
	/* Everything is ASCII, one line each. */
	for (const char *p = ls.l[1]; *p; p++)
		CHECK((unsigned char)*p < 0x80);
	sb_free(&ref);
	free_lines(&ls);
	secure_free(vk);
	free(log);
}

TEST(writer_rejects_bad_records)
{
	char *log = tpath("bad.jsonl"), err[256];
	unlink(log);
	CHECK(append(log, "m", "success", 0, NULL) == 0);
	size_t before = 0, after = 1;
	free(slurp(log, &before));
	struct audit_rec r = { .module_id = "m", .status = "success" };
	r.status = "ok";
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_EINPUT);
	r.status = "success";
	r.module_id = "";
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_EINPUT);
	r.module_id = "apcore-audit.seal";
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_EINPUT);
	CHECK(strstr(err, "reserved") != NULL);
	r.module_id = "bad\xff";
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_EINPUT);
	r.module_id = "m";
	r.duration_ms = -1;
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_EINPUT);
	r.duration_ms = 0;
	r.input = "{\"a\":";
	r.input_len = 5;
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_EINPUT);
	r.input = "{\"a\":\"\xc3\x28\"}";
	r.input_len = strlen(r.input);
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_EINPUT);
	r.input = NULL;
	struct audit_field f[] = { { "mac", "x", 0 } };
	r.extra = f;
	r.nextra = 1;
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_EINPUT);
	f[0].key = "Upper";
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_EINPUT);
	f[0].key = "status";
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_EINPUT);
	/* A keyed hash needs key material. */
	struct audit_opts o = fixed;
	o.hash = AUDIT_HASH_KEYED;
	r.nextra = 0;
	CHECK(audit_append(log, &r, &o, err, sizeof(err)) == AUDIT_ESTATE);
	free(slurp(log, &after));
	CHECK_INT(after, before);
	free(log);
}

TEST(batch_is_all_or_nothing_on_bad_input)
{
	char *log = tpath("batch.jsonl"), err[256];
	unlink(log);
	struct audit_log *l;
	CHECK(audit_open(log, &fixed, &l, err, sizeof(err)) == AUDIT_OK);
	struct audit_rec r[3] = {
		{ .module_id = "a", .status = "success" },
		{ .module_id = "b", .status = "success", .input = "{x}", .input_len = 3 },
		{ .module_id = "c", .status = "success" },
	};
	size_t bad = 99;
	CHECK(audit_write(l, r, 3, &bad, err, sizeof(err)) == AUDIT_EINPUT);
	CHECK_INT(bad, 1);
	r[1].input = NULL;
	CHECK(audit_write(l, r, 3, &bad, err, sizeof(err)) == AUDIT_OK);
	audit_close(l);
	struct lines ls;
	load_lines(log, &ls);
	CHECK_INT(ls.n, 3);
	CHECK(strstr(ls.l[2], "\"seq\": 3,") != NULL);
	free_lines(&ls);
	free(log);
}

/* ------------------------------------------------------- verification */

TEST(clean_log_verifies)
{
	char *log = tpath("clean.jsonl");
	char *vk = make_log(log);
	struct audit_verify v;
	CHECK(vk != NULL);
	CHECK_INT(verify(log, vk, &v), AUDIT_V_OK);
	CHECK_INT(v.lines, 10);
	CHECK_INT(v.records, 10);
	CHECK_INT(v.mac_ok, 10);
	CHECK_INT(v.epochs_sealed, 2);
	CHECK_INT(v.unsealed, 0);
	CHECK(v.state_checked);
	CHECK_INT(v.state_epoch, 2);
	/* Without the verification key only the current epoch's MACs can be
	 * checked, and there are none: everything else is reported. */
	CHECK_INT(verify(log, NULL, &v), AUDIT_V_UNAUTH);
	CHECK_INT(v.mac_unchecked, 10);
	/* One more record: verified, but after the last seal. */
	CHECK(append(log, "x", "success", 0, NULL) == 0);
	CHECK_INT(verify(log, vk, &v), AUDIT_V_UNSEALED);
	CHECK_INT(v.unsealed, 1);
	CHECK_INT(v.unsealed_first_line, 11);
	CHECK_INT(verify(log, NULL, &v), AUDIT_V_UNAUTH);
	CHECK_INT(v.mac_ok, 1);
	secure_free(vk);
	free(log);
}

TEST(forward_security_state_forgets_old_keys)
{
	char *log = tpath("fs.jsonl");
	char *vk = make_log(log);
	char *sp = audit_state_path(log);
	size_t n = 0;
	char *st = slurp(sp, &n);
	/* The seed (epoch 0 key) is in the verification key, not the state. */
	CHECK(st && strstr(st, vk + strlen("apcore-audit-vk1:") + 33) == NULL);
	CHECK(st && strstr(st, "epoch 2\n") != NULL);
	struct stat sb;
	CHECK(stat(sp, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	free(st);
	free(sp);
	secure_free(vk);
	free(log);
}

/* Apply one change to a copy of a clean log and expect failure. */
static void expect_bad(const char *log, const char *vk, const char *name,
                       void (*tamper)(struct lines *), const char *reason)
{
	char *t = clone_log(log, name);
	struct lines ls;
	load_lines(t, &ls);
	tamper(&ls);
	save_lines(t, &ls);
	free_lines(&ls);
	struct audit_verify v;
	int code = verify(t, vk, &v);
	if (!unit_check(code == AUDIT_V_BAD, name, __FILE__, __LINE__))
		printf("#   code %d, reason: %s\n", code, v.reason);
	if (reason && !unit_check(strstr(v.reason, reason) != NULL, name, __FILE__, __LINE__))
		printf("#   reason: %s\n#   want:   %s\n", v.reason, reason);
	free(t);
}

static void t_flip(struct lines *ls) { ls->l[3][60] ^= 0x01; }
static void t_flip_value(struct lines *ls) { strstr(ls->l[3], "math.add")[0] = 'n'; }
static void t_flip_mac(struct lines *ls) { char *p = strstr(ls->l[3], "\"mac\": \"") + 8; *p = *p == '0' ? '1' : '0'; }
static void t_delete(struct lines *ls) { free(ls->l[2]); memmove(&ls->l[2], &ls->l[3], (ls->n - 3) * sizeof(char *)); ls->n--; }
static void t_swap(struct lines *ls) { char *x = ls->l[2]; ls->l[2] = ls->l[3]; ls->l[3] = x; }
static void t_cut_seal(struct lines *ls) { free(ls->l[--ls->n]); }
static void t_cut_epoch(struct lines *ls) { while (ls->n > 6) free(ls->l[--ls->n]); }
static void t_cut_head(struct lines *ls) { free(ls->l[0]); memmove(&ls->l[0], &ls->l[1], (ls->n - 1) * sizeof(char *)); ls->n--; }
static void t_dup(struct lines *ls) { ls->l[ls->n] = xstrdup(ls->l[ls->n - 1]); ls->n++; }
static void t_garbage(struct lines *ls) { free(ls->l[4]); ls->l[4] = xstrdup("not json\n"); }
static void t_empty(struct lines *ls) { while (ls->n) free(ls->l[--ls->n]); }

TEST(tampering_is_detected)
{
	char *log = tpath("tamper.jsonl");
	char *vk = make_log(log);
	expect_bad(log, vk, "flip a byte", t_flip, NULL);
	expect_bad(log, vk, "change a value", t_flip_value, "MAC mismatch");
	expect_bad(log, vk, "flip a MAC digit", t_flip_mac, "MAC mismatch");
	expect_bad(log, vk, "delete a line", t_delete, "prev does not match");
	expect_bad(log, vk, "swap two lines", t_swap, "prev does not match");
	expect_bad(log, vk, "cut the final seal", t_cut_seal, "removed from its end");
	expect_bad(log, vk, "cut a whole epoch", t_cut_epoch, "removed from its end");
	expect_bad(log, vk, "cut the init record", t_cut_head, NULL);
	expect_bad(log, vk, "replay the last line", t_dup, "prev does not match");
	expect_bad(log, vk, "garbage line", t_garbage, "not valid JSON");
	expect_bad(log, vk, "empty the log", t_empty, "no authenticated record");
	/* Without the key, the state next to the log still catches the cuts. */
	expect_bad(log, NULL, "cut the final seal, no key", t_cut_seal, "removed from its end");
	expect_bad(log, NULL, "delete a line, no key", t_delete, "prev does not match");
	secure_free(vk);
	free(log);
}

TEST(forgery_without_the_key_fails)
{
	char *log = tpath("real.jsonl"), *fake = tpath("fake.jsonl"), *vk = make_log(log);
	char *fvk = make_log(fake);
	struct audit_verify v;
	/* A validly chained log of the attacker's own, copied over the real
	 * one (with and without its state): the real key rejects it. */
	char *t = clone_log(log, "replaced.jsonl");
	copy_file(fake, t);
	CHECK_INT(verify(t, vk, &v), AUDIT_V_BAD);
	CHECK(strstr(v.reason, "log_id") != NULL);
	CHECK_INT(verify(t, NULL, &v), AUDIT_V_BAD);
	char *s1 = audit_state_path(fake), *s2 = audit_state_path(t);
	copy_file(s1, s2);
	CHECK_INT(verify(t, vk, &v), AUDIT_V_BAD);
	CHECK(strstr(v.reason, "belongs to log") != NULL);
	/* A chain-only forgery (no MACs at all). */
	unlink(t);
	unlink(s2);
	for (int i = 0; i < 3; i++)
		append(t, "math.add", "success", 0, NULL);
	CHECK_INT(verify(t, vk, &v), AUDIT_V_BAD);
	CHECK(strstr(v.reason, "no authenticated record") != NULL);
	free(s1);
	free(s2);
	free(t);
	secure_free(fvk);
	secure_free(vk);
	free(fake);
	free(log);
}

/* Re-MAC a line with an epoch key (what a holder of that key can do). */
static void remac(char **line, const uint8_t key[SHA256_LEN])
{
	char *p = strstr(*line, ", \"mac\": \"");
	uint8_t mk[SHA256_LEN], mac[SHA256_LEN], d[SHA256_LEN];
	char hex[65];
	audit_key_mac(key, mk);
	crypto_sha256(*line, (size_t)(p - *line), d);
	crypto_hmac_sha256(mk, SHA256_LEN, d, SHA256_LEN, mac);
	hex_encode(mac, SHA256_LEN, hex);
	memcpy(p + strlen(", \"mac\": \""), hex, 64);
}

static void set_prev(char **line, const char *prevline)
{
	uint8_t h[SHA256_LEN];
	char hex[65];
	crypto_sha256(prevline, strlen(prevline), h);
	hex_encode(h, SHA256_LEN, hex);
	memcpy(strstr(*line, "\"prev\": \"") + 9, hex, 64);
}

TEST(epoch_rules)
{
	char *log = tpath("epoch.jsonl"), *vk = make_log(log);
	struct audit_verify v;
	uint8_t seed[SHA256_LEN], k1[SHA256_LEN];
	hex_decode(vk + strlen("apcore-audit-vk1:") + 33, seed, SHA256_LEN);
	memcpy(k1, seed, SHA256_LEN);
	audit_key_evolve(k1, 0);

	/* Lines: 0 init, 1-4 records (epoch 0), 5 seal 0, 6-8 epoch 1, 9 seal 1.
	 * A holder of key_1 drops the seal of epoch 0 and re-chains: epoch 1
	 * then starts without a seal of epoch 0. */
	char *t = clone_log(log, "noseal.jsonl");
	struct lines ls;
	load_lines(t, &ls);
	free(ls.l[--ls.n]);
	free(ls.l[5]);
	memmove(&ls.l[5], &ls.l[6], (ls.n - 6) * sizeof(char *));
	ls.n--;
	for (size_t i = 5; i < ls.n; i++) {
		strstr(ls.l[i], "\"seq\": ")[7]--;   /* renumber 7, 8, 9 to 6, 7, 8 */
		set_prev(&ls.l[i], ls.l[i - 1]);
		remac(&ls.l[i], k1);
	}
	save_lines(t, &ls);
	CHECK_INT(verify(t, vk, &v), AUDIT_V_BAD);
	if (!CHECK(strstr(v.reason, "without a seal") != NULL))
		printf("#   reason: %s\n", v.reason);
	free_lines(&ls);
	free(t);

	/* A record of epoch 0 rewritten by a holder of key_1: it claims epoch 0
	 * but only verifies under key_1, so it fails. */
	t = clone_log(log, "wrongkey.jsonl");
	load_lines(t, &ls);
	remac(&ls.l[3], k1);
	save_lines(t, &ls);
	CHECK_INT(verify(t, vk, &v), AUDIT_V_BAD);
	CHECK(strstr(v.reason, "MAC mismatch under the epoch 0 key") != NULL);
	CHECK_INT(v.bad_line, 4);
	CHECK_INT(v.good_lines, 3);
	free_lines(&ls);
	free(t);

	/* The same record claiming epoch 1 inside epoch 0 fails on structure. */
	t = clone_log(log, "epochjump.jsonl");
	load_lines(t, &ls);
	char *e = strstr(ls.l[3], "\"epoch\": 0");
	e[strlen("\"epoch\": ")] = '1';
	remac(&ls.l[3], k1);
	save_lines(t, &ls);
	CHECK_INT(verify(t, vk, &v), AUDIT_V_BAD);
	CHECK(strstr(v.reason, "without a seal of epoch 0") != NULL);
	free_lines(&ls);
	free(t);

	/* A seal whose count does not match its epoch. */
	t = clone_log(log, "sealcount.jsonl");
	load_lines(t, &ls);
	char *c = strstr(ls.l[5], "\"sealed_records\": 5");
	CHECK(c != NULL);
	if (c)
		c[strlen("\"sealed_records\": ")] = '4';
	remac(&ls.l[5], seed);
	for (size_t i = 6; i < ls.n; i++) {
		set_prev(&ls.l[i], ls.l[i - 1]);
		remac(&ls.l[i], k1);
	}
	save_lines(t, &ls);
	CHECK_INT(verify(t, vk, &v), AUDIT_V_BAD);
	CHECK(strstr(v.reason, "seal of epoch 0 covers 4") != NULL);
	free_lines(&ls);
	free(t);
	secure_free(vk);
	free(log);
}

TEST(state_rollback_and_missing_state)
{
	char *log = tpath("rb.jsonl"), *vk = make_log(log), err[256];
	char *sp = audit_state_path(log);
	size_t n = 0;
	struct audit_verify v;
	char *st = slurp(sp, &n);
	/* Remember epoch 2's state, seal twice more, put the old state back.
	 * (One seal back is what a crash between seal and key update leaves;
	 * writers finish that update, see state_lag_after_seal_is_recovered.) */
	uint64_t e;
	CHECK(audit_seal(log, &fixed, &e, err, sizeof(err)) == AUDIT_OK);
	CHECK(audit_seal(log, &fixed, &e, err, sizeof(err)) == AUDIT_OK);
	CHECK_INT(e, 3);
	spit(sp, st, n);
	CHECK_INT(verify(log, vk, &v), AUDIT_V_BAD);
	CHECK(strstr(v.reason, "older copy") != NULL);
	struct audit_rec r = { .module_id = "m", .status = "success" };
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_ESTATE);
	CHECK(strstr(err, "older copy") != NULL);
	/* A state with loose permissions is refused. */
	chmod(sp, 0644);
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_ESTATE);
	CHECK(strstr(err, "chmod 600") != NULL);
	/* No state at all: no unauthenticated records after keyed ones. */
	unlink(sp);
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_ESTATE);
	CHECK(strstr(err, "missing") != NULL);
	CHECK_INT(verify(log, vk, &v), AUDIT_V_OK);
	free(st);
	free(sp);
	secure_free(vk);
	free(log);
}

TEST(state_lag_after_seal_is_recovered)
{
	char *log = tpath("lag.jsonl"), *vk = make_log(log), err[256];
	char *sp = audit_state_path(log);
	size_t n = 0;
	char *st = slurp(sp, &n);
	uint64_t e;
	CHECK(audit_seal(log, &fixed, &e, err, sizeof(err)) == AUDIT_OK);
	/* As if the writer died between the seal record and the key update. */
	spit(sp, st, n);
	struct audit_verify v;
	CHECK_INT(verify(log, vk, &v), AUDIT_V_OK);
	CHECK(append(log, "m", "success", 0, NULL) == 0);
	CHECK_INT(verify(log, vk, &v), AUDIT_V_UNSEALED);
	CHECK_INT(v.state_epoch, 3);
	char *now = slurp(sp, &n);
	CHECK(strstr(now, "epoch 3\n") != NULL);
	free(now);
	free(st);
	free(sp);
	secure_free(vk);
	free(log);
}

TEST(torn_tail_detected_and_repaired)
{
	char *log = tpath("torn.jsonl"), *vk = make_log(log), err[256];
	struct audit_verify v;
	int fd = open(log, O_WRONLY | O_APPEND);
	CHECK(write_full(fd, "{\"timestamp\": \"2026-", 20) == 0);
	close(fd);
	CHECK_INT(verify(log, vk, &v), AUDIT_V_TORN);
	CHECK_INT(v.torn_bytes, 20);
	struct audit_rec r = { .module_id = "m", .status = "success" };
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_ETORN);
	CHECK(strstr(err, "verify --repair") != NULL);
	struct audit_verify_opts vo = { .vk = vk, .repair = 1 };
	CHECK(audit_verify(log, &vo, &v, err, sizeof(err)) == AUDIT_OK);
	CHECK(v.repaired);
	CHECK_INT(v.torn_bytes, 20);
	CHECK_INT(v.repairs, 1);
	CHECK_INT(v.code, AUDIT_V_UNSEALED);
	size_t n = 0;
	char *frag = slurp(v.repair_file, &n);
	CHECK(frag && n == 20 && !memcmp(frag, "{\"timestamp\": \"2026-", 20));
	free(frag);
	CHECK(audit_append(log, &r, &fixed, err, sizeof(err)) == AUDIT_OK);
	unlink(v.repair_file);
	secure_free(vk);
	free(log);
}

TEST(checkpoint_anchors_the_head)
{
	char *log = tpath("cp.jsonl"), *vk = make_log(log), err[256], *cp = NULL;
	char *cpf = tpath("cp.txt");
	struct audit_verify v;
	struct audit_verify_opts vo = { .vk = vk, .checkpoint = cpf };
	CHECK(audit_checkpoint(log, &fixed, &cp, err, sizeof(err)) == AUDIT_OK);
	spit(cpf, cp, strlen(cp));
	CHECK(append(log, "m", "success", 0, NULL) == 0);
	uint64_t e;
	CHECK(audit_seal(log, &fixed, &e, err, sizeof(err)) == AUDIT_OK);
	CHECK(audit_verify(log, &vo, &v, err, sizeof(err)) == AUDIT_OK);
	CHECK_INT(v.code, AUDIT_V_OK);
	CHECK(v.checkpoint_checked && v.checkpoint_mac);
	CHECK_INT(v.checkpoint_seq, 10);

	/* The log rewritten from the checkpoint's head on: the key holder of
	 * today cannot make it match the checkpoint made earlier. */
	char *t = clone_log(log, "cp2.jsonl");
	struct lines ls;
	load_lines(t, &ls);
	while (ls.n > 9)
		free(ls.l[--ls.n]);
	save_lines(t, &ls);
	free_lines(&ls);
	vo.vk = NULL;
	CHECK(audit_verify(t, &vo, &v, err, sizeof(err)) == AUDIT_OK);
	CHECK_INT(v.code, AUDIT_V_BAD);
	CHECK(strstr(v.reason, "checkpoint") != NULL || strstr(v.reason, "removed") != NULL);

	/* A checkpoint with a changed head fails its MAC. */
	char *h = strstr(cp, "head ") + 5;
	*h = *h == '0' ? '1' : '0';
	spit(cpf, cp, strlen(cp));
	vo.vk = vk;
	CHECK(audit_verify(log, &vo, &v, err, sizeof(err)) == AUDIT_EINPUT);
	CHECK(strstr(err, "MAC mismatch") != NULL);
	free(t);
	free(cp);
	free(cpf);
	secure_free(vk);
	free(log);
}

TEST(rotation_chains_files)
{
	char *log = tpath("rot.jsonl"), *vk = make_log(log), err[256], *moved = NULL;
	struct audit_verify v;
	CHECK(append(log, "m", "success", 0, NULL) == 0);
	CHECK(audit_rotate(log, &fixed, &moved, err, sizeof(err)) == AUDIT_OK);
	CHECK(moved != NULL);
	CHECK_INT(verify(moved, vk, &v), AUDIT_V_OK);
	CHECK_INT(v.records, 12);
	CHECK_INT(verify(log, vk, &v), AUDIT_V_UNSEALED);
	CHECK(v.predecessor_checked);
	CHECK_INT(v.first_seq, 13);
	CHECK(append(log, "m", "success", 0, NULL) == 0);
	uint64_t e;
	CHECK(audit_seal(log, &fixed, &e, err, sizeof(err)) == AUDIT_OK);
	CHECK_INT(verify(log, vk, &v), AUDIT_V_OK);
	/* The old file grows after rotation: detected from the new one. */
	int fd = open(moved, O_WRONLY | O_APPEND);
	CHECK(write_full(fd, "{}\n", 3) == 0);
	close(fd);
	CHECK_INT(verify(log, vk, &v), AUDIT_V_BAD);
	CHECK(strstr(v.reason, "predecessor") != NULL);
	free(moved);
	secure_free(vk);
	free(log);
}

TEST(concurrent_writers_chain)
{
	char *log = tpath("conc.jsonl"), err[256], *vk = NULL;
	unlink(log);
	CHECK(audit_init(log, &fixed, &vk, NULL, 0, err, sizeof(err)) == AUDIT_OK);
	pid_t kids[4];
	for (int k = 0; k < 4; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			int bad = 0;
			for (int i = 0; i < 200; i++)
				bad |= append(log, "conc", "success", i, NULL) != 0;
			if (k == 0) {
				uint64_t e;
				bad |= audit_seal(log, &fixed, &e, err, sizeof(err)) != 0;
			}
			_exit(bad);
		}
	}
	int ok = 1;
	for (int k = 0; k < 4; k++) {
		int st;
		waitpid(kids[k], &st, 0);
		ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	CHECK(ok);
	uint64_t e;
	CHECK(audit_seal(log, &fixed, &e, err, sizeof(err)) == AUDIT_OK);
	struct audit_verify v;
	CHECK_INT(verify(log, vk, &v), AUDIT_V_OK);
	CHECK_INT(v.records, 1 + 800 + 2);
	CHECK_INT(v.epochs_sealed, 2);
	secure_free(vk);
	free(log);
}

TEST(verification_key_must_be_well_formed)
{
	char *log = tpath("vkf.jsonl"), *vk = make_log(log), err[256];
	struct audit_verify v;
	struct audit_verify_opts vo = { .vk = "apcore-audit-vk1:nothex" };
	CHECK(audit_verify(log, &vo, &v, err, sizeof(err)) == AUDIT_EINPUT);
	/* The right format, another log's key. */
	char *other = vk_string();
	vo.vk = other;
	CHECK(audit_verify(log, &vo, &v, err, sizeof(err)) == AUDIT_OK);
	CHECK_INT(v.code, AUDIT_V_BAD);
	free(other);
	secure_free(vk);
	free(log);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/apcore-auditlog.XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(hash_vectors_reproduced);
	RUN(canonical_input_rejects);
	RUN(reference_sample_is_read_not_trusted);
	RUN(key_schedule_known_answers);
	RUN(genesis_known_answers);
	RUN(keyed_input_hash_known_answer);
	RUN(record_layout);
	RUN(writer_rejects_bad_records);
	RUN(batch_is_all_or_nothing_on_bad_input);
	RUN(clean_log_verifies);
	RUN(forward_security_state_forgets_old_keys);
	RUN(tampering_is_detected);
	RUN(forgery_without_the_key_fails);
	RUN(epoch_rules);
	RUN(state_rollback_and_missing_state);
	RUN(state_lag_after_seal_is_recovered);
	RUN(torn_tail_detected_and_repaired);
	RUN(checkpoint_anchors_the_head);
	RUN(rotation_chains_files);
	RUN(concurrent_writers_chain);
	RUN(verification_key_must_be_well_formed);
	int rc = unit_done();
	/* Remove the scratch directory. */
	pid_t p = fork();
	if (p == 0) {
		execlp("rm", "rm", "-rf", tmpdir, (char *)NULL);
		_exit(127);
	}
	if (p > 0)
		waitpid(p, NULL, 0);
	return rc;
}

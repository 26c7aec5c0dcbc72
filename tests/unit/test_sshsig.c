/* test_sshsig.c - sshsig.c: signatures and keys made by ssh-keygen (OpenSSH
 * 9.2) parsed and checked, our own round trips, allowed-signers decisions,
 * time and pattern parsing, and a must-fail case for each check. */

#include "unit.h"

#include <fcntl.h>
#include <unistd.h>

/* ssh-keygen -t ecdsa -b 256 -N '' -C test@example.com */
static const char key_openssh[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAaAAAABNlY2RzYS\n"
	"1zaGEyLW5pc3RwMjU2AAAACG5pc3RwMjU2AAAAQQTn3JkakTdzDQtOxLtxGlPnEyhxk+pC\n"
	"a4lrgVk3TOX+JLYyusJaWXz3SkZYg+D5sg/2ZfGUpbIG3COpxSYTBwXOAAAAqBd1SCEXdU\n"
	"ghAAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOfcmRqRN3MNC07E\n"
	"u3EaU+cTKHGT6kJriWuBWTdM5f4ktjK6wlpZfPdKRliD4PmyD/Zl8ZSlsgbcI6nFJhMHBc\n"
	"4AAAAgDIwGgGF4bQMx4kBc9ks+lh7TtzmwlY2761opzJv1CmQAAAAQdGVzdEBleGFtcGxl\n"
	"LmNvbQ==\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
static const char key_pub[] =
	"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOfcmRqRN3MNC07Eu3Ea"
	"U+cTKHGT6kJriWuBWTdM5f4ktjK6wlpZfPdKRliD4PmyD/Zl8ZSlsgbcI6nFJhMHBc4=";
/* the same with -N pw */
static const char key_encrypted[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABB2QAgW5l\n"
	"/74f8dnHe+Tq1qAAAAEAAAAAEAAABoAAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlz\n"
	"dHAyNTYAAABBBJP2xH2g5YYLRInnaf+RztHOgAGScGPEmNav9NZqoOx7J6kwqBWUTqPQ6Y\n"
	"FanKRR/1U23r1n7NX6N5IxwnOvnsgAAACgBzDAI/UP+lKwF5XzDVdshHhUfWHukBhJvcUv\n"
	"VAABwwpoQF1zFI+cok6lg3Vzc+qY5m9RKE9ZcjtZseD5/vcUUFCKbgJFMlsAUsL0EQq4Pv\n"
	"YnnAnQS6ybVlj+5AOoD77iwWVNQBB2UDBhXxokO89I4ewYBF4gtughJCe3hYz5/9yPdkgA\n"
	"vbhwoi68KyayKDItDsDnF+R5yVSAB4hSxHyaEw==\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
/* ssh-keygen -t ed25519 -N '' */
static const char key_ed25519[] =
	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
	"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
	"QyNTUxOQAAACCTMLd5eWt6yhVzsjaY7UjNARytoqaxs/Rve/MVMhId4QAAAJDFzbUPxc21\n"
	"DwAAAAtzc2gtZWQyNTUxOQAAACCTMLd5eWt6yhVzsjaY7UjNARytoqaxs/Rve/MVMhId4Q\n"
	"AAAECtXfmgwMihEMwOt/ZlgbNoZPZtXEziv6krExI04VvngZMwt3l5a3rKFXOyNpjtSM0B\n"
	"HK2iprGz9G978xUyEh3hAAAAB3Jvb3RAdm0BAgMEBQY=\n"
	"-----END OPENSSH PRIVATE KEY-----\n";
/* printf 'hello\n' | ssh-keygen -Y sign -f KEY -n file [-O hashalg=sha256] */
static const char msg[] = "hello\n";
static const char sig512[] =
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAAGgAAAATZWNkc2Etc2hhMi1uaXN0cDI1NgAAAAhuaXN0cDI1NgAAAE\n"
	"EE59yZGpE3cw0LTsS7cRpT5xMocZPqQmuJa4FZN0zl/iS2MrrCWll890pGWIPg+bIP9mXx\n"
	"lKWyBtwjqcUmEwcFzgAAAARmaWxlAAAAAAAAAAZzaGE1MTIAAABkAAAAE2VjZHNhLXNoYT\n"
	"ItbmlzdHAyNTYAAABJAAAAIGgWbBN09+Qk/LTXfmjoodL8CBMiqu5K9rWQFOX3bkLbAAAA\n"
	"IQCuIjW6liJ5ZqDkQmvNdS7yKkXuzcISkO7p2Vi3TvM9HA==\n"
	"-----END SSH SIGNATURE-----\n";
static const char sig256[] =
	"-----BEGIN SSH SIGNATURE-----\n"
	"U1NIU0lHAAAAAQAAAGgAAAATZWNkc2Etc2hhMi1uaXN0cDI1NgAAAAhuaXN0cDI1NgAAAE\n"
	"EE59yZGpE3cw0LTsS7cRpT5xMocZPqQmuJa4FZN0zl/iS2MrrCWll890pGWIPg+bIP9mXx\n"
	"lKWyBtwjqcUmEwcFzgAAAARmaWxlAAAAAAAAAAZzaGEyNTYAAABkAAAAE2VjZHNhLXNoYT\n"
	"ItbmlzdHAyNTYAAABJAAAAIQD+GGNh+tF1gJJCb1XC4sjupFle1fXzM9c6o1u2A2MJcwAA\n"
	"ACBThXI8A1upp69/0Ynq6Me+pL6oOJlpsV+EWVhSRfYLqA==\n"
	"-----END SSH SIGNATURE-----\n";

/* Decode an armored signature's blob, let f edit it, re-armor. */
static char *rearmor(const char *armored, void (*f)(uint8_t **b, size_t *n))
{
	const char *b = strchr(armored, '\n') + 1, *e = strstr(armored, "-----END");
	char body[2048];
	size_t n = 0;
	for (const char *p = b; p < e; p++)
		if (*p != '\n')
			body[n++] = *p;
	uint8_t *blob;
	size_t bl;
	CHECK(crypto_b64_decode(body, n, &blob, &bl) == 0);
	f(&blob, &bl);
	char *b64 = crypto_b64_encode(blob, bl);
	char *out = xasprintf("-----BEGIN SSH SIGNATURE-----\n%s\n-----END SSH SIGNATURE-----\n", b64);
	free(b64);
	free(blob);
	return out;
}

static enum sshsig_status parse(const char *s, struct sshsig **out, char *why)
{
	return sshsig_parse(s, strlen(s), out, why, 256);
}

TEST(parse_ssh_keygen_signatures)
{
	struct sshsig *s;
	char why[256];
	uint8_t d[SHA512_LEN];
	CHECK_INT(parse(sig512, &s, why), SSHSIG_OK);
	CHECK_STR(sshsig_namespace(s), "file");
	CHECK_INT(sshsig_hash_alg(s), SSHSIG_SHA512);
	crypto_sha512(msg, strlen(msg), d);
	CHECK_INT(sshsig_check_digest(s, d, SHA512_LEN, why, sizeof(why)), SSHSIG_OK);
	crypto_sha512("hellO\n", 6, d);
	CHECK_INT(sshsig_check_digest(s, d, SHA512_LEN, why, sizeof(why)), SSHSIG_BAD);
	char *line = sshsig_pubkey_line(sshsig_key(s));
	CHECK_STR(line, key_pub);
	free(line);
	sshsig_free(s);

	CHECK_INT(parse(sig256, &s, why), SSHSIG_OK);
	CHECK_INT(sshsig_hash_alg(s), SSHSIG_SHA256);
	crypto_sha256(msg, strlen(msg), d);
	CHECK_INT(sshsig_check_digest(s, d, SHA256_LEN, why, sizeof(why)), SSHSIG_OK);
	sshsig_free(s);
}

static void set_version2(uint8_t **b, size_t *n) { (void)n; (*b)[9] = 2; }
static void add_trailing(uint8_t **b, size_t *n)
{
	*b = xrealloc(*b, *n + 4);
	memset(*b + *n, 0, 4);
	*n += 4;
}
static void truncate_blob(uint8_t **b, size_t *n) { (void)b; *n -= 10; }
static void bad_magic(uint8_t **b, size_t *n) { (void)n; (*b)[0] = 'X'; }
/* "sha512" -> "sha513" at its place in the blob */
static void bad_hash(uint8_t **b, size_t *n)
{
	uint8_t *p = memmem(*b, *n, "sha512", 6);
	if (p)
		p[5] = '3';
}
/* s's mpint "00 ae..." becomes non-minimal by making its high byte 0x00 0x2e */
static void bad_mpint(uint8_t **b, size_t *n)
{
	uint8_t *p = memmem(*b, *n, "\x00\x00\x00\x21\x00\xae", 6);
	if (p)
		p[5] = 0x2e;
}
static void flip_r(uint8_t **b, size_t *n)
{
	uint8_t *p = memmem(*b, *n, "\x00\x00\x00\x20\x68\x16", 6);
	if (p)
		p[10] ^= 0x01;
}

TEST(parse_refusals)
{
	struct sshsig *s;
	char why[256];
	static const struct {
		void (*f)(uint8_t **, size_t *);
		enum sshsig_status want;
	} cases[] = {
		{ set_version2, SSHSIG_UNSUPPORTED }, { add_trailing, SSHSIG_MALFORMED },
		{ truncate_blob, SSHSIG_MALFORMED }, { bad_magic, SSHSIG_MALFORMED },
		{ bad_hash, SSHSIG_UNSUPPORTED }, { bad_mpint, SSHSIG_MALFORMED },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *a = rearmor(sig512, cases[i].f);
		enum sshsig_status st = parse(a, &s, why);
		if (!CHECK(st == cases[i].want))
			printf("#   case %zu: got %d (%s)\n", i, st, why);
		if (st == SSHSIG_OK)
			sshsig_free(s);
		free(a);
	}
	/* a flipped bit in r parses but no longer verifies */
	char *a = rearmor(sig512, flip_r);
	uint8_t d[SHA512_LEN];
	crypto_sha512(msg, strlen(msg), d);
	CHECK_INT(parse(a, &s, why), SSHSIG_OK);
	if (s) {
		CHECK_INT(sshsig_check_digest(s, d, SHA512_LEN, why, sizeof(why)), SSHSIG_BAD);
		sshsig_free(s);
	}
	free(a);
	/* armor */
	CHECK_INT(parse("", &s, why), SSHSIG_MALFORMED);
	CHECK_INT(parse(sig512 + 1, &s, why), SSHSIG_MALFORMED);
	char *junk = xasprintf("%sjunk\n", sig512);
	CHECK_INT(parse(junk, &s, why), SSHSIG_MALFORMED);
	free(junk);
	char *nofooter = xstrndup(sig512, strlen(sig512) - 30);
	CHECK_INT(parse(nofooter, &s, why), SSHSIG_MALFORMED);
	free(nofooter);
	char *crlf = xstrdup(sig512);   /* whitespace after the footer is fine */
	crlf = xrealloc(crlf, strlen(crlf) + 3);
	strcat(crlf, "\r\n");
	CHECK_INT(parse(crlf, &s, why), SSHSIG_OK);
	sshsig_free(s);
	free(crlf);
}

TEST(openssh_private_keys)
{
	struct crypto_pk *k;
	char why[256];
	CHECK(sshsig_key_parse_private(key_openssh, strlen(key_openssh), &k, why, sizeof(why)) == 0);
	char *line = sshsig_pubkey_line(k);
	CHECK_STR(line, key_pub);
	char fp[SSHSIG_FP_LEN];
	sshsig_fingerprint(k, fp);
	CHECK(!strncmp(fp, "SHA256:", 7) && strlen(fp) == 50);
	/* the key signs what the ssh-keygen signature's key verifies */
	char *sig = sshsig_sign_buf(k, msg, strlen(msg), "file", SSHSIG_SHA512, why, sizeof(why));
	struct sshsig *s;
	CHECK_INT(parse(sig, &s, why), SSHSIG_OK);
	uint8_t d[SHA512_LEN];
	crypto_sha512(msg, strlen(msg), d);
	CHECK_INT(sshsig_check_digest(s, d, SHA512_LEN, why, sizeof(why)), SSHSIG_OK);
	sshsig_free(s);
	free(sig);
	free(line);
	crypto_pk_free(k);

	CHECK(sshsig_key_parse_private(key_encrypted, strlen(key_encrypted), &k, why, sizeof(why)) != 0);
	CHECK(strstr(why, "passphrase") != NULL);
	CHECK(sshsig_key_parse_private(key_ed25519, strlen(key_ed25519), &k, why, sizeof(why)) != 0);
	CHECK_STR(why, "key type ssh-ed25519 is not supported (only ecdsa-sha2-nistp256)");
	/* one base64 character changed inside the private scalar */
	char *bad = xstrdup(key_openssh);
	char *p = strstr(bad, "DIwGgGF4");
	p[2] = p[2] == 'w' ? 'x' : 'w';
	CHECK(sshsig_key_parse_private(bad, strlen(bad), &k, why, sizeof(why)) != 0);
	free(bad);

	struct crypto_pk *pub;
	CHECK(sshsig_key_parse_public(key_pub, strlen(key_pub), &pub, why, sizeof(why)) == 0);
	crypto_pk_free(pub);
	CHECK(sshsig_key_parse_public("ssh-ed25519 AAAA", 16, &pub, why, sizeof(why)) != 0);
}

TEST(sign_verify_round_trip)
{
	struct crypto_pk *k = crypto_pk_generate(), *other = crypto_pk_generate();
	char why[256], path[] = "/tmp/apcore-sshsig-XXXXXX";
	int fd = mkstemp(path);
	char *line = sshsig_pubkey_line(k);
	dprintf(fd, "# test\nops@example.com namespaces=\"deploy\" %s\n", line);
	close(fd);
	char fp[SSHSIG_FP_LEN];
	for (int h = 0; h < 2; h++) {
		char *sig = sshsig_sign_buf(k, "payload", 7, "deploy", h ? SSHSIG_SHA256 : SSHSIG_SHA512,
		                            why, sizeof(why));
		CHECK(sig != NULL);
		CHECK_INT(sshsig_verify_buf("payload", 7, sig, strlen(sig), path, "ops@example.com",
		                            "deploy", 0, fp, why, sizeof(why)), SSHSIG_OK);
		/* must fail: message, namespace, identity */
		CHECK_INT(sshsig_verify_buf("payloae", 7, sig, strlen(sig), path, "ops@example.com",
		                            "deploy", 0, fp, why, sizeof(why)), SSHSIG_BAD);
		CHECK_INT(sshsig_verify_buf("payload", 7, sig, strlen(sig), path, "ops@example.com",
		                            "file", 0, fp, why, sizeof(why)), SSHSIG_NAMESPACE);
		CHECK_INT(sshsig_verify_buf("payload", 7, sig, strlen(sig), path, "dev@example.com",
		                            "deploy", 0, fp, why, sizeof(why)), SSHSIG_NOT_ALLOWED);
		free(sig);
	}
	/* a key not listed */
	char *sig = sshsig_sign_buf(other, "payload", 7, "deploy", SSHSIG_SHA512, why, sizeof(why));
	CHECK_INT(sshsig_verify_buf("payload", 7, sig, strlen(sig), path, "ops@example.com", "deploy",
	                            0, fp, why, sizeof(why)), SSHSIG_NOT_ALLOWED);
	/* the fd form, and a missing allowed-signers file */
	int mfd = open(path, O_RDONLY);
	char *sig2 = sshsig_sign_fd(k, mfd, "deploy", SSHSIG_SHA512, why, sizeof(why));
	close(mfd);
	mfd = open(path, O_RDONLY);
	CHECK_INT(sshsig_verify_fd(mfd, sig2, strlen(sig2), path, "ops@example.com", "deploy", 0, fp,
	                           why, sizeof(why)), SSHSIG_OK);
	close(mfd);
	CHECK_INT(sshsig_verify_buf("payload", 7, sig2, strlen(sig2), "/nonexistent/x",
	                            "ops@example.com", "deploy", 0, fp, why, sizeof(why)), SSHSIG_BAD);
	char *sig3 = sshsig_sign_buf(k, "p", 1, "deploy", SSHSIG_SHA512, why, sizeof(why));
	CHECK_INT(sshsig_verify_buf("p", 1, sig3, strlen(sig3), "/nonexistent/x", "ops@example.com",
	                            "deploy", 0, fp, why, sizeof(why)), SSHSIG_ERROR);
	CHECK(sshsig_sign_buf(k, "p", 1, "", SSHSIG_SHA512, why, sizeof(why)) == NULL);
	unlink(path);
	free(sig);
	free(sig2);
	free(sig3);
	free(line);
	crypto_pk_free(k);
	crypto_pk_free(other);
}

static enum sshsig_status allowed(const char *text, const struct crypto_pk *k, const char *id,
                                  const char *ns, int64_t now)
{
	char why[300];
	return sshsig_allowed(text, strlen(text), "t", k, id, ns, now, why, sizeof(why));
}

TEST(allowed_signers)
{
	struct crypto_pk *k;
	char why[256], *t;
	CHECK(sshsig_key_parse_public(key_pub, strlen(key_pub), &k, why, sizeof(why)) == 0);
	int64_t jan1 = 1704067200;   /* 2024-01-01T00:00:00Z */
#define A(fmt, id, ns, now, want) do { t = xasprintf(fmt, key_pub); \
		if (!CHECK(allowed(t, k, id, ns, now) == (want))) printf("#   line: %s\n", t); \
		free(t); } while (0)
	A("a %s", "a", "file", jan1, SSHSIG_OK);
	A("a %s\n", "b", "file", jan1, SSHSIG_NOT_ALLOWED);
	A("x,y,a %s", "a", "file", jan1, SSHSIG_OK);
	A("*@example.com %s", "a@example.com", "file", jan1, SSHSIG_OK);
	A("*@example.com %s", "a@example.org", "file", jan1, SSHSIG_NOT_ALLOWED);
	A("!a,* %s", "a", "file", jan1, SSHSIG_NOT_ALLOWED);
	A("!b,* %s", "a", "file", jan1, SSHSIG_OK);
	A("\"a\" %s comment with spaces", "a", "file", jan1, SSHSIG_OK);
	A("a namespaces=\"file,git\" %s", "a", "git", jan1, SSHSIG_OK);
	A("a namespaces=\"file\" %s", "a", "git", jan1, SSHSIG_NOT_ALLOWED);
	A("a valid-after=\"20240101Z\" %s", "a", "file", jan1, SSHSIG_OK);
	A("a valid-after=\"20240101000001Z\" %s", "a", "file", jan1, SSHSIG_NOT_ALLOWED);
	A("a valid-before=\"20240101Z\" %s", "a", "file", jan1, SSHSIG_OK);      /* == is still valid */
	A("a valid-before=\"20240101Z\" %s", "a", "file", jan1 + 1, SSHSIG_NOT_ALLOWED);
	A("a valid-after=\"20240102Z\",valid-before=\"20240101Z\" %s", "a", "file", jan1, SSHSIG_NOT_ALLOWED);
	A("a cert-authority %s", "a", "file", jan1, SSHSIG_NOT_ALLOWED);
	A("a unknown=\"x\" %s", "a", "file", jan1, SSHSIG_NOT_ALLOWED);
	A("a namespaces=\"file %s", "a", "file", jan1, SSHSIG_NOT_ALLOWED);
	A("# a %s", "a", "file", jan1, SSHSIG_NOT_ALLOWED);
	A("  \n\na %s\r\n", "a", "file", jan1, SSHSIG_OK);
	A("a ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJMwt3l5a3rKFXOyNpjtSM0BHK2iprGz9G978xUyEh3h\na %s", "a",
	  "file", jan1, SSHSIG_OK);
#undef A
	/* the reason names the excluding line */
	t = xasprintf("a namespaces=\"git\" %s\n", key_pub);
	CHECK_INT(sshsig_allowed(t, strlen(t), "signers", k, "a", "file", jan1, why, sizeof(why)),
	          SSHSIG_NOT_ALLOWED);
	CHECK_STR(why, "signers:1: key not allowed for namespace 'file'");
	free(t);
	crypto_pk_free(k);
}

TEST(times_and_patterns)
{
	int64_t t;
	CHECK(sshsig_parse_time("20240102Z", &t) == 0 && t == 1704153600);
	CHECK(sshsig_parse_time("202401020304Z", &t) == 0 && t == 1704153600 + 3 * 3600 + 4 * 60);
	CHECK(sshsig_parse_time("20240102030405UTC", &t) == 0 && t == 1704153600 + 3 * 3600 + 4 * 60 + 5);
	CHECK(sshsig_parse_time("2024", &t) != 0);
	CHECK(sshsig_parse_time("2024010a", &t) != 0);
	CHECK(sshsig_parse_time("20241301Z", &t) != 0);
	CHECK(sshsig_parse_time("202401021Z", &t) != 0);
	CHECK(sshsig_parse_time("Z", &t) != 0);
	CHECK(sshsig_parse_time("19700101Z", &t) != 0);   /* 0 is not a time here */

	CHECK_INT(sshsig_match_list("alice", "alice"), 1);
	CHECK_INT(sshsig_match_list("alice", "bob,alice"), 1);
	CHECK_INT(sshsig_match_list("alice", "a*"), 1);
	CHECK_INT(sshsig_match_list("alice", "a?ice"), 1);
	CHECK_INT(sshsig_match_list("alice", "a?ce"), 0);
	CHECK_INT(sshsig_match_list("alice", "*e*"), 1);
	CHECK_INT(sshsig_match_list("alice", "!alice,*"), -1);
	CHECK_INT(sshsig_match_list("alice", "*,!alice"), -1);
	CHECK_INT(sshsig_match_list("alice", "Alice"), 0);
	CHECK_INT(sshsig_match_list("alice", ""), 0);
	CHECK_INT(sshsig_match_list("", "*"), 1);
	CHECK_INT(sshsig_match_list("a.b@c", "*@c"), 1);
}

int main(void)
{
	RUN(parse_ssh_keygen_signatures);
	RUN(parse_refusals);
	RUN(openssh_private_keys);
	RUN(sign_verify_round_trip);
	RUN(allowed_signers);
	RUN(times_and_patterns);
	return unit_done();
}

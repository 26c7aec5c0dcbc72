/* test_ident.c - ident.c: hostname, the two username chains, RFC 3339 time.
 *
 * Expected timestamps were computed with GNU date, e.g.
 *   date -u -d @1795460406.281 +%Y-%m-%dT%H:%M:%S.%3NZ
 */

#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Set or unset (val == NULL) an environment variable. */
static void env(const char *name, const char *val)
{
	if (val)
		setenv(name, val, 1);
	else
		unsetenv(name);
}

/* ------------------------------------------------------------ hostname */

TEST(hostname_matches_uname)
{
	struct utsname u;
	char buf[256];
	CHECK(uname(&u) == 0);
	CHECK_STR(ident_hostname(buf, sizeof(buf)), u.nodename);
	CHECK(ident_hostname(buf, sizeof(buf)) == buf);
}

TEST(hostname_truncated_is_terminated)
{
	struct utsname u;
	char buf[256], want[256];
	CHECK(uname(&u) == 0);
	size_t n = strlen(u.nodename);
	CHECK(n > 0);
	/* One byte short of name + NUL: all but the last character fit. */
	memset(buf, 'X', sizeof(buf));
	ident_hostname(buf, n);
	snprintf(want, sizeof(want), "%.*s", (int)(n - 1), u.nodename);
	CHECK_STR(buf, want);
	memset(buf, 'X', sizeof(buf));
	ident_hostname(buf, 1);
	CHECK_STR(buf, "");
	CHECK_STR(ident_hostname(buf, 0), "");
}

/* ------------------------------------------------------- KDF user chain */

TEST(kdf_user_chain)
{
	env("USER", "alice");
	env("USERNAME", "bob");
	CHECK_STR(ident_kdf_user(), "alice");

	/* Set but empty still wins (os.getenv("USER", ...) semantics). */
	env("USER", "");
	CHECK_STR(ident_kdf_user(), "");

	env("USER", NULL);
	CHECK_STR(ident_kdf_user(), "bob");
	env("USERNAME", "");
	CHECK_STR(ident_kdf_user(), "");

	env("USERNAME", NULL);
	env("LOGNAME", "carol");  /* never consulted */
	CHECK_STR(ident_kdf_user(), "unknown");
	env("LOGNAME", NULL);
}

/* ----------------------------------------------------- audit user chain */

TEST(audit_user_login_or_passwd)
{
	char buf[256], want[256];
	const char *login = getlogin();
	if (login && *login) {
		snprintf(want, sizeof(want), "%s", login);
	} else {
		struct passwd *pw = getpwuid(getuid());
		snprintf(want, sizeof(want), "%s", pw && pw->pw_name[0] ? pw->pw_name : "?");
	}
	/* The environment comes after both, so it must not matter here. */
	env("USER", "envuser");
	env("USERNAME", "envusername");
	CHECK_STR(ident_audit_user(buf, sizeof(buf)), want);
	CHECK(ident_audit_user(buf, sizeof(buf)) == buf);

	char small[3];
	ident_audit_user(small, sizeof(small));
	CHECK(strlen(small) <= 2);
	CHECK(strncmp(small, want, strlen(small)) == 0);
	CHECK_STR(ident_audit_user(buf, 0), "");
	env("USER", NULL);
	env("USERNAME", NULL);
}

/* In a child with no login name (stdin not a tty, loginuid unset) and a
 * uid without a passwd entry, the chain falls through to the environment.
 * Needs root for setuid(); prints the results, one per line.  (No NSS
 * lookup here of a uid that has no entry: a static glibc crashes in
 * libnss_systemd on that.) */
static void audit_env_child(int fd)
{
	static const char *cases[][2] = {
		{ "alice", "bob" }, { "", "bob" }, { NULL, "bob" },
		{ "", "" }, { NULL, NULL }, { "alice", NULL },
	};
	char buf[64], line[128];
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull < 0 || dup2(devnull, 0) < 0)
		_exit(3);
	if (setgid(54321) != 0 || setuid(54321) != 0)
		_exit(2);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		env("USER", cases[i][0]);
		env("USERNAME", cases[i][1]);
		int n = snprintf(line, sizeof(line), "%s\n", ident_audit_user(buf, sizeof(buf)));
		if (write(fd, line, (size_t)n) != n)
			_exit(5);
	}
	_exit(0);
}

TEST(audit_user_env_fallbacks)
{
	if (geteuid() != 0) {
		printf("# skipped: needs root to drop to a uid without a passwd entry\n");
		return;
	}
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;
	int taken = 0;
	while (f && (pw = fgetpwent(f)))
		taken |= pw->pw_uid == 54321;
	if (f)
		fclose(f);
	if (taken) {
		printf("# skipped: uid 54321 has a passwd entry\n");
		return;
	}
	int p[2];
	char out[512];
	CHECK(pipe(p) == 0);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		audit_env_child(p[1]);
	}
	close(p[1]);
	ssize_t n = read_full(p[0], out, sizeof(out) - 1);
	out[n < 0 ? 0 : n] = 0;
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	if (!CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		printf("#   child status %#x\n", st);
	/* USER, then USERNAME, empty values skipped, then "unknown". */
	CHECK_STR(out, "alice\nbob\nbob\nunknown\nunknown\nalice\n");
}

/* ----------------------------------------------------------- formatting */

static const char *fmt(int64_t ms)
{
	static char buf[RFC3339_MS_LEN];
	memset(buf, 'X', sizeof(buf));
	time_rfc3339_ms(ms, buf);
	return buf;
}

TEST(format_known)
{
	CHECK_STR(fmt(0), "1970-01-01T00:00:00.000Z");
	CHECK_STR(fmt(1795460406281LL), "2026-11-23T19:00:06.281Z");
	CHECK_STR(fmt(951782400000LL), "2000-02-29T00:00:00.000Z");
	CHECK_STR(fmt(1483228799999LL), "2016-12-31T23:59:59.999Z");
	CHECK(strlen(fmt(1795460406281LL)) == RFC3339_MS_LEN - 1);
}

TEST(format_truncates_ms)
{
	/* Milliseconds are the input's own unit: .999 stays .999, never
	 * rounds into the next second. */
	CHECK_STR(fmt(1795460406999LL), "2026-11-23T19:00:06.999Z");
	CHECK_STR(fmt(999), "1970-01-01T00:00:00.999Z");
}

TEST(format_negative_and_clamped)
{
	CHECK_STR(fmt(-1), "1969-12-31T23:59:59.999Z");
	CHECK_STR(fmt(-1000), "1969-12-31T23:59:59.000Z");
	CHECK_STR(fmt(-62167219200000LL), "0000-01-01T00:00:00.000Z");
	CHECK_STR(fmt(-62167219200001LL), "0000-01-01T00:00:00.000Z");
	CHECK_STR(fmt(INT64_MIN), "0000-01-01T00:00:00.000Z");
	CHECK_STR(fmt(253402300799999LL), "9999-12-31T23:59:59.999Z");
	CHECK_STR(fmt(253402300800000LL), "9999-12-31T23:59:59.999Z");
	CHECK_STR(fmt(INT64_MAX), "9999-12-31T23:59:59.999Z");
}

TEST(clocks)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = time_now_ms(), ref = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	CHECK(now >= ref && now - ref < 5000);
	int64_t m1 = time_mono_ms();
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	nanosleep(&nap, NULL);
	int64_t m2 = time_mono_ms();
	CHECK(m2 - m1 >= 19 && m2 - m1 < 5000);
}

/* -------------------------------------------------------------- parsing */

static int64_t parse(const char *s)
{
	int64_t ms = -424242;
	if (time_parse_rfc3339(s, &ms) != 0)
		return -424242;
	return ms;
}

TEST(parse_known)
{
	CHECK_INT(parse("1970-01-01T00:00:00Z"), 0);
	CHECK_INT(parse("2026-11-22T19:00:06Z"), 1795374006000LL);
	CHECK_INT(parse("2026-11-23T19:00:06.281Z"), 1795460406281LL);
	CHECK_INT(parse("2024-02-29T12:34:56Z"), 1709210096000LL);
	CHECK_INT(parse("1969-12-31T23:59:59Z"), -1000);
	CHECK_INT(parse("0000-01-01T00:00:00Z"), -62167219200000LL);
	CHECK_INT(parse("9999-12-31T23:59:59.999Z"), 253402300799999LL);
	CHECK_INT(parse("2000-02-29T00:00:00Z"), 951782400000LL);
}

TEST(parse_variants)
{
	/* Lower-case separator and zone, bare date = midnight UTC. */
	CHECK_INT(parse("2026-11-22t19:00:06z"), 1795374006000LL);
	CHECK_INT(parse("2026-11-22"), 1795305600000LL);
	CHECK_INT(parse("2026-11-22T00:00:00Z"), 1795305600000LL);
	/* Fractions of 1 to 9 digits, truncated to ms. */
	CHECK_INT(parse("1970-01-01T00:00:00.5Z"), 500);
	CHECK_INT(parse("1970-01-01T00:00:00.05Z"), 50);
	CHECK_INT(parse("1970-01-01T00:00:00.123456789Z"), 123);
	CHECK_INT(parse("1970-01-01T00:00:00.999999999Z"), 999);
	/* Offsets: local time minus the offset. */
	CHECK_INT(parse("2026-11-22T21:00:06+02:00"), 1795374006000LL);
	CHECK_INT(parse("2026-11-22T13:30:06-05:30"), 1795374006000LL);
	CHECK_INT(parse("2026-11-22T19:00:06+00:00"), 1795374006000LL);
	CHECK_INT(parse("2026-11-22T19:00:06-00:00"), 1795374006000LL);
	CHECK_INT(parse("1970-01-01T00:00:00.250+23:59"), -86340000 + 250);
	/* Leap second rolls into the next minute. */
	CHECK_INT(parse("2016-12-31T23:59:60Z"), 1483228800000LL);
}

TEST(parse_round_trip)
{
	static const int64_t vals[] = {
		0, 1, 999, 1000, -1, -999, 1795460406281LL, 951782400000LL, 1483228799999LL,
		-62167219200000LL, 253402300799999LL, 4102444800123LL, -2208988800001LL,
	};
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		char buf[RFC3339_MS_LEN];
		time_rfc3339_ms(vals[i], buf);
		CHECK_INT(parse(buf), vals[i]);
	}
	/* A sweep over a few centuries at an odd stride. */
	int bad = 0;
	for (int64_t v = -5000000000000LL; v < 5000000000000LL; v += 7777777777LL) {
		char buf[RFC3339_MS_LEN];
		time_rfc3339_ms(v, buf);
		if (parse(buf) != v)
			bad++;
	}
	CHECK_INT(bad, 0);
}

TEST(parse_rejects)
{
	static const char *bad[] = {
		"",
		"2026",
		"2026-11",
		"2026-13-01T00:00:00Z",          /* month 13 */
		"2026-00-01T00:00:00Z",
		"2026-11-00T00:00:00Z",
		"2026-11-31T00:00:00Z",          /* November has 30 days */
		"2026-02-30T00:00:00Z",
		"2025-02-29T00:00:00Z",          /* not a leap year */
		"1900-02-29",                    /* century, not leap */
		"2026-02-30",
		"2026-11-22T25:00:00Z",
		"2026-11-22T24:00:00Z",
		"2026-11-22T19:60:00Z",
		"2026-11-22T19:00:61Z",
		"2026-11-22T19:00:06",           /* no zone */
		"2026-11-22T19:00:06Zjunk",      /* trailing garbage */
		"2026-11-22T19:00:06Z ",
		"2026-11-22 ",
		"2026-11-22x",
		"2026-11-22 19:00:06Z",          /* space separator */
		"2026-11-22T19:00Z",
		"2026-11-22T19:00:06.Z",         /* empty fraction */
		"2026-11-22T19:00:06.1234567890Z", /* 10 digits */
		"2026-11-22T19:00:06+0200",
		"2026-11-22T19:00:06+02",
		"2026-11-22T19:00:06+24:00",
		"2026-11-22T19:00:06+02:60",
		"2026-11-22T19:00:06UTC",
		"+2026-11-22",
		" 2026-11-22",
		"2026-1-22",
		"20261122",
		"2026-11-22T1:00:06Z",
		"-026-11-22",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int64_t ms = 77;
		if (!CHECK(time_parse_rfc3339(bad[i], &ms) == -1))
			printf("#   accepted \"%s\"\n", bad[i]);
		CHECK_INT(ms, 77);  /* untouched on failure */
	}
	int64_t ms;
	CHECK(time_parse_rfc3339(NULL, &ms) == -1);
}

int main(void)
{
	RUN(hostname_matches_uname);
	RUN(hostname_truncated_is_terminated);
	RUN(kdf_user_chain);
	RUN(audit_user_login_or_passwd);
	RUN(audit_user_env_fallbacks);
	RUN(format_known);
	RUN(format_truncates_ms);
	RUN(format_negative_and_clamped);
	RUN(clocks);
	RUN(parse_known);
	RUN(parse_variants);
	RUN(parse_round_trip);
	RUN(parse_rejects);
	return unit_done();
}

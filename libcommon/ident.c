/* ident.c - who and where we are (hostname, the reference's two username
 * chains) and the clock (RFC 3339 timestamps with milliseconds).
 *
 * Timestamps cover the years RFC 3339 can write, 0000 to 9999:
 * time_rfc3339_ms clamps anything outside to 0000-01-01T00:00:00.000Z or
 * 9999-12-31T23:59:59.999Z, and time_parse_rfc3339 accepts the same span
 * (plus whatever a UTC offset moves past either end).
 */

#include "config.h"
#include "libcommon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in ms since the epoch. */
#define TS_MIN_MS (-62167219200000LL)
#define TS_MAX_MS (253402300799999LL)

static void copy_trunc(char *buf, size_t len, const char *s)
{
	size_t n = strlen(s);
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = 0;
}

const char *ident_hostname(char *buf, size_t len)
{
	if (!len)
		return "";
	/* glibc copies a truncated name without its NUL and fails with
	 * ENAMETOOLONG; the truncated prefix is what we keep. */
	if (gethostname(buf, len) != 0 && errno != ENAMETOOLONG)
		buf[0] = 0;
	buf[len - 1] = 0;
	return buf;
}

const char *ident_kdf_user(void)
{
	const char *u = getenv("USER");
	if (u)
		return u;
	u = getenv("USERNAME");
	return u ? u : "unknown";
}

/* The passwd name of uid into buf; 0 when there is none.  A static glibc
 * still loads the NSS modules nsswitch.conf names, which are built for the
 * shared one: libnss_systemd crashes there on a uid /etc/passwd lacks.  So
 * a static build reads /etc/passwd alone. */
static int passwd_name(uid_t uid, char *buf, size_t len)
{
	long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t sz = hint > 0 && hint < (1 << 20) ? (size_t)hint : 1024;
	struct passwd pw, *res = NULL;
	char *tmp = NULL;
	int found = 0;

	if (CFG_STATIC) {
		FILE *f = fopen("/etc/passwd", "re");
		if (f) {
			sz = 1 << 14;
			tmp = xmalloc(sz);
			while (fgetpwent_r(f, &pw, tmp, sz, &res) == 0)
				if (res->pw_uid == uid) {
					found = 1;
					break;
				}
			fclose(f);
		}
	} else {
		int rc;
		for (;;) {
			tmp = xrealloc(tmp, sz);
			rc = getpwuid_r(uid, &pw, tmp, sz, &res);
			if (rc != ERANGE || sz >= (1u << 20))
				break;
			sz *= 2;
		}
		found = rc == 0 && res;
	}
	found = found && res->pw_name && res->pw_name[0];
	if (found)
		copy_trunc(buf, len, res->pw_name);
	free(tmp);
	return found;
}

/* getlogin(): glibc asks NSS for the name of the audit login uid, else
 * looks up the terminal on stdin in utmp.  A static build (see above)
 * looks the login uid up in /etc/passwd and skips utmp. */
static int login_name(char *buf, size_t len)
{
	if (!CFG_STATIC) {
		char login[LOGIN_NAME_MAX + 1];
		/* getlogin_r returns an error number instead of setting errno. */
		if (getlogin_r(login, sizeof(login)) != 0 || !login[0])
			return 0;
		copy_trunc(buf, len, login);
		return 1;
	}
	char text[32];
	int fd = open("/proc/self/loginuid", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read_full(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = 0;
	char *end;
	errno = 0;
	unsigned long uid = strtoul(text, &end, 10);
	if (errno || end == text || (uid_t)uid != uid || (uid_t)uid == (uid_t)-1)
		return 0;
	return passwd_name((uid_t)uid, buf, len);
}

const char *ident_audit_user(char *buf, size_t len)
{
	const char *env;

	if (!len)
		return "";
	if (login_name(buf, len) || passwd_name(getuid(), buf, len))
		return buf;
	if ((env = getenv("USER")) && *env)
		copy_trunc(buf, len, env);
	else if ((env = getenv("USERNAME")) && *env)
		copy_trunc(buf, len, env);
	else
		copy_trunc(buf, len, "unknown");
	return buf;
}

static char *put_num(char *p, unsigned v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

void time_rfc3339_ms(int64_t ts_ms, char out[RFC3339_MS_LEN])
{
	if (ts_ms < TS_MIN_MS)
		ts_ms = TS_MIN_MS;
	if (ts_ms > TS_MAX_MS)
		ts_ms = TS_MAX_MS;
	/* Floor division, so -1 ms is 1969-12-31T23:59:59.999Z. */
	int64_t secs = ts_ms / 1000, ms = ts_ms % 1000;
	if (ms < 0) {
		ms += 1000;
		secs--;
	}
	time_t t = (time_t)secs;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm));

	char *p = out;
	p = put_num(p, (unsigned)(tm.tm_year + 1900), 4);
	*p++ = '-';
	p = put_num(p, (unsigned)tm.tm_mon + 1, 2);
	*p++ = '-';
	p = put_num(p, (unsigned)tm.tm_mday, 2);
	*p++ = 'T';
	p = put_num(p, (unsigned)tm.tm_hour, 2);
	*p++ = ':';
	p = put_num(p, (unsigned)tm.tm_min, 2);
	*p++ = ':';
	p = put_num(p, (unsigned)tm.tm_sec, 2);
	*p++ = '.';
	p = put_num(p, (unsigned)ms, 3);
	*p++ = 'Z';
	*p = 0;
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		die_errno("clock_gettime");
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t time_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* Exactly n decimal digits.  Stops at the first non-digit, so it never
 * reads past a terminating NUL. */
static int get_num(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const unsigned char mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return mdays[m - 1] + (m == 2 && leap);
}

/* full-date ["T" partial-time time-offset], or a bare full-date meaning
 * midnight UTC.  A fraction of 1 to 9 digits is truncated to ms; second 60
 * is accepted and counts as the first second of the next minute. */
int time_parse_rfc3339(const char *s, int64_t *ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;

	if (!s || get_num(s, 4, &y) || s[4] != '-' || get_num(s + 5, 2, &mo) || s[7] != '-' ||
	    get_num(s + 8, 2, &d))
		return -1;
	const char *p = s + 10;
	if (*p) {
		if (*p != 'T' && *p != 't')
			return -1;
		p++;
		if (get_num(p, 2, &h) || p[2] != ':' || get_num(p + 3, 2, &mi) || p[5] != ':' ||
		    get_num(p + 6, 2, &sec))
			return -1;
		p += 8;
		if (*p == '.') {
			int nd = 0;
			for (p++; *p >= '0' && *p <= '9'; p++, nd++)
				if (nd < 3)
					frac = frac * 10 + (*p - '0');
			if (nd < 1 || nd > 9)
				return -1;
			for (; nd < 3; nd++)
				frac *= 10;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int oh, om;
			if (get_num(p + 1, 2, &oh) || p[3] != ':' || get_num(p + 4, 2, &om) ||
			    oh > 23 || om > 59)
				return -1;
			off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
			p += 6;
		} else {
			return -1;
		}
		if (*p)
			return -1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;

	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
		.tm_hour = h, .tm_min = mi, .tm_sec = sec,
	};
	/* Every field is in range, so timegm cannot fail and -1 is a real
	 * second (1969-12-31T23:59:59Z). */
	int64_t t = (int64_t)timegm(&tm);
	*ms = t * 1000 + frac - (int64_t)off * 60000;
	return 0;
}

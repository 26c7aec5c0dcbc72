/* unit.h - a minimal TAP harness for libcommon unit tests.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_STR(a, "b"); }
 *   int main(void) { RUN(name); return unit_done(); }
 *
 * Each RUN prints "ok N - name" or "not ok N - name" (with the failed
 * checks as "# file:line: ..." lines); tests/run.sh counts them.  Vector
 * files are found relative to $SRCDIR (default: the current directory).
 */
#ifndef APCORE_UNIT_H
#define APCORE_UNIT_H

#include "libcommon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_n, unit_failed_tests, unit_cur_failed;

static inline int unit_check(int ok, const char *what, const char *file, int line)
{
	if (!ok) {
		unit_cur_failed++;
		printf("# %s:%d: check failed: %s\n", file, line, what);
	}
	return ok;
}

#define TEST(name) static void name(void)
#define CHECK(c) unit_check(!!(c), #c, __FILE__, __LINE__)
#define CHECK_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	if (!unit_check(a_ == b_, #a " == " #b, __FILE__, __LINE__)) \
		printf("#   got %lld, want %lld\n", a_, b_); } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (!unit_check(a_ && b_ && !strcmp(a_, b_), #a " == " #b, __FILE__, __LINE__)) \
		printf("#   got  \"%s\"\n#   want \"%s\"\n", a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

static inline void unit_run(const char *name, void (*fn)(void))
{
	unit_cur_failed = 0;
	fflush(stdout);
	fn();
	unit_n++;
	if (unit_cur_failed)
		unit_failed_tests++;
	printf("%sok %d - %s\n", unit_cur_failed ? "not " : "", unit_n, name);
	fflush(stdout);
}
#define RUN(fn) unit_run(#fn, fn)

static inline int unit_done(void)
{
	printf("1..%d\n", unit_n);
	return unit_failed_tests ? 1 : 0;
}

/* Path of a file in the source tree (tests/vectors/...). */
static inline const char *unit_path(const char *rel)
{
	static char buf[4096];
	const char *src = getenv("SRCDIR");
	snprintf(buf, sizeof(buf), "%s/%s", src && *src ? src : ".", rel);
	return buf;
}

/* Hex helpers for known-answer tests. */
static inline size_t unit_unhex(const char *hex, unsigned char *out, size_t max)
{
	size_t n = strlen(hex) / 2;
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
	return n;
}

#endif

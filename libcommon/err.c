/* err.c - one-line diagnostics and the single exit path. */

#include "libcommon.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *applet_name = "apcore";
const char *applet_help;

void vmsg_format(char *buf, size_t len, const char *fmt, va_list ap)
{
	vsnprintf(buf, len, fmt, ap);
}

/* "applet: message[: strerror]\n" in one write, so lines from concurrent
 * processes never interleave.  Control characters in the message are shown
 * as '?' so an error cannot forge extra lines on a terminal or in a log. */
static void emit(const char *prefix, int errnum, const char *fmt, va_list ap)
{
	char msg[1024], line[1200];

	vmsg_format(msg, sizeof(msg), fmt, ap);
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			*p = '?';
	int n = snprintf(line, sizeof(line), "%s: %s%s%s%s\n", applet_name, prefix, msg,
	                 errnum ? ": " : "", errnum ? strerror(errnum) : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	fflush(stdout);
	(void)write_full(STDERR_FILENO, line, (size_t)n);
}

void xexit(int code)
{
	secure_wipe_all();
	if (fflush(stdout) != 0 && code == 0) {
		/* Output that did not reach its reader is a failure. */
		code = APC_EX_FAIL;
	}
	exit(code);
}

void die_code(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("", 0, fmt, ap);
	va_end(ap);
	xexit(code);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("", 0, fmt, ap);
	va_end(ap);
	xexit(APC_EX_FAIL);
}

void die_errno(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	emit("", e, fmt, ap);
	va_end(ap);
	xexit(APC_EX_FAIL);
}

void die_usage(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vmsg_format(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char *line = xasprintf("%s (try '%s --help')", msg, applet_name);
	die_code(APC_EX_USAGE, "%s", line);
}

void warn_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("warning: ", 0, fmt, ap);
	va_end(ap);
}

void warn_errno(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	emit("warning: ", e, fmt, ap);
	va_end(ap);
	errno = e;
}

void die_bad_option(int c, char **argv)
{
	const char *arg = argv[optind - 1];
	int n = (int)strcspn(arg, "=");
	if (c == ':')
		die_usage("option '%.*s' needs a value", n, arg);
	if (optopt > 0 && optopt < 256)
		die_usage("unknown option '-%c'", optopt);
	die_usage("unknown option '%.*s'", n, arg);
}

void opt_accept(const struct option *longopts, int c, char **argv, const char *family,
                unsigned allowed, unsigned repeatable, unsigned *seen)
{
	if (c < 256)
		die_bad_option(c, argv);
	const char *name = longopts[c - 256].name;
	unsigned bit = 1u << (c - 256);
	if (!(allowed & bit))
		die_usage("--%s does not apply to '%s%s%s'", name, family ? family : "",
		          family ? " " : "", argv[0]);
	if ((*seen & bit) && !(repeatable & bit))
		die_usage("--%s given twice", name);
	*seen |= bit;
}

void msgf(char *buf, size_t len, const char *fmt, ...)
{
	if (!buf || !len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

int vmsgf_at(char *buf, size_t len, const char *name, int line, int col, const char *fmt,
             va_list ap)
{
	char msg[512];
	if (!buf || !len)
		return -1;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* one line, whatever a tag (%0A) or key in the file holds */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7F)
			*p = '?';
	if (line > 0)
		snprintf(buf, len, "%s:%d:%d: %s", name, line, col, msg);
	else
		snprintf(buf, len, "%s: %s", name, msg);
	return -1;
}

void show_help(void)
{
	fputs(applet_help ? applet_help : "no help available\n", stdout);
}

/* apcore - the multiplexer: picks an applet by argv[0] or by the first
 * argument, lists, documents and installs the applets. */

#include "apcore.h"
#include "help.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct applet {
	const char *name;       /* "apcore-encrypt" */
	const char *symbol;     /* Kconfig symbol */
	int (*main)(int, char **);  /* NULL: compiled out */
	const char *help;
	const char *summary;
	int flags;
};

#define APPLET(n, sym, fl, sum) \
	{ "apcore-" #n, #sym, CFG_##sym ? n##_main : NULL, CFG_##sym ? HELP_##n : NULL, sum, fl },
static const struct applet applets[] = {
#include "applets.h"
};
#undef APPLET

static const char usage_text[] =
	"usage: apcore APPLET [ARGS...]      run an applet (APPLET or apcore-APPLET)\n"
	"       apcore-APPLET [ARGS...]      the same through a link named after it\n"
	"       apcore --list                list the applets compiled in\n"
	"       apcore --help [APPLET]       this text, or an applet's help\n"
	"       apcore --version             print the version\n"
	"       apcore --install [-s] DIR    create hard (or -s symbolic) links in DIR\n"
	"\n"
	"Security primitives for AI-agent tooling in one binary.\n"
	"\n"
	"Applets:\n";

/* Exact match on the full name; the short name only where allowed. */
static const struct applet *find_applet(const char *name, int allow_short)
{
	for (size_t i = 0; i < ARRAY_SIZE(applets); i++) {
		const char *full = applets[i].name;
		if (!strcmp(name, full))
			return &applets[i];
		if (allow_short && !strcmp(name, full + strlen("apcore-")))
			return &applets[i];
	}
	return NULL;
}

static void print_usage(FILE *out)
{
	fputs(usage_text, out);
	for (size_t i = 0; i < ARRAY_SIZE(applets); i++)
		if (applets[i].main)
			fprintf(out, "  %-16s %s\n", applets[i].name, applets[i].summary);
}

static int run_applet(const struct applet *a, int argc, char **argv)
{
	applet_name = a->name;
	if (!a->main)
		die_code(APC_EX_NOTFOUND, "this apcore was built without %s (enable %s in Kconfig)",
		         a->name, a->symbol);
	applet_help = a->help;
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		show_help();
		xexit(APC_EX_OK);
	}
	if (a->flags & APPLET_NODUMP)
		secure_nodump();
	argv[0] = (char *)a->name;
	optind = 0;  /* glibc: full getopt rescan for every applet */
	xexit(a->main(argc, argv));
}

/* Create DIR/NAME -> target atomically (replacing an older link). */
static int install_link(const char *target, const char *dir, const char *name, int sym)
{
	char *dst = xasprintf("%s/%s", dir, name);
	char *tmp = xasprintf("%s/.%s.%ld", dir, name, (long)getpid());
	int rc = sym ? symlink(target, tmp) : link(target, tmp);
	if (rc == 0 && rename(tmp, dst) != 0) {
		rc = -1;
		int e = errno;
		unlink(tmp);
		errno = e;
	}
	if (rc)
		warn_errno("cannot create %s", dst);
	free(dst);
	free(tmp);
	return rc;
}

static int do_install(int argc, char **argv)
{
	int sym = 0, opt;
	static const struct option longopts[] = { { 0, 0, 0, 0 } };

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+s", longopts, NULL)) != -1) {
		if (opt != 's')
			die_usage("usage: apcore --install [-s] DIR");
		sym = 1;
	}
	if (optind != argc - 1)
		die_usage("usage: apcore --install [-s] DIR");
	const char *dir = argv[optind];

	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		die_errno("cannot find this binary (/proc/self/exe)");
	self[n] = 0;

	int fails = 0;
	for (size_t i = 0; i < ARRAY_SIZE(applets); i++)
		if (applets[i].main)
			fails += install_link(self, dir, applets[i].name, sym) != 0;
	return fails ? APC_EX_FAIL : APC_EX_OK;
}

static int multiplexer(int argc, char **argv)
{
	applet_name = "apcore";
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		if (argc > 2) {
			const struct applet *a = find_applet(argv[2], 1);
			if (!a)
				die_code(APC_EX_NOTFOUND, "unknown applet '%s' (see 'apcore --list')", argv[2]);
			if (!a->main)
				die_code(APC_EX_NOTFOUND, "this apcore was built without %s (enable %s in Kconfig)",
				         a->name, a->symbol);
			applet_name = a->name;
			applet_help = a->help;
			show_help();
			return APC_EX_OK;
		}
		print_usage(stdout);
		return APC_EX_OK;
	}
	if (!strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < ARRAY_SIZE(applets); i++)
			if (applets[i].main)
				puts(applets[i].name);
		return APC_EX_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("apcore %s\n", APCORE_VERSION);
		return APC_EX_OK;
	}
	if (!strcmp(argv[1], "--install"))
		return do_install(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		die_usage("unknown option '%s'", argv[1]);

	const struct applet *a = find_applet(argv[1], 1);
	if (!a)
		die_code(APC_EX_NOTFOUND, "unknown applet '%s' (see 'apcore --list')", argv[1]);
	return run_applet(a, argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	const char *base = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
	base = base ? base + 1 : (argc > 0 && argv[0] ? argv[0] : "apcore");

	if (!strcmp(base, "apcore"))
		xexit(multiplexer(argc, argv));

	const struct applet *a = find_applet(base, 0);
	if (!a) {
		applet_name = "apcore";
		die_code(APC_EX_NOTFOUND, "unknown applet '%s' (see 'apcore --list')", base);
	}
	return run_applet(a, argc, argv);
}

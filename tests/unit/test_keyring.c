/* test_keyring.c - libcommon/keyring.c against a real, private Secret Service.
 *
 * Runs inside tests/lib/with-keyring.sh (it re-executes itself there when
 * started directly).  The happy paths talk to gnome-keyring and check the
 * items with secret-tool and, when /usr/bin/python3 has it, the Python
 * keyring library; the failure paths point DBUS_SESSION_BUS_ADDRESS at
 * nothing, at a bus without a Secret Service and at peers that never answer.
 * The locked-collection cases run in a second private keyring started with
 * --locked (test "locked_collection" re-executes this binary there).
 */

#include "config.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SVC "apcore-cli"
#define TMO 5000            /* happy paths: generous, never reached */
#define SHORT_TMO 300       /* failure paths */
#define PY "/usr/bin/python3"

/* ------------------------------------------------------------ helpers */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct out {
	char o[16384], e[16384];
	size_t olen, elen;
};

/* Run argv (PATH search) with in on stdin; collect stdout and stderr.
 * Returns the exit status, 128+signal, or -1. */
static int run(char *const argv[], const void *in, size_t inlen, struct out *r)
{
	int pin[2], po[2], pe[2];
	memset(r, 0, sizeof(*r));
	if (pipe2(pin, O_CLOEXEC) || pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pin[0]);
	close(po[1]);
	close(pe[1]);
	if (inlen && write_full(pin[1], in, inlen) < 0)
		printf("# writing to %s: %s\n", argv[0], strerror(errno));
	close(pin[1]);
	struct pollfd fds[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
	int open_fds = 2;
	while (open_fds) {
		if (poll(fds, 2, 20000) <= 0) {
			printf("# %s hangs; killing it\n", argv[0]);
			kill(pid, SIGKILL);
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			char *buf = i ? r->e : r->o;
			size_t *len = i ? &r->elen : &r->olen;
			char tmp[4096];
			ssize_t n = read(fds[i].fd, tmp, sizeof(tmp));
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
				continue;
			}
			size_t room = (i ? sizeof(r->e) : sizeof(r->o)) - 1 - *len;
			size_t take = (size_t)n < room ? (size_t)n : room;
			memcpy(buf + *len, tmp, take);
			*len += take;
			buf[*len] = 0;
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Start argv in the background with stdout on a pipe; read its first line
 * (bounded) into line.  Returns the pid or -1. */
static pid_t spawn_line(char *const argv[], char *line, size_t linelen, int quiet)
{
	int po[2];
	if (pipe2(po, O_CLOEXEC))
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(po[1], 1);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		if (quiet)
			dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	size_t n = 0;
	line[0] = 0;
	long long end = now_ms() + 10000;
	while (n + 1 < linelen && !memchr(line, '\n', n)) {
		struct pollfd p = { po[0], POLLIN, 0 };
		int left = (int)(end - now_ms());
		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		ssize_t r = read(po[0], line + n, linelen - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		line[n] = 0;
	}
	close(po[0]);
	char *nl = strchr(line, '\n');
	if (!nl) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	*nl = 0;
	return pid;
}

static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static size_t count_lines(const char *s, const char *prefix)
{
	size_t n = 0, pl = strlen(prefix);
	for (const char *p = s; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, prefix, pl))
			n++;
	return n;
}

static int has_line(const char *s, const char *line)
{
	size_t ll = strlen(line);
	for (const char *p = s; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, ll) && (p[ll] == '\n' || p[ll] == 0))
			return 1;
	return 0;
}

/* Items for service+account as secret-tool sees them (stdout: "[path]",
 * label, secret...; stderr: "attribute.K = V" lines). */
static size_t items(const char *service, const char *account, struct out *r)
{
	char *argv[] = { "secret-tool", "search", "--all", "service", (char *)service,
	                 "username", (char *)account, NULL };
	run(argv, NULL, 0, r);
	return count_lines(r->o, "[");
}

static int st_store(const char *account, const char *secret, const char *schema)
{
	struct out r;
	char *label = xasprintf("Password for '%s' on '" SVC "'", account);
	char *lab = xasprintf("--label=%s", label);
	char *plain[] = { "secret-tool", "store", lab, "application", "Python keyring library",
	                  "service", SVC, "username", (char *)account, NULL };
	char *schemed[] = { "secret-tool", "store", lab, "xdg:schema", (char *)schema,
	                    "service", SVC, "username", (char *)account, NULL };
	int rc = run(schema ? schemed : plain, secret, strlen(secret), &r);
	if (rc)
		printf("# secret-tool store: %s", r.e);
	free(lab);
	free(label);
	return rc;
}

/* secret-tool lookup: exit status, secret in r->o. */
static int st_lookup(const char *account, struct out *r)
{
	char *argv[] = { "secret-tool", "lookup", "service", SVC, "username",
	                 (char *)account, NULL };
	return run(argv, NULL, 0, r);
}

static int lookup_is(const char *account, const void *want, size_t wantlen)
{
	char *s = (char *)1, why[256] = "";
	size_t len = 12345;
	enum kr_status st = kr_lookup(SVC, account, &s, &len, TMO, why, sizeof(why));
	if (st != KR_OK) {
		printf("#   kr_lookup(%s): %s: %s\n", account, kr_status_str(st), why);
		return 0;
	}
	int ok = s && len == wantlen && !memcmp(s, want, wantlen) && s[len] == 0;
	if (!ok)
		printf("#   kr_lookup(%s): %zu bytes, want %zu\n", account, len, wantlen);
	secure_free(s);
	return ok;
}

static int store(const char *account, const void *secret, size_t len)
{
	char why[256] = "";
	enum kr_status st = kr_store(SVC, account, secret, len, TMO, why, sizeof(why));
	if (st != KR_OK)
		printf("#   kr_store(%s): %s: %s\n", account, kr_status_str(st), why);
	return st == KR_OK;
}

/* Environment changes undone by env_restore(). */
struct envsave {
	char *bus, *rt;
};

static void env_save(struct envsave *e)
{
	const char *b = getenv("DBUS_SESSION_BUS_ADDRESS"), *r = getenv("XDG_RUNTIME_DIR");
	e->bus = b ? xstrdup(b) : NULL;
	e->rt = r ? xstrdup(r) : NULL;
}

static void env_restore(struct envsave *e)
{
	if (e->bus)
		setenv("DBUS_SESSION_BUS_ADDRESS", e->bus, 1);
	else
		unsetenv("DBUS_SESSION_BUS_ADDRESS");
	if (e->rt)
		setenv("XDG_RUNTIME_DIR", e->rt, 1);
	else
		unsetenv("XDG_RUNTIME_DIR");
	free(e->bus);
	free(e->rt);
}

/* Short: socket paths must fit sockaddr_un. */
static char tmpdir[64];

static const char *tmp_path(const char *name)
{
	static char buf[96];
	snprintf(buf, sizeof(buf), "%.63s/%.31s", tmpdir, name);
	return buf;
}

static void sock_addr(const char *name, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, tmp_path(name), strlen(tmp_path(name)) + 1);
}

/* The first nops of probe, lookup, store, delete fail with want, each
 * taking min_ms..max_ms, saying why (and never echoing the secret). */
static void fail_ops(int nops, enum kr_status want, int timeout_ms, long long min_ms,
                     long long max_ms, const char *why_has)
{
	static const char secret[] = "do-not-echo-7c1f";
	const char *names[] = { "kr_probe", "kr_lookup", "kr_store", "kr_delete" };
	for (int i = 0; i < nops; i++) {
		char why[512] = "";
		char *s = (char *)1;
		size_t len = 99;
		long long t0 = now_ms();
		enum kr_status st;
		switch (i) {
		case 0: st = kr_probe(timeout_ms, why, sizeof(why)); break;
		case 1: st = kr_lookup(SVC, "x", &s, &len, timeout_ms, why, sizeof(why)); break;
		case 2: st = kr_store(SVC, "x", secret, strlen(secret), timeout_ms, why, sizeof(why)); break;
		default: st = kr_delete(SVC, "x", timeout_ms, why, sizeof(why)); break;
		}
		long long dt = now_ms() - t0;
		printf("# %s: %s in %lld ms: %s\n", names[i], kr_status_str(st), dt, why);
		CHECK_INT(st, want);
		CHECK(dt >= min_ms);
		CHECK(dt < max_ms);
		CHECK(strstr(why, why_has) != NULL);
		CHECK(strstr(why, secret) == NULL);
		if (i == 1) {
			CHECK(s == NULL);
			CHECK_INT(len, 0);
		}
	}
}

/* A dbus-daemon of our own with no Secret Service on it.  A deaf one drops
 * every message to clients, so even the bus's reply to Hello never comes. */
static pid_t bare_bus(char *addr, size_t addrlen, int deaf)
{
	FILE *f = fopen(tmp_path("bus.conf"), "w");
	if (!f)
		return -1;
	fprintf(f, "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
	        " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
	        "<busconfig><type>session</type><listen>unix:path=%s</listen>"
	        "<auth>EXTERNAL</auth><policy context=\"default\">"
	        "<allow send_destination=\"*\"/><allow own=\"*\"/>%s</policy></busconfig>\n",
	        tmp_path(deaf ? "deaf.sock" : "bare.sock"),
	        deaf ? "" : "<allow eavesdrop=\"true\"/>");
	fclose(f);
	char conf[128];
	snprintf(conf, sizeof(conf), "--config-file=%s", tmp_path("bus.conf"));
	char *argv[] = { "dbus-daemon", conf, "--nofork", "--nopidfile", "--nosyslog",
	                 "--print-address=1", NULL };
	return spawn_line(argv, addr, addrlen, 1);
}

static int have_python_keyring(void)
{
	struct out r;
	char *argv[] = { PY, "-c", "import keyring, secretstorage, jeepney", NULL };
	return access(PY, X_OK) == 0 && run(argv, NULL, 0, &r) == 0;
}

/* keyring.get/set/delete_password through the SecretService backend. */
static int py(const char *code, const char *account, const char *in, struct out *r)
{
	char prog[2048];
	snprintf(prog, sizeof(prog),
	         "import sys, keyring\n"
	         "from keyring.backends import SecretService\n"
	         "keyring.set_keyring(SecretService.Keyring())\n"
	         "svc, acct = '" SVC "', sys.argv[1]\n"
	         "%s\n", code);
	char *argv[] = { PY, "-c", prog, (char *)account, NULL };
	int rc = run(argv, in, in ? strlen(in) : 0, r);
	if (rc)
		printf("# python keyring: %s", r->e);
	return rc;
}

/* ------------------------------------------------ happy paths (unlocked) */

TEST(probe_ok)
{
	char why[256] = "";
	CHECK_INT(kr_probe(TMO, why, sizeof(why)), KR_OK);
}

TEST(round_trip)
{
	static const char s[] = "s3cret-value";
	CHECK(store("rt", s, strlen(s)));
	CHECK(lookup_is("rt", s, strlen(s)));
}

TEST(round_trip_empty)
{
	struct out r;
	CHECK(store("empty", "", 0));
	CHECK(lookup_is("empty", "", 0));
	CHECK_INT(st_lookup("empty", &r), 0);
	CHECK_INT(r.olen, 0);
	CHECK_INT(items(SVC, "empty", &r), 1);
}

TEST(round_trip_utf8)
{
	static const char s[] = "p\xc3\xa4ssw\xc3\xb6rd \xe2\x9c\x93 \xf0\x9f\x94\x91 "
	                        "\xe6\x97\xa5\xe6\x9c\xac";
	struct out r;
	CHECK(store("utf8", s, strlen(s)));
	CHECK(lookup_is("utf8", s, strlen(s)));
	CHECK_INT(st_lookup("utf8", &r), 0);
	CHECK_STR(r.o, s);
}

TEST(round_trip_binary)
{
	static const char s[] = { 'a', 0, 'b', '\xff', '\n' };
	CHECK(store("binary", s, sizeof(s)));
	CHECK(lookup_is("binary", s, sizeof(s)));
}

TEST(round_trip_large)
{
	/* Larger than a pipe buffer: the helper's reply is streamed. */
	size_t n = 200000;
	char *s = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)('a' + (i * 7919) % 26);
	CHECK(store("large", s, n));
	CHECK(lookup_is("large", s, n));
	free(s);
}

TEST(replace)
{
	struct out r;
	CHECK(store("repl", "first", 5));
	CHECK(store("repl", "second!", 7));
	CHECK(lookup_is("repl", "second!", 7));
	CHECK_INT(items(SVC, "repl", &r), 1);
}

TEST(item_shape)
{
	struct out r;
	CHECK(store("shape", "v", 1));
	CHECK_INT(items(SVC, "shape", &r), 1);
	CHECK(has_line(r.o, "label = Password for 'shape' on '" SVC "'"));
	/* We send no xdg:schema; gnome-keyring may add its own default one
	 * (it does so for secret-tool's and Python's items too). */
	CHECK(!strstr(r.o, "schema = ") || has_line(r.o, "schema = org.freedesktop.Secret.Generic"));
	CHECK(has_line(r.e, "attribute.application = Python keyring library"));
	CHECK(has_line(r.e, "attribute.service = " SVC));
	CHECK(has_line(r.e, "attribute.username = shape"));
	CHECK_INT(count_lines(r.e, "attribute."), 3);
	if (unit_cur_failed)
		printf("# stdout:\n%s# stderr:\n%s", r.o, r.e);
}

TEST(delete_item)
{
	char why[256] = "", *s = (char *)1;
	struct out r;
	CHECK(store("del", "gone soon", 9));
	CHECK_INT(kr_delete(SVC, "del", TMO, why, sizeof(why)), KR_OK);
	CHECK_INT(kr_lookup(SVC, "del", &s, NULL, TMO, why, sizeof(why)), KR_NOTFOUND);
	CHECK(s == NULL);
	CHECK(st_lookup("del", &r) != 0);
	CHECK_INT(items(SVC, "del", &r), 0);
	why[0] = 0;
	CHECK_INT(kr_delete(SVC, "del", TMO, why, sizeof(why)), KR_NOTFOUND);
	CHECK(strstr(why, "del") != NULL);
}

TEST(not_found)
{
	char why[256] = "", *s = (char *)1;
	size_t len = 7;
	CHECK_INT(kr_lookup(SVC, "never-stored", &s, &len, TMO, why, sizeof(why)), KR_NOTFOUND);
	CHECK(s == NULL);
	CHECK_INT(len, 0);
	CHECK(strstr(why, "never-stored") != NULL);
	/* service and username both take part in the match */
	CHECK(store("only-here", "x", 1));
	CHECK_INT(kr_lookup("apcore-other", "only-here", &s, &len, TMO, why, sizeof(why)),
	          KR_NOTFOUND);
	CHECK_INT(kr_lookup(SVC, "only-her", &s, &len, TMO, why, sizeof(why)), KR_NOTFOUND);
	CHECK_INT(kr_delete("apcore-other", "only-here", TMO, why, sizeof(why)), KR_NOTFOUND);
	CHECK(lookup_is("only-here", "x", 1));
}

TEST(bad_arguments)
{
	char why[256] = "", *s = (char *)1;
	CHECK_INT(kr_lookup(SVC, "", &s, NULL, TMO, why, sizeof(why)), KR_ERROR);
	CHECK(s == NULL);
	CHECK_INT(kr_store("", "a", "x", 1, TMO, why, sizeof(why)), KR_ERROR);
	CHECK_INT(kr_store(SVC, "a", NULL, 1, TMO, why, sizeof(why)), KR_ERROR);
	CHECK_INT(kr_delete(SVC, "\xff", TMO, why, sizeof(why)), KR_ERROR);
	static char big[(1 << 20) + 1];
	CHECK_INT(kr_store(SVC, "big", big, sizeof(big), TMO, why, sizeof(why)), KR_ERROR);
	CHECK_INT(kr_store(SVC, "big", big, sizeof(big) - 1, TMO, why, sizeof(why)), KR_OK);
	CHECK_INT(kr_delete(SVC, "big", TMO, why, sizeof(why)), KR_OK);
}

TEST(from_secret_tool)
{
	static const char s[] = "written by secret-tool \xe2\x9c\x93";
	struct out r;
	CHECK_INT(st_store("st-in", s, NULL), 0);
	CHECK(lookup_is("st-in", s, strlen(s)));
	/* our store replaces secret-tool's item: same three attributes */
	CHECK(store("st-in", "replaced", 8));
	CHECK_INT(items(SVC, "st-in", &r), 1);
	CHECK_INT(st_lookup("st-in", &r), 0);
	CHECK_STR(r.o, "replaced");
}

TEST(to_secret_tool)
{
	static const char s[] = "written by apcore";
	struct out r;
	CHECK(store("st-out", s, strlen(s)));
	CHECK_INT(st_lookup("st-out", &r), 0);
	CHECK_STR(r.o, s);
}

TEST(schema_name_ignored)
{
	struct out r;
	/* An item of some other schema with our service and username. */
	CHECK_INT(st_store("schemed", "other schema", "org.example.Other"), 0);
	CHECK_INT(items(SVC, "schemed", &r), 1);
	CHECK(has_line(r.o, "schema = org.example.Other"));
	CHECK(lookup_is("schemed", "other schema", 12));
	char why[256] = "";
	CHECK_INT(kr_delete(SVC, "schemed", TMO, why, sizeof(why)), KR_OK);
	CHECK_INT(items(SVC, "schemed", &r), 0);
}

TEST(python_keyring)
{
	static const char from_py[] = "from python \xe2\x9c\x93";
	static const char from_c[] = "from apcore \xf0\x9f\x94\x91";
	struct out r;
	CHECK_INT(py("keyring.set_password(svc, acct, sys.stdin.read())", "py", from_py, &r), 0);
	CHECK(lookup_is("py", from_py, strlen(from_py)));
	/* apcore replaces Python's item ... */
	CHECK(store("py", from_c, strlen(from_c)));
	CHECK_INT(items(SVC, "py", &r), 1);
	CHECK_INT(py("sys.stdout.write(keyring.get_password(svc, acct))", "py", NULL, &r), 0);
	CHECK_STR(r.o, from_c);
	/* ... and Python replaces apcore's (replace=True matches all three) */
	CHECK_INT(py("keyring.set_password(svc, acct, 'again')", "py", NULL, &r), 0);
	CHECK_INT(items(SVC, "py", &r), 1);
	CHECK(lookup_is("py", "again", 5));
	/* Python deletes what apcore stored */
	CHECK(store("py", from_c, strlen(from_c)));
	CHECK_INT(py("keyring.delete_password(svc, acct)", "py", NULL, &r), 0);
	char *s = (char *)1, why[256];
	CHECK_INT(kr_lookup(SVC, "py", &s, NULL, TMO, why, sizeof(why)), KR_NOTFOUND);
	CHECK_INT(py("print(keyring.get_password(svc, acct))", "py", NULL, &r), 0);
	CHECK_STR(r.o, "None\n");
}

/* --------------------------------------------------------- failure paths */

TEST(nobus_unset)
{
	struct envsave e;
	env_save(&e);
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	setenv("XDG_RUNTIME_DIR", tmpdir, 1);   /* no "bus" socket in it */
	fail_ops(4, KR_NOBUS, TMO, 0, 500, "DBUS_SESSION_BUS_ADDRESS");
	unsetenv("XDG_RUNTIME_DIR");
	fail_ops(4, KR_NOBUS, TMO, 0, 500, "DBUS_SESSION_BUS_ADDRESS");
	env_restore(&e);
}

TEST(xdg_runtime_bus)
{
	/* No DBUS_SESSION_BUS_ADDRESS, but $XDG_RUNTIME_DIR/bus is a bus
	 * (systemd's layout; with-keyring.sh puts its bus there). */
	struct envsave e;
	char why[256] = "";
	env_save(&e);
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	CHECK_INT(kr_probe(TMO, why, sizeof(why)), KR_OK);
	CHECK(lookup_is("rt", "s3cret-value", 12));
	env_restore(&e);
}

TEST(nobus_refused)
{
	struct envsave e;
	env_save(&e);
	char addr[160];
	snprintf(addr, sizeof(addr), "unix:path=%s", tmp_path("no-such-socket"));
	setenv("DBUS_SESSION_BUS_ADDRESS", addr, 1);
	fail_ops(4, KR_NOBUS, TMO, 0, 1000, "D-Bus");

	/* bound but not listening: ECONNREFUSED */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa;
	sock_addr("refusing.sock", &sa);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	snprintf(addr, sizeof(addr), "unix:path=%s", sa.sun_path);
	setenv("DBUS_SESSION_BUS_ADDRESS", addr, 1);
	fail_ops(4, KR_NOBUS, TMO, 0, 1000, "D-Bus");
	close(fd);
	env_restore(&e);
}

TEST(nobus_no_service)
{
	struct envsave e;
	char addr[1024];
	pid_t bus = bare_bus(addr, sizeof(addr), 0);
	CHECK(bus > 0);
	if (bus <= 0)
		return;
	env_save(&e);
	setenv("DBUS_SESSION_BUS_ADDRESS", addr, 1);
	fail_ops(4, KR_NOBUS, TMO, 0, 1000, "org.freedesktop.secrets");
	env_restore(&e);
	stop(bus);
}

/* Proof that nothing of a failed call sticks: the real service answers. */
static void probe_again(void)
{
	char why[256] = "";
	CHECK_INT(kr_probe(TMO, why, sizeof(why)), KR_OK);
	CHECK(lookup_is("rt", "s3cret-value", 12));
}

TEST(timeout_listen_only)
{
	/* Listens, never accepts: connect() succeeds, nothing ever answers. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa;
	sock_addr("silent.sock", &sa);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(listen(fd, 16) == 0);
	struct envsave e;
	env_save(&e);
	char addr[160];
	snprintf(addr, sizeof(addr), "unix:path=%s", sa.sun_path);
	setenv("DBUS_SESSION_BUS_ADDRESS", addr, 1);
	fail_ops(4, KR_TIMEOUT, SHORT_TMO, SHORT_TMO - 20, 2000, "300 ms");
	env_restore(&e);
	close(fd);
	unlink(sa.sun_path);
	probe_again();
}

TEST(timeout_accept_and_read)
{
	/* A child accepts every connection and reads it, never writing. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa;
	sock_addr("mute.sock", &sa);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(listen(fd, 16) == 0);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		for (;;) {
			int c = accept(fd, NULL, NULL);
			char buf[512];
			while (c >= 0 && read(c, buf, sizeof(buf)) > 0)
				;
			if (c >= 0)
				close(c);
		}
	}
	close(fd);
	struct envsave e;
	env_save(&e);
	char addr[160];
	snprintf(addr, sizeof(addr), "unix:path=%s", sa.sun_path);
	setenv("DBUS_SESSION_BUS_ADDRESS", addr, 1);
	fail_ops(2, KR_TIMEOUT, SHORT_TMO, SHORT_TMO - 20, 2000, "300 ms");
	env_restore(&e);
	stop(pid);
	unlink(sa.sun_path);
	probe_again();
}

TEST(timeout_no_hello_reply)
{
	/* Authentication succeeds, then the bus never answers Hello: the step
	 * glib's connection set-up cannot cancel. */
	struct envsave e;
	char addr[1024];
	pid_t bus = bare_bus(addr, sizeof(addr), 1);
	CHECK(bus > 0);
	if (bus <= 0)
		return;
	env_save(&e);
	setenv("DBUS_SESSION_BUS_ADDRESS", addr, 1);
	fail_ops(2, KR_TIMEOUT, SHORT_TMO, SHORT_TMO - 20, 2000, "300 ms");
	env_restore(&e);
	stop(bus);
	probe_again();
}

TEST(timeout_silent_service)
{
	/* A real bus where org.freedesktop.secrets is owned by a process that
	 * never replies (a wedged keyring daemon): method calls must time out. */
	char addr[1024], line[256];
	pid_t bus = bare_bus(addr, sizeof(addr), 0);
	CHECK(bus > 0);
	if (bus <= 0)
		return;
	char *argv[] = { PY, "-c",
		"import sys, time\n"
		"from jeepney.io.blocking import open_dbus_connection\n"
		"from jeepney.bus_messages import message_bus\n"
		"c = open_dbus_connection(sys.argv[1])\n"
		"r = c.send_and_get_reply(message_bus.RequestName('org.freedesktop.secrets', 4))\n"
		"print('owned' if r.body == (1,) else 'not owned %r' % (r.body,), flush=True)\n"
		"time.sleep(120)\n",
		addr, NULL };
	pid_t mute = spawn_line(argv, line, sizeof(line), 0);
	CHECK(mute > 0);
	CHECK_STR(line, "owned");
	struct envsave e;
	env_save(&e);
	setenv("DBUS_SESSION_BUS_ADDRESS", addr, 1);
	fail_ops(2, KR_TIMEOUT, SHORT_TMO, SHORT_TMO - 20, 2000, "300 ms");
	env_restore(&e);
	stop(mute);
	stop(bus);
	probe_again();
}

/* -------------------------------------------------------- locked keyring */

/* A stand-in for gnome-keyring's system prompter: owns its bus name, never
 * answers, and writes every method call it gets to a file.  A prompt we
 * started would show up there (and hang until our timeout). */
static pid_t prompter = -1;

static void start_prompter(void)
{
	char line[256];
	char *argv[] = { PY, "-c",
		"import sys\n"
		"from jeepney import MessageType, HeaderFields\n"
		"from jeepney.io.blocking import open_dbus_connection\n"
		"from jeepney.bus_messages import message_bus\n"
		"c = open_dbus_connection('SESSION')\n"
		"r = c.send_and_get_reply(message_bus.RequestName('org.gnome.keyring.SystemPrompter', 4))\n"
		"print('owned' if r.body == (1,) else 'not owned %r' % (r.body,), flush=True)\n"
		"log = open(sys.argv[1], 'a')\n"
		"while True:\n"
		"    m = c.receive()\n"
		"    if m.header.message_type == MessageType.method_call:\n"
		"        log.write('%s\\n' % m.header.fields.get(HeaderFields.member)); log.flush()\n",
		(char *)tmp_path("prompts.log"), NULL };
	prompter = spawn_line(argv, line, sizeof(line), 0);
	if (prompter <= 0 || strcmp(line, "owned")) {
		printf("# fake prompter: %s\n", line);
		stop(prompter);
		prompter = -1;
	}
}

TEST(locked_never_prompted)
{
	CHECK(prompter > 0);
	char *log = NULL;
	size_t len = 0;
	if (read_file_capped(tmp_path("prompts.log"), 1 << 16, &log, &len) == 0) {
		if (len)
			printf("# prompter calls:\n%.*s", (int)len, log);
		CHECK_INT(len, 0);
		free(log);
	}
	stop(prompter);
}

/* Seeded by with-keyring.sh --locked: service apcore-test, username locked. */
TEST(locked_probe)
{
	char why[512] = "";
	long long t0 = now_ms();
	CHECK_INT(kr_probe(TMO, why, sizeof(why)), KR_LOCKED);
	CHECK(now_ms() - t0 < 2000);
	CHECK(strstr(why, "locked") != NULL);
	printf("# why: %s\n", why);
}

TEST(locked_lookup)
{
	char why[512] = "", *s = (char *)1;
	size_t len = 5;
	long long t0 = now_ms();
	CHECK_INT(kr_lookup("apcore-test", "locked", &s, &len, TMO, why, sizeof(why)), KR_LOCKED);
	CHECK(now_ms() - t0 < 2000);
	CHECK(s == NULL);
	CHECK_INT(len, 0);
	CHECK(strstr(why, "locked") != NULL);
	CHECK(strstr(why, "seed") == NULL);
}

TEST(locked_store)
{
	char why[512] = "";
	long long t0 = now_ms();
	CHECK_INT(kr_store("apcore-test", "new", "v", 1, TMO, why, sizeof(why)), KR_LOCKED);
	CHECK(now_ms() - t0 < 2000);
	CHECK(strstr(why, "locked") != NULL);
}

TEST(locked_delete)
{
	char why[512] = "";
	long long t0 = now_ms();
	CHECK_INT(kr_delete("apcore-test", "locked", TMO, why, sizeof(why)), KR_LOCKED);
	CHECK(now_ms() - t0 < 2000);
	CHECK(strstr(why, "locked") != NULL);
}

TEST(locked_untouched)
{
	/* Still there, still locked (secret-tool shows no secret). */
	struct out r;
	CHECK_INT(items("apcore-test", "locked", &r), 1);
	CHECK(!strstr(r.o, "secret ="));
	CHECK_INT(items("apcore-test", "new", &r), 0);
}

static char wrapper[PATH_MAX], self[PATH_MAX];

TEST(locked_collection)
{
	struct out r;
	char *argv[] = { "sh", wrapper, "--locked", self, NULL };
	int rc = run(argv, NULL, 0, &r);
	for (const char *p = r.o; *p;) {
		size_t l = strcspn(p, "\n");
		printf("#   %.*s\n", (int)l, p);
		p += l + (p[l] == '\n');
	}
	if (r.elen)
		printf("#   stderr: %s\n", r.e);
	CHECK_INT(rc, 0);
	CHECK_INT(count_lines(r.o, "ok "), have_python_keyring() ? 7 : 6);
	CHECK_INT(count_lines(r.o, "not ok"), 0);
}

/* ---------------------------------------------------- compiled-out build */

TEST(disabled)
{
	char why[256] = "", *s = (char *)1;
	CHECK_INT(kr_probe(TMO, why, sizeof(why)), KR_DISABLED);
	CHECK_STR(why, "keyring support was not compiled in (APCORE_KEYRING)");
	CHECK_INT(kr_store(SVC, "a", "x", 1, TMO, why, sizeof(why)), KR_DISABLED);
	CHECK_INT(kr_lookup(SVC, "a", &s, NULL, TMO, why, sizeof(why)), KR_DISABLED);
	CHECK(s == NULL);
	CHECK_INT(kr_delete(SVC, "a", TMO, why, sizeof(why)), KR_DISABLED);
	CHECK_STR(kr_status_str(KR_DISABLED), "disabled");
}

TEST(status_names)
{
	const char *seen[KR_DISABLED + 1];
	for (int i = 0; i <= KR_DISABLED; i++) {
		seen[i] = kr_status_str((enum kr_status)i);
		CHECK(strcmp(seen[i], "unknown") != 0);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(seen[i], seen[j]) != 0);
	}
	CHECK_STR(kr_status_str(KR_TIMEOUT), "timeout");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	RUN(status_names);
	if (!CFG_APCORE_KEYRING) {
		RUN(disabled);
		return unit_done();
	}

	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		printf("Bail out! cannot find myself\n");
		return 1;
	}
	self[n] = 0;
	const char *w = unit_path("tests/lib/with-keyring.sh");
	if (!realpath(w, wrapper)) {
		printf("Bail out! %s: %s (set SRCDIR)\n", w, strerror(errno));
		return 1;
	}
	if (!getenv("APCORE_TEST_KEYRING")) {
		/* Started by hand: run again inside a private keyring. */
		fflush(stdout);
		execl("/bin/sh", "sh", wrapper, self, (char *)NULL);
		printf("Bail out! cannot run %s: %s\n", wrapper, strerror(errno));
		return 1;
	}

	alarm(120);   /* a hang is a failure, not a stuck CI job */
	const char *td = getenv("TMPDIR");
	if (!td || !*td || strlen(td) > 32)
		td = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/apcore-krtest.XXXXXX", td);
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}

	if (getenv("APCORE_TEST_KEYRING_LOCKED")) {
		int fake = have_python_keyring();
		if (fake)
			start_prompter();
		RUN(locked_probe);
		RUN(locked_lookup);
		RUN(locked_store);
		RUN(locked_delete);
		RUN(locked_untouched);
		if (fake)
			RUN(locked_never_prompted);
		else
			printf("SKIP: locked_never_prompted (needs %s with jeepney)\n", PY);
	} else {
		RUN(probe_ok);
		RUN(round_trip);
		RUN(round_trip_empty);
		RUN(round_trip_utf8);
		RUN(round_trip_binary);
		RUN(round_trip_large);
		RUN(replace);
		RUN(item_shape);
		RUN(delete_item);
		RUN(not_found);
		RUN(bad_arguments);
		RUN(from_secret_tool);
		RUN(to_secret_tool);
		RUN(schema_name_ignored);
		if (have_python_keyring())
			RUN(python_keyring);
		else
			printf("SKIP: python_keyring (%s lacks keyring/secretstorage)\n", PY);
		RUN(nobus_unset);
		RUN(xdg_runtime_bus);
		RUN(nobus_refused);
		RUN(nobus_no_service);
		RUN(timeout_listen_only);
		RUN(timeout_accept_and_read);
		RUN(timeout_no_hello_reply);
		if (have_python_keyring())
			RUN(timeout_silent_service);
		else
			printf("SKIP: timeout_silent_service (needs %s with jeepney)\n", PY);
		RUN(locked_collection);
	}

	char *rm[] = { "rm", "-rf", tmpdir, NULL };
	struct out r;
	run(rm, NULL, 0, &r);
	return unit_done();
}

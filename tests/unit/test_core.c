/* test_core.c - err.c, xalloc.c, xio.c, secure.c, strbuf.c */

#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/apcore-unit.XXXXXX";

static char *tpath(const char *name)
{
	static char buf[256];
	snprintf(buf, sizeof(buf), "%s/%s", tmpdir, name);
	return buf;
}

/* Run fn in a child with stderr captured; returns its exit status and the
 * stderr text in out. */
static int run_child(void (*fn)(void), char *out, size_t outlen)
{
	int p[2];
	if (pipe(p))
		abort();
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

/* ---------------------------------------------------------------- err */

static void child_die(void) { applet_name = "apcore-x"; die("bad %s", "thing"); }
static void child_die_code(void) { applet_name = "apcore-x"; die_code(47, "decrypt failed"); }
static void child_die_errno(void) { applet_name = "apcore-x"; errno = ENOENT; die_errno("cannot open %s", "f"); }
static void child_die_usage(void) { applet_name = "apcore-x"; die_usage("missing KEY"); }
static void child_die_ctrl(void) { applet_name = "apcore-x"; die("evil\nline\rwith\033[31m"); }
static void child_warn(void) { applet_name = "apcore-x"; warn_msg("careful"); _exit(0); }

TEST(err_formats)
{
	char buf[512];
	CHECK_INT(run_child(child_die, buf, sizeof(buf)), 1);
	CHECK_STR(buf, "apcore-x: bad thing\n");
	CHECK_INT(run_child(child_die_code, buf, sizeof(buf)), 47);
	CHECK_STR(buf, "apcore-x: decrypt failed\n");
	CHECK_INT(run_child(child_die_errno, buf, sizeof(buf)), 1);
	CHECK_STR(buf, "apcore-x: cannot open f: No such file or directory\n");
	CHECK_INT(run_child(child_die_usage, buf, sizeof(buf)), 2);
	CHECK_STR(buf, "apcore-x: missing KEY (try 'apcore-x --help')\n");
	CHECK_INT(run_child(child_warn, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "apcore-x: warning: careful\n");
}

TEST(err_neutralises_control_chars)
{
	char buf[512];
	CHECK_INT(run_child(child_die_ctrl, buf, sizeof(buf)), 1);
	CHECK_STR(buf, "apcore-x: evil?line?with?[31m\n");
}

/* die() must wipe registered secrets before exiting: check from inside an
 * atexit handler, which runs after the wipe. */
static unsigned char *exit_secret;
static void check_wiped_atexit(void)
{
	for (int i = 0; i < 32; i++)
		if (exit_secret[i])
			_exit(42);
	_exit(0);
}
static void child_die_with_secret(void)
{
	exit_secret = secure_alloc(32);
	memset(exit_secret, 0xAA, 32);
	atexit(check_wiped_atexit);
	die("failing while holding a secret");
}

TEST(die_wipes_secrets)
{
	char buf[256];
	CHECK_INT(run_child(child_die_with_secret, buf, sizeof(buf)), 0);
}

/* ------------------------------------------------------------- secure */

TEST(secure_registry)
{
	unsigned char stackbuf[16];
	memset(stackbuf, 0x55, sizeof(stackbuf));
	secure_register(stackbuf, sizeof(stackbuf));
	secure_wipe_all();
	unsigned char zero[16] = { 0 };
	CHECK_MEM(stackbuf, zero, 16);
	secure_unregister(stackbuf);

	char *s = secure_alloc(100);
	CHECK(s != NULL);
	for (int i = 0; i < 100; i++)
		CHECK_INT(s[i], 0);
	strcpy(s, "hunter2");
	secure_free(s);
	secure_free(NULL);
}

TEST(ct_memeq_works)
{
	CHECK(ct_memeq("abcd", "abcd", 4));
	CHECK(!ct_memeq("abcd", "abce", 4));
	CHECK(!ct_memeq("\x80" "bcd", "\x00" "bcd", 4));
	CHECK(ct_memeq("", "", 0));
}

static void child_nodump(void)
{
	secure_nodump();
	struct rlimit rl;
	getrlimit(RLIMIT_CORE, &rl);
	_exit(rl.rlim_cur == 0 && rl.rlim_max == 0 && prctl(PR_GET_DUMPABLE) == 0 ? 0 : 1);
}

TEST(nodump)
{
	char buf[64];
	CHECK_INT(run_child(child_nodump, buf, sizeof(buf)), 0);
}

/* ------------------------------------------------------------- strbuf */

TEST(strbuf_ops)
{
	struct strbuf sb = STRBUF_INIT;
	sb_puts(&sb, "abc");
	sb_putc(&sb, '-');
	sb_printf(&sb, "%d/%s", 42, "x");
	sb_add(&sb, "\0z", 2);
	CHECK_INT(sb.len, 10);
	CHECK_MEM(sb.buf, "abc-42/x\0z", 10);
	CHECK_INT(sb.buf[sb.len], 0);
	sb_reset(&sb);
	CHECK_INT(sb.len, 0);
	CHECK_STR(sb.buf, "");
	for (int i = 0; i < 10000; i++)
		sb_putc(&sb, 'a' + i % 26);
	CHECK_INT(sb.len, 10000);
	CHECK_INT(sb.buf[9999], 'a' + 9999 % 26);
	size_t len;
	char *p = sb_detach(&sb, &len);
	CHECK_INT(len, 10000);
	CHECK(sb.buf == NULL && sb.len == 0);
	free(p);
	struct strbuf e = STRBUF_INIT;
	p = sb_detach(&e, &len);
	CHECK_STR(p, "");
	free(p);
	sb_puts(&sb, "secret");
	sb_free_secure(&sb);
	CHECK(sb.buf == NULL);
}

/* ----------------------------------------------------------------- xio */

TEST(read_full_short_reads)
{
	int p[2];
	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		for (int i = 0; i < 100; i++) {
			(void)!write(p[1], "0123456789", 10);
			usleep(100);
		}
		_exit(0);
	}
	close(p[1]);
	char buf[2000];
	CHECK_INT(read_full(p[0], buf, 1000), 1000);
	CHECK_INT(read_full(p[0], buf, 1000), 0);  /* EOF */
	close(p[0]);
	waitpid(pid, NULL, 0);
	CHECK(read_full(-1, buf, 1) == -1 && errno == EBADF);
}

TEST(read_capped)
{
	int fd = open(tpath("cap"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char big[100000];
	memset(big, 'x', sizeof(big));
	CHECK_INT(write_full(fd, big, sizeof(big)), 0);
	close(fd);
	char *out;
	size_t len;
	CHECK_INT(read_file_capped(tpath("cap"), sizeof(big), &out, &len), 0);
	CHECK_INT(len, sizeof(big));
	CHECK_INT(out[len], 0);
	free(out);
	errno = 0;
	CHECK_INT(read_file_capped(tpath("cap"), sizeof(big) - 1, &out, &len), -1);
	CHECK_INT(errno, EFBIG);
	CHECK_INT(read_file_capped(tpath("nonexistent"), 10, &out, &len), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(read_file_capped(tmpdir, 10, &out, &len), -1);
	CHECK_INT(errno, EISDIR);
}

TEST(atomic_replace_basic)
{
	const char *p = tpath("cfg.yaml");
	CHECK_INT(atomic_replace(p, "one\n", 4, 0600), 0);
	char *out;
	size_t len;
	CHECK_INT(read_file_capped(p, 100, &out, &len), 0);
	CHECK_STR(out, "one\n");
	free(out);
	struct stat st;
	CHECK_INT(stat(p, &st), 0);
	CHECK_INT(st.st_mode & 07777, 0600);
	CHECK_INT(atomic_replace(p, "two\n", 4, 0640), 0);
	CHECK_INT(read_file_capped(p, 100, &out, &len), 0);
	CHECK_STR(out, "two\n");
	free(out);
	/* Failure (target is a directory): the old contents survive and no
	 * temp file is left behind. */
	CHECK_INT(mkdir(tpath("adir"), 0700), 0);
	CHECK_INT(atomic_replace(tpath("adir"), "x", 1, 0600), -1);
	CHECK_INT(errno, EISDIR);
	int leftovers = 0;
	FILE *ls = popen("ls -A /tmp/apcore-unit.* | grep -c apcore-tmp", "r");
	if (ls && fscanf(ls, "%d", &leftovers) != 1)
		leftovers = -1;
	if (ls)
		pclose(ls);
	CHECK_INT(leftovers, 0);
}

/* A special file is never replaced by a regular one (as root, a report
 * to /dev/null once renamed a file over /dev/null). */
TEST(atomic_replace_refuses_special_files)
{
	const char *fifo = tpath("fifo");
	CHECK_INT(mkfifo(fifo, 0600), 0);
	errno = 0;
	CHECK_INT(atomic_replace(fifo, "x", 1, 0600), -1);
	CHECK_INT(errno, EINVAL);
	struct stat st;
	CHECK_INT(lstat(fifo, &st), 0);
	CHECK(S_ISFIFO(st.st_mode));
	CHECK_INT(atomic_replace("/dev/null", "x", 1, 0600), -1);
	CHECK_INT(stat("/dev/null", &st), 0);
	CHECK(S_ISCHR(st.st_mode));

	/* write_output writes through a fifo (and /dev/null) instead. */
	int rd = open(fifo, O_RDONLY | O_NONBLOCK);
	CHECK(rd >= 0);
	CHECK_INT(write_output(fifo, "hello", 5, 0600), 0);
	char buf[8] = { 0 };
	CHECK_INT(read(rd, buf, sizeof(buf)), 5);
	CHECK_STR(buf, "hello");
	close(rd);
	CHECK_INT(write_output("/dev/null", "x", 1, 0600), 0);
	CHECK_INT(stat("/dev/null", &st), 0);
	CHECK(S_ISCHR(st.st_mode));
	CHECK_INT(write_output(tpath("out.json"), "{}\n", 3, 0600), 0);
	CHECK_INT(stat(tpath("out.json"), &st), 0);
	CHECK(S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
}

/* Crash between fsync and rename: interpose rename() (the executable's
 * definition wins over libc's for libcommon.a) and abort inside it. */
static int crash_in_rename;
int rename(const char *old, const char *new)
{
	if (crash_in_rename)
		abort();
	return renameat(AT_FDCWD, old, AT_FDCWD, new);
}

static void child_crash_replace(void)
{
	signal(SIGABRT, SIG_DFL);
	crash_in_rename = 1;
	atomic_replace(tpath("crash.yaml"), "new contents\n", 13, 0600);
	_exit(0);
}

TEST(atomic_replace_crash_keeps_old)
{
	CHECK_INT(atomic_replace(tpath("crash.yaml"), "old contents\n", 13, 0600), 0);
	char buf[64];
	CHECK_INT(run_child(child_crash_replace, buf, sizeof(buf)), 128 + SIGABRT);
	char *out;
	size_t len;
	CHECK_INT(read_file_capped(tpath("crash.yaml"), 100, &out, &len), 0);
	CHECK_STR(out, "old contents\n");
	free(out);
}

TEST(append_locked_concurrent)
{
	const char *p = tpath("log.jsonl");
	enum { WRITERS = 8, RECORDS = 400 };
	for (int w = 0; w < WRITERS; w++) {
		if (fork() == 0) {
			int fd = open(p, O_WRONLY | O_APPEND | O_CREAT, 0600);
			char line[200];
			for (int i = 0; i < RECORDS; i++) {
				int n = snprintf(line, sizeof(line),
				                 "{\"w\": %d, \"i\": %d, \"pad\": \"%080d\"}\n", w, i, 0);
				if (append_locked(fd, line, (size_t)n, 0))
					_exit(1);
			}
			_exit(0);
		}
	}
	int ok = 1, st;
	for (int w = 0; w < WRITERS; w++) {
		wait(&st);
		ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	CHECK(ok);
	char *out;
	size_t len;
	CHECK_INT(read_file_capped(p, 1 << 24, &out, &len), 0);
	int lines = 0, bad = 0;
	int seen[WRITERS] = { 0 };
	for (char *s = out, *nl; (nl = strchr(s, '\n')); s = nl + 1) {
		int w, i;
		lines++;
		if (sscanf(s, "{\"w\": %d, \"i\": %d,", &w, &i) != 2 || w < 0 || w >= WRITERS ||
		    i != seen[w]++ || strncmp(nl - 3, "0\"}", 3) != 0)
			bad++;
	}
	CHECK_INT(lines, WRITERS * RECORDS);
	CHECK_INT(bad, 0);
	free(out);
	int fd = open(p, O_RDONLY);
	CHECK_INT(append_locked(fd, "x", 1, 1), -1);  /* not writable */
	CHECK_INT(errno, EBADF);
	close(fd);
}

TEST(mkdir_p_modes)
{
	CHECK_INT(mkdir_p(tpath("a/b/c"), 0700), 0);
	struct stat st;
	CHECK_INT(stat(tpath("a/b"), &st), 0);
	CHECK_INT(st.st_mode & 0777, 0700 & ~0022 & 0700);
	CHECK_INT(mkdir_p(tpath("a/b/c"), 0700), 0);  /* exists: fine */
	CHECK_INT(atomic_replace(tpath("a/file"), "", 0, 0600), 0);
	CHECK_INT(mkdir_p(tpath("a/file"), 0700), -1);
	CHECK_INT(errno, ENOTDIR);
}

/* -------------------------------------------------------------- xalloc */

TEST(xalloc_basics)
{
	char *s = xasprintf("%s-%d", "a", 7);
	CHECK_STR(s, "a-7");
	free(s);
	s = xstrndup("abcdef", 3);
	CHECK_STR(s, "abc");
	free(s);
	int *z = xcalloc(16, sizeof(int));
	int sum = 0;
	for (int i = 0; i < 16; i++)
		sum += z[i];
	CHECK_INT(sum, 0);
	z = xreallocarray(z, 32, sizeof(int));
	free(z);
}

static void child_oom(void)
{
	applet_name = "apcore-x";
	(void)!xmalloc(SIZE_MAX / 2);
}

TEST(xalloc_dies_cleanly)
{
	char buf[256];
	CHECK_INT(run_child(child_oom, buf, sizeof(buf)), 1);
	CHECK(strstr(buf, "apcore-x: out of memory (") != NULL);  /* ASan may warn first */
}

TEST(send_recv_fd)
{
	int sp[2], pp[2], fd = -2;
	char buf[8] = "";
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0);
	CHECK(pipe(pp) == 0);
	CHECK(send_fd(sp[0], "abc", 3, pp[1]) == 3);
	close(pp[1]);
	CHECK(recv_fd(sp[1], buf, sizeof(buf), &fd, 0) == 3);
	CHECK(memcmp(buf, "abc", 3) == 0);
	CHECK(fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC);
	CHECK(write(fd, "x", 1) == 1);  /* the pipe's write end came across */
	close(fd);
	CHECK(read(pp[0], buf, 1) == 1 && buf[0] == 'x');
	/* without a descriptor: *fd is -1 */
	CHECK(send_fd(sp[0], "d", 1, -1) == 1);
	CHECK(recv_fd(sp[1], buf, sizeof(buf), &fd, 0) == 1 && fd == -1);
	/* the other end gone: 0, no descriptor */
	close(sp[0]);
	CHECK(recv_fd(sp[1], buf, sizeof(buf), &fd, 0) == 0 && fd == -1);
	close(sp[1]);
	close(pp[0]);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	RUN(err_formats);
	RUN(err_neutralises_control_chars);
	RUN(die_wipes_secrets);
	RUN(secure_registry);
	RUN(ct_memeq_works);
	RUN(nodump);
	RUN(strbuf_ops);
	RUN(read_full_short_reads);
	RUN(read_capped);
	RUN(atomic_replace_basic);
	RUN(atomic_replace_crash_keeps_old);
	RUN(atomic_replace_refuses_special_files);
	RUN(append_locked_concurrent);
	RUN(mkdir_p_modes);
	RUN(xalloc_basics);
	RUN(xalloc_dies_cleanly);
	RUN(send_recv_fd);
	char *cmd = xasprintf("rm -rf %s", tmpdir);
	(void)!system(cmd);
	free(cmd);
	return unit_done();
}

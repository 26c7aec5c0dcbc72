/* attack.c - one escape attempt per mode, for tests/sandbox-attacks.test.
 *
 *   attack MODE [ARGS...]
 *
 * Prints "ESCAPED" and exits 0 when the attempt worked, prints
 * "blocked: <what>: <errno text>" and exits 1 when the kernel refused it.
 * Some attempts never return when they are stopped (killed by seccomp or
 * a limit): the test reads the exit status then.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

static int blocked(const char *what)
{
	printf("blocked: %s: %s\n", what, strerror(errno));
	return 1;
}

static int escaped(void)
{
	printf("ESCAPED\n");
	return 0;
}

static int do_read(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return blocked("open");
	if (read(fd, buf, sizeof(buf)) < 0)
		return blocked("read");
	return escaped();
}

static int do_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return blocked("open");
	if (write(fd, "pwned\n", 6) != 6)
		return blocked("write");
	return escaped();
}

/* link SRC DST, then write through DST: gaining write access by a link */
static int do_link(const char *src, const char *dst)
{
	if (link(src, dst))
		return blocked("link");
	return do_write(dst);
}

static int do_rename(const char *src, const char *dst)
{
	if (rename(src, dst))
		return blocked("rename");
	return escaped();
}

static int inet_sock(int type, int proto, int port, int do_connect)
{
	int s = socket(AF_INET, type, proto);
	if (s < 0)
		return blocked("socket");
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (do_connect ? connect(s, (struct sockaddr *)&a, sizeof(a))
	               : bind(s, (struct sockaddr *)&a, sizeof(a)))
		return blocked(do_connect ? "connect" : "bind");
	if (type == SOCK_DGRAM && do_connect && send(s, "x", 1, 0) != 1)
		return blocked("send");
	return escaped();
}

static int do_abstract(const char *name)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0)
		return blocked("socket");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	memcpy(a.sun_path + 1, name, n);
	if (connect(s, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)))
		return blocked("connect");
	return escaped();
}

static int do_tiocsti(void)
{
	const char *cmd = "echo INJECTED\n";
	for (const char *c = cmd; *c; c++)
		if (ioctl(0, TIOCSTI, c))
			return blocked("TIOCSTI");
	return escaped();
}

static int do_ptrace(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	long rc = ptrace(PTRACE_ATTACH, pid, 0, 0);
	int e = errno;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	errno = e;
	return rc ? blocked("ptrace") : escaped();
}

static int do_int80(void)
{
	/* getpid through the i386 ABI from a 64-bit process */
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	if (ret < 0) {
		errno = (int)-ret;
		return blocked("int 0x80");
	}
	return escaped();
}

static int do_x32(void)
{
	long ret = syscall(0x40000000L | 39 /* getpid */);
	return ret < 0 ? blocked("x32 getpid") : escaped();
}

static int do_handle(void)
{
	struct { struct file_handle h; unsigned char b[128]; } fh;
	int mnt;
	fh.h.handle_bytes = 128;
	if (name_to_handle_at(AT_FDCWD, "/", &fh.h, &mnt, 0))
		return blocked("name_to_handle_at");
	if (open_by_handle_at(AT_FDCWD, &fh.h, O_RDONLY) < 0)
		return blocked("open_by_handle_at");
	return escaped();
}

static int do_forkbomb(int count)
{
	int n = 0;
	for (int i = 0; i < count; i++) {
		pid_t p = fork();
		if (p < 0) {
			printf("blocked: fork after %d: %s\n", n, strerror(errno));
			return 1;
		}
		if (p == 0) {
			pause();
			_exit(0);
		}
		n++;
	}
	return escaped();
}

static int do_membomb(long mb)
{
	for (long i = 0; i < mb; i++) {
		char *p = malloc(1 << 20);
		if (!p)
			return blocked("malloc");
		memset(p, 1, 1 << 20);
	}
	return escaped();
}

static int do_fill(long mb)
{
	int fd = open("fill", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	static char buf[1 << 20];
	if (fd < 0)
		return blocked("open");
	signal(SIGXFSZ, SIG_DFL);
	for (long i = 0; i < mb; i++)
		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			return blocked("write");
	return escaped();
}

static int do_fds(int want)
{
	for (int i = 0; i < want; i++)
		if (open("/dev/null", O_RDONLY) < 0) {
			printf("blocked: open after %d: %s\n", i, strerror(errno));
			return 1;
		}
	return escaped();
}

static int do_unshare_user(void)
{
	if (unshare(CLONE_NEWUSER))
		return blocked("unshare");
	return escaped();
}

static int do_clone_user(void)
{
	long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0)
		return blocked("clone");
	if (pid == 0)
		_exit(0);
	waitpid((pid_t)pid, NULL, 0);
	return escaped();
}

static int do_procmem(void)
{
	/* write our own text through /proc/self/mem */
	int fd = open("/proc/self/mem", O_RDWR);
	if (fd < 0)
		return blocked("open /proc/self/mem");
	static const char x = 0;
	if (pwrite(fd, &x, 1, (off_t)(uintptr_t)&do_procmem) != 1)
		return blocked("pwrite");
	return escaped();
}

/* listener CMD...: run CMD under a seccomp filter that has a notification
 * listener (as a container manager's would), so CMD cannot get another */
static int do_listener(char **cmd)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sysfs, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	long fd;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    (fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
	                  &prog)) < 0)
		return blocked("seccomp listener");
	/* the listener lives while a child holds it (until CMD ends) */
	pid_t parent = getpid();
	if (fork() == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(0);
		pause();
		_exit(0);
	}
	close((int)fd);
	execvp(cmd[0], cmd);
	return blocked("exec");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2)
		return 2;
	const char *m = argv[1], *a = argc > 2 ? argv[2] : "", *b = argc > 3 ? argv[3] : "";
	if (!strcmp(m, "read")) return do_read(a);
	if (!strcmp(m, "write")) return do_write(a);
	if (!strcmp(m, "link")) return do_link(a, b);
	if (!strcmp(m, "rename")) return do_rename(a, b);
	if (!strcmp(m, "tcp-connect")) return inet_sock(SOCK_STREAM, 0, atoi(a), 1);
	if (!strcmp(m, "tcp-bind")) return inet_sock(SOCK_STREAM, 0, atoi(a), 0);
	if (!strcmp(m, "mptcp-connect")) return inet_sock(SOCK_STREAM, IPPROTO_MPTCP, atoi(a), 1);
	if (!strcmp(m, "udp-send")) return inet_sock(SOCK_DGRAM, 0, atoi(a), 1);
	if (!strcmp(m, "sctp-connect")) return inet_sock(SOCK_STREAM, IPPROTO_SCTP, atoi(a), 1);
	if (!strcmp(m, "abstract")) return do_abstract(a);
	if (!strcmp(m, "kill")) return kill(atoi(a), SIGTERM) ? blocked("kill") : escaped();
	if (!strcmp(m, "tiocsti")) return do_tiocsti();
	if (!strcmp(m, "ptrace")) return do_ptrace();
	if (!strcmp(m, "mount"))
		return mount("none", "/tmp", "tmpfs", 0, NULL) ? blocked("mount") : escaped();
	if (!strcmp(m, "unshare-user")) return do_unshare_user();
	if (!strcmp(m, "clone-user")) return do_clone_user();
	if (!strcmp(m, "module"))
		return syscall(SYS_finit_module, 0, "", 0) ? blocked("finit_module") : escaped();
	if (!strcmp(m, "bpf"))
		return syscall(SYS_bpf, 0, NULL, 0) && errno == EPERM ? blocked("bpf") : escaped();
	if (!strcmp(m, "keyctl"))
		return syscall(SYS_add_key, "user", "x", "y", 1, -3) < 0 ? blocked("add_key") : escaped();
	if (!strcmp(m, "int80")) return do_int80();
	if (!strcmp(m, "x32")) return do_x32();
	if (!strcmp(m, "handle")) return do_handle();
	if (!strcmp(m, "listener")) return do_listener(argv + 2);
	/* an obsolete call no ordinary program makes: only the allow-list stops it */
	if (!strcmp(m, "sysfs"))
		return syscall(SYS_sysfs, 3) < 0 ? blocked("sysfs") : escaped();
	if (!strcmp(m, "forkbomb")) return do_forkbomb(atoi(a));
	if (!strcmp(m, "membomb")) return do_membomb(atol(a));
	if (!strcmp(m, "spin")) for (;;) ;
	if (!strcmp(m, "fill")) return do_fill(atol(a));
	if (!strcmp(m, "fds")) return do_fds(atoi(a));
	if (!strcmp(m, "procmem")) return do_procmem();
	if (!strcmp(m, "euid"))  /* run set-uid root: did it gain root? */
		return geteuid() == 0 && getuid() != 0 ? escaped() : (errno = EPERM, blocked("set-uid"));
	if (!strcmp(m, "exec")) {
		execv(a, argv + 2);
		return blocked("exec");
	}
	fprintf(stderr, "attack: unknown mode %s\n", m);
	return 2;
}

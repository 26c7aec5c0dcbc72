/* init.c - the two processes inside the sandbox.
 *
 * init is the child of the clone: PID 1 of the new PID namespace.  It maps
 * its uid, builds the view, forks the command and then only waits: it
 * reaps every orphan, forwards the signals the supervisor sends it to the
 * command, and when the command is gone kills whatever is left, so no
 * grandchild survives the run.  A PID 1 ignores signals it has no handler
 * for, but not blocked ones: init keeps everything blocked and takes
 * signals with sigwaitinfo(), honouring only those sent from outside its
 * namespace (si_pid 0), so the command cannot steer it.
 *
 * The command (PID 2) gets its own session (no controlling terminal, so
 * TIOCSTI has nothing to inject into) and session keyring, loses every
 * capability including the bounding set, sets no_new_privs and execs.
 */

#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECBIT_NOROOT
#define SECBIT_NOROOT (1 << 0)
#define SECBIT_NOROOT_LOCKED (1 << 1)
#define SECBIT_NO_SETUID_FIXUP (1 << 2)
#define SECBIT_NO_SETUID_FIXUP_LOCKED (1 << 3)
#define SECBIT_KEEP_CAPS_LOCKED (1 << 5)
#define SECBIT_NO_CAP_AMBIENT_RAISE (1 << 6)
#define SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED (1 << 7)
#endif

extern char **environ;

void sbx_msg_send(int fd, int type, int a, int b, const char *fmt, ...)
{
	struct sbx_msg m;
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.a = a;
	m.b = b;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(m.text, sizeof(m.text), fmt, ap);
		va_end(ap);
	}
	(void)write_full(fd, &m, sizeof(m));
}

static void layer_msg(struct sbx_run *r, int id, int ok, const char *detail)
{
	if (ok && !detail)
		r->applied_mask |= 1u << id;
	else
		sbx_msg_send(r->msg_w, SBX_MSG_LAYER, id, ok ? SBX_APPLIED : SBX_DEGRADED, "%s",
		             detail ? detail : "");
}

/* A requested layer failed: refuse, or with --best-effort note it and go on. */
static void layer_failed(struct sbx_run *r, int id, const char *why)
{
	if (!r->pol->best_effort) {
		sbx_msg_send(r->msg_w, SBX_MSG_FAIL, id, 0,
		             "cannot apply the %s layer (%s): %s; refusing to run without it "
		             "(--best-effort runs anyway)", sbx_layers[id].name, sbx_layers[id].what, why);
		_exit(SBX_EX_SETUP);
	}
	layer_msg(r, id, 0, why);
}

static NORETURN PRINTF(2, 3) void setup_failed(const struct sbx_run *r, const char *fmt, ...)
{
	struct sbx_msg m;
	va_list ap;
	memset(&m, 0, sizeof(m));
	m.type = SBX_MSG_FAIL;
	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	va_end(ap);
	(void)write_full(r->msg_w, &m, sizeof(m));
	_exit(SBX_EX_SETUP);
}

/* ------------------------------------------------------------ credentials */

/* Map our own uid and gid, and nothing else: allowed without privilege in
 * the parent namespace once setgroups is denied (user_namespaces(7)). */
static int map_ids(const struct sbx_run *r, char *why, size_t whylen)
{
	char line[64];
	if (write_file_text("/proc/self/setgroups", "deny") && errno != ENOENT) {
		snprintf(why, whylen, "setgroups deny: %s", strerror(errno));
		return -1;
	}
	snprintf(line, sizeof(line), "%lu %lu 1\n", (unsigned long)r->uid_in, (unsigned long)r->uid);
	if (write_file_text("/proc/self/uid_map", line)) {
		snprintf(why, whylen, "uid_map: %s", strerror(errno));
		return -1;
	}
	snprintf(line, sizeof(line), "%lu %lu 1\n", (unsigned long)r->gid_in, (unsigned long)r->gid);
	if (write_file_text("/proc/self/gid_map", line)) {
		snprintf(why, whylen, "gid_map: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Empty every capability set, including the bounding set, and lock root
 * out of regaining any on exec (SECBIT_NOROOT): root maps to itself. */
static int drop_caps(char *why, size_t whylen)
{
	int privileged = 1;
	for (unsigned long c = 0; c < 64; c++) {
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL)
			break;  /* past the last capability of this kernel */
		/* No CAP_SETPCAP: only without a user namespace, unprivileged;
		 * exec cannot raise anything then (no_new_privs, not root). */
		if (errno == EPERM && getuid() != 0 && geteuid() != 0) {
			privileged = 0;
			break;
		}
		snprintf(why, whylen, "PR_CAPBSET_DROP: %s", strerror(errno));
		return -1;
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (privileged &&
	    prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
	          SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
	          SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, 0, 0, 0)) {
		snprintf(why, whylen, "PR_SET_SECUREBITS: %s", strerror(errno));
		return -1;
	}
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data)) {
		snprintf(why, whylen, "capset: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ----------------------------------------------------------- the command */

/* Landlock, seccomp, then the rlimits: the Landlock rules take a
 * descriptor each and must not be bound by --rlimit-nofile (setrlimit is
 * not on the deny-list). */
static void confine(struct sbx_run *r)
{
	char detail[SBX_TEXT_LEN - 8];
	if (!r->pol->no_landlock) {
		if (sbx_landlock_apply(r, detail, sizeof(detail)))
			layer_failed(r, SBX_L_LANDLOCK, detail);
		else
			layer_msg(r, SBX_L_LANDLOCK, 1, detail);
	}
	if (r->pol->seccomp != SBX_SC_OFF) {
		if (sbx_seccomp_apply(r, detail, sizeof(detail)))
			layer_failed(r, SBX_L_SECCOMP, detail);
		else
			layer_msg(r, SBX_L_SECCOMP, 1, detail);
	}
	if (sbx_rlimit_apply(r->pol, detail, sizeof(detail)))
		layer_failed(r, SBX_L_RLIMIT, detail);
	else
		layer_msg(r, SBX_L_RLIMIT, 1, detail[0] ? detail : NULL);
}

/* --secret-fd: the sealed memfds become descriptors 3, 4, ... (without
 * close-on-exec).  What the command still needs there (the record pipe,
 * the signed bytes) moves above them first. */
static void place_secret_fds(struct sbx_run *r)
{
	int top = 3 + (int)r->n_secret_fd;
	if (!r->n_secret_fd)
		return;
	int *fds[] = { &r->msg_w, &r->exec_fd, &r->notify_w };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0 && *fds[i] < top) {
			int fd = fcntl(*fds[i], F_DUPFD_CLOEXEC, top);
			if (fd < 0)
				setup_failed(r, "--secret-fd: fcntl: %s", strerror(errno));
			*fds[i] = fd;
		}
	}
	for (size_t i = 0; i < r->n_secret_fd; i++) {
		if (r->secret_fd[i] < top) {
			int fd = fcntl(r->secret_fd[i], F_DUPFD_CLOEXEC, top);
			if (fd < 0)
				setup_failed(r, "--secret-fd: fcntl: %s", strerror(errno));
			r->secret_fd[i] = fd;
		}
	}
	for (size_t i = 0; i < r->n_secret_fd; i++)
		if (dup2(r->secret_fd[i], 3 + (int)i) < 0)
			setup_failed(r, "--secret-fd: dup2: %s", strerror(errno));
}

static NORETURN void exec_command(struct sbx_run *r)
{
	char why[160];
	sigset_t none;

	if ((r->cmd_in >= 0 && dup2(r->cmd_in, STDIN_FILENO) < 0) ||
	    dup2(r->cmd_out, STDOUT_FILENO) < 0 || dup2(r->cmd_err, STDERR_FILENO) < 0)
		setup_failed(r, "cannot set up the command's standard streams: %s", strerror(errno));
	place_secret_fds(r);
	/* Nothing but 0, 1, 2 and the --secret-fd descriptors crosses the
	 * exec: an inherited descriptor of a host directory would open the
	 * whole host to openat(). */
	unsigned first = 3 + (unsigned)r->n_secret_fd;
	if (close_range(first, ~0U, CLOSE_RANGE_CLOEXEC))
		for (int fd = (int)first; fd < 65536; fd++)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);

	if (setsid() < 0)
		layer_failed(r, SBX_L_SESSION, "setsid failed");
	/* A fresh session keyring: the caller's keys are not ours to hand out.
	 * Where keyctl is blocked (a container's seccomp filter, inherited by
	 * the command too) there is no keyring to reach either. */
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) >= 0) {
		layer_msg(r, SBX_L_SESSION, 1, NULL);
	} else if (errno == ENOSYS || errno == EPERM) {
		layer_msg(r, SBX_L_SESSION, 1, "keyctl is blocked here");
	} else {
		snprintf(why, sizeof(why), "new session keyring: %s", strerror(errno));
		layer_failed(r, SBX_L_SESSION, why);
	}
	if (!(r->ns_flags & CLONE_NEWPID))
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

	if (drop_caps(why, sizeof(why)))
		layer_failed(r, SBX_L_CAPS, why);
	else
		layer_msg(r, SBX_L_CAPS, 1, NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(why, sizeof(why), "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		layer_failed(r, SBX_L_NNP, why);
	} else {
		layer_msg(r, SBX_L_NNP, 1, NULL);
	}

	confine(r);

	sbx_msg_send(r->msg_w, SBX_MSG_APPLIED, 0, (int)r->applied_mask, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	environ = r->envp.v;
	if (r->exec_fd >= 0) {
		/* the verified bytes; a script's interpreter reads /dev/fd/N */
		(void)fcntl(r->exec_fd, F_SETFD, 0);
		syscall(SYS_execveat, r->exec_fd, "", r->argv.v, r->envp.v, AT_EMPTY_PATH);
	} else {
		execvp(r->argv.v[0], r->argv.v);
	}
	int e = errno;
	sbx_msg_send(r->msg_w, SBX_MSG_EXEC_FAIL, e, 0, NULL);
	_exit(e == ENOENT || e == ENOTDIR ? APC_EX_NOTFOUND : APC_EX_NOEXEC);
}

/* --------------------------------------------------------------- set-up */

static int loopback_up(char *why, size_t whylen)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (rc)
		snprintf(why, whylen, "bringing lo up: %s", strerror(errno));
	close(s);
	return rc;
}

/* net_late: our user namespace for the supervisor's helper, which makes
 * the network namespace in it (our own /proc/self/ns/user: no ptrace
 * check, dumpable or not).  A failure shows as the helper's error. */
static void send_userns(const struct sbx_run *r)
{
	if (!r->net_late)
		return;
	/* without the descriptor the byte alone: the helper answers with an error */
	int fd = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	(void)send_fd(r->net_sk, "u", 1, fd);
	if (fd >= 0)
		close(fd);
}

/* The network namespace the supervisor's helper made (net_late): enter
 * it; if the helper could not make one, unshare one here, the way clone
 * would have (and fail, or degrade, with the same words as the clone). */
static void enter_net(struct sbx_run *r)
{
	int e = EPIPE, nfd = -1;
	if (!r->net_late)
		return;
	if (recv_fd(r->net_sk, &e, sizeof(e), &nfd, 0) != (ssize_t)sizeof(e) && nfd >= 0) {
		close(nfd);
		nfd = -1;
	}
	close(r->net_sk);
	r->net_sk = -1;
	e = 0;
	if (nfd < 0 || setns(nfd, CLONE_NEWNET))
		e = unshare(CLONE_NEWNET) ? errno : 0;
	if (nfd >= 0)
		close(nfd);
	if (!e)
		return;
	if (!r->pol->best_effort)
		setup_failed(r, "cannot create the %s: %s; refusing to run without it "
		             "(--best-effort runs anyway)", sbx_layers[SBX_L_NET].what, strerror(e));
	r->ns_flags &= ~(unsigned long)CLONE_NEWNET;
	layer_msg(r, SBX_L_NET, 0, strerror(e));
}

/* The view, or with --best-effort the host's tree (the tmpfs that was
 * being built is detached again). */
static void enter_view(struct sbx_run *r)
{
	char why[200];
	if (!(r->ns_flags & CLONE_NEWNS))
		return;
	int rc = sbx_view_enter(&r->plan, r->tmpdir, (r->ns_flags & CLONE_NEWPID) != 0, why,
	                        sizeof(why));
	if (rc == 0) {
		layer_msg(r, SBX_L_MOUNT, 1, NULL);
		return;
	}
	/* a path the caller asked for is not a protection to do without */
	if (rc == -2)
		setup_failed(r, "%s", why);
	layer_failed(r, SBX_L_MOUNT, why);
	(void)umount2(r->tmpdir, MNT_DETACH);
}

static void set_up(struct sbx_run *r)
{
	char why[200];

	/* The sandbox never outlives its supervisor: without it nothing
	 * enforces the limits.  (The supervisor may have died before the
	 * prctl: then the lifeline pipe is already at EOF.) */
	struct pollfd pfd = { r->life_r, POLLIN, 0 };
	char go;
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	send_userns(r);
	/* the supervisor's go (after it put us into the cgroup), or EOF */
	if (read(r->life_r, &go, 1) != 1 || poll(&pfd, 1, 0) > 0)
		_exit(SBX_EX_SETUP);
	if (r->ns_flags & CLONE_NEWUSER) {
		/* An unprivileged process can write its own id maps only while
		 * dumpable (the /proc files are root's otherwise), and with
		 * --secret we inherit the supervisor's "not dumpable": lifted
		 * for these three writes only. */
		(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		int bad = map_ids(r, why, sizeof(why));
		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		if (bad)
			layer_failed(r, SBX_L_USER, why);
		else
			layer_msg(r, SBX_L_USER, 1, NULL);
	}
	/* From here not dumpable: no process of our uid outside can read our
	 * memory or descriptors (the --secret values, the --secret-fd
	 * descriptors, the view's handles).  The command is dumpable again
	 * after its exec. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setsid();  /* off the terminal's process group: ^C reaches the supervisor only */
	enter_view(r);
	enter_net(r);
	if ((r->ns_flags & CLONE_NEWNET) && r->pol->net == SBX_NET_LOOPBACK) {
		if (loopback_up(why, sizeof(why)))
			layer_failed(r, SBX_L_NET, why);
		else
			layer_msg(r, SBX_L_NET, 1, "loopback up");
	}
	if ((r->ns_flags & CLONE_NEWUTS) && sethostname(SBX_HOSTNAME, strlen(SBX_HOSTNAME))) {
		snprintf(why, sizeof(why), "sethostname: %s", strerror(errno));
		layer_failed(r, SBX_L_UTS, why);
	}
	if (chdir(r->cwd))
		setup_failed(r, "cannot enter the working directory %s in the view: %s", r->cwd,
		             strerror(errno));
}

/* ------------------------------------------------------------ init's loop */

/* Signal every process of the sandbox but init.  Without a PID namespace
 * (--best-effort) that is the command's process group plus the orphans
 * re-parented to us as subreaper. */
static void kill_all(const struct sbx_run *r, pid_t cmd, int taskfd, int sig)
{
	if (r->ns_flags & CLONE_NEWPID) {
		(void)kill(-1, sig);
		return;
	}
	if (cmd > 0)
		(void)kill(-cmd, sig);
	if (taskfd < 0)
		return;
	int fd = openat(taskfd, "children", O_RDONLY | O_CLOEXEC);
	char buf[4096];
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (char *p = buf, *end; *p; p = end) {
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 1)
			(void)kill((pid_t)pid, sig);
	}
}

/* After the command: kill the rest and reap until nothing is left. */
static void finish(const struct sbx_run *r, int taskfd)
{
	int st;
	for (;;) {
		kill_all(r, 0, taskfd, SIGKILL);
		pid_t p = waitpid(-1, &st, 0);
		if (p < 0 && errno == ECHILD)
			return;
	}
}

_Static_assert(sizeof(struct rusage) <= SBX_TEXT_LEN, "a struct rusage fits in a record");

static NORETURN void wait_loop(const struct sbx_run *r, pid_t cmd, int taskfd)
{
	sigset_t set;
	siginfo_t si;
	int status = 0, st;

	sigfillset(&set);
	for (;;) {
		int sig = sigwaitinfo(&set, &si);
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			pid_t p;
			int done = 0;
			while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
				if (p == cmd) {
					status = st;
					done = 1;
				}
			}
			if (done)
				break;
			continue;
		}
		/* only the supervisor's signals: from outside the namespace, or
		 * without one, from our parent */
		if ((r->ns_flags & CLONE_NEWPID) ? si.si_pid != 0 : si.si_pid != getppid())
			continue;
		if (sig == SIGUSR1)
			kill_all(r, cmd, taskfd, SIGTERM);
		else
			(void)kill(cmd, sig);
	}
	kill_all(r, cmd, taskfd, SIGKILL);
	finish(r, taskfd);
	/* everything is reaped: its usage is our children's */
	struct sbx_msg m;
	struct rusage ru;
	memset(&m, 0, sizeof(m));
	m.type = SBX_MSG_EXIT;
	m.a = status;
	if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
		memcpy(m.text, &ru, sizeof(ru));
	(void)write_full(r->msg_w, &m, sizeof(m));
	_exit(0);
}

/* The command starts with vfork(), the way posix_spawn() starts a
 * program: no copy of init's page tables, no copy-on-write faults, no copy
 * to tear down at exec.  Init sleeps until the command has exec'd or
 * exited.  Between the two, exec_command() (which never returns) makes
 * system calls and uses the stack below init's frame only (no malloc, no
 * stdio); of init's memory it writes r->applied_mask and the descriptor
 * numbers place_secret_fds() moves, which init restores, and
 * r->secret_fd[], environ and errno, which init does not use afterwards.
 * A frame of its own: nothing of init's lives across the vfork() but r. */
static struct {
	unsigned mask;
	int msg_w, exec_fd, notify_w;  /* place_secret_fds() may move them */
} init_saved;  /* not on the stack the command runs on */

static __attribute__((noinline)) pid_t spawn_command(struct sbx_run *r)
{
	init_saved.mask = r->applied_mask;
	init_saved.msg_w = r->msg_w;
	init_saved.exec_fd = r->exec_fd;
	init_saved.notify_w = r->notify_w;
	pid_t cmd = vfork();
	if (cmd == 0) {
		r->applied_mask = 0;  /* init reports its own */
		exec_command(r);
	}
	r->applied_mask = init_saved.mask;
	r->msg_w = init_saved.msg_w;
	r->exec_fd = init_saved.exec_fd;
	r->notify_w = init_saved.notify_w;
	return cmd;
}

void sbx_init_main(struct sbx_run *r)
{
	sigset_t all;
	int taskfd = -1;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if (!(r->ns_flags & CLONE_NEWPID)) {
		char path[64];
		(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
		snprintf(path, sizeof(path), "/proc/self/task/%ld", (long)syscall(SYS_gettid));
		taskfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	set_up(r);

	pid_t cmd = spawn_command(r);
	if (cmd < 0)
		setup_failed(r, "cannot fork the command: %s", strerror(errno));
	if (r->cmd_in >= 0)
		close(r->cmd_in);
	close(r->cmd_out);
	close(r->cmd_err);
	/* The caller's streams are the command's business now: a reader of
	 * our stdout must not wait for init's exit to see EOF. */
	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	close(STDERR_FILENO);
	sbx_msg_send(r->msg_w, SBX_MSG_READY, cmd, (int)r->applied_mask, NULL);
	wait_loop(r, cmd, taskfd);
}

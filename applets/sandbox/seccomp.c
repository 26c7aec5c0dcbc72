/* seccomp.c - the command's system-call filter, built with libseccomp.
 *
 * Deny-list mode (the default) blocks what container runtimes block:
 * kernel modules, kexec, reboot, the mount family, namespaces (setns, and
 * unshare/clone with any CLONE_NEW* flag; clone3 answers ENOSYS because
 * its flags cannot be inspected, and libc falls back to clone), bpf,
 * perf_event_open, ptrace and cross-process memory access, the kernel
 * keyring, userfaultfd, io_uring, open_by_handle_at, personality flags
 * that turn off ASLR or make data executable, ioctl TIOCSTI/TIOCLINUX
 * (terminal injection, CVE-2017-5226), clock and swap changes.  Sockets:
 * never packet sockets or MPTCP; with a TCP port allow-list, IPv4/IPv6
 * only as plain TCP streams (UDP, SCTP, raw would walk around Landlock's
 * TCP rules).  A system call of another ABI (i386 int 0x80, x32) kills the
 * process outright.  The action for a denied call is EPERM, kill or log.
 *
 * Allow-list mode stacks a second filter on the deny-list: only the calls
 * below (what ordinary programs, shells, interpreters and compilers use)
 * pass it, anything else answers ENOSYS ("this kernel lacks it", so libc
 * falls back to an older call) or kills/logs per the action.  The kernel
 * takes the strictest verdict of all filters, so the deny-list's argument
 * checks (clone flags, ioctl numbers, socket families) still hold.
 * --seccomp-allow adds to the list, --seccomp-deny takes out of it.
 *
 * Counting denials (action errno): the refusing filter's action is
 * SCMP_ACT_NOTIFY instead of ERRNO, and its listener descriptor goes to
 * the supervisor over a socket; the supervisor answers every notification
 * with the errno the call would have had (sbx_seccomp_errno) and counts it
 * for the report.  A call is never continued, so nothing depends on the
 * supervisor reading arguments in time.  In allow-list mode the listener
 * is the allow-list's (its unconditional deny rules are redundant there
 * and left out, so those calls reach it); only the deny-list's argument
 * checks (clone/unshare flags, ioctl numbers, socket families) stay plain
 * EPERM there, uncounted.  Where the kernel or libseccomp lacks
 * notifications, plain ERRNO, uncounted (the layer's detail says so).
 */

#include "sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if CFG_APCORE_SANDBOX_SECCOMP
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#define SBX_TIOCSTI 0x5412
#define SBX_TIOCLINUX 0x541C
#define SBX_ADDR_NO_RANDOMIZE 0x0040000
#define SBX_READ_IMPLIES_EXEC 0x0400000

static const char *const deny_default[] = {
	"init_module", "finit_module", "delete_module", "create_module", "kexec_load",
	"kexec_file_load", "reboot", "mount", "umount", "umount2", "pivot_root", "move_mount",
	"open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "setns", "bpf",
	"perf_event_open", "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
	"keyctl", "add_key", "request_key", "userfaultfd", "io_uring_setup", "io_uring_enter",
	"io_uring_register", "open_by_handle_at", "name_to_handle_at", "swapon", "swapoff",
	"acct", "quotactl", "quotactl_fd", "settimeofday", "clock_settime", "clock_adjtime",
	"adjtimex", "syslog", "iopl", "ioperm", "vhangup", "uselib", "lookup_dcookie",
	"fanotify_init", "nfsservctl", "_sysctl", "get_kernel_syms", "query_module",
};

/* The allow-list: by name, so a call this libseccomp or architecture does
 * not know is skipped (the i386/32-bit names never resolve on x86_64). */
static const char *const allow_default[] = {
	/* files and directories */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "open", "openat", "openat2", "creat", "close", "close_range",
	"lseek", "_llseek", "stat", "fstat", "lstat", "newfstatat", "statx", "stat64", "fstat64",
	"lstat64", "fstatat64", "statfs", "fstatfs", "statfs64", "fstatfs64", "access",
	"faccessat", "faccessat2", "readlink", "readlinkat", "getdents", "getdents64", "mkdir",
	"mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "link",
	"linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown",
	"fchown", "fchownat", "lchown", "chown32", "fchown32", "lchown32", "umask", "truncate",
	"ftruncate", "truncate64", "ftruncate64", "fallocate", "fadvise64", "fadvise64_64",
	"readahead", "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "flock",
	"utime", "utimes", "utimensat", "futimesat", "chdir", "fchdir", "getcwd", "mknod",
	"mknodat", "sendfile", "sendfile64", "splice", "tee", "vmsplice", "copy_file_range",
	"getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr",
	"listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr",
	"fremovexattr", "getxattrat", "setxattrat", "listxattrat", "removexattrat",
	"inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
	"fanotify_mark", "cachestat",
	/* descriptors, polling, pipes, events */
	"dup", "dup2", "dup3", "fcntl", "fcntl64", "ioctl", "pipe", "pipe2", "poll", "ppoll",
	"select", "_newselect", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "signalfd",
	"signalfd4", "timerfd_create", "timerfd_settime", "timerfd_gettime", "memfd_create",
	"memfd_secret", "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents",
	"io_pgetevents",
	/* memory */
	"brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "msync", "mincore",
	"mlock", "mlock2", "munlock", "mlockall", "munlockall", "membarrier", "mbind",
	"get_mempolicy", "set_mempolicy", "set_mempolicy_home_node", "pkey_alloc", "pkey_free",
	"pkey_mprotect", "mseal", "map_shadow_stack", "remap_file_pages",
	/* processes, threads, signals */
	"execve", "execveat", "fork", "vfork", "clone", "clone3", "exit", "exit_group", "wait4",
	"waitid", "waitpid", "kill", "tkill", "tgkill", "pidfd_open", "pidfd_send_signal",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigreturn", "rt_sigpending",
	"rt_sigsuspend", "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
	"sigaltstack", "pause", "restart_syscall", "futex", "futex_waitv", "futex_wake",
	"futex_wait", "futex_requeue", "set_robust_list", "get_robust_list", "set_tid_address",
	"rseq", "arch_prctl", "set_thread_area", "get_thread_area", "prctl", "unshare",
	"personality", "sched_yield", "sched_getaffinity", "sched_setaffinity",
	"sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
	"sched_getattr", "sched_setattr", "sched_get_priority_max", "sched_get_priority_min",
	"sched_rr_get_interval", "getpriority", "setpriority", "ioprio_get", "ioprio_set",
	"getcpu",
	/* identity and limits */
	"getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getuid32",
	"geteuid32", "getgid32", "getegid32", "getresuid", "getresgid", "getresuid32",
	"getresgid32", "getgroups", "getgroups32", "setuid", "setgid", "setreuid", "setregid",
	"setresuid", "setresgid", "setgroups", "setfsuid", "setfsgid", "setuid32", "setgid32",
	"setreuid32", "setregid32", "setresuid32", "setresgid32", "setgroups32", "setfsuid32",
	"setfsgid32", "capget", "capset", "getpgid", "setpgid", "getpgrp", "getsid", "setsid",
	"getrlimit", "ugetrlimit", "setrlimit", "prlimit64", "getrusage", "times", "sysinfo",
	"uname",
	/* time */
	"time", "gettimeofday", "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
	"alarm", "getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime",
	"timer_getoverrun", "timer_delete", "clock_gettime64", "clock_nanosleep_time64",
	/* sockets (families and protocols are the deny-list's business) */
	"socket", "socketpair", "socketcall", "bind", "connect", "listen", "accept", "accept4",
	"getsockname", "getpeername", "getsockopt", "setsockopt", "shutdown", "send", "recv",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
	/* System V and POSIX IPC (the sandbox has its own IPC namespace) */
	"ipc", "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
	"msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
	"mq_timedreceive", "mq_notify", "mq_getsetattr",
	/* randomness, and confining oneself further */
	"getrandom", "seccomp", "landlock_create_ruleset", "landlock_add_rule",
	"landlock_restrict_self",
};

static const unsigned long ns_bits[] = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                                         CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
                                         CLONE_NEWTIME };

static int listed(const struct sbx_strv *sv, const char *name)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], name))
			return 1;
	return 0;
}

int sbx_seccomp_known(const char *name)
{
	return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}

struct filt {
	scmp_filter_ctx ctx;
	uint32_t act;
	const struct sbx_policy *p;
	int conditional_only;      /* allow-list mode: leave out unconditional rules */
	char *why;
	size_t whylen;
};

/* A rule for a default-denied call, unless --seccomp-allow took it out. */
static int deny(struct filt *f, const char *name, unsigned n, const struct scmp_arg_cmp *c)
{
	if (listed(&f->p->seccomp_allow, name) || (f->conditional_only && n == 0))
		return 0;
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0;  /* not a system call of this architecture */
	int rc = seccomp_rule_add_array(f->ctx, f->act, nr, n, c);
	if (rc) {
		snprintf(f->why, f->whylen, "rule for %s: %s", name, strerror(-rc));
		return -1;
	}
	return 0;
}

static int socket_rules(struct filt *f)
{
	struct scmp_arg_cmp c[2];
	c[0] = SCMP_A0(SCMP_CMP_EQ, AF_PACKET);
	if (deny(f, "socket", 1, c))
		return -1;
	for (int fam = 0; fam < 2; fam++) {
		c[0] = SCMP_A0(SCMP_CMP_EQ, fam ? AF_INET6 : AF_INET);
		c[1] = SCMP_A2(SCMP_CMP_EQ, IPPROTO_MPTCP);
		if (deny(f, "socket", 2, c))
			return -1;
		if (!sbx_tcp_restricted(f->p))
			continue;
		/* plain TCP only: type SOCK_STREAM (flags masked off), protocol
		 * 0 or IPPROTO_TCP */
		static const int types[] = { SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET,
		                             SOCK_DCCP, SOCK_PACKET };
		for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
			c[1] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, (scmp_datum_t)types[i]);
			if (deny(f, "socket", 2, c))
				return -1;
		}
		c[1] = SCMP_A2(SCMP_CMP_GT, IPPROTO_TCP);
		if (deny(f, "socket", 2, c))
			return -1;
		for (int proto = 1; proto < IPPROTO_TCP; proto++) {
			c[1] = SCMP_A2(SCMP_CMP_EQ, (scmp_datum_t)proto);
			if (deny(f, "socket", 2, c))
				return -1;
		}
	}
	return 0;
}

static int build(struct filt *f)
{
	struct scmp_arg_cmp c[1];
	for (size_t i = 0; i < ARRAY_SIZE(deny_default); i++)
		if (deny(f, deny_default[i], 0, NULL))
			return -1;
	for (size_t i = 0; i < ARRAY_SIZE(ns_bits); i++) {
		c[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, ns_bits[i], ns_bits[i]);
		if (deny(f, "unshare", 1, c) || (ns_bits[i] != CLONE_NEWTIME && deny(f, "clone", 1, c)))
			return -1;
	}
	static const unsigned long ioctls[] = { SBX_TIOCSTI, SBX_TIOCLINUX };
	for (size_t i = 0; i < ARRAY_SIZE(ioctls); i++) {
		c[0] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, ioctls[i]);
		if (deny(f, "ioctl", 1, c))
			return -1;
	}
	static const unsigned long pers[] = { SBX_ADDR_NO_RANDOMIZE, SBX_READ_IMPLIES_EXEC };
	for (size_t i = 0; i < ARRAY_SIZE(pers); i++) {
		/* personality(0xffffffff) only queries */
		struct scmp_arg_cmp pc[1] = { SCMP_A0(SCMP_CMP_MASKED_EQ, pers[i] | 0x80000000UL,
		                                      pers[i]) };
		if (deny(f, "personality", 1, pc))
			return -1;
	}
	if (socket_rules(f))
		return -1;
	/* clone3's flags live in memory a filter cannot read: ENOSYS makes
	 * libc use clone, whose flags are checked above */
	int nr = seccomp_syscall_resolve_name("clone3");
	if (nr != __NR_SCMP_ERROR && !listed(&f->p->seccomp_allow, "clone3") &&
	    seccomp_rule_add(f->ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0)) {
		snprintf(f->why, f->whylen, "rule for clone3");
		return -1;
	}
	for (size_t i = 0; i < f->p->seccomp_deny.n && !f->conditional_only; i++) {
		const char *name = f->p->seccomp_deny.v[i];
		nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR) {
			snprintf(f->why, f->whylen, "unknown system call '%s'", name);
			return -1;
		}
		int rc = seccomp_rule_add(f->ctx, f->act, nr, 0);
		if (rc && rc != -EEXIST) {
			snprintf(f->why, f->whylen, "rule for %s: %s", name, strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* A filter context with the attributes both filters share. */
static scmp_filter_ctx new_filter(uint32_t def, char *detail, size_t len)
{
	scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx) {
		snprintf(detail, len, "seccomp_init failed");
		return NULL;
	}
	/* only the native ABI: an i386 (int 0x80) or x32 call kills */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	/* a binary tree of system-call numbers, not a linear scan */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc) {
		snprintf(detail, len, "seccomp_attr_set: %s", strerror(-rc));
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

/* Hand the listener of a loaded filter to the supervisor: 0 or -1. */
static int send_listener(int sock, int fd, char *detail, size_t len)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	char byte = 'n';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
	                     .msg_controllen = sizeof(ctl) };
	memset(ctl, 0, sizeof(ctl));
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) != 1) {
		snprintf(detail, len, "passing the notification listener: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Load the filter; with notify_sock >= 0 its listener goes there. */
static int load(scmp_filter_ctx ctx, int notify_sock, char *detail, size_t len)
{
	int rc = seccomp_load(ctx);
	if (rc) {
		seccomp_release(ctx);
		snprintf(detail, len, "seccomp_load: %s", strerror(-rc));
		return -1;
	}
	if (notify_sock >= 0) {
		int fd = seccomp_notify_fd(ctx);
		rc = fd < 0 ? (snprintf(detail, len, "no notification listener"), -1)
		            : send_listener(notify_sock, fd, detail, len);
		if (fd >= 0)
			close(fd);
	}
	seccomp_release(ctx);
	return rc;
}

static int allow(scmp_filter_ctx ctx, const char *name, char *detail, size_t len)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0;
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	if (rc && rc != -EEXIST) {
		snprintf(detail, len, "rule for %s: %s", name, strerror(-rc));
		return -1;
	}
	return 0;
}

/* The allow-list filter: its own default action is the deny action, but
 * ENOSYS rather than EPERM for errno, as for a call the kernel lacks (or a
 * notification answered that way). */
static int load_allowlist(const struct sbx_policy *p, uint32_t act, int notify_sock,
                          char *detail, size_t len)
{
	uint32_t def = notify_sock >= 0 ? SCMP_ACT_NOTIFY
	               : p->seccomp_action == SBX_SA_ERRNO ? SCMP_ACT_ERRNO(ENOSYS) : act;
	scmp_filter_ctx ctx = new_filter(def, detail, len);
	if (!ctx)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(allow_default); i++) {
		if (listed(&p->seccomp_deny, allow_default[i]))
			continue;
		if (allow(ctx, allow_default[i], detail, len)) {
			seccomp_release(ctx);
			return -1;
		}
	}
	for (size_t i = 0; i < p->seccomp_allow.n; i++) {
		if (!listed(&p->seccomp_deny, p->seccomp_allow.v[i]) &&
		    allow(ctx, p->seccomp_allow.v[i], detail, len)) {
			seccomp_release(ctx);
			return -1;
		}
	}
	return load(ctx, notify_sock, detail, len);
}

int sbx_seccomp_notify_wanted(const struct sbx_policy *p)
{
	/* API level 5: SCMP_ACT_NOTIFY and the notification calls */
	return p->seccomp != SBX_SC_OFF && p->seccomp_action == SBX_SA_ERRNO &&
	       seccomp_api_get() >= 5;
}

int sbx_seccomp_apply(const struct sbx_policy *p, int notify_sock, char *detail, size_t len)
{
	struct filt f = { .p = p, .why = detail, .whylen = len };
	int allowlist = p->seccomp == SBX_SC_ALLOWLIST;
	detail[0] = 0;
	f.act = p->seccomp_action == SBX_SA_KILL  ? SCMP_ACT_KILL_PROCESS
	        : p->seccomp_action == SBX_SA_LOG ? SCMP_ACT_LOG
	        : notify_sock >= 0 && !allowlist  ? SCMP_ACT_NOTIFY
	                                          : SCMP_ACT_ERRNO(EPERM);
	/* the allow-list refuses every call it does not list: the deny-list
	 * only has to add its argument checks then */
	f.conditional_only = allowlist;
	f.ctx = new_filter(SCMP_ACT_ALLOW, detail, len);
	if (!f.ctx)
		return -1;
	if (build(&f)) {
		seccomp_release(f.ctx);
		return -1;
	}
	if (load(f.ctx, allowlist ? -1 : notify_sock, detail, len))
		return -1;
	if (allowlist && load_allowlist(p, f.act, notify_sock, detail, len))
		return -1;
	snprintf(detail, len, "%s, action %s%s%s",
	         allowlist ? "allow-list over the deny-list" : "deny-list",
	         sbx_seccomp_action_name(p->seccomp_action),
	         p->seccomp_action == SBX_SA_ERRNO && notify_sock < 0 ? " (denials not counted)" : "",
	         sbx_tcp_restricted(p) ? ", IPv4/IPv6 plain TCP only" : "");
	return 0;
}

int sbx_seccomp_errno(const struct sbx_policy *p, int nr, char *name, size_t len)
{
	char *n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	snprintf(name, len, "%s", n ? n : "?");
	int deny_listed = 1;
	if (p->seccomp == SBX_SC_ALLOWLIST && n) {
		/* the allow-list's own refusals look like a missing call */
		deny_listed = listed(&p->seccomp_deny, n);
		for (size_t i = 0; i < ARRAY_SIZE(deny_default) && !deny_listed; i++)
			deny_listed = !strcmp(deny_default[i], n);
	}
	if (!n)
		snprintf(name, len, "%d", nr);
	free(n);
	return deny_listed ? EPERM : ENOSYS;
}

#else /* !CFG_APCORE_SANDBOX_SECCOMP */

int sbx_seccomp_known(const char *name)
{
	(void)name;
	return 1;
}

int sbx_seccomp_notify_wanted(const struct sbx_policy *p)
{
	(void)p;
	return 0;
}

int sbx_seccomp_apply(const struct sbx_policy *p, int notify_sock, char *detail, size_t len)
{
	(void)p;
	(void)notify_sock;
	snprintf(detail, len, "compiled out (built without APCORE_SANDBOX_SECCOMP)");
	return -1;
}

int sbx_seccomp_errno(const struct sbx_policy *p, int nr, char *name, size_t len)
{
	(void)p;
	snprintf(name, len, "%d", nr);
	return EPERM;
}

#endif

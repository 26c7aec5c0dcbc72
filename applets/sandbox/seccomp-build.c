/* seccomp-build.c - the filters, built with libseccomp (seccomp.c says
 * what they block and how the command gets them).
 *
 * Shared with scripts/sbx-seccomp-gen.c, which runs it at build time for
 * the deny-list policies without --seccomp-allow/--seccomp-deny/TCP ports:
 * the same code and the same libseccomp produce the program apcore embeds.
 */

#include "sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if CFG_APCORE_SANDBOX_SECCOMP
#include <linux/sched.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
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

/* The generated program, read back through a memfd (libseccomp 2.5
 * exports to a descriptor only). */
static int export(scmp_filter_ctx ctx, void **prog, size_t *count, char *detail, size_t len)
{
	struct stat st;
	int fd = memfd_create("apcore-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		snprintf(detail, len, "memfd_create: %s", strerror(errno));
		return -1;
	}
	int rc = seccomp_export_bpf(ctx, fd);
	if (rc) {
		snprintf(detail, len, "seccomp_export_bpf: %s", strerror(-rc));
		close(fd);
		return -1;
	}
	if (fstat(fd, &st) || st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter) ||
	    st.st_size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS ||
	    !(*prog = malloc((size_t)st.st_size))) {
		snprintf(detail, len, "seccomp_export_bpf: a program of %lld bytes",
		         (long long)st.st_size);
		close(fd);
		return -1;
	}
	ssize_t n = pread(fd, *prog, (size_t)st.st_size, 0);
	close(fd);
	if (n != st.st_size) {
		snprintf(detail, len, "reading the exported filter: %s", n < 0 ? strerror(errno) : "short");
		free(*prog);
		*prog = NULL;
		return -1;
	}
	*count = (size_t)st.st_size / sizeof(struct sock_filter);
	return 0;
}

/* The allow-list filter: its own default action is the deny action, but
 * ENOSYS rather than EPERM for errno, as for a call the kernel lacks (or a
 * notification answered that way). */
static int compile_allowlist(const struct sbx_policy *p, uint32_t act, int notify,
                             struct sbx_seccomp *out)
{
	uint32_t def = notify ? SCMP_ACT_NOTIFY
	               : p->seccomp_action == SBX_SA_ERRNO ? SCMP_ACT_ERRNO(ENOSYS) : act;
	scmp_filter_ctx ctx = new_filter(def, out->why, sizeof(out->why));
	if (!ctx)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < ARRAY_SIZE(allow_default) && rc == 0; i++)
		if (!listed(&p->seccomp_deny, allow_default[i]))
			rc = allow(ctx, allow_default[i], out->why, sizeof(out->why));
	for (size_t i = 0; i < p->seccomp_allow.n && rc == 0; i++)
		if (!listed(&p->seccomp_deny, p->seccomp_allow.v[i]))
			rc = allow(ctx, p->seccomp_allow.v[i], out->why, sizeof(out->why));
	if (rc == 0)
		rc = export(ctx, &out->prog[out->n], &out->len[out->n], out->why, sizeof(out->why));
	seccomp_release(ctx);
	if (rc == 0)
		out->n++;
	return rc;
}

void sbx_seccomp_free(struct sbx_seccomp *sc)
{
	if (sc->owned)
		for (size_t i = 0; i < ARRAY_SIZE(sc->prog); i++)
			free(sc->prog[i]);
	memset(sc->prog, 0, sizeof(sc->prog));
	memset(sc->len, 0, sizeof(sc->len));
	sc->n = 0;
	if (sc->plain) {
		sbx_seccomp_free(sc->plain);
		free(sc->plain);
		sc->plain = NULL;
	}
}

int sbx_seccomp_notify_wanted(const struct sbx_policy *p)
{
	/* API level 5: SCMP_ACT_NOTIFY and the notification calls */
	/* the listener goes to the supervisor with sendmsg() after the
	 * filter is loaded: a denied sendmsg would wait for an answer nobody
	 * can give (then plain ERRNO, uncounted) */
	return p->seccomp != SBX_SC_OFF && p->seccomp_action == SBX_SA_ERRNO &&
	       !listed(&p->seccomp_deny, "sendmsg") && seccomp_api_get() >= 5;
}

int sbx_seccomp_compile(const struct sbx_policy *p, int notify, struct sbx_seccomp *out)
{
	struct filt f = { .p = p, .why = out->why, .whylen = sizeof(out->why) };
	int allowlist = p->seccomp == SBX_SC_ALLOWLIST;
	memset(out, 0, sizeof(*out));
	out->owned = 1;
	out->listener = notify ? (allowlist ? 1 : 0) : -1;
	f.act = p->seccomp_action == SBX_SA_KILL  ? SCMP_ACT_KILL_PROCESS
	        : p->seccomp_action == SBX_SA_LOG ? SCMP_ACT_LOG
	        : notify && !allowlist            ? SCMP_ACT_NOTIFY
	                                          : SCMP_ACT_ERRNO(EPERM);
	/* the allow-list refuses every call it does not list: the deny-list
	 * only has to add its argument checks then */
	f.conditional_only = allowlist;
	f.ctx = new_filter(SCMP_ACT_ALLOW, out->why, sizeof(out->why));
	int rc = f.ctx ? build(&f) : -1;
	if (rc == 0)
		rc = export(f.ctx, &out->prog[0], &out->len[0], out->why, sizeof(out->why));
	if (f.ctx)
		seccomp_release(f.ctx);
	if (rc == 0)
		out->n = 1;
	if (rc == 0 && allowlist)
		rc = compile_allowlist(p, f.act, notify, out);
	if (rc) {
		sbx_seccomp_free(out);
		out->failed = 1;
	}
	return rc;
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

#endif

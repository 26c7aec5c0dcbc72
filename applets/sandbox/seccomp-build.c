/* seccomp-build.c - the deny-list filter, built with libseccomp (see
 * seccomp.c for what it blocks and how the command gets it).
 *
 * Shared with scripts/sbx-seccomp-gen.c, which runs it at build time for
 * the policies without --seccomp-allow/--seccomp-deny/TCP ports: the same
 * code and the same libseccomp produce the program apcore embeds.
 */

#include "sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if CFG_APCORE_SANDBOX_SECCOMP
#include <linux/filter.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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
	char *why;
	size_t whylen;
};

/* A rule for a default-denied call, unless --seccomp-allow took it out. */
static int deny(struct filt *f, const char *name, unsigned n, const struct scmp_arg_cmp *c)
{
	if (listed(&f->p->seccomp_allow, name))
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
	for (size_t i = 0; i < f->p->seccomp_deny.n; i++) {
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

int sbx_seccomp_compile(const struct sbx_policy *p, void **prog, size_t *count, char *detail,
                        size_t len)
{
	struct filt f = { .p = p, .why = detail, .whylen = len };
	detail[0] = 0;
	f.act = p->seccomp_action == SBX_SA_KILL  ? SCMP_ACT_KILL_PROCESS
	        : p->seccomp_action == SBX_SA_LOG ? SCMP_ACT_LOG
	                                          : SCMP_ACT_ERRNO(EPERM);
	f.ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!f.ctx) {
		snprintf(detail, len, "seccomp_init failed");
		return -1;
	}
	/* only the native ABI: an i386 (int 0x80) or x32 call kills */
	int rc = seccomp_attr_set(f.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc == 0)
		rc = seccomp_attr_set(f.ctx, SCMP_FLTATR_CTL_NNP, 1);
	/* a binary tree of system-call numbers, not a linear scan */
	if (rc == 0)
		rc = seccomp_attr_set(f.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc) {
		snprintf(detail, len, "seccomp_attr_set: %s", strerror(-rc));
		seccomp_release(f.ctx);
		return -1;
	}
	rc = build(&f);
	if (rc == 0)
		rc = export(f.ctx, prog, count, detail, len);
	seccomp_release(f.ctx);
	return rc;
}

#endif

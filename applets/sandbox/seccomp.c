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
 * seccomp-build.c builds the filter.  The supervisor does that before the
 * clone and the command only loads the program (seccomp(2), with the flags
 * seccomp_load() uses: none).  For the policies without
 * --seccomp-allow/--seccomp-deny/TCP ports the build already ran the same
 * code (scripts/sbx-seccomp-gen.c): that program is used as long as this
 * libseccomp is the build's and the kernel offers the same seccomp API
 * level, so libseccomp would make the very same program here; otherwise
 * it is compiled at run time.
 */

#include "sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if CFG_APCORE_SANDBOX_SECCOMP
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sbx_seccomp_pre.h"

int sbx_seccomp_known(const char *name)
{
	return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}

/* The build's program for p, or NULL. */
static const struct sock_filter *precompiled(const struct sbx_policy *p, size_t *count)
{
	static const struct {
		enum sbx_seccomp_action act;
		const struct sock_filter *prog;
		size_t n;
	} pre[] = {
		{ SBX_SA_ERRNO, SBX_SC_PRE_ERRNO },
		{ SBX_SA_KILL, SBX_SC_PRE_KILL },
		{ SBX_SA_LOG, SBX_SC_PRE_LOG },
	};
	if (p->seccomp_allow.n || p->seccomp_deny.n || sbx_tcp_restricted(p))
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(pre); i++) {
		if (pre[i].act != p->seccomp_action || !pre[i].n)
			continue;
		const struct scmp_version *v = seccomp_version();
		if (!v || v->major != SBX_SC_PRE_MAJOR || v->minor != SBX_SC_PRE_MINOR ||
		    v->micro != SBX_SC_PRE_MICRO || seccomp_api_get() != SBX_SC_PRE_API)
			return NULL;
		*count = pre[i].n;
		return pre[i].prog;
	}
	return NULL;
}

void sbx_seccomp_prepare(const struct sbx_policy *p, struct sbx_seccomp *out)
{
	memset(out, 0, sizeof(*out));
	if (p->seccomp == SBX_SC_OFF)
		return;
	const struct sock_filter *pre = precompiled(p, &out->len);
	if (pre) {
		out->prog = (void *)(uintptr_t)pre;
		return;
	}
	out->owned = 1;
	out->failed = sbx_seccomp_compile(p, &out->prog, &out->len, out->why, sizeof(out->why)) != 0;
}

void sbx_seccomp_free(struct sbx_seccomp *sc)
{
	if (sc->owned)
		free(sc->prog);
	sc->prog = NULL;
	sc->len = 0;
}

int sbx_seccomp_apply(const struct sbx_run *r, char *detail, size_t len)
{
	const struct sbx_policy *p = r->pol;
	const struct sbx_seccomp *sc = &r->seccomp;
	detail[0] = 0;
	if (sc->failed || !sc->prog) {
		snprintf(detail, len, "%s", sc->failed ? sc->why : "no filter was compiled");
		return -1;
	}
	struct sock_fprog prog = { .len = (unsigned short)sc->len, .filter = sc->prog };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
		snprintf(detail, len, "seccomp_load: %s", strerror(errno));
		return -1;
	}
	snprintf(detail, len, "deny-list, action %s%s", sbx_seccomp_action_name(p->seccomp_action),
	         sbx_tcp_restricted(p) ? ", IPv4/IPv6 plain TCP only" : "");
	return 0;
}

#else /* !CFG_APCORE_SANDBOX_SECCOMP */

int sbx_seccomp_known(const char *name)
{
	(void)name;
	return 1;
}

void sbx_seccomp_prepare(const struct sbx_policy *p, struct sbx_seccomp *out)
{
	(void)p;
	memset(out, 0, sizeof(*out));
}

void sbx_seccomp_free(struct sbx_seccomp *sc)
{
	(void)sc;
}

int sbx_seccomp_apply(const struct sbx_run *r, char *detail, size_t len)
{
	(void)r;
	snprintf(detail, len, "compiled out (built without APCORE_SANDBOX_SECCOMP)");
	return -1;
}

#endif

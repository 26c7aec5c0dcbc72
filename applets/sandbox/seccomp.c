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
 *
 * seccomp-build.c builds the filters.  The supervisor does that before the
 * clone and the command only loads the programs (seccomp(2), with the
 * flags seccomp_load() uses: none, or NEW_LISTENER for the notifying one).
 * For the deny-list policies without --seccomp-allow/--seccomp-deny/TCP
 * ports the build already ran the same code (scripts/sbx-seccomp-gen.c):
 * that program is used as long as this libseccomp is the build's and the
 * kernel offers the same seccomp API level, so libseccomp would make the
 * very same program here; otherwise it is compiled at run time.
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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sbx_seccomp_pre.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

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
	if (p->seccomp != SBX_SC_DENYLIST || p->seccomp_allow.n || p->seccomp_deny.n ||
	    sbx_tcp_restricted(p))
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
	out->listener = -1;
	if (p->seccomp == SBX_SC_OFF)
		return;
	int notify = sbx_seccomp_notify_wanted(p);
	const struct sock_filter *pre = precompiled(p, &out->len[0]);
	if (pre) {
		/* the same API level as the build's: the same notify decision */
		out->prog[0] = (void *)(uintptr_t)pre;
		out->n = 1;
		out->listener = notify ? 0 : -1;
	} else {
		(void)sbx_seccomp_compile(p, notify, out);
	}
	/* under a filter already, another listener may be in place (one per
	 * process): have the programs without notifications at hand */
	if (out->listener >= 0 && prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0) {
		out->plain = xmalloc(sizeof(*out->plain));
		(void)sbx_seccomp_compile(p, 0, out->plain);
	}
}

/* Hand the listener of a loaded filter to the supervisor: 0 or -1. */
static int send_listener(int sock, int fd, char *detail, size_t len)
{
	if (send_fd(sock, "n", 1, fd) != 1) {
		snprintf(detail, len, "passing the notification listener: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int sbx_seccomp_apply(const struct sbx_run *r, char *detail, size_t len)
{
	const struct sbx_policy *p = r->pol;
	const struct sbx_seccomp *sc = &r->seccomp;
	int listener = r->notify_w >= 0 ? sc->listener : -1;
	detail[0] = 0;
	if (sc->failed || !sc->n) {
		snprintf(detail, len, "%s", sc->failed ? sc->why : "no filter was compiled");
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(detail, len, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	const char *uncounted = "";
	for (size_t i = 0; i < sc->n; i++) {
		struct sock_fprog prog = { .len = (unsigned short)sc->len[i], .filter = sc->prog[i] };
		unsigned long flags = (int)i == listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
		long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
		if (rc < 0 && errno == EBUSY && flags && sc->plain && !sc->plain->failed) {
			/* a listener of someone else's: the same program without
			 * notifications (the one before it is the same in both) */
			sc = sc->plain;
			listener = -1;
			uncounted = " (denials not counted: another seccomp listener is in place)";
			prog.len = (unsigned short)sc->len[i];
			prog.filter = sc->prog[i];
			rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
		}
		if (rc < 0) {
			snprintf(detail, len, "%s: %s", i ? "the allow-list could not be loaded (only the "
			         "deny-list's argument checks are in force)" : "seccomp_load", strerror(errno));
			return -1;
		}
		if ((int)i == listener) {
			int fd = (int)rc;
			int bad = send_listener(r->notify_w, fd, detail, len);
			close(fd);
			if (bad)
				return -1;
		}
	}
	if (!*uncounted && p->seccomp_action == SBX_SA_ERRNO && listener < 0)
		uncounted = " (denials not counted)";
	snprintf(detail, len, "%s, action %s%s%s",
	         p->seccomp == SBX_SC_ALLOWLIST ? "allow-list over the deny-list" : "deny-list",
	         sbx_seccomp_action_name(p->seccomp_action), uncounted,
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
	out->listener = -1;
}

void sbx_seccomp_free(struct sbx_seccomp *sc)
{
	(void)sc;
}

int sbx_seccomp_notify_wanted(const struct sbx_policy *p)
{
	(void)p;
	return 0;
}

int sbx_seccomp_apply(const struct sbx_run *r, char *detail, size_t len)
{
	(void)r;
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

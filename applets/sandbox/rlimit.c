/* rlimit.c - resource limits of the command.
 *
 * Core dumps are always off.  --rlimit-as, -fsize, -nofile, -nproc and
 * -cpu set soft and hard limit to the value, or to the current hard limit
 * when that is lower (a hard limit can only be lowered without
 * CAP_SYS_RESOURCE, which even root lacks on some hosts); the detail says
 * when a value was clamped.  RLIMIT_NPROC counts every process of the
 * user and does not bind uid 0: use --pids (cgroups) for root.
 */

#include "sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static int set_one(int res, const char *name, uint64_t want, char *detail, size_t len)
{
	struct rlimit rl;
	if (getrlimit(res, &rl)) {
		snprintf(detail, len, "getrlimit %s: %s", name, strerror(errno));
		return -1;
	}
	rlim_t v = (rlim_t)want;
	if (rl.rlim_max != RLIM_INFINITY && v > rl.rlim_max) {
		size_t n = strlen(detail);
		snprintf(detail + n, len - n, "%s%s clamped to the hard limit %llu", n ? "; " : "", name,
		         (unsigned long long)rl.rlim_max);
		v = rl.rlim_max;
	}
	rl.rlim_cur = v;
	/* CPU: SIGXCPU at the soft limit, SIGKILL a second later */
	if (res == RLIMIT_CPU && (rl.rlim_max == RLIM_INFINITY || v < rl.rlim_max))
		rl.rlim_max = v + 1;
	else
		rl.rlim_max = v;
	if (setrlimit(res, &rl)) {
		snprintf(detail, len, "setrlimit %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

int sbx_rlimit_apply(const struct sbx_policy *p, char *detail, size_t len)
{
	detail[0] = 0;
	if (set_one(RLIMIT_CORE, "core", 0, detail, len))
		return -1;
	const struct { int res; const char *name; uint64_t v; } l[] = {
		{ RLIMIT_AS, "as", p->rl_as },
		{ RLIMIT_FSIZE, "fsize", p->rl_fsize },
		{ RLIMIT_NOFILE, "nofile", p->rl_nofile },
		{ RLIMIT_NPROC, "nproc", p->rl_nproc },
		/* whole seconds, rounded up: SIGXCPU at the limit, then SIGKILL */
		{ RLIMIT_CPU, "cpu", p->rl_cpu_ms > 0 ? (uint64_t)(p->rl_cpu_ms + 999) / 1000 : 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(l); i++)
		if (l[i].v && set_one(l[i].res, l[i].name, l[i].v, detail, len))
			return -1;
	return 0;
}

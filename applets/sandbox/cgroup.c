/* cgroup.c - memory, process and CPU limits of the whole sandbox.
 *
 * The supervisor creates one cgroup per run beneath the cgroup it runs in,
 * writes the limits, moves init into it before init does anything (init
 * waits for the supervisor's go on the lifeline pipe), and after the run
 * reads the events (OOM kills, refused forks) and removes it.
 *
 * Which hierarchy: on a pure v2 host (/sys/fs/cgroup is cgroup2) the
 * unified one (memory.max, pids.max, cpu.max; the controllers must be
 * enabled in the parent's cgroup.subtree_control: a delegated subtree).
 * Otherwise (v1, or hybrid like this machine, whose v2 mount carries no
 * memory/pids/cpu controller) one cgroup in each v1 controller's mount
 * (memory.limit_in_bytes, pids.max, cpu.cfs_quota_us).  Without the right
 * to create it (an unprivileged user without delegation) the layer fails,
 * and the run is refused unless --best-effort.
 */

#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define CG_ROOT "/sys/fs/cgroup"
#define CPU_PERIOD_US 100000

int sbx_cgroup_wanted(const struct sbx_policy *p)
{
	return p->cg_memory || p->cg_pids || p->cg_cpu_milli;
}

static int write_text(const char *dir, const char *file, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return write_file_text(path, text);
}

/* The value after "key " in a flat-keyed file, or -1. */
static long long read_key(const char *dir, const char *file, const char *key)
{
	char path[512], *text;
	size_t len;
	long long v = -1;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (read_file_capped(path, 1 << 16, &text, &len))
		return -1;
	size_t kl = strlen(key);
	for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, key, kl) && l[kl] == ' ')
			v = strtoll(l + kl + 1, NULL, 10);
	free(text);
	return v;
}

/* Our own cgroup in hierarchy ctrl ("" for v2's "0::"), from /proc/self/cgroup. */
static char *own_path(const char *ctrl)
{
	char *text, *found = NULL;
	size_t len;
	if (read_file_capped("/proc/self/cgroup", 1 << 16, &text, &len))
		return NULL;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(l, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		if (*ctrl ? strstr(c1 + 1, ctrl) != NULL : c1[1] == 0)
			found = xstrdup(c2 + 1);
	}
	free(text);
	return found;
}

static int is_v2(void)
{
	struct statfs sf;
	return statfs(CG_ROOT, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static int make_dir(struct sbx_cgroup *cg, int idx, const char *mount, const char *ctrl,
                    char *why, size_t whylen)
{
	char *own = own_path(ctrl);
	if (!own) {
		snprintf(why, whylen, "no %s hierarchy in /proc/self/cgroup", *ctrl ? ctrl : "v2");
		return -1;
	}
	cg->dir[idx] = xasprintf("%s%s/apcore-sandbox.%ld", mount, strcmp(own, "/") ? own : "",
	                         (long)getpid());
	free(own);
	if (mkdir(cg->dir[idx], 0755)) {
		snprintf(why, whylen, "mkdir %s: %s", cg->dir[idx], strerror(errno));
		free(cg->dir[idx]);
		cg->dir[idx] = NULL;
		return -1;
	}
	return 0;
}

static int put(const char *dir, const char *file, const char *val, char *why, size_t whylen)
{
	if (write_text(dir, file, val) == 0)
		return 0;
	snprintf(why, whylen, "%s/%s: %s", dir, file, strerror(errno));
	return -1;
}

/* v2: is controller ctrl available in the new cgroup?  (It is when the
 * parent enables it in its cgroup.subtree_control.) */
static int v2_has(const char *dir, const char *ctrl, char *why, size_t whylen)
{
	char path[512], *text;
	size_t len, n = strlen(ctrl);
	int found = 0;
	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	if (read_file_capped(path, 4096, &text, &len)) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return 0;
	}
	for (char *w = text; (w = strstr(w, ctrl)) != NULL; w += n)
		if ((w == text || w[-1] == ' ') && (w[n] == ' ' || w[n] == '\n' || !w[n]))
			found = 1;
	free(text);
	if (!found)
		snprintf(why, whylen, "no %s controller in %s (not delegated: the parent's "
		         "cgroup.subtree_control)", ctrl, dir);
	return found;
}

int sbx_cgroup_create(const struct sbx_policy *p, struct sbx_cgroup *cg, char *why, size_t whylen)
{
	char v[64];
	memset(cg, 0, sizeof(*cg));
	cg->v2 = is_v2();
	if (cg->v2) {
		if (make_dir(cg, 0, CG_ROOT, "", why, whylen))
			return -1;
		const char *d = cg->dir[0];
		if ((p->cg_memory && !v2_has(d, "memory", why, whylen)) ||
		    (p->cg_pids && !v2_has(d, "pids", why, whylen)) ||
		    (p->cg_cpu_milli && !v2_has(d, "cpu", why, whylen)))
			goto fail;
		snprintf(v, sizeof(v), "%llu", (unsigned long long)p->cg_memory);
		if (p->cg_memory && (put(d, "memory.max", v, why, whylen) ||
		                     put(d, "memory.swap.max", "0", why, whylen)))
			goto fail;
		snprintf(v, sizeof(v), "%llu", (unsigned long long)p->cg_pids);
		if (p->cg_pids && put(d, "pids.max", v, why, whylen))
			goto fail;
		snprintf(v, sizeof(v), "%lld %d", (long long)p->cg_cpu_milli * CPU_PERIOD_US / 1000,
		         CPU_PERIOD_US);
		if (p->cg_cpu_milli && put(d, "cpu.max", v, why, whylen))
			goto fail;
		snprintf(cg->what, sizeof(cg->what), "v2");
		return 0;
	}
	if (p->cg_memory) {
		if (make_dir(cg, 0, CG_ROOT "/memory", "memory", why, whylen))
			goto fail;
		snprintf(v, sizeof(v), "%llu", (unsigned long long)p->cg_memory);
		if (put(cg->dir[0], "memory.limit_in_bytes", v, why, whylen))
			goto fail;
		/* no swap beyond the limit where the kernel accounts it */
		(void)write_text(cg->dir[0], "memory.memsw.limit_in_bytes", v);
	}
	if (p->cg_pids) {
		if (make_dir(cg, 1, CG_ROOT "/pids", "pids", why, whylen))
			goto fail;
		snprintf(v, sizeof(v), "%llu", (unsigned long long)p->cg_pids);
		if (put(cg->dir[1], "pids.max", v, why, whylen))
			goto fail;
	}
	if (p->cg_cpu_milli) {
		if (make_dir(cg, 2, CG_ROOT "/cpu", "cpu", why, whylen))
			goto fail;
		snprintf(v, sizeof(v), "%lld", (long long)p->cg_cpu_milli * CPU_PERIOD_US / 1000);
		if (put(cg->dir[2], "cpu.cfs_period_us", "100000", why, whylen) ||
		    put(cg->dir[2], "cpu.cfs_quota_us", v, why, whylen))
			goto fail;
	}
	snprintf(cg->what, sizeof(cg->what), "v1");
	return 0;
fail:
	sbx_cgroup_remove(cg);
	return -1;
}

int sbx_cgroup_attach(struct sbx_cgroup *cg, pid_t pid, char *why, size_t whylen)
{
	char v[32];
	snprintf(v, sizeof(v), "%ld", (long)pid);
	for (int i = 0; i < 3; i++)
		if (cg->dir[i] && put(cg->dir[i], "cgroup.procs", v, why, whylen))
			return -1;
	return 0;
}

void sbx_cgroup_collect(struct sbx_cgroup *cg)
{
	if (cg->v2) {
		if (cg->dir[0]) {
			cg->oom_kills = read_key(cg->dir[0], "memory.events", "oom_kill");
			cg->pids_max_hits = read_key(cg->dir[0], "pids.events", "max");
		}
		return;
	}
	if (cg->dir[0])
		cg->oom_kills = read_key(cg->dir[0], "memory.oom_control", "oom_kill");
	if (cg->dir[1])
		cg->pids_max_hits = read_key(cg->dir[1], "pids.events", "max");
}

/* After the run: every process is dead or dying; the directory goes once
 * the last one is reaped (up to a second). */
void sbx_cgroup_remove(struct sbx_cgroup *cg)
{
	for (int i = 0; i < 3; i++) {
		if (!cg->dir[i])
			continue;
		for (int tries = 0; rmdir(cg->dir[i]) && errno == EBUSY && tries < 200; tries++) {
			struct timespec ts = { 0, 5 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		free(cg->dir[i]);
		cg->dir[i] = NULL;
	}
}

/* layers.c - the protections as named layers, their probes, and --probe.
 *
 * Every protection the sandbox can apply is one entry of sbx_layers[]: a
 * name used in messages, --probe and run reports, the namespace it needs
 * (if any) and a probe that answers "can this kernel and user enforce it?".
 * Where a layer is applied depends on the process it affects (clone flags
 * in the supervisor, mounts in init, credentials in the command); each
 * place records the outcome in the run's layer states, and a requested
 * layer that cannot be applied stops the run unless --best-effort.
 */

#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/landlock.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* ----------------------------------------------------------------- probes */

/* Fork a child that runs fn and exits with its result (an errno or 0):
 * namespaces and credentials of the probe never touch us. */
static int in_child(int (*fn)(unsigned long), unsigned long arg)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0)
		_exit(fn(arg) & 0xff);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : EFAULT;
}

static int try_unshare(unsigned long flags)
{
	return unshare(flags) ? errno : 0;
}

int sbx_probe_ns(unsigned long flags)
{
	return in_child(try_unshare, flags);
}

static int try_unprivileged_userns(unsigned long unused)
{
	(void)unused;
	if (geteuid() == 0) {
		gid_t nog = 65534;
		if (setgroups(1, &nog) || setresgid(nog, nog, nog) || setresuid(65534, 65534, 65534))
			return errno;
	}
	return unshare(CLONE_NEWUSER) ? errno : 0;
}

/* The sandbox always uses a user namespace, as root too. */
static int probe_ns_kind(unsigned long flag, char *why, size_t whylen)
{
	int e = sbx_probe_ns(CLONE_NEWUSER | flag);
	if (e)
		snprintf(why, whylen, "%s", strerror(e));
	return !e;
}

#define NS_PROBE(fn, flag) \
	static int fn(char *why, size_t whylen) { return probe_ns_kind(flag, why, whylen); }
NS_PROBE(probe_user, 0)
NS_PROBE(probe_mount, CLONE_NEWNS)
NS_PROBE(probe_pid, CLONE_NEWPID)
NS_PROBE(probe_ipc, CLONE_NEWIPC)
NS_PROBE(probe_uts, CLONE_NEWUTS)
NS_PROBE(probe_cgroupns, CLONE_NEWCGROUP)
NS_PROBE(probe_net, CLONE_NEWNET)
#undef NS_PROBE

static int probe_always(char *why, size_t whylen)
{
	(void)why, (void)whylen;
	return 1;
}

static int probe_nnp(char *why, size_t whylen)
{
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) >= 0)
		return 1;
	snprintf(why, whylen, "PR_GET_NO_NEW_PRIVS: %s", strerror(errno));
	return 0;
}

int sbx_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return abi > 0 ? (int)abi : 0;
}

static int probe_landlock(char *why, size_t whylen)
{
	if (sbx_landlock_abi() > 0)
		return 1;
	snprintf(why, whylen, "landlock_create_ruleset: %s", strerror(errno));
	return 0;
}

static int seccomp_filter_available(void)
{
	uint32_t action = SECCOMP_RET_KILL_PROCESS;
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 &&
	       syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

static int probe_seccomp(char *why, size_t whylen)
{
	if (!seccomp_filter_available()) {
		snprintf(why, whylen, "seccomp filters: %s", strerror(errno));
		return 0;
	}
	if (!CFG_APCORE_SANDBOX_SECCOMP) {
		snprintf(why, whylen, "built without APCORE_SANDBOX_SECCOMP");
		return 0;
	}
	return 1;
}

/* "v2", "hybrid", "v1" or "none", and where the v2 hierarchy is. */
static const char *cgroup_version(const char **v2root)
{
	struct statfs sf;
	*v2root = NULL;
	if (statfs("/sys/fs/cgroup", &sf))
		return "none";
	if (sf.f_type == CGROUP2_SUPER_MAGIC) {
		*v2root = "/sys/fs/cgroup";
		return "v2";
	}
	if (sf.f_type != TMPFS_MAGIC)
		return "none";
	if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
		*v2root = "/sys/fs/cgroup/unified";
		return "hybrid";
	}
	return "v1";
}

static int probe_cgroup(char *why, size_t whylen)
{
	const char *v2;
	const char *v = cgroup_version(&v2);
	if (!strcmp(v, "none")) {
		snprintf(why, whylen, "no cgroup hierarchy mounted at /sys/fs/cgroup");
		return 0;
	}
	if (v2 && access(v2, W_OK) == 0)
		return 1;
	if (access("/sys/fs/cgroup/memory", W_OK) == 0 || access("/sys/fs/cgroup/pids", W_OK) == 0)
		return 1;
	snprintf(why, whylen, "cgroup %s hierarchy not writable by this user", v);
	return 0;
}

/* ------------------------------------------------------------------ table */

const struct sbx_layer_def sbx_layers[SBX_L_COUNT] = {
	[SBX_L_USER] = { "user", "user namespace", CLONE_NEWUSER, probe_user },
	[SBX_L_MOUNT] = { "mount", "mount namespace and private root", CLONE_NEWNS, probe_mount },
	[SBX_L_PID] = { "pid", "PID namespace with an init", CLONE_NEWPID, probe_pid },
	[SBX_L_IPC] = { "ipc", "IPC namespace", CLONE_NEWIPC, probe_ipc },
	[SBX_L_UTS] = { "uts", "UTS namespace", CLONE_NEWUTS, probe_uts },
	[SBX_L_CGROUPNS] = { "cgroupns", "cgroup namespace", CLONE_NEWCGROUP, probe_cgroupns },
	[SBX_L_NET] = { "net", "network namespace", CLONE_NEWNET, probe_net },
	[SBX_L_CAPS] = { "caps", "no capabilities (all sets, bounding set)", 0, probe_always },
	[SBX_L_NNP] = { "no_new_privs", "no_new_privs", 0, probe_nnp },
	[SBX_L_SESSION] = { "session", "new session and session keyring", 0, probe_always },
	[SBX_L_ENV] = { "env", "environment built from an allow-list", 0, probe_always },
	[SBX_L_TIME] = { "timeout", "wall-clock limit on the process tree", 0, probe_always },
	[SBX_L_OUTPUT] = { "max_output", "per-stream output limit", 0, probe_always },
	[SBX_L_LANDLOCK] = { "landlock", "Landlock filesystem and network rules", 0, probe_landlock },
	[SBX_L_SECCOMP] = { "seccomp", "seccomp system-call filter", 0, probe_seccomp },
	[SBX_L_RLIMIT] = { "rlimit", "resource limits", 0, probe_always },
	[SBX_L_CGROUP] = { "cgroup", "cgroup memory and process limits", 0, probe_cgroup },
};

/* ----------------------------------------------------------------- --probe */

static long read_long(const char *path)
{
	char *text;
	size_t len;
	if (read_file_capped(path, 64, &text, &len))
		return -1;
	long v = strtol(text, NULL, 10);
	free(text);
	return v;
}

static void probe_cgroups(struct jw *w)
{
	const char *v2root;
	char *text;
	size_t len;

	jw_key(w, "cgroup");
	jw_obj_begin(w);
	jw_kv_str(w, "version", cgroup_version(&v2root));
	jw_key(w, "v1_controllers");
	jw_arr_begin(w);
	if (read_file_capped("/proc/cgroups", 1 << 16, &text, &len) == 0) {
		char *save = NULL;
		for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			char name[64];
			int hier, num, enabled;
			if (l[0] != '#' && sscanf(l, "%63s %d %d %d", name, &hier, &num, &enabled) == 4 &&
			    hier > 0 && enabled)
				jw_str(w, name);
		}
		free(text);
	}
	jw_arr_end(w);
	jw_key(w, "v2_controllers");
	jw_arr_begin(w);
	char *path = v2root ? xasprintf("%s/cgroup.controllers", v2root) : NULL;
	if (path && read_file_capped(path, 4096, &text, &len) == 0) {
		char *save = NULL;
		for (char *t = strtok_r(text, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
			jw_str(w, t);
		free(text);
	}
	free(path);
	jw_arr_end(w);
	jw_obj_end(w);
}

static const char *const ns_names[] = { "cgroup", "ipc", "mount", "net", "pid", "time", "user", "uts" };
static const unsigned long ns_flags[] = { CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWNET,
                                          CLONE_NEWPID, CLONE_NEWTIME, 0, CLONE_NEWUTS };

int sbx_probe_main(void)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw w;
	struct utsname u;
	char why[160];

	jw_init(&w, &sb, JSON_COMPACT);
	jw_obj_begin(&w);
	probe_cgroups(&w);
	jw_kv_str(&w, "kernel", uname(&u) == 0 ? u.release : "unknown");
	jw_key(&w, "landlock");
	jw_obj_begin(&w);
	int abi = sbx_landlock_abi();
	jw_kv_int(&w, "abi", abi);
	jw_kv_bool(&w, "filesystem", abi >= 1);
	jw_kv_bool(&w, "scoping", abi >= 6);
	jw_kv_bool(&w, "tcp", abi >= 4);
	jw_obj_end(&w);

	jw_key(&w, "layers");
	jw_obj_begin(&w);
	/* sorted by name, as everything we emit */
	static const int order[] = { SBX_L_CAPS, SBX_L_CGROUP, SBX_L_CGROUPNS, SBX_L_ENV, SBX_L_IPC,
	                             SBX_L_LANDLOCK, SBX_L_OUTPUT, SBX_L_MOUNT, SBX_L_NET, SBX_L_NNP,
	                             SBX_L_PID, SBX_L_RLIMIT, SBX_L_SECCOMP, SBX_L_SESSION,
	                             SBX_L_TIME, SBX_L_USER, SBX_L_UTS };
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		const struct sbx_layer_def *l = &sbx_layers[order[i]];
		why[0] = 0;
		int ok = l->probe(why, sizeof(why));
		jw_key(&w, l->name);
		jw_obj_begin(&w);
		jw_kv_bool(&w, "available", ok);
		jw_kv_bool(&w, "implemented", 1);
		if (!ok)
			jw_kv_str(&w, "why", why);
		jw_obj_end(&w);
	}
	jw_obj_end(&w);

	jw_key(&w, "namespaces");
	jw_obj_begin(&w);
	for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++)
		jw_kv_bool(&w, ns_names[i], sbx_probe_ns(CLONE_NEWUSER | ns_flags[i]) == 0);
	jw_obj_end(&w);

	jw_key(&w, "seccomp");
	jw_obj_begin(&w);
	jw_kv_bool(&w, "available", seccomp_filter_available());
	jw_kv_bool(&w, "libseccomp", CFG_APCORE_SANDBOX_SECCOMP);
	jw_obj_end(&w);

	jw_kv_int(&w, "uid", (int64_t)getuid());
	jw_key(&w, "user_namespaces");
	jw_obj_begin(&w);
	jw_kv_int(&w, "max", read_long("/proc/sys/user/max_user_namespaces"));
	jw_kv_bool(&w, "unprivileged", in_child(try_unprivileged_userns, 0) == 0);
	jw_obj_end(&w);
	jw_obj_end(&w);
	sb_putc(&sb, '\n');
	xwrite_full(STDOUT_FILENO, sb.buf, sb.len);
	sb_free(&sb);
	return APC_EX_OK;
}

/* landlock.c - Landlock rules for the command (raw system calls).
 *
 * The ruleset handles every filesystem right of the kernel's ABI and
 * grants, path by path, only what the mount plan gives: read and execute
 * beneath the read-only binds, read for copied files and /proc, read,
 * write and ioctl for the device nodes, everything beneath --rw, --tmpfs
 * and the private directory, directory listing from / down.  The view
 * keeps its paths at the host's absolute paths, so the same rules hold
 * when the mount layer was degraded (--best-effort): then Landlock alone
 * keeps the command to the plan.  REFER is granted only beneath writable
 * places, so a link or rename cannot carry a file into more rights.
 *
 * With --allow-connect/--allow-bind (ABI 4+) TCP connect and bind are
 * handled and only the listed ports allowed; seccomp (seccomp.c) closes
 * what Landlock's TCP rules do not cover (MPTCP, UDP, other protocols).
 * ABI 6+ scopes abstract UNIX sockets and signals to the sandbox.
 *
 * Debian 12's <linux/landlock.h> stops at ABI 2: the later constants are
 * defined here.
 */

#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_READ_FILE (1ULL << 2)
#define LL_FS_READ_DIR (1ULL << 3)
#define LL_FS_REFER (1ULL << 13)     /* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define LL_NET_BIND_TCP (1ULL << 0)  /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT 2
#define LL_CREATE_RULESET_VERSION (1U << 0)

/* ABI 1's thirteen rights: execute ... make_sym. */
#define LL_FS_V1 ((1ULL << 13) - 1)
/* The rights that make sense on a file (not a directory). */
#define LL_FS_FILE (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | \
                    LL_FS_IOCTL_DEV)

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

static uint64_t handled_fs(int abi)
{
	uint64_t fs = LL_FS_V1;
	if (abi >= 2)
		fs |= LL_FS_REFER;
	if (abi >= 3)
		fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		fs |= LL_FS_IOCTL_DEV;
	return fs;
}

/* One path-beneath rule.  A path of the plan that is not there (an entry
 * the view skipped) needs no rule: 0.  -1 with why. */
static int add_path(int rs, const char *path, uint64_t allowed, uint64_t handled, char *why,
                    size_t whylen)
{
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		snprintf(why, whylen, "open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		allowed &= LL_FS_FILE;
	struct ll_path_beneath_attr pb = { .allowed_access = allowed & handled, .parent_fd = fd };
	int rc = pb.allowed_access ? (int)syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH_BENEATH,
	                                          &pb, 0) : 0;
	if (rc)
		snprintf(why, whylen, "rule for %s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

static int add_ports(int rs, const struct sbx_strv *ports, uint64_t access, char *why,
                     size_t whylen)
{
	for (size_t i = 0; i < ports->n; i++) {
		unsigned port;
		if (sbx_parse_port(ports->v[i], &port)) {
			snprintf(why, whylen, "bad port '%s'", ports->v[i]);
			return -1;
		}
		struct ll_net_port_attr np = { .allowed_access = access, .port = port };
		if (syscall(SYS_landlock_add_rule, rs, LL_RULE_NET_PORT, &np, 0)) {
			snprintf(why, whylen, "rule for TCP port %u: %s", port, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static uint64_t rights_of(const struct sbx_mnt *m, uint64_t all)
{
	const uint64_t rx = LL_FS_READ_FILE | LL_FS_READ_DIR | LL_FS_EXECUTE;
	switch (m->kind) {
	case SBX_M_BIND_RO: return rx;
	case SBX_M_BIND_RW:
	case SBX_M_TMPFS: return all;
	case SBX_M_BIND_DEV:
	case SBX_M_DEVPTS:
		return LL_FS_READ_FILE | LL_FS_READ_DIR | LL_FS_WRITE_FILE | LL_FS_IOCTL_DEV |
		       LL_FS_TRUNCATE;
	case SBX_M_FILE: return LL_FS_READ_FILE;
	case SBX_M_PROC: return LL_FS_READ_FILE | LL_FS_READ_DIR;
	case SBX_M_SYMLINK:
	case SBX_M_DIR: break;
	}
	return 0;
}

int sbx_landlock_apply(const struct sbx_run *r, char *detail, size_t len)
{
	const struct sbx_policy *p = r->pol;
	int abi = sbx_landlock_abi();
	detail[0] = 0;
	if (abi <= 0) {
		snprintf(detail, len, "not available: %s", strerror(errno));
		return -1;
	}
	int tcp = sbx_tcp_restricted(p);
	if (tcp && abi < 4) {
		snprintf(detail, len, "--allow-connect/--allow-bind need Landlock ABI 4, this kernel "
		         "has %d", abi);
		return -1;
	}
	uint64_t fs = handled_fs(abi);
	struct ll_ruleset_attr attr = {
		.handled_access_fs = fs,
		.handled_access_net = tcp ? LL_NET_BIND_TCP | LL_NET_CONNECT_TCP : 0,
		.scoped = abi >= 6 ? LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL : 0,
	};
	size_t size = abi >= 6 ? sizeof(attr) : abi >= 4 ? 16 : 8;
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (rs < 0) {
		snprintf(detail, len, "landlock_create_ruleset: %s", strerror(errno));
		return -1;
	}
	int rc = add_path(rs, "/", LL_FS_READ_DIR, fs, detail, len);
	for (size_t i = 0; rc == 0 && i < r->plan.n; i++) {
		uint64_t a = rights_of(&r->plan.m[i], fs);
		if (a)
			rc = add_path(rs, r->plan.m[i].dst, a, fs, detail, len);
	}
	if (rc == 0)
		rc = add_path(rs, r->tmpdir, fs, fs, detail, len);
	if (rc == 0 && tcp)
		rc = add_ports(rs, &p->allow_connect, LL_NET_CONNECT_TCP, detail, len);
	if (rc == 0 && tcp)
		rc = add_ports(rs, &p->allow_bind, LL_NET_BIND_TCP, detail, len);
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(detail, len, "no_new_privs: %s", strerror(errno));
		rc = -1;
	}
	if (rc == 0 && syscall(SYS_landlock_restrict_self, rs, 0)) {
		snprintf(detail, len, "landlock_restrict_self: %s", strerror(errno));
		rc = -1;
	}
	close(rs);
	if (rc == 0)
		snprintf(detail, len, "ABI %d: filesystem%s%s", abi, tcp ? ", TCP ports" : "",
		         abi >= 6 ? ", abstract UNIX sockets and signals scoped" : "");
	return rc;
}

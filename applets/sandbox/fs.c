/* fs.c - the filesystem view: its plan (supervisor), building it and
 * pivoting into it (init), and the private directory.
 *
 * The view is a small tmpfs that becomes the root: read-only binds of /usr
 * and the /lib*, /bin, /sbin entries as the host has them (symlinks are
 * recreated, directories bound), a few /etc files copied into the tmpfs
 * (passwd and group synthesized), three /etc directories bound, a /dev
 * with six bound device nodes, a read-only /proc of the new PID namespace,
 * then the caller's --ro/--rw/--tmpfs paths and last the private
 * directory, at the same absolute paths as on the host.  The tmpfs is
 * mounted over the private directory itself (the host directory stays
 * reachable through a descriptor opened first), so no other host path is
 * touched, and it is made read-only after the pivot.
 *
 * Read-only means MOUNT_ATTR_RDONLY|NOSUID|NODEV applied recursively with
 * mount_setattr(2): submounts of a bound tree are covered too, and flags
 * the kernel locked on mounts inherited from the host's namespace are only
 * ever added to, never cleared (clearing them would fail with EPERM).
 */

#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ETC_FILE_CAP (4u << 20)

/* ---------------------------------------------------------------- plan */

static struct sbx_mnt *plan_add(struct sbx_plan *pl, enum sbx_mnt_kind kind, const char *src,
                                const char *dst)
{
	pl->m = xreallocarray(pl->m, pl->n + 1, sizeof(*pl->m));
	struct sbx_mnt *m = &pl->m[pl->n++];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->src = src ? xstrdup(src) : NULL;
	m->dst = xstrdup(dst);
	return m;
}

void sbx_plan_free(struct sbx_plan *pl)
{
	for (size_t i = 0; i < pl->n; i++) {
		free(pl->m[i].src);
		free(pl->m[i].dst);
		free(pl->m[i].data);
	}
	free(pl->m);
	pl->m = NULL;
	pl->n = 0;
}

/* A host entry as it is: a symlink is recreated, a directory bound. */
static void add_as_host(struct sbx_plan *pl, const char *path)
{
	struct stat st;
	char link[PATH_MAX];
	if (lstat(path, &st))
		return;
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = 0;
			plan_add(pl, SBX_M_SYMLINK, link, path);
		}
	} else if (S_ISDIR(st.st_mode)) {
		plan_add(pl, SBX_M_BIND_RO, path, path)->src_is_dir = 1;
	}
}

static void add_file_copy(struct sbx_plan *pl, const char *path)
{
	char *data;
	size_t len;
	/* A link into /usr stays a link (localtime names the zone that way);
	 * anything else is copied, so the view never depends on /run. */
	char link[PATH_MAX];
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		if (!strncmp(link, "/usr/", 5)) {
			plan_add(pl, SBX_M_SYMLINK, link, path);
			return;
		}
	}
	if (read_file_capped(path, ETC_FILE_CAP, &data, &len))
		return;
	struct sbx_mnt *m = plan_add(pl, SBX_M_FILE, NULL, path);
	m->data = data;
	m->len = len;
}

/* A path the caller chose, resolved here; init opens the result again
 * refusing any symlink on the way (it has none), so a symlink swapped in
 * between cannot redirect the bind to somewhere else. */
static void add_pinned(struct sbx_plan *pl, enum sbx_mnt_kind kind, const char *path,
                       const char *opt)
{
	char real[PATH_MAX];
	struct stat st;

	if (!realpath(path, real) || stat(real, &st))
		die_code(SBX_EX_SETUP, "%s %s: %s", opt, path, strerror(errno));
	if (!strcmp(real, "/"))
		die_code(SBX_EX_SETUP, "%s /: binding the whole host root defeats the view", opt);
	struct sbx_mnt *m = plan_add(pl, kind, real, real);
	m->pin = 1;
	m->user = 1;
	m->src_is_dir = S_ISDIR(st.st_mode);
}

/* The source of a bind: by path, or for a pinned one through a descriptor
 * opened with RESOLVE_NO_SYMLINKS (in init's own mount namespace: a mount
 * of another namespace cannot be bound).  -2: not pinned. */
static int open_pinned(const struct sbx_mnt *m)
{
	if (!m->pin)
		return -2;
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, m->src, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = open(m->src, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

static void add_dir_bind(struct sbx_plan *pl, const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		plan_add(pl, SBX_M_BIND_RO, path, path)->src_is_dir = 1;
}

/* The host's line for id in an /etc/passwd-like file, or NULL. */
static char *find_id_line(const char *file, unsigned long id)
{
	char *text, *found = NULL;
	size_t len;
	if (read_file_capped(file, ETC_FILE_CAP, &text, &len))
		return NULL;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(l, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		char *end;
		if (c2 && strtoul(c2 + 1, &end, 10) == id && *end == ':' && end > c2 + 1)
			found = xstrndup(l, (size_t)(c1 - l));
	}
	free(text);
	return found;
}

/* Minimal passwd and group: root, the caller (home = the private
 * directory), nobody.  Names of the host's other accounts stay outside. */
void sbx_plan_identity(struct sbx_plan *pl, const char *tmpdir, const struct sbx_policy *p)
{
	/* the ids the command has inside (--uid/--gid), named as the caller */
	char *user = find_id_line("/etc/passwd", getuid());
	char *group = find_id_line("/etc/group", getgid());
	unsigned long uid = p->have_uid ? (unsigned long)p->uid_in : (unsigned long)getuid();
	unsigned long gid = p->have_gid ? (unsigned long)p->gid_in : (unsigned long)getgid();
	if (uid != getuid()) {
		free(user);
		user = xstrdup("sandbox");
	}
	if (gid != getgid()) {
		free(group);
		group = xstrdup("sandbox");
	}
	struct strbuf pw = STRBUF_INIT, gr = STRBUF_INIT;

	sb_printf(&pw, "root:x:0:0:root:%s:/bin/sh\n", uid == 0 ? tmpdir : "/root");
	if (uid != 0 && uid != 65534)
		sb_printf(&pw, "%s:x:%lu:%lu::%s:/bin/sh\n", user ? user : "user", uid, gid, tmpdir);
	sb_puts(&pw, "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
	sb_puts(&gr, "root:x:0:\n");
	if (gid != 0 && gid != 65534)
		sb_printf(&gr, "%s:x:%lu:\n", group ? group : "group", gid);
	sb_puts(&gr, "nogroup:x:65534:\n");

	struct sbx_mnt *m = plan_add(pl, SBX_M_FILE, NULL, "/etc/passwd");
	m->data = sb_detach(&pw, &m->len);
	m = plan_add(pl, SBX_M_FILE, NULL, "/etc/group");
	m->data = sb_detach(&gr, &m->len);
	free(user);
	free(group);
}

static void add_dev(struct sbx_plan *pl, int dev_pts)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/dev/fd" }, { "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
	};
	plan_add(pl, SBX_M_DIR, NULL, "/dev");
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		char *p = xasprintf("/dev/%s", nodes[i]);
		struct stat st;
		if (stat(p, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
			plan_add(pl, SBX_M_BIND_DEV, p, p);
		free(p);
	}
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		plan_add(pl, SBX_M_SYMLINK, links[i][0], links[i][1]);
	if (dev_pts) {
		plan_add(pl, SBX_M_DEVPTS, NULL, "/dev/pts");
		plan_add(pl, SBX_M_SYMLINK, "pts/ptmx", "/dev/ptmx");
	}
}

/* An absolute path with symlinks resolved as far as it exists on the
 * host; the missing rest is kept as written.  The view mirrors the host at
 * the same paths, so a mount point made from this never walks through a
 * symlink (which could lead out of the view while it is being built). */
static char *resolve_existing(const char *path)
{
	char *copy = xstrdup(path), real[PATH_MAX];
	size_t len = strlen(copy);
	for (;;) {
		if (realpath(copy, real)) {
			char *out = xasprintf("%s%s", strcmp(real, "/") ? real : "", path + len);
			free(copy);
			if (!*out) {
				free(out);
				out = xstrdup("/");
			}
			return out;
		}
		char *slash = strrchr(copy, '/');
		if (!slash || slash == copy) {
			free(copy);
			return xstrdup(path);
		}
		*slash = 0;
		len = (size_t)(slash - copy);
	}
}

static int depth_of(const char *path)
{
	int d = 0;
	for (; *path; path++)
		d += *path == '/';
	return d;
}

/* The caller's paths, shallow first so that --rw /a --ro /a/b nests as
 * written (stable among equal depths: later options win). */
static void add_user_paths(struct sbx_plan *pl, const struct sbx_policy *p)
{
	size_t first = pl->n;
	const struct { const struct sbx_strv *sv; enum sbx_mnt_kind kind; const char *opt; } groups[] = {
		{ &p->ro, SBX_M_BIND_RO, "--ro" },
		{ &p->rw, SBX_M_BIND_RW, "--rw" },
		{ &p->tmpfs, SBX_M_TMPFS, "--tmpfs" },
	};
	for (size_t g = 0; g < ARRAY_SIZE(groups); g++) {
		for (size_t i = 0; i < groups[g].sv->n; i++) {
			const char *path = groups[g].sv->v[i];
			if (groups[g].kind == SBX_M_TMPFS) {
				char *canon = resolve_existing(path);
				if (!strcmp(canon, "/"))
					die_code(SBX_EX_SETUP, "--tmpfs /: the root is already private");
				plan_add(pl, SBX_M_TMPFS, NULL, canon)->user = 1;
				free(canon);
				continue;
			}
			add_pinned(pl, groups[g].kind, path, groups[g].opt);
		}
	}
	/* insertion sort by depth: few entries, and it is stable */
	for (size_t i = first + 1; i < pl->n; i++) {
		struct sbx_mnt m = pl->m[i];
		size_t j = i;
		while (j > first && depth_of(pl->m[j - 1].dst) > depth_of(m.dst)) {
			pl->m[j] = pl->m[j - 1];
			j--;
		}
		pl->m[j] = m;
	}
}

void sbx_plan_build(struct sbx_plan *pl, const struct sbx_policy *p, const char *extroot)
{
	static const char *const roots[] = { "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" };
	static const char *const etc_files[] = {
		"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/nsswitch.conf", "/etc/hosts",
		"/etc/resolv.conf", "/etc/localtime", "/etc/host.conf", "/etc/os-release",
	};
	static const char *const etc_dirs[] = { "/etc/ld.so.conf.d", "/etc/ssl/certs", "/etc/alternatives" };

	memset(pl, 0, sizeof(*pl));
	add_dir_bind(pl, "/usr");
	for (size_t i = 0; i < ARRAY_SIZE(roots); i++)
		add_as_host(pl, roots[i]);
	for (size_t i = 0; i < ARRAY_SIZE(etc_files); i++)
		add_file_copy(pl, etc_files[i]);
	for (size_t i = 0; i < ARRAY_SIZE(etc_dirs); i++)
		add_dir_bind(pl, etc_dirs[i]);
	add_dev(pl, p->dev_pts);
	plan_add(pl, SBX_M_PROC, NULL, "/proc");
	if (p->sys)
		add_dir_bind(pl, "/sys");
	if (extroot)
		add_pinned(pl, SBX_M_BIND_RO, extroot, "APCORE_EXTENSIONS_ROOT");
	add_user_paths(pl, p);
}

/* ---------------------------------------------------------- building it */

struct view {
	const char *root;      /* host path of the new root (the tmpfs) */
	int rootfd;
	char *why;
	size_t whylen;
};

static PRINTF(2, 3) int fail(struct view *v, const char *fmt, ...)
{
	int e = errno;
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(v->why, v->whylen, "%s: %s", msg, strerror(e));
	errno = e;
	return -1;
}

/* Path relative to the new root ("usr/bin" for "/usr/bin"). */
static const char *rel(const char *dst)
{
	while (*dst == '/')
		dst++;
	return *dst ? dst : ".";
}

static int mkdirs_at(int dfd, const char *path)
{
	if (mkdirat(dfd, path, 0755) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -1;
	char *parent = xstrdup(path);
	char *slash = strrchr(parent, '/');
	int rc = -1;
	if (slash) {
		*slash = 0;
		rc = mkdirs_at(dfd, parent);
	}
	free(parent);
	if (rc)
		return -1;
	return mkdirat(dfd, path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static int mkparent_at(int dfd, const char *path)
{
	char *parent = xstrdup(path);
	char *slash = strrchr(parent, '/');
	int rc = 0;
	if (slash) {
		*slash = 0;
		rc = mkdirs_at(dfd, parent);
	}
	free(parent);
	return rc;
}

/* An empty file to mount a non-directory on (or the existing one, when a
 * bound tree already has it).  Like every entry below, made first and
 * its parent only when that is missing (ENOENT): most parents exist. */
static int mkfile_at(int dfd, const char *path)
{
	int fd = openat(dfd, path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0 && errno == ENOENT) {
		if (mkparent_at(dfd, path))
			return -1;
		fd = openat(dfd, path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
	}
	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	close(fd);
	return 0;
}

static int set_attr(const char *target, uint64_t set, int recursive)
{
	struct mount_attr attr = { .attr_set = set };
	return mount_setattr(AT_FDCWD, target, recursive ? AT_RECURSIVE : 0, &attr, sizeof(attr));
}

static int do_bind(struct view *v, const struct sbx_mnt *m, const char *target)
{
	const char *r = rel(m->dst);
	int isdir = m->src_is_dir;
	if ((isdir ? mkdirs_at(v->rootfd, r) : mkfile_at(v->rootfd, r)))
		return fail(v, "cannot create the mount point %s in the view", m->dst);
	unsigned long flags = MS_BIND | (m->kind == SBX_M_BIND_DEV ? 0 : MS_REC);
	char fdpath[64];
	int fd = open_pinned(m);
	if (fd == -1)
		return fail(v, "cannot open %s (without following symlinks)", m->src);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	int rc = mount(fd >= 0 ? fdpath : m->src, target, NULL, flags, NULL);
	if (fd >= 0)
		close(fd);
	if (rc)
		return fail(v, "cannot bind %s", m->src);
	/* A device node stays usable on a read-only mount; read-only keeps
	 * its owner (root maps to itself) from chmod'ing the host's node. */
	if (m->kind == SBX_M_BIND_DEV &&
	    set_attr(target, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, 0))
		return fail(v, "cannot make %s read-only", m->dst);
	if (m->kind == SBX_M_BIND_RO &&
	    set_attr(target, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 1))
		return fail(v, "cannot make %s read-only", m->dst);
	if (m->kind == SBX_M_BIND_RW && set_attr(target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 1))
		return fail(v, "cannot make %s nosuid,nodev", m->dst);
	return 0;
}

static int do_file(struct view *v, const struct sbx_mnt *m)
{
	const char *r = rel(m->dst);
	int fd = openat(v->rootfd, r, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno == ENOENT) {
		if (mkparent_at(v->rootfd, r))
			return fail(v, "cannot create %s in the view", m->dst);
		fd = openat(v->rootfd, r, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	}
	if (fd < 0 || write_full(fd, m->data, m->len)) {
		if (fd >= 0)
			close(fd);
		return fail(v, "cannot write %s in the view", m->dst);
	}
	close(fd);
	return 0;
}

static int do_op(struct view *v, const struct sbx_mnt *m, int with_proc)
{
	char *target = xasprintf("%s%s", v->root, m->dst);
	const char *r = rel(m->dst);
	int rc = 0;

	switch (m->kind) {
	case SBX_M_BIND_RO:
	case SBX_M_BIND_RW:
	case SBX_M_BIND_DEV:
		rc = do_bind(v, m, target);
		break;
	case SBX_M_FILE:
		rc = do_file(v, m);
		break;
	case SBX_M_SYMLINK:
		if (symlinkat(m->src, v->rootfd, r) &&
		    (errno != ENOENT || mkparent_at(v->rootfd, r) || symlinkat(m->src, v->rootfd, r)))
			rc = fail(v, "cannot create the link %s in the view", m->dst);
		break;
	case SBX_M_DIR:
		if (mkdirs_at(v->rootfd, r))
			rc = fail(v, "cannot create %s in the view", m->dst);
		break;
	case SBX_M_TMPFS:
		if (mkdirs_at(v->rootfd, r))
			rc = fail(v, "cannot create the mount point %s in the view", m->dst);
		else if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"))
			rc = fail(v, "cannot mount a tmpfs on %s", m->dst);
		break;
	case SBX_M_DEVPTS:
		if (mkdirs_at(v->rootfd, r))
			rc = fail(v, "cannot create %s in the view", m->dst);
		else if (mount("devpts", target, "devpts", MS_NOSUID | MS_NOEXEC,
		               "newinstance,ptmxmode=0666,mode=0620"))
			rc = fail(v, "cannot mount devpts on %s", m->dst);
		break;
	case SBX_M_PROC:
		/* Read-only: /proc/sys, sysrq-trigger and friends are checked
		 * against uid 0, not capabilities, and root maps to itself. */
		if (!with_proc)
			break;
		if (mkdirs_at(v->rootfd, r))
			rc = fail(v, "cannot create %s in the view", m->dst);
		else if (mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL))
			rc = fail(v, "cannot mount /proc");
		break;
	}
	free(target);
	return rc;
}

/* The private directory, bound from the descriptor opened before the
 * tmpfs hid it, at its own path. */
static int bind_private(struct view *v, int hostfd)
{
	char src[64];
	char *target = xasprintf("%s%s", v->root, v->root);
	int rc = 0;
	snprintf(src, sizeof(src), "/proc/self/fd/%d", hostfd);
	if (mkdirs_at(v->rootfd, rel(v->root)))
		rc = fail(v, "cannot create %s in the view", v->root);
	else if (mount(src, target, NULL, MS_BIND, NULL))
		rc = fail(v, "cannot bind the private directory");
	else if (set_attr(target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0))
		rc = fail(v, "cannot make the private directory nosuid,nodev");
	free(target);
	return rc;
}

static int pivot(struct view *v)
{
	if (chdir(v->root))
		return fail(v, "cannot enter the new root");
	/* pivot_root(".", "."): the old root ends up stacked under the new one
	 * and is detached right away (see pivot_root(2), NOTES). */
	if (syscall(SYS_pivot_root, ".", "."))
		return fail(v, "pivot_root");
	if (umount2(".", MNT_DETACH))
		return fail(v, "cannot detach the host's root");
	if (chdir("/"))
		return fail(v, "chdir /");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL))
		return fail(v, "cannot make the root read-only");
	return 0;
}

int sbx_view_enter(const struct sbx_plan *pl, const char *tmpdir, int with_proc, char *why,
                   size_t whylen)
{
	struct view v = { .root = tmpdir, .rootfd = -1, .why = why, .whylen = whylen };
	int hostfd = -1, rc = -1;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return fail(&v, "cannot make the mount namespace private");
	hostfd = open(tmpdir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (hostfd < 0)
		return fail(&v, "cannot open %s", tmpdir);
	if (mount("tmpfs", tmpdir, "tmpfs", MS_NOSUID | MS_NODEV,
	          "mode=0755,size=16m,nr_inodes=16384")) {
		fail(&v, "cannot mount the root tmpfs");
		goto out;
	}
	v.rootfd = open(tmpdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (v.rootfd < 0) {
		fail(&v, "cannot open the root tmpfs");
		goto out;
	}
	for (size_t i = 0; i < pl->n; i++) {
		if (do_op(&v, &pl->m[i], with_proc)) {
			rc = pl->m[i].user ? -2 : -1;
			goto out;
		}
	}
	if (bind_private(&v, hostfd) || pivot(&v)) {
		rc = -1;
		goto out;
	}
	rc = 0;
out:
	if (v.rootfd >= 0)
		close(v.rootfd);
	close(hostfd);
	return rc;
}

/* ------------------------------------------------------ private directory */

char *sbx_tmpdir_create(void)
{
	const char *base = getenv("TMPDIR");
	char real[PATH_MAX];
	struct stat st;
	if (!base || base[0] != '/' || stat(base, &st) || !S_ISDIR(st.st_mode))
		base = "/tmp";
	/* canonical: the view puts the directory at this very path */
	if (!realpath(base, real))
		die_code(SBX_EX_SETUP, "cannot resolve the temporary directory %s: %s", base,
		         strerror(errno));
	char *path = xasprintf("%s%s" SBX_TMP_PREFIX "XXXXXX", real,
	                       real[strlen(real) - 1] == '/' ? "" : "/");
	if (!mkdtemp(path))
		die_code(SBX_EX_SETUP, "cannot create a private directory in %s: %s", real,
		         strerror(errno));
	return path;
}

/* Make the directory open as fd fully accessible to us again (the command
 * may have chmod'ed it away); through /proc so no path is followed. */
static void chmod_fd(int fd, mode_t mode)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	(void)chmod(p, mode);
}

static int remove_in(int dfd, const char *name);

static int remove_dir_contents(int fd)
{
	struct sbx_strv names = { 0 };
	int dup_fd = dup(fd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -1;
	}
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			sbx_strv_push(&names, e->d_name);
	closedir(d);
	int rc = 0;
	for (size_t i = 0; i < names.n; i++)
		rc |= remove_in(fd, names.v[i]);
	sbx_strv_free(&names);
	return rc;
}

static int remove_in(int dfd, const char *name)
{
	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	int fd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	chmod_fd(fd, 0700);
	int rfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(fd);
	if (rfd < 0)
		return -1;
	int rc = remove_dir_contents(rfd);
	close(rfd);
	if (unlinkat(dfd, name, AT_REMOVEDIR) && errno != ENOENT)
		rc = -1;
	return rc;
}

int sbx_tmpdir_remove(const char *path)
{
	char *copy = xstrdup(path);
	char *slash = strrchr(copy, '/');
	int rc = -1;
	if (slash && slash[1]) {
		*slash = 0;
		/* the common case, a command that left nothing: one rmdir */
		if (rmdir(path) == 0) {
			free(copy);
			return 0;
		}
		int pfd = open(slash == copy ? "/" : copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd >= 0) {
			rc = remove_in(pfd, slash + 1);
			close(pfd);
		}
	}
	free(copy);
	return rc;
}

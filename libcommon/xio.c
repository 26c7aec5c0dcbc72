/* xio.c - I/O that survives EINTR and short counts, capped whole-file
 * reads, atomic replacement and locked single-write appends. */

#include "libcommon.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void xwrite_full(int fd, const void *buf, size_t len)
{
	if (write_full(fd, buf, len))
		die_errno("write error");
}

/* Read into the buffer itself, sized for a regular file up front (st:
 * its fstat, or NULL): one allocation and no copies for the common case,
 * and the buffer grows as it comes for pipes and files that grow. */
static int read_fd_sized(int fd, size_t cap, const struct stat *st, char **out, size_t *outlen)
{
	struct strbuf sb = STRBUF_INIT;
	size_t want = 4096;

	/* one byte more than the size: EOF comes with the first read */
	if (st && S_ISREG(st->st_mode) && st->st_size > 0 && (uint64_t)st->st_size < cap)
		want = (size_t)st->st_size + 1;
	sb_grow(&sb, want);  /* NUL-terminated even when empty */
	sb.buf[0] = 0;
	for (;;) {
		if (sb.cap - sb.len - 1 == 0)
			sb_grow(&sb, sb.len < 65536 ? 65536 : sb.len);
		size_t room = sb.cap - sb.len - 1;
		/* never more than one byte past the cap: enough to refuse */
		if (cap - sb.len < room)
			room = cap - sb.len + 1;
		ssize_t n = read(fd, sb.buf + sb.len, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			sb_free(&sb);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		if ((size_t)n > cap - sb.len) {
			sb_free(&sb);
			errno = EFBIG;
			return -1;
		}
		sb.len += (size_t)n;
		sb.buf[sb.len] = 0;
	}
	*out = sb_detach(&sb, outlen);
	return 0;
}

int read_fd_capped(int fd, size_t cap, char **out, size_t *outlen)
{
	struct stat st;
	return read_fd_sized(fd, cap, fstat(fd, &st) == 0 ? &st : NULL, out, outlen);
}

int read_file_capped(const char *path, size_t cap, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	struct stat st;
	int have_st = fstat(fd, &st) == 0;
	if (have_st && S_ISDIR(st.st_mode)) {
		close(fd);
		errno = EISDIR;
		return -1;
	}
	int rc = read_fd_sized(fd, cap, have_st ? &st : NULL, out, outlen);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

int write_file_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = write_full(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

ssize_t send_fd(int sock, const void *data, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

ssize_t recv_fd(int sock, void *data, size_t len, int *fd, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
	                     .msg_controllen = sizeof(u.buf) };
	ssize_t n;
	*fd = -1;
	do
		n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n;
}

char *xread_file(const char *path, size_t cap, size_t *outlen)
{
	char *buf;
	if (read_file_capped(path, cap, &buf, outlen)) {
		if (errno == EFBIG)
			die("cannot read %s: larger than %zu bytes", path, cap);
		die_errno("cannot read %s", path);
	}
	return buf;
}

int fsync_dir_of(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

int atomic_replace(const char *path, const void *data, size_t len, mode_t mode)
{
	/* Renaming over a device, fifo or socket would replace it with a
	 * regular file: as root, "--report /dev/null" would destroy /dev/null. */
	struct stat st;
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	char *copy = xstrdup(path);
	char *dir = dirname(copy);
	/* mkostemp: O_CREAT|O_EXCL on a fresh random name in the same
	 * directory, so nothing an attacker placed there is followed or reused. */
	char *tmp = xasprintf("%s/.apcore-tmp.XXXXXX", dir);
	int fd = mkostemp(tmp, O_CLOEXEC);
	free(copy);
	if (fd < 0) {
		int e = errno;
		free(tmp);
		errno = e;
		return -1;
	}
	if (fchmod(fd, mode) || write_full(fd, data, len) || fsync(fd) || close(fd)) {
		int e = errno;
		close(fd);
		unlink(tmp);
		free(tmp);
		errno = e;
		return -1;
	}
	if (rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		free(tmp);
		errno = e;
		return -1;
	}
	free(tmp);
	return fsync_dir_of(path);
}

int append_locked(int fd, const void *data, size_t len, int sync)
{
	while (flock(fd, LOCK_EX)) {
		if (errno != EINTR)
			return -1;
	}
	int rc = 0, e = 0;
	struct stat st;
	off_t before = fstat(fd, &st) == 0 ? st.st_size : -1;
	ssize_t n;
	do
		n = write(fd, data, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		rc = -1;
		e = errno;
	} else if ((size_t)n != len) {
		/* A torn record is worse than none: take it back. */
		rc = -1;
		e = EIO;
		if (before >= 0 && ftruncate(fd, before))
			e = errno;
	} else if (sync && fdatasync(fd)) {
		rc = -1;
		e = errno;
	}
	(void)flock(fd, LOCK_UN);
	errno = e;
	return rc;
}

int mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == 0) {
			char c = *s;
			*s = 0;
			if (mkdir(p, mode) && errno != EEXIST) {
				int e = errno;
				free(p);
				errno = e;
				return -1;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	struct stat st;
	if (stat(path, &st))
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int write_output(const char *path, const void *data, size_t len, mode_t mode)
{
	if (!strcmp(path, "-")) {
		fflush(stdout);
		return write_full(STDOUT_FILENO, data, len);
	}
	struct stat st;
	if (stat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
		int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		int rc = write_full(fd, data, len);
		int e = errno;
		if (close(fd) && rc == 0)
			return -1;
		errno = e;
		return rc;
	}
	return atomic_replace(path, data, len, mode);
}

/* secure.c - secret hygiene: wiping, a registry of live secrets that every
 * exit path wipes, no core dumps, constant-time comparison. */

#include "libcommon.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>

struct live {
	void *p;
	size_t n;
};

/* Live secrets.  Small: a process holds a handful at a time. */
static struct live *reg;
static size_t nreg, capreg;

void secure_wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

void secure_register(void *p, size_t n)
{
	if (!p)
		return;
	if (nreg == capreg) {
		size_t cap = capreg ? capreg * 2 : 16;
		struct live *r = realloc(reg, cap * sizeof(*r));
		if (!r) {
			/* Cannot track it: wipe now rather than risk a leak. */
			secure_wipe(p, n);
			die("out of memory registering a secret");
		}
		reg = r;
		capreg = cap;
	}
	reg[nreg].p = p;
	reg[nreg].n = n;
	nreg++;
}

void secure_unregister(void *p)
{
	for (size_t i = nreg; i-- > 0;) {
		if (reg[i].p == p) {
			reg[i] = reg[--nreg];
			break;
		}
	}
	if (nreg == 0) {
		free(reg);
		reg = NULL;
		capreg = 0;
	}
}

void secure_wipe_all(void)
{
	for (size_t i = 0; i < nreg; i++)
		secure_wipe(reg[i].p, reg[i].n);
}

/* A size header in front of the user pointer lets secure_free wipe it all. */
struct sechdr {
	size_t n;
	size_t pad;  /* keep the payload 16-byte aligned */
};

void *secure_alloc(size_t n)
{
	if (n > SIZE_MAX - sizeof(struct sechdr))
		die("secret too large");
	struct sechdr *h = xzalloc(sizeof(*h) + n);
	h->n = n;
	(void)mlock(h, sizeof(*h) + n);  /* best effort: RLIMIT_MEMLOCK */
	secure_register(h + 1, n);
	return h + 1;
}

void secure_free(void *p)
{
	if (!p)
		return;
	struct sechdr *h = (struct sechdr *)p - 1;
	size_t n = h->n;
	secure_unregister(p);
	secure_wipe(h, sizeof(*h) + n);
	(void)munlock(h, sizeof(*h) + n);
	free(h);
}

void secure_nodump(void)
{
	struct rlimit rl = { 0, 0 };
	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int ct_memeq(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

char *secure_read_fd(int fd, size_t cap, int strip_nl, size_t *len)
{
	/* Grow a secure buffer by hand: realloc would leave copies behind. */
	size_t cur = 0, size = 256;
	char *buf = secure_alloc(size + 1);
	for (;;) {
		if (cur == size) {
			if (size >= cap) {
				secure_free(buf);
				errno = EFBIG;
				return NULL;
			}
			size_t nsize = size * 2 > cap ? cap : size * 2;
			char *nbuf = secure_alloc(nsize + 1);
			memcpy(nbuf, buf, cur);
			secure_free(buf);
			buf = nbuf;
			size = nsize;
		}
		ssize_t n = read(fd, buf + cur, size - cur);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			secure_free(buf);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		cur += (size_t)n;
	}
	if (strip_nl && cur && buf[cur - 1] == '\n') {
		cur--;
		if (cur && buf[cur - 1] == '\r')
			cur--;
	}
	buf[cur] = 0;
	secure_wipe(buf + cur, size + 1 - cur);
	*len = cur;
	return buf;
}

static char *tty_line(int fd, const char *prompt, size_t *len)
{
	(void)!write(fd, prompt, strlen(prompt));
	char *buf = secure_alloc(4097);
	size_t cur = 0;
	for (;;) {
		char ch;
		ssize_t n = read(fd, &ch, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || ch == '\n')
			break;
		if (cur < 4096)
			buf[cur++] = ch;
	}
	(void)!write(fd, "\n", 1);
	if (cur && buf[cur - 1] == '\r')
		cur--;
	buf[cur] = 0;
	*len = cur;
	return buf;
}

char *secure_read_tty(const char *prompt, int confirm, size_t *len, char *why, size_t whylen)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "no terminal to prompt on");
		return NULL;
	}
	struct termios old, quiet;
	int restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		(void)tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	char *a = tty_line(fd, prompt, len);
	if (confirm) {
		size_t blen;
		char *b = tty_line(fd, "Again: ", &blen);
		if (blen != *len || !ct_memeq(a, b, blen)) {
			secure_free(a);
			a = NULL;
			snprintf(why, whylen, "the two entries differ");
		}
		secure_free(b);
	}
	if (restore)
		(void)tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	return a;
}

char *secure_read_key_file(const char *path, int secret, size_t cap, size_t *len, char *why,
                           size_t whylen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		msgf(why, whylen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = NULL;
	if (fstat(fd, &st) != 0) {
		msgf(why, whylen, "cannot stat %s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		msgf(why, whylen, "%s is not a regular file", path);
	} else if (secret && (st.st_mode & 077)) {
		msgf(why, whylen, "%s: permissions %04o are too open for a secret key "
		     "(chmod 600 %s)", path, (unsigned)(st.st_mode & 07777), path);
	} else if (!(buf = secure_read_fd(fd, cap, 0, len))) {
		msgf(why, whylen, "cannot read %s: %s", path,
		     errno == EFBIG ? "file too large" : strerror(errno));
	}
	close(fd);
	return buf;
}

/* secure.c - secret hygiene: wiping, a registry of live secrets that every
 * exit path wipes, no core dumps, constant-time comparison. */

#include "libcommon.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

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

/* crypto.c - placeholder until the mbedTLS layer lands (being written). */
#include "libcommon.h"
#include <sys/random.h>
#include <errno.h>

void xcrypto_random(void *buf, size_t len)
{
	unsigned char *p = buf;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die_errno("getrandom");
		}
		p += n;
		len -= (size_t)n;
	}
}

/* secret.c - --secret and --secret-fd NAME=TOKEN: a secret for the command only.
 *
 * The token (keyring:REF, enc:v2:..., enc:v3:...) is resolved by
 * libcommon's secrets service in the supervisor; the plaintext goes to the
 * command and nowhere else: the policy, --explain, the report and the audit
 * record hold the token at most (a token is what a config file holds
 * anyway), messages name the secret, never its value.
 *
 * --secret: the value goes into the command's environment as NAME.  The
 * "NAME=value" strings are secure_alloc()ed (registered, so die() wipes
 * them too) and wiped when the run is over.
 *
 * --secret-fd: the value goes into a memfd (memory only, never a file
 * system the host can see) sealed against writes and size changes, which
 * the command inherits as descriptor 3, 4, ... in the order given; NAME
 * holds the number.  Unlike the environment, the value does not reach
 * every process the command starts unless it passes the descriptor on,
 * and it can hold any bytes, NUL and newlines included.
 */

#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int valid_name(const char *s, size_t n)
{
	if (!n || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

int sbx_secret_spec_ok(const char *spec)
{
	const char *eq = strchr(spec, '=');
	return eq && eq[1] && valid_name(spec, (size_t)(eq - spec));
}

/* Take NAME out of envp (an --env of the same name loses). */
static void env_drop(struct sbx_strv *envp, const char *name, size_t n)
{
	size_t j = 0;
	for (size_t i = 0; i < envp->n; i++) {
		if (!strncmp(envp->v[i], name, n) && envp->v[i][n] == '=')
			free(envp->v[i]);
		else
			envp->v[j++] = envp->v[i];
	}
	envp->n = j;
	envp->v[j] = NULL;
}

static void env_put(struct sbx_strv *envp, char *entry, size_t namelen)
{
	env_drop(envp, entry, namelen);
	envp->v = xreallocarray(envp->v, envp->n + 2, sizeof(*envp->v));
	envp->v[envp->n++] = entry;
	envp->v[envp->n] = NULL;
}

/* The value in a sealed memfd, its offset back at 0: the fd or -1. */
static int sealed_memfd(const char *name, const char *val, size_t len, char *why, size_t whylen)
{
	int fd = memfd_create("apcore-secret", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		snprintf(why, whylen, "--secret-fd %s: memfd_create: %s", name, strerror(errno));
		return -1;
	}
	if (write_full(fd, val, len) || lseek(fd, 0, SEEK_SET) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)) {
		snprintf(why, whylen, "--secret-fd %s: cannot fill the descriptor: %s", name,
		         strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Resolve one NAME=TOKEN and hand it over: 0 or -1 (why). */
static int inject_one(struct sbx_run *r, struct sec_ctx *ctx, const char *spec, int as_fd,
                      struct sbx_secrets *held, char *why, size_t whylen)
{
	const char *eq = strchr(spec, '=');
	size_t n = (size_t)(eq - spec);
	char *name = xstrndup(spec, n);
	char *plain = NULL, msg[160];
	size_t plen = 0;
	int rc = -1;
	enum sec_status st = sec_resolve(ctx, name, eq + 1, &plain, &plen, msg, sizeof(msg));
	if (st != SEC_OK) {
		snprintf(why, whylen, "--secret%s %s: %s", as_fd ? "-fd" : "", name, msg);
	} else if (as_fd) {
		int fd = sealed_memfd(name, plain, plen, why, whylen);
		if (fd >= 0) {
			char *entry = xmalloc(n + 16);
			snprintf(entry, n + 16, "%s=%zu", name, 3 + r->n_secret_fd);
			env_put(&r->envp, entry, n);
			r->secret_fd = xreallocarray(r->secret_fd, r->n_secret_fd + 1, sizeof(int));
			r->secret_fd[r->n_secret_fd++] = fd;
			rc = 0;
		}
	} else if (memchr(plain, 0, plen)) {
		snprintf(why, whylen, "--secret %s: the value holds a NUL byte, which an "
		         "environment variable cannot carry (use --secret-fd)", name);
	} else {
		char *entry = secure_alloc(n + 1 + plen + 1);
		memcpy(entry, spec, n + 1);
		memcpy(entry + n + 1, plain, plen + 1);
		env_put(&r->envp, entry, n);
		held->v = xreallocarray(held->v, held->n + 1, sizeof(*held->v));
		held->v[held->n++] = entry;
		rc = 0;
	}
	if (plain)
		secure_free(plain);
	free(name);
	return rc;
}

static const char *spec_at(const struct sbx_policy *p, size_t i)
{
	return i < p->secrets.n ? p->secrets.v[i] : p->secret_fds.v[i - p->secrets.n];
}

int sbx_secrets_check(const struct sbx_policy *p, char *why, size_t whylen)
{
	if (p->secret_fds.n > SBX_MAX_SECRET_FDS) {
		snprintf(why, whylen, "more than %d --secret-fd", SBX_MAX_SECRET_FDS);
		return -1;
	}
	/* one entry per name: a second would replace a secure entry */
	for (size_t i = 0; i < p->secrets.n + p->secret_fds.n; i++) {
		const char *a = spec_at(p, i);
		size_t n = strcspn(a, "=");
		for (size_t j = 0; j < i; j++) {
			const char *b = spec_at(p, j);
			if (!strncmp(a, b, n) && b[n] == '=') {
				snprintf(why, whylen, "secret %.*s given twice (--secret, --secret-fd)",
				         (int)n, a);
				return -1;
			}
		}
	}
	return 0;
}

int sbx_secrets_inject(struct sbx_run *r, struct sbx_secrets *held, char *why, size_t whylen)
{
	const struct sbx_policy *p = r->pol;
	memset(held, 0, sizeof(*held));
	r->secret_fd = NULL;
	r->n_secret_fd = 0;
	if (!p->secrets.n && !p->secret_fds.n)
		return 0;
	struct sec_ctx *ctx = sec_ctx_new();
	int rc = 0;
	for (size_t i = 0; i < p->secrets.n && rc == 0; i++)
		rc = inject_one(r, ctx, p->secrets.v[i], 0, held, why, whylen);
	for (size_t i = 0; i < p->secret_fds.n && rc == 0; i++)
		rc = inject_one(r, ctx, p->secret_fds.v[i], 1, held, why, whylen);
	sec_ctx_free(ctx);
	if (rc)
		sbx_secrets_wipe(r, held);
	return rc;
}

void sbx_secrets_wipe(struct sbx_run *r, struct sbx_secrets *held)
{
	struct sbx_strv *envp = &r->envp;
	for (size_t k = 0; k < held->n; k++) {
		size_t j = 0;
		for (size_t i = 0; i < envp->n; i++)
			if (envp->v[i] != held->v[k])
				envp->v[j++] = envp->v[i];
		envp->n = j;
		if (envp->v)
			envp->v[j] = NULL;
		secure_free(held->v[k]);
	}
	free(held->v);
	memset(held, 0, sizeof(*held));
	for (size_t i = 0; i < r->n_secret_fd; i++)
		close(r->secret_fd[i]);
	free(r->secret_fd);
	r->secret_fd = NULL;
	r->n_secret_fd = 0;
}

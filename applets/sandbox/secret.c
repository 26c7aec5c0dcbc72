/* secret.c - --secret NAME=TOKEN: a secret for the command only.
 *
 * The token (keyring:REF, enc:v2:..., enc:v3:...) is resolved by
 * libcommon's secrets service in the supervisor; the plaintext goes into
 * the command's environment as NAME and nowhere else: the policy, --explain,
 * the report and the audit record hold the token at most (a token is what a
 * config file holds anyway), messages name the secret, never its value.
 * The "NAME=value" strings are secure_alloc()ed (registered, so die()
 * wipes them too) and wiped as soon as the command was started.
 */

#include "sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int sbx_secrets_inject(const struct sbx_policy *p, struct sbx_strv *envp,
                       struct sbx_secrets *held, char *why, size_t whylen)
{
	memset(held, 0, sizeof(*held));
	if (!p->secrets.n)
		return 0;
	struct sec_ctx *ctx = sec_ctx_new();
	int rc = 0;
	for (size_t i = 0; i < p->secrets.n && rc == 0; i++) {
		const char *spec = p->secrets.v[i];
		const char *eq = strchr(spec, '=');
		size_t n = (size_t)(eq - spec);
		char *name = xstrndup(spec, n);
		char *plain = NULL, msg[160];
		size_t plen = 0;
		enum sec_status st = sec_resolve(ctx, name, eq + 1, &plain, &plen, msg, sizeof(msg));
		if (st != SEC_OK) {
			snprintf(why, whylen, "--secret %s: %s", name, msg);
			rc = -1;
		} else if (memchr(plain, 0, plen)) {
			snprintf(why, whylen, "--secret %s: the value holds a NUL byte, which an "
			         "environment variable cannot carry", name);
			rc = -1;
		} else {
			char *entry = secure_alloc(n + 1 + plen + 1);
			memcpy(entry, spec, n + 1);
			memcpy(entry + n + 1, plain, plen + 1);
			env_drop(envp, spec, n);
			envp->v = xreallocarray(envp->v, envp->n + 2, sizeof(*envp->v));
			envp->v[envp->n++] = entry;
			envp->v[envp->n] = NULL;
			held->v = xreallocarray(held->v, held->n + 1, sizeof(*held->v));
			held->v[held->n++] = entry;
		}
		if (plain)
			secure_free(plain);
		free(name);
	}
	sec_ctx_free(ctx);
	if (rc)
		sbx_secrets_wipe(envp, held);
	return rc;
}

void sbx_secrets_wipe(struct sbx_strv *envp, struct sbx_secrets *held)
{
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
}

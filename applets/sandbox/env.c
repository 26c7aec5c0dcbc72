/* env.c - the command's environment, built from nothing.
 *
 * The reference's allow-list (PATH, LANG, LC_ALL and APCORE_* except
 * APCORE_AUTH_*) leaks APCORE_CLI_CONFIG_PASSPHRASE and any other APCORE_
 * secret, so every name that looks like it carries a secret is dropped on
 * top.  Explicit --env entries are the caller's decision and pass as given.
 */

#include "sandbox.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const allow_names[] = { "PATH", "LANG", "LC_ALL" };
#define ALLOW_PREFIX "APCORE_"
#define DENY_PREFIX "APCORE_AUTH_"

/* Substrings that mark a secret wherever they appear in a name. */
static const char *const secret_parts[] = {
	"PASSPHRASE", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE",
	"AUTH", "COOKIE", "SESSION", "DSN",
};

static int ci_contains(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (!strncasecmp(s + i, needle, k))
			return 1;
	return 0;
}

/* KEY is a secret as a word or the end of one: FOO_KEY, FOO_KEY_FILE,
 * KEYS, APIKEY, SSHKEYS; not KEYRING or KEYBOARD.  Words are separated by
 * '_', '-' or '.'.  (A harmless MONKEY is dropped too: better one variable
 * too few than one secret too many.) */
static int has_key_word(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && !memchr("_-.", s[j], 3))
			j++;
		size_t w = j - i;
		if (w >= 3 && !strncasecmp(s + j - 3, "KEY", 3))
			return 1;
		if (w >= 4 && !strncasecmp(s + j - 4, "KEYS", 4))
			return 1;
		i = j + 1;
	}
	return 0;
}

int sbx_env_name_secret(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(secret_parts); i++)
		if (ci_contains(name, len, secret_parts[i]))
			return 1;
	return has_key_word(name, len);
}

static int allowed(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(allow_names); i++)
		if (strlen(allow_names[i]) == len && !memcmp(name, allow_names[i], len))
			return 1;
	if (len < strlen(ALLOW_PREFIX) || memcmp(name, ALLOW_PREFIX, strlen(ALLOW_PREFIX)))
		return 0;
	if (len >= strlen(DENY_PREFIX) && !memcmp(name, DENY_PREFIX, strlen(DENY_PREFIX)))
		return 0;
	return !sbx_env_name_secret(name, len);
}

/* Replace or add NAME=VALUE (entry) in out. */
static void env_set(struct sbx_strv *out, const char *entry)
{
	size_t nl = strcspn(entry, "=");
	for (size_t i = 0; i < out->n; i++) {
		if (!strncmp(out->v[i], entry, nl) && out->v[i][nl] == '=') {
			free(out->v[i]);
			out->v[i] = xstrdup(entry);
			return;
		}
	}
	sbx_strv_push(out, entry);
}

static void env_setkv(struct sbx_strv *out, const char *name, const char *value)
{
	char *e = xasprintf("%s=%s", name, value);
	env_set(out, e);
	free(e);
}

static const char *host_get(char *const *host_env, const char *name)
{
	size_t n = strlen(name);
	for (char *const *e = host_env; e && *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* The runner resolves a relative root against its cwd, which is the
 * private directory: make it absolute here, as the reference does
 * (Path.resolve(): symlinks resolved where the path exists). */
char *sbx_extensions_root(char *const *host_env)
{
	const char *v = host_get(host_env, "APCORE_EXTENSIONS_ROOT");
	if (!v || !*v)
		return NULL;
	char real[PATH_MAX];
	return realpath(v, real) ? xstrdup(real) : sbx_abspath(v);
}

static void absolutize_extroot(struct sbx_strv *out, char *const *host_env)
{
	char *abs = sbx_extensions_root(host_env);
	if (abs)
		env_setkv(out, "APCORE_EXTENSIONS_ROOT", abs);
	free(abs);
}

void sbx_env_build(const struct sbx_policy *p, char *const *host_env, const char *tmpdir,
                   struct sbx_strv *out)
{
	sbx_strv_free(out);
	for (char *const *e = host_env; e && *e; e++) {
		size_t nl = strcspn(*e, "=");
		if ((*e)[nl] == '=' && allowed(*e, nl))
			env_set(out, *e);
	}
	absolutize_extroot(out, host_env);
	env_setkv(out, "HOME", tmpdir);
	env_setkv(out, "TMPDIR", tmpdir);
	for (size_t i = 0; i < p->env.n; i++) {
		const char *ent = p->env.v[i];
		if (strchr(ent, '=')) {
			env_set(out, ent);
		} else {
			const char *v = host_get(host_env, ent);
			if (v)
				env_setkv(out, ent, v);
		}
	}
	if (!out->v)
		out->v = xcalloc(1, sizeof(*out->v));
}

/* policy.c - the sandbox policy: defaults, option values, JSON profiles,
 * the canonical --explain form and its digest.
 *
 * A profile is a JSON object with the same keys --explain prints, so the
 * output of --explain is itself a profile.  cJSON parses it; because cJSON
 * keeps no positions for keys, an error about a key is located by finding
 * the key as written ("key" followed by blanks and a colon, its opening
 * quote not escaped) in the text: the Nth such spot for the Nth occurrence.
 * A key written with escapes that cannot be found that way is reported
 * with line 0.
 */

#include "sandbox.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define PROFILE_CAP (1u << 20)

void sbx_strv_push(struct sbx_strv *sv, const char *s)
{
	sv->v = xreallocarray(sv->v, sv->n + 2, sizeof(*sv->v));
	sv->v[sv->n++] = xstrdup(s);
	sv->v[sv->n] = NULL;
}

void sbx_strv_free(struct sbx_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static void strv_copy(struct sbx_strv *dst, const struct sbx_strv *src)
{
	sbx_strv_free(dst);
	for (size_t i = 0; i < src->n; i++)
		sbx_strv_push(dst, src->v[i]);
}

void sbx_policy_init(struct sbx_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->net = SBX_NET_NONE;
	p->timeout_ms = SBX_DEFAULT_TIMEOUT_MS;
	p->kill_after_ms = SBX_DEFAULT_KILL_AFTER_MS;
	p->max_output = SBX_DEFAULT_MAX_OUTPUT;
}

void sbx_policy_free(struct sbx_policy *p)
{
	sbx_strv_free(&p->command);
	sbx_strv_free(&p->env);
	sbx_strv_free(&p->ro);
	sbx_strv_free(&p->rw);
	sbx_strv_free(&p->tmpfs);
	sbx_strv_free(&p->runner);
	sbx_strv_free(&p->allow_connect);
	sbx_strv_free(&p->allow_bind);
	sbx_strv_free(&p->seccomp_allow);
	sbx_strv_free(&p->seccomp_deny);
	sbx_strv_free(&p->secrets);
	sbx_strv_free(&p->secret_fds);
	free(p->cwd);
	free(p->module);
	free(p->allowed_signers);
	free(p->signature);
	free(p->signer_identity);
	free(p->signature_ns);
	memset(p, 0, sizeof(*p));
}

/* ---------------------------------------------------------- value parsers */

int sbx_parse_seconds(const char *s, int64_t *ms)
{
	char *end;
	if (!*s || *s == '-' || *s == '+' || (*s < '0' || *s > '9'))
		return -1;
	errno = 0;
	double d = strtod(s, &end);
	if (errno || *end || !isfinite(d) || d < 0 || d > SBX_MAX_SECONDS)
		return -1;
	*ms = llround(d * 1000.0);
	return 0;
}

int sbx_parse_bytes(const char *s, uint64_t *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 0: break;
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	default: return -1;
	}
	if (*end || v == 0 || v > (SBX_MAX_OUTPUT_LIMIT >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static const char *const net_names[] = { "none", "loopback", "host" };

int sbx_parse_net(const char *s, enum sbx_net *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(net_names); i++) {
		if (!strcmp(s, net_names[i])) {
			*out = (enum sbx_net)i;
			return 0;
		}
	}
	return -1;
}

const char *sbx_net_name(enum sbx_net n)
{
	return net_names[n];
}

static const char *const seccomp_names[] = { "denylist", "off", "allowlist" };
static const char *const action_names[] = { "errno", "kill", "log" };

int sbx_parse_seccomp(const char *s, enum sbx_seccomp_mode *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(seccomp_names); i++) {
		if (!strcmp(s, seccomp_names[i])) {
			*out = (enum sbx_seccomp_mode)i;
			return 0;
		}
	}
	return -1;
}

int sbx_parse_seccomp_action(const char *s, enum sbx_seccomp_action *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(action_names); i++) {
		if (!strcmp(s, action_names[i])) {
			*out = (enum sbx_seccomp_action)i;
			return 0;
		}
	}
	return -1;
}

const char *sbx_seccomp_name(enum sbx_seccomp_mode m)
{
	return seccomp_names[m];
}

const char *sbx_seccomp_action_name(enum sbx_seccomp_action a)
{
	return action_names[a];
}

int sbx_parse_id(const char *s, uint32_t *id)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > 4294967294ull)
		return -1;
	*id = (uint32_t)v;
	return 0;
}

int sbx_parse_port(const char *s, unsigned *port)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

/* Lexical: collapse "//", drop ".", resolve ".." against what precedes it.
 * Symlinks are resolved later, when the plan is built. */
char *sbx_abspath(const char *path)
{
	struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;
	if (path[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			die_errno("cannot resolve '%s': current directory", path);
		sb_puts(&in, cwd);
		sb_putc(&in, '/');
	}
	sb_puts(&in, path);

	char *save = NULL;
	sb_putc(&out, '/');
	for (char *c = strtok_r(in.buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			while (out.len > 1 && out.buf[out.len - 1] != '/')
				out.len--;
			if (out.len > 1)
				out.len--;
			out.buf[out.len] = 0;
			continue;
		}
		if (out.len > 1)
			sb_putc(&out, '/');
		sb_puts(&out, c);
	}
	sb_free(&in);
	return sb_detach(&out, NULL);
}

void sbx_split_words(const char *s, struct sbx_strv *out)
{
	sbx_strv_free(out);
	while (*s) {
		size_t skip = strspn(s, " \t\n");
		s += skip;
		size_t n = strcspn(s, " \t\n");
		if (!n)
			break;
		char *w = xstrndup(s, n);
		sbx_strv_push(out, w);
		free(w);
		s += n;
	}
}

/* ------------------------------------------------------------ --explain */

void sbx_fmt_seconds(int64_t ms, char out[32])
{
	int n = snprintf(out, 32, "%lld", (long long)(ms / 1000));
	if (ms % 1000) {
		snprintf(out + n, (size_t)(32 - n), ".%03lld", (long long)(ms % 1000));
		for (n = (int)strlen(out); out[n - 1] == '0'; n--)
			out[n - 1] = 0;
	}
}

static void jw_seconds(struct jw *w, int64_t ms)
{
	char buf[32];
	sbx_fmt_seconds(ms, buf);
	jw_raw(w, buf);
}

static void jw_strv(struct jw *w, const char *key, const struct sbx_strv *sv)
{
	jw_key(w, key);
	jw_arr_begin(w);
	for (size_t i = 0; i < sv->n; i++)
		jw_str(w, sv->v[i]);
	jw_arr_end(w);
}

static void jw_opt_str(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	if (s)
		jw_str(w, s);
	else
		jw_null(w);
}

static void jw_ports(struct jw *w, const char *key, const struct sbx_strv *sv)
{
	jw_key(w, key);
	jw_arr_begin(w);
	for (size_t i = 0; i < sv->n; i++)
		jw_raw(w, sv->v[i]);  /* validated decimal */
	jw_arr_end(w);
}

static void jw_opt_uint(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	if (v)
		jw_uint(w, v);
	else
		jw_null(w);
}

/* Keys in code-point order: this is the canonical form that is hashed. */
void sbx_policy_json(const struct sbx_policy *p, struct strbuf *out)
{
	struct jw w;
	jw_init(&w, out, JSON_COMPACT);
	jw_obj_begin(&w);
	jw_ports(&w, "allow_bind", &p->allow_bind);
	jw_ports(&w, "allow_connect", &p->allow_connect);
	jw_opt_str(&w, "allowed_signers", p->allowed_signers);
	jw_kv_bool(&w, "best_effort", p->best_effort);
	jw_strv(&w, "command", &p->command);
	jw_key(&w, "cpu");
	if (p->cg_cpu_milli) {
		char buf[32];
		sbx_fmt_seconds(p->cg_cpu_milli, buf);  /* thousandths, written the same way */
		jw_raw(&w, buf);
	} else {
		jw_null(&w);
	}
	jw_opt_str(&w, "cwd", p->cwd);
	jw_kv_bool(&w, "dev_pts", p->dev_pts);
	jw_kv_bool(&w, "die_with_parent", p->die_with_parent);
	jw_strv(&w, "env", &p->env);
	jw_key(&w, "gid");
	if (p->have_gid)
		jw_uint(&w, p->gid_in);
	else
		jw_null(&w);
	jw_kv_bool(&w, "keep_tmp", p->keep_tmp);
	jw_key(&w, "kill_after");
	jw_seconds(&w, p->kill_after_ms);
	jw_kv_bool(&w, "landlock", !p->no_landlock);
	jw_key(&w, "max_output");
	jw_uint(&w, p->max_output);
	jw_opt_uint(&w, "memory", p->cg_memory);
	jw_opt_str(&w, "module", p->module);
	jw_kv_str(&w, "net", sbx_net_name(p->net));
	jw_opt_uint(&w, "pids", p->cg_pids);
	jw_kv_bool(&w, "require_signature", p->require_signature);
	jw_opt_uint(&w, "rlimit_as", p->rl_as);
	jw_key(&w, "rlimit_cpu");
	if (p->rl_cpu_ms)
		jw_seconds(&w, p->rl_cpu_ms);
	else
		jw_null(&w);
	jw_opt_uint(&w, "rlimit_fsize", p->rl_fsize);
	jw_opt_uint(&w, "rlimit_nofile", p->rl_nofile);
	jw_opt_uint(&w, "rlimit_nproc", p->rl_nproc);
	jw_strv(&w, "ro", &p->ro);
	jw_strv(&w, "runner", &p->runner);
	jw_strv(&w, "rw", &p->rw);
	jw_kv_str(&w, "seccomp", sbx_seccomp_name(p->seccomp));
	jw_kv_str(&w, "seccomp_action", sbx_seccomp_action_name(p->seccomp_action));
	jw_strv(&w, "seccomp_allow", &p->seccomp_allow);
	jw_strv(&w, "seccomp_deny", &p->seccomp_deny);
	jw_strv(&w, "secret_fds", &p->secret_fds);
	jw_strv(&w, "secrets", &p->secrets);
	jw_opt_str(&w, "signature", p->signature);
	jw_opt_str(&w, "signature_namespace", p->signature_ns);
	jw_opt_str(&w, "signer_identity", p->signer_identity);
	jw_kv_bool(&w, "sys", p->sys);
	jw_key(&w, "timeout");
	jw_seconds(&w, p->timeout_ms);
	jw_strv(&w, "tmpfs", &p->tmpfs);
	jw_key(&w, "uid");
	if (p->have_uid)
		jw_uint(&w, p->uid_in);
	else
		jw_null(&w);
	jw_obj_end(&w);
}

void sbx_policy_digest(const struct sbx_policy *p, char hex[2 * SHA256_LEN + 1])
{
	struct strbuf sb = STRBUF_INIT;
	uint8_t md[SHA256_LEN];
	sbx_policy_json(p, &sb);
	crypto_sha256(sb.buf, sb.len, md);
	hex_encode(md, sizeof(md), hex);
	sb_free(&sb);
}

/* -------------------------------------------------------------- profiles */

struct profile {
	const char *path;
	const char *text;
	size_t len;
};

static int line_at(const char *text, size_t off)
{
	int line = 1;
	for (size_t i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

/* Is the quote at text[i] escaped (odd number of backslashes before it)? */
static int escaped(const char *text, size_t i)
{
	size_t n = 0;
	while (i > n && text[i - n - 1] == '\\')
		n++;
	return n & 1;
}

/* Line of the nth (1-based) occurrence of key as an object key; 0 when it
 * cannot be found as written. */
static int key_line(const struct profile *pf, const char *key, int nth)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i + klen + 2 <= pf->len; i++) {
		if (pf->text[i] != '"' || escaped(pf->text, i))
			continue;
		if (memcmp(pf->text + i + 1, key, klen) || pf->text[i + 1 + klen] != '"')
			continue;
		size_t j = i + klen + 2;
		while (j < pf->len && strchr(" \t\r\n", pf->text[j]))
			j++;
		if (j < pf->len && pf->text[j] == ':' && --nth == 0)
			return line_at(pf->text, i);
	}
	return 0;
}

static NORETURN PRINTF(4, 5) void profile_die(const struct profile *pf, const char *key, int nth,
                                              const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vmsg_format(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	die_code(APC_EX_USAGE, "%s:%d: %s", pf->path, key ? key_line(pf, key, nth) : 1, msg);
}

enum pkind { PK_BOOL, PK_SECONDS, PK_BYTES, PK_STR, PK_PATH, PK_PATHS, PK_ENV, PK_ARGV, PK_NET,
             PK_NOT_BOOL, PK_PORTS, PK_SECCOMP, PK_ACTION, PK_SYSCALLS, PK_LIMIT, PK_LIMIT_SECS,
             PK_SECRETS, PK_ID };

struct pkey {
	const char *name;
	enum pkind kind;
	size_t off;
};

#define PK(name, kind, field) { name, kind, offsetof(struct sbx_policy, field) }
static const struct pkey pkeys[] = {
	PK("allow_bind", PK_PORTS, allow_bind),
	PK("allow_connect", PK_PORTS, allow_connect),
	PK("allowed_signers", PK_PATH, allowed_signers),
	PK("best_effort", PK_BOOL, best_effort),
	PK("require_signature", PK_BOOL, require_signature),
	PK("secret_fds", PK_SECRETS, secret_fds),
	PK("secrets", PK_SECRETS, secrets),
	PK("signature", PK_PATH, signature),
	PK("signature_namespace", PK_STR, signature_ns),
	PK("signer_identity", PK_STR, signer_identity),
	PK("command", PK_ARGV, command),
	PK("cpu", PK_LIMIT_SECS, cg_cpu_milli),
	PK("cwd", PK_STR, cwd),
	PK("dev_pts", PK_BOOL, dev_pts),
	PK("die_with_parent", PK_BOOL, die_with_parent),
	PK("env", PK_ENV, env),
	PK("gid", PK_ID, gid_in),
	PK("keep_tmp", PK_BOOL, keep_tmp),
	PK("kill_after", PK_SECONDS, kill_after_ms),
	PK("landlock", PK_NOT_BOOL, no_landlock),
	PK("max_output", PK_BYTES, max_output),
	PK("memory", PK_LIMIT, cg_memory),
	PK("module", PK_STR, module),
	PK("net", PK_NET, net),
	PK("pids", PK_LIMIT, cg_pids),
	PK("rlimit_as", PK_LIMIT, rl_as),
	PK("rlimit_cpu", PK_LIMIT_SECS, rl_cpu_ms),
	PK("rlimit_fsize", PK_LIMIT, rl_fsize),
	PK("rlimit_nofile", PK_LIMIT, rl_nofile),
	PK("rlimit_nproc", PK_LIMIT, rl_nproc),
	PK("ro", PK_PATHS, ro),
	PK("runner", PK_ARGV, runner),
	PK("rw", PK_PATHS, rw),
	PK("seccomp", PK_SECCOMP, seccomp),
	PK("seccomp_action", PK_ACTION, seccomp_action),
	PK("seccomp_allow", PK_SYSCALLS, seccomp_allow),
	PK("seccomp_deny", PK_SYSCALLS, seccomp_deny),
	PK("sys", PK_BOOL, sys),
	PK("timeout", PK_SECONDS, timeout_ms),
	PK("tmpfs", PK_PATHS, tmpfs),
	PK("uid", PK_ID, uid_in),
};
#undef PK

static const struct pkey *pkey_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(pkeys); i++)
		if (!strcmp(pkeys[i].name, name))
			return &pkeys[i];
	return NULL;
}

/* A string list; in argv lists no element may be empty. */
static void take_strings(const struct profile *pf, const cJSON *v, const char *key, int nonempty,
                         struct sbx_strv *out)
{
	if (!cJSON_IsArray(v))
		profile_die(pf, key, 1, "'%s' must be an array of strings", key);
	const cJSON *e;
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsString(e) || (nonempty && !e->valuestring[0]))
			profile_die(pf, key, 1, "'%s' must be an array of %sstrings", key,
			            nonempty ? "non-empty " : "");
		sbx_strv_push(out, e->valuestring);
	}
}

static void take_seconds(const struct profile *pf, const cJSON *v, const char *key, int64_t *ms)
{
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0 &&
	    v->valuedouble <= SBX_MAX_SECONDS) {
		*ms = llround(v->valuedouble * 1000.0);
		return;
	}
	if (cJSON_IsString(v) && sbx_parse_seconds(v->valuestring, ms) == 0)
		return;
	profile_die(pf, key, 1, "'%s' must be a number of seconds (0 to %.0f)", key,
	            SBX_MAX_SECONDS);
}

static void take_bytes(const struct profile *pf, const cJSON *v, const char *key, uint64_t *out)
{
	if (cJSON_IsNumber(v) && v->valuedouble >= 1 &&
	    v->valuedouble <= (double)SBX_MAX_OUTPUT_LIMIT &&
	    v->valuedouble == floor(v->valuedouble)) {
		*out = (uint64_t)v->valuedouble;
		return;
	}
	if (cJSON_IsString(v) && sbx_parse_bytes(v->valuestring, out) == 0)
		return;
	profile_die(pf, key, 1, "'%s' must be a byte count (1 to 2^40, or with K/M/G)", key);
}

static void take_string(const struct profile *pf, const cJSON *v, const char *key, int path,
                        char **out)
{
	if (cJSON_IsNull(v)) {
		free(*out);
		*out = NULL;
		return;
	}
	if (!cJSON_IsString(v) || !v->valuestring[0])
		profile_die(pf, key, 1, "'%s' must be a non-empty string or null", key);
	free(*out);
	*out = path ? sbx_abspath(v->valuestring) : xstrdup(v->valuestring);
}

static void apply_key(struct sbx_policy *p, const struct profile *pf, const struct pkey *k,
                      const cJSON *v)
{
	void *field = (char *)p + k->off;
	struct sbx_strv tmp = { 0 };

	switch (k->kind) {
	case PK_BOOL:
		if (!cJSON_IsBool(v))
			profile_die(pf, k->name, 1, "'%s' must be true or false", k->name);
		*(int *)field = cJSON_IsTrue(v);
		break;
	case PK_NOT_BOOL:
		if (!cJSON_IsBool(v))
			profile_die(pf, k->name, 1, "'%s' must be true or false", k->name);
		*(int *)field = !cJSON_IsTrue(v);
		break;
	case PK_SECONDS:
		take_seconds(pf, v, k->name, field);
		break;
	case PK_LIMIT:
		if (cJSON_IsNull(v))
			*(uint64_t *)field = 0;
		else
			take_bytes(pf, v, k->name, field);
		break;
	case PK_LIMIT_SECS:
		if (cJSON_IsNull(v))
			*(int64_t *)field = 0;
		else
			take_seconds(pf, v, k->name, field);
		break;
	case PK_SECCOMP:
		if (!cJSON_IsString(v) || sbx_parse_seccomp(v->valuestring, field))
			profile_die(pf, k->name, 1, "'seccomp' must be \"denylist\", \"allowlist\" or \"off\"");
		break;
	case PK_ACTION:
		if (!cJSON_IsString(v) || sbx_parse_seccomp_action(v->valuestring, field))
			profile_die(pf, k->name, 1,
			            "'seccomp_action' must be \"errno\", \"kill\" or \"log\"");
		break;
	case PK_PORTS: {
		if (!cJSON_IsArray(v))
			profile_die(pf, k->name, 1, "'%s' must be an array of TCP ports", k->name);
		const cJSON *e;
		cJSON_ArrayForEach(e, v) {
			char buf[32];
			unsigned port;
			if (cJSON_IsNumber(e) && e->valuedouble >= 1 && e->valuedouble <= 65535 &&
			    e->valuedouble == floor(e->valuedouble))
				snprintf(buf, sizeof(buf), "%u", (unsigned)e->valuedouble);
			else if (cJSON_IsString(e) && sbx_parse_port(e->valuestring, &port) == 0)
				snprintf(buf, sizeof(buf), "%u", port);
			else
				profile_die(pf, k->name, 1, "'%s' must be an array of TCP ports (1-65535)",
				            k->name);
			sbx_strv_push(field, buf);
		}
		break;
	}
	case PK_ID: {
		int *have = k->off == offsetof(struct sbx_policy, uid_in) ? &p->have_uid : &p->have_gid;
		if (cJSON_IsNull(v)) {
			*have = 0;
			break;
		}
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 4294967294.0 ||
		    v->valuedouble != floor(v->valuedouble))
			profile_die(pf, k->name, 1, "'%s' must be an id (0 to 4294967294) or null", k->name);
		*(uint32_t *)field = (uint32_t)v->valuedouble;
		*have = 1;
		break;
	}
	case PK_SECRETS:
		take_strings(pf, v, k->name, 1, &tmp);
		for (size_t i = 0; i < tmp.n; i++) {
			if (!sbx_secret_spec_ok(tmp.v[i]))
				profile_die(pf, k->name, 1, "'%s' entries are NAME=TOKEN "
				            "(keyring:REF or enc:...)", k->name);
			sbx_strv_push(field, tmp.v[i]);
		}
		break;
	case PK_SYSCALLS:
		take_strings(pf, v, k->name, 1, &tmp);
		for (size_t i = 0; i < tmp.n; i++) {
			if (!sbx_seccomp_known(tmp.v[i]))
				profile_die(pf, k->name, 1, "'%s': unknown system call '%s'", k->name,
				            tmp.v[i]);
			sbx_strv_push(field, tmp.v[i]);
		}
		break;
	case PK_BYTES:
		take_bytes(pf, v, k->name, field);
		break;
	case PK_STR:
	case PK_PATH:
		take_string(pf, v, k->name, k->kind == PK_PATH, field);
		break;
	case PK_NET:
		if (!cJSON_IsString(v) || sbx_parse_net(v->valuestring, field))
			profile_die(pf, k->name, 1, "'net' must be \"none\", \"loopback\" or \"host\"");
		break;
	case PK_PATHS:
		take_strings(pf, v, k->name, 1, &tmp);
		for (size_t i = 0; i < tmp.n; i++) {
			char *abs = sbx_abspath(tmp.v[i]);
			sbx_strv_push(field, abs);
			free(abs);
		}
		break;
	case PK_ENV:
		take_strings(pf, v, k->name, 1, &tmp);
		for (size_t i = 0; i < tmp.n; i++) {
			if (tmp.v[i][0] == '=')
				profile_die(pf, k->name, 1, "'env' entries are NAME or NAME=VALUE");
			sbx_strv_push(field, tmp.v[i]);
		}
		break;
	case PK_ARGV:
		/* runner may also be one string, split like --runner */
		if (k->off == offsetof(struct sbx_policy, runner) && cJSON_IsString(v)) {
			sbx_split_words(v->valuestring, &tmp);
			if (!tmp.n)
				profile_die(pf, k->name, 1, "'runner' is empty");
		} else {
			take_strings(pf, v, k->name, 1, &tmp);
		}
		strv_copy(field, &tmp);
		break;
	}
	sbx_strv_free(&tmp);
}

void sbx_profile_apply(struct sbx_policy *p, const char *path)
{
	struct profile pf = { .path = path };
	char *text;
	size_t len;

	if (read_file_capped(path, PROFILE_CAP, &text, &len)) {
		if (errno == EFBIG)
			die_code(APC_EX_USAGE, "%s: profile larger than %u bytes", path, PROFILE_CAP);
		die_code(APC_EX_USAGE, "cannot read profile %s: %s", path, strerror(errno));
	}
	pf.text = text;
	pf.len = len;

	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root) {
		size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
		die_code(APC_EX_USAGE, "%s:%d: not valid JSON", path, line_at(text, off));
	}
	for (const char *q = end; q < text + len; q++)
		if (!strchr(" \t\r\n", *q))
			die_code(APC_EX_USAGE, "%s:%d: text after the JSON value", path,
			         line_at(text, (size_t)(q - text)));
	if (!cJSON_IsObject(root))
		die_code(APC_EX_USAGE, "%s:1: a profile is a JSON object", path);

	/* Reject unknown and duplicate keys before applying anything. */
	const cJSON *a, *b;
	cJSON_ArrayForEach(a, root) {
		if (!pkey_find(a->string))
			profile_die(&pf, a->string, 1, "unknown key '%s'", a->string);
		int nth = 1;
		for (b = root->child; b != a; b = b->next)
			nth += !strcmp(a->string, b->string);
		if (nth > 1)
			profile_die(&pf, a->string, nth, "duplicate key '%s'", a->string);
	}
	cJSON_ArrayForEach(a, root)
		apply_key(p, &pf, pkey_find(a->string), a);
	cJSON_Delete(root);
	free(text);
}

/* report.c - the JSON run report (--report) and the audit record
 * (--audit), written through libcommon's audit log service (auditlog.c).
 *
 * The audit log is opened and checked before anything runs, so a log that
 * cannot take the record stops the run instead of leaving it unaudited.
 */

#include "sandbox.h"

#include "auditlog.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *state_name(enum sbx_state s)
{
	switch (s) {
	case SBX_APPLIED: return "applied";
	case SBX_DEGRADED: return "degraded";
	case SBX_WANTED: return "not_reached";
	case SBX_OFF: break;
	}
	return "off";
}

static int64_t tv_ms(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000 + tv->tv_usec / 1000;
}

static void report_exit(struct jw *w, const struct sbx_result *res)
{
	jw_key(w, "exit");
	jw_obj_begin(w);
	jw_kv_int(w, "code", res->exit_code);
	jw_key(w, "signal");
	if (res->have_exit && WIFSIGNALED(res->status))
		jw_int(w, WTERMSIG(res->status));
	else
		jw_null(w);
	jw_key(w, "status");
	if (res->have_exit && WIFEXITED(res->status))
		jw_int(w, WEXITSTATUS(res->status));
	else
		jw_null(w);
	jw_obj_end(w);
}

static void report_layers(struct jw *w, const struct sbx_run *r)
{
	jw_key(w, "layers");
	jw_arr_begin(w);
	for (int i = 0; i < SBX_L_COUNT; i++) {
		jw_obj_begin(w);
		jw_kv_str(w, "detail", r->layer[i].detail);
		jw_kv_str(w, "name", sbx_layers[i].name);
		jw_kv_str(w, "state", state_name(r->layer[i].state));
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static int denied_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sbx_denied *)a)->name, ((const struct sbx_denied *)b)->name);
}

/* "seccomp_denied": {"NAME": count, ...} (sorted), null when not counted
 * (seccomp off, action kill or log, or no listener reached us). */
static void report_denied(struct jw *w, const struct sbx_run *r, const struct sbx_result *res)
{
	struct sbx_denied d[ARRAY_SIZE(res->denied)];
	jw_key(w, "seccomp_denied");
	if (r->layer[SBX_L_SECCOMP].state != SBX_APPLIED || !res->denials_counted) {
		jw_null(w);
		return;
	}
	memcpy(d, res->denied, res->n_denied * sizeof(d[0]));
	qsort(d, res->n_denied, sizeof(d[0]), denied_cmp);
	jw_obj_begin(w);
	for (size_t i = 0; i < res->n_denied; i++)
		jw_kv_int(w, d[i].name, (int64_t)d[i].count);
	if (res->denied_other)
		jw_kv_int(w, "~other", (int64_t)res->denied_other);
	jw_obj_end(w);
}

/* Keys sorted, like everything we emit. */
void sbx_report_json(const struct sbx_run *r, const struct sbx_result *res, struct strbuf *out)
{
	struct jw w;
	char digest[2 * SHA256_LEN + 1];

	sbx_policy_digest(r->pol, digest);
	jw_init(&w, out, JSON_COMPACT);
	jw_obj_begin(&w);
	jw_key(&w, "bytes");
	jw_obj_begin(&w);
	jw_kv_int(&w, "stderr", (int64_t)res->bytes[1]);
	jw_kv_int(&w, "stdin", (int64_t)res->bytes[2]);
	jw_kv_int(&w, "stdout", (int64_t)res->bytes[0]);
	jw_obj_end(&w);
	jw_key(&w, "command");
	jw_arr_begin(&w);
	for (size_t i = 0; i < r->argv.n; i++)
		jw_str(&w, r->argv.v[i]);
	jw_arr_end(&w);
	report_exit(&w, res);
	report_layers(&w, r);
	jw_key(&w, "limits");
	jw_obj_begin(&w);
	/* cgroup events: null without the cgroup layer */
	jw_key(&w, "oom_kills");
	if (r->cg.oom_kills >= 0)
		jw_int(&w, r->cg.oom_kills);
	else
		jw_null(&w);
	jw_key(&w, "pids_refused");
	if (r->cg.pids_max_hits >= 0)
		jw_int(&w, r->cg.pids_max_hits);
	else
		jw_null(&w);
	jw_kv_bool(&w, "stderr", res->out_limit[1]);
	jw_kv_bool(&w, "stdout", res->out_limit[0]);
	jw_kv_bool(&w, "timeout", res->timed_out);
	jw_obj_end(&w);
	jw_key(&w, "module");
	if (r->pol->module)
		jw_str(&w, r->pol->module);
	else
		jw_null(&w);
	jw_kv_int(&w, "peak_rss_kb", res->ru.ru_maxrss);
	jw_kv_str(&w, "policy_sha256", digest);
	report_denied(&w, r, res);
	jw_key(&w, "signer");  /* --require-signature: the key that signed COMMAND */
	if (r->signer[0])
		jw_str(&w, r->signer);
	else
		jw_null(&w);
	jw_kv_int(&w, "supervisor_rss_kb", res->self_maxrss_kb);
	jw_key(&w, "time");
	jw_obj_begin(&w);
	jw_kv_int(&w, "sys_ms", tv_ms(&res->ru.ru_stime));
	jw_kv_int(&w, "user_ms", tv_ms(&res->ru.ru_utime));
	jw_kv_int(&w, "wall_ms", res->wall_ms);
	jw_obj_end(&w);
	jw_kv_str(&w, "tmpdir", r->tmpdir);
	jw_kv_bool(&w, "tmpdir_kept", r->pol->keep_tmp);
	/* what the sandbox stopped (Landlock denials are only in the kernel's
	 * audit log: not seen here) */
	jw_key(&w, "violations");
	jw_arr_begin(&w);
	if (res->timed_out)
		jw_str(&w, "timeout");
	if (res->out_limit[0])
		jw_str(&w, "max_output:stdout");
	if (res->out_limit[1])
		jw_str(&w, "max_output:stderr");
	if (res->parent_died)
		jw_str(&w, "die_with_parent");
	if (r->cg.oom_kills > 0)
		jw_str(&w, "cgroup:memory_oom");
	if (r->cg.pids_max_hits > 0)
		jw_str(&w, "cgroup:pids");
	for (size_t i = 0; i < res->n_denied; i++) {
		char v[48];
		snprintf(v, sizeof(v), "seccomp:%s", res->denied[i].name);
		jw_str(&w, v);
	}
	if (res->denied_other)
		jw_str(&w, "seccomp:~other");
	/* what the kernel's signals say about the command's end */
	if (res->have_exit && WIFSIGNALED(res->status)) {
		switch (WTERMSIG(res->status)) {
		case SIGSYS: jw_str(&w, "seccomp"); break;
		case SIGXCPU: jw_str(&w, "rlimit_cpu"); break;
		case SIGXFSZ: jw_str(&w, "rlimit_fsize"); break;
		}
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	sb_putc(out, '\n');
}

int sbx_report_write(const char *path, const struct strbuf *json)
{
	return write_output(path, json->buf, json->len, 0600);
}

/* ------------------------------------------------------------ audit hook */

int sbx_audit_open(const char *path, struct audit_log **out, char *why, size_t whylen)
{
	struct audit_opts o;
	char *def = path ? NULL : audit_default_path();
	memset(&o, 0, sizeof(o));
	enum audit_status st = audit_open(path ? path : def, &o, out, why, whylen);
	if (st == AUDIT_OK && (st = audit_check(*out, why, whylen)) != AUDIT_OK) {
		audit_close(*out);
		*out = NULL;
	}
	free(def);
	return st == AUDIT_OK ? 0 : -1;
}

void sbx_audit_close(struct audit_log *l)
{
	if (l)
		audit_close(l);
}

/* The audit library takes UTF-8 only; argv may hold anything. */
static char *utf8_or_marked(const char *s)
{
	char *c = xstrdup(s);
	if (!utf8_valid(c, strlen(c)))
		for (char *p = c; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
	return c;
}

int sbx_audit_record(struct audit_log *l, const struct sbx_run *r, const struct sbx_result *res,
                     char *why, size_t whylen)
{
	struct strbuf cmd = STRBUF_INIT, degraded = STRBUF_INIT;
	char digest[2 * SHA256_LEN + 1];
	struct jw w;

	jw_init(&w, &cmd, JSON_COMPACT);
	jw_arr_begin(&w);
	for (size_t i = 0; i < r->argv.n; i++) {
		char *a = utf8_or_marked(r->argv.v[i]);
		jw_str(&w, a);
		free(a);
	}
	jw_arr_end(&w);
	for (int i = 0; i < SBX_L_COUNT; i++)
		if (r->layer[i].state == SBX_DEGRADED)
			sb_printf(&degraded, "%s%s", degraded.len ? "," : "", sbx_layers[i].name);
	sbx_policy_digest(r->pol, digest);

	const char *base = strrchr(r->argv.v[0], '/');
	char *label = r->pol->module ? utf8_or_marked(r->pol->module)
	                             : xasprintf("sandbox:%s", base ? base + 1 : r->argv.v[0]);
	char *mod = utf8_or_marked(label);
	const char *limit = res->first_limit == SBX_LIMIT_TIMEOUT  ? "timeout"
	                    : res->first_limit == SBX_LIMIT_STDOUT ? "max_output:stdout"
	                    : res->first_limit == SBX_LIMIT_STDERR ? "max_output:stderr" : "";
	struct audit_field extra[] = {
		{ "sbx_command", cmd.buf, 0 },
		{ "sbx_policy_sha256", digest, 0 },
		{ "sbx_limit", limit, 0 },
		{ "sbx_degraded", degraded.buf ? degraded.buf : "", 0 },
		{ "sbx_signal", NULL, res->have_exit && WIFSIGNALED(res->status) ? WTERMSIG(res->status) : 0 },
		{ "sbx_stdout_bytes", NULL, (int64_t)res->bytes[0] },
		{ "sbx_stderr_bytes", NULL, (int64_t)res->bytes[1] },
	};
	struct audit_rec rec = {
		.module_id = mod,
		.status = res->exit_code == 0 ? "success" : "error",
		.exit_code = res->exit_code,
		.duration_ms = res->wall_ms,
		.extra = extra,
		.nextra = ARRAY_SIZE(extra),
	};
	enum audit_status st = audit_write(l, &rec, 1, NULL, why, whylen);
	free(label);
	free(mod);
	sb_free(&cmd);
	sb_free(&degraded);
	return st == AUDIT_OK ? 0 : -1;
}

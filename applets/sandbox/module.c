/* module.c - module runs: the reference's runner protocol (§5.2/§5.3).
 *
 * The runner gets the module ID as its last argument and the JSON input on
 * stdin; it must answer JSON on stdout.  Failures are the reference's
 * messages, verbatim, with exit status 1, checked in the reference's order:
 * timeout, output size, exit status, JSON.  Unlike the reference the size
 * limit is per stream and enforced while the output streams in.
 */

#include "sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static const char *const default_runner[] = { "python3", "-m", "apcore_cli._sandbox_runner" };

void sbx_module_argv(const struct sbx_policy *p, struct sbx_strv *out)
{
	sbx_strv_free(out);
	if (p->runner.n) {
		for (size_t i = 0; i < p->runner.n; i++)
			sbx_strv_push(out, p->runner.v[i]);
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(default_runner); i++)
			sbx_strv_push(out, default_runner[i]);
	}
	sbx_strv_push(out, p->module);
}

/* cJSON allocates a node per value: a hostile but small output such as
 * "[1,1,1,...]" costs ~40 times its size.  Parsing goes through a budget so
 * the supervisor's memory stays bounded; the counter lives only for the
 * duration of one validate_json() call. */
#define JSON_BUDGET_MAX (1ull << 30)
static size_t json_budget_left;
static int json_budget_hit;

struct hdr {
	size_t size;
	size_t pad;
};

static void *budget_malloc(size_t n)
{
	if (n > json_budget_left || n > SIZE_MAX - sizeof(struct hdr)) {
		json_budget_hit = 1;
		return NULL;
	}
	struct hdr *h = malloc(sizeof(*h) + n);
	if (!h)
		return NULL;
	h->size = n;
	json_budget_left -= n;
	return h + 1;
}

static void budget_free(void *p)
{
	if (!p)
		return;
	struct hdr *h = (struct hdr *)p - 1;
	json_budget_left += h->size;
	free(h);
}

/* 1 valid JSON (whitespace around it allowed, as json.loads), 0 not,
 * -1 too costly to check. */
static int validate_json(const char *buf, size_t len)
{
	if (!utf8_valid(buf, len))
		return 0;
	cJSON_Hooks hooks = { budget_malloc, budget_free };
	uint64_t budget = (64ull << 20) + 16ull * len;
	json_budget_left = budget > JSON_BUDGET_MAX ? JSON_BUDGET_MAX : (size_t)budget;
	json_budget_hit = 0;
	cJSON_InitHooks(&hooks);
	const char *end = NULL;
	cJSON *v = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	int ok = v != NULL;
	cJSON_Delete(v);
	cJSON_InitHooks(NULL);
	if (!ok)
		return json_budget_hit ? -1 : 0;
	for (; end && end < buf + len; end++)
		if (!strchr(" \t\r\n", *end))
			return 0;
	return 1;
}

/* Python's text[:200]: 200 code points when the text is UTF-8. */
static size_t first_chars(const char *s, size_t len, size_t chars)
{
	size_t i = 0;
	int utf8 = utf8_valid(s, len);
	while (i < len && chars) {
		i++;
		while (utf8 && i < len && ((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		chars--;
	}
	return i;
}

static int module_error(const char *id, const char *what, const char *tail, size_t taillen)
{
	struct strbuf sb = STRBUF_INIT;
	sb_puts(&sb, "Error: Module '");
	for (const char *c = id; *c; c++)
		sb_putc(&sb, (unsigned char)*c < 0x20 ? '?' : *c);
	sb_puts(&sb, "' ");
	sb_puts(&sb, what);
	sb_add(&sb, tail, taillen);
	while (sb.len && sb.buf[sb.len - 1] == '\n')
		sb.len--;
	sb_putc(&sb, '\n');
	fflush(stdout);
	(void)write_full(STDERR_FILENO, sb.buf, sb.len);
	sb_free(&sb);
	return APC_EX_FAIL;
}

int sbx_module_finish(const struct sbx_policy *p, struct sbx_result *res)
{
	const char *id = p->module;
	char msg[96];

	if (res->first_limit == SBX_LIMIT_TIMEOUT)
		return module_error(id, "timed out in sandbox.", "", 0);
	if (res->first_limit == SBX_LIMIT_STDOUT || res->first_limit == SBX_LIMIT_STDERR) {
		snprintf(msg, sizeof(msg), "output exceeded the %lluMB sandbox limit.",
		         (unsigned long long)(p->max_output >> 20));
		return module_error(id, msg, "", 0);
	}
	if (res->exec_errno) {
		struct strbuf e = STRBUF_INIT;
		sb_printf(&e, "cannot execute the runner: %s", strerror(res->exec_errno));
		module_error(id, "execution failed: ", e.buf, e.len);
		sb_free(&e);
		return APC_EX_FAIL;
	}
	if (!res->have_exit || !WIFEXITED(res->status) || WEXITSTATUS(res->status) != 0)
		return module_error(id, "execution failed: ", res->err_cap.buf ? res->err_cap.buf : "",
		                    res->err_cap.len);

	const char *out = res->out_cap.buf ? res->out_cap.buf : "";
	int v = validate_json(out, res->out_cap.len);
	if (v < 0)
		return module_error(id, "returned JSON too large to validate.", "", 0);
	if (v == 0)
		return module_error(id, "returned non-JSON output: ", out,
		                    first_chars(out, res->out_cap.len, 200));
	/* the module's diagnostics on success still reach the caller */
	if (res->err_cap.len)
		(void)write_full(STDERR_FILENO, res->err_cap.buf, res->err_cap.len);
	if (write_full(STDOUT_FILENO, out, res->out_cap.len))
		die_errno("write error");
	return APC_EX_OK;
}

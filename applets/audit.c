/* apcore-audit - tamper-evident audit log.
 *
 * The log itself (records, chain, keys, seals, verification) lives in
 * libcommon/auditlog.c so other applets append through the same code; this
 * file is the command line around it.  Format: docs/audit-format.md.
 */
//applet:APPLET(audit, APCORE_AUDIT, APPLET_PLAIN, "append-only, hash-chained audit log (JSONL)")
//config:config APCORE_AUDIT
//config:	bool "apcore-audit: tamper-evident audit log"
//config:	default y
//config:	help
//config:	  usage: apcore-audit COMMAND [OPTIONS]
//config:
//config:	  Append-only audit log in the apcore-cli record format (JSON lines whose
//config:	  first seven fields are the reference's, byte for byte), hash-chained over
//config:	  the exact bytes written, MACed under a key that evolves forward at every
//config:	  seal, and sealed per epoch (docs/audit-format.md).  Reference lines are
//config:	  read and shown; verify reports them as unauthenticated.
//config:
//config:	  Commands:
//config:	    init              create the log's key material (adopting lines it
//config:	                      already holds) and print the verification key once
//config:	    log               append one record; with --stream, one per line of
//config:	                      JSONL on stdin
//config:	    wrap [-m ID] -- CMD [ARG...]
//config:	                      run CMD (execvp, no shell), log its outcome and exit
//config:	                      with its status (128+N when killed by signal N)
//config:	    seal              close the current epoch: seal record, key evolves,
//config:	                      the old key is gone (run it from a timer)
//config:	    rotate            seal, keep the log as LOG.<time>, start LOG anew
//config:	                      chained to the old head
//config:	    checkpoint        print a MACed checkpoint of the head (-o FILE): keep
//config:	                      it off this host
//config:	    verify            check lines, chain, MACs, seals, state, checkpoint
//config:	    show              print records, filtered: a table on a terminal,
//config:	                      the lines as they are (JSONL) otherwise
//config:	    hash              print the input_hash this log records for an input
//config:
//config:	  Options:
//config:	    -f, --file LOG      the log (default $APCORE_AUDIT_FILE, else
//config:	                        $HOME/.apcore-cli/audit.jsonl); key material in
//config:	                        LOG.state (0600) or the keyring
//config:	    -m, --module ID     module_id (wrap: default the command's name)
//config:	    -s, --status S      success or error
//config:	    -e, --exit-code N   exit code to record
//config:	    -d, --duration-ms N duration to record
//config:	    -i, --input FILE    input JSON object ('-': stdin; default {}), at
//config:	                        most 16 MiB (it is parsed whole to sort keys)
//config:	    --stream            log: records from stdin, one JSON object a line:
//config:	                        {"module_id": .., "status": .., "exit_code": ..,
//config:	                        "duration_ms": .., "input": {..}}; the lines
//config:	                        before a bad one are appended, none after it
//config:	    --input-hash keyed|salted
//config:	                        keyed (default when the log has key material):
//config:	                        HMAC-SHA256 with the log's secret pepper, so equal
//config:	                        inputs correlate for whoever holds it; salted: the
//config:	                        reference's SHA-256 with a discarded random salt
//config:	    --sync always|batch|none
//config:	                        fdatasync each record (default for log and wrap),
//config:	                        once per batch (default for --stream), or never
//config:	    --fail-open         when the log cannot be written: warn, exit 0
//config:	    --backend auto|keyring|file
//config:	                        init: where the key material goes (auto: the
//config:	                        keyring when usable, else LOG.state)
//config:	    --key-out FILE      init: write the verification key to FILE (0600)
//config:	                        instead of stdout
//config:	    --key FILE          verify, hash: the verification key ('-': stdin)
//config:	    --checkpoint FILE   verify: the log must extend this checkpoint
//config:	    --repair            verify: cut an incomplete last line off first
//config:	                        (kept in LOG.torn.OFFSET, recorded in the log)
//config:	    -o, --output FILE   checkpoint: write to FILE instead of stdout
//config:	    --since T, --until T
//config:	                        show: records in [T, T) (RFC 3339 times)
//config:	    --user U            show: records of user U (-m: a glob, -s: status)
//config:	    --json              show: JSONL even on a terminal; verify: a JSON
//config:	                        summary
//config:	    --table             show: a table even when not on a terminal
//config:
//config:	  Exit status: 0 ok; 1 failure (verify: a check failed: tampering or
//config:	  damage); 2 usage; 3 verify: all verified but records follow the last
//config:	  seal; 4 verify: lines without a checked MAC (no --key, reference
//config:	  lines, a log without key material); 5 the log ends with an incomplete
//config:	  line (verify --repair).  wrap exits with the command's status, 128+N
//config:	  when it was killed by signal N, 126/127 when it cannot be run.

#include "apcore.h"
#include "auditlog.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define EX_TORN AUDIT_V_TORN
#define STREAM_BATCH 256
#define STREAM_BATCH_BYTES (4u << 20)
#define KEY_CAP 4096

enum {
	OP_FILE = 256, OP_MODULE, OP_STATUS, OP_EXIT, OP_DURATION, OP_INPUT, OP_STREAM, OP_HASH, OP_SYNC,
	OP_FAILOPEN, OP_BACKEND, OP_KEYOUT, OP_KEY, OP_CHECKPOINT, OP_REPAIR, OP_OUTPUT, OP_SINCE,
	OP_UNTIL, OP_USER, OP_JSON, OP_TABLE,
};
#define B(o) (1u << ((o) - 256))

struct opts {
	unsigned seen;
	const char *file, *module, *status, *input, *key_out, *key, *checkpoint, *output, *user;
	int64_t exit_code, duration_ms, since, until;
	int stream, fail_open, repair, json, table;
	struct audit_opts ao;
	char **rest;
	int nrest;
};

static const struct option longopts[] = {
	{ "file", required_argument, NULL, OP_FILE },
	{ "module", required_argument, NULL, OP_MODULE },
	{ "status", required_argument, NULL, OP_STATUS },
	{ "exit-code", required_argument, NULL, OP_EXIT },
	{ "duration-ms", required_argument, NULL, OP_DURATION },
	{ "input", required_argument, NULL, OP_INPUT },
	{ "stream", no_argument, NULL, OP_STREAM },
	{ "input-hash", required_argument, NULL, OP_HASH },
	{ "sync", required_argument, NULL, OP_SYNC },
	{ "fail-open", no_argument, NULL, OP_FAILOPEN },
	{ "backend", required_argument, NULL, OP_BACKEND },
	{ "key-out", required_argument, NULL, OP_KEYOUT },
	{ "key", required_argument, NULL, OP_KEY },
	{ "checkpoint", required_argument, NULL, OP_CHECKPOINT },
	{ "repair", no_argument, NULL, OP_REPAIR },
	{ "output", required_argument, NULL, OP_OUTPUT },
	{ "since", required_argument, NULL, OP_SINCE },
	{ "until", required_argument, NULL, OP_UNTIL },
	{ "user", required_argument, NULL, OP_USER },
	{ "json", no_argument, NULL, OP_JSON },
	{ "table", no_argument, NULL, OP_TABLE },
	{ NULL, 0, NULL, 0 },
};

static int64_t parse_int(const char *opt, const char *s, int64_t min)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min)
		die_usage("%s needs an integer%s, not '%s'", opt, min >= 0 ? " >= 0" : "", s);
	return v;
}

static int64_t parse_time(const char *opt, const char *s)
{
	int64_t ms;
	if (time_parse_rfc3339(s, &ms))
		die_usage("%s needs an RFC 3339 time (2026-11-22T19:00:00Z or 2026-11-22), not '%s'",
		          opt, s);
	return ms;
}

/* Parse the options of one command; anything not in allowed is a usage
 * error, and so is any option given twice. */
static void parse_opts(int argc, char **argv, unsigned allowed, struct opts *o)
{
	int c;
	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:f:m:s:e:d:i:o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': c = OP_FILE; break;
		case 'm': c = OP_MODULE; break;
		case 's': c = OP_STATUS; break;
		case 'e': c = OP_EXIT; break;
		case 'd': c = OP_DURATION; break;
		case 'i': c = OP_INPUT; break;
		case 'o': c = OP_OUTPUT; break;
		default: break;
		}
		opt_accept(longopts, c, argv, NULL, allowed, 0, &o->seen);
		switch (c) {
		case OP_FILE: o->file = optarg; break;
		case OP_MODULE: o->module = optarg; break;
		case OP_STATUS:
			if (strcmp(optarg, "success") && strcmp(optarg, "error"))
				die_usage("--status is success or error, not '%s'", optarg);
			o->status = optarg;
			break;
		case OP_EXIT: o->exit_code = parse_int("--exit-code", optarg, INT64_MIN); break;
		case OP_DURATION: o->duration_ms = parse_int("--duration-ms", optarg, 0); break;
		case OP_INPUT: o->input = optarg; break;
		case OP_STREAM: o->stream = 1; break;
		case OP_HASH:
			if (!strcmp(optarg, "keyed"))
				o->ao.hash = AUDIT_HASH_KEYED;
			else if (!strcmp(optarg, "salted"))
				o->ao.hash = AUDIT_HASH_SALTED;
			else
				die_usage("--input-hash is keyed or salted, not '%s'", optarg);
			break;
		case OP_SYNC:
			if (!strcmp(optarg, "always"))
				o->ao.sync = AUDIT_SYNC_ALWAYS;
			else if (!strcmp(optarg, "batch"))
				o->ao.sync = AUDIT_SYNC_BATCH;
			else if (!strcmp(optarg, "none"))
				o->ao.sync = AUDIT_SYNC_NONE;
			else
				die_usage("--sync is always, batch or none, not '%s'", optarg);
			break;
		case OP_FAILOPEN: o->fail_open = 1; break;
		case OP_BACKEND:
			if (!strcmp(optarg, "auto"))
				o->ao.backend = AUDIT_BACKEND_AUTO;
			else if (!strcmp(optarg, "keyring"))
				o->ao.backend = AUDIT_BACKEND_KEYRING;
			else if (!strcmp(optarg, "file"))
				o->ao.backend = AUDIT_BACKEND_FILE;
			else
				die_usage("--backend is auto, keyring or file, not '%s'", optarg);
			break;
		case OP_KEYOUT: o->key_out = optarg; break;
		case OP_KEY: o->key = optarg; break;
		case OP_CHECKPOINT: o->checkpoint = optarg; break;
		case OP_REPAIR: o->repair = 1; break;
		case OP_OUTPUT: o->output = optarg; break;
		case OP_SINCE: o->since = parse_time("--since", optarg); break;
		case OP_UNTIL: o->until = parse_time("--until", optarg); break;
		case OP_USER: o->user = optarg; break;
		case OP_JSON: o->json = 1; break;
		case OP_TABLE: o->table = 1; break;
		}
	}
	o->rest = argv + optind;
	o->nrest = argc - optind;
}

static void no_args(const struct opts *o)
{
	if (o->nrest)
		die_usage("unexpected argument '%s'", o->rest[0]);
}

/* A message that is neither an error nor a warning, on stderr in one write. */
PRINTF(1, 2) static void note(const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vmsg_format(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char *line = xasprintf("%s: %s\n", applet_name, msg);
	fflush(stdout);
	(void)write_full(STDERR_FILENO, line, strlen(line));
	free(line);
}

/* Exit for a failed write: 5 for a torn log, else 1, or a warning only
 * with --fail-open (the reference's behaviour). */
static int write_failed(const struct opts *o, enum audit_status rc, const char *err)
{
	if (rc == AUDIT_EINPUT)
		die("%s (nothing appended)", err);
	if (o->fail_open) {
		warn_msg("Could not write audit log: %s", err);
		return APC_EX_OK;
	}
	die_code(rc == AUDIT_ETORN ? EX_TORN : APC_EX_FAIL, "%s", err);
}

/* The whole input document (capped); '-' is stdin. */
static char *read_input(const char *name, size_t *len)
{
	int fd = strcmp(name, "-") ? open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY) : STDIN_FILENO;
	char *buf;
	if (fd < 0)
		die_errno("cannot open input %s", name);
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		die("cannot read input %s: is a directory", name);
	if (read_fd_capped(fd, AUDIT_INPUT_CAP, &buf, len)) {
		if (errno == EFBIG)
			die("input %s is larger than %u MiB, the most apcore-audit canonicalises "
			    "(nothing appended)", name, AUDIT_INPUT_CAP >> 20);
		die_errno("cannot read input %s", name);
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return buf;
}

/* A secret (the verification key) from a file or stdin. */
static char *read_key(const char *name)
{
	int fd = strcmp(name, "-") ? open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY) : STDIN_FILENO;
	size_t len;
	if (fd < 0)
		die_errno("cannot open key %s", name);
	char *k = secure_read_fd(fd, KEY_CAP, 1, &len);
	if (!k)
		die_errno("cannot read key %s", name);
	if (fd != STDIN_FILENO)
		close(fd);
	return k;
}

/* --------------------------------------------------------------- init */

static int cmd_init(int argc, char **argv)
{
	struct opts o;
	char err[512], where[512];
	char *vk;
	parse_opts(argc, argv, B(OP_FILE) | B(OP_BACKEND) | B(OP_KEYOUT), &o);
	no_args(&o);
	int kfd = -1;
	if (o.key_out) {
		kfd = open(o.key_out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (kfd < 0)
			die_errno("cannot create %s", o.key_out);
	}
	enum audit_status rc = audit_init(o.file, &o.ao, &vk, where, sizeof(where), err, sizeof(err));
	if (rc) {
		if (kfd >= 0) {
			close(kfd);
			unlink(o.key_out);
		}
		die_code(rc == AUDIT_ETORN ? EX_TORN : APC_EX_FAIL, "%s", err);
	}
	size_t n = strlen(vk);
	vk[n] = '\n';
	if (kfd >= 0) {
		if (write_full(kfd, vk, n + 1) || fsync(kfd) || close(kfd))
			die_errno("cannot write %s (the log is initialised: run init on a new log "
			          "if the key is lost)", o.key_out);
	} else {
		xwrite_full(STDOUT_FILENO, vk, n + 1);
	}
	secure_free(vk);
	note("initialised; key material in %s; the verification key %s: keep it off this host "
	     "(it verifies the whole log and could forge it)", where,
	     o.key_out ? "is in the --key-out file" : "above is shown only once");
	return APC_EX_OK;
}

/* ---------------------------------------------------------------- log */

/* A growing line reader with a per-line cap. */
struct lines {
	int fd;
	char *buf;
	size_t len, cap, pos;
	int eof;
};

/* 1 with a line (newline cut, NUL in its place), 2 with a last line that
 * had no newline, 0 at the end, -1 when a line passes the cap. */
static int next_line(struct lines *ls, char **line, size_t *len, size_t cap)
{
	for (;;) {
		char *nl = ls->buf ? memchr(ls->buf + ls->pos, '\n', ls->len - ls->pos) : NULL;
		if (nl || (ls->eof && ls->len > ls->pos)) {
			*line = ls->buf + ls->pos;
			*len = nl ? (size_t)(nl - *line) : ls->len - ls->pos;
			ls->pos += *len + (nl != NULL);
			(*line)[*len] = 0;
			return nl ? 1 : 2;
		}
		if (ls->eof)
			return 0;
		if (ls->pos) {
			memmove(ls->buf, ls->buf + ls->pos, ls->len - ls->pos);
			ls->len -= ls->pos;
			ls->pos = 0;
		}
		if (ls->len > cap)
			return -1;
		if (ls->cap - ls->len < 65536 + 1) {
			ls->cap = ls->cap ? ls->cap * 2 : 1 << 17;
			ls->buf = xrealloc(ls->buf, ls->cap);
		}
		ssize_t n = read(ls->fd, ls->buf + ls->len, ls->cap - ls->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_errno("read error");
		if (n == 0)
			ls->eof = 1;
		ls->len += (size_t)n;
	}
}

/* Is another line ready without blocking? */
static int more_ready(const struct lines *ls)
{
	if (ls->eof || (ls->buf && memchr(ls->buf + ls->pos, '\n', ls->len - ls->pos)))
		return 1;
	struct pollfd p = { .fd = ls->fd, .events = POLLIN };
	return poll(&p, 1, 0) > 0;
}

struct batch {
	struct audit_rec rec[STREAM_BATCH];
	size_t n, bytes;
	uint64_t appended;
};

static void batch_clear(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free((char *)b->rec[i].module_id);
		free((char *)b->rec[i].input);
	}
	b->n = b->bytes = 0;
}

static int batch_flush(struct audit_log *l, struct batch *b, const struct opts *o)
{
	char err[512];
	size_t bad;
	if (!b->n)
		return APC_EX_OK;
	enum audit_status rc = audit_write(l, b->rec, b->n, &bad, err, sizeof(err));
	int ex = APC_EX_OK;
	if (rc == AUDIT_OK)
		b->appended += b->n;
	else
		ex = write_failed(o, rc, err);
	batch_clear(b);
	return ex;
}

/* One stream line into a record: canonicalise it whole (validation, dup
 * keys, UTF-8), read the scalars, and cut the input object's canonical
 * text out of the canonical line.  With keys limited to the five below,
 * the canonical form is {"duration_ms": D, "exit_code": E, "input": {...},
 * "module_id": "M", "status": "S"}: "input" is the first key that can hold
 * structure and "module_id" the last one after it, and a quote inside a
 * string is always escaped, so both separators are found unambiguously. */
static int stream_record(const char *line, size_t len, struct audit_rec *r, char *why,
                         size_t whylen)
{
	static const char *const keys[] = { "module_id", "status", "exit_code", "duration_ms",
	                                    "input" };
	struct strbuf c = STRBUF_INIT;
	cJSON *root = NULL;
	int rc = -1;
	if (json_canonicalize(line, len, JSON_PYTHON, &c, why, whylen))
		goto out;
	root = cJSON_Parse(c.buf);
	if (!cJSON_IsObject(root)) {
		snprintf(why, whylen, "not a JSON object");
		goto out;
	}
	for (const cJSON *m = root->child; m; m = m->next) {
		size_t k = 0;
		while (k < ARRAY_SIZE(keys) && strcmp(m->string, keys[k]))
			k++;
		if (k == ARRAY_SIZE(keys)) {
			snprintf(why, whylen, "unknown key \"%.40s\"", m->string);
			goto out;
		}
	}
	const cJSON *mod = cJSON_GetObjectItemCaseSensitive(root, "module_id");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "status");
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(root, "exit_code");
	const cJSON *du = cJSON_GetObjectItemCaseSensitive(root, "duration_ms");
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "input");
	if (!cJSON_IsString(mod) || !cJSON_IsString(st) || !cJSON_IsNumber(ex) ||
	    !cJSON_IsNumber(du)) {
		snprintf(why, whylen, "needs module_id and status (strings), exit_code and "
		         "duration_ms (integers)");
		goto out;
	}
	double e = ex->valuedouble, d = du->valuedouble;
	if (e != (double)(int64_t)e || d != (double)(int64_t)d || e > 9007199254740992.0 ||
	    e < -9007199254740992.0 || d < 0 || d > 9007199254740992.0) {
		snprintf(why, whylen, "exit_code and duration_ms must be integers (duration >= 0)");
		goto out;
	}
	if (strcmp(st->valuestring, "success") && strcmp(st->valuestring, "error")) {
		snprintf(why, whylen, "status must be \"success\" or \"error\"");
		goto out;
	}
	memset(r, 0, sizeof(*r));
	if (in) {
		if (!cJSON_IsObject(in)) {
			snprintf(why, whylen, "input must be a JSON object");
			goto out;
		}
		static const char ikey[] = "\"input\": ", mkey[] = ", \"module_id\": \"";
		char *a = strstr(c.buf, ikey), *b = NULL;
		for (char *p = c.buf; (p = strstr(p, mkey)); p++)
			b = p;
		if (!a || !b || b < a) {
			snprintf(why, whylen, "internal error: cannot locate the input");
			goto out;
		}
		a += strlen(ikey);
		r->input = xstrndup(a, (size_t)(b - a));
		r->input_len = (size_t)(b - a);
		r->input_canonical = 1;
	}
	r->module_id = xstrdup(mod->valuestring);
	r->status = !strcmp(st->valuestring, "success") ? "success" : "error";
	r->exit_code = (int64_t)e;
	r->duration_ms = (int64_t)d;
	rc = 0;
out:
	cJSON_Delete(root);
	sb_free(&c);
	return rc;
}

static int log_stream(const struct opts *o)
{
	struct audit_log *l;
	char err[512];
	struct opts so = *o;
	enum audit_status rc = audit_open(o->file, &so.ao, &l, err, sizeof(err));
	if (rc)
		return write_failed(o, rc, err);
	struct lines ls = { .fd = STDIN_FILENO };
	struct batch *b = xzalloc(sizeof(*b));
	uint64_t lineno = 0;
	int ex = APC_EX_OK;
	char *line;
	size_t len;
	for (;;) {
		int got = next_line(&ls, &line, &len, AUDIT_INPUT_CAP + 65536);
		if (got < 0) {
			(void)batch_flush(l, b, o);
			die("stdin:%" PRIu64 ": line longer than %u MiB (%" PRIu64 " records before it "
			    "appended, none after)", lineno + 1, (AUDIT_INPUT_CAP >> 20) + 1, b->appended);
		}
		if (!got)
			break;
		lineno++;
		size_t k = 0;
		while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
			k++;
		if (k == len)
			continue;
		char why[300];
		struct audit_rec *r = &b->rec[b->n];
		int bad = stream_record(line, len, r, why, sizeof(why));
		if (!bad) {
			size_t mlen = strlen(r->module_id);
			if (!mlen || mlen > AUDIT_MODULE_MAX)
				bad = snprintf(why, sizeof(why), "module_id is empty or longer than %d bytes",
				               AUDIT_MODULE_MAX);
			else if (!strncmp(r->module_id, AUDIT_SYS_PREFIX, strlen(AUDIT_SYS_PREFIX)))
				bad = snprintf(why, sizeof(why), "module_id prefix '%s' is reserved",
				               AUDIT_SYS_PREFIX);
			if (bad) {
				free((char *)r->module_id);
				free((char *)r->input);
			}
		}
		if (bad) {
			(void)batch_flush(l, b, o);
			die("stdin:%" PRIu64 ": %s (%" PRIu64 " records before it appended, none after)",
			    lineno, why, b->appended);
		}
		b->n++;
		b->bytes += r->input_len + 256;
		if (b->n == STREAM_BATCH || b->bytes > STREAM_BATCH_BYTES || !more_ready(&ls)) {
			int e = batch_flush(l, b, o);
			if (e)
				ex = e;
		}
	}
	int e = batch_flush(l, b, o);
	if (e)
		ex = e;
	free(ls.buf);
	free(b);
	audit_close(l);
	return ex;
}

static int cmd_log(int argc, char **argv)
{
	struct opts o;
	char err[512];
	parse_opts(argc, argv,
	           B(OP_FILE) | B(OP_MODULE) | B(OP_STATUS) | B(OP_EXIT) | B(OP_DURATION) | B(OP_INPUT) |
	           B(OP_STREAM) | B(OP_HASH) | B(OP_SYNC) | B(OP_FAILOPEN), &o);
	no_args(&o);
	if (o.stream) {
		if (o.seen & (B(OP_MODULE) | B(OP_STATUS) | B(OP_EXIT) | B(OP_DURATION) | B(OP_INPUT)))
			die_usage("--stream takes the records from stdin: no --module, --status, "
			          "--exit-code, --duration-ms or --input");
		return log_stream(&o);
	}
	unsigned need = B(OP_MODULE) | B(OP_STATUS) | B(OP_EXIT) | B(OP_DURATION);
	if ((o.seen & need) != need)
		die_usage("log needs --module, --status, --exit-code and --duration-ms");
	struct audit_rec r = { .module_id = o.module, .status = o.status, .exit_code = o.exit_code,
	                       .duration_ms = o.duration_ms };
	char *input = NULL;
	if (o.input) {
		input = read_input(o.input, &r.input_len);
		r.input = input;
	}
	enum audit_status rc = audit_append(o.file, &r, &o.ao, err, sizeof(err));
	free(input);
	return rc ? write_failed(&o, rc, err) : APC_EX_OK;
}

/* --------------------------------------------------------------- wrap */

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

/* {"argv": [...]}, already in canonical form (one key). */
static char *argv_input(char **args, int n, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw w;
	jw_init(&w, &sb, JSON_PYTHON);
	jw_obj_begin(&w);
	jw_key(&w, "argv");
	jw_arr_begin(&w);
	for (int i = 0; i < n; i++)
		jw_str(&w, args[i]);
	jw_arr_end(&w);
	jw_obj_end(&w);
	return sb_detach(&sb, len);
}

static int cmd_wrap(int argc, char **argv)
{
	struct opts o;
	char err[512];
	parse_opts(argc, argv, B(OP_FILE) | B(OP_MODULE) | B(OP_INPUT) | B(OP_HASH) | B(OP_SYNC) |
	           B(OP_FAILOPEN), &o);
	if (o.nrest < 1)
		die_usage("wrap needs a command: apcore-audit wrap [OPTIONS] -- CMD [ARG...]");
	char **cmd = o.rest;
	char *base = strrchr(cmd[0], '/');
	const char *module = o.module ? o.module : base ? base + 1 : cmd[0];
	if (!*module)
		die_usage("cannot name the module after '%s': give --module", cmd[0]);
	/* The record must be writable after the run: check it before. */
	if (strlen(module) > AUDIT_MODULE_MAX || !utf8_valid(module, strlen(module)) ||
	    !strncmp(module, AUDIT_SYS_PREFIX, strlen(AUDIT_SYS_PREFIX)))
		die_usage("module_id '%.60s' is not valid UTF-8 of at most %d bytes outside '%s'",
		          module, AUDIT_MODULE_MAX, AUDIT_SYS_PREFIX);

	struct audit_rec r = { .module_id = module };
	char *input;
	if (o.input) {
		input = read_input(o.input, &r.input_len);
	} else {
		input = argv_input(cmd, o.nrest, &r.input_len);
		r.input_canonical = 1;
	}
	r.input = input;

	/* Refuse before running anything the log could not record. */
	struct audit_log *l = NULL;
	enum audit_status rc = audit_open(o.file, &o.ao, &l, err, sizeof(err));
	if (!rc)
		rc = audit_check(l, err, sizeof(err));
	if (rc) {
		audit_close(l);
		l = NULL;
		if (!o.fail_open)
			die_code(rc == AUDIT_ETORN ? EX_TORN : APC_EX_FAIL, "%s (command not run)", err);
		warn_msg("Could not write audit log: %s", err);
	}

	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC))
		die_errno("pipe");
	struct sigaction ign = { .sa_handler = SIG_IGN }, fwd = { .sa_handler = forward }, oi, oq;
	sigemptyset(&ign.sa_mask);
	sigemptyset(&fwd.sa_mask);
	sigaction(SIGINT, &ign, &oi);
	sigaction(SIGQUIT, &ign, &oq);
	sigaction(SIGTERM, &fwd, NULL);
	sigaction(SIGHUP, &fwd, NULL);
	fflush(stdout);
	int64_t t0 = time_mono_ms();
	pid_t pid = fork();
	if (pid < 0)
		die_errno("fork");
	if (pid == 0) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigemptyset(&dfl.sa_mask);
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGQUIT, &dfl, NULL);
		sigaction(SIGTERM, &dfl, NULL);
		sigaction(SIGHUP, &dfl, NULL);
		close(pfd[0]);
		execvp(cmd[0], cmd);
		int e = errno;
		(void)!write(pfd[1], &e, sizeof(e));
		_exit(127);
	}
	child_pid = pid;
	close(pfd[1]);
	int exec_errno = 0;
	ssize_t n;
	do
		n = read(pfd[0], &exec_errno, sizeof(exec_errno));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die_errno("waitpid");
	}
	child_pid = 0;
	r.duration_ms = time_mono_ms() - t0;
	sigaction(SIGINT, &oi, NULL);
	sigaction(SIGQUIT, &oq, NULL);

	struct audit_field sigf = { .key = "signal" };
	int ex;
	if (n == (ssize_t)sizeof(exec_errno)) {
		ex = exec_errno == ENOENT ? APC_EX_NOTFOUND : APC_EX_NOEXEC;
		note("cannot run %s: %s", cmd[0], strerror(exec_errno));
	} else if (WIFSIGNALED(status)) {
		ex = 128 + WTERMSIG(status);
		sigf.num = WTERMSIG(status);
		r.extra = &sigf;
		r.nextra = 1;
	} else {
		ex = WEXITSTATUS(status);
	}
	r.exit_code = ex;
	r.status = ex == 0 ? "success" : "error";
	if (l) {
		rc = audit_write(l, &r, 1, NULL, err, sizeof(err));
		audit_close(l);
		if (rc) {
			if (!o.fail_open)
				die("%s (the command exited with status %d)", err, ex);
			warn_msg("Could not write audit log: %s", err);
		}
	}
	free(input);
	return ex;
}

/* --------------------------------------------------- seal, rotate, ... */

static int admin_fail(enum audit_status rc, const char *err)
{
	die_code(rc == AUDIT_ETORN ? EX_TORN : APC_EX_FAIL, "%s", err);
}

static int cmd_seal(int argc, char **argv)
{
	struct opts o;
	char err[512];
	uint64_t epoch;
	parse_opts(argc, argv, B(OP_FILE), &o);
	no_args(&o);
	enum audit_status rc = audit_seal(o.file, &o.ao, &epoch, err, sizeof(err));
	if (rc)
		return admin_fail(rc, err);
	printf("sealed epoch %" PRIu64 "\n", epoch);
	return APC_EX_OK;
}

static int cmd_rotate(int argc, char **argv)
{
	struct opts o;
	char err[512], *moved;
	parse_opts(argc, argv, B(OP_FILE), &o);
	no_args(&o);
	enum audit_status rc = audit_rotate(o.file, &o.ao, &moved, err, sizeof(err));
	if (rc)
		return admin_fail(rc, err);
	printf("rotated: the old log is now %s\n", moved);
	free(moved);
	return APC_EX_OK;
}

static int cmd_checkpoint(int argc, char **argv)
{
	struct opts o;
	char err[512], *text;
	parse_opts(argc, argv, B(OP_FILE) | B(OP_OUTPUT), &o);
	no_args(&o);
	enum audit_status rc = audit_checkpoint(o.file, &o.ao, &text, err, sizeof(err));
	if (rc)
		return admin_fail(rc, err);
	if (write_output(o.output ? o.output : "-", text, strlen(text), 0644))
		die_errno("cannot write %s", o.output ? o.output : "standard output");
	free(text);
	return APC_EX_OK;
}

static int cmd_hash(int argc, char **argv)
{
	struct opts o;
	char err[512], out[AUDIT_HEX_LEN];
	parse_opts(argc, argv, B(OP_FILE) | B(OP_INPUT) | B(OP_KEY), &o);
	no_args(&o);
	size_t len = 2;
	char *input = o.input ? read_input(o.input, &len) : xstrdup("{}");
	char *key = o.key ? read_key(o.key) : NULL;
	enum audit_status rc = audit_hash_input(o.file, key, input, len, out, err, sizeof(err));
	secure_free(key);
	free(input);
	if (rc)
		die("%s", err);
	printf("%s\n", out);
	return APC_EX_OK;
}

/* -------------------------------------------------------------- verify */

static void verify_json(const char *path, const struct audit_verify *v)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw w;
	static const char *const names[] = { "ok", "failed", "?", "unsealed", "unauthenticated",
	                                     "torn" };
	jw_init(&w, &sb, JSON_COMPACT);
	jw_obj_begin(&w);
	jw_kv_str(&w, "file", path);
	jw_kv_str(&w, "result", names[v->code]);
	jw_kv_int(&w, "exit_code", v->code);
	jw_kv_str(&w, "log_id", v->log_id);
	jw_kv_int(&w, "lines", (int64_t)v->lines);
	jw_kv_int(&w, "records", (int64_t)v->records);
	jw_kv_int(&w, "first_seq", (int64_t)v->first_seq);
	jw_kv_int(&w, "last_seq", (int64_t)v->last_seq);
	jw_kv_int(&w, "good_lines", (int64_t)v->good_lines);
	jw_kv_int(&w, "foreign", (int64_t)v->foreign);
	jw_kv_int(&w, "adopted", (int64_t)v->adopted);
	jw_kv_int(&w, "unauthenticated", (int64_t)v->unauth);
	jw_kv_int(&w, "mac_ok", (int64_t)v->mac_ok);
	jw_kv_int(&w, "mac_unchecked", (int64_t)v->mac_unchecked);
	jw_kv_int(&w, "seals", (int64_t)v->epochs_sealed);
	jw_kv_int(&w, "unsealed", (int64_t)v->unsealed);
	jw_kv_int(&w, "repairs", (int64_t)v->repairs);
	jw_kv_bool(&w, "state_checked", v->state_checked);
	jw_kv_bool(&w, "checkpoint_checked", v->checkpoint_checked);
	jw_kv_bool(&w, "checkpoint_mac", v->checkpoint_mac);
	if (v->bad_line || v->reason[0]) {
		jw_key(&w, "bad");
		jw_obj_begin(&w);
		jw_kv_int(&w, "line", (int64_t)v->bad_line);
		jw_kv_int(&w, "seq", (int64_t)v->bad_seq);
		jw_kv_str(&w, "reason", v->reason);
		jw_obj_end(&w);
	}
	if (v->torn) {
		jw_key(&w, "torn");
		jw_obj_begin(&w);
		jw_kv_int(&w, "offset", (int64_t)v->torn_offset);
		jw_kv_int(&w, "bytes", (int64_t)v->torn_bytes);
		jw_obj_end(&w);
	}
	if (v->repaired) {
		jw_key(&w, "repaired");
		jw_obj_begin(&w);
		jw_kv_int(&w, "offset", (int64_t)v->torn_offset);
		jw_kv_int(&w, "bytes", (int64_t)v->torn_bytes);
		jw_kv_str(&w, "saved_to", v->repair_file);
		jw_kv_int(&w, "seq", (int64_t)v->repair_seq);
		jw_obj_end(&w);
	}
	jw_obj_end(&w);
	sb_putc(&sb, '\n');
	fputs(sb.buf, stdout);
	sb_free(&sb);
}

static void verify_text(const struct audit_verify *v)
{
	if (v->repaired)
		printf("repaired: cut an incomplete last line (%" PRIu64 " bytes at byte %" PRIu64
		       "), kept in %s, recorded as seq %" PRIu64 "\n", v->torn_bytes, v->torn_offset,
		       v->repair_file, v->repair_seq);
	printf("lines: %" PRIu64, v->lines);
	if (v->records)
		printf(" (%" PRIu64 " records, seq %" PRIu64 "-%" PRIu64 ")", v->records, v->first_seq,
		       v->last_seq);
	if (v->foreign)
		printf(", %" PRIu64 " without a chain (reference format)", v->foreign);
	printf("\n");
	if (v->predecessor[0])
		printf("predecessor: %s\n", v->predecessor);
	if (v->adopted)
		printf("adopted: lines 1-%" PRIu64 " (digest in the init record matches)\n", v->adopted);
	if (v->good_lines && v->records)
		printf("verified: lines 1-%" PRIu64 ": chain%s%s\n", v->good_lines,
		       v->mac_ok ? ", MACs" : "", v->epochs_sealed ? ", seals" : "");
	if (v->mac_ok || v->mac_unchecked)
		printf("macs: %" PRIu64 " verified, %" PRIu64 " not checked\n", v->mac_ok,
		       v->mac_unchecked);
	if (v->epochs_sealed)
		printf("seals: %" PRIu64 "\n", v->epochs_sealed);
	if (v->state_checked)
		printf("state: agrees with the log (epoch %" PRIu64 ")\n", v->state_epoch);
	if (v->checkpoint_checked)
		printf("checkpoint: the log extends it (seq %" PRIu64 ", MAC %s)\n", v->checkpoint_seq,
		       v->checkpoint_mac ? "verified" : "not checked: no key for its epoch");
	if (v->repairs)
		printf("repairs: %" PRIu64 " torn line(s) cut earlier, recorded in the log\n",
		       v->repairs);

	switch (v->code) {
	case AUDIT_V_BAD:
		if (v->bad_line && v->bad_seq)
			printf("FAILED: line %" PRIu64 " (seq %" PRIu64 "): %s\n", v->bad_line, v->bad_seq,
			       v->reason);
		else if (v->bad_line)
			printf("FAILED: line %" PRIu64 ": %s\n", v->bad_line, v->reason);
		else
			printf("FAILED: %s\n", v->reason);
		break;
	case AUDIT_V_TORN:
		printf("TORN: the last line (%" PRIu64 " bytes at byte %" PRIu64 ") is incomplete; "
		       "run 'apcore-audit verify --repair'\n", v->torn_bytes, v->torn_offset);
		break;
	case AUDIT_V_UNAUTH:
		printf("NOT AUTHENTICATED:");
		if (v->unauth)
			printf(" %" PRIu64 " line(s) without a MAC;", v->unauth);
		if (v->mac_unchecked)
			printf(" MACs of epochs %" PRIu64 "-%" PRIu64 " need the verification key "
			       "(--key FILE);", v->unchecked_first_epoch, v->unchecked_last_epoch);
		if (v->checkpoint_checked && !v->checkpoint_mac)
			printf(" the checkpoint's MAC needs the verification key;");
		printf(" the rest verified%s\n",
		       v->unsealed ? ", but records follow the last seal" : "");
		break;
	case AUDIT_V_UNSEALED:
		printf("UNSEALED: %" PRIu64 " record(s) after the last seal (from line %" PRIu64
		       ") verified but not sealed; run 'apcore-audit seal'\n", v->unsealed,
		       v->unsealed_first_line);
		break;
	default:
		printf("OK: everything verified\n");
	}
}

static int cmd_verify(int argc, char **argv)
{
	struct opts o;
	char err[512];
	struct audit_verify v;
	struct audit_verify_opts vo = { 0 };
	parse_opts(argc, argv, B(OP_FILE) | B(OP_KEY) | B(OP_CHECKPOINT) | B(OP_REPAIR) | B(OP_JSON), &o);
	no_args(&o);
	char *key = o.key ? read_key(o.key) : NULL;
	char *path = o.file ? xstrdup(o.file) : audit_default_path();
	vo.vk = key;
	vo.checkpoint = o.checkpoint;
	vo.repair = o.repair;
	enum audit_status rc = audit_verify(path, &vo, &v, err, sizeof(err));
	secure_free(key);
	if (rc) {
		if (v.repaired)
			warn_msg("repaired: the torn line is kept in %s", v.repair_file);
		die("%s", err);
	}
	if (o.json)
		verify_json(path, &v);
	else
		verify_text(&v);
	free(path);
	return v.code;
}

/* ---------------------------------------------------------------- show */

/* Terminal-safe copy: control characters and DEL become '?'. */
static void tsafe(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int cmd_show(int argc, char **argv)
{
	struct opts o;
	parse_opts(argc, argv, B(OP_FILE) | B(OP_SINCE) | B(OP_UNTIL) | B(OP_MODULE) | B(OP_STATUS) |
	           B(OP_USER) | B(OP_JSON) | B(OP_TABLE), &o);
	no_args(&o);
	if (o.json && o.table)
		die_usage("--json and --table exclude each other");
	char *path = o.file ? xstrdup(o.file) : audit_default_path();
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		die_errno("cannot open %s", path);
	int table = o.table || (!o.json && isatty(STDOUT_FILENO));
	if (table)
		printf("%-6s %-24s %-12s %-28s %-7s %5s %9s\n", "SEQ", "TIMESTAMP", "USER", "MODULE",
		       "STATUS", "EXIT", "MS");
	struct lines ls = { .fd = fd };
	char *line, why[160];
	size_t len;
	uint64_t lineno = 0, skipped = 0;
	int got;
	struct audit_line al;
	while ((got = next_line(&ls, &line, &len, AUDIT_LINE_MAX)) != 0) {
		if (got < 0)
			die("%s:%" PRIu64 ": line longer than 1 MiB", path, lineno + 1);
		lineno++;
		if (got == 2) {
			warn_msg("%s: the last line is incomplete (a torn write?): not shown", path);
			break;
		}
		if (audit_parse_line(line, len, &al, why, sizeof(why))) {
			warn_msg("%s:%" PRIu64 ": not a record (%s), skipped", path, lineno, why);
			skipped++;
			continue;
		}
		if ((o.seen & B(OP_SINCE)) && (al.ts_ms < 0 || al.ts_ms < o.since))
			continue;
		if ((o.seen & B(OP_UNTIL)) && (al.ts_ms < 0 || al.ts_ms >= o.until))
			continue;
		if (o.module && fnmatch(o.module, al.module_id, 0))
			continue;
		if (o.status && strcmp(o.status, al.status))
			continue;
		if (o.user && strcmp(o.user, al.user))
			continue;
		if (!table) {
			line[len] = '\n';
			fwrite(line, 1, len + 1, stdout);
			continue;
		}
		char seq[24], ex[24] = "-", ms[24] = "-";
		if (al.ours)
			snprintf(seq, sizeof(seq), "%" PRIu64, al.seq);
		else
			snprintf(seq, sizeof(seq), "-");
		if (al.has_exit)
			snprintf(ex, sizeof(ex), "%" PRId64, al.exit_code);
		if (al.has_duration)
			snprintf(ms, sizeof(ms), "%" PRId64, al.duration_ms);
		tsafe(al.timestamp);
		tsafe(al.user);
		tsafe(al.module_id);
		tsafe(al.status);
		printf("%-6s %-24s %-12s %-28s %-7s %5s %9s\n", seq, al.timestamp, al.user,
		       al.module_id, al.status, ex, ms);
	}
	close(fd);
	free(ls.buf);
	free(path);
	return skipped ? APC_EX_FAIL : APC_EX_OK;
}

/* ---------------------------------------------------------------- main */

int audit_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "init", cmd_init }, { "log", cmd_log }, { "wrap", cmd_wrap },
		{ "seal", cmd_seal }, { "rotate", cmd_rotate }, { "checkpoint", cmd_checkpoint },
		{ "verify", cmd_verify }, { "show", cmd_show }, { "hash", cmd_hash },
	};
	if (argc < 2)
		die_usage("missing command");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		/* Keys pass through every command.  wrap only makes itself
		 * undumpable: RLIMIT_CORE would be inherited by the command. */
		if (cmds[i].fn == cmd_wrap)
			(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		else
			secure_nodump();
		return cmds[i].fn(argc - 1, argv + 1);
	}
	die_usage("unknown command '%s'", argv[1]);
}

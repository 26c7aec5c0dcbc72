/* limit.c - rate limits with GCRA, computed as redis-cell's CL.THROTTLE does.
 *
 *   T    = PERIOD / N               emission interval, whole microseconds
 *   tau  = T * (B + 1)              delay variation tolerance (B = --burst)
 *   inc  = T * Q                    Q = --quantity, default 1
 *   tat  = stored TAT, or now when there is none (or it lies in the past)
 *   new  = tat + inc
 *   allowed iff now >= new - tau; then TAT := new
 *   limited: retry_after = (new - tau) - now (-1 when inc > tau: never)
 *            reset_after = tat - now
 *   allowed: reset_after = new - now, retry_after = -1
 *   remaining = (tau - reset_after) / T when that exceeds -T, else 0
 *   limit = B + 1 (that many requests may pass at once on a fresh key)
 *
 * Local backend: a JSON state file read-modify-written under an flock on
 * FILE.lock and replaced atomically, so concurrent processes never lose an
 * update.  Redis backend: one server-side Lua script using the server's
 * TIME, so a fleet shares one limit whatever the client clocks say.
 */
#include "apcore.h"
#include "auth.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if CFG_APCORE_AUTH_REDIS
#include <hiredis/hiredis.h>
#endif

#define STATE_FORMAT "apcore-auth-ratelimit"
#define STATE_CAP (64u << 20)
#define KEY_MAX 256
#define TAU_MAX (10LL * 366 * 86400 * 1000000)   /* 10 years in µs: exact in doubles */
#define REDIS_PREFIX "apcore:rl:"

static const char limit_help[] =
	"usage: apcore-auth limit KEY --rate N/PERIOD [--burst B] [--quantity Q]\n"
	"                         [--state FILE | --redis URL] [--json]\n"
	"\n"
	"Count one request against the limit of KEY with the generic cell rate\n"
	"algorithm, exactly as redis-cell's CL.THROTTLE KEY B N PERIOD Q does.\n"
	"  --rate N/PERIOD   N requests per PERIOD: [COUNT]UNIT with UNIT ms, s,\n"
	"                    m, h or d (10/s, 50/hour, 100/15m, 3/500ms); the\n"
	"                    emission interval T = PERIOD/N in whole microseconds\n"
	"  --burst B         B+1 requests may pass at once on a fresh key (default\n"
	"                    N-1: a fresh key takes N at once, then one every T)\n"
	"  --quantity Q      weight of this request (default 1; 0 only looks)\n"
	"  --state FILE      local state (default ~/.cache/apcore/ratelimit.json),\n"
	"                    shared by every process through an flock\n"
	"  --redis URL       shared state in Redis: redis://HOST[:PORT][/DB] or\n"
	"                    unix:PATH[?db=N]; key apcore:rl:KEY, the server's clock\n"
	"  --redis-auth-file FILE   Redis password (first line of FILE)\n"
	"  --timeout MS      bound on connecting and on every Redis call (default 1000)\n"
	"  --json            print {\"allowed\",\"limit\",\"remaining\",\"retry_after_ms\",\n"
	"                    \"reset_after_ms\"} (retry_after_ms -1 when allowed)\n"
	"A limited request prints \"retry after X.XXXs\" on stderr.\n"
	"\n"
	"Exit status: 0 allowed, 1 error (state or Redis unusable: never a silent\n"
	"allow), 2 usage, 75 limited.\n";

enum { O_RATE = 256, O_BURST, O_QUANTITY, O_STATE, O_REDIS, O_REDIS_AUTH, O_TIMEOUT, O_JSON };
#define B(o) (1u << ((o) - 256))

struct opts {
	const char *key;
	int64_t T, tau, inc, limit;
	const char *state, *redis, *redis_auth;
	int timeout_ms, json;
	unsigned seen;
};

struct result {
	int limited;
	int64_t remaining, retry_after_us, reset_after_us;
};

static const struct option longopts[] = {
	{ "rate", required_argument, NULL, O_RATE },
	{ "burst", required_argument, NULL, O_BURST },
	{ "quantity", required_argument, NULL, O_QUANTITY },
	{ "state", required_argument, NULL, O_STATE },
	{ "redis", required_argument, NULL, O_REDIS },
	{ "redis-auth-file", required_argument, NULL, O_REDIS_AUTH },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "json", no_argument, NULL, O_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int64_t parse_count(const char *opt, const char *s, int64_t min, int64_t max)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || s[0] < '0' || s[0] > '9' || v < min || v > max)
		die_usage("%s wants a whole number from %lld to %lld, not '%s'", opt, (long long)min,
		          (long long)max, s);
	return v;
}

/* "N/PERIOD" -> N and the period in µs. */
static void parse_rate(const char *s, int64_t *n, int64_t *period)
{
	static const struct { const char *name; int64_t us; } units[] = {
		{ "ms", 1000 }, { "s", 1000000 }, { "sec", 1000000 }, { "second", 1000000 },
		{ "m", 60000000 }, { "min", 60000000 }, { "minute", 60000000 },
		{ "h", 3600000000LL }, { "hour", 3600000000LL },
		{ "d", 86400000000LL }, { "day", 86400000000LL },
	};
	const char *slash = strchr(s, '/');
	char *end;
	if (!slash || slash == s)
		goto bad;
	char *num = xstrndup(s, (size_t)(slash - s));
	*n = parse_count("--rate", num, 1, 1000000000);
	free(num);
	const char *p = slash + 1;
	long long mult = 1;
	if (*p >= '0' && *p <= '9') {
		errno = 0;
		mult = strtoll(p, &end, 10);
		if (errno || mult < 1 || mult > 1000000)
			goto bad;
		p = end;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		size_t l = strlen(units[i].name);
		/* "hour" and "hours" alike */
		if (!strncmp(p, units[i].name, l) && (!p[l] || (p[l] == 's' && !p[l + 1] && l > 2))) {
			*period = mult * units[i].us;
			return;
		}
	}
bad:
	die_usage("--rate wants N/PERIOD such as 10/s, 50/hour, 100/15m or 3/500ms, not '%s'", s);
}

static void check_key(const char *k)
{
	size_t n = strlen(k);
	if (!n || n > KEY_MAX)
		die_usage("KEY must be 1 to %d bytes", KEY_MAX);
	if (!utf8_valid(k, n))
		die_usage("KEY is not valid UTF-8");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f)
			die_usage("KEY contains a control character");
}

/* Returns 1 for --help. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	const char *rate = NULL, *burst = NULL, *quantity = NULL;
	char **args = argv;
	int c, help = 0;

	memset(o, 0, sizeof(*o));
	o->timeout_ms = 1000;
	/* "limit KEY --rate ..." as in the help, and "limit --rate ... KEY". */
	if (argc > 1 && argv[1][0] != '-') {
		o->key = argv[1];
		args = xcalloc((size_t)argc, sizeof(char *));
		args[0] = argv[0];
		for (int i = 2; i < argc; i++)
			args[i - 1] = argv[i];
		argc--;
	}
	opterr = 0;
	while (!help && (c = getopt_long(argc, args, "+:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			help = 1;
			break;
		}
		opt_accept(longopts, c, args, NULL, ~0u, 0, &o->seen);
		switch (c) {
		case O_RATE: rate = optarg; break;
		case O_BURST: burst = optarg; break;
		case O_QUANTITY: quantity = optarg; break;
		case O_STATE: o->state = optarg; break;
		case O_REDIS: o->redis = optarg; break;
		case O_REDIS_AUTH: o->redis_auth = optarg; break;
		case O_TIMEOUT:
			o->timeout_ms = (int)parse_count("--timeout", optarg, 1, 600000);
			break;
		case O_JSON: o->json = 1; break;
		}
	}
	int rest = argc - optind;
	const char *next = rest > 0 ? args[optind] : NULL;
	if (args != argv)
		free(args);
	if (help)
		return 1;
	if (o->key ? rest != 0 : rest != 1)
		die_usage("usage: apcore-auth limit KEY --rate N/PERIOD [--burst B] [--state FILE | --redis URL]");
	if (!o->key)
		o->key = next;
	check_key(o->key);
	if (!rate)
		die_usage("limit needs --rate N/PERIOD");
	if (o->state && o->redis)
		die_usage("--state and --redis exclude each other");
	if (o->redis_auth && !o->redis)
		die_usage("--redis-auth-file needs --redis");

	int64_t n, period;
	parse_rate(rate, &n, &period);
	o->T = period / n;
	if (o->T < 1)
		die_usage("--rate %s is finer than one request per microsecond", rate);
	int64_t b = burst ? parse_count("--burst", burst, 0, 1000000000) : n - 1;
	int64_t q = quantity ? parse_count("--quantity", quantity, 0, 1000000000) : 1;
	if (b + 1 > TAU_MAX / o->T)
		die_usage("--burst %lld at --rate %s is a tolerance beyond 10 years", (long long)b, rate);
	if (q > TAU_MAX / o->T)
		die_usage("--quantity %lld at --rate %s weighs more than 10 years", (long long)q, rate);
	o->tau = o->T * (b + 1);
	o->inc = o->T * q;
	o->limit = b + 1;
	return 0;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The GCRA step; *new_tat is the TAT to store when allowed. */
static void gcra(const struct opts *o, int64_t now, int64_t stored, struct result *r,
                 int64_t *new_tat)
{
	int64_t tat = stored > now ? stored : now;
	int64_t nt = tat + o->inc;
	int64_t diff = now - (nt - o->tau);
	int64_t ttl;

	r->retry_after_us = -1;
	if (diff < 0) {
		r->limited = 1;
		if (o->inc <= o->tau)
			r->retry_after_us = -diff;
		ttl = tat - now;
	} else {
		r->limited = 0;
		ttl = nt - now;
		*new_tat = nt;
	}
	r->reset_after_us = ttl;
	int64_t next = o->tau - ttl;
	r->remaining = next > -o->T ? next / o->T : 0;
}

/* ------------------------------------------------------ local state */

struct entry {
	char *key;
	int64_t tat;
};

struct state {
	char *path;
	struct entry *e;
	size_t n, cap;
};

static char *default_state(void)
{
	const char *x = getenv("XDG_CACHE_HOME");
	if (x && *x == '/')
		return xasprintf("%s/apcore/ratelimit.json", x);
	const char *h = getenv("HOME");
	if (!h || !*h)
		die("no rate-limit state: HOME is not set (use --state FILE or --redis URL)");
	return xasprintf("%s/.cache/apcore/ratelimit.json", h);
}

static NORETURN void corrupt(const struct state *s, const char *what)
{
	die("rate-limit state %s is corrupt: %s (remove it to start afresh)", s->path, what);
}

static void state_load(struct state *s)
{
	int fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return;
		die_errno("cannot open rate-limit state %s", s->path);
	}
	struct stat st;
	if (fstat(fd, &st))
		die_errno("cannot stat %s", s->path);
	if (!S_ISREG(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & 022))
		die("rate-limit state %s must be a regular file owned by you and writable by nobody "
		    "else", s->path);
	char *text;
	size_t len;
	if (read_fd_capped(fd, STATE_CAP, &text, &len)) {
		if (errno == EFBIG)
			corrupt(s, "larger than 64 MiB");
		die_errno("cannot read rate-limit state %s", s->path);
	}
	close(fd);
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root)
		corrupt(s, "not JSON");
	if (end && strspn(end, " \t\r\n") != (size_t)(text + len - end))
		corrupt(s, "text after the JSON value");
	free(text);
	if (!cJSON_IsObject(root) || json_dup_keys(root))
		corrupt(s, "not a JSON object without duplicate keys");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "format");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, STATE_FORMAT))
		corrupt(s, "not an apcore-auth rate-limit state");
	v = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!cJSON_IsNumber(v) || v->valuedouble != 1)
		corrupt(s, "unsupported version");
	const cJSON *tats = cJSON_GetObjectItemCaseSensitive(root, "tat_us");
	if (!cJSON_IsObject(tats))
		corrupt(s, "no tat_us object");
	s->cap = (size_t)cJSON_GetArraySize(tats) + 1;
	s->e = xcalloc(s->cap, sizeof(*s->e));
	for (const cJSON *c = tats->child; c; c = c->next) {
		double d = c->valuedouble;
		/* Integers only, and only where doubles are exact. */
		if (!cJSON_IsNumber(c) || d < 1 || d > 9007199254740992.0 || d != (double)(int64_t)d)
			corrupt(s, "a TAT is not a positive integer");
		s->e[s->n].key = xstrdup(c->string);
		s->e[s->n].tat = (int64_t)d;
		s->n++;
	}
	cJSON_Delete(root);
}

static void state_write(const struct state *s, int64_t now)
{
	struct strbuf sb = STRBUF_INIT;
	struct jw w;
	jw_init(&w, &sb, JSON_COMPACT);
	jw_obj_begin(&w);
	jw_kv_str(&w, "format", STATE_FORMAT);
	jw_kv_int(&w, "version", 1);
	jw_key(&w, "tat_us");
	jw_obj_begin(&w);
	/* A TAT in the past is the same as none: drop it. */
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].tat > now)
			jw_kv_int(&w, s->e[i].key, s->e[i].tat);
	jw_obj_end(&w);
	jw_obj_end(&w);
	sb_putc(&sb, '\n');
	if (atomic_replace(s->path, sb.buf, sb.len, 0600))
		die_errno("cannot write rate-limit state %s", s->path);
	sb_free(&sb);
}

static void limit_local(const struct opts *o, struct result *r)
{
	struct state s = { 0 };
	s.path = o->state ? xstrdup(o->state) : default_state();

	char *copy = xstrdup(s.path);
	const char *dir = dirname(copy);
	if (mkdir_p(dir, 0700))
		die_errno("cannot create %s", dir);
	free(copy);
	char *lp = xasprintf("%s.lock", s.path);
	int lock = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock < 0)
		die_errno("cannot open lock file %s", lp);
	while (flock(lock, LOCK_EX))
		if (errno != EINTR)
			die_errno("cannot lock %s", lp);
	free(lp);

	state_load(&s);
	int64_t now = now_us(), stored = 0, nt = 0;
	struct entry *mine = NULL;
	for (size_t i = 0; i < s.n && !mine; i++)
		if (!strcmp(s.e[i].key, o->key))
			mine = &s.e[i];
	if (mine)
		stored = mine->tat;
	gcra(o, now, stored, r, &nt);
	/* Limited, or a look (Q = 0) that leaves the TAT where it was (or in
	 * the past, the same as none): nothing to write. */
	if (!r->limited && nt > now && nt != stored) {
		if (!mine) {
			if (s.n == s.cap) {
				s.cap = s.cap ? 2 * s.cap : 4;
				s.e = xreallocarray(s.e, s.cap, sizeof(*s.e));
			}
			mine = &s.e[s.n++];
			mine->key = xstrdup(o->key);
		}
		mine->tat = nt;
		state_write(&s, now);
	}
	close(lock);
	for (size_t i = 0; i < s.n; i++)
		free(s.e[i].key);
	free(s.e);
	free(s.path);
}

/* ------------------------------------------------------------ Redis */

#if CFG_APCORE_AUTH_REDIS

/* KEYS[1] = apcore:rl:KEY, ARGV = tau, inc (µs).  Returns {limited,
 * retry_after, reset_after, now}.  All values stay below 2^53, where Lua's
 * doubles are exact.  The SHA-1 below is this text's; the tests check it
 * against the server's. */
static const char gcra_lua[] =
	"if redis.replicate_commands then redis.replicate_commands() end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
	"local tau, inc = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
	"local tat = now\n"
	"local v = redis.call('GET', KEYS[1])\n"
	"if v then\n"
	"  tat = tonumber(v)\n"
	"  if not tat then return redis.error_reply('apcore: not a rate-limit state') end\n"
	"  if tat < now then tat = now end\n"
	"end\n"
	"local new = tat + inc\n"
	"local diff = now - (new - tau)\n"
	"if diff < 0 then\n"
	"  local retry = -1\n"
	"  if inc <= tau then retry = -diff end\n"
	"  return {1, retry, tat - now, now}\n"
	"end\n"
	"local ttl = new - now\n"
	"if ttl > 0 then\n"
	"  redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.ceil(ttl / 1000))\n"
	"else\n"
	"  redis.call('DEL', KEYS[1])\n"
	"end\n"
	"return {0, -1, ttl, now}\n";
#define GCRA_SHA1 "6fa9454314430c2948416c7e87d85f890672b08b"

struct rurl {
	char *host;
	char *unix_path;
	int port;
	long db;
};

static void parse_url(const char *s, struct rurl *u)
{
	char *end;
	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (!strncmp(s, "rediss://", 9))
		die_usage("--redis: TLS (rediss://) is not supported by this build's hiredis");
	if (!strncmp(s, "redis://", 8)) {
		const char *p = s + 8, *h;
		size_t hl;
		if (strchr(p, '@'))
			die_usage("--redis: credentials in the URL would be visible in argv; use "
			          "--redis-auth-file FILE");
		if (*p == '[') {
			const char *close = strchr(p, ']');
			if (!close)
				goto bad;
			h = p + 1;
			hl = (size_t)(close - h);
			p = close + 1;
		} else {
			h = p;
			hl = strcspn(p, ":/");
			p += hl;
		}
		if (!hl)
			goto bad;
		u->host = xstrndup(h, hl);
		if (*p == ':') {
			errno = 0;
			long port = strtol(p + 1, &end, 10);
			if (errno || end == p + 1 || port < 1 || port > 65535)
				goto bad;
			u->port = (int)port;
			p = end;
		}
		if (*p == '/' && p[1]) {
			errno = 0;
			u->db = strtol(p + 1, &end, 10);
			if (errno || end == p + 1 || *end || u->db < 0 || u->db > 100000)
				goto bad;
			p = end;
		} else if (*p == '/') {
			p++;
		}
		if (*p)
			goto bad;
		return;
	}
	if (!strncmp(s, "unix:", 5) || s[0] == '/') {
		const char *p = s[0] == '/' ? s : s + 5;
		if (!strncmp(p, "//", 2))
			p += 2;
		const char *q = strstr(p, "?db=");
		size_t pl = q ? (size_t)(q - p) : strlen(p);
		if (!pl)
			goto bad;
		if (q) {
			errno = 0;
			u->db = strtol(q + 4, &end, 10);
			if (errno || end == q + 4 || *end || u->db < 0 || u->db > 100000)
				goto bad;
		}
		u->unix_path = xstrndup(p, pl);
		return;
	}
bad:
	die_usage("--redis wants redis://HOST[:PORT][/DB] or unix:PATH[?db=N], not '%s'", s);
}

static NORETURN void redis_fail(redisContext *c, const char *where, const char *what,
                                int timeout_ms)
{
	if (c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS))
		die("Redis at %s: no answer to %s within %d ms", where, what, timeout_ms);
	die("Redis at %s: %s failed: %s", where, what, c->errstr);
}

/* Run a command that must answer +OK. */
static void redis_ok(redisContext *c, const char *where, const char *what, int timeout_ms,
                     redisReply *rep)
{
	if (!rep)
		redis_fail(c, where, what, timeout_ms);
	if (rep->type == REDIS_REPLY_ERROR)
		die("Redis at %s: %s refused: %s", where, what, rep->str);
	freeReplyObject(rep);
}

static void limit_redis(const struct opts *o, struct result *r)
{
	struct rurl u;
	parse_url(o->redis, &u);
	char *where = u.unix_path ? xstrdup(u.unix_path) : xasprintf("%s:%d", u.host, u.port);
	struct timeval tv = { o->timeout_ms / 1000, (o->timeout_ms % 1000) * 1000 };
	redisContext *c = u.unix_path ? redisConnectUnixWithTimeout(u.unix_path, tv)
	                              : redisConnectWithTimeout(u.host, u.port, tv);
	if (!c)
		die("cannot connect to Redis at %s: out of memory", where);
	if (c->err) {
		if (c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EINPROGRESS || errno == ETIMEDOUT))
			die("cannot connect to Redis at %s: no answer within %d ms", where, o->timeout_ms);
		die("cannot connect to Redis at %s: %s", where, c->errstr);
	}
	if (redisSetTimeout(c, tv) != REDIS_OK)
		die("Redis at %s: cannot set the timeout: %s", where, c->errstr);

	if (o->redis_auth) {
		int fd = open(o->redis_auth, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			die_errno("cannot open %s", o->redis_auth);
		size_t len;
		char *pw = secure_read_fd(fd, 4096, 1, &len);
		close(fd);
		if (!pw)
			die_errno("cannot read %s", o->redis_auth);
		len = strcspn(pw, "\r\n");
		redis_ok(c, where, "AUTH", o->timeout_ms, redisCommand(c, "AUTH %b", pw, len));
		secure_free(pw);
	}
	if (u.db)
		redis_ok(c, where, "SELECT", o->timeout_ms, redisCommand(c, "SELECT %ld", u.db));

	char *rkey = xasprintf(REDIS_PREFIX "%s", o->key);
	size_t rlen = strlen(rkey);
	redisReply *rep = redisCommand(c, "EVALSHA %s 1 %b %lld %lld", GCRA_SHA1, rkey, rlen,
	                               (long long)o->tau, (long long)o->inc);
	if (rep && rep->type == REDIS_REPLY_ERROR && !strncmp(rep->str, "NOSCRIPT", 8)) {
		freeReplyObject(rep);
		rep = redisCommand(c, "EVAL %s 1 %b %lld %lld", gcra_lua, rkey, rlen,
		                   (long long)o->tau, (long long)o->inc);
	}
	if (!rep)
		redis_fail(c, where, "the rate-limit script", o->timeout_ms);
	if (rep->type == REDIS_REPLY_ERROR)
		die("Redis at %s: the rate-limit script failed: %s", where, rep->str);
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 4)
		die("Redis at %s: unexpected answer from the rate-limit script", where);
	for (size_t i = 0; i < 4; i++)
		if (rep->element[i]->type != REDIS_REPLY_INTEGER)
			die("Redis at %s: unexpected answer from the rate-limit script", where);
	r->limited = rep->element[0]->integer != 0;
	r->retry_after_us = rep->element[1]->integer;
	r->reset_after_us = rep->element[2]->integer;
	int64_t next = o->tau - r->reset_after_us;
	r->remaining = next > -o->T ? next / o->T : 0;
	freeReplyObject(rep);
	redisFree(c);
	free(rkey);
	free(where);
	free(u.host);
	free(u.unix_path);
}

#else

static void limit_redis(const struct opts *o, struct result *r)
{
	(void)o, (void)r;
	die("built without Redis support (APCORE_AUTH_REDIS)");
}

#endif

/* ------------------------------------------------------------ main */

static int64_t ceil_ms(int64_t us)
{
	return us < 0 ? -1 : (us + 999) / 1000;
}

int auth_cmd_limit(int argc, char **argv)
{
	struct opts o;
	struct result r = { 0 };
	if (parse_opts(argc, argv, &o)) {
		fputs(limit_help, stdout);
		return 0;
	}
	if (o.redis)
		limit_redis(&o, &r);
	else
		limit_local(&o, &r);

	int64_t retry_ms = r.limited ? ceil_ms(r.retry_after_us) : -1;
	if (o.json) {
		struct strbuf sb = STRBUF_INIT;
		struct jw w;
		jw_init(&w, &sb, JSON_COMPACT);
		jw_obj_begin(&w);
		jw_kv_bool(&w, "allowed", !r.limited);
		jw_kv_int(&w, "limit", o.limit);
		jw_kv_int(&w, "remaining", r.remaining);
		jw_kv_int(&w, "retry_after_ms", retry_ms);
		jw_kv_int(&w, "reset_after_ms", ceil_ms(r.reset_after_us));
		jw_obj_end(&w);
		sb_putc(&sb, '\n');
		xwrite_full(STDOUT_FILENO, sb.buf, sb.len);
		sb_free(&sb);
	}
	if (!r.limited)
		return 0;
	if (retry_ms < 0)
		die_code(AUTH_EX_LIMITED, "rate limited: --quantity exceeds the burst of %lld and can "
		         "never pass", (long long)o.limit);
	die_code(AUTH_EX_LIMITED, "rate limited: retry after %lld.%03llds",
	         (long long)(retry_ms / 1000), (long long)(retry_ms % 1000));
}

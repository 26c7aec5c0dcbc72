/* keyring.c - Secret Service items through libsecret, every call bounded.
 *
 * Items are the Python keyring library's (SecretService backend): attributes
 * exactly {application: "Python keyring library", service, username}, label
 * "Password for 'ACCOUNT' on 'SERVICE'", content type text/plain, in the
 * default collection, replacing an item with the same attributes.  Lookups
 * and deletes match on service and username only, whatever schema name
 * (xdg:schema) an item carries, so Python keyring, secret-tool and apcore
 * read and replace each other's items.
 *
 * Bounding: each call runs libsecret in a forked helper process and waits
 * for its reply on a pipe until the deadline, then SIGKILLs and reaps it.
 * An in-process bound is not enough: libsecret hangs forever on a peer that
 * never answers, and cancelling does not help once GDBus is inside its
 * connection set-up (the bus Hello call takes no cancellable; it waits
 * glib's 25 s), after which glib's cached session-bus connection - one per
 * process - is left broken for every later call.  With the helper the
 * caller's process never touches glib at all: no threads, sources,
 * connections or one-time allocations survive a call, and each call reads
 * DBUS_SESSION_BUS_ADDRESS afresh.  The cost is a fork() and a dlopen()
 * per call, about 3 ms together.  The secret travels over the pipe straight
 * into a secure_alloc() buffer.  The caller must not be multi-threaded.
 *
 * Loading: the binary does not link libsecret.  Only the helper dlopen()s
 * libsecret-1.so.0 (with it glib, gobject, gio and their dependencies) and
 * resolves every function it calls, libsecret's and glib's, into kr_lib;
 * the headers give the types only, so no secret_* or g_* symbol is left
 * for the linker.  Every other invocation of the binary starts without
 * them, and a host without libsecret gets KR_ERROR saying so.
 *
 * Prompts: we are headless.  The helper's service proxy is a SecretService
 * subclass whose prompt methods dismiss the prompt and fail with
 * SECRET_ERROR_IS_LOCKED, so a collection that cannot be unlocked (or
 * created) without user interaction yields KR_LOCKED, never a window.
 * libsecret sends every prompt a call meets (unlock, create collection,
 * create item) through these methods, so overriding them covers each
 * path.  The subclass is registered by hand with g_type_register_static_simple
 * (G_DEFINE_TYPE would link gobject).
 */

#include "config.h"
#include "libcommon.h"

#include <stdio.h>
#include <string.h>

#if CFG_APCORE_KEYRING
#include <libsecret/secret.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#endif

const char *kr_status_str(enum kr_status s)
{
	switch (s) {
	case KR_OK: return "ok";
	case KR_NOTFOUND: return "not found";
	case KR_NOBUS: return "no secret service";
	case KR_LOCKED: return "locked";
	case KR_TIMEOUT: return "timeout";
	case KR_ERROR: return "error";
	case KR_DISABLED: return "disabled";
	}
	return "unknown";
}

#if CFG_APCORE_KEYRING

#define KR_APPLICATION "Python keyring library"
#define KR_CONTENT_TYPE "text/plain"
#define KR_MAX_SECRET (1u << 20)
#define KR_WHY_MAX 512
#define KR_PROMPT_MSG "the keyring is locked (or has no default collection) and " \
	"needs an interactive prompt, which apcore never shows: unlock it in the " \
	"desktop session (e.g. log in there) and retry"

enum kr_opcode { KR_OP_PROBE, KR_OP_STORE, KR_OP_LOOKUP, KR_OP_DELETE };

struct kr_req {
	enum kr_opcode op;
	const char *service, *account;
	const void *secret;
	size_t len;
};

/* Helper -> caller: this header, whylen bytes of why, len bytes of secret. */
struct kr_reply {
	int32_t status;
	uint32_t whylen;
	uint64_t len;
};

/* ================================================ the helper process side */

/* Lookup and delete: service and username, any schema name (xdg:schema).
 * The name is never sent (DONT_MATCH_NAME) and items are stored without a
 * schema. */
static const SecretSchema kr_match_schema = {
	.name = "org.apcore.KeyringMatch",
	.flags = SECRET_SCHEMA_DONT_MATCH_NAME,
	.attributes = {
		{ "service", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "username", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ NULL, 0 },
	},
};

/* libsecret and the glib it pulls in, resolved in the helper only: the
 * caller's process never fills this in.  Each pointer has the type of the
 * header's prototype, so the calls are checked as if linked. */
#define KR_LIBSECRET "libsecret-1.so.0"
#define KR_LIB_FUNCTIONS(X) \
	X(secret_collection_for_alias_sync) X(secret_collection_get_locked) \
	X(secret_error_get_quark) X(secret_item_delete_sync) X(secret_item_get_locked) \
	X(secret_service_get_type) X(secret_service_lookup_sync) X(secret_service_open_sync) \
	X(secret_service_search_sync) X(secret_service_store_sync) \
	X(secret_service_unlock_sync) X(secret_value_get) X(secret_value_new) \
	X(secret_value_unref) \
	X(g_dbus_error_is_remote_error) X(g_dbus_error_quark) \
	X(g_dbus_error_strip_remote_error) X(g_dbus_proxy_call) \
	X(g_dbus_proxy_get_name_owner) X(g_error_free) X(g_error_matches) X(g_free) \
	X(g_hash_table_insert) X(g_hash_table_new) X(g_hash_table_unref) \
	X(g_io_error_quark) X(g_list_append) X(g_list_free) X(g_list_free_full) \
	X(g_object_unref) X(g_set_error_literal) X(g_str_equal) X(g_str_hash) \
	X(g_strdup_printf) X(g_task_new) X(g_task_propagate_pointer) \
	X(g_task_return_new_error) X(g_type_query) X(g_type_register_static_simple)

static struct {
#define KR_LIB_MEMBER(f) __typeof__(f) *f;
	KR_LIB_FUNCTIONS(KR_LIB_MEMBER)
#undef KR_LIB_MEMBER
} kr_lib;

static int kr_load(char *why, size_t whylen)
{
	void *h = dlopen(KR_LIBSECRET, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		msgf(why, whylen, "cannot load " KR_LIBSECRET ", which the OS keyring needs: %s",
		       dlerror());
		return -1;
	}
#define KR_LIB_RESOLVE(f) \
	if (!(kr_lib.f = (__typeof__(kr_lib.f))dlsym(h, #f))) { \
		msgf(why, whylen, "cannot load " KR_LIBSECRET ": %s", dlerror()); \
		return -1; \
	}
	KR_LIB_FUNCTIONS(KR_LIB_RESOLVE)
#undef KR_LIB_RESOLVE
	return 0;
}

/* Tell the service we will not show its prompt; no reply wanted. */
static void kr_dismiss(SecretPrompt *prompt)
{
	kr_lib.g_dbus_proxy_call((GDBusProxy *)prompt, "Dismiss", NULL,
	                         G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, NULL, NULL);
}

static GVariant *kr_prompt_sync(SecretService *self, SecretPrompt *prompt,
                                GCancellable *cancellable, const GVariantType *type,
                                GError **error)
{
	(void)self, (void)cancellable, (void)type;
	kr_dismiss(prompt);
	kr_lib.g_set_error_literal(error, kr_lib.secret_error_get_quark(), SECRET_ERROR_IS_LOCKED,
	                           KR_PROMPT_MSG);
	return NULL;
}

static void kr_prompt_async(SecretService *self, SecretPrompt *prompt,
                            const GVariantType *type, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer data)
{
	(void)type;
	GTask *task = kr_lib.g_task_new(self, cancellable, callback, data);
	kr_dismiss(prompt);
	kr_lib.g_task_return_new_error(task, kr_lib.secret_error_get_quark(),
	                               SECRET_ERROR_IS_LOCKED, "%s", KR_PROMPT_MSG);
	kr_lib.g_object_unref(task);
}

static GVariant *kr_prompt_finish(SecretService *self, GAsyncResult *result, GError **error)
{
	(void)self;
	return kr_lib.g_task_propagate_pointer((GTask *)result, error);
}

static void kr_service_class_init(gpointer klass, gpointer data)
{
	(void)data;
	SecretServiceClass *sc = klass;
	sc->prompt_sync = kr_prompt_sync;
	sc->prompt_async = kr_prompt_async;
	sc->prompt_finish = kr_prompt_finish;
}

/* The SecretService subclass with the prompt methods above; 0 on failure. */
static GType kr_service_type(void)
{
	GType parent = kr_lib.secret_service_get_type();
	GTypeQuery q;
	kr_lib.g_type_query(parent, &q);
	if (!q.type)
		return 0;
	return kr_lib.g_type_register_static_simple(parent, "ApcoreKrService", q.class_size,
	                                            kr_service_class_init, q.instance_size,
	                                            NULL, 0);
}

/* Classify err (consumed) and describe it in why, prefixed by what. */
static enum kr_status kr_fail(GError *err, const char *what, char *why, size_t whylen)
{
	enum kr_status st = KR_ERROR;
	GQuark dbus = kr_lib.g_dbus_error_quark();
	if (kr_lib.g_error_matches(err, kr_lib.secret_error_get_quark(), SECRET_ERROR_IS_LOCKED)) {
		msgf(why, whylen, "%s", KR_PROMPT_MSG);
		kr_lib.g_error_free(err);
		return KR_LOCKED;
	}
	if (kr_lib.g_error_matches(err, dbus, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
	    kr_lib.g_error_matches(err, dbus, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
	    kr_lib.g_error_matches(err, dbus, G_DBUS_ERROR_DISCONNECTED) ||
	    kr_lib.g_error_matches(err, kr_lib.g_io_error_quark(), G_IO_ERROR_CLOSED))
		st = KR_NOBUS;
	if (kr_lib.g_dbus_error_is_remote_error(err))
		kr_lib.g_dbus_error_strip_remote_error(err);
	msgf(why, whylen, "%s: %s", what, err->message);
	kr_lib.g_error_free(err);
	return st;
}

static GHashTable *kr_attrs(const char *service, const char *account, int with_app)
{
	GHashTable *h = kr_lib.g_hash_table_new(kr_lib.g_str_hash, kr_lib.g_str_equal);
	if (with_app)
		kr_lib.g_hash_table_insert(h, (gpointer)"application", (gpointer)KR_APPLICATION);
	kr_lib.g_hash_table_insert(h, (gpointer)"service", (gpointer)service);
	kr_lib.g_hash_table_insert(h, (gpointer)"username", (gpointer)account);
	return h;
}

/* The default collection exists and is unlocked or unlocks without a prompt. */
static enum kr_status kr_do_probe(SecretService *svc, char *why, size_t whylen)
{
	GError *err = NULL;
	SecretCollection *coll = kr_lib.secret_collection_for_alias_sync(
		svc, SECRET_COLLECTION_DEFAULT, SECRET_COLLECTION_NONE, NULL, &err);
	if (err)
		return kr_fail(err, "cannot read the default keyring collection", why, whylen);
	if (!coll) {
		msgf(why, whylen, "the Secret Service has no default collection");
		return KR_ERROR;
	}
	enum kr_status st = KR_OK;
	if (kr_lib.secret_collection_get_locked(coll)) {
		GList *objs = kr_lib.g_list_append(NULL, coll);
		gint n = kr_lib.secret_service_unlock_sync(svc, objs, NULL, NULL, &err);
		kr_lib.g_list_free(objs);
		if (err)
			st = kr_fail(err, "cannot unlock the default keyring collection", why, whylen);
		else if (n < 1 || kr_lib.secret_collection_get_locked(coll)) {
			msgf(why, whylen, "%s", KR_PROMPT_MSG);
			st = KR_LOCKED;
		}
	}
	kr_lib.g_object_unref(coll);
	return st;
}

static enum kr_status kr_do_store(SecretService *svc, const struct kr_req *rq,
                                  char *why, size_t whylen)
{
	/* No schema: libsecret would add its name as an xdg:schema attribute,
	 * and Python keyring's replace=True replaces only items whose
	 * attributes equal its three. */
	GHashTable *attrs = kr_attrs(rq->service, rq->account, 1);
	gchar *label = kr_lib.g_strdup_printf("Password for '%s' on '%s'", rq->account, rq->service);
	SecretValue *value = kr_lib.secret_value_new(rq->len ? rq->secret : "", (gssize)rq->len,
	                                             KR_CONTENT_TYPE);
	GError *err = NULL;
	gboolean ok = kr_lib.secret_service_store_sync(svc, NULL, attrs, SECRET_COLLECTION_DEFAULT,
	                                               label, value, NULL, &err);
	kr_lib.secret_value_unref(value);
	kr_lib.g_free(label);
	kr_lib.g_hash_table_unref(attrs);
	if (!ok)
		return kr_fail(err, "cannot store the keyring item", why, whylen);
	return KR_OK;
}

static enum kr_status kr_do_lookup(SecretService *svc, const struct kr_req *rq,
                                   SecretValue **value, char *why, size_t whylen)
{
	GHashTable *attrs = kr_attrs(rq->service, rq->account, 0);
	GError *err = NULL;
	*value = kr_lib.secret_service_lookup_sync(svc, &kr_match_schema, attrs, NULL, &err);
	kr_lib.g_hash_table_unref(attrs);
	if (err)
		return kr_fail(err, "cannot read the keyring item", why, whylen);
	if (!*value) {
		msgf(why, whylen, "no keyring item for service '%s', account '%s'",
		       rq->service, rq->account);
		return KR_NOTFOUND;
	}
	return KR_OK;
}

/* Every matching item goes; if any of them stays locked, none does. */
static enum kr_status kr_do_delete(SecretService *svc, const struct kr_req *rq,
                                   char *why, size_t whylen)
{
	GHashTable *attrs = kr_attrs(rq->service, rq->account, 0);
	GError *err = NULL;
	GList *items = kr_lib.secret_service_search_sync(svc, &kr_match_schema, attrs,
	                                                 SECRET_SEARCH_ALL | SECRET_SEARCH_UNLOCK,
	                                                 NULL, &err);
	kr_lib.g_hash_table_unref(attrs);
	if (err)
		return kr_fail(err, "cannot search the keyring", why, whylen);
	enum kr_status st = KR_OK;
	if (!items) {
		msgf(why, whylen, "no keyring item for service '%s', account '%s'",
		       rq->service, rq->account);
		st = KR_NOTFOUND;
	}
	for (GList *l = items; l && st == KR_OK; l = l->next) {
		if (kr_lib.secret_item_get_locked(l->data)) {
			msgf(why, whylen, "%s", KR_PROMPT_MSG);
			st = KR_LOCKED;
		}
	}
	for (GList *l = items; l && st == KR_OK; l = l->next)
		if (!kr_lib.secret_item_delete_sync(l->data, NULL, &err))
			st = kr_fail(err, "cannot delete the keyring item", why, whylen);
	kr_lib.g_list_free_full(items, kr_lib.g_object_unref);
	return st;
}

static enum kr_status kr_do(const struct kr_req *rq, SecretValue **value,
                            char *why, size_t whylen)
{
	if (kr_load(why, whylen) != 0)
		return KR_ERROR;
	GType type = kr_service_type();
	if (!type) {
		msgf(why, whylen, "cannot register a SecretService subclass with " KR_LIBSECRET);
		return KR_ERROR;
	}
	GError *err = NULL;
	SecretService *svc = kr_lib.secret_service_open_sync(type, NULL, SECRET_SERVICE_NONE,
	                                                     NULL, &err);
	if (!svc) {
		enum kr_status st = kr_fail(err, "cannot connect to the D-Bus session bus",
		                            why, whylen);
		return st == KR_ERROR ? KR_NOBUS : st;
	}
	gchar *owner = kr_lib.g_dbus_proxy_get_name_owner((GDBusProxy *)svc);
	if (!owner) {
		msgf(why, whylen, "no Secret Service on the D-Bus session bus "
		       "(nothing owns org.freedesktop.secrets)");
		kr_lib.g_object_unref(svc);
		return KR_NOBUS;
	}
	kr_lib.g_free(owner);

	enum kr_status st = KR_ERROR;
	switch (rq->op) {
	case KR_OP_PROBE: st = kr_do_probe(svc, why, whylen); break;
	case KR_OP_STORE: st = kr_do_store(svc, rq, why, whylen); break;
	case KR_OP_LOOKUP: st = kr_do_lookup(svc, rq, value, why, whylen); break;
	case KR_OP_DELETE: st = kr_do_delete(svc, rq, why, whylen); break;
	}
	kr_lib.g_object_unref(svc);
	return st;
}

NORETURN static void kr_helper(int fd, pid_t parent, const struct kr_req *rq)
{
	/* Never outlive the caller, whatever libsecret is stuck in. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(1);
	/* The caller's handlers are not ours to run (GDBus raises SIGTERM
	 * when the bus goes away). */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	char why[KR_WHY_MAX] = "";
	SecretValue *value = NULL;
	struct kr_reply rep = { 0, 0, 0 };
	rep.status = kr_do(rq, &value, why, sizeof(why));
	rep.whylen = (uint32_t)strlen(why);
	const gchar *p = NULL;
	gsize n = 0;
	if (value)
		p = kr_lib.secret_value_get(value, &n);
	rep.len = n;
	if (write_full(fd, &rep, sizeof(rep)) == 0 && write_full(fd, why, rep.whylen) == 0)
		(void)write_full(fd, p, n);
	if (value) {
		/* We hold the only reference: wipe libsecret's copy before it goes. */
		secure_wipe((void *)p, n);
		kr_lib.secret_value_unref(value);
	}
	_exit(0);
}

/* ======================================================= the caller side */

/* Read exactly n bytes before deadline: 0, -1 on EOF/error, -2 on timeout. */
static int kr_read_by(int fd, void *buf, size_t n, long long deadline)
{
	size_t got = 0;
	while (got < n) {
		long long left = deadline - time_mono_ms();
		if (left <= 0)
			return -2;
		struct pollfd pfd = { fd, POLLIN, 0 };
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return -2;
		ssize_t k = read(fd, (char *)buf + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/* DBUS_SESSION_BUS_ADDRESS unset means no session bus, unless there is a
 * systemd-style $XDG_RUNTIME_DIR/bus (glib uses that too).  Checked here so
 * glib never autolaunches a bus through dbus-launch. */
static int kr_have_session_bus(void)
{
	const char *addr = getenv("DBUS_SESSION_BUS_ADDRESS");
	if (addr && *addr)
		return 1;
	const char *rt = getenv("XDG_RUNTIME_DIR");
	if (!rt || !*rt)
		return 0;
	char path[4096];
	struct stat st;
	if ((size_t)snprintf(path, sizeof(path), "%s/bus", rt) >= sizeof(path))
		return 0;
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static enum kr_status kr_run(const struct kr_req *rq, int timeout_ms, char **secret,
                             size_t *len, char *why, size_t whylen)
{
	if (!kr_have_session_bus()) {
		msgf(why, whylen, "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)");
		return KR_NOBUS;
	}
	if (timeout_ms <= 0)
		timeout_ms = KR_DEFAULT_TIMEOUT_MS;
	long long deadline = time_mono_ms() + timeout_ms;

	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		msgf(why, whylen, "cannot talk to the keyring: pipe: %s", strerror(errno));
		return KR_ERROR;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		msgf(why, whylen, "cannot talk to the keyring: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return KR_ERROR;
	}
	if (pid == 0) {
		close(p[0]);
		kr_helper(p[1], parent, rq);
	}
	close(p[1]);

	enum kr_status st = KR_ERROR;
	struct kr_reply rep;
	char rwhy[KR_WHY_MAX];
	int r = kr_read_by(p[0], &rep, sizeof(rep), deadline);
	if (r == 0 && (rep.whylen >= sizeof(rwhy) || rep.status < KR_OK || rep.status > KR_ERROR))
		r = -1;
	if (r == 0)
		r = kr_read_by(p[0], rwhy, rep.whylen, deadline);
	if (r == 0 && rep.len > KR_MAX_SECRET) {
		msgf(why, whylen, "keyring item for service '%s', account '%s' is larger "
		       "than %u bytes", rq->service, rq->account, KR_MAX_SECRET);
		st = KR_ERROR;
	} else if (r == 0) {
		rwhy[rep.whylen] = 0;
		st = (enum kr_status)rep.status;
		if (st != KR_OK)
			msgf(why, whylen, "%s", rwhy);
		if (st == KR_OK && secret) {
			char *s = secure_alloc((size_t)rep.len + 1);
			r = kr_read_by(p[0], s, (size_t)rep.len, deadline);
			if (r == 0) {
				*secret = s;
				*len = (size_t)rep.len;
			} else {
				secure_free(s);
			}
		}
	}
	if (r == -2) {
		msgf(why, whylen, "the Secret Service did not answer within %d ms", timeout_ms);
		st = KR_TIMEOUT;
	}
	close(p[0]);

	/* Its reply (if any) is in; nothing it might still do matters. */
	kill(pid, SIGKILL);
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (r == -1) {
		if (WIFSIGNALED(ws) && WTERMSIG(ws) != SIGKILL)
			msgf(why, whylen, "the keyring helper died of signal %d", WTERMSIG(ws));
		else
			msgf(why, whylen, "the keyring helper failed without an answer");
		st = KR_ERROR;
	}
	return st;
}

static int kr_bad_args(const char *service, const char *account, char *why, size_t whylen)
{
	if (!service || !*service || !account || !*account) {
		msgf(why, whylen, "keyring service and account must not be empty");
		return 1;
	}
	if (!utf8_valid(service, strlen(service)) || !utf8_valid(account, strlen(account))) {
		msgf(why, whylen, "keyring service and account must be UTF-8");
		return 1;
	}
	return 0;
}

enum kr_status kr_probe(int timeout_ms, char *why, size_t whylen)
{
	struct kr_req rq = { KR_OP_PROBE, NULL, NULL, NULL, 0 };
	return kr_run(&rq, timeout_ms, NULL, NULL, why, whylen);
}

enum kr_status kr_store(const char *service, const char *account, const void *secret,
                        size_t len, int timeout_ms, char *why, size_t whylen)
{
	if (kr_bad_args(service, account, why, whylen))
		return KR_ERROR;
	if (len > KR_MAX_SECRET || (len && !secret)) {
		msgf(why, whylen, "invalid secret for keyring item '%s' (at most %u bytes)",
		       account, KR_MAX_SECRET);
		return KR_ERROR;
	}
	struct kr_req rq = { KR_OP_STORE, service, account, secret, len };
	return kr_run(&rq, timeout_ms, NULL, NULL, why, whylen);
}

enum kr_status kr_lookup(const char *service, const char *account, char **secret,
                         size_t *len, int timeout_ms, char *why, size_t whylen)
{
	size_t dummy;
	*secret = NULL;
	if (!len)
		len = &dummy;
	*len = 0;
	if (kr_bad_args(service, account, why, whylen))
		return KR_ERROR;
	struct kr_req rq = { KR_OP_LOOKUP, service, account, NULL, 0 };
	return kr_run(&rq, timeout_ms, secret, len, why, whylen);
}

enum kr_status kr_delete(const char *service, const char *account, int timeout_ms,
                         char *why, size_t whylen)
{
	if (kr_bad_args(service, account, why, whylen))
		return KR_ERROR;
	struct kr_req rq = { KR_OP_DELETE, service, account, NULL, 0 };
	return kr_run(&rq, timeout_ms, NULL, NULL, why, whylen);
}

#else /* !CFG_APCORE_KEYRING */

#define KR_DISABLED_MSG "keyring support was not compiled in (APCORE_KEYRING)"

enum kr_status kr_probe(int timeout_ms, char *why, size_t whylen)
{
	(void)timeout_ms;
	msgf(why, whylen, KR_DISABLED_MSG);
	return KR_DISABLED;
}

enum kr_status kr_store(const char *service, const char *account, const void *secret,
                        size_t len, int timeout_ms, char *why, size_t whylen)
{
	(void)service, (void)account, (void)secret, (void)len, (void)timeout_ms;
	msgf(why, whylen, KR_DISABLED_MSG);
	return KR_DISABLED;
}

enum kr_status kr_lookup(const char *service, const char *account, char **secret,
                         size_t *len, int timeout_ms, char *why, size_t whylen)
{
	(void)service, (void)account, (void)timeout_ms;
	*secret = NULL;
	if (len)
		*len = 0;
	msgf(why, whylen, KR_DISABLED_MSG);
	return KR_DISABLED;
}

enum kr_status kr_delete(const char *service, const char *account, int timeout_ms,
                         char *why, size_t whylen)
{
	(void)service, (void)account, (void)timeout_ms;
	msgf(why, whylen, KR_DISABLED_MSG);
	return KR_DISABLED;
}

#endif

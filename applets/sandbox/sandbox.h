/* sandbox.h - the pieces of apcore-sandbox shared between its files.
 *
 * Process model (see docs/sandbox.md):
 *
 *   supervisor (outside, the user's process)
 *     builds the policy, the environment and the mount plan, then clones
 *   init (PID 1 of new user/mount/pid/ipc/uts/cgroup/net namespaces)
 *     maps its uid, builds the view and pivots into it, starts
 *   command (PID 2, vfork()ed by init, like posix_spawn)
 *     setsid, drops every capability, no_new_privs, execs.
 *
 * The supervisor pumps the command's stdout/stderr (and module input) in one
 * poll loop, enforces the time and output limits and reports.  Init and the
 * command talk back over one pipe of fixed-size records (struct sbx_msg).
 * Everything the children need is prepared in the supervisor's memory before
 * the clone, so they only make system calls.
 */
#ifndef APCORE_SANDBOX_H
#define APCORE_SANDBOX_H

#include "apcore.h"

#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>

/* Exit codes of the applet (documented in its --help). */
enum {
	SBX_EX_OUTPUT = 123,   /* --max-output exceeded */
	SBX_EX_TIMEOUT = 124,  /* --timeout expired (timeout(1) uses 124 too) */
	SBX_EX_SETUP = 125,    /* setup failed, or a protection is unavailable */
};

#define SBX_DEFAULT_TIMEOUT_MS (300 * 1000)
#define SBX_DEFAULT_KILL_AFTER_MS (5 * 1000)
#define SBX_DEFAULT_MAX_OUTPUT (64ull << 20)
#define SBX_MAX_OUTPUT_LIMIT (1ull << 40)
#define SBX_MAX_SECONDS 31536000.0       /* one year */
#define SBX_HOSTNAME "apcore-sandbox"
#define SBX_TMP_PREFIX "apcore_sandbox_"
#define SBX_TEXT_LEN 244                 /* a message or layer detail */

/* ---------------------------------------------------------------- policy */

struct sbx_strv {
	char **v;
	size_t n;
};

enum sbx_net { SBX_NET_NONE, SBX_NET_LOOPBACK, SBX_NET_HOST };
enum sbx_seccomp_mode { SBX_SC_DENYLIST, SBX_SC_OFF, SBX_SC_ALLOWLIST };
enum sbx_seccomp_action { SBX_SA_ERRNO, SBX_SA_KILL, SBX_SA_LOG };

/* Everything a profile or the command line can set.  Paths are absolute
 * (made so against the current directory) but not yet resolved. */
struct sbx_policy {
	struct sbx_strv command;   /* argv after "--" (empty in module mode) */
	struct sbx_strv env;       /* --env NAME or NAME=VALUE, in order */
	struct sbx_strv ro, rw, tmpfs;
	struct sbx_strv runner;    /* module runner argv (ID is appended) */
	char *cwd;                 /* NULL: the private directory */
	char *module;              /* NULL: command mode */
	enum sbx_net net;
	int64_t timeout_ms;        /* 0: none */
	int64_t kill_after_ms;
	uint64_t max_output;       /* bytes per stream */
	int keep_tmp, dev_pts, sys, die_with_parent, best_effort;
	/* part 2: kernel confinement (see docs/sandbox-confinement.md) */
	int no_landlock;
	struct sbx_strv allow_connect, allow_bind;   /* TCP ports, as decimal text */
	enum sbx_seccomp_mode seccomp;
	enum sbx_seccomp_action seccomp_action;
	struct sbx_strv seccomp_allow, seccomp_deny; /* system-call names */
	/* rlimits, 0: not set (core dumps are always off) */
	uint64_t rl_as, rl_fsize, rl_nofile, rl_nproc;
	int64_t rl_cpu_ms;
	/* cgroup limits of the whole sandbox, 0: not set */
	uint64_t cg_memory, cg_pids;
	int64_t cg_cpu_milli;      /* CPU bandwidth in thousandths of a core */
	/* --require-signature */
	int require_signature;
	char *allowed_signers, *signature, *signer_identity, *signature_ns;
	struct sbx_strv secrets;   /* NAME=TOKEN (keyring:REF, enc:...): tokens, never values */
	struct sbx_strv secret_fds; /* NAME=TOKEN: the value on a descriptor, NAME=its number */
	/* --uid/--gid: the ids inside the user namespace (default: ours) */
	int have_uid, have_gid;
	uint32_t uid_in, gid_in;
};

void sbx_policy_init(struct sbx_policy *p);
void sbx_policy_free(struct sbx_policy *p);
void sbx_strv_push(struct sbx_strv *sv, const char *s);
void sbx_strv_free(struct sbx_strv *sv);
/* The effective policy as canonical JSON (sorted keys, compact); the same
 * schema a profile uses, so --explain output is a valid profile. */
void sbx_policy_json(const struct sbx_policy *p, struct strbuf *out);
/* SHA-256 of sbx_policy_json(), lower-case hex. */
void sbx_policy_digest(const struct sbx_policy *p, char hex[2 * SHA256_LEN + 1]);
/* Apply one profile file on top of p.  Dies (exit 2) with FILE:LINE on an
 * unknown key, a duplicate key or a value of the wrong type. */
void sbx_profile_apply(struct sbx_policy *p, const char *path);
/* Option value parsers shared by the command line and profiles: 0 or -1. */
int sbx_parse_seconds(const char *s, int64_t *ms);
int sbx_parse_bytes(const char *s, uint64_t *out);
int sbx_parse_net(const char *s, enum sbx_net *out);
const char *sbx_net_name(enum sbx_net n);
int sbx_parse_seccomp(const char *s, enum sbx_seccomp_mode *out);
int sbx_parse_seccomp_action(const char *s, enum sbx_seccomp_action *out);
const char *sbx_seccomp_name(enum sbx_seccomp_mode m);
const char *sbx_seccomp_action_name(enum sbx_seccomp_action a);
/* A TCP port 1-65535 in decimal: 0 or -1. */
int sbx_parse_port(const char *s, unsigned *port);
/* A uid or gid, 0 to 4294967294: 0 or -1. */
int sbx_parse_id(const char *s, uint32_t *id);
/* "2", "0.5", "1.25": milliseconds as seconds, the way they are written. */
void sbx_fmt_seconds(int64_t ms, char out[32]);
/* Absolute, lexically normalised copy of path (against the cwd). */
char *sbx_abspath(const char *path);
/* Split a runner command line at blanks (no quoting, no shell). */
void sbx_split_words(const char *s, struct sbx_strv *out);

/* ------------------------------------------------------------------- env */

/* Is NAME one that carries secrets (PASSPHRASE, SECRET, TOKEN, PASSWORD,
 * CREDENTIAL, a KEY word, ...)?  Case-insensitive. */
int sbx_env_name_secret(const char *name, size_t len);
/* The command's environment, built from nothing: see env.c.  NULL-terminated,
 * heap-allocated (free with sbx_strv_free on the returned vector). */
void sbx_env_build(const struct sbx_policy *p, char *const *host_env, const char *tmpdir,
                   struct sbx_strv *out);
/* $APCORE_EXTENSIONS_ROOT made absolute (heap), or NULL when unset. */
char *sbx_extensions_root(char *const *host_env);

/* ---------------------------------------------------------------- layers */

enum sbx_layer_id {
	SBX_L_USER, SBX_L_MOUNT, SBX_L_PID, SBX_L_IPC, SBX_L_UTS, SBX_L_CGROUPNS, SBX_L_NET,
	SBX_L_CAPS, SBX_L_NNP, SBX_L_SESSION, SBX_L_ENV, SBX_L_TIME, SBX_L_OUTPUT,
	/* part 2: kernel confinement */
	SBX_L_LANDLOCK, SBX_L_SECCOMP, SBX_L_RLIMIT, SBX_L_CGROUP,
	SBX_L_COUNT
};

enum sbx_state { SBX_OFF, SBX_WANTED, SBX_APPLIED, SBX_DEGRADED };

struct sbx_layer_def {
	const char *name;
	const char *what;          /* one line for messages and reports */
	unsigned long ns_flag;     /* CLONE_NEW* for namespace layers, else 0 */
	/* Can this kernel and user enforce it?  1 yes, 0 no (why says why). */
	int (*probe)(char *why, size_t whylen);
};

extern const struct sbx_layer_def sbx_layers[SBX_L_COUNT];

struct sbx_layer_state {
	enum sbx_state state;
	char detail[SBX_TEXT_LEN];
};

/* --probe: what this kernel and user can enforce, as JSON on stdout. */
int sbx_probe_main(void);
/* unshare(flags) in a throw-away child: 0 or its errno. */
int sbx_probe_ns(unsigned long flags);
int sbx_landlock_abi(void);

/* ---------------------------------------------------- kernel confinement */

/* Applied by the command just before exec, after capabilities and
 * no_new_privs, in this order: Landlock, seccomp, rlimits (last: the
 * Landlock rules take a descriptor each and must not meet --rlimit-nofile;
 * setrlimit stays allowed by the deny-list).  Each
 * returns 0 (detail: remarks, or empty), or -1 with the reason in why. */
struct sbx_run;
int sbx_rlimit_apply(const struct sbx_policy *p, char *detail, size_t len);
int sbx_landlock_apply(const struct sbx_run *r, char *detail, size_t len);
int sbx_seccomp_apply(const struct sbx_run *r, char *detail, size_t len);
/* The filters, compiled by the supervisor before the clone (libseccomp's
 * generator runs once, outside; the command only loads the programs): the
 * deny-list, and in allow-list mode the allow-list after it.  A
 * compilation failure is kept in why and reported by sbx_seccomp_apply(),
 * so the layer fails (or degrades) where it always did. */
struct sbx_seccomp {
	void *prog[2];             /* struct sock_filter[len[i]], loaded in order */
	size_t len[2];
	size_t n;
	int owned;                 /* prog[] are malloc'ed (else: the build's own) */
	int listener;              /* the program whose refusals notify, or -1 */
	int failed;
	char why[SBX_TEXT_LEN - 8];
	/* Already under a seccomp filter (a container): the same programs
	 * without notifications, for when the kernel refuses a second
	 * listener (EBUSY); else NULL. */
	struct sbx_seccomp *plain;
};
void sbx_seccomp_prepare(const struct sbx_policy *p, struct sbx_seccomp *out);
void sbx_seccomp_free(struct sbx_seccomp *sc);
/* seccomp-build.c: the programs for p (malloc'ed), refusals notifying
 * when notify (see sbx_seccomp_notify_wanted): 0, or -1 with out->failed
 * and out->why. */
int sbx_seccomp_compile(const struct sbx_policy *p, int notify, struct sbx_seccomp *out);
/* Count denials?  (action errno, and the kernel and libseccomp have user
 * notifications.)  Then the supervisor passes a socket for the filter's
 * listener (r->notify_w) and answers each notification with
 * sbx_seccomp_errno(), which also names the call. */
int sbx_seccomp_notify_wanted(const struct sbx_policy *p);
int sbx_seccomp_errno(const struct sbx_policy *p, int nr, char *name, size_t len);
/* Is NAME a system call libseccomp knows on this architecture?  (Always 1
 * when seccomp is compiled out: the layer refuses to run then anyway.) */
int sbx_seccomp_known(const char *name);
/* --require-signature: read the command file once, verify its detached
 * signature over those bytes and put them in a sealed memfd (r->exec_fd)
 * that the command executes.  0, or -1 with why. */
int sbx_signature_check(struct sbx_run *r, char *why, size_t whylen);
/* --secret and --secret-fd: resolve every NAME=TOKEN (libcommon
 * sec_resolve).  --secret adds NAME=value to the command's environment
 * (replacing an entry of that name); the values live in secure memory only
 * and are recorded in *held for sbx_secrets_wipe(), which takes them out of
 * the vector again and wipes them once the command has its copy.
 * --secret-fd puts the value in a sealed memfd that the command inherits
 * as descriptor 3, 4, ... in order (r->secret_fd) and sets NAME to that
 * number.  0, or -1 with why (which names the secret, never its value). */
struct sbx_secrets {
	char **v;
	size_t n;
};
int sbx_secrets_inject(struct sbx_run *r, struct sbx_secrets *held, char *why, size_t whylen);
void sbx_secrets_wipe(struct sbx_run *r, struct sbx_secrets *held);
/* No name twice, not too many descriptors: 0, or -1 with why. */
int sbx_secrets_check(const struct sbx_policy *p, char *why, size_t whylen);
#define SBX_MAX_SECRET_FDS 64
/* Is spec NAME=TOKEN with a valid environment name and a token? */
int sbx_secret_spec_ok(const char *spec);
/* Does the policy restrict TCP ports (--allow-connect/--allow-bind)? */
static inline int sbx_tcp_restricted(const struct sbx_policy *p)
{
	return p->allow_connect.n || p->allow_bind.n;
}

struct sbx_cgroup {
	int v2;
	char *dir[3];              /* v2: [0]; v1: memory, pids, cpu */
	char what[8];
	long long oom_kills, pids_max_hits;   /* -1: unknown */
};
int sbx_cgroup_wanted(const struct sbx_policy *p);
/* Create the run's cgroup(s) with the limits: 0, or -1 with why (nothing
 * left behind). */
int sbx_cgroup_create(const struct sbx_policy *p, struct sbx_cgroup *cg, char *why, size_t whylen);
int sbx_cgroup_attach(struct sbx_cgroup *cg, pid_t pid, char *why, size_t whylen);
/* Read OOM kills and refused forks; then remove the cgroup(s). */
void sbx_cgroup_collect(struct sbx_cgroup *cg);
void sbx_cgroup_remove(struct sbx_cgroup *cg);

/* -------------------------------------------------------------- the plan */

enum sbx_mnt_kind {
	SBX_M_BIND_RO,     /* recursive bind, then read-only, nosuid, nodev */
	SBX_M_BIND_RW,     /* recursive bind, nosuid, nodev */
	SBX_M_BIND_DEV,    /* a device node (bound: mknod is not allowed) */
	SBX_M_TMPFS,
	SBX_M_SYMLINK,     /* src is the link text */
	SBX_M_FILE,        /* data/len is the content (copied, read-only) */
	SBX_M_DIR,
	SBX_M_DEVPTS,
	SBX_M_PROC,
};

struct sbx_mnt {
	enum sbx_mnt_kind kind;
	char *src;         /* host path (binds), link text (symlinks) */
	char *dst;         /* absolute path in the view */
	char *data;
	size_t len;
	int src_is_dir;
	int pin;           /* a caller's path: resolve it without symlinks */
	int user;          /* asked for by the caller (--ro, --rw, --tmpfs) */
};

struct sbx_plan {
	struct sbx_mnt *m;
	size_t n;
};

/* Build the mount plan for the policy.  Dies with exit 125 when a path the
 * user asked for does not exist (before anything was created, so nothing
 * is left behind).  extroot: module extensions root or NULL.  Then
 * sbx_plan_identity() adds /etc/passwd and /etc/group, whose home is the
 * private directory. */
void sbx_plan_build(struct sbx_plan *plan, const struct sbx_policy *p, const char *extroot);
void sbx_plan_identity(struct sbx_plan *plan, const char *tmpdir, const struct sbx_policy *p);
void sbx_plan_free(struct sbx_plan *plan);
/* In init: build the view described by plan over the private directory
 * tmpdir and pivot into it; /proc only with_proc (a PID namespace of our
 * own).  0; -1 when the view cannot be built (the mount layer failed);
 * -2 when one of the caller's paths cannot be set up.  why says why. */
int sbx_view_enter(const struct sbx_plan *plan, const char *tmpdir, int with_proc, char *why,
                   size_t whylen);

/* Private directory: mkdtemp under $TMPDIR (or /tmp); removal of a tree
 * without following symlinks, fixing permissions the command may have
 * taken away.  0 or -1/errno. */
char *sbx_tmpdir_create(void);
int sbx_tmpdir_remove(const char *path);

/* ------------------------------------------------------------------ run */

/* Records from init and the command to the supervisor: one write each,
 * smaller than PIPE_BUF, so they never interleave. */
enum sbx_msg_type {
	SBX_MSG_LAYER = 1,    /* a = layer id, b = state, text = detail */
	SBX_MSG_FAIL,         /* setup failed: text */
	SBX_MSG_READY,        /* the command was forked, signals can be forwarded;
	                       * b = mask of the layers init applied */
	SBX_MSG_APPLIED,      /* b = mask of the layers the command applied */
	SBX_MSG_EXEC_FAIL,    /* a = errno of execvp */
	SBX_MSG_EXIT,         /* a = the command's wait status, text = the
	                       * struct rusage of everything init reaped */
};

struct sbx_msg {
	int32_t type;
	int32_t a, b;
	char text[SBX_TEXT_LEN];
};

struct sbx_run {
	struct sbx_policy *pol;
	char *tmpdir;             /* the private directory (same path inside) */
	char *cwd;                /* where the command starts, in the view */
	struct sbx_strv argv;     /* what is executed */
	struct sbx_strv envp;
	struct sbx_plan plan;
	unsigned long ns_flags;   /* namespaces the sandbox gets (requested from clone,
	                           * but the network namespace when net_late) */
	/* With a user namespace, the network namespace (the costly one, ~0.5 ms)
	 * is created off the critical path: a helper the supervisor forks after
	 * the clone joins init's user namespace, unshares a network namespace
	 * and passes it over net_sk, while init builds the view; init enters it
	 * (or, should the helper fail, unshares one itself) before loopback and
	 * the command. */
	int net_late;
	int net_sk;               /* init's end; -1 */
	uid_t uid;                /* ours, mapped to uid_in (default: itself) */
	gid_t gid;
	uid_t uid_in;
	gid_t gid_in;
	struct sbx_layer_state layer[SBX_L_COUNT];
	struct sbx_cgroup cg;     /* when the cgroup layer is wanted */
	struct sbx_seccomp seccomp; /* the compiled filter (seccomp layer wanted) */
	int exec_fd;              /* --require-signature: the verified bytes (sealed memfd), or -1 */
	int *secret_fd;           /* --secret-fd: the sealed memfds, the command's 3, 4, ... */
	size_t n_secret_fd;
	char signer[64];          /* ... and the fingerprint of the key that signed them */
	int module_mode;
	/* in init and in the command: layers applied without remarks, sent
	 * as one mask (every record wakes the supervisor) */
	unsigned applied_mask;

	/* file descriptors the children use (the supervisor's ends are below) */
	int msg_w;                /* records to the supervisor */
	int notify_w;             /* the seccomp listener goes here, or -1 */
	int life_r;               /* EOF when the supervisor is gone */
	int cmd_in, cmd_out, cmd_err; /* the command's 0/1/2 (-1: inherit) */

	/* the supervisor's, between sbx_run() and sbx_run_end() */
	pid_t init_pid;
	int init_reaped;
	int sigfd, life_w;
	sigset_t oldmask;
};

enum { SBX_LIMIT_NONE, SBX_LIMIT_TIMEOUT, SBX_LIMIT_STDOUT, SBX_LIMIT_STDERR };

/* The supervisor's view of the run. */
struct sbx_result {
	int have_exit;            /* got SBX_MSG_EXIT */
	int status;               /* the command's wait status */
	int exec_errno;
	int setup_failed;
	char setup_msg[SBX_TEXT_LEN];
	int timed_out;
	int out_limit[2];         /* stdout, stderr */
	int first_limit;          /* SBX_LIMIT_*: the one that ended the run */
	int parent_died;          /* --die-with-parent fired */
	int init_status;
	struct rusage ru;         /* everything init reaped (its children's) */
	long self_maxrss_kb;      /* the supervisor's own peak */
	int64_t wall_ms;
	uint64_t bytes[3];        /* stdout, stderr, stdin */
	int exit_code;            /* what the applet exits with */
	/* system calls seccomp refused (counted by notification) */
	struct sbx_denied {
		char name[32];
		uint64_t count;
	} denied[32];
	size_t n_denied;
	uint64_t denied_other;    /* of calls beyond the 32 names */
	int denials_counted;      /* the supervisor got the filter's listener */
	struct strbuf out_cap;    /* module mode: captured stdout */
	struct strbuf err_cap;    /* module mode: captured stderr */
};

/* Clone init with the requested namespaces (fail closed / best effort as
 * the policy says) and supervise until every process of the sandbox is
 * gone.  Fills res; -1 when it refused to start (res->setup_msg).  Then
 * sbx_run_end() reaps init if it is done tearing its namespaces down (it
 * does not wait for that: nothing of the sandbox runs any more) and
 * restores the signal mask. */
int sbx_run(struct sbx_run *r, int input_fd, struct sbx_result *res);
void sbx_run_end(struct sbx_run *r, struct sbx_result *res);
/* The body of init (in the child of the clone); never returns. */
NORETURN void sbx_init_main(struct sbx_run *r);
/* Send a record (from init or the command).  Errors are ignored: the
 * supervisor treats a missing record as a failure. */
void sbx_msg_send(int fd, int type, int a, int b, const char *fmt, ...) PRINTF(5, 6);

/* --------------------------------------------------------------- module */

/* The runner argv for module ID (default runner or --runner + ID). */
void sbx_module_argv(const struct sbx_policy *p, struct sbx_strv *out);
/* Turn a finished module run into the reference's messages: prints the
 * JSON on success; returns the exit code (0 or 1). */
int sbx_module_finish(const struct sbx_policy *p, struct sbx_result *res);

/* --------------------------------------------------------------- report */

/* The JSON run report. */
void sbx_report_json(const struct sbx_run *r, const struct sbx_result *res, struct strbuf *out);
int sbx_report_write(const char *path, const struct strbuf *json);
/* The audit hook (libcommon/auditlog.c): open the log (path NULL: its
 * default) and check it can take a record, before the run; append the
 * run's record after it.  0, or -1 with a reason in why. */
struct audit_log;
int sbx_audit_open(const char *path, struct audit_log **out, char *why, size_t whylen);
int sbx_audit_record(struct audit_log *l, const struct sbx_run *r, const struct sbx_result *res,
                     char *why, size_t whylen);
void sbx_audit_close(struct audit_log *l);

#endif

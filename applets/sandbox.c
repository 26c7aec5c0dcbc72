/* apcore-sandbox - confined execution.
 *
 * This file is the command line: options and profiles make a policy, the
 * policy makes a run (environment, mount plan, namespaces), the run's
 * result makes the exit status.  The mechanics live in applets/sandbox/:
 * policy.c (profiles, --explain), env.c, layers.c (layer table, --probe),
 * fs.c (the view), run.c (supervisor), init.c (PID 1 and the command),
 * module.c (runner protocol), report.c (--report, --audit); kernel
 * confinement (docs/sandbox-confinement.md): landlock.c, seccomp.c,
 * rlimit.c, cgroup.c, sign.c (--require-signature), secret.c (--secret).
 */
//applet:APPLET(sandbox, APCORE_SANDBOX, APPLET_PLAIN, "run a command or module under kernel confinement")
//config:config APCORE_SANDBOX
//config:	bool "apcore-sandbox: confined execution"
//config:	default y
//config:	help
//config:	  usage: apcore-sandbox [OPTIONS] -- COMMAND [ARGS...]
//config:	         apcore-sandbox [OPTIONS] --module ID [--runner CMD] [--input FILE]
//config:	         apcore-sandbox --probe | --explain [OPTIONS] [-- COMMAND...]
//config:
//config:	  Run COMMAND confined and exit with its status.  It runs in new user,
//config:	  mount, PID, IPC, UTS, cgroup and network namespaces, over a private
//config:	  read-only root (/usr, /bin, /lib*, /sbin, a few /etc files, a minimal
//config:	  /dev, /proc of its own), without capabilities, with no_new_privs, in
//config:	  a new session, with an environment built from an allow-list (PATH,
//config:	  LANG, LC_ALL, APCORE_* minus APCORE_AUTH_* and every secret-looking
//config:	  name), and with HOME, TMPDIR and the working directory in a fresh
//config:	  private directory that is removed afterwards.  Works as root and
//config:	  unprivileged (user namespaces); needs no setuid.  Nothing runs if a
//config:	  protection cannot be applied, unless --best-effort.
//config:
//config:	  View (paths appear at their resolved host path):
//config:	    --ro PATH           show PATH read-only (repeatable)
//config:	    --rw PATH           show PATH writable (repeatable)
//config:	    --tmpfs PATH        an empty tmpfs at PATH (repeatable)
//config:	    --dev-pts           a private /dev/pts for pseudo-terminals
//config:	    --sys               /sys, read-only
//config:	    --cwd DIR           start in DIR of the view (relative: to the
//config:	                        private directory)
//config:	    --keep-tmp          keep the private directory (path on stderr)
//config:	    --uid N, --gid N    the ids the command has inside (default: the
//config:	                        caller's); uid 0 inside is still without
//config:	                        capabilities
//config:	  Environment:
//config:	    --env NAME          pass NAME from this environment (repeatable)
//config:	    --env NAME=VALUE    set NAME
//config:	  Network:
//config:	    --net none          no network: loopback only, and down (default)
//config:	    --net loopback      loopback up: 127.0.0.1 works
//config:	    --net host          the host's network (an explicit opt-out)
//config:	  Limits:
//config:	    --timeout S         SIGTERM to every process after S seconds
//config:	                        (default 300; 0: no limit)
//config:	    --kill-after S      then SIGKILL after S more seconds (default 5)
//config:	    --max-output N      at most N bytes per output stream, K/M/G
//config:	                        allowed (default 64M); more kills the sandbox
//config:	    --die-with-parent   kill the sandbox (and clean up) when the process
//config:	                        that started apcore-sandbox dies
//config:	  Kernel confinement (docs/sandbox-confinement.md):
//config:	    --no-landlock       no Landlock rules (on by default: the command
//config:	                        may only read, write and execute what the
//config:	                        view shows it; abstract UNIX sockets and
//config:	                        signals stay inside the sandbox)
//config:	    --allow-connect PORT  TCP connect only to the listed ports
//config:	    --allow-bind PORT   TCP bind only to the listed ports (either
//config:	                        one turns on the TCP rules; then IPv4/IPv6
//config:	                        sockets other than plain TCP are refused)
//config:	    --seccomp MODE      denylist (default), allowlist (only the calls
//config:	                        ordinary programs make, on top of the
//config:	                        deny-list) or off
//config:	    --seccomp-action A  errno (EPERM, default), kill or log
//config:	    --seccomp-allow SYSCALL  take SYSCALL off the deny-list (and
//config:	                        add it to the allow-list)
//config:	    --seccomp-deny SYSCALL   deny SYSCALL too (repeatable)
//config:	    --rlimit-as N       address space, bytes (K/M/G)
//config:	    --rlimit-fsize N    largest file written, bytes (K/M/G)
//config:	    --rlimit-nofile N   open file descriptors
//config:	    --rlimit-nproc N    processes of the user (not for uid 0)
//config:	    --rlimit-cpu S      CPU seconds (SIGXCPU, then SIGKILL)
//config:	                        Core dumps are always off.
//config:	    --memory N          memory of the whole sandbox, bytes (K/M/G);
//config:	                        an OOM kill is reported
//config:	    --pids N            processes of the whole sandbox
//config:	    --cpu CORES         CPU bandwidth, e.g. 0.5
//config:	                        (cgroups v2, or v1 memory/pids/cpu: needs
//config:	                        root or a delegated cgroup)
//config:	  Signed commands:
//config:	    --require-signature run COMMAND only if its file has a valid
//config:	                        detached SSH signature (ssh-keygen -Y sign
//config:	                        or apcore-auth sign); the verified bytes
//config:	                        are what runs (sealed copy, no TOCTOU)
//config:	    --allowed-signers FILE  ssh-keygen allowed-signers file (required)
//config:	    --signer-identity ID    principal to verify as (required)
//config:	    --signature FILE    the signature (default: COMMAND's file + .sig)
//config:	    --signature-namespace NS  (default: apcore-sandbox)
//config:	  Secrets:
//config:	    --secret NAME=TOKEN decrypt TOKEN (keyring:REF, enc:v2:..., enc:v3:...
//config:	                        bound to key NAME) and give the value to
//config:	                        COMMAND only, as environment variable NAME;
//config:	                        never in reports or the audit log
//config:	    --secret-fd NAME=TOKEN  the same, but the value is in a sealed
//config:	                        in-memory file open as descriptor 3, 4, ...
//config:	                        (in order) and NAME holds its number:
//config:	                        read it as /dev/fd/$NAME
//config:	  Modules (the apcore-cli runner protocol):
//config:	    --module ID         run module ID: JSON input on stdin, JSON
//config:	                        answer on stdout, reference error messages
//config:	    --runner CMD        runner command, split at blanks, ID appended
//config:	                        (default: python3 -m apcore_cli._sandbox_runner)
//config:	    --input FILE        read the module input from FILE, not stdin
//config:	  Policy and reports:
//config:	    --profile FILE      JSON profile (keys as --explain prints them);
//config:	                        repeatable, later profiles and the command
//config:	                        line compose on top
//config:	    --best-effort       run even when a protection cannot be applied;
//config:	                        the report lists each degraded layer
//config:	    --explain           print the effective policy as JSON, run nothing
//config:	    --probe             print what this kernel and user can enforce
//config:	    --report FILE|-     write a JSON run report ('-': stdout, last)
//config:	    --audit [FILE]      append the run to the audit log (default:
//config:	                        $APCORE_AUDIT_FILE or ~/.apcore-cli/audit.jsonl);
//config:	                        nothing runs if the log cannot take it
//config:
//config:	  Exit status:
//config:	    N       COMMAND's own exit status
//config:	    128+N   COMMAND was killed by signal N
//config:	    123     an output stream went over --max-output
//config:	    124     --timeout expired
//config:	    125     set-up failed, a protection is unavailable (fail closed),
//config:	            or --audit could not record the run
//config:	    126     COMMAND cannot be executed
//config:	    127     COMMAND was not found in the sandbox
//config:	    77      --require-signature: the signature does not verify
//config:	    47      --secret: a token cannot be decrypted
//config:	    2       usage error (bad option or profile)
//config:	    1       --module: any module failure (timeout, output size, exit
//config:	            status, non-JSON answer), with the reference's message
//config:
//config:config APCORE_SANDBOX_SECCOMP
//config:	bool "seccomp filters (libseccomp)"
//config:	default y
//config:	depends on APCORE_SANDBOX
//config:	help
//config:	  Build the sandbox's seccomp-bpf filters with libseccomp.

#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Scalar options given on the command line (each at most once). */
enum {
	SET_TIMEOUT = 1 << 0, SET_KILL_AFTER = 1 << 1, SET_MAX_OUTPUT = 1 << 2, SET_NET = 1 << 3,
	SET_CWD = 1 << 4, SET_MODULE = 1 << 5, SET_RUNNER = 1 << 6, SET_KEEP_TMP = 1 << 7,
	SET_DEV_PTS = 1 << 8, SET_SYS = 1 << 9, SET_DIE_WITH_PARENT = 1 << 10,
	SET_BEST_EFFORT = 1 << 11, SET_COMMAND = 1 << 12, SET_NO_LANDLOCK = 1 << 13,
	SET_SECCOMP = 1 << 14, SET_SECCOMP_ACTION = 1 << 15, SET_RL_AS = 1 << 16,
	SET_RL_CPU = 1 << 17, SET_RL_FSIZE = 1 << 18, SET_RL_NOFILE = 1 << 19,
	SET_RL_NPROC = 1 << 20, SET_MEMORY = 1 << 21, SET_PIDS = 1 << 22, SET_CPU = 1 << 23,
	SET_REQ_SIG = 1 << 24, SET_SIGNERS = 1 << 25, SET_SIG = 1 << 26, SET_SIG_ID = 1 << 27,
	SET_SIG_NS = 1 << 28, SET_UID = 1 << 29, SET_GID = 1 << 30,
};

struct opts {
	struct sbx_policy cli;
	unsigned set;
	struct sbx_strv profiles;
	const char *report, *input, *audit;
	int explain, probe, audit_wanted;
};

enum {
	O_ENV = 256, O_KEEP_TMP, O_CWD, O_RO, O_RW, O_TMPFS, O_DEV_PTS, O_SYS, O_NET, O_TIMEOUT,
	O_KILL_AFTER, O_MAX_OUTPUT, O_DIE_WITH_PARENT, O_MODULE, O_RUNNER, O_INPUT, O_PROFILE,
	O_EXPLAIN, O_PROBE, O_BEST_EFFORT, O_REPORT, O_AUDIT, O_NO_LANDLOCK, O_ALLOW_CONNECT,
	O_ALLOW_BIND, O_SECCOMP, O_SECCOMP_ACTION, O_SECCOMP_ALLOW, O_SECCOMP_DENY, O_RL_AS,
	O_RL_CPU, O_RL_FSIZE, O_RL_NOFILE, O_RL_NPROC, O_MEMORY, O_PIDS, O_CPU, O_REQ_SIG,
	O_SIGNERS, O_SIG, O_SIG_ID, O_SIG_NS, O_SECRET, O_SECRET_FD, O_UID, O_GID,
};

static const struct option longopts[] = {
	{ "env", required_argument, NULL, O_ENV },
	{ "keep-tmp", no_argument, NULL, O_KEEP_TMP },
	{ "cwd", required_argument, NULL, O_CWD },
	{ "ro", required_argument, NULL, O_RO },
	{ "rw", required_argument, NULL, O_RW },
	{ "tmpfs", required_argument, NULL, O_TMPFS },
	{ "dev-pts", no_argument, NULL, O_DEV_PTS },
	{ "sys", no_argument, NULL, O_SYS },
	{ "net", required_argument, NULL, O_NET },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "kill-after", required_argument, NULL, O_KILL_AFTER },
	{ "max-output", required_argument, NULL, O_MAX_OUTPUT },
	{ "die-with-parent", no_argument, NULL, O_DIE_WITH_PARENT },
	{ "module", required_argument, NULL, O_MODULE },
	{ "runner", required_argument, NULL, O_RUNNER },
	{ "input", required_argument, NULL, O_INPUT },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "explain", no_argument, NULL, O_EXPLAIN },
	{ "probe", no_argument, NULL, O_PROBE },
	{ "best-effort", no_argument, NULL, O_BEST_EFFORT },
	{ "report", required_argument, NULL, O_REPORT },
	{ "audit", optional_argument, NULL, O_AUDIT },
	{ "no-landlock", no_argument, NULL, O_NO_LANDLOCK },
	{ "allow-connect", required_argument, NULL, O_ALLOW_CONNECT },
	{ "allow-bind", required_argument, NULL, O_ALLOW_BIND },
	{ "seccomp", required_argument, NULL, O_SECCOMP },
	{ "seccomp-action", required_argument, NULL, O_SECCOMP_ACTION },
	{ "seccomp-allow", required_argument, NULL, O_SECCOMP_ALLOW },
	{ "seccomp-deny", required_argument, NULL, O_SECCOMP_DENY },
	{ "rlimit-as", required_argument, NULL, O_RL_AS },
	{ "rlimit-cpu", required_argument, NULL, O_RL_CPU },
	{ "rlimit-fsize", required_argument, NULL, O_RL_FSIZE },
	{ "rlimit-nofile", required_argument, NULL, O_RL_NOFILE },
	{ "rlimit-nproc", required_argument, NULL, O_RL_NPROC },
	{ "memory", required_argument, NULL, O_MEMORY },
	{ "pids", required_argument, NULL, O_PIDS },
	{ "cpu", required_argument, NULL, O_CPU },
	{ "require-signature", no_argument, NULL, O_REQ_SIG },
	{ "allowed-signers", required_argument, NULL, O_SIGNERS },
	{ "signature", required_argument, NULL, O_SIG },
	{ "signer-identity", required_argument, NULL, O_SIG_ID },
	{ "signature-namespace", required_argument, NULL, O_SIG_NS },
	{ "secret", required_argument, NULL, O_SECRET },
	{ "secret-fd", required_argument, NULL, O_SECRET_FD },
	{ "uid", required_argument, NULL, O_UID },
	{ "gid", required_argument, NULL, O_GID },
	{ NULL, 0, NULL, 0 },
};

static const char *optname(int opt)
{
	for (const struct option *o = longopts; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

/* Security options may not be given twice: the second would silently win. */
static void once(struct opts *o, unsigned bit, int opt)
{
	if (o->set & bit)
		die_usage("--%s given twice", optname(opt));
	o->set |= bit;
}

static void once_ptr(const char **slot, const char *val, int opt)
{
	if (*slot)
		die_usage("--%s given twice", optname(opt));
	*slot = val;
}

static void parse_value_opt(struct opts *o, int opt, const char *arg)
{
	struct sbx_policy *p = &o->cli;
	switch (opt) {
	case O_TIMEOUT:
	case O_KILL_AFTER:
		once(o, opt == O_TIMEOUT ? SET_TIMEOUT : SET_KILL_AFTER, opt);
		if (sbx_parse_seconds(arg, opt == O_TIMEOUT ? &p->timeout_ms : &p->kill_after_ms))
			die_usage("invalid --%s '%s' (seconds, e.g. 30 or 0.5)", optname(opt), arg);
		break;
	case O_MAX_OUTPUT:
		once(o, SET_MAX_OUTPUT, opt);
		if (sbx_parse_bytes(arg, &p->max_output))
			die_usage("invalid --max-output '%s' (bytes, 1 to 1T, e.g. 65536 or 64M)", arg);
		break;
	case O_NET:
		once(o, SET_NET, opt);
		if (sbx_parse_net(arg, &p->net))
			die_usage("invalid --net '%s' (none, loopback or host)", arg);
		break;
	case O_CWD:
		once(o, SET_CWD, opt);
		if (!*arg)
			die_usage("empty --cwd");
		p->cwd = xstrdup(arg);
		break;
	case O_MODULE:
		once(o, SET_MODULE, opt);
		if (!*arg)
			die_usage("empty --module");
		p->module = xstrdup(arg);
		break;
	case O_RUNNER:
		once(o, SET_RUNNER, opt);
		sbx_split_words(arg, &p->runner);
		if (!p->runner.n)
			die_usage("empty --runner");
		break;
	case O_ALLOW_CONNECT:
	case O_ALLOW_BIND: {
		unsigned port;
		char buf[16];
		if (sbx_parse_port(arg, &port))
			die_usage("invalid --%s '%s' (a TCP port, 1-65535)", optname(opt), arg);
		snprintf(buf, sizeof(buf), "%u", port);
		sbx_strv_push(opt == O_ALLOW_CONNECT ? &p->allow_connect : &p->allow_bind, buf);
		break;
	}
	case O_SECCOMP:
		once(o, SET_SECCOMP, opt);
		if (sbx_parse_seccomp(arg, &p->seccomp))
			die_usage("invalid --seccomp '%s' (denylist, allowlist or off)", arg);
		break;
	case O_SECCOMP_ACTION:
		once(o, SET_SECCOMP_ACTION, opt);
		if (sbx_parse_seccomp_action(arg, &p->seccomp_action))
			die_usage("invalid --seccomp-action '%s' (errno, kill or log)", arg);
		break;
	case O_SECCOMP_ALLOW:
	case O_SECCOMP_DENY:
		if (!sbx_seccomp_known(arg))
			die_usage("--%s: unknown system call '%s'", optname(opt), arg);
		sbx_strv_push(opt == O_SECCOMP_ALLOW ? &p->seccomp_allow : &p->seccomp_deny, arg);
		break;
	case O_RL_AS:
	case O_RL_FSIZE:
	case O_RL_NOFILE:
	case O_RL_NPROC: {
		unsigned bit = opt == O_RL_AS ? SET_RL_AS : opt == O_RL_FSIZE ? SET_RL_FSIZE
		               : opt == O_RL_NOFILE ? SET_RL_NOFILE : SET_RL_NPROC;
		uint64_t *f = opt == O_RL_AS ? &p->rl_as : opt == O_RL_FSIZE ? &p->rl_fsize
		              : opt == O_RL_NOFILE ? &p->rl_nofile : &p->rl_nproc;
		once(o, bit, opt);
		if (sbx_parse_bytes(arg, f))
			die_usage("invalid --%s '%s' (a count, 1 to 1T, K/M/G allowed)", optname(opt), arg);
		break;
	}
	case O_SIGNERS:
	case O_SIG:
	case O_SIG_ID:
	case O_SIG_NS: {
		unsigned bit = opt == O_SIGNERS ? SET_SIGNERS : opt == O_SIG ? SET_SIG
		               : opt == O_SIG_ID ? SET_SIG_ID : SET_SIG_NS;
		char **f = opt == O_SIGNERS ? &p->allowed_signers : opt == O_SIG ? &p->signature
		           : opt == O_SIG_ID ? &p->signer_identity : &p->signature_ns;
		once(o, bit, opt);
		if (!*arg)
			die_usage("empty --%s", optname(opt));
		*f = opt == O_SIGNERS || opt == O_SIG ? sbx_abspath(arg) : xstrdup(arg);
		break;
	}
	case O_UID:
	case O_GID:
		once(o, opt == O_UID ? SET_UID : SET_GID, opt);
		if (sbx_parse_id(arg, opt == O_UID ? &p->uid_in : &p->gid_in))
			die_usage("invalid --%s '%s' (a number, 0 to 4294967294)", optname(opt), arg);
		*(opt == O_UID ? &p->have_uid : &p->have_gid) = 1;
		break;
	case O_SECRET:
	case O_SECRET_FD:
		/* the token only: a value never comes through argv */
		if (!sbx_secret_spec_ok(arg))
			die_usage("invalid --%s (NAME=keyring:REF or NAME=enc:...)", optname(opt));
		sbx_strv_push(opt == O_SECRET ? &p->secrets : &p->secret_fds, arg);
		break;
	case O_MEMORY:
	case O_PIDS:
		once(o, opt == O_MEMORY ? SET_MEMORY : SET_PIDS, opt);
		if (sbx_parse_bytes(arg, opt == O_MEMORY ? &p->cg_memory : &p->cg_pids))
			die_usage("invalid --%s '%s' (a count, 1 to 1T, K/M/G allowed)", optname(opt), arg);
		break;
	case O_CPU:
		once(o, SET_CPU, opt);
		/* cores, with the seconds parser's precision: thousandths */
		if (sbx_parse_seconds(arg, &p->cg_cpu_milli) || !p->cg_cpu_milli)
			die_usage("invalid --cpu '%s' (CPU cores, e.g. 0.5 or 2)", arg);
		break;
	case O_RL_CPU:
		once(o, SET_RL_CPU, opt);
		if (sbx_parse_seconds(arg, &p->rl_cpu_ms) || !p->rl_cpu_ms)
			die_usage("invalid --rlimit-cpu '%s' (seconds of CPU time, > 0)", arg);
		break;
	case O_ENV:
		if (!*arg || *arg == '=')
			die_usage("invalid --env '%s' (NAME or NAME=VALUE)", arg);
		sbx_strv_push(&p->env, arg);
		break;
	case O_RO:
	case O_RW:
	case O_TMPFS: {
		if (!*arg)
			die_usage("empty --%s", optname(opt));
		char *abs = sbx_abspath(arg);
		sbx_strv_push(opt == O_RO ? &p->ro : opt == O_RW ? &p->rw : &p->tmpfs, abs);
		free(abs);
		break;
	}
	}
}

static void parse_flag_opt(struct opts *o, int opt)
{
	struct sbx_policy *p = &o->cli;
	switch (opt) {
	case O_KEEP_TMP: once(o, SET_KEEP_TMP, opt); p->keep_tmp = 1; break;
	case O_DEV_PTS: once(o, SET_DEV_PTS, opt); p->dev_pts = 1; break;
	case O_SYS: once(o, SET_SYS, opt); p->sys = 1; break;
	case O_DIE_WITH_PARENT: once(o, SET_DIE_WITH_PARENT, opt); p->die_with_parent = 1; break;
	case O_BEST_EFFORT: once(o, SET_BEST_EFFORT, opt); p->best_effort = 1; break;
	case O_NO_LANDLOCK: once(o, SET_NO_LANDLOCK, opt); p->no_landlock = 1; break;
	case O_REQ_SIG: once(o, SET_REQ_SIG, opt); p->require_signature = 1; break;
	case O_EXPLAIN: o->explain = 1; break;
	case O_PROBE: o->probe = 1; break;
	}
}

static void parse_args(struct opts *o, int argc, char **argv)
{
	const char *last_arg = NULL;
	int opt;

	sbx_policy_init(&o->cli);
	while ((opt = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		last_arg = optarg;
		switch (opt) {
		case O_PROFILE: sbx_strv_push(&o->profiles, optarg); break;
		case O_REPORT: once_ptr(&o->report, optarg, opt); break;
		case O_INPUT: once_ptr(&o->input, optarg, opt); break;
		case O_AUDIT:
			if (o->audit_wanted)
				die_usage("--audit given twice");
			o->audit_wanted = 1;
			o->audit = optarg;
			/* "--audit FILE": COMMAND only ever follows "--", so a word
			 * that is not an option can only be the log */
			if (!optarg && optind < argc && argv[optind][0] != '-')
				o->audit = argv[optind++];
			last_arg = o->audit;
			break;
		case '?': xexit(APC_EX_USAGE);  /* getopt said what was wrong */
		default:
			if (opt == O_KEEP_TMP || opt == O_DEV_PTS || opt == O_SYS ||
			    opt == O_DIE_WITH_PARENT || opt == O_BEST_EFFORT || opt == O_EXPLAIN ||
			    opt == O_PROBE || opt == O_NO_LANDLOCK || opt == O_REQ_SIG)
				parse_flag_opt(o, opt);
			else
				parse_value_opt(o, opt, optarg);
		}
	}
	if (optind >= argc)
		return;
	/* COMMAND only after "--": a mistyped option is never run as a program */
	if (strcmp(argv[optind - 1], "--") || argv[optind - 1] == last_arg)
		die_usage("unknown command '%s' (put '--' before COMMAND)", argv[optind]);
	once(o, SET_COMMAND, 0);
	for (int i = optind; i < argc; i++)
		sbx_strv_push(&o->cli.command, argv[i]);
}

static void take_strv(struct sbx_strv *dst, struct sbx_strv *src, int append)
{
	if (!append)
		sbx_strv_free(dst);
	for (size_t i = 0; i < src->n; i++)
		sbx_strv_push(dst, src->v[i]);
}

static void take_str(char **dst, char **src)
{
	free(*dst);
	*dst = *src;
	*src = NULL;
}

/* Defaults, then each profile, then the command line on top: scalars the
 * command line set replace, lists append. */
static void compose(struct sbx_policy *p, struct opts *o)
{
	struct sbx_policy *c = &o->cli;
	sbx_policy_init(p);
	for (size_t i = 0; i < o->profiles.n; i++)
		sbx_profile_apply(p, o->profiles.v[i]);
	if (o->set & SET_TIMEOUT) p->timeout_ms = c->timeout_ms;
	if (o->set & SET_KILL_AFTER) p->kill_after_ms = c->kill_after_ms;
	if (o->set & SET_MAX_OUTPUT) p->max_output = c->max_output;
	if (o->set & SET_NET) p->net = c->net;
	if (o->set & SET_CWD) take_str(&p->cwd, &c->cwd);
	if (o->set & SET_MODULE) take_str(&p->module, &c->module);
	if (o->set & SET_RUNNER) take_strv(&p->runner, &c->runner, 0);
	if (o->set & SET_COMMAND) take_strv(&p->command, &c->command, 0);
	if (o->set & SET_KEEP_TMP) p->keep_tmp = 1;
	if (o->set & SET_DEV_PTS) p->dev_pts = 1;
	if (o->set & SET_SYS) p->sys = 1;
	if (o->set & SET_DIE_WITH_PARENT) p->die_with_parent = 1;
	if (o->set & SET_BEST_EFFORT) p->best_effort = 1;
	if (o->set & SET_NO_LANDLOCK) p->no_landlock = 1;
	if (o->set & SET_SECCOMP) p->seccomp = c->seccomp;
	if (o->set & SET_SECCOMP_ACTION) p->seccomp_action = c->seccomp_action;
	if (o->set & SET_RL_AS) p->rl_as = c->rl_as;
	if (o->set & SET_RL_CPU) p->rl_cpu_ms = c->rl_cpu_ms;
	if (o->set & SET_RL_FSIZE) p->rl_fsize = c->rl_fsize;
	if (o->set & SET_RL_NOFILE) p->rl_nofile = c->rl_nofile;
	if (o->set & SET_RL_NPROC) p->rl_nproc = c->rl_nproc;
	if (o->set & SET_MEMORY) p->cg_memory = c->cg_memory;
	if (o->set & SET_PIDS) p->cg_pids = c->cg_pids;
	if (o->set & SET_CPU) p->cg_cpu_milli = c->cg_cpu_milli;
	if (o->set & SET_REQ_SIG) p->require_signature = 1;
	if (o->set & SET_UID) { p->have_uid = 1; p->uid_in = c->uid_in; }
	if (o->set & SET_GID) { p->have_gid = 1; p->gid_in = c->gid_in; }
	if (o->set & SET_SIGNERS) take_str(&p->allowed_signers, &c->allowed_signers);
	if (o->set & SET_SIG) take_str(&p->signature, &c->signature);
	if (o->set & SET_SIG_ID) take_str(&p->signer_identity, &c->signer_identity);
	if (o->set & SET_SIG_NS) take_str(&p->signature_ns, &c->signature_ns);
	take_strv(&p->allow_connect, &c->allow_connect, 1);
	take_strv(&p->allow_bind, &c->allow_bind, 1);
	take_strv(&p->seccomp_allow, &c->seccomp_allow, 1);
	take_strv(&p->seccomp_deny, &c->seccomp_deny, 1);
	take_strv(&p->secrets, &c->secrets, 1);
	take_strv(&p->secret_fds, &c->secret_fds, 1);
	take_strv(&p->env, &c->env, 1);
	take_strv(&p->ro, &c->ro, 1);
	take_strv(&p->rw, &c->rw, 1);
	take_strv(&p->tmpfs, &c->tmpfs, 1);
}

static void check_policy(const struct sbx_policy *p, const struct opts *o)
{
	if (p->module && p->command.n)
		die_usage("both --module and a COMMAND: give one");
	if (!p->module && !p->command.n)
		die_usage("missing COMMAND (after '--') or --module ID");
	if (o->input && !p->module)
		die_usage("--input is for --module runs");
	if (p->runner.n && !p->module)
		die_usage("--runner is for --module runs");
	if (p->require_signature && (!p->allowed_signers || !p->signer_identity))
		die_usage("--require-signature needs --allowed-signers FILE and --signer-identity ID");
	if (p->require_signature && p->module)
		die_usage("--require-signature is for COMMAND runs, not --module");
	if ((p->allowed_signers || p->signature || p->signer_identity || p->signature_ns) &&
	    !p->require_signature)
		die_usage("--allowed-signers, --signature, --signer-identity and "
		          "--signature-namespace go with --require-signature");
	char why[160];
	if (sbx_secrets_check(p, why, sizeof(why)))
		die_usage("%s", why);
	if (sbx_tcp_restricted(p) && p->no_landlock)
		die_usage("--allow-connect/--allow-bind are Landlock rules: not with --no-landlock");
	if (sbx_tcp_restricted(p) && p->seccomp == SBX_SC_OFF && p->net == SBX_NET_HOST)
		warn_msg("--seccomp off: MPTCP and UDP sockets walk around the TCP port rules "
		         "of --allow-connect/--allow-bind");
}

/* ------------------------------------------------------------------ run */

/* "apcore-sandbox: message" in one write, for outcomes that are not fatal
 * to us (the exit status is decided later). */
static PRINTF(1, 2) void say(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vmsg_format(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = '?';
	char *line = xasprintf("%s: %s\n", applet_name, msg);
	fflush(stdout);
	(void)write_full(STDERR_FILENO, line, strlen(line));
	free(line);
}

static void want_layers(struct sbx_run *r)
{
	const struct sbx_policy *p = r->pol;
	static const int wanted[] = { SBX_L_USER, SBX_L_MOUNT, SBX_L_PID, SBX_L_IPC, SBX_L_UTS,
	                              SBX_L_CGROUPNS, SBX_L_NET, SBX_L_CAPS, SBX_L_NNP,
	                              SBX_L_SESSION };
	for (size_t i = 0; i < ARRAY_SIZE(wanted); i++) {
		r->layer[wanted[i]].state = SBX_WANTED;
		r->ns_flags |= sbx_layers[wanted[i]].ns_flag;
	}
	if (p->net == SBX_NET_HOST) {
		r->ns_flags &= ~(unsigned long)CLONE_NEWNET;
		r->layer[SBX_L_NET].state = SBX_OFF;
		snprintf(r->layer[SBX_L_NET].detail, sizeof(r->layer[SBX_L_NET].detail),
		         "--net host: the host's network");
	}
	r->layer[SBX_L_ENV].state = SBX_APPLIED;
	r->layer[SBX_L_OUTPUT].state = SBX_APPLIED;
	r->layer[SBX_L_TIME].state = p->timeout_ms > 0 ? SBX_APPLIED : SBX_OFF;
	r->layer[SBX_L_RLIMIT].state = SBX_WANTED;
	r->layer[SBX_L_LANDLOCK].state = p->no_landlock ? SBX_OFF : SBX_WANTED;
	if (p->no_landlock)
		snprintf(r->layer[SBX_L_LANDLOCK].detail, sizeof(r->layer[SBX_L_LANDLOCK].detail),
		         "--no-landlock");
	r->layer[SBX_L_SECCOMP].state = p->seccomp == SBX_SC_OFF ? SBX_OFF : SBX_WANTED;
	if (p->seccomp == SBX_SC_OFF)
		snprintf(r->layer[SBX_L_SECCOMP].detail, sizeof(r->layer[SBX_L_SECCOMP].detail),
		         "--seccomp off");
	r->layer[SBX_L_CGROUP].state = sbx_cgroup_wanted(p) ? SBX_WANTED : SBX_OFF;
	if (!sbx_cgroup_wanted(p))
		snprintf(r->layer[SBX_L_CGROUP].detail, sizeof(r->layer[SBX_L_CGROUP].detail),
		         "no --memory, --pids or --cpu");
}

/* The layers the namespaces carry: applied once init ran, if it did. */
static void settle_layers(struct sbx_run *r)
{
	for (int i = 0; i < SBX_L_COUNT; i++) {
		unsigned long f = sbx_layers[i].ns_flag;
		if (r->layer[i].state == SBX_WANTED && f && (r->ns_flags & f) &&
		    i != SBX_L_USER && i != SBX_L_MOUNT)
			r->layer[i].state = SBX_APPLIED;
	}
}

/* The module's extensions root, bound read-only when it is a directory. */
static char *extensions_root(void)
{
	struct stat st;
	char *root = sbx_extensions_root(environ);
	if (root && (stat(root, &st) || !S_ISDIR(st.st_mode))) {
		free(root);
		root = NULL;
	}
	return root;
}

static int command_exit(const struct sbx_run *r, const struct sbx_result *res)
{
	const struct sbx_policy *p = r->pol;
	if (res->first_limit == SBX_LIMIT_STDOUT || res->first_limit == SBX_LIMIT_STDERR) {
		say("%s went over --max-output %llu bytes; the sandbox was killed",
		    res->first_limit == SBX_LIMIT_STDOUT ? "stdout" : "stderr",
		    (unsigned long long)p->max_output);
		return SBX_EX_OUTPUT;
	}
	if (res->first_limit == SBX_LIMIT_TIMEOUT) {
		char secs[32];
		sbx_fmt_seconds(p->timeout_ms, secs);
		say("timed out after %ss", secs);
		return SBX_EX_TIMEOUT;
	}
	if (res->exec_errno) {
		say("cannot execute '%s': %s", r->argv.v[0], strerror(res->exec_errno));
		return res->exec_errno == ENOENT || res->exec_errno == ENOTDIR ? APC_EX_NOTFOUND
		                                                               : APC_EX_NOEXEC;
	}
	if (res->have_exit && WIFEXITED(res->status))
		return WEXITSTATUS(res->status);
	if (res->have_exit && WIFSIGNALED(res->status))
		return 128 + WTERMSIG(res->status);
	if (WIFSIGNALED(res->init_status))
		return 128 + WTERMSIG(res->init_status);
	say("the sandbox ended without reporting the command's status");
	return SBX_EX_SETUP;
}

/* A directory as stdin would be a handle on the host's tree (openat). */
static void check_stdin(void)
{
	struct stat st;
	if (fstat(STDIN_FILENO, &st) == 0 && S_ISDIR(st.st_mode))
		die_code(SBX_EX_SETUP, "standard input is a directory: it would open the host's "
		         "tree to the command; refusing to run");
}

static int open_input(const char *path)
{
	if (!path)
		return STDIN_FILENO;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		fd = -1;
		errno = EISDIR;
	}
	if (fd < 0)
		die_code(SBX_EX_SETUP, "cannot open --input %s: %s", path, strerror(errno));
	return fd;
}

/* Everything that can fail on the caller's input first, the private
 * directory last: a refusal leaves nothing behind. */
static void prepare(struct sbx_run *r)
{
	const struct sbx_policy *p = r->pol;
	r->module_mode = p->module != NULL;
	char *extroot = r->module_mode ? extensions_root() : NULL;
	sbx_plan_build(&r->plan, p, extroot);
	free(extroot);
	r->tmpdir = sbx_tmpdir_create();
	sbx_plan_identity(&r->plan, r->tmpdir, p);
	sbx_env_build(p, environ, r->tmpdir, &r->envp);
	if (!p->cwd)
		r->cwd = xstrdup(r->tmpdir);
	else if (p->cwd[0] == '/')
		r->cwd = xstrdup(p->cwd);
	else
		r->cwd = xasprintf("%s/%s", r->tmpdir, p->cwd);
	if (r->module_mode)
		sbx_module_argv(p, &r->argv);
	else
		for (size_t i = 0; i < p->command.n; i++)
			sbx_strv_push(&r->argv, p->command.v[i]);
	want_layers(r);
	sbx_seccomp_prepare(p, &r->seccomp);
}

static void finish_tmp(const struct sbx_run *r)
{
	if (r->pol->keep_tmp)
		say("kept the private directory %s", r->tmpdir);
	else if (sbx_tmpdir_remove(r->tmpdir))
		say("cannot remove the private directory %s: %s", r->tmpdir, strerror(errno));
}

static int run(struct sbx_policy *p, const struct opts *o)
{
	struct sbx_run r;
	struct sbx_result res;
	int input_fd = -1;

	memset(&r, 0, sizeof(r));
	memset(&res, 0, sizeof(res));
	r.pol = p;
	/* the log must be able to take the record before anything runs */
	struct audit_log *audit = NULL;
	char why[256];
	if (o->audit_wanted && sbx_audit_open(o->audit, &audit, why, sizeof(why)))
		die_code(SBX_EX_SETUP, "--audit: %s; refusing to run without the audit record", why);
	if (p->module)
		input_fd = open_input(o->input);
	else
		check_stdin();
	r.exec_fd = -1;
	prepare(&r);
	if (p->require_signature && sbx_signature_check(&r, why, sizeof(why))) {
		if (sbx_tmpdir_remove(r.tmpdir))
			say("cannot remove the private directory %s: %s", r.tmpdir, strerror(errno));
		die_code(APC_EX_AUTH, "--require-signature: %s; refusing to run", why);
	}
	struct sbx_secrets held;
	/* We hold secrets from here on: no core dumps, and not dumpable, so
	 * no process of our uid can read our memory or descriptors (init
	 * inherits the flag; it lifts it only while writing its id maps). */
	struct rlimit nocore = { 0, 0 };
	if ((p->secrets.n || p->secret_fds.n) &&
	    (setrlimit(RLIMIT_CORE, &nocore) || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)))
		die_code(SBX_EX_SETUP, "--secret: cannot turn core dumps off: %s", strerror(errno));
	if (sbx_secrets_inject(&r, &held, why, sizeof(why))) {
		if (sbx_tmpdir_remove(r.tmpdir))
			say("cannot remove the private directory %s: %s", r.tmpdir, strerror(errno));
		die_code(APC_EX_CONFIG, "%s; refusing to run", why);
	}
	sbx_run(&r, input_fd, &res);
	sbx_secrets_wipe(&r, &held);
	if (r.exec_fd >= 0)
		close(r.exec_fd);
	settle_layers(&r);
	finish_tmp(&r);
	sbx_run_end(&r, &res);
	r.cg.oom_kills = r.cg.pids_max_hits = -1;
	if (r.cg.dir[0] || r.cg.dir[1] || r.cg.dir[2]) {
		sbx_cgroup_collect(&r.cg);
		sbx_cgroup_remove(&r.cg);
	}

	if (res.setup_failed) {
		say("%s", res.setup_msg);
		res.exit_code = SBX_EX_SETUP;
	} else if (res.parent_died) {
		say("the parent process died (--die-with-parent); the sandbox was killed");
		res.exit_code = 128 + SIGTERM;
	} else if (r.module_mode) {
		res.exit_code = sbx_module_finish(p, &res);
	} else {
		res.exit_code = command_exit(&r, &res);
	}
	if (o->report) {
		struct strbuf sb = STRBUF_INIT;
		sbx_report_json(&r, &res, &sb);
		if (sbx_report_write(o->report, &sb))
			say("cannot write the report to %s: %s", o->report, strerror(errno));
		sb_free(&sb);
	}
	if (audit) {
		if (sbx_audit_record(audit, &r, &res, why, sizeof(why))) {
			say("--audit: cannot append the record: %s", why);
			res.exit_code = SBX_EX_SETUP;
		}
		sbx_audit_close(audit);
	}

	if (input_fd > STDIN_FILENO)
		close(input_fd);
	sb_free(&res.out_cap);
	sb_free(&res.err_cap);
	sbx_strv_free(&r.argv);
	sbx_strv_free(&r.envp);
	sbx_plan_free(&r.plan);
	sbx_seccomp_free(&r.seccomp);
	free(r.tmpdir);
	free(r.cwd);
	return res.exit_code;
}

/* 0, 1 and 2 must be open: a pipe landing on one of them would be wired
 * to the wrong stream of the command. */
static void std_fds_open(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			die_code(SBX_EX_SETUP, "cannot open /dev/null for descriptor %d", fd);
}

int sandbox_main(int argc, char **argv)
{
	struct opts o;
	struct sbx_policy p;

	memset(&o, 0, sizeof(o));
	std_fds_open();
	parse_args(&o, argc, argv);
	if (o.probe) {
		if (argc != 2)
			die_usage("--probe takes no other options");
		return sbx_probe_main();
	}
	compose(&p, &o);
	check_policy(&p, &o);

	int rc;
	if (o.explain) {
		struct strbuf sb = STRBUF_INIT;
		sbx_policy_json(&p, &sb);
		sb_putc(&sb, '\n');
		xwrite_full(STDOUT_FILENO, sb.buf, sb.len);
		sb_free(&sb);
		rc = APC_EX_OK;
	} else {
		rc = run(&p, &o);
	}
	sbx_policy_free(&p);
	sbx_policy_free(&o.cli);
	sbx_strv_free(&o.profiles);
	return rc;
}

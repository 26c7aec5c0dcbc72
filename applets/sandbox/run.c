/* run.c - the supervisor: clone init, then one poll loop until the end.
 *
 * The loop moves the command's stdout and stderr to ours (or into memory
 * for a module run) through fixed buffers, feeds a module's input, takes
 * the records init sends, forwards SIGTERM/SIGINT/SIGHUP/SIGQUIT, and
 * enforces the limits.  It never blocks on a pipe it does not own: output
 * to a FIFO goes in PIPE_BUF pieces once poll() says there is room (such a
 * write cannot block), to a socket with MSG_DONTWAIT, so a stalled reader
 * cannot hold the timeout off.  Memory is the two buffers plus, for a
 * module, at most --max-output per stream.
 *
 * Timeout: SIGUSR1 to init, which sends SIGTERM to every process of the
 * namespace; after --kill-after, SIGKILL to init, which takes the whole
 * PID namespace with it.  An output limit kills at once.
 */

#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if CFG_APCORE_SANDBOX_SECCOMP
#include <seccomp.h>
#endif

#define PUMP_BUF 65536

enum sink { SINK_OTHER, SINK_FIFO, SINK_SOCKET };

struct pump {
	int in;                /* our end of the command's pipe; -1 closed */
	int out;               /* where it goes; -1 when captured */
	enum sink sink;
	int which;             /* 0 stdout, 1 stderr */
	char *buf;
	size_t off, len;       /* pending bytes for out */
	uint64_t total;
	struct strbuf *cap;
};

struct feeder {
	int src, dst;          /* input source, the command's stdin pipe */
	char *buf;
	size_t off, len;
	uint64_t total;
};

struct sup {
	struct sbx_run *r;
	struct sbx_result *res;
	pid_t init;
	int sigfd, msg_r, life_w;
	struct pump p[2];
	struct feeder f;
	int ready, init_done;
	int queued[8];
	size_t nqueued;
	int notify_sock, notify_fd;        /* seccomp: where the listener comes, the listener */
	struct seccomp_notif *nreq;
	struct seccomp_notif_resp *nresp;
	int64_t deadline, kill_deadline;   /* monotonic ms, 0 = none */
	pid_t ppid;                        /* --die-with-parent: our parent */
};

static void set_layer(struct sbx_run *r, int id, enum sbx_state st, const char *detail)
{
	r->layer[id].state = st;
	snprintf(r->layer[id].detail, sizeof(r->layer[id].detail), "%s", detail);
}

/* ------------------------------------------------------------------ clone */

static const int ns_layers[] = { SBX_L_USER, SBX_L_MOUNT, SBX_L_PID, SBX_L_IPC, SBX_L_UTS,
                                 SBX_L_CGROUPNS, SBX_L_NET };

/* Which requested namespace does the kernel refuse?  -1 if none alone. */
static int failing_ns(const struct sbx_run *r, char *why, size_t whylen)
{
	unsigned long user = r->ns_flags & CLONE_NEWUSER;
	for (size_t i = 0; i < ARRAY_SIZE(ns_layers); i++) {
		unsigned long f = sbx_layers[ns_layers[i]].ns_flag;
		if (!(r->ns_flags & f))
			continue;
		int e = sbx_probe_ns(user | f);
		if (e) {
			snprintf(why, whylen, "%s", strerror(e));
			return ns_layers[i];
		}
	}
	return -1;
}

static int refuse(struct sbx_result *res, const char *fmt, ...) PRINTF(2, 3);
static int refuse(struct sbx_result *res, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->setup_msg, sizeof(res->setup_msg), fmt, ap);
	va_end(ap);
	res->setup_failed = 1;
	return -1;
}

/* Fail closed: a namespace that cannot be created stops the run, unless
 * --best-effort, which drops it, records why and tries again.  The pid,
 * or -1 with the refusal in res. */
static pid_t clone_init(struct sbx_run *r, struct sbx_result *res)
{
	char why[160];
	for (;;) {
		unsigned long flags = r->ns_flags;
		r->net_late = r->net_sk >= 0 && (flags & CLONE_NEWUSER) && (flags & CLONE_NEWNET);
		if (r->net_late)
			flags &= ~(unsigned long)CLONE_NEWNET;
		fflush(NULL);
		long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
		if (pid >= 0)
			return (pid_t)pid;
		int e = errno;
		int id = failing_ns(r, why, sizeof(why));
		if (id < 0)
			return refuse(res, "cannot create the sandbox's namespaces: %s", strerror(e));
		if (!r->pol->best_effort)
			return refuse(res, "cannot create the %s: %s; refusing to run without it "
			              "(--best-effort runs anyway)", sbx_layers[id].what, why);
		r->ns_flags &= ~sbx_layers[id].ns_flag;
		r->layer[id].state = SBX_DEGRADED;
		snprintf(r->layer[id].detail, sizeof(r->layer[id].detail), "%s", why);
	}
}

/* The network namespace helper (see net_late in sandbox.h): joins init's
 * user namespace (whose descriptor init sent first thing: opening
 * /proc/INIT/ns/user would need ptrace access to init, which an
 * unprivileged caller loses once init is not dumpable), so the new
 * network namespace belongs to it as if clone had made it, and sends it to
 * init; or sends the errno of what failed.  Only system calls here: it is
 * a fork of the supervisor. */
static NORETURN void net_helper(int sk)
{
	int e = 0, nfd = -1, ufd = -1;
	/* nothing of the supervisor's (the command's stdin pipe, the
	 * lifeline) stays open here longer than in the supervisor */
	if (sk > 3)
		(void)close_range(3, (unsigned)sk - 1, 0);
	(void)close_range((unsigned)sk + 1, ~0U, 0);
	char byte;
	if (recv_fd(sk, &byte, 1, &ufd, 0) != 1 && ufd >= 0) {
		close(ufd);
		ufd = -1;
	}
	errno = EPROTO;
	if (ufd < 0 || setns(ufd, CLONE_NEWUSER) || unshare(CLONE_NEWNET) ||
	    (nfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
		e = errno;
	(void)send_fd(sk, &e, sizeof(e), nfd);
	_exit(0);
}

/* ------------------------------------------------------------------ pumps */

static enum sink sink_of(int fd)
{
	struct stat st;
	if (fstat(fd, &st))
		return SINK_OTHER;
	if (S_ISFIFO(st.st_mode))
		return SINK_FIFO;
	return S_ISSOCK(st.st_mode) ? SINK_SOCKET : SINK_OTHER;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void note_limit(struct sbx_result *res, int which)
{
	if (!res->first_limit)
		res->first_limit = which;
}

/* Write what is pending without blocking on a FIFO or socket.  Our reader
 * gone (EPIPE): stop reading too, so the command meets EPIPE/SIGPIPE as it
 * would without us. */
static void pump_flush(struct pump *p, int may_block)
{
	while (p->len) {
		size_t chunk = p->len;
		ssize_t n;
		if (p->sink == SINK_FIFO && !may_block && chunk > PIPE_BUF)
			chunk = PIPE_BUF;
		if (p->sink == SINK_SOCKET)
			n = send(p->out, p->buf + p->off, chunk,
			         MSG_NOSIGNAL | (may_block ? 0 : MSG_DONTWAIT));
		else
			n = write(p->out, p->buf + p->off, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			p->len = 0;
			close_fd(&p->in);
			return;
		}
		p->off += (size_t)n;
		p->len -= (size_t)n;
		if (p->sink == SINK_FIFO && !may_block)
			return;  /* the next piece after the next POLLOUT */
	}
}

/* Read once from the command: 1 data, 0 EOF or error (now closed), -1
 * nothing there yet. */
static int pump_read(struct sup *s, struct pump *p)
{
	ssize_t n = read(p->in, p->buf, PUMP_BUF);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -1;
	if (n <= 0) {
		close_fd(&p->in);
		return 0;
	}
	uint64_t room = s->r->pol->max_output - p->total;
	size_t keep = (uint64_t)n > room ? (size_t)room : (size_t)n;
	p->total += keep;
	s->res->bytes[p->which] = p->total;
	if (keep < (size_t)n) {
		/* over the limit: the rest is never read, the tree dies now */
		s->res->out_limit[p->which] = 1;
		note_limit(s->res, p->which ? SBX_LIMIT_STDERR : SBX_LIMIT_STDOUT);
		close_fd(&p->in);
		(void)kill(s->init, SIGKILL);
	}
	if (p->cap) {
		sb_add(p->cap, p->buf, keep);
	} else {
		p->off = 0;
		p->len = keep;
		if (p->sink == SINK_OTHER)
			pump_flush(p, 1);
	}
	return 1;
}

static void feed(struct feeder *f, short revents_src, short revents_dst)
{
	if (!f->len && (revents_src & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t n = read(f->src, f->buf, PUMP_BUF);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/* end of input: the command sees EOF */
			close_fd(&f->dst);
			f->src = -1;
			return;
		}
		f->off = 0;
		f->len = (size_t)n;
		revents_dst = POLLOUT;
	}
	if (f->len && (revents_dst & (POLLOUT | POLLERR | POLLHUP))) {
		ssize_t n = write(f->dst, f->buf + f->off, f->len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			/* the command closed its stdin: nothing more to give */
			close_fd(&f->dst);
			f->src = -1;
			f->len = 0;
			return;
		}
		f->off += (size_t)n;
		f->len -= (size_t)n;
		f->total += (uint64_t)n;
	}
}

/* -------------------------------------------------------------- messages */

static void take_mask(struct sbx_run *r, unsigned mask)
{
	for (int i = 0; i < SBX_L_COUNT; i++)
		if (mask & (1u << i))
			r->layer[i].state = SBX_APPLIED;
}

static void on_msg(struct sup *s, const struct sbx_msg *m)
{
	struct sbx_run *r = s->r;
	switch (m->type) {
	case SBX_MSG_APPLIED:
		take_mask(r, (unsigned)m->b);
		break;
	case SBX_MSG_LAYER:
		if (m->a >= 0 && m->a < SBX_L_COUNT) {
			r->layer[m->a].state = m->b == SBX_APPLIED ? SBX_APPLIED : SBX_DEGRADED;
			snprintf(r->layer[m->a].detail, sizeof(r->layer[m->a].detail), "%s", m->text);
		}
		break;
	case SBX_MSG_FAIL:
		if (!s->res->setup_failed) {
			s->res->setup_failed = 1;
			snprintf(s->res->setup_msg, sizeof(s->res->setup_msg), "%s", m->text);
		}
		break;
	case SBX_MSG_READY:
		take_mask(r, (unsigned)m->b);
		s->ready = 1;
		for (size_t i = 0; i < s->nqueued; i++)
			(void)kill(s->init, s->queued[i]);
		s->nqueued = 0;
		break;
	case SBX_MSG_EXEC_FAIL:
		s->res->exec_errno = m->a;
		break;
	case SBX_MSG_EXIT:
		s->res->have_exit = 1;
		s->res->status = m->a;
		memcpy(&s->res->ru, m->text, sizeof(s->res->ru));
		break;
	}
}

static void read_msgs(struct sup *s)
{
	struct sbx_msg m;
	for (;;) {
		ssize_t n = read(s->msg_r, &m, sizeof(m));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n != (ssize_t)sizeof(m)) {
			close_fd(&s->msg_r);
			return;
		}
		if (m.type != SBX_MSG_EXIT)
			m.text[sizeof(m.text) - 1] = 0;
		on_msg(s, &m);
	}
}

/* --------------------------------------------------------------- signals */

static void reap_init(struct sup *s)
{
	int st;
	struct rusage ru;
	pid_t p = wait4(s->init, &st, WNOHANG, &ru);
	if (p == s->init) {
		s->init_done = 1;
		s->res->init_status = st;
		if (!s->res->have_exit)
			s->res->ru = ru;
	}
}

/* Before READY (the command is not running yet) a signal waits for it;
 * a second one means the set-up is not getting anywhere: the sandbox is
 * killed (nothing of the command can have run unconfined). */
static void forward(struct sup *s, int sig)
{
	if (s->ready) {
		(void)kill(s->init, sig);
	} else if (s->nqueued && !s->res->setup_failed) {
		(void)kill(s->init, SIGKILL);
		s->res->setup_failed = 1;
		snprintf(s->res->setup_msg, sizeof(s->res->setup_msg),
		         "interrupted by signal %d during the sandbox's set-up", sig);
	} else if (s->nqueued < ARRAY_SIZE(s->queued)) {
		s->queued[s->nqueued++] = sig;
	}
}

static void read_signals(struct sup *s)
{
	struct signalfd_siginfo si;
	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap_init(s);
		} else if (si.ssi_signo == SIGTERM && s->ppid && getppid() != s->ppid) {
			/* our parent died (PR_SET_PDEATHSIG): the sandbox goes too,
			 * and we still clean up after it */
			s->res->parent_died = 1;
			(void)kill(s->init, SIGKILL);
		} else {
			forward(s, (int)si.ssi_signo);
		}
	}
}

static void check_deadlines(struct sup *s, int64_t now)
{
	if (s->deadline && now >= s->deadline) {
		s->deadline = 0;
		s->res->timed_out = 1;
		note_limit(s->res, SBX_LIMIT_TIMEOUT);
		if (s->ready && s->r->pol->kill_after_ms > 0) {
			(void)kill(s->init, SIGUSR1);
			s->kill_deadline = now + s->r->pol->kill_after_ms;
		} else {
			(void)kill(s->init, SIGKILL);
		}
	}
	if (s->kill_deadline && now >= s->kill_deadline) {
		s->kill_deadline = 0;
		(void)kill(s->init, SIGKILL);
	}
}

static int poll_timeout(const struct sup *s, int64_t now)
{
	int64_t next = 0;
	if (s->deadline)
		next = s->deadline;
	if (s->kill_deadline && (!next || s->kill_deadline < next))
		next = s->kill_deadline;
	if (!next)
		return -1;
	return next <= now ? 0 : (int)(next - now > INT_MAX ? INT_MAX : next - now);
}

/* ------------------------------------------------------------------ loop */

/* ------------------------------------------------- seccomp notifications */

#if CFG_APCORE_SANDBOX_SECCOMP
/* The command's filter listener, passed once over the socket. */
static void take_listener(struct sup *s)
{
	char byte;
	int fd;
	ssize_t n = recv_fd(s->notify_sock, &byte, 1, &fd, MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n != 1 && fd >= 0)
		close(fd);
	if (n == 1 && fd >= 0) {
		s->notify_fd = fd;
		if (seccomp_notify_alloc(&s->nreq, &s->nresp)) {
			close_fd(&s->notify_fd);  /* refusals answer ENOSYS then */
			s->nreq = NULL;
		} else {
			s->res->denials_counted = 1;
		}
	}
	close_fd(&s->notify_sock);  /* one listener per run */
}

static void count_denied(struct sbx_result *res, const char *name)
{
	for (size_t i = 0; i < res->n_denied; i++) {
		if (!strcmp(res->denied[i].name, name)) {
			res->denied[i].count++;
			return;
		}
	}
	if (res->n_denied == ARRAY_SIZE(res->denied)) {
		res->denied_other++;
		return;
	}
	snprintf(res->denied[res->n_denied].name, sizeof(res->denied[0].name), "%s", name);
	res->denied[res->n_denied++].count = 1;
}

/* A refused call: answer with its errno (never let it continue), count it. */
static void answer_notification(struct sup *s, short revents)
{
	if (!(revents & POLLIN)) {
		close_fd(&s->notify_fd);  /* every process of the filter is gone */
		return;
	}
	memset(s->nreq, 0, sizeof(*s->nreq));
	if (seccomp_notify_receive(s->notify_fd, s->nreq))
		return;  /* the caller died meanwhile */
	char name[32];
	memset(s->nresp, 0, sizeof(*s->nresp));
	s->nresp->id = s->nreq->id;
	s->nresp->error = -sbx_seccomp_errno(s->r->pol, s->nreq->data.nr, name, sizeof(name));
	(void)seccomp_notify_respond(s->notify_fd, s->nresp);
	count_denied(s->res, name);
}

static void notify_end(struct sup *s)
{
	if (s->notify_sock >= 0)
		take_listener(s);  /* sent, but not seen before the end */
	close_fd(&s->notify_sock);
	close_fd(&s->notify_fd);
	if (s->nreq)
		seccomp_notify_free(s->nreq, s->nresp);
}
#else
static void take_listener(struct sup *s)
{
	close_fd(&s->notify_sock);
}

static void answer_notification(struct sup *s, short revents)
{
	(void)revents;
	close_fd(&s->notify_fd);
}

static void notify_end(struct sup *s)
{
	close_fd(&s->notify_sock);
	close_fd(&s->notify_fd);
}
#endif

enum { PF_SIG, PF_MSG, PF_OUT, PF_ERR, PF_SRC, PF_DST, PF_NSOCK, PF_NOTIFY, PF_N };

static void add_pfd(struct pollfd *pfd, int idx, int fd, short ev)
{
	pfd[idx].fd = fd;
	pfd[idx].events = ev;
	pfd[idx].revents = 0;
}

static void loop_once(struct sup *s)
{
	struct pollfd pfd[PF_N];
	for (int i = 0; i < PF_N; i++)
		add_pfd(pfd, i, -1, 0);
	add_pfd(pfd, PF_SIG, s->sigfd, POLLIN);
	add_pfd(pfd, PF_MSG, s->msg_r, POLLIN);
	for (int i = 0; i < 2; i++) {
		struct pump *p = &s->p[i];
		if (p->len)
			add_pfd(pfd, PF_OUT + i, p->out, POLLOUT);
		else if (p->in >= 0)
			add_pfd(pfd, PF_OUT + i, p->in, POLLIN);
	}
	if (s->f.dst >= 0) {
		if (s->f.len)
			add_pfd(pfd, PF_DST, s->f.dst, POLLOUT);
		else if (s->f.src >= 0)
			add_pfd(pfd, PF_SRC, s->f.src, POLLIN);
	}
	add_pfd(pfd, PF_NSOCK, s->notify_sock, POLLIN);
	add_pfd(pfd, PF_NOTIFY, s->notify_fd, POLLIN);

	int n = poll(pfd, PF_N, poll_timeout(s, time_mono_ms()));
	if (n < 0 && errno != EINTR) {
		/* cannot supervise any more: nothing may run unsupervised */
		int e = errno;
		(void)kill(s->init, SIGKILL);
		errno = e;
		die_errno("poll");
	}
	if (pfd[PF_SIG].revents)
		read_signals(s);
	if (pfd[PF_MSG].revents)
		read_msgs(s);
	for (int i = 0; i < 2; i++) {
		struct pump *p = &s->p[i];
		short ev = pfd[PF_OUT + i].revents;
		if (!ev)
			continue;
		if (p->len)
			pump_flush(p, 0);
		else if (p->in >= 0)
			(void)pump_read(s, p);
	}
	if (pfd[PF_SRC].revents || pfd[PF_DST].revents)
		feed(&s->f, pfd[PF_SRC].revents, pfd[PF_DST].revents);
	if (pfd[PF_NSOCK].revents)
		take_listener(s);
	if (pfd[PF_NOTIFY].revents)
		answer_notification(s, pfd[PF_NOTIFY].revents);
	check_deadlines(s, time_mono_ms());
}

/* Init is gone, and with it (in a PID namespace) every writer: take what is
 * left in the pipes and deliver it, blocking now that nothing can stall. */
static void drain(struct sup *s)
{
	read_msgs(s);
	for (int i = 0; i < 2; i++) {
		struct pump *p = &s->p[i];
		pump_flush(p, 1);
		while (p->in >= 0 && pump_read(s, p) > 0)
			pump_flush(p, 1);
		pump_flush(p, 1);
		close_fd(&p->in);
	}
	close_fd(&s->f.dst);
	close_fd(&s->msg_r);
}

/* ----------------------------------------------------------------- set-up */

static int mkpipe(int fds[2], int nonblock_read, int nonblock_write)
{
	if (pipe2(fds, O_CLOEXEC)) {
		fds[0] = fds[1] = -1;
		return -1;
	}
	if (nonblock_read)
		(void)fcntl(fds[0], F_SETFL, O_NONBLOCK);
	if (nonblock_write)
		(void)fcntl(fds[1], F_SETFL, O_NONBLOCK);
	return 0;
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close_fd(&fds[i]);
}

static void pump_init(struct pump *p, int which, int in, int out, struct strbuf *cap)
{
	memset(p, 0, sizeof(*p));
	p->which = which;
	p->in = in;
	p->out = out;
	p->cap = cap;
	p->sink = out >= 0 ? sink_of(out) : SINK_OTHER;
	p->buf = xmalloc(PUMP_BUF);
}

int sbx_run(struct sbx_run *r, int input_fd, struct sbx_result *res)
{
	struct sup s = { .r = r, .res = res, .msg_r = -1, .life_w = -1, .notify_sock = -1,
	                 .notify_fd = -1 };
	int fds[14] = { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1 };
	int *msg = fds, *life = fds + 2, *out = fds + 4, *err = fds + 6, *in = fds + 8;
	int *netsk = fds + 10, *nsock = fds + 12;
	pid_t helper = -1;
	sigset_t block, old;

	if (mkpipe(msg, 1, 0) || mkpipe(life, 0, 0) || mkpipe(out, 1, 0) || mkpipe(err, 1, 0) ||
	    (r->module_mode && mkpipe(in, 0, 1)) ||
	    ((r->ns_flags & CLONE_NEWUSER) && (r->ns_flags & CLONE_NEWNET) &&
	     socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, netsk))) {
		close_all(fds, ARRAY_SIZE(fds));
		return refuse(res, "cannot create a pipe: %s", strerror(errno));
	}
	if (sbx_seccomp_notify_wanted(r->pol) &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, nsock)) {
		close_all(fds, ARRAY_SIZE(fds));
		return refuse(res, "cannot create a socket pair: %s", strerror(errno));
	}
	r->notify_w = nsock[1];
	r->msg_w = msg[1];
	r->life_r = life[0];
	r->cmd_out = out[1];
	r->cmd_err = err[1];
	r->cmd_in = in[0];
	r->net_sk = netsk[1];
	r->uid = geteuid();
	r->gid = getegid();
	r->uid_in = r->pol->have_uid ? (uid_t)r->pol->uid_in : r->uid;
	r->gid_in = r->pol->have_gid ? (gid_t)r->pol->gid_in : r->gid;

	/* Signals arrive through a descriptor; SIGPIPE stays blocked so a
	 * reader that left shows up as EPIPE. */
	sigemptyset(&block);
	int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&block, sigs[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigdelset(&block, SIGPIPE);
	s.sigfd = signalfd(-1, &block, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s.sigfd < 0)
		refuse(res, "signalfd: %s", strerror(errno));
	if (!res->setup_failed && r->pol->die_with_parent) {
		s.ppid = getppid();
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
		if (getppid() != s.ppid)
			refuse(res, "--die-with-parent: the parent process is already gone");
	}

	char why[SBX_TEXT_LEN - 40];
	int cg = 0;
	if (!res->setup_failed && sbx_cgroup_wanted(r->pol)) {
		if (sbx_cgroup_create(r->pol, &r->cg, why, sizeof(why)) == 0)
			cg = 1;
		else if (!r->pol->best_effort)
			refuse(res, "cannot apply the cgroup layer (%s): %s; refusing to run without it "
			       "(--best-effort runs anyway)", sbx_layers[SBX_L_CGROUP].what, why);
		else
			set_layer(r, SBX_L_CGROUP, SBX_DEGRADED, why);
	}

	int64_t start = time_mono_ms();
	s.init = res->setup_failed ? -1 : clone_init(r, res);
	if (s.init < 0) {
		if (cg)
			sbx_cgroup_remove(&r->cg);
		close_all(fds, ARRAY_SIZE(fds));
		if (s.sigfd >= 0)
			close(s.sigfd);
		if (r->pol->die_with_parent)
			(void)prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
		sigprocmask(SIG_SETMASK, &old, NULL);
		r->init_reaped = 1;
		r->sigfd = r->life_w = -1;
		return -1;
	}
	if (s.init == 0) {
		close(msg[0]);
		close(life[1]);
		close(out[0]);
		close(err[0]);
		if (in[1] >= 0)
			close(in[1]);
		if (nsock[0] >= 0)
			close(nsock[0]);
		if (netsk[0] >= 0)
			close(netsk[0]);
		if (!r->net_late && netsk[1] >= 0) {
			close(netsk[1]);
			r->net_sk = -1;
		}
		close(s.sigfd);
		sbx_init_main(r);
	}
	/* into the cgroup before init does anything: then its go */
	if (cg && sbx_cgroup_attach(&r->cg, s.init, why, sizeof(why))) {
		if (!r->pol->best_effort) {
			(void)kill(s.init, SIGKILL);
			refuse(res, "cannot apply the cgroup layer (%s): %s; refusing to run without it "
			       "(--best-effort runs anyway)", sbx_layers[SBX_L_CGROUP].what, why);
		} else {
			set_layer(r, SBX_L_CGROUP, SBX_DEGRADED, why);
		}
	} else if (cg) {
		set_layer(r, SBX_L_CGROUP, SBX_APPLIED, r->cg.what);
	}
	if (!res->setup_failed)
		(void)write_full(life[1], "g", 1);
	close(msg[1]);
	close(life[0]);
	close(out[1]);
	close(err[1]);
	if (in[0] >= 0)
		close(in[0]);
	if (nsock[1] >= 0)
		close(nsock[1]);
	s.notify_sock = nsock[0];
	if (netsk[1] >= 0)
		close(netsk[1]);
	/* while init maps its ids and builds the view: its network namespace */
	if (r->net_late && !res->setup_failed) {
		fflush(NULL);
		helper = fork();
		if (helper == 0)
			net_helper(netsk[0]);
	}
	if (netsk[0] >= 0)
		close(netsk[0]);
	s.msg_r = msg[0];
	s.life_w = life[1];
	pump_init(&s.p[0], 0, out[0], r->module_mode ? -1 : STDOUT_FILENO,
	          r->module_mode ? &res->out_cap : NULL);
	pump_init(&s.p[1], 1, err[0], r->module_mode ? -1 : STDERR_FILENO,
	          r->module_mode ? &res->err_cap : NULL);
	s.f.src = r->module_mode ? input_fd : -1;
	s.f.dst = in[1];
	s.f.buf = xmalloc(PUMP_BUF);
	if (r->pol->timeout_ms > 0)
		s.deadline = start + r->pol->timeout_ms;

	/* Done when init is gone, or when it reported the command's end and
	 * every output stream is closed: everything of the sandbox is dead
	 * then, and the namespaces' teardown can overlap with our clean-up
	 * (sbx_run_end() reaps init). */
	while (!s.init_done && !(res->have_exit && s.p[0].in < 0 && s.p[1].in < 0))
		loop_once(&s);
	drain(&s);
	notify_end(&s);
	if (helper > 0)
		(void)waitpid(helper, NULL, 0);  /* short-lived: one unshare and a message */
	res->wall_ms = time_mono_ms() - start;
	res->bytes[2] = s.f.total;

	r->init_pid = s.init;
	r->init_reaped = s.init_done;
	r->sigfd = s.sigfd;
	r->life_w = s.life_w;
	r->oldmask = old;
	free(s.p[0].buf);
	free(s.p[1].buf);
	free(s.f.buf);
	return 0;
}

void sbx_run_end(struct sbx_run *r, struct sbx_result *res)
{
	if (r->sigfd < 0)
		return;  /* sbx_run() refused and cleaned up already */
	struct rusage ru, self;
	struct signalfd_siginfo si;
	int st;

	/* Init only has its namespaces to tear down (up to a few ms):
	 * reap it if it is done, else the system does when we exit. */
	if (!r->init_reaped && wait4(r->init_pid, &st, WNOHANG, &ru) == r->init_pid) {
		res->init_status = st;
		r->init_reaped = 1;
	}
	if (getrusage(RUSAGE_SELF, &self) == 0)
		res->self_maxrss_kb = self.ru_maxrss;
	/* signals for a sandbox that is gone: not ours to act on */
	while (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	close(r->life_w);
	close(r->sigfd);
	if (r->pol->die_with_parent)
		(void)prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	sigprocmask(SIG_SETMASK, &r->oldmask, NULL);
}

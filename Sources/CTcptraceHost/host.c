#define _GNU_SOURCE
#include "CTcptraceHost.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <termios.h>
#include <time.h>
#include <linux/nsfs.h>
#include <linux/sched.h>
#include <linux/perf_event.h>
#include <linux/bpf.h>

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t hangup;
/* After a stop, SIGALRM every 100 ms on the thread that installed the handlers, so a write
 * blocked on a stalled pipe returns (EINTR or short) and the writer can give up on it. */
static timer_t stop_nudge;
static int stop_nudge_ok;

static void arm_stop_nudge(void)
{
	struct itimerspec every = { { 0, 100 * 1000 * 1000 }, { 0, 1000 * 1000 } };
	if (stop_nudge_ok)
		timer_settime(stop_nudge, 0, &every, NULL); /* async-signal-safe */
}

static void on_stop(int sig)
{
	stop_signal = sig;
	arm_stop_nudge();
}

static void on_nudge(int sig)
{
	(void)sig;
}

static void on_hangup(int sig)
{
	(void)sig;
	hangup = 1;
}

void tcptrace_install_signal_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_nudge;
	sigaction(SIGALRM, &sa, NULL);
	if (!stop_nudge_ok) {
		struct sigevent ev;
		memset(&ev, 0, sizeof(ev));
		ev.sigev_notify = SIGEV_THREAD_ID;
		ev.sigev_signo = SIGALRM;
		ev._sigev_un._tid = gettid();
		stop_nudge_ok = timer_create(CLOCK_MONOTONIC, &ev, &stop_nudge) == 0;
	}
	/* SIGHUP may come in storms (logrotate): SA_RESTART keeps it from failing reads and writes
	 * elsewhere; epoll_wait is never restarted, so the poll still returns at once. */
	sa.sa_handler = on_hangup;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A parent may hand us a blocked mask (some process launchers do): unblock what we handle. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGPIPE);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int tcptrace_stop_signal(void)
{
	return stop_signal;
}

int tcptrace_take_hangup(void)
{
	return __atomic_exchange_n(&hangup, 0, __ATOMIC_SEQ_CST);
}

int tcptrace_capget(unsigned long long *effective, unsigned long long *permitted, unsigned long long *inheritable)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &header, data) != 0)
		return -errno;
	*effective = data[0].effective | (unsigned long long)data[1].effective << 32;
	*permitted = data[0].permitted | (unsigned long long)data[1].permitted << 32;
	*inheritable = data[0].inheritable | (unsigned long long)data[1].inheritable << 32;
	return 0;
}

int tcptrace_capset(unsigned long long effective, unsigned long long permitted, unsigned long long inheritable)
{
	struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {
		{ (__u32)effective, (__u32)permitted, (__u32)inheritable },
		{ (__u32)(effective >> 32), (__u32)(permitted >> 32), (__u32)(inheritable >> 32) },
	};
	return syscall(SYS_capset, &header, data) == 0 ? 0 : -errno;
}

int tcptrace_capbset_read(int cap)
{
	int rc = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
	return rc < 0 ? -errno : rc;
}

int tcptrace_capbset_drop(int cap)
{
	return prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0 ? 0 : -errno;
}

int tcptrace_ambient_clear(void)
{
	return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0 ? 0 : -errno;
}

int tcptrace_set_no_new_privs(void)
{
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : -errno;
}

void tcptrace_request_stop(void)
{
	stop_signal = -1;
	arm_stop_nudge();
}

static struct termios term_saved;
static int term_saved_ok;
static int term_err_saved = -1, term_err_capture = -1;
static volatile sig_atomic_t term_active, term_resized;
static const int term_fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP };
static struct sigaction term_fatal_old[sizeof(term_fatal) / sizeof(term_fatal[0])];

static void term_write(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void on_winch(int sig)
{
	(void)sig;
	term_resized = 1;
}

/* Restores the terminal, then lets the previous handler (or the default) have the signal. */
static void on_fatal(int sig)
{
	tcptrace_terminal_leave();
	for (size_t i = 0; i < sizeof(term_fatal) / sizeof(term_fatal[0]); i++)
		if (term_fatal[i] == sig)
			sigaction(sig, &term_fatal_old[i], NULL);
	raise(sig);
}

int tcptrace_terminal_enter(void)
{
	if (term_active)
		return 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_winch;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGWINCH, &sa, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	sa.sa_handler = on_fatal;
	sa.sa_flags = 0;
	for (size_t i = 0; i < sizeof(term_fatal) / sizeof(term_fatal[0]); i++)
		sigaction(term_fatal[i], &sa, &term_fatal_old[i]);

	if (isatty(0) && tcgetattr(0, &term_saved) == 0) {
		struct termios t = term_saved;
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		if (tcsetattr(0, TCSANOW, &t) != 0)
			return -errno;
		term_saved_ok = 1;
	}
	int capture = memfd_create("tcptrace-top-stderr", MFD_CLOEXEC);
	if (capture >= 0) {
		term_err_saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
		if (term_err_saved >= 0 && dup2(capture, 2) >= 0) {
			term_err_capture = capture;
		} else {
			if (term_err_saved >= 0)
				close(term_err_saved);
			term_err_saved = -1;
			close(capture);
		}
	}
	term_active = 1;
	static const char on[] = "\033[?1049h\033[?25l\033[H\033[2J";
	term_write(1, on, sizeof(on) - 1);
	return 0;
}

void tcptrace_terminal_leave(void)
{
	if (!term_active)
		return;
	term_active = 0;
	static const char off[] = "\033[0m\033[?25h\033[?1049l";
	term_write(1, off, sizeof(off) - 1);
	if (term_saved_ok)
		tcsetattr(0, TCSANOW, &term_saved);
	term_saved_ok = 0;
	if (term_err_capture >= 0) {
		dup2(term_err_saved, 2);
		close(term_err_saved);
		char buf[4096];
		ssize_t n;
		lseek(term_err_capture, 0, SEEK_SET);
		while ((n = read(term_err_capture, buf, sizeof(buf))) > 0)
			term_write(2, buf, (size_t)n);
		close(term_err_capture);
		term_err_capture = term_err_saved = -1;
	}
}

int tcptrace_terminal_take_resized(void)
{
	int r = term_resized;
	term_resized = 0;
	return r;
}

int tcptrace_terminal_size(int fd, unsigned short *rows, unsigned short *columns)
{
	struct winsize w;
	if (ioctl(fd, TIOCGWINSZ, &w) != 0)
		return -errno;
	*rows = w.ws_row;
	*columns = w.ws_col;
	return 0;
}

int tcptrace_writeback_start(int fd, long long offset, long long length)
{
	return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
}

int tcptrace_writeback_finish(int fd, long long offset, long long length)
{
	int rc = sync_file_range(fd, offset, length,
				 SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
	if (rc == 0)
		rc = posix_fadvise(fd, offset, length, POSIX_FADV_DONTNEED);
	return rc;
}

int tcptrace_thread_nice(void)
{
	errno = 0;
	int n = getpriority(PRIO_PROCESS, 0);
	return n == -1 && errno ? -100 - errno : n;
}

int tcptrace_set_thread_nice(int nice)
{
	return setpriority(PRIO_PROCESS, 0, nice);
}

int tcptrace_set_thread_fifo(int fifo_priority)
{
	struct sched_param p = {.sched_priority = fifo_priority};
	return sched_setscheduler(0, fifo_priority > 0 ? SCHED_FIFO : SCHED_OTHER, &p);
}

struct netns_socket_job {
	const char *path;
	int domain, type, protocol;
	const char *file; /* open this instead of making a socket */
	int iter_link;    /* >= 0: make an iterator of this BPF link instead */
	int result;
};

/* BPF_ITER_CREATE: an iterator's file; a network namespace's own iterators (TCP sockets) walk
 * the namespace of the task that makes the file. */
static int iter_create(int link_fd)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.iter_create.link_fd = (unsigned)link_fd;
	int fd = (int)syscall(SYS_bpf, BPF_ITER_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

static void *netns_socket_thread(void *arg)
{
	struct netns_socket_job *job = arg;
	int ns = open(job->path, O_RDONLY | O_CLOEXEC);
	if (ns < 0) {
		job->result = -errno;
		return NULL;
	}
	if (setns(ns, CLONE_NEWNET) != 0) {
		job->result = -errno;
		close(ns);
		return NULL;
	}
	close(ns);
	if (job->iter_link >= 0) {
		job->result = iter_create(job->iter_link);
		return NULL;
	}
	int fd = job->file ? open(job->file, O_RDONLY | O_CLOEXEC) : socket(job->domain, job->type | SOCK_CLOEXEC, job->protocol);
	job->result = fd < 0 ? -errno : fd;
	return NULL; /* the thread ends here, in that namespace; nothing else ran in it */
}

static int run_in_netns(struct netns_socket_job *job)
{
	pthread_t t;
	int rc = pthread_create(&t, NULL, netns_socket_thread, job);
	if (rc != 0)
		return -rc;
	pthread_join(t, NULL);
	return job->result;
}

int tcptrace_open_in_netns(const char *ns_path, const char *file)
{
	struct netns_socket_job job = { ns_path, 0, 0, 0, file, -1, -EINVAL };
	return run_in_netns(&job);
}

int tcptrace_iter_in_netns(const char *ns_path, int link_fd)
{
	if (!ns_path)
		return iter_create(link_fd);
	struct netns_socket_job job = { ns_path, 0, 0, 0, NULL, link_fd, -EINVAL };
	return run_in_netns(&job);
}

int tcptrace_socket_in_netns(const char *ns_path, int domain, int type, int protocol)
{
	struct netns_socket_job job = { ns_path, domain, type, protocol, NULL, -1, -EINVAL };
	return run_in_netns(&job);
}

int tcptrace_namespace_type(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	/* Only an nsfs file answers NS_GET_NSTYPE (others: ENOTTY). */
	int type = ioctl(fd, NS_GET_NSTYPE);
	int err = errno;
	close(fd);
	if (type < 0)
		return err == ENOTTY || err == EINVAL ? 0 : -err;
	return type;
}

int tcptrace_tracepoint_counter(unsigned long long id, int cpu, const char *filter)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof(attr);
	attr.config = id;
	attr.disabled = 1;
	int fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((filter && ioctl(fd, PERF_EVENT_IOC_SET_FILTER, filter) != 0) || ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int tcptrace_malloc_policy(void)
{
	/* mallopt returns 1 on success, 0 on error. */
	return mallopt(M_ARENA_MAX, 1) ? 0 : -EINVAL;
}

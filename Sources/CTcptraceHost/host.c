#define _GNU_SOURCE
#include "CTcptraceHost.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

void tcptrace_install_signal_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A parent may hand us a blocked mask (some process launchers do): unblock what we handle. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int tcptrace_stop_signal(void)
{
	return stop_signal;
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
	int result;
};

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
	struct netns_socket_job job = { ns_path, 0, 0, 0, file, -EINVAL };
	return run_in_netns(&job);
}

int tcptrace_socket_in_netns(const char *ns_path, int domain, int type, int protocol)
{
	struct netns_socket_job job = { ns_path, domain, type, protocol, NULL, -EINVAL };
	return run_in_netns(&job);
}

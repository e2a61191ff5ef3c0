#define _GNU_SOURCE
#include "CTcptraceHost.h"
#include <fcntl.h>
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

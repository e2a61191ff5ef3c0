#ifndef CTCPTRACE_HOST_H
#define CTCPTRACE_HOST_H
/* The operating system as the host module uses it, one section per job. */

/* sock_diag (netlink) for the census: struct nlmsghdr, inet_diag_req_v2, inet_diag_msg. */
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>

/* Recorded logs for `report`, gzip or plain (gzread passes plain files through). */
#include <zlib.h>

/* Signals: SIGINT/SIGTERM set a flag (no SA_RESTART, so a blocking poll returns EINTR) and from
 * then on SIGALRM interrupts the installing thread every 100 ms (a write blocked on a stalled
 * pipe returns, so the run can give up on it); SIGPIPE is ignored so a closed pipe surfaces as
 * EPIPE from write(). */
void tcptrace_install_signal_handlers(void);
/* The signal that asked us to stop, or 0; -1 when the program asked itself (top's `q`). */
int tcptrace_stop_signal(void);
/* SIGHUP (installed with the others, SA_RESTART: only the poll's wait returns early) asks for
 * the output file to be reopened. Whether one came since the last call; clears it. */
int tcptrace_take_hangup(void);

/* Capabilities of the calling thread (capget/capset(2), version 3) as 64-bit masks, and the
 * prctl(2) calls that bound them. 0 (or the value asked for) or -errno. */
int tcptrace_capget(unsigned long long *effective, unsigned long long *permitted, unsigned long long *inheritable);
int tcptrace_capset(unsigned long long effective, unsigned long long permitted, unsigned long long inheritable);
int tcptrace_capbset_read(int cap);
int tcptrace_capbset_drop(int cap);
int tcptrace_ambient_clear(void);
int tcptrace_set_no_new_privs(void);
void tcptrace_request_stop(void);

/* The terminal for `top`. enter: standard input (when a terminal) in cbreak mode (no echo, no
 * line buffering; ^C still signals), standard output switched to the alternate screen with the
 * cursor hidden, standard error captured in a memory file (it would scribble on the screen);
 * SIGWINCH noted (SA_RESTART). leave (idempotent, async-signal-safe): all of it undone, the
 * captured standard error written out. A crash (SIGSEGV, SIGILL, SIGABRT, ...) leaves first.
 * enter: 0 or -errno. */
int tcptrace_terminal_enter(void);
void tcptrace_terminal_leave(void);
/* 1 if the window was resized since the last call. */
int tcptrace_terminal_take_resized(void);
/* Rows and columns of the terminal on `fd`: 0, or -errno (not a terminal). */
int tcptrace_terminal_size(int fd, unsigned short *rows, unsigned short *columns);

/* Output pacing for regular files: start write-back of a written range (does not wait), and
 * wait for a range's write-back then drop it from the page cache. 0 or -1/errno. */
int tcptrace_writeback_start(int fd, long long offset, long long length);
int tcptrace_writeback_finish(int fd, long long offset, long long length);

/* Scheduling of the calling thread only (Linux applies setpriority and sched_setscheduler with
 * id 0 to the calling thread, not the process): its nice value (-100 - errno on error),
 * a new nice value, or SCHED_FIFO at `fifo_priority` (0: back to SCHED_OTHER). 0 or -1/errno. */
int tcptrace_thread_nice(void);
int tcptrace_set_thread_nice(int nice);
int tcptrace_set_thread_fifo(int fifo_priority);

/* Network namespaces: a socket created in the namespace at `ns_path` (/proc/PID/ns/net,
 * /run/netns/NAME) by a thread of its own that enters it with setns(2) and exits, so no other
 * thread ever changes namespace; the socket stays in that namespace. The fd (close-on-exec), or
 * -errno. */
int tcptrace_socket_in_netns(const char *ns_path, int domain, int type, int protocol);
/* A BPF iterator file of the link link_fd made inside the network namespace at ns_path (NULL:
 * the caller's own); or -errno. */
int tcptrace_iter_in_netns(const char *ns_path, int link_fd);
/* The same for open(2) (read-only): /proc/sys/net files show the namespace of whoever opens
 * them. */
int tcptrace_open_in_netns(const char *ns_path, const char *file);
#include <linux/sched.h>
/* The kind of namespace `path` is (NS_GET_NSTYPE: CLONE_NEWNET for a network namespace), 0 when
 * it is not a namespace (not an nsfs file), or -errno when it cannot be opened. */
int tcptrace_namespace_type(const char *path);

/* Opener stacks: an ELF file's loadable segments and function symbols (.symtab, else .dynsym),
 * read through libelf, for symbolizing user addresses. 0 or -errno (-ENOEXEC: not ELF). */
struct tcptrace_elf_segment {
	unsigned long long offset; /* p_offset */
	unsigned long long vaddr;  /* p_vaddr */
	unsigned long long filesz; /* p_filesz */
};
typedef void (*tcptrace_elf_symbol_fn)(void *ctx, unsigned long long value, unsigned long long size, const char *name);
int tcptrace_elf_read(const char *path, struct tcptrace_elf_segment *segments, int max_segments, int *n_segments,
		      tcptrace_elf_symbol_fn on_symbol, void *ctx, unsigned long long max_symbols);

/* A counting perf event on tracepoint `id` (its tracefs `id` file) on one CPU, filtered with
 * `filter` (the tracepoint's format fields; NULL: none), enabled: the fd to read(2) a u64 count
 * from, or -errno. */
int tcptrace_tracepoint_counter(unsigned long long id, int cpu, const char *filter);


/* One malloc arena for every thread (mallopt(3) M_ARENA_MAX): 0 or -EINVAL. */
int tcptrace_malloc_policy(void);

/* The BPF ring buffer's shared positions and record headers, as libbpf reads them: an acquire
 * load of what the kernel published, a release store of what user space consumed. */
static inline unsigned long long tcptrace_load_acquire_u64(const void *p)
{
	return __atomic_load_n((const unsigned long long *)p, __ATOMIC_ACQUIRE);
}
static inline unsigned int tcptrace_load_acquire_u32(const void *p)
{
	return __atomic_load_n((const unsigned int *)p, __ATOMIC_ACQUIRE);
}
static inline void tcptrace_store_release_u64(void *p, unsigned long long v)
{
	__atomic_store_n((unsigned long long *)p, v, __ATOMIC_RELEASE);
}

#endif

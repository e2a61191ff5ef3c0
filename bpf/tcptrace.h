/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The ABI between bpf/tcptrace.bpf.c and Swift user space: one event, its flags and the
 * loss counters. Fixed-width fields only; addresses are byte arrays (Swift drops __int128). */
#ifndef TCPTRACE_H
#define TCPTRACE_H

#include <linux/types.h>

#define TCPTRACE_COMM_LEN 16
#define TCPTRACE_MAX_PORTS 8

/* tcptrace_event.flags */
enum tcptrace_event_flag {
	TCPTRACE_F_HAS_OLD_DURATION = 1 << 0, /* ns_in_old is valid: the socket was seen entering old */
	TCPTRACE_F_HAS_OWNER = 1 << 1,        /* owner_pid/owner_comm captured in process context */
	TCPTRACE_F_HAS_STATS = 1 << 2,        /* bytes/retrans/srtt read from tcp_sock (at CLOSE) */
	TCPTRACE_F_HAS_INODE = 1 << 3,        /* inode of the socket's file is known */
	TCPTRACE_F_HAS_RCV_QUEUE = 1 << 5,    /* rcv_queue is valid */
	TCPTRACE_F_HAS_NETNS = 1 << 6,        /* netns is known (no CONFIG_NET_NS: unknown) */
	TCPTRACE_F_HAS_CGROUP = 1 << 7,       /* cgroup_id is known (see the field) */
	TCPTRACE_F_GAP = 1 << 8,              /* the kernel skipped transitions of this socket since its
	                                       * last record: neither program ran for them (see
	                                       * TCPTRACE_CTR_UNSEEN) */
};

/* Indices of the per-CPU counter array `counters`. */
enum tcptrace_counter {
	TCPTRACE_CTR_SEEN = 0,         /* TCP transitions the program ran for */
	TCPTRACE_CTR_FILTERED = 1,     /* transitions excluded by the user's filters */
	TCPTRACE_CTR_RINGBUF_FULL = 2, /* transitions lost: ring buffer reservation failed (a lost
	                                * batch counts each of its transitions) */
	TCPTRACE_CTR_NO_STORAGE = 3,   /* sk_storage could not be created (durations unknown) */
	TCPTRACE_CTR_NESTED = 4,       /* hits (any protocol) the main program was skipped for (it
	                                * was running on that CPU) that the fallback program caught,
	                                * and handled if TCP */
	TCPTRACE_CTR_UNSEEN = 5,       /* gaps: a hit on a socket whose old state is not the new state
	                                * of its last hit (or a socket destroyed in another state than
	                                * its last hit's), so the kernel ran neither program for at
	                                * least one transition of it (at destruction: one; what the
	                                * socket's storage still held is TCPTRACE_CTR_UNSEEN_HELD).
	                                * Sockets that passed the filters and whose history the
	                                * program saw from its start only */
	TCPTRACE_CTR_PROBED = 6,       /* with port filters: hits whose tracepoint ports (sport,
	                                * dport, as the tracepoint's own fields) match them, as
	                                * perf's counting event is filtered (the skip count) */
	TCPTRACE_CTR_HELD_IN = 7,      /* transitions put into a socket's storage to be sent later
	                                * (aggregated mode; a child's SYN_RECV in either mode) */
	TCPTRACE_CTR_HELD_OUT = 8,     /* held transitions taken out: sent, lost to a full ring,
	                                * counted at a destruction (UNSEEN_HELD), or still held by a
	                                * socket destroyed once the run is stopping. HELD_IN - HELD_OUT
	                                * is what live sockets hold plus what died with sockets whose
	                                * end and destruction no program ran for */
	TCPTRACE_CTR_UNSEEN_HELD = 9,  /* held transitions of sockets destroyed in another state than
	                                * their last hit's: lost with them */
	TCPTRACE_CTR_MAX = 10,
};

/* The counters map holds one row of TCPTRACE_CTR_MAX counters per program that counts (key =
 * row * TCPTRACE_CTR_MAX + counter): on Linux 6.1 and later each program adds to its own row
 * with a plain add, no atomic, since no program can interrupt itself on a CPU (the kernel skips
 * it) but each can interrupt another (see count_n). User space sums the rows. */
enum tcptrace_counter_row {
	TCPTRACE_ROW_SET_STATE = 0, /* handle_set_state */
	TCPTRACE_ROW_NESTED = 1,    /* handle_nested */
	TCPTRACE_ROW_DESTROY = 2,   /* handle_destroy */
	TCPTRACE_ROWS = 3,
};

struct tcptrace_event {
	__u64 ts_ns;          /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 cookie;         /* socket cookie: the connection's identity (ss -e, sock_diag) */
	__u64 ns_in_old;      /* time spent in oldstate (TCPTRACE_F_HAS_OLD_DURATION) */
	__u64 inode;          /* socket inode, as in /proc/PID/fd -> socket:[inode] */
	__u64 cgroup_id;      /* cgroup v2 id of the socket (its sk_cgrp_data: the creator's cgroup; an
	                       * accepted socket's is its listener's) = inode of the cgroup's directory
	                       * (TCPTRACE_F_HAS_CGROUP) */
	__u64 bytes_acked;    /* tcp_sock counters at CLOSE (TCPTRACE_F_HAS_STATS); SYN and FIN count 1 each */
	__u64 bytes_received;
	__u32 total_retrans;
	__u32 srtt_us;        /* smoothed RTT in microseconds */
	__u32 rcv_queue;      /* at ->CLOSE_WAIT/->CLOSE: rcv_nxt - copied_seq (unread bytes, +1 if a FIN came) */
	__u32 pid;            /* tgid of the task in context (often not the owner) */
	__u32 owner_pid;      /* tgid that connected/listened (TCPTRACE_F_HAS_OWNER) */
	__u32 netns;          /* inode of the socket's network namespace, as stat -L /proc/PID/ns/net
	                       * prints it (TCPTRACE_F_HAS_NETNS) */
	__u16 family;         /* AF_INET or AF_INET6 */
	__u16 lport;          /* host byte order */
	__u16 rport;          /* host byte order */
	__u8 oldstate;
	__u8 newstate;
	__u8 saddr[16];       /* network byte order; IPv4 in the first 4 bytes */
	__u8 daddr[16];
	char comm[TCPTRACE_COMM_LEN];
	char owner_comm[TCPTRACE_COMM_LEN];
	__u32 flags;          /* enum tcptrace_event_flag */
	__u16 kind;           /* enum tcptrace_record_kind; also makes the tail explicit: the ring
	                       * slot is not zeroed */
	__u16 sk_err;         /* at ->CLOSE (TCPTRACE_F_HAS_STATS): sk->sk_err, the error connect()
	                       * returns: ECONNREFUSED after an RST in SYN_SENT, ETIMEDOUT when the
	                       * SYNs ran out; 0 when no error (EADDRNOTAVAIL leaves it 0) */
};

_Static_assert(sizeof(struct tcptrace_event) == 160, "tcptrace_event layout changed: bump the ABI");
_Static_assert(__builtin_offsetof(struct tcptrace_event, sk_err) + sizeof(__u16) == 160,
	       "tcptrace_event has tail padding: every byte must be a field the program writes");

/* What a ring record is, in tcptrace_event.kind (the batch's `last.kind`). */
enum tcptrace_record_kind {
	TCPTRACE_KIND_TRANSITION = 0, /* struct tcptrace_event: one transition */
	TCPTRACE_KIND_BATCH = 1,      /* struct tcptrace_batch: consecutive transitions of one socket */
};

/* Most transitions in one batch: the earlier ones kept in socket storage, plus the last. */
#define TCPTRACE_BATCH_MAX 8

/* Aggregated mode (.rodata `aggregate`, set when transitions are not printed): the program keeps
 * a socket's transitions in its storage and sends them as one record when the socket enters
 * CLOSE (the connection ends), CLOSE_WAIT (the lingerer index needs it), LISTEN (listeners'
 * owners), or when TCPTRACE_BATCH_MAX transitions are waiting. Nothing is dropped: a longer
 * history is several batches. `last` is the newest transition as a full event (endpoints merged
 * over the batch, owner, inode, rcv_queue, counters); the earlier ones carry only what differs
 * from transition to transition: the states and the time. */
struct tcptrace_batch {
	struct tcptrace_event last;  /* kind = TCPTRACE_KIND_BATCH */
	__u64 entered_ns;            /* when the socket entered oldstate[0] (entered_known) */
	__u64 ts_ns[TCPTRACE_BATCH_MAX - 1];
	__u8 oldstate[TCPTRACE_BATCH_MAX - 1];
	__u8 newstate[TCPTRACE_BATCH_MAX - 1];
	__u8 n_before;               /* transitions before `last`, 0 to TCPTRACE_BATCH_MAX - 1 */
	__u8 entered_known;
};

_Static_assert(sizeof(struct tcptrace_batch) == 240, "tcptrace_batch layout changed: bump the ABI");
_Static_assert(__builtin_offsetof(struct tcptrace_batch, entered_known) + 1 == 240,
	       "tcptrace_batch has tail padding: every byte must be a field the program writes");

/* Opener stacks (map `openers`, keyed by socket cookie; LRU, so bounded): the process that
 * created a connection and its user stack then, taken at CLOSE->SYN_SENT in the connecting
 * thread, and for an accepted socket at accept()'s return (syscall exit tracepoints). */
#define TCPTRACE_STACK_DEPTH 32      /* frames kept per stack (map `stacks`) */
#define TCPTRACE_MAX_STACKS 8192     /* distinct stacks: the map `stacks` */
#define TCPTRACE_MAX_OPENERS 65536   /* sockets remembered: the map `openers` */

#define TCPTRACE_STACK_TOP_WORDS 4   /* words read at the user stack pointer */

struct tcptrace_opener {
	__u64 ts_ns;      /* bpf_ktime_get_ns() when taken */
	__u32 tgid;       /* the process whose address space the frames are in */
	__s32 stack_id;   /* key in `stacks`, or bpf_get_stackid's negative errno */
	/* The first words at the user stack pointer (0 where unreadable): a libc syscall wrapper
	 * without a frame of its own keeps its return address there, the frame-pointer walk
	 * skips its caller, and user space recovers it from here. */
	__u64 stack_top[TCPTRACE_STACK_TOP_WORDS];
};

_Static_assert(sizeof(struct tcptrace_opener) == 48, "tcptrace_opener layout changed: bump the ABI");

#endif /* TCPTRACE_H */

// SPDX-License-Identifier: GPL-2.0
/* tcptrace: one event per TCP state transition, from tp_btf/inet_sock_set_state. */
#include "tcp_core_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcptrace.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

/* Kernel TCP states (include/net/tcp_states.h). */
enum {
	TCP_ESTABLISHED = 1,
	TCP_SYN_SENT = 2,
	TCP_SYN_RECV = 3,
	TCP_FIN_WAIT1 = 4,
	TCP_FIN_WAIT2 = 5,
	TCP_TIME_WAIT = 6,
	TCP_CLOSE = 7,
	TCP_CLOSE_WAIT = 8,
	TCP_LAST_ACK = 9,
	TCP_LISTEN = 10,
	TCP_CLOSING = 11,
};

/* Settings written by user space before load. Ports in host byte order. */
const volatile __u8 filter_family = 0; /* 0: any, 4: IPv4 (incl. v4-mapped), 6: IPv6 only */
const volatile __u32 filter_owner_pid = 0;
const volatile __u8 filter_comm_set = 0;
const volatile char filter_comm[TCPTRACE_COMM_LEN] = {};
const volatile __u32 n_ports = 0, n_lports = 0, n_rports = 0;
const volatile __u16 ports[TCPTRACE_MAX_PORTS] = {};  /* either side */
const volatile __u16 lports[TCPTRACE_MAX_PORTS] = {};
const volatile __u16 rports[TCPTRACE_MAX_PORTS] = {};
const volatile __u64 wakeup_bytes = 0; /* wake user space only when this much is queued */

/* Anchors struct tcptrace_event in the object's BTF so a test can compare its layout. */
const volatile struct tcptrace_event *const abi_event_anchor = 0;

/* A ring record: the event plus the ring's 8-byte header. */
#define RECORD_BYTES (sizeof(struct tcptrace_event) + 8)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* resized by user space before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCPTRACE_CTR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Per CPU: 1 while handle_set_state runs. An interrupt arriving then can run softirq work
 * (loopback packets) that hits the tracepoint again on this CPU; the kernel skips the busy
 * program for those hits (recursion misses), so handle_nested takes them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} running SEC(".maps");

enum sock_state_flag {
	SS_ENTERED_KNOWN = 1 << 0, /* entered_ns is when the socket entered its current state */
	SS_OWNER = 1 << 1,
	SS_MATCHED = 1 << 2, /* passed the filters once: later transitions pass too */
	SS_FIRST_SEEN = 1 << 3,
};

/* Per-socket state; dies with the socket. BPF_F_CLONE copies a listener's storage (its
 * owner) into each child socket it creates. */
struct sock_state {
	__u64 entered_ns;
	__u64 first_seen_ns;
	__u64 inode;
	__u32 owner_pid;
	__u32 flags;
	char owner_comm[TCPTRACE_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct sock_state);
} sockets SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		*v += 1;
}

static __always_inline bool port_in(const volatile __u16 *list, __u32 n, __u16 port)
{
	for (int i = 0; i < TCPTRACE_MAX_PORTS; i++) {
		if (i >= n)
			break;
		if (list[i] == port)
			return true;
	}
	return false;
}

static __always_inline bool is_v4_mapped(const __u8 *a)
{
	const __u32 *w = (const __u32 *)a;
	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff);
}

static __always_inline bool comm_equal(const char *a)
{
	for (int i = 0; i < TCPTRACE_COMM_LEN; i++) {
		if (a[i] != filter_comm[i])
			return false;
		if (a[i] == 0)
			break;
	}
	return true;
}

static __always_inline bool passes_filters(const struct sock *sk, __u16 family, __u16 lport, __u16 rport,
					   const struct sock_state *st)
{
	if (filter_family) {
		bool v4 = family == AF_INET;
		if (family == AF_INET6) {
			__u8 sa[16], da[16];
			BPF_CORE_READ_INTO(&sa, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
			BPF_CORE_READ_INTO(&da, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
			v4 = is_v4_mapped(da) || is_v4_mapped(sa);
		}
		if ((filter_family == 4) != v4)
			return false;
	}
	if (n_ports && !port_in(ports, n_ports, lport) && !port_in(ports, n_ports, rport))
		return false;
	if (n_lports && !port_in(lports, n_lports, lport))
		return false;
	if (n_rports && !port_in(rports, n_rports, rport))
		return false;
	if (filter_owner_pid || filter_comm_set) {
		if (!st || !(st->flags & SS_OWNER))
			return false;
		if (filter_owner_pid && st->owner_pid != filter_owner_pid)
			return false;
		if (filter_comm_set && !comm_equal(st->owner_comm))
			return false;
	}
	return true;
}

/* Owner is only trustworthy in process context: connect, listen, and the application's own
 * close (->FIN_WAIT1, ->LAST_ACK). Elsewhere the task in context is softirq or the peer. */
static __always_inline bool in_owner_context(int oldstate, int newstate)
{
	return (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) || newstate == TCP_LISTEN ||
	       newstate == TCP_FIN_WAIT1 || newstate == TCP_LAST_ACK;
}

static __always_inline void handle(struct sock *sk, int oldstate, int newstate)
{
	/* Cheap rejection first: the tracepoint also fires for SCTP and MPTCP. */
	if (sk->sk_protocol != IPPROTO_TCP)
		return;
	count(TCPTRACE_CTR_SEEN);

	__u64 now = bpf_ktime_get_ns();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct sock_state *st = bpf_sk_storage_get(&sockets, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		count(TCPTRACE_CTR_NO_STORAGE);

	/* A child's storage was cloned from its listener: keep the owner, forget the timing. */
	if (st && oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV) {
		st->flags &= SS_OWNER;
		st->inode = 0;
	}

	if (st && in_owner_context(oldstate, newstate) &&
	    (!(st->flags & SS_OWNER) || newstate == TCP_SYN_SENT || newstate == TCP_LISTEN)) {
		st->owner_pid = pid_tgid >> 32;
		bpf_get_current_comm(st->owner_comm, sizeof(st->owner_comm));
		st->flags |= SS_OWNER;
	}

	/* Identity and endpoints, the way the tracepoint itself reads them. */
	__u16 family = sk->__sk_common.skc_family;
	__u16 lport = sk->__sk_common.skc_num;
	if (lport == 0) /* already unhashed at some CLOSE transitions */
		lport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	__u16 rport = bpf_ntohs(sk->__sk_common.skc_dport);

	bool matched = st && (st->flags & SS_MATCHED);
	if (!matched && !passes_filters(sk, family, lport, rport, st)) {
		count(TCPTRACE_CTR_FILTERED);
		goto update_state;
	}
	if (st)
		st->flags |= SS_MATCHED;

	/* Filled in place in the ring: every byte is written (the slot is not zeroed). */
	struct tcptrace_event *out = bpf_ringbuf_reserve(&events, sizeof(*out), 0);
	if (!out) {
		count(TCPTRACE_CTR_RINGBUF_FULL);
		goto update_state;
	}
	__u32 flags = 0;
	out->ts_ns = now;
	out->cookie = bpf_get_socket_cookie(sk);
	out->ns_in_old = 0;
	out->first_seen_ns = 0;
	out->inode = 0;
	out->bytes_acked = 0;
	out->bytes_received = 0;
	out->total_retrans = 0;
	out->srtt_us = 0;
	out->rcv_queue = 0;
	out->pid = pid_tgid >> 32;
	out->tid = (__u32)pid_tgid;
	out->owner_pid = 0;
	out->family = family;
	out->lport = lport;
	out->rport = rport;
	out->oldstate = oldstate;
	out->newstate = newstate;
	if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&out->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&out->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		__u64 *sa = (__u64 *)out->saddr, *da = (__u64 *)out->daddr;
		sa[0] = family == AF_INET ? sk->__sk_common.skc_rcv_saddr : 0;
		sa[1] = 0;
		da[0] = family == AF_INET ? sk->__sk_common.skc_daddr : 0;
		da[1] = 0;
	}
	bpf_get_current_comm(out->comm, sizeof(out->comm));
	out->reserved = 0;
	if (st && (st->flags & SS_OWNER)) {
		out->owner_pid = st->owner_pid;
		__builtin_memcpy(out->owner_comm, st->owner_comm, sizeof(out->owner_comm));
		flags |= TCPTRACE_F_HAS_OWNER;
	} else {
		__u64 *oc = (__u64 *)out->owner_comm;
		oc[0] = 0;
		oc[1] = 0;
	}
	if (st) {
		if (st->flags & SS_ENTERED_KNOWN) {
			out->ns_in_old = now - st->entered_ns;
			flags |= TCPTRACE_F_HAS_OLD_DURATION;
		}
		if (st->flags & SS_FIRST_SEEN) {
			out->first_seen_ns = st->first_seen_ns;
			flags |= TCPTRACE_F_HAS_FIRST_SEEN;
		}
		if (!st->inode) {
			/* Trusted BTF pointers (tp_btf): plain loads, a NULL link reads as 0. */
			struct socket *so = sk->sk_socket;
			if (so)
				st->inode = so->file->f_inode->i_ino;
		}
		if (st->inode) {
			out->inode = st->inode;
			flags |= TCPTRACE_F_HAS_INODE;
		}
	}
	if (newstate == TCP_CLOSE_WAIT || newstate == TCP_CLOSE) {
		struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
		if (tp) {
			/* Sequence space received but not read: unread bytes, plus 1 for a FIN received.
			 * At FIN_WAIT2->CLOSE it tells TIME_WAIT (peer's FIN in) from an orphan timeout. */
			out->rcv_queue = tp->rcv_nxt - tp->copied_seq;
			flags |= TCPTRACE_F_HAS_RCV_QUEUE;
			if (newstate == TCP_CLOSE) {
				out->bytes_acked = tp->bytes_acked;
				out->bytes_received = tp->bytes_received;
				out->total_retrans = tp->total_retrans;
				out->srtt_us = tp->srtt_us >> 3;
				flags |= TCPTRACE_F_HAS_STATS;
			}
		}
	}
	out->flags = flags;

	/* Batch wakeups: user space polls every 100 ms and drains whatever is queued, so a wakeup
	 * only shortens the wait. Wake when this record takes the queued data across a multiple of
	 * wakeup_bytes (once per crossing, not on every record above it: each wakeup is an irq_work
	 * self-IPI); the window of two records tolerates the other CPU reserving in between. Past
	 * twice wakeup_bytes user space is falling behind: then every record wakes it, as before. */
	__u64 wake = BPF_RB_NO_WAKEUP;
	if (!wakeup_bytes) {
		wake = BPF_RB_FORCE_WAKEUP;
	} else {
		__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
		__u64 before = avail > 2 * RECORD_BYTES ? avail - 2 * RECORD_BYTES : 0;
		if (avail >= 2 * wakeup_bytes || avail / wakeup_bytes != before / wakeup_bytes)
			wake = BPF_RB_FORCE_WAKEUP;
	}
	bpf_ringbuf_submit(out, wake);

update_state:
	if (st) {
		st->entered_ns = now;
		st->flags |= SS_ENTERED_KNOWN;
		if (!(st->flags & SS_FIRST_SEEN)) {
			st->first_seen_ns = now;
			st->flags |= SS_FIRST_SEEN;
		}
	}
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_set_state, struct sock *sk, int oldstate, int newstate)
{
	__u32 zero = 0;
	__u32 *busy = bpf_map_lookup_elem(&running, &zero);
	if (busy)
		*busy = 1;
	handle(sk, oldstate, newstate);
	if (busy)
		*busy = 0;
	return 0;
}

/* The same work for hits that arrive while handle_set_state is running on this CPU (the
 * kernel skips a program that is already running); otherwise returns at once. It cannot be
 * nested itself: it then runs in softirq, which interrupts do not preempt with more softirq. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_nested, struct sock *sk, int oldstate, int newstate)
{
	__u32 zero = 0;
	__u32 *busy = bpf_map_lookup_elem(&running, &zero);
	if (!busy || !*busy)
		return 0;
	count(TCPTRACE_CTR_NESTED);
	handle(sk, oldstate, newstate);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

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

static __always_inline bool passes_filters(const struct tcptrace_event *e, const struct sock_state *st)
{
	if (filter_family) {
		bool v4 = e->family == AF_INET || is_v4_mapped(e->daddr) || is_v4_mapped(e->saddr);
		if ((filter_family == 4) != v4)
			return false;
	}
	if (n_ports && !port_in(ports, n_ports, e->lport) && !port_in(ports, n_ports, e->rport))
		return false;
	if (n_lports && !port_in(lports, n_lports, e->lport))
		return false;
	if (n_rports && !port_in(rports, n_rports, e->rport))
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

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_set_state, struct sock *sk, int oldstate, int newstate)
{
	/* Cheap rejection first: the tracepoint also fires for SCTP and MPTCP. */
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
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
	struct tcptrace_event ev = {};
	struct tcptrace_event *e = &ev;
	e->family = sk->__sk_common.skc_family;
	e->lport = sk->__sk_common.skc_num;
	if (e->lport == 0) /* already unhashed at some CLOSE transitions */
		e->lport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	e->rport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (e->family == AF_INET) {
		*(__u32 *)e->saddr = sk->__sk_common.skc_rcv_saddr;
		*(__u32 *)e->daddr = sk->__sk_common.skc_daddr;
	} else if (e->family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}

	bool matched = st && (st->flags & SS_MATCHED);
	if (!matched && !passes_filters(e, st)) {
		count(TCPTRACE_CTR_FILTERED);
		goto update_state;
	}
	if (st)
		st->flags |= SS_MATCHED;

	struct tcptrace_event *out = bpf_ringbuf_reserve(&events, sizeof(*out), 0);
	if (!out) {
		count(TCPTRACE_CTR_RINGBUF_FULL);
		goto update_state;
	}
	__builtin_memcpy(out, e, sizeof(*out));
	out->ts_ns = now;
	out->cookie = bpf_get_socket_cookie(sk);
	out->pid = pid_tgid >> 32;
	out->tid = (__u32)pid_tgid;
	out->oldstate = oldstate;
	out->newstate = newstate;
	bpf_get_current_comm(out->comm, sizeof(out->comm));
	if (st) {
		if (st->flags & SS_ENTERED_KNOWN) {
			out->ns_in_old = now - st->entered_ns;
			out->flags |= TCPTRACE_F_HAS_OLD_DURATION;
		}
		if (st->flags & SS_FIRST_SEEN) {
			out->first_seen_ns = st->first_seen_ns;
			out->flags |= TCPTRACE_F_HAS_FIRST_SEEN;
		}
		if (st->flags & SS_OWNER) {
			out->owner_pid = st->owner_pid;
			__builtin_memcpy(out->owner_comm, st->owner_comm, sizeof(out->owner_comm));
			out->flags |= TCPTRACE_F_HAS_OWNER;
		}
		if (!st->inode) {
			struct socket *so = sk->sk_socket;
			if (so)
				st->inode = BPF_CORE_READ(so, file, f_inode, i_ino);
		}
		if (st->inode) {
			out->inode = st->inode;
			out->flags |= TCPTRACE_F_HAS_INODE;
		}
	}
	if (newstate == TCP_CLOSE_WAIT || newstate == TCP_CLOSE) {
		/* Sequence space received but not read: unread bytes, plus 1 for a FIN received.
		 * At FIN_WAIT2->CLOSE it tells TIME_WAIT (peer's FIN in) from an orphan timeout. */
		struct tcp_sock *tp = (struct tcp_sock *)sk;
		out->rcv_queue = BPF_CORE_READ(tp, rcv_nxt) - BPF_CORE_READ(tp, copied_seq);
		out->flags |= TCPTRACE_F_HAS_RCV_QUEUE;
	}
	if (newstate == TCP_CLOSE) {
		struct tcp_sock *tp = (struct tcp_sock *)sk;
		out->bytes_acked = BPF_CORE_READ(tp, bytes_acked);
		out->bytes_received = BPF_CORE_READ(tp, bytes_received);
		out->total_retrans = BPF_CORE_READ(tp, total_retrans);
		out->srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
		out->flags |= TCPTRACE_F_HAS_STATS;
	}

	/* Batch wakeups: user space polls on a short timeout and drains whatever is queued. */
	__u64 wake = BPF_RB_NO_WAKEUP;
	if (!wakeup_bytes || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		wake = BPF_RB_FORCE_WAKEUP;
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
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

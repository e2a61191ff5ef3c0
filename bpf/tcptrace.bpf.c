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
/* Containers: the socket's network namespace (inode; 0: any), and its cgroup v2 subtree: the
 * socket's cgroup is filter_cgroup_id or below it (0: any). filter_cgroup_level is that cgroup's
 * level (the root is 0), set by user space with the id. */
const volatile __u32 filter_netns = 0;
const volatile __u64 filter_cgroup_id = 0;
const volatile __u32 filter_cgroup_level = 0;

/* 1: aggregated mode (see struct tcptrace_batch): set when transitions are not printed. */
const volatile __u8 aggregate = 0;

/* Tests only: hits the program ignores as though the kernel had run neither program for them,
 * to make a gap (TCPTRACE_CTR_UNSEEN): the transition test_skip_old -> test_skip_new of sockets
 * whose remote port is test_skip_rport. 0: none (the verifier drops the check). */
const volatile __u16 test_skip_rport = 0;
const volatile __u8 test_skip_old = 0, test_skip_new = 0;
/* Tests only: also skip the destruction of those sockets (handle_destroy), as the kernel does
 * when it runs no program for a socket's last transitions (docs/benchmarks.md). */
const volatile __u8 test_skip_destroy = 0;

/* Anchor the records' structs in the object's BTF so a test can compare their layouts. */
const volatile struct tcptrace_event *const abi_event_anchor = 0;
const volatile struct tcptrace_batch *const abi_batch_anchor = 0;

/* Bytes a record takes in the ring: the record plus the ring's 8-byte header. */
#define RECORD_BYTES(size) ((size) + 8)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* resized by user space before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCPTRACE_ROWS * TCPTRACE_CTR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Written by user space: [0] is 1 once the run is stopping (the tracepoint's programs are being
 * detached): a socket destroyed from then on may hold transitions that no one will send, which
 * is not a skip (see handle_destroy). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} control SEC(".maps");

/* Per CPU: the identity (see event_id) of the hit handle_set_state last started on, or 0 once
 * handle_nested has looked at it. See "Exactly once" below. */
struct nested_scratch {
	__u64 handled;
	__u64 frame; /* scratch for on_task_stack */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nested_scratch);
} handled SEC(".maps");

enum sock_state_flag {
	SS_ENTERED_KNOWN = 1 << 0, /* entered_ns is when the socket entered its current state */
	SS_OWNER = 1 << 1,
	SS_MATCHED = 1 << 2, /* passed the filters once: later transitions pass too */
	SS_GAP = 1 << 3,     /* a gap was found since the socket's last record: the next one says so */
};

enum place_flag {
	PLACE_READ = 1 << 0,      /* read from the socket (once: a socket never changes either) */
	PLACE_NETNS = 1 << 1,     /* netns is known */
	PLACE_CGROUP = 1 << 2,    /* cgroup_id is known */
	PLACE_IN_SUBTREE = 1 << 3, /* the cgroup is filter_cgroup_id or below it */
};

/* Where a socket lives: its network namespace and cgroup v2. */
struct place {
	__u64 cgroup_id;
	__u32 netns;
	__u32 flags; /* enum place_flag */
};

/* Aggregated mode: the transitions not yet sent (the earlier ones of the next batch) and the
 * socket's endpoints merged over them (the latest known value of each). */
struct pending {
	__u64 entered_ns; /* when the socket entered old[0] (entered_known) */
	__u64 ts_ns[TCPTRACE_BATCH_MAX - 1];
	__u8 old[TCPTRACE_BATCH_MAX - 1];
	__u8 new[TCPTRACE_BATCH_MAX - 1];
	__u8 n;
	__u8 entered_known;
	__u16 lport;
	__u16 rport;
	__u64 saddr[2];
	__u64 daddr[2];
};

/* Per-socket state; dies with the socket. BPF_F_CLONE copies a listener's storage (its
 * owner) into each child socket it creates. */
struct sock_state {
	__u64 entered_ns;
	__u64 inode;
	struct place place;
	__u32 owner_pid;
	__u32 flags;
	char owner_comm[TCPTRACE_COMM_LEN];
	/* The new state of the socket's last hit; 0: none seen since the storage was created (a
	 * socket older than the tracer). A child's is its listener's copy: LISTEN. */
	__u8 last_state;
	struct pending pending;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct sock_state);
} sockets SEC(".maps");

/* 1 (set by user space on Linux 6.1 and later): counters take plain adds. The row is the
 * running program's own (see enum tcptrace_counter_row): handle_nested can run in softirq in the
 * middle of handle_set_state's add on the same CPU, and handle_destroy in the middle of either,
 * but none in the middle of its own, since 6.1 skips a tracing program on a CPU where it is
 * already running (also on PREEMPT_RT, where a program can be preempted: the CPU's count of the
 * program stays raised while it is). Before 6.1 a raw tracepoint program could nest in itself:
 * atomic adds (~10 ns a hit more). */
const volatile __u8 plain_adds = 0;

static __always_inline void count_n(__u32 row, __u32 idx, __u64 n)
{
	__u32 key = row * TCPTRACE_CTR_MAX + idx;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);
	if (!v)
		return;
	if (plain_adds)
		*v += n;
	else
		__sync_fetch_and_add(v, n);
}

static __always_inline void count(__u32 row, __u32 idx)
{
	count_n(row, idx, 1);
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

/* The port filters: either side in ports, the local port in lports, the remote in rports. */
static __always_inline bool ports_pass(__u16 lport, __u16 rport)
{
	if (n_ports && !port_in(ports, n_ports, lport) && !port_in(ports, n_ports, rport))
		return false;
	if (n_lports && !port_in(lports, n_lports, lport))
		return false;
	if (n_rports && !port_in(rports, n_rports, rport))
		return false;
	return true;
}

/* The run has port filters: perf's skip counter is filtered on the same ports. */
#define HAS_PORT_FILTERS (n_ports || n_lports || n_rports)

static __always_inline bool stopping(void)
{
	__u32 zero = 0;
	__u32 *v = bpf_map_lookup_elem(&control, &zero);
	return v && *v;
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

/* The socket's cgroup v2 (struct cgroup *) as an address to read through, or 0 when unknown.
 * sk_cgrp_data is the socket's own: set when it is created, from the creating task's cgroup, and
 * for an accepted socket copied from its listener when the kernel clones it (in softirq, from
 * the listener, not the task in context). A socket never moves to another cgroup v2: checked
 * with `ss --cgroup` (sock_diag reads the same field), an accepted socket shows its listener's
 * cgroup, not that of the client whose final ACK created it. */
static __always_inline __u64 socket_cgroup(const struct sock *sk)
{
	if (!bpf_core_field_exists(sk->sk_cgrp_data)) /* CONFIG_SOCK_CGROUP_DATA */
		return 0;
	if (bpf_core_field_exists(sk->sk_cgrp_data.cgroup)) { /* 5.15 and later */
		struct cgroup *cg = 0;
		bpf_core_read(&cg, sizeof(cg), &sk->sk_cgrp_data.cgroup);
		return (__u64)cg;
	}
	/* Before 5.15: a pointer, unless cgroup v1 net_prio/net_cls data took the word over (a low
	 * bit set: the kernel then says "root", which is not known to be true). */
	struct sock_cgroup_data___val *old = (void *)&sk->sk_cgrp_data;
	if (!bpf_core_field_exists(old->val))
		return 0;
	__u64 v = BPF_CORE_READ(old, val);
	return v & 3 ? 0 : v;
}

/* The id of the ancestor of cgroup `cg` (an address) at `level` (itself at its own level), or 0
 * when `cg` is above that level. */
static __always_inline __u64 cgroup_ancestor_id(__u64 cg, __u32 level)
{
	struct cgroup *c = (void *)cg;
	int own = BPF_CORE_READ(c, level);
	if (own < 0 || (__u32)own < level)
		return 0;
	if (bpf_core_field_exists(c->ancestors)) { /* 6.0 and later: pointers */
		__u64 a = 0;
		bpf_probe_read_kernel(&a, sizeof(a), (void *)(cg + bpf_core_field_offset(c->ancestors) + level * sizeof(a)));
		return a ? BPF_CORE_READ((struct cgroup *)a, kn, id) : 0;
	}
	struct cgroup___ancestor_ids *old = (void *)cg; /* before 6.0: ids */
	if (!bpf_core_field_exists(old->ancestor_ids))
		return 0;
	__u64 id = 0;
	bpf_probe_read_kernel(&id, sizeof(id), (void *)(cg + bpf_core_field_offset(old->ancestor_ids) + level * sizeof(id)));
	return id;
}

/* Reads where the socket lives from the socket itself, valid in any context: the task in context
 * (often softirq, or on loopback the peer) says nothing about it. */
static __always_inline void read_place(const struct sock *sk, struct place *p)
{
	p->netns = 0;
	p->cgroup_id = 0;
	p->flags = PLACE_READ;
	if (bpf_core_field_exists(sk->__sk_common.skc_net.net)) { /* CONFIG_NET_NS */
		/* Trusted BTF pointers (tp_btf): plain loads. */
		struct net *net = sk->__sk_common.skc_net.net;
		if (net) {
			p->netns = net->ns.inum;
			if (p->netns)
				p->flags |= PLACE_NETNS;
		}
	}
	__u64 cg = socket_cgroup(sk);
	if (!cg)
		return;
	/* cgroup_id(): the kernfs node's id, which is the inode of the cgroup's directory. */
	p->cgroup_id = BPF_CORE_READ((struct cgroup *)cg, kn, id);
	if (p->cgroup_id)
		p->flags |= PLACE_CGROUP;
	if (filter_cgroup_id && cgroup_ancestor_id(cg, filter_cgroup_level) == filter_cgroup_id)
		p->flags |= PLACE_IN_SUBTREE;
}

static __always_inline bool passes_filters(const struct sock *sk, __u16 family, __u16 lport, __u16 rport,
					   const struct sock_state *st, const struct place *here)
{
	/* An unknown netns or cgroup does not pass: membership cannot be shown. */
	if (filter_netns && (!(here->flags & PLACE_NETNS) || here->netns != filter_netns))
		return false;
	if (filter_cgroup_id && !(here->flags & PLACE_IN_SUBTREE))
		return false;
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
	if (!ports_pass(lport, rport))
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

/* The socket's addresses as the tracepoint reads them, into 16 bytes each (IPv4 in the first 4). */
static __always_inline void read_endpoints(const struct sock *sk, __u16 family, __u64 *sa, __u64 *da)
{
	if (family == AF_INET6) {
		BPF_CORE_READ_INTO((__u8(*)[16])sa, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO((__u8(*)[16])da, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		sa[0] = family == AF_INET ? sk->__sk_common.skc_rcv_saddr : 0;
		sa[1] = 0;
		da[0] = family == AF_INET ? sk->__sk_common.skc_daddr : 0;
		da[1] = 0;
	}
}

/* The task's view (pid, comm), the socket's place, owner, inode, state change, durations and, at
 * ->CLOSE_WAIT and ->CLOSE, the receive queue and counters: every field but the addresses and
 * kind, which the caller writes. */
static __always_inline void fill_event(struct tcptrace_event *out, struct sock *sk, int oldstate, int newstate,
				       __u64 now, __u64 cookie, __u64 pid_tgid, const struct place *here,
				       struct sock_state *st, __u16 family, __u16 lport, __u16 rport)
{
	__u32 flags = 0;
	out->ts_ns = now;
	out->cookie = cookie;
	out->ns_in_old = 0;
	out->inode = 0;
	out->bytes_acked = 0;
	out->bytes_received = 0;
	out->total_retrans = 0;
	out->srtt_us = 0;
	out->rcv_queue = 0;
	out->sk_err = 0;
	out->pid = pid_tgid >> 32;
	out->owner_pid = 0;
	out->netns = here->netns;
	out->cgroup_id = here->cgroup_id;
	if (here->flags & PLACE_NETNS)
		flags |= TCPTRACE_F_HAS_NETNS;
	if (here->flags & PLACE_CGROUP)
		flags |= TCPTRACE_F_HAS_CGROUP;
	out->family = family;
	out->lport = lport;
	out->rport = rport;
	out->oldstate = oldstate;
	out->newstate = newstate;
	bpf_get_current_comm(out->comm, sizeof(out->comm));
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
		if (st->flags & SS_GAP)
			flags |= TCPTRACE_F_GAP;
		if (st->flags & SS_ENTERED_KNOWN) {
			out->ns_in_old = now - st->entered_ns;
			flags |= TCPTRACE_F_HAS_OLD_DURATION;
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
				/* Set before tcp_done(): what a failed connect() returns. */
				out->sk_err = (__u16)sk->sk_err;
				flags |= TCPTRACE_F_HAS_STATS;
			}
		}
	}
	out->flags = flags;
}

/* The inode of the socket's file, once it has one (read once, kept in storage). */
static __always_inline void note_inode(struct sock *sk, struct sock_state *st)
{
	if (st->inode)
		return;
	/* Trusted BTF pointers (tp_btf): plain loads, a NULL link reads as 0. */
	struct socket *so = sk->sk_socket;
	if (so)
		st->inode = so->file->f_inode->i_ino;
}

/* Batch wakeups: user space polls every 100 ms and drains whatever is queued, so a wakeup
 * only shortens the wait. Wake when this record takes the queued data across a multiple of
 * wakeup_bytes (once per crossing, not on every record above it: each wakeup is an irq_work
 * self-IPI); the window of two records tolerates the other CPU reserving in between. Past
 * twice wakeup_bytes user space is falling behind: then every record wakes it, as before. */
static __always_inline __u64 wake_flags(__u64 record_size)
{
	if (!wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 window = 2 * RECORD_BYTES(record_size);
	__u64 before = avail > window ? avail - window : 0;
	if (avail >= 2 * wakeup_bytes || avail / wakeup_bytes != before / wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* Whether an address is unspecified as user space sees it: all zero, or IPv4-mapped 0.0.0.0. */
static __always_inline bool unspecified(const __u64 *a)
{
	const __u32 *w = (const __u32 *)a;
	return (w[0] | w[1] | w[3]) == 0 && (w[2] == 0 || w[2] == bpf_htonl(0xffff));
}

/* Aggregated mode: one transition of a socket that has storage (see struct tcptrace_batch). Its
 * endpoints are merged into the pending batch the way user space's table merges them (a known
 * value replaces an unknown one, never the reverse); then it is either kept in storage or sent,
 * with the transitions kept before it, as one record. */
static __always_inline void aggregate_transition(struct sock *sk, int oldstate, int newstate, __u64 now,
						 __u64 cookie, __u64 pid_tgid, const struct place *here,
						 struct sock_state *st, __u16 family, __u16 lport, __u16 rport, __u32 row)
{
	struct pending *p = &st->pending;
	__u64 sa[2], da[2];
	read_endpoints(sk, family, sa, da);
	if (!unspecified(sa)) {
		p->saddr[0] = sa[0];
		p->saddr[1] = sa[1];
	}
	if (!unspecified(da)) {
		p->daddr[0] = da[0];
		p->daddr[1] = da[1];
	}
	if (lport)
		p->lport = lport;
	if (rport)
		p->rport = rport;
	note_inode(sk, st);

	__u32 n = p->n;
	if (n >= TCPTRACE_BATCH_MAX - 1) /* never more: sent when full below */
		n = TCPTRACE_BATCH_MAX - 1;
	if (newstate != TCP_CLOSE && newstate != TCP_CLOSE_WAIT && newstate != TCP_LISTEN &&
	    n < TCPTRACE_BATCH_MAX - 1) {
		if (n == 0) {
			p->entered_ns = st->entered_ns;
			p->entered_known = (st->flags & SS_ENTERED_KNOWN) != 0;
		}
		/* The 6.1 verifier loses the bound above (it sees n <= 255): a mask it can follow,
		 * kept by the barrier from being folded away (n < 7 already, so i == n). */
		_Static_assert((TCPTRACE_BATCH_MAX & (TCPTRACE_BATCH_MAX - 1)) == 0, "a mask");
		__u32 i = n;
		barrier_var(i);
		i &= TCPTRACE_BATCH_MAX - 1;
		p->ts_ns[i] = now;
		p->old[i] = oldstate;
		p->new[i] = newstate;
		p->n = n + 1;
		count(row, TCPTRACE_CTR_HELD_IN);
		return;
	}

	if (n)
		count_n(row, TCPTRACE_CTR_HELD_OUT, n);
	struct tcptrace_batch *b = bpf_ringbuf_reserve(&events, sizeof(*b), 0);
	if (!b) {
		count_n(row, TCPTRACE_CTR_RINGBUF_FULL, n + 1);
		goto sent;
	}
	/* The batch's endpoints: the merged ones. */
	__u64 *bs = (__u64 *)b->last.saddr, *bd = (__u64 *)b->last.daddr;
	bs[0] = p->saddr[0];
	bs[1] = p->saddr[1];
	bd[0] = p->daddr[0];
	bd[1] = p->daddr[1];
	fill_event(&b->last, sk, oldstate, newstate, now, cookie, pid_tgid, here, st, family, p->lport, p->rport);
	b->last.kind = TCPTRACE_KIND_BATCH;
	b->entered_ns = p->entered_ns;
	b->entered_known = n > 0 && p->entered_known;
	b->n_before = n;
	for (int i = 0; i < TCPTRACE_BATCH_MAX - 1; i++) {
		bool used = i < n;
		b->ts_ns[i] = used ? p->ts_ns[i] : 0;
		b->oldstate[i] = used ? p->old[i] : 0;
		b->newstate[i] = used ? p->new[i] : 0;
	}
	bpf_ringbuf_submit(b, wake_flags(sizeof(*b)));
	st->flags &= ~SS_GAP;
sent:
	/* The connection is over at CLOSE (the table drops its entry): a later connect() on the
	 * socket starts from no known endpoints, as its new table entry does. */
	if (newstate == TCP_CLOSE)
		__builtin_memset(p, 0, sizeof(*p));
	else
		p->n = 0;
}

/* Transitions mode: an accepted socket's LISTEN->SYN_RECV, held in its pending batch and sent
 * just before its next transition. Before 6.18 (seen on 6.1 and 6.12) the kernel gives the new
 * socket its own cookie only after that transition, which otherwise carries the listener's. */
static __always_inline void send_held_syn_recv(struct sock *sk, __u64 cookie, __u64 pid_tgid, const struct place *here,
					       struct sock_state *st, __u16 family, __u16 lport, __u16 rport, __u32 row)
{
	st->pending.n = 0;
	count(row, TCPTRACE_CTR_HELD_OUT);
	struct tcptrace_event *out = bpf_ringbuf_reserve(&events, sizeof(*out), 0);
	if (!out) {
		count(row, TCPTRACE_CTR_RINGBUF_FULL);
		return;
	}
	__u32 flags = st->flags;
	st->flags &= ~SS_ENTERED_KNOWN; /* its time in LISTEN is its listener's: unknown */
	read_endpoints(sk, family, (__u64 *)out->saddr, (__u64 *)out->daddr);
	fill_event(out, sk, TCP_LISTEN, TCP_SYN_RECV, st->pending.ts_ns[0], cookie, pid_tgid, here, st, family, lport, rport);
	st->flags = flags & ~SS_GAP;
	out->kind = TCPTRACE_KIND_TRANSITION;
	bpf_ringbuf_submit(out, wake_flags(sizeof(*out)));
}

/* Called for TCP sockets only (checked first by both programs: the tracepoint also fires for
 * SCTP and MPTCP). cookie is bpf_get_socket_cookie(sk). */
static __always_inline void handle(struct sock *sk, int oldstate, int newstate, __u64 cookie, __u32 row)
{
	if (test_skip_rport && oldstate == test_skip_old && newstate == test_skip_new &&
	    bpf_ntohs(sk->__sk_common.skc_dport) == test_skip_rport)
		return;
	count(row, TCPTRACE_CTR_SEEN);

	/* Identity and endpoints, the way the tracepoint itself reads them. */
	__u16 family = sk->__sk_common.skc_family;
	__u16 lport = sk->__sk_common.skc_num;
	if (lport == 0) /* already unhashed at some CLOSE transitions */
		lport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	__u16 rport = bpf_ntohs(sk->__sk_common.skc_dport);
	/* perf's skip counter is filtered on the tracepoint's sport and dport: inet_sport is
	 * always htons(skc_num) while skc_num is set (both are set together at bind, listen,
	 * connect and clone), and is read above when it is not. */
	if (HAS_PORT_FILTERS && ports_pass(lport, rport))
		count(row, TCPTRACE_CTR_PROBED);

	__u64 now = bpf_ktime_get_ns();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct sock_state *st = bpf_sk_storage_get(&sockets, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		count(row, TCPTRACE_CTR_NO_STORAGE);
	/* The socket left its last hit's state by hits that reached neither program. */
	bool gap = st && st->last_state && st->last_state != oldstate;

	/* A child's storage was cloned from its listener: keep the owner, forget the timing. Its
	 * place is read from the child itself (the kernel copied the listener's cgroup into it). */
	if (st && oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV) {
		st->flags &= SS_OWNER;
		st->inode = 0;
		st->place.flags = 0;
		__builtin_memset(&st->pending, 0, sizeof(st->pending));
	}

	/* Once per socket while it has storage; a copy, so that both cases are one plain value. */
	struct place here;
	if (st) {
		if (!(st->place.flags & PLACE_READ))
			read_place(sk, &st->place);
		here = st->place;
	} else {
		read_place(sk, &here);
	}

	if (st && in_owner_context(oldstate, newstate) &&
	    (!(st->flags & SS_OWNER) || newstate == TCP_SYN_SENT || newstate == TCP_LISTEN)) {
		st->owner_pid = pid_tgid >> 32;
		bpf_get_current_comm(st->owner_comm, sizeof(st->owner_comm));
		st->flags |= SS_OWNER;
	}

	bool matched = st && (st->flags & SS_MATCHED);
	if (!matched && !passes_filters(sk, family, lport, rport, st, &here)) {
		count(row, TCPTRACE_CTR_FILTERED);
		goto update_state;
	}
	if (st)
		st->flags |= SS_MATCHED;
	if (gap) {
		count(row, TCPTRACE_CTR_UNSEEN);
		st->flags |= SS_GAP;
	}

	if (aggregate && st) {
		aggregate_transition(sk, oldstate, newstate, now, cookie, pid_tgid, &here, st, family, lport, rport, row);
		goto update_state;
	}
	if (st && oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV) { /* see send_held_syn_recv */
		st->pending.ts_ns[0] = now;
		st->pending.n = 1;
		count(row, TCPTRACE_CTR_HELD_IN);
		goto update_state;
	}
	if (st && st->pending.n)
		send_held_syn_recv(sk, cookie, pid_tgid, &here, st, family, lport, rport, row);

	/* Filled in place in the ring: every byte is written (the slot is not zeroed). */
	struct tcptrace_event *out = bpf_ringbuf_reserve(&events, sizeof(*out), 0);
	if (!out) {
		count(row, TCPTRACE_CTR_RINGBUF_FULL);
		goto update_state;
	}
	if (st)
		note_inode(sk, st);
	read_endpoints(sk, family, (__u64 *)out->saddr, (__u64 *)out->daddr);
	fill_event(out, sk, oldstate, newstate, now, cookie, pid_tgid, &here, st, family, lport, rport);
	out->kind = TCPTRACE_KIND_TRANSITION;
	bpf_ringbuf_submit(out, wake_flags(sizeof(*out)));
	if (st)
		st->flags &= ~SS_GAP;

update_state:
	if (st) {
		st->entered_ns = now;
		st->flags |= SS_ENTERED_KNOWN;
		st->last_state = newstate;
	}
}

/* Exactly once: every hit is handled by exactly one of the two programs.
 *
 * The kernel runs the programs attached to the tracepoint one after the other, in attach order
 * (user space attaches handle_set_state, "M", before handle_nested, "N"), on one CPU with
 * preemption disabled. Around each program it increments a per-program, per-CPU counter
 * (prog->active) and skips the program, counting a recursion miss, if it was already non-zero:
 * the program is running on this CPU in an outer context. The only such nesting here is a
 * softirq (loopback packets, at the end of an interrupt) arriving while the tracepoint runs in
 * task context; softirq does not nest into softirq, so the depth is at most 1. For a hit X:
 *
 *   - X in task context: nothing is below it, so M(X) always runs. N returns (and clears).
 *   - X in softirq, interrupting task-context hit P: M(X) is skipped exactly when it arrives
 *     while the kernel has M marked active for P, which includes the kernel's prologue and
 *     epilogue around M's body; N(X) is skipped exactly when N is active for P. M and N are
 *     never active for P at the same time, so at least one of M(X), N(X) runs.
 *   - In softirq nothing else runs on this CPU between M(X) and N(X) (no tracepoint program
 *     can interrupt softirq), so N(X) knows M(X) ran by finding X's identity in `handled`,
 *     written by M at the start of its body and cleared by N.
 *
 * So N handles X iff X is in softirq and `handled` does not hold X's identity. If M(X) ran,
 * `handled` holds it (no duplicate). If M(X) was skipped, `handled` holds what the last body
 * on this CPU wrote: 0 (N clears it on every TCP hit), P's identity (M's body for P has
 * started), or, only if N(Y) was skipped for an earlier softirq hit Y that M handled (Y
 * arrived while N was active for a task-context hit, after N's body), Y's identity. Y == X as
 * identities would need the same socket (cookies are never reused) to make the same
 * transition (old, new) twice, the second time interrupting the very next task-context hit on
 * this CPU before M's body began, with no TCP hit on this CPU in between: not a practical
 * case, and the only one in which a hit is lost without being counted as a miss. Hits M
 * missed that N handled are counted (TCPTRACE_CTR_NESTED): the kernel's recursion_misses for M
 * minus that count is the loss, 0 except when both are impossible to tell apart as above.
 *
 * No flag set inside M's body is needed, which is what left windows before: a hit arriving
 * between the kernel marking M active and M's first instruction (or after its last) was
 * skipped by M and ignored by N. Task context is told from softirq by the stack the program
 * runs on (on_task_stack). On PREEMPT_RT softirqs run in threads and do not interrupt the
 * tracepoint this way. */

/* Whether the tracepoint was hit on the current task's stack (task context; also ksoftirqd,
 * which nothing here interrupts) rather than on the CPU's interrupt stack, where x86-64 and
 * arm64 run softirq that interrupts the kernel (at the end of a hardirq, or from
 * local_bh_enable()). Softirq at the end of an interrupt taken from user mode runs on the task
 * stack and counts as task context here: harmless, since it interrupted no tracepoint hit, so
 * handle_set_state ran for it. Only softirq that interrupted a task's hit matters; classifying
 * other softirq as such is harmless too, since handle_set_state then ran right before. (preempt_count() would say it directly, but it is a
 * per-CPU variable on x86, and typed ksyms of per-CPU variables need CONFIG_KALLSYMS_ALL, which
 * not every kernel has.)
 * task_stack_bytes is THREAD_SIZE, set by user space: max(16 KiB, page size), doubled on a
 * KASAN kernel (found by name in the kernel's BTF). Were it too small, task-context hits deep
 * in the stack would count as softirq, and a softirq hit between the two programs would then
 * make handle_nested deliver the task-context hit a second time. */
const volatile __u64 task_stack_bytes = 16384;

static __always_inline bool on_task_stack(struct nested_scratch *scratch, const void *ctx)
{
	volatile __u64 *slot = &scratch->frame;
	/* The tracepoint's arguments, on the stack of the kernel function that calls the program
	 * (the program's own frame can be on a private per-CPU stack, Linux 6.13+ on x86-64).
	 * Through memory, so that the verifier treats the address as a number (needs
	 * CAP_PERFMON, as tracing programs do anyway). */
	*slot = (__u64)ctx;
	__u64 frame = *slot;
	__u64 base = (__u64)bpf_get_current_task_btf()->stack;
	return frame - base < task_stack_bytes;
}

/* A hit's identity: the socket (cookies are unique for the life of the system, and below
 * 2^56) and the transition. Never 0: a cookie is at least 1. */
static __always_inline __u64 event_id(__u64 cookie, int oldstate, int newstate)
{
	return cookie << 8 | (__u64)(oldstate & 0xf) << 4 | (newstate & 0xf);
}

#include "opener.bpf.h"

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_set_state, struct sock *sk, int oldstate, int newstate)
{
	/* The identity is written for every hit, TCP or not: the kernel counts a skipped
	 * non-TCP hit as a recursion miss too, and handle_nested must account for it. */
	__u64 cookie = bpf_get_socket_cookie(sk);
	__u32 zero = 0;
	struct nested_scratch *last = bpf_map_lookup_elem(&handled, &zero);
	if (last)
		last->handled = event_id(cookie, oldstate, newstate);
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	/* connect(): always task context, so this program (not handle_nested) sees it. */
	if (capture_stacks && oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT)
		note_opener(ctx, cookie);
	handle(sk, oldstate, newstate, cookie, TCPTRACE_ROW_SET_STATE);
	return 0;
}

/* Handles the hits handle_set_state was skipped for; see "Exactly once" above. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_nested, struct sock *sk, int oldstate, int newstate)
{
	__u32 zero = 0;
	struct nested_scratch *last = bpf_map_lookup_elem(&handled, &zero);
	if (!last)
		return 0;
	if (on_task_stack(last, ctx)) {
		last->handled = 0;
		return 0;
	}
	__u64 cookie = bpf_get_socket_cookie(sk);
	__u64 seen = last->handled;
	last->handled = 0;
	if (seen == event_id(cookie, oldstate, newstate))
		return 0;
	/* handle_set_state was skipped for this hit: counted as caught even when it is not TCP
	 * (nothing to trace then), so that recursion misses minus this count is the loss. */
	count(TCPTRACE_ROW_NESTED, TCPTRACE_CTR_NESTED);
	if (sk->sk_protocol == IPPROTO_TCP)
		handle(sk, oldstate, newstate, cookie, TCPTRACE_ROW_NESTED);
	return 0;
}

/* A tracked socket destroyed in another state than the one its last hit left it in: its last
 * transitions reached neither program, and no later hit will show the gap. The transitions its
 * storage still held (the batch the missing CLOSE would have sent) die with it: counted too
 * (TCPTRACE_CTR_UNSEEN_HELD). Sockets without storage (older than the tracer, or never moved)
 * are not looked at. Once the run is stopping, the tracepoint's programs are gone and a socket
 * destroyed may hold transitions legitimately: taken out of the held count, nothing more. */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(handle_destroy, struct sock *sk)
{
	if (test_skip_destroy && test_skip_rport && bpf_ntohs(sk->__sk_common.skc_dport) == test_skip_rport)
		return 0;
	struct sock_state *st = bpf_sk_storage_get(&sockets, sk, 0, 0);
	if (!st)
		return 0;
	__u32 held = st->pending.n;
	if (held > TCPTRACE_BATCH_MAX)
		held = TCPTRACE_BATCH_MAX;
	if (stopping()) {
		if (held)
			count_n(TCPTRACE_ROW_DESTROY, TCPTRACE_CTR_HELD_OUT, held);
		return 0;
	}
	if (!st->last_state || !(st->flags & SS_MATCHED) || st->last_state == sk->__sk_common.skc_state)
		return 0;
	count(TCPTRACE_ROW_DESTROY, TCPTRACE_CTR_UNSEEN);
	if (held) {
		count_n(TCPTRACE_ROW_DESTROY, TCPTRACE_CTR_UNSEEN_HELD, held);
		count_n(TCPTRACE_ROW_DESTROY, TCPTRACE_CTR_HELD_OUT, held);
	}
	return 0;
}

/* Run by user space once per network namespace, at the end (after the tracepoint's programs
 * are detached): one byte per live TCP socket of the namespace whose storage holds
 * transitions, their number. What the counters say is held (HELD_IN - HELD_OUT) beyond the sum
 * over every namespace is what died with sockets whose end and destruction no program ran for. */
SEC("iter/tcp")
int sum_held(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	if (!skc)
		return 0;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	struct sock_state *st = bpf_sk_storage_get(&sockets, (struct sock *)tp, 0, 0);
	if (!st)
		return 0;
	__u8 n = st->pending.n;
	if (n)
		bpf_seq_write(ctx->meta->seq, &n, sizeof(n));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

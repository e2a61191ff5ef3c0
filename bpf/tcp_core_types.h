/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The few kernel types tcptrace.bpf.c reads, declared for CO-RE: libbpf relocates every field
 * access against the running kernel's BTF, so only names and types matter here, not layout.
 * A full vmlinux.h (130k lines) would work too; this keeps the build free of bpftool. */
#ifndef TCP_CORE_TYPES_H
#define TCP_CORE_TYPES_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <stdbool.h>

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct in6_addr {
	union {
		__u8 u6_addr8[16];
		__be16 u6_addr16[8];
		__be32 u6_addr32[4];
	} in6_u;
};

struct ns_common {
	unsigned int inum; /* the namespace's inode in nsfs (stat -L /proc/PID/ns/net) */
};

struct net {
	struct ns_common ns;
};

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
	struct {
		struct net *net; /* possible_net_t: empty without CONFIG_NET_NS */
	} skc_net;
	struct {
		__s64 counter; /* atomic64_t: 0 until bpf_get_socket_cookie or sock_diag set it */
	} skc_cookie;
};

struct kernfs_node {
	__u64 id; /* the cgroup id: the inode of the cgroup's directory (64-bit kernels) */
};

/* Linux 6.0 and later: ancestors[level] is this cgroup's ancestor at that level (itself at its
 * own level, the root at 0). */
struct cgroup {
	struct kernfs_node *kn;
	int level;
	struct cgroup *ancestors[];
};

/* Before 6.0: the ancestors' ids instead. */
struct cgroup___ancestor_ids {
	int level;
	__u64 ancestor_ids[];
};

/* Linux 5.15 and later. */
struct sock_cgroup_data {
	struct cgroup *cgroup;
};

/* Before 5.15: one word, a struct cgroup pointer, or data (net_prio/net_cls in use on cgroup v1)
 * when either of its two low bits is set; the kernel then takes the socket to be in the root. */
struct sock_cgroup_data___val {
	__u64 val;
};

struct inode {
	unsigned long i_ino;
};

struct file {
	struct inode *f_inode;
	void *private_data; /* a socket's file: its struct socket */
};

struct sock;

struct socket {
	struct file *file;
	struct sock *sk;
};

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
};

struct files_struct {
	struct fdtable *fdt;
};

struct sock {
	struct sock_common __sk_common;
	__u16 sk_protocol;
	struct socket *sk_socket;
	struct sock_cgroup_data sk_cgrp_data; /* CONFIG_SOCK_CGROUP_DATA (cgroups and net) */
	int sk_err;
};

struct inet_sock {
	struct sock sk;
	__be16 inet_sport;
};

struct tcp_sock {
	__u32 rcv_nxt;
	__u32 copied_seq;
	__u32 srtt_us;
	__u32 total_retrans;
	__u64 bytes_received;
	__u64 bytes_acked;
};

/* The user registers saved at kernel entry (x86-64 names; only the stack pointer is read). */
struct pt_regs {
	unsigned long sp;
};

struct task_struct {
	void *stack; /* the task's kernel stack, THREAD_SIZE bytes */
	struct files_struct *files;
};

/* The TCP socket iterator's context (include/linux/bpf.h, net/ipv4/tcp_ipv4.c). (The
 * bpf_sk_storage_map iterator would walk the storage directly, but some kernels refuse to load
 * it: EPERM on a 6.18 build.) */
struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
};

struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
	__u32 uid;
};

#pragma clang attribute pop

#endif /* TCP_CORE_TYPES_H */

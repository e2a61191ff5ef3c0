/* SPDX-License-Identifier: GPL-2.0 */
/* Opener stacks: where the application created each connection (see struct tcptrace_opener).
 * Included by tcptrace.bpf.c; only the connect and accept paths run this, never per event. */
#ifndef OPENER_BPF_H
#define OPENER_BPF_H

/* 1: take opener stacks (--opener-stacks). */
const volatile __u8 capture_stacks = 0;

const volatile struct tcptrace_opener *const abi_opener_anchor = 0;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, TCPTRACE_MAX_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, TCPTRACE_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TCPTRACE_MAX_OPENERS);
	__type(key, __u64); /* socket cookie */
	__type(value, struct tcptrace_opener);
} openers SEC(".maps");

/* The calling thread's user stack, remembered for the socket `cookie`. A failed capture is
 * kept too (negative stack_id): user space counts it rather than guessing. */
static __always_inline void note_opener(void *ctx, __u64 cookie)
{
	struct tcptrace_opener o = {};
	o.ts_ns = bpf_ktime_get_ns();
	o.tgid = bpf_get_current_pid_tgid() >> 32;
	o.stack_id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs)) { /* 5.15 */
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
		__u64 sp = BPF_CORE_READ(regs, sp);
		if (bpf_probe_read_user(o.stack_top, sizeof(o.stack_top), (void *)sp))
			__builtin_memset(o.stack_top, 0, sizeof(o.stack_top));
	}
	bpf_map_update_elem(&openers, &cookie, &o, BPF_ANY);
}

/* accept()'s return, in the accepting thread: the new fd's socket, if TCP, gets the opener. */
struct syscall_exit_args {
	__u64 common; /* common_type, flags, preempt_count, pid */
	__s64 nr;     /* __syscall_nr (int, padded) */
	__s64 ret;
};

static __always_inline int note_accepted(struct syscall_exit_args *args)
{
	if (!capture_stacks)
		return 0;
	__s64 fd = args->ret;
	if (fd < 0)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f)
		return 0;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	if (!sock)
		return 0;
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	/* Set by the state-change program at the handshake (it asks for the cookie). */
	__u64 cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	if (!cookie)
		return 0;
	note_opener(args, cookie);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int note_accept4(struct syscall_exit_args *args)
{
	return note_accepted(args);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int note_accept(struct syscall_exit_args *args)
{
	return note_accepted(args);
}

#endif /* OPENER_BPF_H */

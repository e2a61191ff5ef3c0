#include "CTcptraceProgram.h"

#define FIELD(f) { #f, offsetof(struct tcptrace_event, f), sizeof(((struct tcptrace_event *)0)->f) }
const struct tcptrace_field_layout tcptrace_event_fields[] = {
	FIELD(ts_ns), FIELD(cookie), FIELD(ns_in_old), FIELD(inode), FIELD(cgroup_id),
	FIELD(bytes_acked), FIELD(bytes_received), FIELD(total_retrans), FIELD(srtt_us),
	FIELD(rcv_queue), FIELD(pid), FIELD(owner_pid), FIELD(netns), FIELD(family), FIELD(lport),
	FIELD(rport), FIELD(oldstate), FIELD(newstate), FIELD(saddr), FIELD(daddr), FIELD(comm),
	FIELD(owner_comm), FIELD(flags), FIELD(kind), FIELD(sk_err),
};
const size_t tcptrace_event_field_count = sizeof(tcptrace_event_fields) / sizeof(tcptrace_event_fields[0]);

#define BATCH_FIELD(f) { #f, offsetof(struct tcptrace_batch, f), sizeof(((struct tcptrace_batch *)0)->f) }
const struct tcptrace_field_layout tcptrace_batch_fields[] = {
	BATCH_FIELD(last), BATCH_FIELD(entered_ns), BATCH_FIELD(ts_ns), BATCH_FIELD(oldstate),
	BATCH_FIELD(newstate), BATCH_FIELD(n_before), BATCH_FIELD(entered_known),
};
const size_t tcptrace_batch_field_count = sizeof(tcptrace_batch_fields) / sizeof(tcptrace_batch_fields[0]);

const unsigned char *tcptrace_bpf_object_ptr(void)
{
	return tcptrace_bpf_object;
}

const struct tcptrace_field_layout *tcptrace_event_fields_ptr(void)
{
	return tcptrace_event_fields;
}

const struct tcptrace_field_layout *tcptrace_batch_fields_ptr(void)
{
	return tcptrace_batch_fields;
}

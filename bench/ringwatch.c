// SPDX-License-Identifier: GPL-2.0
/* ringwatch: how full a process's BPF ring buffer gets, and whether its threads wait for a CPU.
 *
 *   ringwatch PID [-i MICROSECONDS] [-t SECONDS] [-s SERIES_FILE]
 *
 * Finds the ring buffer map among PID's descriptors (/proc/PID/fdinfo, map_type 27), maps its
 * consumer and producer position pages read-only (a second mapping of the same pages, so the
 * traced process is not disturbed) and samples both every interval (default 1 ms) until PID
 * exits or the time is up. Each sample also reads /proc/PID/task/TID/schedstat for every
 * thread: time on CPU and time runnable but waiting for one (run_delay).
 * Prints one line: the ring size, the largest fill (bytes and % of the ring), the share of
 * samples above 25/50/75/90% full, and per thread the CPU and run-queue wait over the watch.
 * With -s, writes "ms fill_bytes cpu_ms_total wait_ms_total" every 10th sample (threads' schedstat
 * is read then too).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The id and size of the first ring buffer map PID holds; 0 if none. */
static unsigned find_ring(int pid, unsigned long *size)
{
	char path[320], line[256];
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	unsigned id = 0;
	while (!id && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", pid, e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		int ring = 0;
		unsigned mid = 0;
		unsigned long entries = 0;
		while (fgets(line, sizeof(line), f)) {
			unsigned v;
			if (sscanf(line, "map_type: %u", &v) == 1)
				ring = v == BPF_MAP_TYPE_RINGBUF;
			sscanf(line, "map_id: %u", &mid);
			sscanf(line, "max_entries: %lu", &entries);
		}
		fclose(f);
		if (ring && mid) {
			id = mid;
			*size = entries;
		}
	}
	closedir(d);
	return id;
}

struct thread {
	int tid;
	char comm[32];
	unsigned long long cpu0, wait0, cpu, wait;
};

static int read_schedstat(int pid, struct thread *t)
{
	char path[320];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, t->tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int ok = fscanf(f, "%llu %llu", &t->cpu, &t->wait) == 2;
	fclose(f);
	return ok ? 0 : -1;
}

static int list_threads(int pid, struct thread *ts)
{
	char path[320];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)) && n < MAX_THREADS) {
		if (e->d_name[0] == '.')
			continue;
		struct thread *t = &ts[n];
		memset(t, 0, sizeof(*t));
		t->tid = atoi(e->d_name);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, t->tid);
		FILE *f = fopen(path, "r");
		if (f) {
			if (fgets(t->comm, sizeof(t->comm), f))
				t->comm[strcspn(t->comm, "\n")] = 0;
			fclose(f);
		}
		if (read_schedstat(pid, t) == 0) {
			t->cpu0 = t->cpu;
			t->wait0 = t->wait;
			n++;
		}
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: ringwatch PID [-i MICROSECONDS] [-t SECONDS] [-s FILE]\n");
		return 64;
	}
	int pid = atoi(argv[1]);
	long interval_us = 1000;
	double limit = 600;
	const char *series_path = NULL;
	int opt;
	optind = 2;
	while ((opt = getopt(argc, argv, "i:t:s:")) != -1) {
		switch (opt) {
		case 'i': interval_us = atol(optarg); break;
		case 't': limit = atof(optarg); break;
		case 's': series_path = optarg; break;
		default: return 64;
		}
	}
	unsigned long size = 0;
	unsigned id = find_ring(pid, &size);
	if (!id) {
		fprintf(stderr, "ringwatch: no ring buffer map held by %d\n", pid);
		return 1;
	}
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.map_id = id;
	int fd = syscall(SYS_bpf, BPF_MAP_GET_FD_BY_ID, &attr, sizeof(attr));
	if (fd < 0) {
		perror("ringwatch: BPF_MAP_GET_FD_BY_ID");
		return 1;
	}
	long page = sysconf(_SC_PAGESIZE);
	volatile uint64_t *consumer = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	volatile uint64_t *producer = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, page);
	if (consumer == MAP_FAILED || producer == MAP_FAILED) {
		perror("ringwatch: mmap");
		return 1;
	}
	FILE *series = series_path ? fopen(series_path, "w") : NULL;
	struct thread ts[MAX_THREADS];
	int nt = list_threads(pid, ts);
	unsigned long long samples = 0, above[4] = {0};
	uint64_t max_fill = 0;
	double t0 = now(), max_at = 0;
	while (kill(pid, 0) == 0 && now() - t0 < limit) {
		uint64_t c = __atomic_load_n(consumer, __ATOMIC_ACQUIRE);
		uint64_t p = __atomic_load_n(producer, __ATOMIC_ACQUIRE);
		uint64_t fill = p > c ? p - c : 0;
		samples++;
		if (fill > max_fill) {
			max_fill = fill;
			max_at = now() - t0;
		}
		for (int i = 0; i < 4; i++)
			above[i] += fill * 100 > size * (unsigned long)(i == 3 ? 90 : 25 * (i + 1));
		if (samples % 10 == 0) {
			unsigned long long cpu = 0, wait = 0;
			for (int i = 0; i < nt; i++)
				if (read_schedstat(pid, &ts[i]) == 0) {
					cpu += ts[i].cpu - ts[i].cpu0;
					wait += ts[i].wait - ts[i].wait0;
				}
			if (series)
				fprintf(series, "%.1f %lu %.1f %.1f\n", (now() - t0) * 1e3, (unsigned long)fill, cpu / 1e6, wait / 1e6);
		}
		usleep(interval_us);
	}
	printf("ring %lu KB max %lu KB (%.0f%%) at %.2f s; samples %llu, above 25%% %llu, 50%% %llu, 75%% %llu, 90%% %llu;",
	       size >> 10, (unsigned long)(max_fill >> 10), 100.0 * max_fill / size, max_at, samples, above[0], above[1],
	       above[2], above[3]);
	for (int i = 0; i < nt; i++)
		printf(" %s[%d] cpu %.0f ms wait %.0f ms;", ts[i].comm, ts[i].tid, (ts[i].cpu - ts[i].cpu0) / 1e6,
		       (ts[i].wait - ts[i].wait0) / 1e6);
	printf("\n");
	if (series)
		fclose(series);
	return 0;
}

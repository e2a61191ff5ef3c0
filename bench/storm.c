// SPDX-License-Identifier: GPL-2.0
/* storm: a loopback TCP connection storm for benchmarking state-transition tracers.
 *
 * C client threads connect() then close() at once; S server threads accept(), read EOF,
 * close(). Every connection makes exactly 10 TCP state transitions:
 *   client: CLOSE->SYN_SENT->ESTABLISHED->FIN_WAIT1->FIN_WAIT2->CLOSE (then TIME_WAIT)
 *   server: LISTEN->SYN_RECV->ESTABLISHED->CLOSE_WAIT->LAST_ACK->CLOSE
 * plus CLOSE->LISTEN and LISTEN->CLOSE for the listener itself.
 * Clients bind to source addresses spread over 127.0.0.0/8 (port chosen at connect time,
 * IP_BIND_ADDRESS_NO_PORT) so TIME_WAIT never exhausts the ephemeral ports.
 * Traffic stays on loopback; the run is bounded by --connections and --timeout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static long total = 100000;
static int clients = 2, servers = 2, port = 47000;
static double timeout_s = 600;
static long addr_offset; /* first source address: runs back to back avoid TIME_WAIT peers */
static int listen_fd = -1;
static atomic_long accepted, connected, failed;
static atomic_int stop;
static double t0;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "storm: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Source address number i: 127.1.0.1 upward, skipping .0 and .255 host bytes. */
static in_addr_t source_address(long i)
{
	unsigned a = (unsigned)(i % (250 * 250 * 250));
	unsigned x = 1 + a / (250 * 250), y = (a / 250) % 250, z = 1 + a % 250;
	return htonl((127u << 24) | (x << 16) | (y << 8) | z);
}

static void *client(void *arg)
{
	long id = (long)arg, done = 0;
	long share = total / clients + (id < total % clients ? 1 : 0);
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	for (long n = 0; n < share && !atomic_load(&stop); n++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket");
		int one = 1;
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		struct sockaddr_in src = { .sin_family = AF_INET,
					   .sin_addr.s_addr = source_address(addr_offset + n * clients + id) };
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
			die("bind");
		if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			atomic_fetch_add(&failed, 1);
			close(fd);
			continue;
		}
		atomic_fetch_add(&connected, 1);
		close(fd);
		done++;
		if ((n & 1023) == 0 && now() - t0 > timeout_s)
			atomic_store(&stop, 1);
	}
	return (void *)done;
}

static void *server(void *arg)
{
	(void)arg;
	char buf[256];
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break; /* listener shut down: done */
		}
		while (read(fd, buf, sizeof(buf)) > 0)
			; /* until EOF */
		close(fd);
		atomic_fetch_add(&accepted, 1);
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: storm [-n connections] [-c client-threads] [-s server-threads] "
			"[-p port] [-t timeout-seconds] [-o first-address-index] [-q]\n");
	exit(64);
}

int main(int argc, char **argv)
{
	int quiet = 0, opt;
	while ((opt = getopt(argc, argv, "n:c:s:p:t:o:qh")) != -1) {
		switch (opt) {
		case 'n': total = atol(optarg); break;
		case 'c': clients = atoi(optarg); break;
		case 's': servers = atoi(optarg); break;
		case 'p': port = atoi(optarg); break;
		case 't': timeout_s = atof(optarg); break;
		case 'o': addr_offset = atol(optarg); break;
		case 'q': quiet = 1; break;
		default: usage();
		}
	}
	if (total < 1 || clients < 1 || clients > 64 || servers < 1 || servers > 64 || port < 1 ||
	    port > 65535)
		usage();

	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		die("socket");
	int one = 1;
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in la = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(listen_fd, (struct sockaddr *)&la, sizeof(la)) < 0)
		die("bind listener");
	if (listen(listen_fd, 4096) < 0)
		die("listen");

	pthread_t st[64], ct[64];
	for (int i = 0; i < servers; i++)
		pthread_create(&st[i], NULL, server, NULL);
	t0 = now();
	for (long i = 0; i < clients; i++)
		pthread_create(&ct[i], NULL, client, (void *)i);
	for (int i = 0; i < clients; i++)
		pthread_join(ct[i], NULL);
	/* Wait (bounded) until the servers have closed every accepted connection. */
	long want = atomic_load(&connected);
	while (atomic_load(&accepted) < want && now() - t0 < timeout_s + 10)
		usleep(1000);
	double elapsed = now() - t0;
	shutdown(listen_fd, SHUT_RDWR);
	for (int i = 0; i < servers; i++)
		pthread_join(st[i], NULL);
	close(listen_fd);

	long c = atomic_load(&connected), a = atomic_load(&accepted), f = atomic_load(&failed);
	if (quiet)
		printf("%.0f\n", c / elapsed);
	else
		printf("connections %ld accepted %ld failed %ld seconds %.3f conn_per_s %.0f\n", c, a,
		       f, elapsed, c / elapsed);
	return (c == total && a == total && f == 0) ? 0 : 2;
}

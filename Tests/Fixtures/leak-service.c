/* A service that leaks CLOSE_WAIT sockets three ways, for LeakGroupTests (build with
 * -fno-omit-frame-pointer): 30 client sockets from fetch_from_backend() (the peer closes at
 * once; nothing unread), 20 from fetch_from_cache() (the peer sends 10 bytes and closes; never
 * read), and 15 connections left in the queue of a listener it never accepts on; with the
 * argument `accepted`, also 10 connections accept_request() accepts and never closes (the peer
 * closes). A child process plays every peer. Prints "ready PID …" when all are in place, then
 * sleeps until killed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int listener(struct sockaddr_in *a, int backlog)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	socklen_t n = sizeof(*a);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)a, sizeof(*a)) || listen(s, backlog) || getsockname(s, (struct sockaddr *)a, &n)) {
		perror("listener");
		exit(1);
	}
	return s;
}

__attribute__((noinline)) static int fetch_from_backend(const struct sockaddr_in *a)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(s, (const struct sockaddr *)a, sizeof(*a))) {
		perror("connect backend");
		exit(1);
	}
	return s; /* never closed */
}

__attribute__((noinline)) static int fetch_from_cache(const struct sockaddr_in *a)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(s, (const struct sockaddr *)a, sizeof(*a))) {
		perror("connect cache");
		exit(1);
	}
	return s; /* never read, never closed */
}

__attribute__((noinline)) static int accept_request(int l)
{
	int c = accept(l, NULL, NULL);
	if (c < 0) {
		perror("accept");
		exit(1);
	}
	return c; /* never closed */
}

int main(int argc, char **argv)
{
	struct sockaddr_in backend, cache, queue, served;
	int accepted = argc > 1 && strcmp(argv[1], "accepted") == 0 ? 10 : 0;
	int lb = listener(&backend, 64), lc = listener(&cache, 64), lq = listener(&queue, 64), ls = listener(&served, 64);
	int go[2];
	if (pipe(go)) return 1;
	pid_t peer = fork();
	if (peer == 0) {
		/* The peers: close backend connections at once, send 10 bytes on cache ones, then
		 * connect to the queue listener and close. */
		close(lq);
		close(go[0]);
		for (int i = 0; i < 30; i++) {
			int c = accept(lb, NULL, NULL);
			close(c);
		}
		for (int i = 0; i < 20; i++) {
			int c = accept(lc, NULL, NULL);
			if (write(c, "0123456789", 10) != 10) return 1;
			close(c);
		}
		for (int i = 0; i < 15; i++) {
			int s = socket(AF_INET, SOCK_STREAM, 0);
			if (connect(s, (struct sockaddr *)&queue, sizeof(queue))) {
				perror("peer connect");
				return 1;
			}
			close(s);
		}
		close(ls);
		for (int i = 0; i < accepted; i++) {
			int s = socket(AF_INET, SOCK_STREAM, 0);
			if (connect(s, (struct sockaddr *)&served, sizeof(served))) {
				perror("peer connect");
				return 1;
			}
			close(s);
		}
		if (write(go[1], "x", 1) != 1) return 1;
		pause();
		return 0;
	}
	close(lb);
	close(lc);
	close(go[1]); /* a peer that dies ends the read below */
	int held[60];
	for (int i = 0; i < 30; i++) held[i] = fetch_from_backend(&backend);
	for (int i = 0; i < 20; i++) held[30 + i] = fetch_from_cache(&cache);
	for (int i = 0; i < accepted; i++) held[50 + i] = accept_request(ls);
	char x;
	if (read(go[0], &x, 1) != 1) {
		fprintf(stderr, "leak-service: the peer process failed\n");
		return 1;
	}
	usleep(200000); /* the last FINs arrive */
	printf("ready %d %d %d %d %d %d\n", (int)getpid(), ntohs(backend.sin_port), ntohs(cache.sin_port), ntohs(queue.sin_port), (int)peer,
	       ntohs(served.sin_port));
	fflush(stdout);
	for (;;) pause();
	(void)held;
	return 0;
}

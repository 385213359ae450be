/* notify_wait: runs a daemon as a Type=notify unit would and reports its readiness message (tests/package/notify_ready.sh). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * notify_wait NOTIFY_SOCKET SECONDS SOCKET|- CMD [ARGS...]
 * Binds NOTIFY_SOCKET, starts CMD with $NOTIFY_SOCKET set and waits for its
 * READY=1. Prints "pid N", then every line of every message. When READY=1
 * arrives, SOCKET (unless "-") must already be a socket: readiness is
 * announced only once clients can connect. Exit 0 with CMD left running;
 * 1 (and CMD killed) if it exits, times out or is ready too early.
 */
int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc = 1;
	pid_t pid;

	if (argc < 5 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: notify_wait NOTIFY_SOCKET SECONDS SOCKET|- CMD [ARGS...]\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("notify_wait: bind");
		return 1;
	}
	setenv("NOTIFY_SOCKET", argv[1], 1);
	pid = fork();
	if (pid == 0) {
		execvp(argv[4], argv + 4);
		perror("notify_wait: exec");
		_exit(127);
	}
	printf("pid %d\n", (int)pid);
	fflush(stdout);
	for (int waited = 0; waited < atoi(argv[2]) * 10; waited++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char msg[1024];
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			printf("exited with status %d before READY=1\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			return 1;
		}
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);
		if (n <= 0)
			continue;
		msg[n] = 0;
		printf("%s%s", msg, msg[n - 1] == '\n' ? "" : "\n");
		if (!strstr(msg, "READY=1"))
			continue;
		struct stat st;
		if (strcmp(argv[3], "-") && (stat(argv[3], &st) < 0 || !S_ISSOCK(st.st_mode))) {
			printf("READY=1 before %s was a socket\n", argv[3]);
			goto out;
		}
		rc = 0;
		goto out;
	}
	printf("no READY=1 within %s s\n", argv[2]);
out:
	if (rc)
		kill(pid, SIGKILL);
	unlink(argv[1]);
	return rc;
}

//go:build linux && cgo

#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// keyemu_unshare_user runs before the Go runtime starts, while the process
// still has one thread: unshare(CLONE_NEWUSER) fails EINVAL in a
// multithreaded process, and every Go program is one. A helper exec'd with
// KEYEMU_CONFORMANCE_UNSHARE=1 thus enters a new user namespace as
// unshare(1) would before running its command.
__attribute__((constructor)) static void keyemu_unshare_user(void) {
	const char *v = getenv("KEYEMU_CONFORMANCE_UNSHARE");
	if (v == NULL || strcmp(v, "1") != 0) {
		return;
	}
	if (unshare(CLONE_NEWUSER) != 0) {
		perror("keyemu conformance helper: unshare(CLONE_NEWUSER)");
		_exit(2);
	}
}

//go:build linux && cgo

#include <pthread.h>
#include <stdint.h>
#include "_cgo_export.h"

static void *keyemu_thread_start(void *arg) {
	keyemuThreadMain((uintptr_t)arg);
	return NULL;
}

// keyemu_clone starts a detached thread from the calling thread.
int keyemu_clone(uintptr_t handle) {
	pthread_t t;
	pthread_attr_t attr;
	int r = pthread_attr_init(&attr);
	if (r != 0) {
		return r;
	}
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, keyemu_thread_start, (void *)handle);
	pthread_attr_destroy(&attr);
	return r;
}

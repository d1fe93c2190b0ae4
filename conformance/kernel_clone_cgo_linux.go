//go:build linux && cgo

package conformance

/*
#include <stdint.h>
int keyemu_clone(uintptr_t handle);
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"syscall"
)

// startThread runs f on a new OS thread created with pthread_create by the
// calling thread, which must be locked to its OS thread: the kernel gives the
// new thread copies of the caller's credentials as clone(CLONE_THREAD) does
// (a fresh thread keyring if the caller has one, R2.2). The Go runtime
// cannot do this: it never creates threads from a locked thread. f runs
// locked to the new thread, and the thread ends when f returns.
func startThread(f func()) error {
	h := cgo.NewHandle(f)
	if r := C.keyemu_clone(C.uintptr_t(h)); r != 0 {
		h.Delete()
		return syscall.Errno(r)
	}
	return nil
}

//export keyemuThreadMain
func keyemuThreadMain(handle C.uintptr_t) {
	// A cgo callback is locked to its thread only internally, and the
	// runtime starts the threads it needs (newm) by pthread_create from
	// the thread it runs on unless that thread is locked with
	// LockOSThread (then the template thread does it). Such a runtime
	// thread would copy this thread's credentials, with a fresh thread
	// keyring of its own if this thread has one and a reference to its
	// process and session keyrings, and keep them for the life of the
	// process (copy_creds, R2.2, R2.3, R2.4a): keyrings and quota the
	// emulated thread does not own. Lock explicitly.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h := cgo.Handle(handle)
	f := h.Value().(func())
	h.Delete()
	f()
}

//go:build linux && cgo

package conformance

/*
#include <stdint.h>
int keyemu_clone(uintptr_t handle);
*/
import "C"

import (
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
	h := cgo.Handle(handle)
	f := h.Value().(func())
	h.Delete()
	f()
}

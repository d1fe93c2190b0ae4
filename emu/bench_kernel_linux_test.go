//go:build linux

package emu_test

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/keyemu/keyemu/emu"
)

// openKernel pins the calling goroutine to its OS thread for good and
// joins a fresh anonymous session keyring on that thread. The goroutine
// must end without unlocking: the thread then exits, and the kernel drops
// its session, thread and process keyrings with it. close clears and
// unlinks the dedicated keyring and clears the session keyring, so no key
// outlives the benchmark.
func openKernel() (*benchEnv, error) {
	runtime.LockOSThread()
	if _, err := emu.HostSyscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_JOIN_SESSION_KEYRING), emu.Null()); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EDQUOT) {
			return nil, unusableError{fmt.Sprintf("keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL) = %v", err)}
		}
		return nil, fmt.Errorf("keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL) = %w", err)
	}
	kc := emu.Host()
	ring, err := kc.AddKey("keyring", "keyemu-bench", nil, emu.KEY_SPEC_SESSION_KEYRING)
	if err != nil {
		return nil, fmt.Errorf("add_key(keyring) = %w", err)
	}
	return &benchEnv{
		kc:         kc,
		requestKey: kernelRequestKey,
		ring:       ring,
		close: func() {
			_, _ = kc.KeyctlInt(emu.KEYCTL_CLEAR, ring, 0, 0, 0)
			_, _ = kc.KeyctlInt(emu.KEYCTL_UNLINK, ring, emu.KEY_SPEC_SESSION_KEYRING, 0, 0)
			_, _ = kc.KeyctlInt(emu.KEYCTL_CLEAR, emu.KEY_SPEC_SESSION_KEYRING, 0, 0, 0)
		},
	}, nil
}

// kernelRequestKey is request_key(2) with a NULL callout, its strings
// passed as golang.org/x/sys/unix passes them.
func kernelRequestKey(keyType, description string, destRingid int) (int, error) {
	t, err := unix.BytePtrFromString(keyType)
	if err != nil {
		return -1, err
	}
	d, err := unix.BytePtrFromString(description)
	if err != nil {
		return -1, err
	}
	r, _, e := unix.Syscall6(unix.SYS_REQUEST_KEY, uintptr(unsafe.Pointer(t)), uintptr(unsafe.Pointer(d)), 0, uintptr(destRingid), 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

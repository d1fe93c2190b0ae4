//go:build linux

package emu

import (
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Host returns the real kernel's key retention service through
// golang.org/x/sys/unix: the production half of the seam. Calls act on the
// calling OS thread's keyrings, so callers that use @t, @p or a joined @s
// must pin their goroutine with runtime.LockOSThread.
func Host() Keyctl { return host{} }

type host struct{}

func (host) AddKey(keyType, description string, payload []byte, ringid int) (int, error) {
	return unix.AddKey(keyType, description, payload, ringid)
}

func (host) RequestKey(keyType, description, callback string, destRingid int) (int, error) {
	return unix.RequestKey(keyType, description, callback, destRingid)
}

func (host) KeyctlInt(cmd, arg2, arg3, arg4, arg5 int) (int, error) {
	return unix.KeyctlInt(cmd, arg2, arg3, arg4, arg5)
}

func (host) KeyctlBuffer(cmd, arg2 int, buf []byte, arg5 int) (int, error) {
	return unix.KeyctlBuffer(cmd, arg2, buf, arg5)
}

func (host) KeyctlString(cmd, id int) (string, error) { return unix.KeyctlString(cmd, id) }

func (host) KeyctlGetKeyringID(id int, create bool) (int, error) {
	return unix.KeyctlGetKeyringID(id, create)
}

func (host) KeyctlSetperm(id int, perm uint32) error { return unix.KeyctlSetperm(id, perm) }

func (host) KeyctlJoinSessionKeyring(name string) (int, error) {
	return unix.KeyctlJoinSessionKeyring(name)
}

func (host) KeyctlSearch(ringid int, keyType, description string, destRingid int) (int, error) {
	return unix.KeyctlSearch(ringid, keyType, description, destRingid)
}

func (host) KeyctlRestrictKeyring(ringid int, keyType, restriction string) error {
	return unix.KeyctlRestrictKeyring(ringid, keyType, restriction)
}

// HostSyscall performs one raw key system call on the real kernel, on the
// calling OS thread, with the C argument semantics of Arg. Fault arguments
// pass an address that is never mapped.
func HostSyscall(nr int, args ...Arg) (int, error) {
	var a [6]uintptr
	var keep [][]byte
	for i, arg := range args {
		if i >= len(a) {
			break
		}
		switch arg.kind {
		case argInt:
			a[i] = uintptr(arg.n)
		case argNull:
			a[i] = 0
		case argString:
			s, _ := arg.StringValue()
			b := append([]byte(s), 0)
			keep = append(keep, b)
			a[i] = uintptr(unsafe.Pointer(&b[0]))
		case argBuffer:
			b := arg.buf()
			if len(b) == 0 {
				b = make([]byte, 1)
			}
			keep = append(keep, b)
			a[i] = uintptr(unsafe.Pointer(&b[0]))
		case argFault:
			a[i] = 1 // the zero page is never mapped
		}
	}
	r, _, e := unix.Syscall6(uintptr(nr), a[0], a[1], a[2], a[3], a[4], a[5])
	runtime.KeepAlive(keep)
	if e != 0 {
		return -1, syscall.Errno(e)
	}
	return int(r), nil
}

package emu

import (
	"fmt"
	"unsafe"
)

// System call numbers of the key retention service (x86_64 numbering; the
// emulator accepts the same numbers on every GOOS).
const (
	SYS_ADD_KEY     = 248
	SYS_REQUEST_KEY = 249
	SYS_KEYCTL      = 250
)

// keyctl(2) operations; include/uapi/linux/keyctl.h.
const (
	KEYCTL_GET_KEYRING_ID       = 0
	KEYCTL_JOIN_SESSION_KEYRING = 1
	KEYCTL_UPDATE               = 2
	KEYCTL_REVOKE               = 3
	KEYCTL_CHOWN                = 4
	KEYCTL_SETPERM              = 5
	KEYCTL_DESCRIBE             = 6
	KEYCTL_CLEAR                = 7
	KEYCTL_LINK                 = 8
	KEYCTL_UNLINK               = 9
	KEYCTL_SEARCH               = 10
	KEYCTL_READ                 = 11
	KEYCTL_INSTANTIATE          = 12
	KEYCTL_NEGATE               = 13
	KEYCTL_SET_REQKEY_KEYRING   = 14
	KEYCTL_SET_TIMEOUT          = 15
	KEYCTL_ASSUME_AUTHORITY     = 16
	KEYCTL_GET_SECURITY         = 17
	KEYCTL_SESSION_TO_PARENT    = 18
	KEYCTL_REJECT               = 19
	KEYCTL_INSTANTIATE_IOV      = 20
	KEYCTL_INVALIDATE           = 21
	KEYCTL_GET_PERSISTENT       = 22
	KEYCTL_DH_COMPUTE           = 23
	KEYCTL_PKEY_QUERY           = 24
	KEYCTL_PKEY_ENCRYPT         = 25
	KEYCTL_PKEY_DECRYPT         = 26
	KEYCTL_PKEY_SIGN            = 27
	KEYCTL_PKEY_VERIFY          = 28
	KEYCTL_RESTRICT_KEYRING     = 29
	KEYCTL_MOVE                 = 30
	KEYCTL_CAPABILITIES         = 31
	KEYCTL_WATCH_KEY            = 32

	KEYCTL_MOVE_EXCL = 1
)

// KEYCTL_CAPABILITIES bits; include/uapi/linux/keyctl.h.
const (
	KEYCTL_CAPS0_CAPABILITIES        = 0x01
	KEYCTL_CAPS0_PERSISTENT_KEYRINGS = 0x02
	KEYCTL_CAPS0_DIFFIE_HELLMAN      = 0x04
	KEYCTL_CAPS0_PUBLIC_KEY          = 0x08
	KEYCTL_CAPS0_BIG_KEY             = 0x10
	KEYCTL_CAPS0_INVALIDATE          = 0x20
	KEYCTL_CAPS0_RESTRICT_KEYRING    = 0x40
	KEYCTL_CAPS0_MOVE                = 0x80
	KEYCTL_CAPS1_NS_KEYRING_NAME     = 0x01
	KEYCTL_CAPS1_NS_KEY_TAG          = 0x02
	KEYCTL_CAPS1_NOTIFICATIONS       = 0x04
)

// Special key IDs (R3.1).
const (
	KEY_SPEC_THREAD_KEYRING       = -1
	KEY_SPEC_PROCESS_KEYRING      = -2
	KEY_SPEC_SESSION_KEYRING      = -3
	KEY_SPEC_USER_KEYRING         = -4
	KEY_SPEC_USER_SESSION_KEYRING = -5
	KEY_SPEC_GROUP_KEYRING        = -6
	KEY_SPEC_REQKEY_AUTH_KEY      = -7
	KEY_SPEC_REQUESTOR_KEYRING    = -8
)

// Request-key default destinations for KEYCTL_SET_REQKEY_KEYRING (R3.1).
const (
	KEY_REQKEY_DEFL_NO_CHANGE            = -1
	KEY_REQKEY_DEFL_DEFAULT              = 0
	KEY_REQKEY_DEFL_THREAD_KEYRING       = 1
	KEY_REQKEY_DEFL_PROCESS_KEYRING      = 2
	KEY_REQKEY_DEFL_SESSION_KEYRING      = 3
	KEY_REQKEY_DEFL_USER_KEYRING         = 4
	KEY_REQKEY_DEFL_USER_SESSION_KEYRING = 5
	KEY_REQKEY_DEFL_GROUP_KEYRING        = 6
	KEY_REQKEY_DEFL_REQUESTOR_KEYRING    = 7
)

// Keyctl is the key retention service's system-call surface with exactly the
// names and signatures of golang.org/x/sys/unix, so code written against
// x/sys moves to the emulator by swapping one value. *Thread implements it
// for an emulated thread; Host returns the real kernel. Like x/sys's
// wrappers, the methods refuse a string that holds a NUL with 0 and EINVAL
// without making the call (a String argument of Syscall ends at its NUL,
// as in C).
type Keyctl interface {
	AddKey(keyType string, description string, payload []byte, ringid int) (id int, err error)
	RequestKey(keyType string, description string, callback string, destRingid int) (id int, err error)
	KeyctlInt(cmd int, arg2 int, arg3 int, arg4 int, arg5 int) (ret int, err error)
	KeyctlBuffer(cmd int, arg2 int, buf []byte, arg5 int) (ret int, err error)
	KeyctlString(cmd int, id int) (string, error)
	KeyctlGetKeyringID(id int, create bool) (ringid int, err error)
	KeyctlSetperm(id int, perm uint32) error
	KeyctlJoinSessionKeyring(name string) (ringid int, err error)
	KeyctlSearch(ringid int, keyType, description string, destRingid int) (id int, err error)
	KeyctlRestrictKeyring(ringid int, keyType string, restriction string) error
}

// Syscaller is the raw system-call surface beneath Keyctl: one call with C
// argument semantics, able to express what the x/sys wrappers cannot (NULL
// strings, unreadable pointers, buffers shorter than their length argument).
// *Thread and the kernel backend implement it.
type Syscaller interface {
	Syscall(nr int, args ...Arg) (int, error)
}

type argKind uint8

const (
	argInt argKind = iota
	argNull
	argString
	argBuffer
	argFault
	argIOV
)

// Arg is one system-call argument: an integer, a NULL pointer, a pointer to
// a NUL-terminated string, a pointer to a buffer, or an unreadable pointer.
// The zero Arg is the integer 0.
//
// An Arg is three words, like a register and its kind: every call builds
// five of them. A string or buffer argument keeps its data pointer and
// length (the buffer's capacity is not an argument), an IOV argument a
// pointer to its slices.
type Arg struct {
	kind argKind
	// n is the integer, or the length of the string or buffer.
	n int
	p unsafe.Pointer
}

// Int is an integer argument (an ID, a length, flags, a permission mask).
func Int(v int) Arg { return Arg{kind: argInt, n: v} }

// Null is a NULL pointer argument.
func Null() Arg { return Arg{kind: argNull} }

// String is a pointer to a NUL-terminated copy of s. A NUL byte inside s
// ends the string there, as in C.
func String(s string) Arg {
	return Arg{kind: argString, n: len(s), p: unsafe.Pointer(unsafe.StringData(s))}
}

// Buffer is a pointer to b: input for payloads, output for reads. The length
// travels in its own Int argument, as in C.
func Buffer(b []byte) Arg {
	return Arg{kind: argBuffer, n: len(b), p: unsafe.Pointer(unsafe.SliceData(b))}
}

// Fault is a non-NULL pointer the kernel cannot read or write (EFAULT).
func Fault() Arg { return Arg{kind: argFault} }

// IOV is a pointer to an array of iovecs, one per slice, for
// KEYCTL_INSTANTIATE_IOV; the count travels in its own Int argument.
func IOV(parts ...[]byte) Arg { return Arg{kind: argIOV, p: unsafe.Pointer(&parts)} }

// String renders a as the call's C notation would: a number, NULL, a
// quoted string, a buffer or iovec array by its length, FAULT.
func (a Arg) String() string {
	switch a.kind {
	case argNull:
		return "NULL"
	case argString:
		return fmt.Sprintf("%q", a.str())
	case argBuffer:
		return fmt.Sprintf("buf[%d]", a.n)
	case argFault:
		return "FAULT"
	case argIOV:
		return fmt.Sprintf("iov[%d]", len(a.iovs()))
	}
	return fmt.Sprint(a.n)
}

// str is the string of a String argument.
func (a *Arg) str() string {
	if a.kind != argString || a.p == nil {
		return ""
	}
	return unsafe.String((*byte)(a.p), a.n)
}

// buf is the buffer of a Buffer argument.
func (a *Arg) buf() []byte {
	if a.kind != argBuffer || a.p == nil {
		return nil
	}
	return unsafe.Slice((*byte)(a.p), a.n)
}

// iovs is the slices of an IOV argument.
func (a *Arg) iovs() [][]byte {
	if a.kind != argIOV {
		return nil
	}
	return *(*[][]byte)(a.p)
}

// IsNull reports whether a is a NULL pointer or the integer 0.
func (a Arg) IsNull() bool { return a.kind == argNull || (a.kind == argInt && a.n == 0) }

// IntValue returns a as an integer; pointers other than NULL have no integer
// value and return 1.
func (a Arg) IntValue() int {
	switch a.kind {
	case argInt:
		return a.n
	case argNull:
		return 0
	}
	return 1
}

// StringValue returns the string a points to, cut at its first NUL.
func (a Arg) StringValue() (string, bool) {
	if a.kind != argString {
		return "", false
	}
	s := a.str()
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return s[:i], true
		}
	}
	return s, true
}

// BufferValue returns the buffer a points to.
func (a Arg) BufferValue() ([]byte, bool) { return a.buf(), a.kind == argBuffer }

// IsFault reports whether a is an unreadable pointer.
func (a Arg) IsFault() bool { return a.kind == argFault }

package model

import "strconv"

// Errno is a Linux error number. Its numbering is Linux's on every GOOS, so
// the model behaves identically on macOS and Windows; the emu package turns
// it into the host's error type at the syscall surface.
type Errno uint16

// Error returns glibc's text for e ("Required key not available").
func (e Errno) Error() string {
	if int(e) < len(errnoMessages) && errnoMessages[e] != "" {
		return errnoMessages[e]
	}
	return "Unknown error " + strconv.Itoa(int(e))
}

// isErrno reports whether err is e: err == e without the runtime's
// comparison of interface values, which an Errno (not pointer-shaped)
// would need.
func isErrno(err error, e Errno) bool {
	x, ok := err.(Errno)
	return ok && x == e
}

// Name returns the C name of e ("ENOKEY"); EOPNOTSUPP is preferred over its
// alias ENOTSUP, EAGAIN over EWOULDBLOCK and EDEADLK over EDEADLOCK.
func (e Errno) Name() string {
	if int(e) < len(errnoNames) && errnoNames[e] != "" {
		return errnoNames[e]
	}
	return "E" + strconv.Itoa(int(e))
}

// ErrnoByName returns the errno whose C name is name, accepting the aliases
// ENOTSUP, EWOULDBLOCK and EDEADLOCK.
func ErrnoByName(name string) (Errno, bool) {
	switch name {
	case "ENOTSUP":
		return EOPNOTSUPP, true
	case "EWOULDBLOCK":
		return EAGAIN, true
	case "EDEADLOCK":
		return EDEADLK, true
	}
	for i, n := range errnoNames {
		if n == name {
			return Errno(i), true
		}
	}
	return 0, false
}

package emu

import (
	"errors"

	"github.com/keyemu/keyemu/model"
)

// ErrnoOf returns the Linux errno carried by err (from the emulator or from
// the kernel), or false when err is not an errno.
func ErrnoOf(err error) (model.Errno, bool) {
	var e Errno
	if errors.As(err, &e) {
		return model.Errno(e), true
	}
	var m model.Errno
	if errors.As(err, &m) {
		return m, true
	}
	return 0, false
}

// ErrnoName returns the C name of the errno in err ("ENOKEY"), or err's text
// when it is not an errno.
func ErrnoName(err error) string {
	if e, ok := ErrnoOf(err); ok {
		return e.Name()
	}
	return err.Error()
}

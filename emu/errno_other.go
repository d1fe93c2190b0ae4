//go:build !linux

package emu

import "github.com/keyemu/keyemu/model"

// Errno is the error type of the syscall surface. Where the host is not
// Linux it is model.Errno, which carries the Linux number, C name and
// glibc's message.
type Errno = model.Errno

func sysErr(e model.Errno) error { return e }

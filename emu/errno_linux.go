//go:build linux

package emu

import (
	"syscall"

	"github.com/keyemu/keyemu/model"
)

// Errno is the error type of the syscall surface. On Linux it is
// syscall.Errno itself, so code that compares err == unix.ENOKEY or uses
// errors.Is works unchanged against the emulator.
type Errno = syscall.Errno

func sysErr(e model.Errno) error { return syscall.Errno(e) }

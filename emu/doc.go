// Package emu emulates the Linux key retention service behind the system
// call interface of golang.org/x/sys/unix: add_key(2), request_key(2) and
// keyctl(2) on emulated processes and threads.
//
// A System is one emulated kernel. NewProcess starts a process with no
// keyrings, as a daemon started without PAM; its threads (*Thread)
// implement Keyctl with exactly the x/sys names and signatures, so code
// written against x/sys/unix runs against the emulator by swapping one
// value:
//
//	var kc emu.Keyctl = emu.Host()             // production: the kernel
//	kc = emu.New(emu.Config{}).NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
//	id, err := kc.AddKey("user", "token", []byte("secret"), unix.KEY_SPEC_SESSION_KEYRING)
//
// Errors are the kernel's errno values in the kernel's order; on Linux they
// are syscall.Errno, so comparisons such as err == unix.ENOKEY hold.
//
// The rules live in package model; emu translates the ABI (integers,
// pointers, special IDs, operation numbers) and keeps processes and
// threads. One mutex, System.mu, guards the model and every process and
// thread, so all methods are safe for concurrent use.
package emu

package emu_test

import (
	"fmt"

	"github.com/keyemu/keyemu/emu"
)

// A process started without a session keyring (a daemon, a container
// entrypoint) adds a key to @s: the kernel gives it a fresh private "_ses"
// session keyring to hold it (R3.4).
func ExampleThread_AddKey() {
	sys := emu.New(emu.Config{})
	t := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()

	id, err := t.AddKey("user", "token", []byte("secret"), emu.KEY_SPEC_SESSION_KEYRING)
	if err != nil {
		fmt.Println("add_key:", emu.ErrnoName(err))
		return
	}
	session, _ := t.KeyctlString(emu.KEYCTL_DESCRIBE, emu.KEY_SPEC_SESSION_KEYRING)
	key, _ := t.KeyctlString(emu.KEYCTL_DESCRIBE, id)
	fmt.Println(session)
	fmt.Println(key)
	// Output:
	// keyring;1000;1000;3f030000;_ses
	// user;1000;1000;3f010000;token
}

// request_key searches the thread, process and session keyrings; a
// process with no session keyring searches the user session keyring,
// which links the user keyring (R4.1). With a NULL callout a key that is
// not there is ENOKEY.
func ExampleThread_RequestKey() {
	sys := emu.New(emu.Config{})
	t := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()

	id, _ := t.AddKey("user", "db-password", []byte("hunter2"), emu.KEY_SPEC_USER_KEYRING)
	found, err := t.RequestKey("user", "db-password", "", 0)
	fmt.Println(found == id, err)

	_, err = t.Syscall(emu.SYS_REQUEST_KEY, emu.String("user"), emu.String("missing"), emu.Null(), emu.Int(0))
	fmt.Println(emu.ErrnoName(err))
	// Output:
	// true <nil>
	// ENOKEY
}

// KEYCTL_READ returns the payload's size; pass a buffer at least that
// large to get the payload (a shorter one is left untouched).
func ExampleThread_KeyctlBuffer() {
	sys := emu.New(emu.Config{})
	t := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	id, _ := t.AddKey("user", "greeting", []byte("hello, keyring"), emu.KEY_SPEC_SESSION_KEYRING)

	size, err := t.KeyctlBuffer(emu.KEYCTL_READ, id, nil, 0)
	if err != nil {
		fmt.Println("read:", emu.ErrnoName(err))
		return
	}
	buf := make([]byte, size)
	n, _ := t.KeyctlBuffer(emu.KEYCTL_READ, id, buf, 0)
	fmt.Printf("%d %q\n", n, buf[:n])
	// Output:
	// 14 "hello, keyring"
}

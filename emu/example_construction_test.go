package emu_test

import (
	"errors"
	"fmt"

	"github.com/keyemu/keyemu/emu"
)

// A request_key(2) round trip: the handler stands in for /sbin/request-key
// and instantiates the key the program asked for.
func ExampleConfig_requestKey() {
	sys := emu.New(emu.Config{
		RequestKey: func(req *emu.KeyRequest) error {
			th := req.Thread
			if _, err := th.KeyctlInt(emu.KEYCTL_ASSUME_AUTHORITY, req.Key, 0, 0, 0); err != nil {
				return err
			}
			token := []byte("token-for-" + req.Callout)
			_, err := th.KeyctlBuffer(emu.KEYCTL_INSTANTIATE, req.Key, token, emu.KEY_SPEC_REQUESTOR_KEYRING)
			return err
		},
	})
	app := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()

	id, err := app.RequestKey("user", "myapp:token", "alice", emu.KEY_SPEC_SESSION_KEYRING)
	if err != nil {
		fmt.Println("request_key:", err)
		return
	}
	buf := make([]byte, 64)
	n, _ := app.KeyctlBuffer(emu.KEYCTL_READ, id, buf, 0)
	fmt.Printf("%s\n", buf[:n])
	// Output: token-for-alice
}

// A login session as pam_keyinit makes it, and what a process left behind
// sees after a logout that revokes the session keyring.
func ExampleSystem_Login() {
	sys := emu.New(emu.Config{})
	login, err := sys.Login(emu.Creds{UID: 1000, GID: 1000})
	if err != nil {
		fmt.Println("login:", err)
		return
	}
	shell := login.Main()
	daemon := shell.Fork().Main()

	login.Logout(true)
	_, err = daemon.AddKey("user", "cache", []byte("v"), emu.KEY_SPEC_SESSION_KEYRING)
	fmt.Println(emu.ErrnoName(err), errors.Is(err, emu.EKEYREVOKED))
	// Output: EKEYREVOKED true
}

// Fault injection: keyctl blocked by a seccomp filter, for the caller's
// fallback path.
func ExampleInjectedFault() {
	sys := emu.New(emu.Config{Faults: []emu.InjectedFault{
		{Syscall: emu.SYS_ADD_KEY, Err: emu.ENOSYS},
		{Syscall: emu.SYS_KEYCTL, Err: emu.ENOSYS},
	}})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	if _, err := th.AddKey("user", "k", []byte("v"), emu.KEY_SPEC_SESSION_KEYRING); err != nil {
		fmt.Println("no keyrings here:", emu.ErrnoName(err))
	}
	// Output: no keyrings here: ENOSYS
}

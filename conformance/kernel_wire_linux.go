//go:build linux

package conformance

import (
	"github.com/keyemu/keyemu/emu"
)

// The kernel backend's test process and its helper processes exchange JSON
// lines over a Unix stream socket: the test process listens on an abstract
// address, every helper connects once per program image and says hello, and
// from then on the test process sends requests and the helper answers each
// with one reply.

// Environment of a helper process.
const (
	envAddr   = "KEYEMU_CONFORMANCE_HELPER" // the test process's socket address
	envToken  = "KEYEMU_CONFORMANCE_TOKEN"  // shared secret for hello
	envProc   = "KEYEMU_CONFORMANCE_PROC"   // the process's handle
	envThread = "KEYEMU_CONFORMANCE_THREAD" // number of its only thread
	envZygote = "KEYEMU_CONFORMANCE_ZYGOTE" // "1" for a world's first process
	// envUnshare "1" makes the program enter a new user namespace before
	// the Go runtime starts (kernel_unshare_linux.c).
	envUnshare = "KEYEMU_CONFORMANCE_UNSHARE"
)

// Operations of a request.
const (
	opSyscall   = "syscall"
	opClone     = "clone"
	opFork      = "fork"
	opSpawn     = "spawn" // zygote only: fork a process with other credentials
	opExec      = "exec"
	opExit      = "exit"
	opExitGroup = "exit-group"
	opSetresuid = "setresuid"
	opSetresgid = "setresgid"
	opSetgroups = "setgroups"
	opKeyUsers  = "key-users"
	opKeys      = "keys"
	opIDMap     = "id-map" // zygote only: write a process's uid_map and gid_map
)

type wireHello struct {
	Token  string `json:"token"`
	Handle string `json:"handle"`
	Pid    int    `json:"pid"`
}

// wireArg is an emu.Arg on the wire.
type wireArg struct {
	Kind string `json:"k"` // "int", "str", "buf", "fault"
	N    int    `json:"n,omitempty"`
	S    string `json:"s,omitempty"`
	B    []byte `json:"b,omitempty"`
}

type wireRequest struct {
	ID        uint64    `json:"id"`
	Thread    int       `json:"thread"`
	Op        string    `json:"op"`
	NR        int       `json:"nr,omitempty"`
	Args      []wireArg `json:"args,omitempty"`
	Ints      []int     `json:"ints,omitempty"`       // IDs for setres*id, setgroups, spawn (uid, gid, groups...)
	Child     string    `json:"child,omitempty"`      // fork, spawn: handle of the new process
	NewThread int       `json:"new_thread,omitempty"` // clone, fork, spawn, exec: number of the new thread
	Unshare   bool      `json:"unshare,omitempty"`    // exec: enter a new user namespace
	Pid       int       `json:"pid,omitempty"`        // id-map: the process
	UIDMap    string    `json:"uid_map,omitempty"`    // id-map: uid_map text, "" to leave it unwritten
	GIDMap    string    `json:"gid_map,omitempty"`    // id-map: gid_map text
}

type wireReply struct {
	ID          uint64   `json:"id"`
	Ret         int      `json:"ret"`
	Errno       int      `json:"errno,omitempty"` // the system call failed with this errno
	Err         string   `json:"err,omitempty"`   // the helper failed
	Unsupported bool     `json:"unsupported,omitempty"`
	Bufs        [][]byte `json:"bufs,omitempty"` // Buffer arguments after the call, in order
	Text        string   `json:"text,omitempty"`
	Pid         int      `json:"pid,omitempty"`
	// LastThread: exit: the thread was the process's last, so the process
	// ends with it.
	LastThread bool `json:"last_thread,omitempty"`
}

func toWire(args []emu.Arg) []wireArg {
	w := make([]wireArg, len(args))
	for i, a := range args {
		if a.IsFault() {
			w[i] = wireArg{Kind: "fault"}
		} else if s, ok := a.StringValue(); ok {
			w[i] = wireArg{Kind: "str", S: s}
		} else if b, ok := a.BufferValue(); ok {
			w[i] = wireArg{Kind: "buf", B: b}
		} else {
			w[i] = wireArg{Kind: "int", N: a.IntValue()}
		}
	}
	return w
}

func fromWire(w []wireArg) []emu.Arg {
	args := make([]emu.Arg, len(w))
	for i, a := range w {
		switch a.Kind {
		case "fault":
			args[i] = emu.Fault()
		case "str":
			args[i] = emu.String(a.S)
		case "buf":
			args[i] = emu.Buffer(append([]byte{}, a.B...))
		default:
			args[i] = emu.Int(a.N)
		}
	}
	return args
}

package conformance

import (
	"time"

	"github.com/keyemu/keyemu/emu"
)

// Backend is an implementation of the key retention service that scenarios
// can drive: the running Linux kernel (Kernel) or the emulator (Emulator).
// Any other implementation can be checked the same way by passing it to Run.
type Backend interface {
	// Name identifies the backend in test output ("kernel", "emulator").
	Name() string

	// NewWorld returns a fresh world that shares no keys, keyrings, user
	// keyrings or quota records with any other world. The world has the
	// shape of a root process that entered a new user namespace with the
	// identity mapping of IDs 0-65535 and starts every scenario process
	// from there; root in it therefore lacks CAP_SYS_ADMIN in the initial
	// namespace, as a namespace root does.
	NewWorld() (World, error)
}

// WorldConfig holds the settings of a world that a scenario may change:
// the key service's sysctls (/proc/sys/kernel/keys). The zero value is the
// backend's defaults.
type WorldConfig struct {
	// GCDelay is gc_delay, the time the collector leaves a revoked or
	// expired key linked (R8.1-R8.3); zero keeps the default.
	GCDelay time.Duration
}

// ConfigurableBackend is a Backend that can start a world with settings
// other than its defaults. Scenarios that change a setting (gc-delay) are
// skipped on a Backend that is not one.
type ConfigurableBackend interface {
	Backend
	// NewWorldConfig is NewWorld with cfg.
	NewWorldConfig(cfg WorldConfig) (World, error)
}

// World is one isolated instance of the key retention service and the
// processes that use it.
type World interface {
	// Spawn starts a process with the given credentials and no keyrings at
	// all (no session, process or thread keyring), like a daemon started
	// without PAM, and returns its only thread.
	Spawn(c Creds) (Thread, error)

	// Advance lets d pass on the world's clock (CLOCK_REALTIME for key
	// expiry). The kernel backend sleeps; an emulator moves its clock.
	Advance(d time.Duration) error

	// Settle returns once garbage collection has finished the work that is
	// due now (unlinking invalidated and dead keys, freeing unreferenced
	// ones and returning their quota).
	Settle() error

	// Close ends every process of the world and releases it. It is safe to
	// call more than once.
	Close() error
}

// Thread is one thread of a process in a World. Its methods are the system
// calls a scenario makes. Errors the system call itself returns are errno
// values (syscall.Errno on Linux; emu.ErrnoOf recognises them); any other
// error means the backend failed, and errors.ErrUnsupported means it cannot
// do what was asked.
type Thread interface {
	// Syscall performs one raw key system call (add_key, request_key or
	// keyctl, numbered as in emu) on this thread. Buffer arguments are
	// input and output: on return they hold what the call wrote into them.
	Syscall(nr int, args ...emu.Arg) (int, error)

	// Clone creates a new thread in the same process, as
	// clone(CLONE_THREAD) (pthread_create) called by this thread.
	Clone() (Thread, error)

	// Fork creates a child process, as fork(2) called by this thread
	// followed by execve(2) in the child, and returns its only thread. The
	// child is in the world's user namespace with this thread's
	// credentials. (The kernel backend's processes are programs, started
	// that way; the execve makes the saved and filesystem IDs the effective
	// ones and pins the forked credentials, session keyring included, for
	// the life of the program, R2.2b.)
	Fork() (Thread, error)

	// Exec replaces the process's program, as execve(2) called by this
	// thread: the other threads of the process end and this thread
	// continues as the process's only thread.
	Exec() error

	// Exit ends this thread (exit(2)); the process ends with its last
	// thread.
	Exit() error

	// ExitGroup ends the whole process (exit_group(2)).
	ExitGroup() error

	// Setresuid, Setresgid and Setgroups change the credentials of every
	// thread of the process, as the glibc wrappers do; -1 leaves an ID
	// unchanged.
	Setresuid(ruid, euid, suid int) error
	Setresgid(rgid, egid, sgid int) error
	Setgroups(gids []uint32) error

	// ProcKeyUsers returns the text of /proc/key-users as this thread sees
	// it.
	ProcKeyUsers() (string, error)

	// ProcKeys returns the text of /proc/keys as this thread sees it: the
	// file opened with its credentials, so that what it lists depends on
	// them and on what the thread possesses (R9.1, R4.7a).
	ProcKeys() (string, error)
}

// Creds are the credentials of a spawned process: real, effective, saved
// and filesystem IDs all equal UID and GID, and Groups are the
// supplementary groups.
type Creds struct {
	UID, GID uint32
	Groups   []uint32
}

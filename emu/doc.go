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
// threads. All methods are safe for concurrent use.
//
// # Locking
//
// System.mu, a reader/writer lock made of shards (a mutex each, one per CPU
// up to 16: a reader takes its thread's shard, a writer all of them), guards
// the model and every process and thread. Every call that may change anything
// holds it for writing. Lookups that only read hold their thread's shard, so
// lookups from threads on different shards run in parallel (thread IDs are
// handed out in sequence, and a thread's shard is its ID modulo their
// number): KEYCTL_DESCRIBE, KEYCTL_READ, KEYCTL_GET_SECURITY,
// KEYCTL_GET_KEYRING_ID and KEYCTL_SEARCH without a destination keyring, when
// resolving the ID creates and installs nothing
// (model.State.ResolvesUnchanged), and request_key(2) without a destination
// keyring that finds its key or has no callout (one that must make a key goes
// on to the exclusive path). What they change is the thread's own, the lookup
// caches of its credentials, which the shard guards (it serialises the
// thread's calls), and keyrings' lists of child keyrings, which any reader
// may make and publishes atomically (a list is kept while the model's
// generation holds). They take no key references: while no writer holds
// System.mu no key can lose its last one, and sysLock tells the model so
// (model.State.SetShared), so a key's count is a plain integer only writers
// change. Lookups that would create or install a keyring take the exclusive
// path, as do calls while faults are injected (they are counted), calls of a
// thread that has assumed an authority (its searches use the requester's
// credentials, shared by every thread that assumed it) and calls that meet a
// key under construction (they wait on System.cond, whose lock is System.mu's
// write side).
//
// Every writer counts itself as it lets go of System.mu (sysLock.writes),
// so a count read with no writer inside names one state of everything the
// lock guards: the clock, processes, credentials, keys and faults. Every
// writer but a system call that left the model's change counter as it was
// (model.State.Gen: it changed no credential, keyring or authorisation key)
// also counts itself in a second count (sysLock.anchors). A thread keeps
// its last answer of KEYCTL_GET_KEYRING_ID without create for each special
// ID, made on the shared path, with the second count it was made under,
// and gives it again without taking the lock while that count is
// unchanged (an atomic load; the answers are immutable and published
// through atomic pointers): adding, updating and unlinking other keys
// leave it standing. A call that meets a writer still inside is ordered
// before it. It also keeps its last few answers of KEYCTL_SEARCH
// and request_key(2) without a destination keyring, by arguments, of
// KEYCTL_DESCRIBE, as the text, and of KEYCTL_READ of a key that is neither
// a keyring nor an authorisation key, as the key's payload, under the first
// count, and gives one again with only its shard held: such an answer is a
// function of the arguments, the thread and what the lock guards. A thread
// whose calls have not repeated for a while keeps only a sample of these
// answers, until one serves a call again. Config.CheckCaches turns all of
// these off and compares each new answer with the kept one instead.
//
// Lock order: System.mu's shards in index order. No other lock is taken
// while one is held, and request-key handlers run with none held.
package emu

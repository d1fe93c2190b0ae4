package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/keyemu/keyemu/emu"
)

// kernel is the persistent emulated kernel as one invocation sees it: the
// System loaded from the state file, the registered sessions (each a
// single-threaded emulated process holding its session keyring), and this
// invocation's own emulated process, whose thread and process keyrings
// live only as long as the invocation.
type kernel struct {
	file    *stateFile
	st      *cliState
	sys     *emu.System
	holders map[string]*emu.Process
	// parent is the registered session this invocation inherited, "" for
	// none (a daemon-like process).
	parent string
	creds  emu.Creds
	proc   *emu.Process
	th     *emu.Thread
}

// callerCreds are the IDs of the emulated process: the caller's real UID
// and GID (1000 where the OS has none), KEYEMU_UID and KEYEMU_GID
// overriding them.
func callerCreds() (emu.Creds, error) {
	uid, gid := os.Getuid(), os.Getgid()
	if uid < 0 {
		uid, gid = 1000, 1000
	}
	var groups []uint32
	override := false
	for _, v := range []struct {
		env string
		dst *int
	}{{"KEYEMU_UID", &uid}, {"KEYEMU_GID", &gid}} {
		if s := os.Getenv(v.env); s != "" {
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return emu.Creds{}, &usageError{v.env + ": not a number: " + s}
			}
			*v.dst = int(n)
			override = true
		}
	}
	if !override && runtime.GOOS != "windows" {
		if gs, err := os.Getgroups(); err == nil {
			for _, g := range gs {
				groups = append(groups, uint32(g))
			}
		}
	}
	return emu.Creds{UID: uint32(uid), GID: uint32(gid), Groups: groups}, nil
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// openKernel locks and loads the state, brings the emulated clock to the
// real one plus the stored offset, forgets sessions whose process has died,
// and starts this invocation's process in the session of its nearest
// registered ancestor, else in none.
func openKernel() (*kernel, error) {
	creds, err := callerCreds()
	if err != nil {
		return nil, err
	}
	f, err := openState()
	if err != nil {
		return nil, err
	}
	k := &kernel{file: f, creds: creds}
	if err := k.load(); err != nil {
		f.close()
		return nil, err
	}
	k.collectSessions()
	if h, name := k.nearestSession(); h != nil {
		k.parent = name
		k.proc = h.Spawn(creds)
	} else {
		k.proc = k.sys.NewProcess(creds)
	}
	k.th = k.proc.Main()
	return k, nil
}

// requestKeyConfig is the emulated /sbin/request-key: the rules of
// KEYEMU_REQUEST_KEY_CONF, else of request-key.conf next to the state
// file, if there is one; their programs may be /bin/keyctl (instantiate,
// negate, reject). Without rules, request_key(2) with a callout fails as
// on a system without /sbin/request-key.
func (k *kernel) requestKeyConfig() (emu.Config, error) {
	path := os.Getenv("KEYEMU_REQUEST_KEY_CONF")
	if path == "" {
		path = filepath.Join(filepath.Dir(k.file.path), "request-key.conf")
	}
	text, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return emu.Config{}, nil
	}
	if err != nil {
		return emu.Config{}, err
	}
	conf, err := emu.ParseRequestKeyConf(string(text), nil)
	if err != nil {
		return emu.Config{}, fmt.Errorf("%s: %v", path, err)
	}
	return emu.Config{RequestKey: conf.Handler(), RequestKeyTimeout: 5 * time.Second}, nil
}

func (k *kernel) load() error {
	st, err := k.file.load()
	if err != nil {
		return err
	}
	cfg, err := k.requestKeyConfig()
	if err != nil {
		return err
	}
	now := time.Now()
	if st == nil {
		var seed [8]byte
		rand.Read(seed[:])
		k.st = &cliState{Sessions: map[string]sessionReg{}}
		cfg.Start, cfg.Seed = now, binary.LittleEndian.Uint64(seed[:])
		k.sys = emu.New(cfg)
		k.holders = map[string]*emu.Process{}
		return nil
	}
	k.st = st
	if k.st.Sessions == nil {
		k.st.Sessions = map[string]sessionReg{}
	}
	k.sys, k.holders, err = emu.Restore(st.Kernel, cfg)
	if err != nil {
		return kernelError(k.file.path, err)
	}
	for name := range k.st.Sessions {
		if k.holders[name] == nil {
			delete(k.st.Sessions, name)
		}
	}
	k.syncClock()
	return nil
}

// syncClock moves the emulated clock to the real clock plus the offset;
// it never goes back.
func (k *kernel) syncClock() {
	target := time.Now().Add(k.st.ClockOffset)
	if d := target.Sub(k.sys.Now()); d > 0 {
		k.sys.Advance(d)
	}
}

// collectSessions forgets the registrations of processes that have died:
// their emulated processes exit, dropping what only they held.
func (k *kernel) collectSessions() {
	for name, reg := range k.st.Sessions {
		if reg.PID != 0 && !(osProc{reg.PID, reg.Start}).alive() {
			k.dropSession(name)
		}
	}
}

func (k *kernel) dropSession(name string) {
	if h := k.holders[name]; h != nil {
		h.Exit()
	}
	delete(k.holders, name)
	delete(k.st.Sessions, name)
}

// nearestSession finds the session of this process itself (registered by
// keyctl session before it executed the program now running: execve keeps
// the session keyring, R2.4a), else of the nearest registered ancestor,
// else of KEYEMU_SESSION.
func (k *kernel) nearestSession() (*emu.Process, string) {
	chain := ancestors()
	if me, ok := self(); ok {
		chain = append([]osProc{me}, chain...)
	}
	for _, p := range chain {
		if h := k.holders[p.name()]; h != nil {
			return h, p.name()
		}
	}
	if n := os.Getenv("KEYEMU_SESSION"); n != "" {
		name := envSession(n)
		if h := k.holders[name]; h != nil {
			return h, name
		}
	}
	return nil, ""
}

func envSession(n string) string { return "env:" + n }

// register makes p the holder of the session named name.
func (k *kernel) register(name string, reg sessionReg, p *emu.Process) {
	if old := k.holders[name]; old != nil && old != p {
		old.Exit()
	}
	reg.Since = time.Now().Unix()
	k.holders[name] = p
	k.st.Sessions[name] = reg
}

// commit ends this invocation's process (unless it became a session
// holder), forgets holders left without a session keyring, and writes the
// state back.
func (k *kernel) commit() error {
	defer k.file.close()
	kept := false
	for _, h := range k.holders {
		if h == k.proc {
			kept = true
		}
	}
	if !kept {
		k.proc.Exit()
	}
	names := make([]string, 0, len(k.holders))
	for name := range k.holders {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if k.holders[name].SessionKeyring() == 0 {
			k.dropSession(name)
		}
	}
	data, err := k.sys.Snapshot(k.holders)
	if err != nil {
		return err
	}
	k.st.Kernel = data
	return k.file.save(k.st)
}

// abandon releases the lock without writing.
func (k *kernel) abandon() { k.file.close() }

// registerSelf makes this invocation's process the holder of a session
// for this OS process (keyctl session), and returns the KEYEMU_SESSION
// value its children should see where no parent chain can be read ("" to
// leave it alone).
func (k *kernel) registerSelf() string {
	if me, ok := self(); ok {
		k.register(me.name(), sessionReg{PID: me.pid, Start: me.start}, k.proc)
		return os.Getenv("KEYEMU_SESSION")
	}
	var r [6]byte
	rand.Read(r[:])
	n := "keyemu-" + strconv.Itoa(os.Getpid()) + "-" + hexString(r[:])
	k.register(envSession(n), sessionReg{Name: n}, k.proc)
	return n
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, digits[x>>4], digits[x&15])
	}
	return string(out)
}

// adoptShell makes this invocation a child of an emulated process standing
// for its OS parent (the shell), registering one if needed, so that
// KEYCTL_SESSION_TO_PARENT (keyctl new_session) changes the shell's
// session. The shell starts in the session it inherited. Without a parent
// chain the shell is KEYEMU_SESSION's holder; without that, the parent
// stays init and SESSION_TO_PARENT fails EPERM as it would there.
func (k *kernel) adoptShell() {
	var name string
	var reg sessionReg
	if chain := ancestors(); len(chain) > 0 {
		name, reg = chain[0].name(), sessionReg{PID: chain[0].pid, Start: chain[0].start}
	} else if n := os.Getenv("KEYEMU_SESSION"); n != "" {
		name, reg = envSession(n), sessionReg{Name: n}
	} else {
		return
	}
	shell := k.holders[name]
	if shell == nil {
		if h := k.holders[k.parent]; h != nil {
			shell = h.Spawn(k.creds)
		} else {
			shell = k.sys.NewProcess(k.creds)
		}
		k.register(name, reg, shell)
	}
	k.proc.Exit()
	k.proc = shell.Spawn(k.creds)
	k.th = k.proc.Main()
	k.parent = name
}

package conformance

import (
	"errors"
	"time"

	"github.com/keyemu/keyemu/emu"
)

// Emulator returns the backend that runs scenarios on emu.System, each world
// a new System with cfg (the zero Config is Linux's defaults with a manual
// clock). A world has the kernel backend's shape: a root process enters a
// new user namespace with the identity mapping of IDs 0-65535, and every
// scenario process is forked from it, given its credentials and exec'd, as
// a process manager starts a daemon.
func Emulator(cfg emu.Config) Backend { return emuBackend{cfg: cfg} }

type emuBackend struct{ cfg emu.Config }

func (emuBackend) Name() string { return "emulator" }

func (b emuBackend) NewWorld() (World, error) { return b.NewWorldConfig(WorldConfig{}) }

// NewWorldConfig starts a world whose System has cfg's settings in place
// of the backend's.
func (b emuBackend) NewWorldConfig(wc WorldConfig) (World, error) {
	rk := &emuRequestKey{fallback: b.cfg.RequestKey}
	cfg := b.cfg
	if wc.GCDelay != 0 {
		cfg.GCDelay = wc.GCDelay
	}
	cfg.RequestKey = rk.handler
	sys := emu.New(cfg)
	root := sys.NewProcess(emu.Creds{})
	ids := []emu.IDMap{{Inside: 0, Outside: 0, Count: 65536}}
	if err := root.UnshareUser(ids, ids); err != nil {
		return nil, err
	}
	return &emuWorld{sys: sys, root: root, rk: rk}, nil
}

type emuWorld struct {
	sys  *emu.System
	root *emu.Process
	rk   *emuRequestKey
}

// ConfigureRequestKey makes conf, with emu.KeyctlProgram and the
// package's report program, the world's request-key helper.
func (w *emuWorld) ConfigureRequestKey(conf string) error { return w.rk.configure(conf) }

var errExited = errors.New("emulated thread has exited")

func (w *emuWorld) Spawn(c Creds) (Thread, error) {
	p := w.root.Main().Fork()
	if p == nil {
		return nil, errExited
	}
	if err := p.Setgroups(c.Groups); err != nil {
		return nil, err
	}
	if err := p.Setresgid(int(c.GID), int(c.GID), int(c.GID)); err != nil {
		return nil, err
	}
	if err := p.Setresuid(int(c.UID), int(c.UID), int(c.UID)); err != nil {
		return nil, err
	}
	t := p.Main()
	t.Exec()
	return &emuThread{w: w, t: t}, nil
}

func (w *emuWorld) Advance(d time.Duration) error {
	w.sys.Advance(d)
	return nil
}

func (w *emuWorld) Settle() error {
	w.sys.Collect()
	return nil
}

func (w *emuWorld) Close() error { return nil }

type emuThread struct {
	w *emuWorld
	t *emu.Thread
}

func (t *emuThread) Syscall(nr int, args ...emu.Arg) (int, error) { return t.t.Syscall(nr, args...) }

func (t *emuThread) Clone() (Thread, error) {
	n := t.t.Clone()
	if n == nil {
		return nil, errExited
	}
	return &emuThread{w: t.w, t: n}, nil
}

// Fork is fork(2) followed by execve(2) in the child, as the kernel
// backend's helpers do: the new program's file pins the child's
// credentials from before the execve, session keyring included (R2.2b).
func (t *emuThread) Fork() (Thread, error) {
	p := t.t.Fork()
	if p == nil {
		return nil, errExited
	}
	c := p.Main()
	c.Exec()
	return &emuThread{w: t.w, t: c}, nil
}

func (t *emuThread) Exec() error {
	t.t.Exec()
	return nil
}

func (t *emuThread) Exit() error {
	t.t.Exit()
	return nil
}

func (t *emuThread) ExitGroup() error {
	t.t.Process().Exit()
	return nil
}

func (t *emuThread) Setresuid(r, e, s int) error   { return t.t.Process().Setresuid(r, e, s) }
func (t *emuThread) Setresgid(r, e, s int) error   { return t.t.Process().Setresgid(r, e, s) }
func (t *emuThread) Setgroups(gids []uint32) error { return t.t.Process().Setgroups(gids) }

// ExecUnshareUser is execve(2) of a program that enters a new user
// namespace: Exec, then (*emu.Process).UnshareUser.
func (t *emuThread) ExecUnshareUser(uidMap, gidMap []emu.IDMap) error {
	t.t.Exec()
	return t.t.Process().UnshareUser(uidMap, gidMap)
}

func (t *emuThread) ProcKeyUsers() (string, error) { return t.w.sys.ProcKeyUsers(t.t), nil }

func (t *emuThread) ProcKeys() (string, error) { return t.w.sys.ProcKeys(t.t), nil }

package emu

import (
	"fmt"
	"sort"

	"github.com/keyemu/keyemu/model"
)

// Snapshot encodes the System's kernel state with model.MarshalSnapshot:
// every key, keyring, quota record, namespace and the clock and serial
// generator, plus the credentials of the processes in procs, each under
// its name. Every live process must be in procs and have one live thread;
// a key construction in progress cannot be saved.
func (s *System) Snapshot(procs map[string]*Process) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make(map[*model.Cred]string, len(procs))
	for name, p := range procs {
		if p.sys != s || p.exited {
			return nil, fmt.Errorf("emu: snapshot of process %q, which is not live in this System", name)
		}
		var live []*Thread
		for _, t := range p.threads {
			if !t.exited {
				live = append(live, t)
			}
		}
		if len(live) != 1 {
			return nil, fmt.Errorf("emu: snapshot of process %q with %d threads, want 1", name, len(live))
		}
		names[live[0].cred] = name
	}
	return s.m.MarshalSnapshot(names)
}

// Restore returns a System running the kernel state data encodes, and the
// processes it named, each with one thread holding the saved credentials
// and init as its parent. The kernel's own settings (Profile, quotas,
// delays, Start, Seed) come from the snapshot; cfg supplies the rest
// (request-key handler, faults). Errors are model.UnmarshalSnapshot's.
func Restore(data []byte, cfg Config) (*System, map[string]*Process, error) {
	m, creds, err := model.UnmarshalSnapshot(data)
	if err != nil {
		return nil, nil, err
	}
	s := New(cfg)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = m
	names := make([]string, 0, len(creds))
	for name := range creds {
		names = append(names, name)
	}
	sort.Strings(names)
	procs := make(map[string]*Process, len(names))
	for _, name := range names {
		procs[name] = s.newProcessLocked(nil, creds[name])
	}
	return s, procs, nil
}

// Spawn starts a child process of p running with the IDs c, as fork(2)
// followed by execve(2) of a program that sets those IDs (a set-ID
// program, or one started by a privileged parent): the child shares p's
// session keyring (R2.4a) and has no thread or process keyring (R2.2b,
// R2.3). Its parent is p, so KEYCTL_SESSION_TO_PARENT reaches p. It
// returns nil when p has exited.
func (p *Process) Spawn(c Creds) *Process {
	s := p.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.exited {
		return nil
	}
	groups := make([]model.GID, len(c.Groups))
	for i, g := range c.Groups {
		groups[i] = model.GID(g)
	}
	cred := s.m.NewCred(model.UID(c.UID), model.GID(c.GID), groups, s.m.InitNS())
	for _, t := range p.threads {
		if !t.exited {
			s.m.ShareSession(cred, t.cred)
			break
		}
	}
	return s.newProcessLocked(p, cred)
}

// SessionKeyring returns the serial of the session keyring of p's first
// live thread, or 0 when it has none (or p has exited). It creates
// nothing and needs no permission: it is the view from outside the
// emulated kernel.
func (p *Process) SessionKeyring() int {
	s := p.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range p.threads {
		if !t.exited {
			if k := t.cred.SessionKeyring(); k != nil {
				return int(k.Serial())
			}
			return 0
		}
	}
	return 0
}

package emu

import (
	"github.com/keyemu/keyemu/model"
)

// InjectedFault makes matching system calls fail with Err before they do
// anything, to test fallbacks for seccomp-blocked keyctl (ENOSYS, EPERM),
// quota exhaustion (EDQUOT) or kernels without keyrings.
type InjectedFault struct {
	// Syscall is SYS_ADD_KEY, SYS_REQUEST_KEY or SYS_KEYCTL; 0 matches all.
	Syscall int
	// Ops lists the keyctl operations that fail; empty matches all.
	Ops []int
	// UIDs lists the real UIDs whose calls fail; empty matches all.
	UIDs []uint32
	// After lets that many matching calls through before failing.
	After int
	// Times is how many calls fail, 0 for every one after After.
	Times int
	// Err is the errno to fail with (emu.ENOSYS, emu.EPERM, ...).
	Err Errno
}

type faultState struct {
	InjectedFault
	seen int
}

// SetFaults replaces the System's faults; nil removes them all.
func (s *System) SetFaults(faults []InjectedFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFaultsLocked(faults)
}

func (s *System) setFaultsLocked(faults []InjectedFault) {
	s.faults = s.faults[:0]
	for _, f := range faults {
		s.faults = append(s.faults, faultState{InjectedFault: f})
	}
}

// faultLocked returns the injected error for a call, if any matches.
func (s *System) faultLocked(t *Thread, nr int, op int) error {
	for i := range s.faults {
		f := &s.faults[i]
		if f.Syscall != 0 && f.Syscall != nr {
			continue
		}
		if len(f.Ops) > 0 && (nr != SYS_KEYCTL || !containsInt(f.Ops, op)) {
			continue
		}
		if len(f.UIDs) > 0 && !containsUID(f.UIDs, uint32(t.cred.UID)) {
			continue
		}
		f.seen++
		if f.seen <= f.After {
			continue
		}
		if f.Times > 0 && f.seen > f.After+f.Times {
			continue
		}
		return model.Errno(f.Err)
	}
	return nil
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func containsUID(list []uint32, v uint32) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

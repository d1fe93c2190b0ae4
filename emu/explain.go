package emu

import "github.com/keyemu/keyemu/model"

// Explanation is a system call's result together with the decisions the
// emulator made to reach it: how each special ID resolved and what was
// created on the way, whether keys given by serial are possessed, every
// permission check with the permission byte that applied, each keyring a
// search entered or skipped and each candidate it weighed, quota refusals,
// and for a failure a hint at the smallest change that would make it
// succeed. Each step names the rule of the rule book that decided it.
type Explanation struct {
	Result int
	Err    error
	Steps  []model.Step
}

// Explain performs one system call exactly as Syscall does and also
// returns the decisions behind its result.
func (t *Thread) Explain(nr int, args ...Arg) Explanation {
	var steps []model.Step
	s := t.proc.sys
	s.mu.Lock()
	t.trace = func(st model.Step) { steps = append(steps, st) }
	s.mu.Unlock()
	r, err := t.Syscall(nr, args...)
	s.mu.Lock()
	t.trace = nil
	s.mu.Unlock()
	return Explanation{Result: r, Err: err, Steps: steps}
}

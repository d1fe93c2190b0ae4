package model

import (
	"fmt"
	"strings"
)

// Step is one decision an operation made, reported to a trace set with
// SetTrace: which special ID resolved to what, whether a key is
// possessed, each permission check, each keyring a search entered and each
// candidate it weighed, quota charges, and for a failure a hint at the
// smallest change that would make it succeed.
type Step struct {
	// Kind is "resolve", "possession", "permission", "search", "quota" or
	// "hint".
	Kind string `json:"kind"`
	// Rule is the rule book ID that decided the step.
	Rule string `json:"rule,omitempty"`
	// Key is the serial concerned, 0 when none.
	Key Serial `json:"key,omitempty"`
	// OK is false for a step that failed or skipped something.
	OK bool `json:"ok"`
	// Text says what happened, in a sentence.
	Text string `json:"text"`
}

// SetTrace makes every later operation report its decisions to fn; nil
// turns tracing off.
func (s *State) SetTrace(fn func(Step)) { s.trace = fn }

// Trace returns the current trace function.
func (s *State) Trace() func(Step) { return s.trace }

func (s *State) step(kind, rule string, k *Key, ok bool, format string, args ...any) {
	if s.trace == nil {
		return
	}
	st := Step{Kind: kind, Rule: rule, OK: ok, Text: fmt.Sprintf(format, args...)}
	if k != nil {
		st.Key = k.serial
	}
	s.trace(st)
}

// keyLabel names a key for explanations: serial, type and description.
func keyLabel(k *Key) string {
	return fmt.Sprintf("%d (%s %q)", k.serial, k.typ.Name, k.desc)
}

var specNames = map[int32]string{-1: "@t", -2: "@p", -3: "@s", -4: "@u", -5: "@us", -6: "@g", -7: "@a", -8: "@r"}

// tracePermission reports a permission check and, on failure, a hint.
func (s *State) tracePermission(c *Cred, k *Key, possessed bool, need Need, granted bool) {
	if s.trace == nil {
		return
	}
	class, shift := "other", 0
	switch {
	case k.uid == c.FSUID:
		class, shift = "user (owner)", 16
	case k.gid != InvalidGID && k.perm&KEY_GRP_ALL != 0 && c.inGroup(k.gid):
		class, shift = "group", 8
	}
	pos := "not possessed"
	if possessed {
		pos = "possessed, so the possessor bits " + byteLetters(byte(k.perm>>24)) + " count too"
	}
	verdict := "granted"
	if !granted {
		verdict = "denied"
	}
	s.step("permission", "R6.2", k, granted, "%s on key %s: perm %s, you are %s with %s, %s: %s",
		need, keyLabel(k), k.perm.Hex(), class, byteLetters(byte(k.perm>>shift)), pos, verdict)
	if granted {
		return
	}
	bit := byte(need)
	switch {
	case !possessed && byte(k.perm>>24)&bit != 0:
		s.step("hint", "R4.7", k, false, "key %d grants %s to its possessor but is not possessed: make it reachable from your thread, process or session keyring (for a key in @u: link @u into @s, as pam_keyinit does)", k.serial, need)
	case shift == 16:
		s.step("hint", "R6.2", k, false, "you own key %d: KEYCTL_SETPERM can add %s to the user byte (setperm needs setattr)", k.serial, need)
	default:
		s.step("hint", "R6.2", k, false, "key %d is owned by uid %d: its owner can grant %s to the %s byte, or chown it to you", k.serial, k.uid, need, strings.Fields(class)[0])
	}
}

func byteLetters(b byte) string {
	var out []byte
	for i := 5; i >= 0; i-- {
		if b&(1<<i) != 0 {
			out = append(out, permLetters[i])
		} else {
			out = append(out, '-')
		}
	}
	return string(out)
}

// traceSearch turns search events into steps.
func (s *State) traceSearch(ev SearchEvent) {
	switch {
	case ev.Skipped != "":
		s.step("search", "R4.3c", ev.Keyring, false, "not entering keyring %s at depth %d: %s", keyLabel(ev.Keyring), ev.Depth, ev.Skipped)
	case ev.Candidate == nil:
		s.step("search", "R4.3b", ev.Keyring, true, "searching keyring %s at depth %d", keyLabel(ev.Keyring), ev.Depth)
	case ev.Note != nil:
		s.step("search", "R4.3e", ev.Candidate, false, "candidate %s skipped: %s", keyLabel(ev.Candidate), errName(ev.Note))
	case ev.Note == nil && ev.Keyring == nil && ev.Candidate != nil && !ev.found:
		s.step("search", "R4.3e", ev.Candidate, false, "candidate %s skipped: expired (request_key skips expired keys silently)", keyLabel(ev.Candidate))
	default:
		s.step("search", "R4.3e", ev.Candidate, true, "found %s", keyLabel(ev.Candidate))
	}
}

func errName(err error) string {
	if e, ok := err.(Errno); ok {
		return e.Name()
	}
	return err.Error()
}

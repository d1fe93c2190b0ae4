package model

// Mutation is a set of deliberately wrong behaviours, for testing test
// suites: a suite that passes against a State with a mutation switched on
// does not check the rule the mutation breaks (as testing/fstest's own
// tests break file systems on purpose). It is zero in every real use.
type Mutation uint32

// The mutations. Each is a one-line check at the spot that implements the
// rule it breaks.
const (
	// MutateIgnorePossession never counts a key given by its serial as
	// possessed, even when the caller's keyrings reach it (breaks R4.7c).
	MutateIgnorePossession Mutation = 1 << iota
	// MutateUserSessionFallbackAlways searches the user session keyring
	// even when the thread has a session keyring (breaks R4.2).
	MutateUserSessionFallbackAlways
	// MutateNoQuota never refuses a new key for lack of quota (breaks R7.3).
	MutateNoQuota
	// MutateSharedThreadKeyring gives a thread made by clone(CLONE_THREAD)
	// its creator's thread keyring instead of a fresh one (breaks R2.2).
	MutateSharedThreadKeyring
	// MutateExecKeepsProcessKeyring lets a program keep its process
	// keyring across execve (breaks R2.3).
	MutateExecKeepsProcessKeyring
	// MutateHardErrorWins makes a hard error of a search across the
	// process keyrings outrank "not found", as the man pages tell it
	// (breaks R4.4, D11).
	MutateHardErrorWins
	// MutateNoDepthLimit searches keyrings at any depth (breaks R4.3c).
	MutateNoDepthLimit

	// AllMutations is every mutation, for iterating over them.
	AllMutations = MutateNoDepthLimit<<1 - 1
)

var mutationNames = [...]string{
	"IgnorePossession",
	"UserSessionFallbackAlways",
	"NoQuota",
	"SharedThreadKeyring",
	"ExecKeepsProcessKeyring",
	"HardErrorWins",
	"NoDepthLimit",
}

// String names the mutations in m, joined by '|'; "none" for zero.
func (m Mutation) String() string {
	if m == 0 {
		return "none"
	}
	s := ""
	for i, n := range mutationNames {
		if m&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	return s
}

// mutant reports whether mutation m is switched on.
func (s *State) mutant(m Mutation) bool { return s.cfg.Mutations&m != 0 }

package model

// ShareSession gives c the session keyring of from, as a child process
// inherits its parent's across fork and execve, set-ID programs included
// (R2.4a). c's own session keyring, if any, is dropped; a from without one
// leaves c unchanged.
func (s *State) ShareSession(c, from *Cred) {
	defer s.changed()
	if from.session != nil {
		// With a keyring given, installation cannot fail.
		_ = s.installSessionKeyring(c, from.session)
	}
}

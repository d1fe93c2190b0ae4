package emu

// Login starts a login process for c and does what pam_keyinit(8) does
// when a session opens: the process joins a new anonymous session keyring
// and links the user keyring into it, so the user's keys are found from
// the session (R4.3b). Like pam_keyinit, a login whose keyring calls fail
// (keyctl blocked by Faults, a full quota) goes on without them; the error
// is returned beside the process.
func (s *System) Login(c Creds) (*Process, error) {
	p := s.NewProcess(c)
	t := p.Main()
	ses, err := t.KeyctlInt(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	if err != nil {
		return p, err
	}
	s.mu.Lock()
	p.loginSession = ses
	s.mu.Unlock()
	_, err = t.KeyctlInt(KEYCTL_LINK, KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING, 0, 0)
	return p, err
}

// Logout does what pam_keyinit(8) does when the session closes: with
// revoke (its "revoke" option) the session keyring made at login is
// revoked; then the login process exits. Processes started from the
// session keep the revoked keyring as their session keyring, and their @s
// calls fail EKEYREVOKED (R1.20).
func (p *Process) Logout(revoke bool) {
	s := p.sys
	s.mu.Lock()
	ses := p.loginSession
	var t *Thread
	for _, th := range p.threads {
		if !th.exited {
			t = th
			break
		}
	}
	s.mu.Unlock()
	if revoke && ses != 0 && t != nil {
		// pam_keyinit ignores a failure here, as the kernel's error would
		// only mean the keyring is already gone.
		_, _ = t.KeyctlInt(KEYCTL_REVOKE, ses, 0, 0, 0)
	}
	p.Exit()
}

// LoginSession returns the serial of the session keyring Login made for
// p, or 0.
func (p *Process) LoginSession() int {
	p.sys.mu.Lock()
	defer p.sys.mu.Unlock()
	return p.loginSession
}

package model

// authData is the payload of a ".request_key_auth" key (§5.4): the key
// under construction, the destination chosen for it, a snapshot of the
// requester's credentials for the requestor search phase (R4.2a), and the
// callout string that KEYCTL_READ of @a returns.
type authData struct {
	target  *Key
	dest    *Key
	cred    *Cred
	callout []byte
	pid     int
}

// release drops the references the authorisation key holds; it reports
// whether it held any, so a revoked key's record is released only once.
func (a *authData) release(release func(*Key)) bool {
	if a.cred == nil {
		return false
	}
	for _, k := range []*Key{a.target, a.dest, a.cred.thread, a.cred.process, a.cred.session, a.cred.auth} {
		if k != nil {
			release(k)
		}
	}
	a.target, a.dest = nil, nil
	a.cred.thread, a.cred.process, a.cred.session, a.cred.auth = nil, nil, nil, nil
	return true
}

// releaseAuth frees a revoked authorisation key's record
// (request_key_auth_revoke): it no longer pins the key under construction,
// the destination or the requester's credentials, and shows no pid or
// callout (R9.4).
func (s *State) releaseAuth(k *Key) {
	a := k.auth
	cred := a.cred
	if a.release(s.put) {
		s.credDetach(cred)
		a.cred = nil
		a.callout = nil
	}
}

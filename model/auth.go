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

// release drops the references the authorisation key holds.
func (a *authData) release(release func(*Key)) {
	for _, k := range []*Key{a.target, a.dest, a.cred.thread, a.cred.process, a.cred.session, a.cred.auth} {
		if k != nil {
			release(k)
		}
	}
	a.target, a.dest = nil, nil
	a.cred.thread, a.cred.process, a.cred.session, a.cred.auth = nil, nil, nil, nil
}

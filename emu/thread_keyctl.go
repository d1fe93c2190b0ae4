package emu

// The Keyctl methods of *Thread, shaped and behaving like their
// golang.org/x/sys/unix namesakes. AddKey, KeyctlInt, KeyctlBuffer and
// KeyctlSearch, the most called, are in keyctl.go, without a wrapper.

// RequestKey is request_key(2), as unix.RequestKey. Like the x/sys
// wrapper it always passes a callout string, so a key that is not found is
// constructed (R5.4c).
func (t *Thread) RequestKey(keyType, description, callback string, destRingid int) (int, error) {
	return t.requestKey(keyType, description, callback, destRingid)
}

// KeyctlString is KEYCTL_DESCRIBE or KEYCTL_GET_SECURITY returning a
// string, as unix.KeyctlString.
func (t *Thread) KeyctlString(cmd, id int) (string, error) { return t.keyctlString(cmd, id) }

// KeyctlGetKeyringID is KEYCTL_GET_KEYRING_ID, as unix.KeyctlGetKeyringID.
func (t *Thread) KeyctlGetKeyringID(id int, create bool) (int, error) {
	return t.keyctlGetKeyringID(id, create)
}

// KeyctlSetperm is KEYCTL_SETPERM, as unix.KeyctlSetperm.
func (t *Thread) KeyctlSetperm(id int, perm uint32) error { return t.keyctlSetperm(id, perm) }

// KeyctlJoinSessionKeyring is KEYCTL_JOIN_SESSION_KEYRING with a name, as
// unix.KeyctlJoinSessionKeyring (an empty name is not NULL: use KeyctlInt
// with arg2 0 for an anonymous session keyring).
func (t *Thread) KeyctlJoinSessionKeyring(name string) (int, error) {
	return t.keyctlJoinSessionKeyring(name)
}

// KeyctlRestrictKeyring is KEYCTL_RESTRICT_KEYRING, as
// unix.KeyctlRestrictKeyring (an empty keyType restricts all links).
func (t *Thread) KeyctlRestrictKeyring(ringid int, keyType, restriction string) error {
	return t.keyctlRestrictKeyring(ringid, keyType, restriction)
}

var (
	_ Keyctl    = (*Thread)(nil)
	_ Syscaller = (*Thread)(nil)
)

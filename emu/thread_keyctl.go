package emu

// The Keyctl methods of *Thread, shaped and behaving like their
// golang.org/x/sys/unix namesakes.

// AddKey is add_key(2), as unix.AddKey.
func (t *Thread) AddKey(keyType, description string, payload []byte, ringid int) (int, error) {
	return t.addKey(keyType, description, payload, ringid)
}

// RequestKey is request_key(2), as unix.RequestKey. Like the x/sys
// wrapper it always passes a callout string, so a key that is not found is
// constructed (R5.4c).
func (t *Thread) RequestKey(keyType, description, callback string, destRingid int) (int, error) {
	return t.requestKey(keyType, description, callback, destRingid)
}

// KeyctlInt is keyctl(2) with integer arguments, as unix.KeyctlInt.
// Arguments the kernel reads as pointers are NULL when 0 and unreadable
// otherwise.
func (t *Thread) KeyctlInt(cmd, arg2, arg3, arg4, arg5 int) (int, error) {
	return t.keyctlInt(cmd, arg2, arg3, arg4, arg5)
}

// KeyctlBuffer is keyctl(2) with a buffer as the third and fourth
// arguments, as unix.KeyctlBuffer.
func (t *Thread) KeyctlBuffer(cmd, arg2 int, buf []byte, arg5 int) (int, error) {
	return t.keyctlBuffer(cmd, arg2, buf, arg5)
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

// KeyctlSearch is KEYCTL_SEARCH, as unix.KeyctlSearch.
func (t *Thread) KeyctlSearch(ringid int, keyType, description string, destRingid int) (int, error) {
	return t.keyctlSearch(ringid, keyType, description, destRingid)
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

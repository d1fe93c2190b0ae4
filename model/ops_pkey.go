package model

// PkeyQuery is KEYCTL_PKEY_QUERY (op 24). On the reference kernel the
// public-key operations are the compiled-out stubs of security/keys/
// internal.h: once keyctl() has checked that arg3 is 0, they answer
// EOPNOTSUPP without reading the info string or looking the key up (§5.3
// op 24-28; conformance raw-keyctl/bad-ops: NULL info and unknown keys
// give EOPNOTSUPP, not EFAULT or ENOKEY).
func (s *State) PkeyQuery(c *Cred, id int32, info UStr) (int, error) {
	return -1, EOPNOTSUPP
}

// PkeyOp is KEYCTL_PKEY_ENCRYPT, _DECRYPT, _SIGN and _VERIFY (ops 25-28):
// EOPNOTSUPP whatever the arguments, as PkeyQuery.
func (s *State) PkeyOp(c *Cred, params []byte, readable bool, info UStr) (int, error) {
	return -1, EOPNOTSUPP
}

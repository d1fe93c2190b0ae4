package model

import (
	"encoding/binary"
	"strings"
)

// pkeyParams parses the info string of the KEYCTL_PKEY_* operations
// (keyctl_pkey_params_parse): space-separated "enc=" and "hash=" tokens.
func pkeyParams(info UStr) error {
	text, err := strndupUser(info, pageSize)
	if err != nil {
		return err
	}
	for _, tok := range strings.Fields(text) {
		name, _, ok := strings.Cut(tok, "=")
		if !ok || (name != "enc" && name != "hash") {
			return EINVAL
		}
	}
	return nil
}

// PkeyQuery is KEYCTL_PKEY_QUERY (op 24). No emulated key type has
// asymmetric operations, so a key that is found answers EOPNOTSUPP.
func (s *State) PkeyQuery(c *Cred, id int32, reserved int, info UStr) (int, error) {
	if reserved != 0 {
		// keyctl(2) dispatch: PKEY_QUERY's third argument must be 0.
		return -1, EINVAL
	}
	if err := pkeyParams(info); err != nil {
		return -1, err
	}
	ref, err := s.lookupUserKey(c, id, 0, NeedSearch)
	if err != nil {
		return -1, err
	}
	s.put(ref.key)
	return -1, EOPNOTSUPP
}

// PkeyOp is KEYCTL_PKEY_ENCRYPT, _DECRYPT, _SIGN and _VERIFY (ops 25-28):
// params is struct keyctl_pkey_params (40 bytes, key_id first).
func (s *State) PkeyOp(c *Cred, params []byte, readable bool, info UStr) (int, error) {
	if !readable || len(params) < 40 {
		return -1, EFAULT
	}
	id := int32(binary.LittleEndian.Uint32(params))
	return s.PkeyQuery(c, id, 0, info)
}

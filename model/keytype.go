package model

import (
	"encoding/hex"
	"strings"
)

// KeyType is a registered key type (R1.2). The emulator registers the types
// a userspace program can use on the reference kernel: keyring, user, logon,
// plus the internal .request_key_auth; big_key is not configured there and
// add_key of it fails ENODEV (R1.16).
type KeyType struct {
	// Name is the type's name as given to add_key(2).
	Name string
	// order sorts types in keyring indexes; keyring links stay contiguous.
	order uint8
	// readable: KEYCTL_READ works (user, keyring, .request_key_auth).
	readable bool
	// updatable: the type has an update operation (user, logon).
	updatable bool
	// preparse checks a payload before a key is created or updated.
	preparse func(payload []byte) error
	// vetDescription checks a description at allocation (logon).
	vetDescription func(desc string) error
	// restrictable: the type can parse link restrictions (R op 29).
	restrictable bool
	// matchPreparse checks a search criterion before KEYCTL_SEARCH or
	// request_key(2) searches for keys of the type (match_preparse).
	matchPreparse func(desc string) error
}

var (
	// TypeKeyring holds links to other keys (R1.12).
	TypeKeyring = &KeyType{Name: "keyring", order: 1, readable: true, preparse: preparseKeyring}
	// TypeUser is a readable, updatable blob (R1.14).
	TypeUser = &KeyType{Name: "user", order: 2, readable: true, updatable: true, preparse: preparseUser}
	// TypeLogon is a user key that cannot be read back (R1.15).
	TypeLogon = &KeyType{Name: "logon", order: 3, updatable: true, preparse: preparseUser, vetDescription: vetLogon}
	// TypeAuth is the request-key authorisation token (§5.4).
	TypeAuth = &KeyType{Name: ".request_key_auth", order: 4, readable: true}
	// TypeAsymmetric exists on the reference kernel; the emulator cannot
	// instantiate it but accepts its link restrictions (R op 29).
	TypeAsymmetric = &KeyType{Name: "asymmetric", order: 5, restrictable: true, preparse: preparseAsymmetric, matchPreparse: matchPreparseAsymmetric}
)

var keyTypes = []*KeyType{TypeKeyring, TypeUser, TypeLogon, TypeAuth, TypeAsymmetric}

// LookupType returns the registered type with that name. The names are
// cases of a switch, which tells them apart by length and a word or two
// each, instead of a string comparison per type (keyTypes names them too).
func LookupType(name string) (*KeyType, bool) {
	var t *KeyType
	switch name {
	case "user":
		t = TypeUser
	case "keyring":
		t = TypeKeyring
	case "logon":
		t = TypeLogon
	case ".request_key_auth":
		t = TypeAuth
	case "asymmetric":
		t = TypeAsymmetric
	}
	return t, t != nil
}

// R1.12: keyring payload must be empty.
func preparseKeyring(p []byte) error {
	if len(p) != 0 {
		return EINVAL
	}
	return nil
}

// preparseAsymmetric is asymmetric_key_preparse(): an empty payload is
// EINVAL; no parser the emulator has accepts any other (EBADMSG).
func preparseAsymmetric(p []byte) error {
	if len(p) == 0 {
		return EINVAL
	}
	return EBADMSG
}

// matchPreparseAsymmetric is asymmetric_key_match_preparse()
// (crypto/asymmetric_keys/asymmetric_type.c): an empty criterion is EINVAL,
// and so is an "id:", "ex:" or "dn:" criterion whose key ID is not an even,
// non-zero number of hex digits (asymmetric_key_hex_to_key_id). Measured by
// TestDifferential on 6.18.
func matchPreparseAsymmetric(spec string) error {
	if spec == "" {
		return EINVAL
	}
	switch {
	case strings.HasPrefix(spec, "id:"), strings.HasPrefix(spec, "ex:"), strings.HasPrefix(spec, "dn:"):
		id := spec[3:]
		if id == "" || len(id)%2 != 0 {
			return EINVAL
		}
		if _, err := hex.DecodeString(id); err != nil {
			return EINVAL
		}
	}
	return nil
}

// R1.14: user and logon payloads are 1..32767 bytes.
func preparseUser(p []byte) error {
	if len(p) == 0 || len(p) > 32767 {
		return EINVAL
	}
	return nil
}

// R1.15: a logon description needs a ':' that is not its first byte.
func vetLogon(desc string) error {
	for i := 0; i < len(desc); i++ {
		if desc[i] == ':' {
			if i == 0 {
				return EINVAL
			}
			return nil
		}
	}
	return EINVAL
}

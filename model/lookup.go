package model

// Special key IDs (R3.1).
const (
	specThread      int32 = -1
	specProcess     int32 = -2
	specSession     int32 = -3
	specUser        int32 = -4
	specUserSession int32 = -5
	specGroup       int32 = -6
	specAuth        int32 = -7
	specRequestor   int32 = -8
)

type lookupFlags uint8

// Lookup flags (KEY_LOOKUP_*), R3.2.
const (
	lookupCreate lookupFlags = 1 << iota
	lookupPartial
)

// keyRef is a key_ref_t: a key plus whether the reference is possessed.
type keyRef struct {
	key       *Key
	possessed bool
}

// lookupUserKey is lookup_user_key() (R3.2-R3.4): resolve an ID from
// userspace, creating anchors as the flags allow, then apply the
// construction wait, the validity check and the permission check. On
// success the caller holds a reference on ref.key and must put it.
func (s *State) lookupUserKey(c *Cred, id int32, flags lookupFlags, need Need) (keyRef, error) {
	ref, err := s.resolveID(c, id, flags)
	if err != nil {
		return keyRef{}, err
	}
	if err := s.checkLookedUp(c, ref, flags, need); err != nil {
		s.put(ref.key)
		return keyRef{}, err
	}
	return ref, nil
}

// checkLookedUp is the second half of lookup_user_key(): R3.2b.
func (s *State) checkLookedUp(c *Cred, ref keyRef, flags lookupFlags, need Need) error {
	k := ref.key
	if need != needUnlink {
		if flags&lookupPartial == 0 {
			// wait_for_key_construction(): the model never blocks; the
			// caller waits and repeats the call (R1.17).
			if k.has(flagUserConstruct) {
				return &WaitError{Key: k}
			}
			var err error
			if err = k.readState(); err == nil {
				err = k.validate(s.sec())
			}
			if err != nil && need != needAuthOverride && need != needDeferPerm {
				return err
			}
			if k.state == stateUninstantiated {
				return EIO
			}
		} else if need != needDeferPerm {
			if err := k.validate(s.sec()); err != nil {
				return err
			}
		}
	}
	return s.permission(c, k, ref.possessed, need)
}

// resolveID is the switch of lookup_user_key(): special IDs (possessed,
// R3.2a) and serials (possessed if the process keyrings reach them, R4.7).
func (s *State) resolveID(c *Cred, id int32, flags lookupFlags) (keyRef, error) {
	switch id {
	case specThread:
		if c.thread == nil {
			if flags&lookupCreate == 0 {
				return keyRef{}, ENOKEY
			}
			if err := s.installThreadKeyring(c); err != nil {
				return keyRef{}, err
			}
		}
		return keyRef{s.get(c.thread), true}, nil
	case specProcess:
		if c.process == nil {
			if flags&lookupCreate == 0 {
				return keyRef{}, ENOKEY
			}
			if err := s.installProcessKeyring(c); err != nil {
				return keyRef{}, err
			}
		}
		return keyRef{s.get(c.process), true}, nil
	case specSession:
		if c.session == nil {
			// R3.4 case 1: always install a session keyring on access.
			_, us, err := s.lookUpUserKeyringsPut(c)
			if err != nil {
				return keyRef{}, ENOKEY // R2.5f
			}
			if flags&lookupCreate != 0 {
				err = s.installSessionKeyring(c, nil)
			} else {
				err = s.installSessionKeyring(c, us)
			}
			s.put(us)
			if err != nil {
				return keyRef{}, ENOKEY
			}
		} else if c.session.has(flagUIDKeyring) && flags&lookupCreate != 0 {
			// R3.4 case 2: a UID keyring as session is replaced on create.
			if err := s.installSessionKeyring(c, nil); err != nil {
				return keyRef{}, ENOKEY
			}
		}
		return keyRef{s.get(c.session), true}, nil
	case specUser, specUserSession:
		u, us, err := s.lookUpUserKeyrings(c)
		if err != nil {
			return keyRef{}, ENOKEY // R2.5f
		}
		if id == specUser {
			s.put(us)
			return keyRef{u, true}, nil
		}
		s.put(u)
		return keyRef{us, true}, nil
	case specGroup:
		return keyRef{}, EINVAL // R2.10
	case specAuth:
		if c.auth == nil {
			return keyRef{}, ENOKEY
		}
		return keyRef{s.get(c.auth), true}, nil
	case specRequestor:
		if c.auth == nil {
			return keyRef{}, ENOKEY
		}
		if c.auth.has(flagRevoked) {
			return keyRef{}, EKEYREVOKED
		}
		if c.auth.auth.dest == nil {
			return keyRef{}, ENOKEY
		}
		return keyRef{s.get(c.auth.auth.dest), true}, nil
	}
	if id < 1 {
		return keyRef{}, EINVAL
	}
	k, ok := s.KeyBySerial(Serial(id))
	if !ok {
		return keyRef{}, ENOKEY
	}
	return keyRef{s.get(k), s.possessed(c, k)}, nil
}

// lookUpUserKeyringsPut runs look_up_user_keyrings for its side effect and
// returns the user session keyring with a reference held.
func (s *State) lookUpUserKeyringsPut(c *Cred) (*Key, *Key, error) {
	u, us, err := s.lookUpUserKeyrings(c)
	if err != nil {
		return nil, nil, err
	}
	s.put(u)
	return nil, us, nil
}

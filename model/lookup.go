package model

import "fmt"

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
	if need == needUnlink {
		// KEYCTL_UNLINK's key: checkLookedUp checks nothing, so the
		// possession lookup_user_key() works out decides nothing (in
		// the kernel only an LSM, which the model has none of, sees
		// it), and the key is taken without it (the reference is
		// unpossessed; Unlink uses the key alone).
		if k := s.unlinkKnown(c, id); k != nil {
			ref := keyRef{key: s.get(k)}
			if s.cfg.CheckCaches {
				return s.checkKnown(c, id, flags, need, ref, nil)
			}
			return ref, nil
		}
		return s.lookupAnyKey(c, id, flags, need)
	}
	// A key knownKey settles, the common case: checkLookedUp only checks
	// the permission, whatever the flags.
	if k, possessed := s.knownKey(c, id); k != nil {
		var err error
		if !s.permitted(c, k, possessed, need) {
			err = s.permission(c, k, possessed, need)
		}
		var ref keyRef
		if err == nil {
			ref = keyRef{s.get(k), possessed}
		}
		if s.cfg.CheckCaches {
			return s.checkKnown(c, id, flags, need, ref, err)
		}
		return ref, err
	}
	return s.lookupAnyKey(c, id, flags, need)
}

// checkKnown is the answer (ref, err) knownKey led to compared with the long
// way's, which it returns (CheckCaches).
func (s *State) checkKnown(c *Cred, id int32, flags lookupFlags, need Need, ref keyRef, err error) (keyRef, error) {
	s.put(ref.key)
	long, lerr := s.lookupAnyKey(c, id, flags, need)
	if long.key != ref.key || (long.possessed != ref.possessed && need != needUnlink) || lerr != err {
		panic(fmt.Sprintf("model: the lookup of key %d by a cached answer gives %v, %v; the long way %v, %v", id, ref, err, long, lerr))
	}
	return long, lerr
}

// lookupAnyKey is lookupUserKey without its shortcut.
func (s *State) lookupAnyKey(c *Cred, id int32, flags lookupFlags, need Need) (keyRef, error) {
	// resolveID, inlined by hand (it is too large for the compiler).
	var ref keyRef
	var err error
	if s.trace == nil {
		ref, err = s.resolveIDQuiet(c, id, flags)
	} else {
		ref, err = s.resolveIDTraced(c, id, flags)
	}
	if err != nil {
		return keyRef{}, err
	}
	if err := s.checkLookedUp(c, ref, flags, need); err != nil {
		s.put(ref.key)
		return keyRef{}, err
	}
	return ref, nil
}

// uncachedPossession is knownKey's key with serial id and its
// possession, for a key whose possession c has not cached: possessed()
// would miss the cache as bySerial did, and for a key that is neither a
// keyring nor an authorisation key it would look at the keyrings that link
// it, which is done here, and the answer kept. It returns nil for any
// other key, and for one that is not positive and valid.
func (s *State) uncachedPossession(c *Cred, id Serial) (*Key, bool) {
	k := s.serials.get(id)
	if k == nil || !k.alive() || !k.positiveValid() || k.possessedBySearch() {
		return nil, false
	}
	v := s.reachPossessed(c, k)
	c.poss.put(s.gen, k, v)
	return k, v
}

// positiveValid reports whether k is positive and valid without a look at
// the clock: instantiated, with no expiry, neither invalidated, revoked,
// dead nor under construction.
func (k *Key) positiveValid() bool {
	return k.state == statePositive && k.expiry == 0 &&
		k.flags&(flagUserConstruct|flagInvalidated|flagRevoked|flagDead) == 0
}

// checkLookedUp is the second half of lookup_user_key(): R3.2b.
func (s *State) checkLookedUp(c *Cred, ref keyRef, flags lookupFlags, need Need) error {
	k := ref.key
	if need != needUnlink {
		if flags&lookupPartial == 0 {
			// wait_for_key_construction(): the model never blocks; the
			// caller waits and repeats the call (R1.17).
			if k.has(flagUserConstruct) {
				return s.waitFor(k)
			}
			// The callers that override or defer the check
			// (KEYCTL_READ) take the key whatever its state says.
			if need != needAuthOverride && need != needDeferPerm {
				err := k.readState()
				if err == nil {
					err = k.validate(s.sec())
				}
				if err != nil {
					return err
				}
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
	if s.trace == nil {
		return s.resolveIDQuiet(c, id, flags)
	}
	return s.resolveIDTraced(c, id, flags)
}

// resolveIDTraced is resolveID with its steps reported to the trace.
func (s *State) resolveIDTraced(c *Cred, id int32, flags lookupFlags) (keyRef, error) {
	before := s.serials.n
	saved := s.trace
	s.trace = nil
	ref, err := s.resolveIDQuiet(c, id, flags)
	s.trace = saved
	created := s.serials.n - before
	if name, special := specNames[id]; special {
		switch {
		case err != nil:
			s.step("resolve", "R3.2", nil, false, "%s (%d) could not be resolved: %s", name, id, errName(err))
			s.hintSpecial(id, flags, err)
		case created > 0:
			s.step("resolve", "R3.2", ref.key, true, "%s resolved to keyring %s, after creating %d key(s) on the way (R2.2, R2.3, R2.5a, R3.4)", name, keyLabel(ref.key), created)
		default:
			s.step("resolve", "R3.2", ref.key, true, "%s resolved to %s", name, keyLabel(ref.key))
		}
		return ref, err
	}
	if err != nil {
		s.step("resolve", "R3.2", nil, false, "ID %d: %s", id, errName(err))
		return ref, err
	}
	if ref.possessed {
		s.step("possession", "R4.7", ref.key, true, "key %s is possessed: a search of your thread, process and session keyrings reaches it", keyLabel(ref.key))
	} else {
		s.step("possession", "R4.7", ref.key, false, "key %s is not possessed: no search of your thread, process and session keyrings reaches it", keyLabel(ref.key))
	}
	return ref, err
}

// hintSpecial explains how to make a special ID resolvable.
func (s *State) hintSpecial(id int32, flags lookupFlags, err error) {
	switch {
	case (id == specThread || id == specProcess) && flags&lookupCreate == 0:
		s.step("hint", "R3.3", nil, false, "%s does not exist yet and this operation does not create it; add_key to it or KEYCTL_GET_KEYRING_ID(%s, 1) would", specNames[id], specNames[id])
	case id == specAuth || id == specRequestor:
		s.step("hint", "R5.4d", nil, false, "%s exists only while the thread has assumed a request-key authority (KEYCTL_ASSUME_AUTHORITY)", specNames[id])
	case id == specGroup:
		s.step("hint", "R2.10", nil, false, "the group keyring was never implemented; every lookup of @g fails EINVAL")
	case err == ENOKEY && (id == specUser || id == specUserSession || id == specSession):
		s.step("hint", "R2.5e", nil, false, "the user keyrings could not be found or made; a revoked or invalidated _uid.N stays in the register until the collector removes it gc_delay later")
	}
}

// ResolvesUnchanged reports whether resolving id for c, with
// KEY_LOOKUP_CREATE when create is set, changes nothing: a serial, or a
// special ID whose keyring exists (or is not to be made), or @u and @us
// while the cred's cached answer holds (R3.2a, R3.4). Package emu runs such
// lookups on its shared read path.
//
// A cred that has assumed an authority gets false: its searches go on with
// the requester's credentials (R4.2a), a copy in the authorisation key that
// every thread assuming it shares, caches included.
func (s *State) ResolvesUnchanged(c *Cred, id int32, create bool) bool {
	if id > 0 {
		// A serial resolves to its key, unless the cred has assumed
		// an authority (below).
		return c.auth == nil
	}
	return s.specialResolvesUnchanged(c, id, create)
}

// specialResolvesUnchanged is ResolvesUnchanged for an ID that is not a
// serial: a special ID or 0. It is not inlined, so that ResolvesUnchanged
// is.
//
//go:noinline
func (s *State) specialResolvesUnchanged(c *Cred, id int32, create bool) bool {
	if c.auth != nil {
		return false
	}
	switch id {
	case specThread:
		return c.thread != nil || !create
	case specProcess:
		return c.process != nil || !create
	case specSession:
		return c.session != nil && !(create && c.session.has(flagUIDKeyring))
	case specUser, specUserSession:
		return s.cfg.Profile == ProfileModern && c.userRings.uid != nil && c.userRings.gen == s.gen
	}
	return true
}

func (s *State) resolveIDQuiet(c *Cred, id int32, flags lookupFlags) (keyRef, error) {
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

package model

// keyringAlloc is keyring_alloc(): allocate a keyring, instantiate it
// (publishing its name in ns, R2.7) and, if dest is given, link it there
// (R7.4: 4 bytes of dest's owner). The caller holds the returned reference.
func (s *State) keyringAlloc(desc string, uid UID, gid GID, ns *UserNS, perm Perm, flags allocFlags, dest *Key) (*Key, error) {
	k, err := s.keyAlloc(TypeKeyring, desc, uid, gid, perm, flags)
	if err != nil {
		return nil, err
	}
	if dest != nil {
		if err := s.linkBegin(dest, TypeKeyring, desc); err != nil {
			s.put(k)
			return nil, err
		}
	}
	s.instantiate(k, nil, ns)
	if dest != nil {
		s.linkCommit(dest, k)
	}
	return k, nil
}

// instantiate marks an uninstantiated key positive (the payload quota has
// already been reserved), publishing a keyring's name.
func (s *State) instantiate(k *Key, payload []byte, ns *UserNS) {
	k.user.nikeys++
	k.state = statePositive
	k.flags &^= flagUserConstruct
	if k.ring != nil {
		if s.cfg.Profile == ProfileLegacy {
			ns = s.initNS // R2.7a: one global name list
		}
		if ns != nil {
			ns.publish(k)
		}
	} else {
		k.payload = payload
	}
}

// linkBegin is __key_link_lock + __key_link_begin: the keyring must be a
// keyring (ENOTDIR) and not revoked (EKEYREVOKED), and a new entry (one not
// replacing an entry with the same index key) costs the keyring's owner 4
// bytes (EDQUOT). linkCommit or linkCancel must follow a success.
func (s *State) linkBegin(ring *Key, typ *KeyType, desc string) error {
	_, err := s.linkBeginFind(ring, typ, desc)
	return err
}

// linkBeginFind is linkBegin that also returns the entry the new link
// would displace (nil for none), saving callers a second index lookup.
func (s *State) linkBeginFind(ring *Key, typ *KeyType, desc string) (*Key, error) {
	if !ring.isKeyring() {
		return nil, ENOTDIR
	}
	if ring.has(flagRevoked) {
		return nil, EKEYREVOKED
	}
	old, ok := ring.find(typ, desc)
	if !ok {
		if err := s.reserveLink(ring); err != nil {
			return nil, err
		}
	}
	return old, nil
}

// linkBeginInsert is linkBeginFind for add_key and key_link, in one
// descent of the index where there is no entry yet: it enters the entry at
// once, pointing to nk, the key to link or a zeroed Key that keyAllocInto
// will make the key. When an entry exists it is put back and returned, and
// nothing is entered (pending false). While pending, the index holds an
// entry whose key may not be made yet: nothing may read the keyring's
// entries until linkCommitPending or linkUndoInsert.
func (s *State) linkBeginInsert(ring *Key, typ *KeyType, desc string, nk *Key) (old *Key, pending bool, err error) {
	if !ring.isKeyring() {
		return nil, false, ENOTDIR
	}
	if ring.has(flagRevoked) {
		return nil, false, EKEYREVOKED
	}
	l := mkLink(typ, desc, nk)
	if prev, found := ring.ring.links.ReplaceOrInsert(l, &s.links); found {
		ring.ring.links.ReplaceOrInsert(prev, &s.links)
		return prev.key, false, nil
	}
	if err := s.reserveLink(ring); err != nil {
		ring.ring.links.Delete(l)
		return nil, false, err
	}
	return nil, true, nil
}

// linkUndoInsert takes back a pending entry of linkBeginInsert and its
// quota charge.
func (s *State) linkUndoInsert(ring *Key, typ *KeyType, desc string) {
	ring.ring.links.Delete(mkLink(typ, desc, nil))
	_ = s.payloadReserve(ring, int(ring.datalen)-linkBytes)
}

// linkCommitPending is linkCommit for the key linkBeginInsert entered.
func (s *State) linkCommitPending(ring *Key, k *Key) {
	s.linkChanged(k)
	s.get(k)
	k.linkedIn(ring)
}

// linkCancel undoes the quota charge of a linkBegin for (typ, desc).
func (s *State) linkCancel(ring *Key, typ *KeyType, desc string) {
	if _, ok := ring.find(typ, desc); !ok {
		_ = s.payloadReserve(ring, int(ring.datalen)-linkBytes)
	}
}

// linkCommit is __key_link(): insert k, displacing any entry with the same
// index key (R5.5); the displaced key loses that reference.
func (s *State) linkCommit(ring *Key, k *Key) {
	s.linkChanged(k)
	old, replaced := ring.ring.links.ReplaceOrInsert(mkLink(k.typ, k.desc, s.get(k)), &s.links)
	if !replaced || old.key != k {
		k.linkedIn(ring)
	}
	if replaced {
		if old.key != k {
			old.key.unlinkedFrom(ring)
		}
		s.linkChanged(old.key)
		s.put(old.key)
	}
}

// keyLink is key_link(): link k into ring after the restriction, cycle and
// depth checks (R5.5a-b).
func (s *State) keyLink(ring, k *Key) error {
	if ring.isKeyring() && ring.ring.restrict == nil && !k.isKeyring() {
		// Neither a restriction nor the cycle check applies, so the
		// entry goes in with one descent of the index, as add_key's does
		// (linkBeginInsert); the errors are linkBegin's, in its order.
		_, pending, err := s.linkBeginInsert(ring, k.typ, k.desc, k)
		if err != nil {
			return err
		}
		if pending {
			s.linkCommitPending(ring, k)
		} else {
			// An entry with k's index key is there: k displaces it.
			s.linkCommit(ring, k)
		}
		return nil
	}
	if err := s.linkBegin(ring, k.typ, k.desc); err != nil {
		return err
	}
	err := s.checkRestriction(ring, k.typ)
	if err == nil {
		err = s.checkLiveKey(ring, k)
	}
	if err != nil {
		s.linkCancel(ring, k.typ, k.desc)
		return err
	}
	s.linkCommit(ring, k)
	return nil
}

// checkRestriction applies a keyring's link restriction (R1.11).
func (s *State) checkRestriction(ring *Key, typ *KeyType) error {
	r := ring.ring.restrict
	if r == nil {
		return nil
	}
	if r.rejectAll {
		return EPERM
	}
	// An asymmetric restriction (restrict_link_by_signature and friends)
	// refuses every other type with EOPNOTSUPP (measured on 6.18); the
	// emulator cannot instantiate asymmetric keys, so none gets this far.
	return EOPNOTSUPP
}

// checkLiveKey is __key_link_check_live_key(): linking keyring B into A
// fails EDEADLK if A is reachable from B (or is B) and ELOOP if B's own
// subtree is deeper than the search limit (R5.5a, R5.5b).
func (s *State) checkLiveKey(a, b *Key) error {
	if !b.isKeyring() {
		return nil
	}
	return s.detectCycle(a, b)
}

// searchMaxDepth is KEYRING_SEARCH_MAX_DEPTH.
const searchMaxDepth = 6

// detectCycle is keyring_detect_cycle(): a permission-blind, state-blind
// walk of B's tree looking for A by identity, in search order.
func (s *State) detectCycle(a, b *Key) error {
	if b == a {
		return EDEADLK
	}
	var walk func(ring *Key, depth int) error
	walk = func(ring *Key, depth int) error {
		if ring.has(flagInvalidated | flagRevoked) {
			return nil
		}
		if e, ok := ring.find(a.typ, a.desc); ok && e == a {
			return EDEADLK
		}
		var err error
		ring.eachChildKeyring(func(child *Key) bool {
			if depth >= searchMaxDepth {
				err = ELOOP
				return false
			}
			err = walk(child, depth+1)
			return err == nil
		})
		return err
	}
	return walk(b, 0)
}

// keyUnlink is key_unlink(): remove the entry with k's index key, which may
// be a different key of the same name (R op 9, D19).
func (s *State) keyUnlink(ring, k *Key) error {
	if !ring.isKeyring() {
		return ENOTDIR
	}
	old, ok := ring.ring.links.Delete(mkLink(k.typ, k.desc, nil))
	if !ok {
		return ENOENT
	}
	old.key.unlinkedFrom(ring)
	s.linkChanged(old.key)
	_ = s.payloadReserve(ring, int(ring.datalen)-linkBytes)
	s.put(old.key)
	return nil
}

// keyringClear is keyring_clear(): drop every link and its quota bytes.
func (s *State) keyringClear(ring *Key) error {
	if !ring.isKeyring() {
		return ENOTDIR
	}
	s.clearLinks(ring)
	return nil
}

// clearLinks drops every link of ring and refunds its whole charge, that
// of an empty keyring too: links the collector removed stay charged until
// then (R7.4; keyring_clear and keyring_revoke call key_payload_reserve(0)
// whether or not the index was empty).
func (s *State) clearLinks(ring *Key) {
	// The list is taken, not shared: the puts below can destroy a keyring
	// and so clear another one.
	keys := s.cleared
	s.cleared = nil
	if ring.ring.links.Len() != 0 {
		ring.ring.links.Ascend(func(l link) bool {
			l.key.unlinkedFrom(ring)
			keys = append(keys, l.key)
			return true
		})
		s.changed()
		ring.ring.links.Clear()
	}
	_ = s.payloadReserve(ring, 0)
	for _, k := range keys {
		s.put(k)
	}
	if cap(keys) <= keyListKept {
		clear(keys)
		s.cleared = keys[:0]
	}
}

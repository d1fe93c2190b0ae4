package model

// AddKey is add_key(2) (R5.2): create a key in keyring ringid, or update
// the same-named key already linked there. It returns the key's serial.
//
// AddKey does not end every cached answer when it returns, as other changes
// do: what it changes that possession depends on is links (linkChanged) and
// anchors made by its lookup, which end them as they happen.
func (s *State) AddKey(c *Cred, typeArg, descArg UStr, payload UBuf, ringid int32) (int, error) {
	// Step 1: the payload size limit comes before anything else.
	if payload.Len < 0 || payload.Len > 1024*1024-1 {
		return -1, EINVAL
	}
	typeName, err := typeFromUser(typeArg)
	if err != nil {
		return -1, err
	}
	desc := ""
	if !descArg.Null {
		if desc, err = strndupUser(descArg, maxDescSize); err != nil {
			return -1, err
		}
		if len(desc) > 0 && desc[0] == '.' && len(typeName) >= 7 && typeName[:7] == "keyring" {
			return -1, EPERM
		}
	}
	// The payload is read here, as copy_from_user() does; what the key
	// keeps of it is copied when it is stored.
	data, err := payload.view(payload.Len)
	if err != nil {
		return -1, err
	}
	ref, err := s.lookupUserKey(c, ringid, lookupCreate, NeedWrite)
	if err != nil {
		return -1, err
	}
	// The reference is dropped here rather than in a deferred call, which
	// would cost an update a tenth of its time.
	k, err := s.createOrUpdate(c, ref, typeName, desc, data)
	r := -1
	if err == nil {
		r = int(k.serial)
	}
	s.put(ref.key)
	return r, err
}

// optimisticInsertMin is the size from which createOrUpdate enters a new
// entry before it knows whether one exists: smaller keyrings keep their
// index in a sorted slice (smallLinks), where looking first is cheap.
const optimisticInsertMin = smallLinks

// defaultPerm is the permission mask of keys made by add_key and
// request_key (R5.2 step 13).
func defaultPerm(t *KeyType) Perm {
	p := KEY_POS_VIEW | KEY_POS_SEARCH | KEY_POS_LINK | KEY_POS_SETATTR | KEY_USR_VIEW
	if t.readable {
		p |= KEY_POS_READ
	}
	if t == TypeKeyring || t.updatable {
		p |= KEY_POS_WRITE
	}
	return p
}

// createOrUpdate is __key_create_or_update() (R5.2 steps 6-13).
func (s *State) createOrUpdate(c *Cred, ringRef keyRef, typeName, desc string, data []byte) (*Key, error) {
	typ, ok := LookupType(typeName)
	if !ok || typ == TypeAuth {
		return nil, ENODEV
	}
	ring := ringRef.key
	if !ring.isKeyring() {
		return nil, ENOTDIR
	}
	if err := typ.preparse(data); err != nil {
		return nil, err
	}
	if desc == "" {
		// None of the emulated types can choose a description.
		return nil, EINVAL
	}
	// In a keyring of more than one index node, the new key's entry goes
	// into the index now when there is none (one descent instead of a
	// lookup and an insertion); it points to nk, which becomes the key. In
	// a smaller one a lookup costs less than putting back an entry that
	// exists (an update).
	// nk stays the spare until it becomes the key: a call that makes none
	// (an update, an error) leaves it for the next.
	nk, buf := s.spare, s.spareBuf
	if nk == nil {
		if typ != TypeKeyring && len(data) <= smallPayload {
			nk, buf = s.keyMem.newSmallKeyMem()
		} else {
			nk = new(Key)
		}
		s.spare, s.spareBuf = nk, buf
	}
	var old *Key
	var pending bool
	var err error
	if ring.nlinks() < optimisticInsertMin {
		old, err = s.linkBeginFind(ring, typ, desc)
	} else {
		old, pending, err = s.linkBeginInsert(ring, typ, desc, nk)
	}
	if err != nil {
		return nil, err
	}
	if err := s.checkRestriction(ring, typ); err != nil {
		s.linkAbandon(ring, typ, desc, pending)
		return nil, err
	}
	// AddKey's lookup of the keyring has granted Write with the same
	// credentials and possession, so this check, which the kernel repeats,
	// can only pass; an explanation shows it.
	if s.trace != nil {
		if err := s.permission(c, ring, ringRef.possessed, NeedWrite); err != nil {
			s.linkAbandon(ring, typ, desc, pending)
			return nil, err
		}
	}
	if typ.updatable {
		// find_key_to_update(): the entry linkBeginFind or linkBeginInsert
		// met; nothing between there and here changes the keyring.
		if old != nil && !old.has(flagInvalidated|flagRevoked) {
			// Step 12: update in place; no new entry, so nothing reserved.
			return old, s.updateKey(c, keyRef{old, ringRef.possessed}, data)
		}
	}
	k, err := s.keyAllocInto(nk, typ, desc, c.FSUID, c.FSGID, defaultPerm(typ), 0)
	if err != nil {
		s.linkAbandon(ring, typ, desc, pending)
		return nil, err
	}
	s.spare, s.spareBuf = nil, nil
	if err := s.payloadReserve(k, len(data)); err != nil {
		s.linkAbandon(ring, typ, desc, pending)
		s.put(k)
		return nil, err
	}
	s.instantiate(k, storedPayload(buf, data), c.NS)
	if ring.has(flagKeep) {
		k.flags |= flagKeep
	}
	if pending {
		s.linkCommitPending(ring, k)
	} else {
		// An entry that is not updated is displaced (R5.5).
		s.linkCommit(ring, k)
	}
	s.put(k)
	return k, nil
}

// linkAbandon undoes what linkBeginInsert (pending) or linkBeginFind did for
// (typ, desc) in ring, for a call that fails before the key is linked. It
// is not inlined: the failures are rare, and a copy at each of them would
// put their code among the lines every add_key runs.
//
//go:noinline
func (s *State) linkAbandon(ring *Key, typ *KeyType, desc string, pending bool) {
	if pending {
		s.linkUndoInsert(ring, typ, desc)
	} else {
		s.linkCancel(ring, typ, desc)
	}
}

// storedPayload returns a key's copy of data (the caller's memory, from
// UBuf.view): the buffer of old, the key's previous payload, when data fits
// it without leaving much of it unused (a key's payload is its own: nothing
// else holds it), else a new one.
func storedPayload(old, data []byte) []byte {
	if len(data) == 0 {
		return nil
	}
	if len(data) <= cap(old) && cap(old) <= 2*len(data)+16 {
		old = old[:len(data)]
		copy(old, data)
		return old
	}
	return append([]byte(nil), data...)
}

// updateKey is __key_update()/key_update(): Write on the key, the type's
// update (payload quota, R7.4), the expiry cleared (R1.14), and a negative
// key becomes positive (R5.2 step 12). data is the caller's memory
// (UBuf.view); the key keeps a copy.
func (s *State) updateKey(c *Cred, ref keyRef, data []byte) error {
	k := ref.key
	if k.has(flagUserConstruct) {
		return s.waitFor(k)
	}
	if !s.permitted(c, k, ref.possessed, NeedWrite) {
		if err := s.permission(c, k, ref.possessed, NeedWrite); err != nil {
			return err
		}
	}
	if err := s.payloadReserve(k, len(data)); err != nil {
		return err
	}
	k.payload = storedPayload(k.payload, data)
	k.expiry = 0
	if k.state == stateNegative {
		k.state = statePositive
		k.rejectErr = 0
	}
	return nil
}

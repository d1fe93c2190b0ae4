package model

import "fmt"

// The lookups a program makes most (KEYCTL_READ, KEYCTL_DESCRIBE,
// KEYCTL_SEARCH and request_key(2) without a destination) mostly ask about
// positive, valid keys whose possession the cred has cached or can work
// out from the keyrings that link them, in keyrings it may search. For
// those, ReadKnown, describeKnown, SearchKnown and RequestKnown answer in
// one step, for a caller that changes nothing (the emulator's shared
// path): the key or keyring and its possession come from knownKey, as
// lookupUserKey's common case takes them, and every check the long way
// would make is made in line, with the same answer. Whatever is not that
// case (a trace, mutations, an argument the kernel refuses, a key that is
// negative, expired, revoked, under construction or not permitted by the
// common check, a candidate the search would skip with a note, a search
// plan not yet made) is reported as not settled, and the caller takes the
// long way (ReadKept, describe's, Search, RequestKeyShared), which gives
// the kernel's answer with its explanation. With Config.CheckCaches the
// long way runs too, and the answers are compared (checkShortcut).

// knownKey is the key with serial id and c's possession of it, for a key
// that is positive and valid, the common case, whose possession c has
// cached (Cred.poss) or is a look at the keyrings that link it (a key that
// is neither a keyring nor an authorisation key, reachPossessed), which is
// then kept. It returns nil for every other key, and while tracing or
// mutated, having done nothing but keep the possession of a key it worked
// out.
func (s *State) knownKey(c *Cred, id int32) (*Key, bool) {
	if id <= 0 || s.trace != nil || s.cfg.Mutations != 0 {
		return nil, false
	}
	e := c.poss.bySerial(s.gen, Serial(id))
	if e == nil {
		return s.uncachedPossession(c, Serial(id))
	}
	k := e.key
	if !k.positiveValid() {
		return nil, false
	}
	if e.lgen != k.lgen {
		// The key was linked or unlinked since: its possession is
		// worked out again from the keyrings that link it, and the
		// answer kept (a keyring's links end State.gen instead).
		if k.possessedBySearch() {
			return nil, false
		}
		e.val, e.lgen = s.reachPossessed(c, k), k.lgen
	}
	return k, e.val
}

// unlinkKnown is knownKey for KEYCTL_UNLINK's key, whose possession decides
// nothing: the positive, valid key with serial id, found without working
// its possession out (nor keeping it, for a key about to go); nil for any
// other, and while tracing or mutated.
func (s *State) unlinkKnown(c *Cred, id int32) *Key {
	if id <= 0 || s.trace != nil || s.cfg.Mutations != 0 {
		return nil
	}
	var k *Key
	if e := c.poss.bySerial(s.gen, Serial(id)); e != nil {
		k = e.key
	} else if k = s.serials.get(Serial(id)); k == nil || !k.alive() {
		return nil
	}
	if !k.positiveValid() {
		return nil
	}
	return k
}

// knownType is the type a search or request_key for typeArg and descArg
// looks for, when both arguments are readable strings the kernel takes
// (typeFromUser, strndupUser) and the type needs no preparsing of the
// description; nil otherwise.
func knownType(typeArg, descArg *UStr) *KeyType {
	name, err := typeFromUser(*typeArg)
	if err != nil {
		return nil
	}
	if _, err := strndupUser(*descArg, maxDescSize); err != nil {
		return nil
	}
	if typ, ok := LookupType(name); ok && typ.matchPreparse == nil {
		return typ
	}
	return nil
}

// findKnown is searchKeyring of root, with possession possessed, for the
// entry probe of type typ, with the state checks, for a root that is a
// positive, valid keyring c may search and is not itself of type typ: the
// key found, or nil when no keyring the search enters links an entry
// probe; settled is false for anything else (a candidate the search would
// skip or note, or a plan of root not yet made, which is left to the long
// way to make, on the second ask, as it does), and the caller searches the
// long way. A found key is positive, valid and permitted Search.
func (s *State) findKnown(c *Cred, root *Key, possessed bool, typ *KeyType, probe link) (k *Key, settled bool) {
	if root.ring == nil || !root.positiveValid() || root.typ == typ || !s.permitted(c, root, possessed, NeedSearch) {
		return nil, false
	}
	k, ok := root.findLink(probe)
	if !ok {
		rings, planned := s.madePlan(c, root, possessed)
		if !planned {
			return nil, false
		}
		for _, r := range rings[1:] {
			if k, ok = r.ring.findLink(probe); ok {
				break
			}
		}
		if !ok {
			return nil, true
		}
	}
	if k.typ != typ || !k.positiveValid() || !s.permitted(c, k, possessed, NeedSearch) {
		return nil, false
	}
	return k, true
}

// SearchKnown is Search without a destination in one step: the keyring
// from the possession cache, then findKnown. It reports false when the
// call is not settled so; the caller then calls Search.
func (s *State) SearchKnown(c *Cred, ringid int32, typeArg, descArg *UStr) (int, error, bool) {
	root, possessed := s.knownKey(c, ringid)
	if root == nil {
		return 0, nil, false
	}
	typ := knownType(typeArg, descArg)
	if typ == nil {
		return 0, nil, false
	}
	k, settled := s.findKnown(c, root, possessed, typ, mkLink(typ, descArg.S, nil))
	if !settled {
		return 0, nil, false
	}
	r, err := -1, error(ENOKEY)
	if k != nil {
		r, err = int(k.serial), nil
	}
	if s.cfg.CheckCaches {
		long, lerr := s.Search(c, ringid, *typeArg, *descArg, 0)
		checkShortcut("KEYCTL_SEARCH", r, err, long, lerr)
	}
	return r, err, true
}

// RequestKnown is RequestKeyShared without a destination in one step, for
// a cred with a session keyring and no assumed authority: its thread,
// process and session keyrings searched in turn with findKnown (R4.1). A
// miss with no callout is ENOKEY (R5.4a); with one (x/sys's RequestKey
// passes an empty one), the call is not settled (the key is made). It
// reports false when the call is not settled so; the caller then calls
// RequestKeyShared.
func (s *State) RequestKnown(c *Cred, typeArg, descArg, calloutArg *UStr) (int, error, bool) {
	if c.session == nil || c.auth != nil || s.trace != nil || s.cfg.Mutations != 0 {
		return 0, nil, false
	}
	if !calloutArg.Null {
		if _, err := strndupUser(*calloutArg, pageSize); err != nil {
			return 0, nil, false
		}
	}
	typ := knownType(typeArg, descArg)
	if typ == nil {
		return 0, nil, false
	}
	probe := mkLink(typ, descArg.S, nil)
	r, err := -1, error(ENOKEY)
	for _, ring := range [...]*Key{c.thread, c.process, c.session} {
		if ring == nil {
			continue
		}
		k, settled := s.findKnown(c, ring, true, typ, probe)
		if !settled {
			return 0, nil, false
		}
		if k != nil {
			r, err = int(k.serial), nil
			break
		}
	}
	if err != nil && !calloutArg.Null {
		return 0, nil, false
	}
	if s.cfg.CheckCaches {
		long, lerr, _ := s.RequestKeyShared(c, *typeArg, *descArg, *calloutArg, 0)
		checkShortcut("request_key", r, err, long, lerr)
	}
	return r, err, true
}

// ReadKnown is KEYCTL_READ of key id into a caller's buffer buf (a
// wrapper's: readable and writable, NULL when empty) in one step, for a
// key that is neither a keyring nor an authorisation key, of a readable
// type, whose Read permission the common check grants: the payload's
// size, the payload copied only if buf holds it whole (ReadAnswer), and
// the payload itself, the key's own, as ReadKept's. It reports false when
// the call is not settled so; the caller then calls ReadKept.
func (s *State) ReadKnown(c *Cred, id int32, buf []byte) (int, []byte, bool) {
	k, possessed := s.knownKey(c, id)
	if k == nil || k.ring != nil || k.auth != nil || !k.typ.readable || !s.permitted(c, k, possessed, NeedRead) {
		return 0, nil, false
	}
	if s.cfg.CheckCaches {
		long, lerr, payload, _ := s.read(c, id, NullBuf(0))
		checkShortcut("KEYCTL_READ", len(k.payload), nil, long, lerr)
		if len(payload) > 0 && &payload[0] != &k.payload[0] {
			panic(fmt.Sprintf("model: KEYCTL_READ of key %d in one step gives another payload than the long way", id))
		}
	}
	if len(k.payload) <= len(buf) {
		copy(buf, k.payload)
	}
	return len(k.payload), k.payload, true
}

// describeKnown is describe's lookup in one step: the text of key id in
// f, for a key knownKey settles whose View permission the common check
// grants (the long way asks for the authorisation override only when View
// is refused). It reports false otherwise; the caller then takes the long
// way (describeLong).
func (s *State) describeKnown(c *Cred, id int32, f *describeText) bool {
	k, possessed := s.knownKey(c, id)
	if k == nil || !s.permitted(c, k, possessed, NeedView) {
		return false
	}
	f.fill(k, &c.head, c.NS)
	if s.cfg.CheckCaches {
		var long describeText
		n, err := s.describeLong(c, id, &long)
		checkShortcut("KEYCTL_DESCRIBE", f.len()+1, nil, n, err)
		got, want := make([]byte, f.len()), make([]byte, long.len())
		f.put(got)
		long.put(want)
		if string(got) != string(want) {
			panic(fmt.Sprintf("model: KEYCTL_DESCRIBE of key %d in one step gives %q; the long way %q", id, got, want))
		}
	}
	return true
}

// DescribeKnown is KEYCTL_DESCRIBE of key id into a caller's buffer buf
// (a wrapper's: readable and writable) of buflen bytes, as the call gives
// it, in one step, for a key describeKnown settles: the text's length with
// its NUL, the text copied only if buflen holds it whole, as Describe. It
// reports false otherwise; the caller then calls Describe.
func (s *State) DescribeKnown(c *Cred, id int32, buf []byte, buflen int) (int, bool) {
	var f describeText
	if !s.describeKnown(c, id, &f) {
		return 0, false
	}
	n := f.len() + 1
	if buflen >= n && len(buf) >= n {
		f.put(buf[:n-1])
		buf[n-1] = 0
	}
	return n, true
}

// checkShortcut panics when a shortcut's answer (r, err) to the call what
// differs from the long way's (CheckCaches).
func checkShortcut(what string, r int, err error, long int, lerr error) {
	if r != long || err != lerr {
		panic(fmt.Sprintf("model: %s answered %d, %v in one step; the long way %d, %v", what, r, err, long, lerr))
	}
}

package model

import (
	"strconv"
	"strings"
)

// JoinSessionKeyring is KEYCTL_JOIN_SESSION_KEYRING (op 1, D18): NULL makes
// an anonymous "_ses"; a name joins the first published keyring of the
// caller's namespace with that name that grants Search without possession,
// else creates one (perm 0x3f130000). Joining one's own session returns 0.
func (s *State) JoinSessionKeyring(c *Cred, name UStr) (int, error) {
	defer s.changed()
	if name.Null {
		if err := s.installSessionKeyring(c, nil); err != nil {
			return -1, err
		}
		return int(c.session.serial), nil
	}
	n, err := strndupUser(name, maxDescSize)
	if err != nil {
		return -1, err
	}
	if n != "" && n[0] == '.' {
		return -1, EPERM
	}
	// A function of its own keeps both defers open-coded (see searchFrom).
	return s.joinNamed(c, n)
}

// joinNamed is JoinSessionKeyring with a name.
func (s *State) joinNamed(c *Cred, n string) (int, error) {
	var err error
	k := s.findKeyringByName(c, n)
	if k == nil {
		k, err = s.keyringAlloc(n, c.UID, c.GID, c.NS, permNamedSession, 0, nil)
		if err != nil {
			return -1, err
		}
	} else if k == c.session {
		s.put(k)
		return 0, nil
	}
	defer s.put(k)
	if err := s.installSessionKeyring(c, k); err != nil {
		return -1, err
	}
	return int(k.serial), nil
}

// findKeyringByName is find_keyring_by_name(name, false) (op 1, R2.7).
func (s *State) findKeyringByName(c *Cred, name string) *Key {
	ns := c.NS
	if s.cfg.Profile == ProfileLegacy {
		ns = s.initNS
	}
	for _, k := range ns.named(name) {
		if _, ok := c.NS.FromKUID(k.user.uid); !ok {
			continue
		}
		if k.has(flagRevoked) || !k.alive() {
			continue
		}
		if s.permission(c, k, false, NeedSearch) != nil {
			continue
		}
		return s.get(k)
	}
	return nil
}

// Clear is KEYCTL_CLEAR (op 7).
func (s *State) Clear(c *Cred, id int32) (int, error) {
	defer s.changed()
	ref, err := s.lookupUserKey(c, id, lookupCreate, NeedWrite)
	if err != nil {
		return -1, err
	}
	defer s.put(ref.key)
	if ref.key.has(flagKeep) {
		return -1, EPERM
	}
	if err := s.keyringClear(ref.key); err != nil {
		return -1, err
	}
	return 0, nil
}

// Link is KEYCTL_LINK (op 8): the keyring is looked up first (Write), then
// the key (Link), both with CREATE.
//
// Like AddKey, Link and Unlink leave the cached answers to linkChanged.
//
// Link and Unlink drop their references where they return rather than in
// deferred calls, which would be a sizeable part of the cost of the call.
func (s *State) Link(c *Cred, id, ringid int32) (int, error) {
	ringRef, err := s.lookupUserKey(c, ringid, lookupCreate, NeedWrite)
	if err != nil {
		return -1, err
	}
	ref, err := s.lookupUserKey(c, id, lookupCreate, NeedLink)
	if err == nil {
		err = s.keyLink(ringRef.key, ref.key)
		s.put(ref.key)
	}
	s.put(ringRef.key)
	return errResult(err)
}

// errResult is a call's result for err: 0, or -1 and err.
func errResult(err error) (int, error) {
	if err != nil {
		return -1, err
	}
	return 0, nil
}

// Unlink is KEYCTL_UNLINK (op 9): the key needs no permission and may be
// revoked, expired, negative or invalidated (R op 9).
func (s *State) Unlink(c *Cred, id, ringid int32) (int, error) {
	ringRef, err := s.lookupUserKey(c, ringid, 0, NeedWrite)
	if err != nil {
		return -1, err
	}
	ref, err := s.lookupUserKey(c, id, lookupPartial, needUnlink)
	if err == nil {
		if ringRef.key.has(flagKeep) && ref.key.has(flagKeep) {
			err = EPERM
		} else {
			err = s.keyUnlink(ringRef.key, ref.key)
		}
		s.put(ref.key)
	}
	s.put(ringRef.key)
	return errResult(err)
}

// Search is KEYCTL_SEARCH (op 10, D28): a recursive, state-checked search
// from ringid; found keys are linked into dest when it is non-zero.
func (s *State) Search(c *Cred, ringid int32, typeArg, descArg UStr, dest int32) (int, error) {
	typeName, err := typeFromUser(typeArg)
	if err != nil {
		return -1, err
	}
	desc, err := strndupUser(descArg, maxDescSize)
	if err != nil {
		return -1, err
	}
	ringRef, err := s.lookupUserKey(c, ringid, 0, NeedSearch)
	if err != nil {
		return -1, err
	}
	var destRef keyRef
	if dest != 0 {
		if destRef, err = s.lookupUserKey(c, dest, lookupCreate, NeedWrite); err != nil {
			s.put(ringRef.key)
			return -1, err
		}
	}
	// The references are dropped when searchFrom returns, without
	// deferred calls, which would cost a search a few percent.
	r, err := s.searchFrom(c, ringRef, destRef, typeName, desc)
	s.put(destRef.key)
	s.put(ringRef.key)
	return r, err
}

// searchFrom is Search once the keyring to search, and the destination
// keyring if any, are held.
func (s *State) searchFrom(c *Cred, ringRef, destRef keyRef, typeName, desc string) (int, error) {
	typ, ok := LookupType(typeName)
	if !ok {
		return -1, ENOKEY
	}
	if typ.matchPreparse != nil {
		if err := typ.matchPreparse(desc); err != nil {
			return -1, err
		}
	}
	ctx := searchCtx{cred: c, typ: typ, desc: desc, flags: searchStateCheck | searchRecurse}
	if s.trace == nil {
		// The lookup of ringid checked Search; an explanation shows the
		// kernel's second check too.
		ctx.flags |= searchRootGranted
	}
	k, err := s.searchKeyring(&ctx, ringRef.key, ringRef.possessed)
	if err != nil {
		if err == EAGAIN {
			err = ENOKEY
		}
		return -1, err
	}
	if destRef.key != nil {
		if err := s.permission(c, k, ringRef.possessed, NeedLink); err != nil {
			return -1, err
		}
		if err := s.keyLink(destRef.key, k); err != nil {
			return -1, err
		}
	}
	return int(k.serial), nil
}

// Move is KEYCTL_MOVE (op 30): unlink from one keyring and link into
// another atomically; KEYCTL_MOVE_EXCL refuses to displace (EEXIST).
func (s *State) Move(c *Cred, id, from, to int32, flags uint32) (int, error) {
	defer s.changed()
	const moveExcl = 1
	if flags&^moveExcl != 0 {
		return -1, EINVAL
	}
	ref, err := s.lookupUserKey(c, id, lookupCreate, NeedLink)
	if err != nil {
		return -1, err
	}
	defer s.put(ref.key)
	fromRef, err := s.lookupUserKey(c, from, 0, NeedWrite)
	if err != nil {
		return -1, err
	}
	defer s.put(fromRef.key)
	toRef, err := s.lookupUserKey(c, to, lookupCreate, NeedWrite)
	if err != nil {
		return -1, err
	}
	defer s.put(toRef.key)
	k, fr, tr := ref.key, fromRef.key, toRef.key
	if fr == tr {
		return 0, nil
	}
	if !fr.isKeyring() || !tr.isKeyring() {
		return -1, ENOTDIR
	}
	if _, ok := fr.find(k.typ, k.desc); !ok {
		return -1, ENOENT
	}
	if err := s.linkBegin(tr, k.typ, k.desc); err != nil {
		return -1, err
	}
	_, displaces := tr.find(k.typ, k.desc)
	err = nil
	if displaces && flags&moveExcl != 0 {
		err = EEXIST
	}
	if err == nil {
		err = s.checkRestriction(tr, k.typ)
	}
	if err == nil {
		err = s.checkLiveKey(tr, k)
	}
	if err != nil {
		s.linkCancel(tr, k.typ, k.desc)
		return -1, err
	}
	s.get(k)
	_ = s.keyUnlink(fr, k)
	s.linkCommit(tr, k)
	s.put(k)
	return 0, nil
}

// RestrictKeyring is KEYCTL_RESTRICT_KEYRING (op 29): NULL type and
// restriction make the keyring refuse every addition; exactly one NULL is
// EINVAL; a type that cannot restrict is ENOENT, an unknown one ENOKEY.
func (s *State) RestrictKeyring(c *Cred, id int32, typeArg, restrArg UStr) (int, error) {
	defer s.changed()
	ref, err := s.lookupUserKey(c, id, 0, NeedSetattr)
	if err != nil {
		return -1, err
	}
	defer s.put(ref.key)
	var r *restriction
	if !typeArg.Null {
		if restrArg.Null {
			return -1, EINVAL
		}
		typeName, err := typeFromUser(typeArg)
		if err != nil {
			return -1, err
		}
		restr, err := strndupUser(restrArg, pageSize)
		if err != nil {
			return -1, err
		}
		ring := ref.key
		if !ring.isKeyring() {
			return -1, ENOTDIR
		}
		typ, ok := LookupType(typeName)
		if !ok {
			return -1, ENOKEY
		}
		if !typ.restrictable {
			return -1, ENOENT
		}
		if r, err = s.parseAsymmetricRestriction(restr); err != nil {
			return -1, err
		}
	} else {
		if !restrArg.Null {
			return -1, EINVAL
		}
		r = &restriction{rejectAll: true}
	}
	ring := ref.key
	if !ring.isKeyring() {
		s.put(r.chainTo)
		return -1, ENOTDIR
	}
	if ring.ring.restrict != nil {
		s.put(r.chainTo)
		return -1, EEXIST
	}
	for x := r.chainTo; x != nil && x.isKeyring(); {
		if x == ring {
			s.put(r.chainTo)
			return -1, EDEADLK
		}
		if x.ring.restrict == nil {
			break
		}
		x = x.ring.restrict.chainTo
	}
	ring.ring.restrict = r
	return 0, nil
}

// parseAsymmetricRestriction is asymmetric_lookup_restriction():
// "builtin_trusted", "builtin_and_secondary_trusted", or
// "key_or_keyring:<serial>[:chain]".
func (s *State) parseAsymmetricRestriction(text string) (*restriction, error) {
	if text == "builtin_trusted" || text == "builtin_and_secondary_trusted" {
		return &restriction{typ: TypeAsymmetric}, nil
	}
	method, rest, ok := strings.Cut(text, ":")
	if method != "key_or_keyring" || !ok {
		return nil, EINVAL
	}
	keyText, chain, hasChain := strings.Cut(rest, ":")
	if hasChain && chain != "chain" {
		return nil, EINVAL
	}
	serial, ok := kstrtos32(keyText)
	if !ok {
		return nil, EINVAL
	}
	r := &restriction{typ: TypeAsymmetric}
	if serial == 0 && hasChain {
		return r, nil
	}
	k, ok := s.KeyBySerial(Serial(serial))
	if !ok {
		return nil, ENOKEY
	}
	r.chainTo = s.get(k)
	return r, nil
}

// GetPersistent is KEYCTL_GET_PERSISTENT (op 22, R2.8): find or create
// "_persistent.<uid>" in the namespace's register, link it into dest and
// reset its timeout.
func (s *State) GetPersistent(c *Cred, user uint32, dest int32) (int, error) {
	defer s.changed()
	uid := c.UID
	if user != uint32(InvalidUID) {
		var ok bool
		if uid, ok = c.NS.MakeKUID(user); !ok {
			return -1, EINVAL
		}
		if uid != c.UID && uid != c.EUID && !c.nsCapable() {
			return -1, EPERM
		}
	}
	destRef, err := s.lookupUserKey(c, dest, lookupCreate, NeedWrite)
	if err != nil {
		return -1, err
	}
	defer s.put(destRef.key)
	if !destRef.key.isKeyring() {
		return -1, ENOTDIR
	}
	ns := c.NS
	n, _ := ns.FromKUID(uid)
	name := "_persistent." + strconv.FormatUint(uint64(n), 10)
	var p *Key
	if reg := ns.persistentReg; reg != nil {
		if k, ok := reg.find(TypeKeyring, name); ok && !k.has(flagInvalidated|flagRevoked) {
			p = s.get(k)
		}
	}
	if p == nil {
		if ns.persistentReg == nil {
			reg, err := s.keyringAlloc(".persistent_register", 0, 0, ns, (KEY_POS_ALL&^KEY_POS_SETATTR)|KEY_USR_VIEW|KEY_USR_READ, allocNotInQuota, nil)
			if err != nil {
				return -1, err
			}
			ns.persistentReg = reg
		}
		p, err = s.keyringAlloc(name, uid, InvalidGID, ns, (KEY_POS_ALL&^KEY_POS_SETATTR)|KEY_USR_VIEW|KEY_USR_READ, allocNotInQuota, ns.persistentReg)
		if err != nil {
			return -1, err
		}
	}
	defer s.put(p)
	if err := s.permission(c, p, true, NeedLink); err != nil {
		return -1, err
	}
	if err := s.keyLink(destRef.key, p); err != nil {
		return -1, err
	}
	s.setTimeout(p, uint32(s.cfg.PersistentKeyringExpiry.Seconds()))
	return int(p.serial), nil
}

// SetReqkeyKeyring is KEYCTL_SET_REQKEY_KEYRING (op 14): -1 reads the
// setting; 1 and 2 create the thread or process keyring; 6 and unknown
// values are EINVAL. It returns the previous setting.
func (s *State) SetReqkeyKeyring(c *Cred, n int32) (int, error) {
	defer s.changed()
	old := int(c.jit)
	switch n {
	case -1:
		return old, nil
	case 1:
		if err := s.installThreadKeyring(c); err != nil {
			return -1, err
		}
	case 2:
		if err := s.installProcessKeyring(c); err != nil {
			return -1, err
		}
	case 0, 3, 4, 5, 7:
	default:
		return -1, EINVAL
	}
	c.jit = int8(n)
	return old, nil
}

// ParentInfo describes the caller's parent process for SESSION_TO_PARENT.
type ParentInfo struct {
	// IsInit is true when the parent is PID 1 (or a kernel thread).
	IsInit bool
	// Threads is how many threads the parent has.
	Threads int
	// Cred is the parent's (single thread's) credentials.
	Cred *Cred
}

// SessionToParent is KEYCTL_SESSION_TO_PARENT (op 18): install the caller's
// session keyring (after a read-only @s lookup needing Link) as the
// parent's, subject to the kernel's EPERM conditions. The kernel applies
// it when the parent next returns to userspace; the model applies it now.
func (s *State) SessionToParent(c *Cred, parent ParentInfo) (int, error) {
	defer s.changed()
	ref, err := s.lookupUserKey(c, specSession, 0, NeedLink)
	if err != nil {
		return -1, err
	}
	defer s.put(ref.key)
	if parent.IsInit || parent.Cred == nil || parent.Threads != 1 {
		return -1, EPERM
	}
	p := parent.Cred
	if p.session == c.session {
		return 0, nil
	}
	if p.UID != c.EUID || p.EUID != c.EUID || p.SUID != c.EUID ||
		p.GID != c.EGID || p.EGID != c.EGID || p.SGID != c.EGID {
		return -1, EPERM
	}
	if (p.session != nil && p.session.uid != c.EUID) || c.session.uid != c.EUID {
		return -1, EPERM
	}
	if err := s.installSessionKeyring(p, c.session); err != nil {
		return -1, err
	}
	return 0, nil
}

// kstrtos32 is the kernel's kstrtos32(s, 0): an optional sign, then
// hexadecimal after "0x", octal after "0", else decimal, and at most one
// trailing newline; nothing else (no "0b", "0o" or '_').
func kstrtos32(s string) (int64, bool) {
	s = strings.TrimSuffix(s, "\n")
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	if s == "" {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		var d int64
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			d = int64(c - '0')
		case c >= 'a' && c <= 'f':
			d = int64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = int64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= int64(base) {
			return 0, false
		}
		v = v*int64(base) + d
		if v > 1<<31 {
			return 0, false
		}
	}
	if neg {
		v = -v
	}
	if v > 1<<31-1 || v < -(1<<31) {
		return 0, false
	}
	return v, true
}

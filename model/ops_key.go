package model

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
)

// GetKeyringID is KEYCTL_GET_KEYRING_ID (op 0): resolve id, creating
// anchors when create is set (R3.3); works for any key, not only keyrings.
func (s *State) GetKeyringID(c *Cred, id int32, create bool) (int, error) {
	var fl lookupFlags
	if create {
		fl = lookupCreate
	}
	ref, err := s.lookupUserKey(c, id, fl, NeedSearch)
	if err != nil {
		return -1, err
	}
	s.put(ref.key)
	return int(ref.key.serial), nil
}

// Update is KEYCTL_UPDATE (op 2, D16): the payload limit is one page;
// negative keys fail with their error; keyrings cannot be updated.
func (s *State) Update(c *Cred, id int32, payload UBuf) (int, error) {
	defer s.changed()
	if payload.Len < 0 || payload.Len > pageSize {
		return -1, EINVAL
	}
	data, err := payload.view(payload.Len)
	if err != nil {
		return -1, err
	}
	ref, err := s.lookupUserKey(c, id, 0, NeedWrite)
	if err != nil {
		return -1, err
	}
	defer s.put(ref.key)
	k := ref.key
	if err := s.permission(c, k, ref.possessed, NeedWrite); err != nil {
		return -1, err
	}
	if !k.typ.updatable {
		return -1, EOPNOTSUPP
	}
	if err := k.typ.preparse(data); err != nil {
		return -1, err
	}
	if err := s.updateKey(c, ref, data); err != nil {
		return -1, err
	}
	return 0, nil
}

// Revoke is KEYCTL_REVOKE (op 3): Write, or Setattr when Write is refused.
func (s *State) Revoke(c *Cred, id int32) (int, error) {
	defer s.changed()
	ref, err := s.lookupUserKey(c, id, 0, NeedWrite)
	if err == EACCES {
		ref, err = s.lookupUserKey(c, id, 0, NeedSetattr)
	}
	if err != nil {
		return -1, err
	}
	defer s.put(ref.key)
	if ref.key.has(flagKeep) {
		return -1, EPERM
	}
	s.revoke(ref.key)
	return 0, nil
}

// revoke is key_revoke() (R1.20): the payload goes (a keyring is emptied),
// the expiry becomes at most now, and the collector will unlink the key
// gc_delay later.
func (s *State) revoke(k *Key) {
	if k.has(flagRevoked) {
		return
	}
	k.flags |= flagRevoked
	switch {
	case k.ring != nil:
		s.clearLinks(k)
	case k.auth != nil:
		// request_key_auth_revoke() frees the record at once: the key under
		// construction, the destination and the requester's credentials.
		s.releaseAuth(k)
	default:
		_ = s.payloadReserve(k, 0)
		k.payload = nil
	}
	now := s.sec()
	if k.expiry == 0 || k.expiry > now {
		k.expiry = now
	}
	s.scheduleGC(k.expiry + s.gcDelay())
}

// Chown is KEYCTL_CHOWN (op 4, D21): both IDs -1 succeed without a lookup;
// a change of owner, or a group the caller is not in, needs CAP_SYS_ADMIN;
// a new owner takes over the key's quota charge (R7.6).
func (s *State) Chown(c *Cred, id int32, user, group uint32) (int, error) {
	defer s.changed()
	uid, uok := c.NS.MakeKUID(user)
	gid, gok := c.NS.MakeKGID(group)
	if user != uint32(InvalidUID) && !uok {
		return -1, EINVAL
	}
	if group != uint32(InvalidGID) && !gok {
		return -1, EINVAL
	}
	if user == uint32(InvalidUID) && group == uint32(InvalidGID) {
		return 0, nil
	}
	ref, err := s.lookupUserKey(c, id, lookupCreate|lookupPartial, NeedSetattr)
	if err != nil {
		return -1, err
	}
	defer s.put(ref.key)
	k := ref.key
	privileged := (user != uint32(InvalidUID) && k.uid != uid) ||
		(group != uint32(InvalidGID) && gid != k.gid && !c.inGroup(gid))
	if privileged && !c.CapSysAdmin() {
		return -1, EACCES
	}
	if user != uint32(InvalidUID) && uid != k.uid {
		nu := s.userRecord(uid)
		if k.has(flagInQuota) {
			maxKeys, maxBytes := s.limits(uid)
			if nu.qnkeys+1 > maxKeys || nu.qnbytes+int(k.quotalen) > maxBytes {
				s.dropUserRecordIfUnused(nu)
				return -1, EDQUOT
			}
			nu.qnkeys++
			nu.qnbytes += int(k.quotalen)
			k.user.qnkeys--
			k.user.qnbytes -= int(k.quotalen)
		}
		k.user.nkeys--
		nu.nkeys++
		if k.state != stateUninstantiated {
			k.user.nikeys--
			nu.nikeys++
		}
		old := k.user
		k.user = nu
		k.uid = uid
		s.dropUserRecordIfUnused(old)
	}
	if group != uint32(InvalidGID) {
		k.gid = gid
	}
	return 0, nil
}

// Setperm is KEYCTL_SETPERM (op 5): Setattr through the mask, then owner
// or CAP_SYS_ADMIN (R6.3).
func (s *State) Setperm(c *Cred, id int32, perm uint32) (int, error) {
	defer s.changed()
	if Perm(perm)&^permValid != 0 {
		return -1, EINVAL
	}
	ref, err := s.lookupUserKey(c, id, lookupCreate|lookupPartial, NeedSetattr)
	if err != nil {
		return -1, err
	}
	defer s.put(ref.key)
	if ref.key.uid != c.FSUID && !c.CapSysAdmin() {
		return -1, EACCES
	}
	ref.key.perm = Perm(perm)
	return 0, nil
}

// lookupWithAuthOverride is the lookup of DESCRIBE, GET_SECURITY and
// SET_TIMEOUT: when it fails EACCES but the caller holds the authorisation
// key for id, the key is granted anyway.
func (s *State) lookupWithAuthOverride(c *Cred, id int32, flags lookupFlags, need Need) (keyRef, error) {
	ref, err := s.lookupUserKey(c, id, flags, need)
	if err == EACCES {
		if auth, aerr := s.instantiationAuthKey(c, id); aerr == nil {
			s.put(auth)
			if r2, err2 := s.lookupUserKey(c, id, lookupPartial, needAuthOverride); err2 == nil {
				return r2, nil
			}
		}
	}
	return ref, err
}

// DescribeString returns the KEYCTL_DESCRIBE text of k as ns sees it:
// "type;uid;gid;perm;description" (op 6).
func DescribeString(k *Key, ns *UserNS) string {
	b := make([]byte, 0, 32+len(k.desc))
	b = appendDescribe(b, k, ns)
	return string(b)
}

func appendDescribe(b []byte, k *Key, ns *UserNS) []byte {
	var h describeHead
	var f describeText
	f.fill(k, &h, ns)
	n := len(b)
	b = slices.Grow(b, f.len())
	b = b[:n+f.len()]
	f.put(b[n:])
	return b
}

// describeText is the text of KEYCTL_DESCRIBE in two parts, so that its
// length is known before it is written (in place, into the caller's
// buffer): the head, "type;uid;gid;perm;", and the description.
type describeText struct {
	head *describeHead
	desc string
}

// describeHead is the head of a describe's text and what it was made from.
// The keys a cred describes mostly share their type, owner and permissions:
// a cred keeps the head it made last (Cred.head), so that a describe of
// such a key writes it as it is, without formatting the IDs again. The
// munged IDs depend on the namespace alone, whose maps never change.
type describeHead struct {
	typ  *KeyType
	ns   *UserNS
	uid  UID
	gid  GID
	perm Perm
	n    uint8
	b    [describeHeadMax]byte
}

// describeHeadMax holds the longest head: a type name of at most
// maxTypeName bytes, two IDs of at most 11 ("-2147483648": IDs print as
// the kernel's %d does), 8 hex digits and four ';'.
const (
	maxTypeName     = 17 // ".request_key_auth"
	describeHeadMax = maxTypeName + 2*11 + 8 + 4
)

// fill makes f the text of k as ns sees it, with h as its head: h is made
// again unless it is already k's.
func (f *describeText) fill(k *Key, h *describeHead, ns *UserNS) {
	if h.typ != k.typ || h.uid != k.uid || h.gid != k.gid || h.perm != k.perm || h.ns != ns {
		h.make(k, ns)
	}
	f.head, f.desc = h, k.desc
}

// make writes k's head as ns sees it.
func (h *describeHead) make(k *Key, ns *UserNS) {
	h.typ, h.ns, h.uid, h.gid, h.perm = k.typ, ns, k.uid, k.gid, k.perm
	b := h.b[:0]
	b = append(b, k.typ.Name...)
	b = append(b, ';')
	b = strconv.AppendInt(b, int64(int32(ns.uidMunged(k.uid))), 10)
	b = append(b, ';')
	b = strconv.AppendInt(b, int64(int32(ns.gidMunged(k.gid))), 10)
	b = append(b, ';')
	b = binary.BigEndian.AppendUint64(b, hex8(uint32(k.perm)))
	b = append(b, ';')
	h.n = uint8(copy(h.b[:], b))
}

// len is the text's length without a NUL.
func (f *describeText) len() int { return int(f.head.n) + len(f.desc) }

// put writes the text to b, which is f.len() bytes long.
func (f *describeText) put(b []byte) {
	n := copy(b, f.head.b[:f.head.n])
	copy(b[n:], f.desc)
}

// hex8 is v in 8 lower-case hex digits (%08x), the first in the top byte:
// each nibble is spread to a byte of its own, and those above 9 are moved
// from after '9' to 'a'.
func hex8(v uint32) uint64 {
	x := uint64(v)
	x = (x | x<<16) & 0x0000ffff0000ffff
	x = (x | x<<8) & 0x00ff00ff00ff00ff
	x = (x | x<<4) & 0x0f0f0f0f0f0f0f0f
	letters := (x + 0x0606060606060606) >> 4 & 0x0101010101010101
	return x + 0x3030303030303030 + letters*('a'-'9'-1)
}

// Describe is KEYCTL_DESCRIBE (op 6): the length with the NUL is returned,
// and the text copied only if buf is non-NULL and long enough.
func (s *State) Describe(c *Cred, id int32, buf UBuf) (int, error) {
	var f describeText
	n, err := s.describe(c, id, &f)
	if err != nil {
		return -1, err
	}
	if !buf.Null && buf.Len >= n {
		if !buf.accessible(n) {
			return -1, EFAULT
		}
		f.put(buf.B[:n-1])
		buf.B[n-1] = 0
	}
	return n, nil
}

// DescribeKept is Describe that also appends the text with its NUL to text
// when the call succeeds, for a caller that keeps answers: the answer to a
// buffer of any length follows from the text alone (DescribeAnswer).
func (s *State) DescribeKept(c *Cred, id int32, buf UBuf, text []byte) (int, error, []byte) {
	var f describeText
	n, err := s.describe(c, id, &f)
	if err != nil {
		return -1, err, text
	}
	at := len(text)
	text = slices.Grow(text, n)[:at+n]
	f.put(text[at : at+n-1])
	text[at+n-1] = 0
	if _, err := DescribeAnswer(text[at:], buf); err != nil {
		return -1, err, text[:at]
	}
	return n, nil, text
}

// DescribeAnswer is the end of KEYCTL_DESCRIBE whose text, with its NUL,
// is text: its length, and the text copied only if buf holds it. It
// answers from a text DescribeKept returned.
func DescribeAnswer(text []byte, buf UBuf) (int, error) {
	n := len(text)
	if !buf.Null && buf.Len >= n {
		if !buf.accessible(n) {
			return -1, EFAULT
		}
		copy(buf.B, text)
	}
	return n, nil
}

// describe is the lookup of Describe: the text in f, and its length with
// the NUL.
func (s *State) describe(c *Cred, id int32, f *describeText) (int, error) {
	if s.describeKnown(c, id, f) {
		return f.len() + 1, nil
	}
	return s.describeLong(c, id, f)
}

// describeLong is describe the long way.
func (s *State) describeLong(c *Cred, id int32, f *describeText) (int, error) {
	ref, err := s.lookupWithAuthOverride(c, id, lookupPartial, NeedView)
	if err != nil {
		return -1, err
	}
	// The reference goes as soon as the text is taken, without a defer.
	f.fill(ref.key, &c.head, c.NS)
	if s.cfg.CheckCaches {
		s.checkHead(ref.key, f.head, c.NS)
	}
	s.put(ref.key)
	return f.len() + 1, nil
}

// checkHead compares the head a cred kept (Cred.head) with one made anew
// for k, and panics when they differ (CheckCaches).
func (s *State) checkHead(k *Key, kept *describeHead, ns *UserNS) {
	var fresh describeHead
	fresh.make(k, ns)
	if got, want := kept.b[:kept.n], fresh.b[:fresh.n]; string(got) != string(want) {
		panic(fmt.Sprintf("model: stale describe head of key %d: %q, now %q", k.serial, got, want))
	}
}

// Read is KEYCTL_READ (op 11, D15): every lookup failure is ENOKEY; Read
// permission or possession; the payload is copied only if it fits whole.
func (s *State) Read(c *Cred, id int32, buf UBuf) (int, error) {
	r, err, _, _ := s.read(c, id, buf)
	return r, err
}

// ReadKept is Read that also returns the key's payload, with true, when
// the answer to a buffer of any length follows from the payload alone
// (ReadAnswer): a successful read of a key that is neither a keyring nor an
// authorisation key. The payload is the key's own, not a copy: it stays as
// it is while the State is not changed.
func (s *State) ReadKept(c *Cred, id int32, buf UBuf) (int, error, []byte, bool) {
	return s.read(c, id, buf)
}

func (s *State) read(c *Cred, id int32, buf UBuf) (int, error, []byte, bool) {
	ref, err := s.lookupUserKey(c, id, 0, needDeferPerm)
	if err != nil {
		if _, wait := err.(*WaitError); wait {
			// lookup_user_key() waits for a key under construction
			// (R1.17): the caller waits and repeats the call.
			return -1, err, nil, false
		}
		return -1, ENOKEY, nil, false
	}
	// The reference goes when the key has been read, without a defer.
	r, err, payload, keep := s.readKey(c, ref, buf)
	s.put(ref.key)
	return r, err, payload, keep
}

// readKey is read of the key it has looked up.
func (s *State) readKey(c *Cred, ref keyRef, buf UBuf) (int, error, []byte, bool) {
	k := ref.key
	if err := k.readState(); err != nil {
		return -1, err, nil, false
	}
	if !s.permitted(c, k, ref.possessed, NeedRead) && s.permission(c, k, ref.possessed, NeedRead) != nil && !ref.possessed {
		return -1, EACCES, nil, false
	}
	if !k.typ.readable {
		return -1, EOPNOTSUPP, nil, false
	}
	if err := k.validate(s.sec()); err != nil {
		return -1, err, nil, false
	}
	if k.ring != nil && !buf.Null && buf.Len > 0 && buf.Len <= pageSize && buf.Len%4 != 0 {
		return -1, EINVAL, nil, false
	}
	if k.ring == nil && k.auth == nil {
		r, err := ReadAnswer(k.payload, buf)
		return r, err, k.payload, err == nil
	}
	size := s.payloadSize(k)
	if buf.Null || buf.Len == 0 || size > buf.Len {
		return size, nil, nil, false
	}
	if !buf.accessible(size) {
		return -1, EFAULT, nil, false
	}
	s.readPayload(k, buf.B[:size])
	return size, nil, nil, false
}

// ReadAnswer is the end of KEYCTL_READ of a key whose payload is payload:
// its size, and the payload copied only if buf holds it whole (D15). It
// answers from a payload ReadKept returned.
func ReadAnswer(payload []byte, buf UBuf) (int, error) {
	size := len(payload)
	if buf.Null || buf.Len == 0 || size > buf.Len {
		return size, nil
	}
	if !buf.accessible(size) {
		return -1, EFAULT
	}
	copy(buf.B, payload)
	return size, nil
}

func (s *State) payloadSize(k *Key) int {
	switch {
	case k.ring != nil:
		return 4 * k.nlinks()
	case k.auth != nil:
		return len(k.auth.callout)
	}
	return len(k.payload)
}

// readPayload writes the payload of k into b (len(b) == payloadSize(k)):
// a keyring's serials as native-endian 32-bit integers in index order.
func (s *State) readPayload(k *Key, b []byte) {
	switch {
	case k.ring != nil:
		i := 0
		k.eachLink(func(l *Key) bool {
			putNative32(b[i:], uint32(l.serial))
			i += 4
			return true
		})
	case k.auth != nil:
		copy(b, k.auth.callout)
	default:
		copy(b, k.payload)
	}
}

// KeyringSerials returns the serials linked in keyring k, in index order.
func (s *State) KeyringSerials(k *Key) []Serial {
	var out []Serial
	k.eachLink(func(l *Key) bool {
		out = append(out, l.serial)
		return true
	})
	return out
}

// SetTimeout is KEYCTL_SET_TIMEOUT (op 15, D17): 0 means never; negative
// keys are accepted.
func (s *State) SetTimeout(c *Cred, id int32, timeout uint32) (int, error) {
	defer s.changed()
	ref, err := s.lookupWithAuthOverride(c, id, lookupCreate|lookupPartial, NeedSetattr)
	if err != nil {
		return -1, err
	}
	defer s.put(ref.key)
	if ref.key.has(flagKeep) {
		return -1, EPERM
	}
	s.setTimeout(ref.key, timeout)
	return 0, nil
}

func (s *State) setTimeout(k *Key, timeout uint32) {
	k.expiry = 0
	if timeout > 0 {
		k.expiry = s.sec() + int64(timeout)
		s.scheduleGC(k.expiry + s.gcDelay())
	}
}

// GetSecurity is KEYCTL_GET_SECURITY (op 17): with no LSM label the result
// is an empty string of length 1 (Ex-15). Without View the result is the
// error of the authorisation-key fallback (ENOKEY when there is none).
func (s *State) GetSecurity(c *Cred, id int32, buf UBuf) (int, error) {
	ref, err := s.lookupUserKey(c, id, lookupPartial, NeedView)
	if err == EACCES {
		// keyctl_get_security() (security/keys/keyctl.c): unlike DESCRIBE,
		// a failed authorisation-key lookup is the result, so a key without
		// View gives ENOKEY rather than EACCES (conformance perm/needs-view).
		auth, aerr := s.instantiationAuthKey(c, id)
		if aerr != nil {
			return -1, aerr
		}
		s.put(auth)
		ref, err = s.lookupUserKey(c, id, lookupPartial, needAuthOverride)
	}
	if err != nil {
		return -1, err
	}
	s.put(ref.key)
	if !buf.Null && buf.Len > 0 {
		if err := buf.copyOut([]byte{0}); err != nil {
			return -1, err
		}
	}
	return 1, nil
}

// Invalidate is KEYCTL_INVALIDATE (op 21): Search permission; the key is
// unlinked everywhere by an immediate collector pass (R1.22, R4.5).
func (s *State) Invalidate(c *Cred, id int32) (int, error) {
	defer s.changed()
	ref, err := s.lookupUserKey(c, id, 0, NeedSearch)
	if err != nil {
		return -1, err
	}
	defer s.put(ref.key)
	if ref.key.has(flagKeep) {
		return -1, EPERM
	}
	s.invalidate(ref.key)
	return 0, nil
}

// Divergence: the kernel's collector runs from a work item, so for a few
// milliseconds searches may still meet the key and report EKEYREVOKED
// (R4.5, R8.4); keyemu unlinks it before returning.
func (s *State) invalidate(k *Key) {
	if k.has(flagInvalidated) {
		return
	}
	k.flags |= flagInvalidated
	s.Collect()
}

// Capabilities is KEYCTL_CAPABILITIES (op 31): the reference kernel's two
// bytes, copied up to len and the rest of buf zeroed.
func (s *State) Capabilities(buf UBuf) (int, error) {
	caps := []byte{0xeb, 0x03}
	if buf.Len > 0 {
		size := min(buf.Len, len(caps))
		if !buf.accessible(size) {
			return -1, EFAULT
		}
		copy(buf.B, caps[:size])
		if size < buf.Len {
			// clear_user() of the rest: it faults where the buffer ends.
			if !buf.accessible(buf.Len) {
				clear(buf.B[size:])
				return -1, EFAULT
			}
			clear(buf.B[size:buf.Len])
		}
	}
	return len(caps), nil
}

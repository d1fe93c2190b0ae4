package model

import "strconv"

// instantiationAuthKey is key_get_instantiation_authkey(): search the
// caller's keyrings for the authorisation key of target id (R op 16).
func (s *State) instantiationAuthKey(c *Cred, id int32) (*Key, error) {
	ctx := searchCtx{cred: c, typ: TypeAuth, desc: strconv.FormatUint(uint64(uint32(id)), 16), flags: searchStateCheck | searchRecurse}
	k, err := s.searchProcessKeyrings(&ctx)
	if err != nil {
		if err == EAGAIN {
			err = ENOKEY
		}
		return nil, err
	}
	if k.has(flagRevoked) {
		return nil, EKEYREVOKED
	}
	return s.get(k), nil
}

// AssumeAuthority is KEYCTL_ASSUME_AUTHORITY (op 16): 0 drops the assumed
// authority; a negative ID is EINVAL; otherwise the authorisation key for
// id must be reachable from the caller's keyrings.
func (s *State) AssumeAuthority(c *Cred, id int32) (int, error) {
	defer s.changed()
	if id < 0 {
		return -1, EINVAL
	}
	if id == 0 {
		s.put(c.auth)
		c.auth = nil
		return 0, nil
	}
	auth, err := s.instantiationAuthKey(c, id)
	if err != nil {
		return -1, err
	}
	s.put(c.auth)
	c.auth = auth
	return int(auth.serial), nil
}

// keyNegativeTimeout is key_negative_timeout: a failed construction leaves
// a negative key for 60 s (R5.4c, D24).
const keyNegativeTimeout = 60

// Construction is a key that request_key(2) is having built (R5.4c): the
// uninstantiated key, its authorisation key, and what the kernel passes to
// /sbin/request-key. The caller runs the handler with HelperCred and then
// calls FinishConstruction.
type Construction struct {
	Key  *Key
	Auth *Key
	// Dest is the keyring the key was linked into.
	Dest *Key
	// Session is the helper's "_req.<serial>" session keyring.
	Session *Key
	// Callout is the callout string.
	Callout string
	// Args are /sbin/request-key's arguments after the program name:
	// "create", key, uid, gid, thread, process and session keyring.
	Args []string
	// UID and GID are the requester's fsuid and fsgid (initial namespace).
	UID, GID    uint32
	userSession *Key
}

// RequestKey is request_key(2) (R5.4a-c) up to the wait. It returns the
// key found by searching the caller's keyrings, or an error, or — when
// nothing was found and a callout was given — a new key under construction
// with the Construction the caller must run and finish. A returned key
// carries a reference the caller releases with PutKey once it has waited
// for construction (KeyResult).
func (s *State) RequestKey(c *Cred, typeArg, descArg, calloutArg UStr, dest int32) (*Key, *Construction, error) {
	k, cons, err, _ := s.requestKey(c, typeArg, descArg, calloutArg, dest, false)
	return k, cons, err
}

// requestKey is RequestKey; with searchOnly it reports false, having
// changed nothing, where the call would construct a key.
func (s *State) requestKey(c *Cred, typeArg, descArg, calloutArg UStr, dest int32, searchOnly bool) (*Key, *Construction, error, bool) {
	typeName, err := typeFromUser(typeArg)
	if err != nil {
		return nil, nil, err, true
	}
	desc, err := strndupUser(descArg, maxDescSize)
	if err != nil {
		return nil, nil, err, true
	}
	var callout *string
	if !calloutArg.Null {
		co, err := strndupUser(calloutArg, pageSize)
		if err != nil {
			return nil, nil, err, true
		}
		callout = &co
	}
	var destKey *Key
	if dest != 0 {
		ref, err := s.lookupUserKey(c, dest, lookupCreate, NeedWrite)
		if err != nil {
			return nil, nil, err, true
		}
		defer s.put(ref.key)
		destKey = ref.key
	}
	typ, ok := LookupType(typeName)
	if !ok {
		return nil, nil, ENOKEY, true
	}
	if typ.matchPreparse != nil {
		if err := typ.matchPreparse(desc); err != nil {
			return nil, nil, err, true
		}
	}
	ctx := searchCtx{cred: c, typ: typ, desc: desc, flags: searchStateCheck | searchSkipExpired | searchRecurse}
	k, err := s.searchProcessKeyrings(&ctx)
	switch {
	case err == nil:
		if destKey != nil {
			if err := s.permission(c, k, true, NeedLink); err != nil {
				return nil, nil, err, true
			}
			if err := s.keyLink(destKey, k); err != nil {
				return nil, nil, err, true
			}
		}
		return s.get(k), nil, nil, true
	case !isErrno(err, EAGAIN):
		return nil, nil, err, true
	case callout == nil:
		return nil, nil, ENOKEY, true
	case typ == TypeKeyring:
		return nil, nil, EPERM, true
	case searchOnly:
		return nil, nil, nil, false
	}
	cons, err := s.construct(c, typ, desc, *callout, destKey)
	if err != nil {
		return nil, nil, err, true
	}
	return s.get(cons.Key), cons, nil, true
}

// RequestKeyShared is RequestKey for a call that changes nothing: no
// destination, by a cred that has assumed no authority (ResolvesUnchanged),
// and either no callout (a miss is ENOKEY, R5.4a) or a search that finds
// the key or fails with an error of its own (request_key_and_link consults
// userspace only when nothing was found). It reports false, having changed
// nothing, when the call is not such a one. The key found may still be
// under construction (KeyResult's WaitError).
func (s *State) RequestKeyShared(c *Cred, typeArg, descArg, calloutArg UStr, dest int32) (int, error, bool) {
	if dest != 0 || c.auth != nil {
		return 0, nil, false
	}
	k, _, err, ok := s.requestKey(c, typeArg, descArg, calloutArg, dest, true)
	if !ok {
		return 0, nil, false
	}
	if err != nil {
		return -1, err, true
	}
	r, err := s.KeyResult(k)
	s.put(k)
	return r, err, true
}

// KeyResult is the end of request_key(2) once construction is over
// (wait_for_key_construction): the serial of a positive key, else the
// negative key's error or the validity error (R1.24).
func (s *State) KeyResult(k *Key) (int, error) {
	if k.has(flagUserConstruct) {
		return -1, s.waitFor(k)
	}
	if err := k.readState(); err != nil {
		return -1, err
	}
	if err := k.validate(s.sec()); err != nil {
		return -1, err
	}
	return int(k.serial), nil
}

// PutKey releases a reference handed out by RequestKey.
func (s *State) PutKey(k *Key) { s.put(k) }

// construct is construct_key_and_link() up to the upcall.
func (s *State) construct(c *Cred, typ *KeyType, desc, callout string, dest *Key) (*Construction, error) {
	defer s.changed()
	dest, err := s.constructDestKeyring(c, dest)
	if err != nil {
		return nil, err
	}
	defer s.put(dest)
	k, err := s.keyAlloc(typ, desc, c.FSUID, c.FSGID, defaultPerm(typ), 0)
	if err != nil {
		return nil, err
	}
	k.flags |= flagUserConstruct
	if dest != nil {
		if err := s.linkBegin(dest, typ, desc); err != nil {
			s.put(k)
			return nil, err
		}
		s.linkCommit(dest, k)
	}
	cons := &Construction{Key: k, Dest: s.get(dest), Callout: callout}
	// request_key_auth_new(): a helper servicing another request passes on
	// the original requester's context (§5.4 step 3).
	reqCred := c
	if c.auth != nil {
		if c.auth.has(flagRevoked) {
			s.abandon(cons, EKEYREVOKED)
			return nil, EKEYREVOKED
		}
		reqCred = c.auth.auth.cred
	}
	auth, err := s.keyAlloc(TypeAuth, strconv.FormatUint(uint64(uint32(k.serial)), 16), c.FSUID, c.FSGID,
		KEY_POS_VIEW|KEY_POS_READ|KEY_POS_SEARCH|KEY_POS_LINK|KEY_USR_VIEW, allocNotInQuota)
	if err != nil {
		s.abandon(cons, err)
		return nil, err
	}
	auth.auth = &authData{target: s.get(k), dest: s.get(dest), cred: s.copyCred(reqCred), callout: []byte(callout)}
	if c.auth != nil {
		auth.auth.pid = c.auth.auth.pid
	}
	s.instantiate(auth, nil, nil)
	cons.Auth = auth
	// call_sbin_request_key(): the helper's session keyring and arguments.
	_, us, err := s.lookUpUserKeyringsPut(c)
	if err != nil {
		s.abandon(cons, err)
		return nil, err
	}
	cons.userSession = us
	sess, err := s.keyringAlloc("_req."+strconv.FormatUint(uint64(uint32(k.serial)), 10), c.FSUID, c.FSGID, s.initNS, permSession, allocQuotaOverrun, nil)
	if err == nil {
		if err = s.keyLink(sess, auth); err != nil {
			s.put(sess)
		}
	}
	if err != nil {
		s.abandon(cons, err)
		return nil, err
	}
	cons.Session = sess
	cons.UID = uint32(c.FSUID)
	cons.GID = uint32(c.FSGID)
	ser := func(k *Key) string {
		if k == nil {
			return "0"
		}
		return strconv.FormatInt(int64(k.serial), 10)
	}
	session := c.session
	if session == nil {
		session = us
	}
	cons.Args = []string{"create", ser(k), strconv.FormatUint(uint64(c.FSUID), 10), strconv.FormatUint(uint64(c.FSGID), 10),
		ser(c.thread), ser(c.process), ser(session)}
	return cons, nil
}

// constructDestKeyring is construct_get_dest_keyring(): the given
// destination, else the request-key default chain (R5.4c step 1, D22).
// The caller gets a reference.
func (s *State) constructDestKeyring(c *Cred, dest *Key) (*Key, error) {
	if dest != nil {
		return s.get(dest), nil
	}
	permCheck := true
	var d *Key
	switch c.jit {
	case 0, 7:
		if c.auth != nil && !c.auth.has(flagRevoked) && c.auth.auth.dest != nil {
			d = s.get(c.auth.auth.dest)
			permCheck = false
			break
		}
		fallthrough
	case 1:
		if d = s.get(c.thread); d != nil {
			break
		}
		fallthrough
	case 2:
		if d = s.get(c.process); d != nil {
			break
		}
		fallthrough
	case 3:
		if d = s.get(c.session); d != nil {
			break
		}
		fallthrough
	case 5:
		u, us, err := s.lookUpUserKeyrings(c)
		if err != nil {
			return nil, err
		}
		s.put(u)
		d = us
	case 4:
		u, us, err := s.lookUpUserKeyrings(c)
		if err != nil {
			return nil, err
		}
		s.put(us)
		d = u
	default:
		panic("model: bad request-key default " + strconv.Itoa(int(c.jit)))
	}
	if permCheck {
		if err := s.permission(c, d, true, NeedWrite); err != nil {
			s.put(d)
			return nil, err
		}
	}
	return d, nil
}

// abandon negates a construction's key and releases what it holds.
func (s *State) abandon(cons *Construction, err error) {
	if cons.Key.state == stateUninstantiated {
		s.reject(cons.Key, keyNegativeTimeout, ENOKEY, nil, cons.Auth)
	}
	s.releaseConstruction(cons)
}

func (s *State) releaseConstruction(cons *Construction) {
	s.put(cons.Session)
	s.put(cons.userSession)
	s.put(cons.Auth)
	s.put(cons.Dest)
	s.put(cons.Key)
	cons.Session, cons.userSession, cons.Auth, cons.Dest = nil, nil, nil, nil
}

// HelperCred returns the credentials the kernel gives /sbin/request-key:
// root of the initial namespace, no thread or process keyring, the
// "_req.<serial>" session keyring, request-key default 1 (R5.4c step 4).
func (s *State) HelperCred(cons *Construction) *Cred {
	defer s.changed()
	h := s.NewCred(0, 0, nil, s.initNS)
	h.session = s.get(cons.Session)
	h.jit = 1
	return h
}

// FinishConstruction completes a construction once the helper process has
// exited (helperErr nil) or could not be run (helperErr is the reason,
// ENOENT when there is no /sbin/request-key). A key the helper left
// uninstantiated is negated for 60 s (R5.4c step 5). The returned error is
// what the requester that started the construction gets instead of the
// key's own result: the failure to run the helper, or ENOKEY when the
// helper left the key unfinished or invalid (call_sbin_request_key).
func (s *State) FinishConstruction(cons *Construction, helperErr error) error {
	defer s.changed()
	if cons.Key == nil {
		panic("model: construction finished twice")
	}
	k := cons.Key
	ret := helperErr
	if ret == nil && (k.has(flagUserConstruct) || k.validate(s.sec()) != nil) {
		ret = ENOKEY
	}
	if ret != nil && k.state == stateUninstantiated {
		_ = s.reject(k, keyNegativeTimeout, ENOKEY, nil, cons.Auth)
	}
	if cons.Auth != nil && !cons.Auth.has(flagInvalidated) {
		s.revoke(cons.Auth)
	}
	s.releaseConstruction(cons)
	cons.Key = nil
	return ret
}

// SetRequesterPID records the requesting process's PID in the
// authorisation key (shown by /proc/keys as pid:N), unless the requester
// is itself a helper passing on an earlier request's PID.
func (cons *Construction) SetRequesterPID(pid int) {
	if cons.Auth != nil && cons.Auth.auth.pid == 0 {
		cons.Auth.auth.pid = pid
	}
}

// reject is key_reject_and_link(): make an uninstantiated key negative with
// error e for timeout seconds, link it into ring, invalidate the authority.
func (s *State) reject(k *Key, timeout uint32, e Errno, ring *Key, auth *Key) error {
	var linkErr error
	if ring != nil {
		if ring.isKeyring() && ring.ring.restrict != nil {
			return EPERM
		}
		linkErr = s.linkBegin(ring, k.typ, k.desc)
	}
	if k.state != stateUninstantiated {
		if ring != nil && linkErr == nil {
			s.linkCancel(ring, k.typ, k.desc)
		}
		return EBUSY
	}
	k.user.nikeys++
	k.state = stateNegative
	k.rejectErr = e
	k.flags &^= flagUserConstruct
	k.expiry = s.sec() + int64(timeout)
	s.scheduleGC(k.expiry + s.gcDelay())
	if ring != nil && linkErr == nil {
		s.linkCommit(ring, k)
	}
	if auth != nil {
		auth.flags |= flagInvalidated
		s.Collect()
	}
	return linkErr
}

// instantiationKeyring is get_instantiation_keyring(): 0 no link; a serial
// looked up with CREATE and Write; -7 EINVAL; another special ID the
// destination recorded by request_key; below -8 ENOKEY. The caller gets a
// reference.
func (s *State) instantiationKeyring(c *Cred, ringid int32, a *authData) (*Key, error) {
	switch {
	case ringid == 0:
		return nil, nil
	case ringid > 0:
		ref, err := s.lookupUserKey(c, ringid, lookupCreate, NeedWrite)
		if err != nil {
			return nil, err
		}
		return ref.key, nil
	case ringid == specAuth:
		return nil, EINVAL
	case ringid >= specRequestor:
		return s.get(a.dest), nil
	}
	return nil, ENOKEY
}

// assumedAuthority returns the caller's authorisation key for target id,
// or EPERM (ops 12, 19, 20).
func (s *State) assumedAuthority(c *Cred, id int32) (*Key, error) {
	auth := c.auth
	if auth == nil {
		return nil, EPERM
	}
	if auth.has(flagRevoked) {
		// Op 12: an authority revoked since it was assumed.
		return nil, EKEYREVOKED
	}
	if auth.auth.target == nil || int32(auth.auth.target.serial) != id {
		return nil, EPERM
	}
	return auth, nil
}

// Instantiate is KEYCTL_INSTANTIATE and KEYCTL_INSTANTIATE_IOV (ops 12, 20):
// only under the assumed authority for id; on success the authority is
// invalidated and dropped.
func (s *State) Instantiate(c *Cred, id int32, payload UBuf, ringid int32) (int, error) {
	defer s.changed()
	if payload.Len < 0 || payload.Len > 1024*1024-1 {
		return -1, EINVAL
	}
	auth, err := s.assumedAuthority(c, id)
	if err != nil {
		return -1, err
	}
	data, err := payload.copyIn(payload.Len)
	if err != nil {
		return -1, err
	}
	ring, err := s.instantiationKeyring(c, ringid, auth.auth)
	if err != nil {
		return -1, err
	}
	defer s.put(ring)
	k := auth.auth.target
	if err := k.typ.preparse(data); err != nil {
		return -1, err
	}
	if ring != nil {
		if err := s.linkBegin(ring, k.typ, k.desc); err != nil {
			return -1, err
		}
		if err := s.checkRestriction(ring, k.typ); err != nil {
			s.linkCancel(ring, k.typ, k.desc)
			return -1, err
		}
	}
	if k.state != stateUninstantiated {
		if ring != nil {
			s.linkCancel(ring, k.typ, k.desc)
		}
		return -1, EBUSY
	}
	if err := s.payloadReserve(k, len(data)); err != nil {
		if ring != nil {
			s.linkCancel(ring, k.typ, k.desc)
		}
		return -1, err
	}
	s.instantiate(k, data, c.NS)
	if ring != nil {
		s.linkCommit(ring, k)
	}
	auth.flags |= flagInvalidated
	s.put(c.auth)
	c.auth = nil
	s.Collect()
	return 0, nil
}

// Reject is KEYCTL_REJECT and, with ENOKEY, KEYCTL_NEGATE (ops 13, 19):
// the error must be a real errno (not 0, not >= 4095, not a restart code),
// checked before the authority (Ex-39).
func (s *State) Reject(c *Cred, id int32, timeout, e uint32, ringid int32) (int, error) {
	defer s.changed()
	if e == 0 || e >= 4095 || e == 512 || e == 513 || e == 514 || e == 516 {
		return -1, EINVAL
	}
	auth, err := s.assumedAuthority(c, id)
	if err != nil {
		return -1, err
	}
	ring, err := s.instantiationKeyring(c, ringid, auth.auth)
	if err != nil {
		return -1, err
	}
	defer s.put(ring)
	if err := s.reject(auth.auth.target, timeout, Errno(e), ring, auth); err != nil {
		return -1, err
	}
	s.put(c.auth)
	c.auth = nil
	return 0, nil
}

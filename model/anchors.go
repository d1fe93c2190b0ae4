package model

import "strconv"

// Default permissions of the anchor keyrings (§2.1).
const (
	permThreadProcess = KEY_POS_ALL | KEY_USR_VIEW
	permSession       = KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ
	permNamedSession  = KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ | KEY_USR_LINK
	permUserKeyring   = (KEY_POS_ALL &^ KEY_POS_SETATTR) | KEY_USR_ALL
	permUserRegister  = KEY_POS_WRITE | KEY_POS_SEARCH | KEY_USR_VIEW | KEY_USR_READ
)

// installThreadKeyring gives c a thread keyring "_tid" owned by its real
// IDs, allowed to overrun the quota, if it has none (R2.2, R2.1).
func (s *State) installThreadKeyring(c *Cred) error {
	if c.thread != nil {
		return nil
	}
	k, err := s.keyringAlloc("_tid", c.UID, c.GID, c.NS, permThreadProcess, allocQuotaOverrun, nil)
	if err != nil {
		return err
	}
	c.thread = k
	s.changed()
	return nil
}

func (s *State) mustInstallThreadKeyring(c *Cred) *Key {
	if err := s.installThreadKeyring(c); err != nil {
		panic("model: thread keyring allocation failed: " + err.Error())
	}
	return c.thread
}

// installProcessKeyring gives c a process keyring "_pid" if it has none
// (R2.3).
func (s *State) installProcessKeyring(c *Cred) error {
	if c.process != nil {
		return nil
	}
	k, err := s.keyringAlloc("_pid", c.UID, c.GID, c.NS, permThreadProcess, allocQuotaOverrun, nil)
	if err != nil {
		return err
	}
	c.process = k
	s.changed()
	return nil
}

// installSessionKeyring is install_session_keyring_to_cred(): with ring nil,
// a new anonymous "_ses" that may overrun the quota only if c had no
// session keyring before (R2.4, R7.3).
func (s *State) installSessionKeyring(c *Cred, ring *Key) error {
	if ring == nil {
		flags := allocQuotaOverrun
		if c.session != nil {
			flags = 0
		}
		k, err := s.keyringAlloc("_ses", c.UID, c.GID, c.NS, permSession, flags, nil)
		if err != nil {
			return err
		}
		ring = k
	} else {
		s.get(ring)
	}
	s.put(c.session)
	c.session = ring
	s.changed()
	return nil
}

// userRegister is get_user_register(): the namespace's ".user_reg",
// created on first need and charged to the namespace owner (R2.5).
func (s *State) userRegister(ns *UserNS) (*Key, error) {
	if ns.userReg != nil {
		return ns.userReg, nil
	}
	k, err := s.keyringAlloc(".user_reg", ns.owner, InvalidGID, ns, permUserRegister, 0, nil)
	if err != nil {
		return nil, err
	}
	ns.userReg = k
	return k, nil
}

// userKeyringNameCache holds a Cred's user keyring names and what they
// were computed from.
type userKeyringNameCache struct {
	ns        *UserNS
	uid       UID
	uid1, ses string
}

// userKeyringNames returns "_uid.N" and "_uid_ses.N" for c's real UID as
// its namespace sees it; an unmapped UID is 4294967295 (R2.5c).
func userKeyringNames(c *Cred) (uid, ses string) {
	if n := &c.names; n.ns == c.NS && n.ns != nil && n.uid == c.UID {
		return n.uid1, n.ses
	}
	n, ok := c.NS.FromKUID(c.UID)
	if !ok {
		// R2.5c: from_kuid() yields (uid_t)-1 for an unmapped UID.
		n = uint32(InvalidUID)
	}
	v := strconv.FormatUint(uint64(n), 10)
	uid, ses = "_uid."+v, "_uid_ses."+v
	c.names = userKeyringNameCache{ns: c.NS, uid: c.UID, uid1: uid, ses: ses}
	return uid, ses
}

// lookUpUserKeyrings is look_up_user_keyrings(): find or create c's user
// keyring and user session keyring (R2.5a; legacy R2.6). The caller gets a
// reference on each.
func (s *State) lookUpUserKeyrings(c *Cred) (uidRing, sesRing *Key, err error) {
	if s.cfg.Profile == ProfileLegacy {
		return s.lookUpUserKeyringsLegacy(c)
	}
	if u, us, ok := s.cachedUserKeyrings(c); ok {
		return s.get(u), s.get(us), nil
	}
	reg, err := s.userRegister(c.NS)
	if err != nil {
		return nil, nil, err
	}
	uname, sname := userKeyringNames(c)
	uidRing, err = s.registerFind(c, reg, uname)
	if err == EAGAIN {
		uidRing, err = s.keyringAlloc(uname, c.UID, InvalidGID, c.NS, permUserKeyring, allocUIDKeyring, reg)
	}
	if err != nil {
		return nil, nil, err
	}
	sesRing, err = s.registerFind(c, reg, sname)
	if err == EAGAIN {
		sesRing, err = s.keyringAlloc(sname, c.UID, InvalidGID, c.NS, permUserKeyring, allocUIDKeyring, nil)
		if err == nil {
			if err = s.keyLink(sesRing, uidRing); err == nil {
				err = s.keyLink(reg, sesRing)
			}
			if err != nil {
				s.put(sesRing)
			}
		}
	}
	if err != nil {
		s.put(uidRing)
		return nil, nil, err
	}
	if s.trace == nil {
		c.userRings = userRingsCache{gen: s.gen, uid: uidRing, ses: sesRing}
	}
	return uidRing, sesRing, nil
}

// userRingsCache holds what lookUpUserKeyrings found for a cred while
// State.gen holds: the answer of two register searches is a function of
// the state.
type userRingsCache struct {
	gen      uint64
	uid, ses *Key
}

// cachedUserKeyrings returns the cached answer of lookUpUserKeyrings for
// c, when there is one; an explanation always searches, so that its trail
// shows the search.
func (s *State) cachedUserKeyrings(c *Cred) (uid, ses *Key, ok bool) {
	rc := c.userRings
	if rc.uid == nil || rc.gen != s.gen || s.trace != nil {
		return nil, nil, false
	}
	if s.cfg.CheckCaches {
		reg := c.NS.userReg
		uname, sname := userKeyringNames(c)
		u, uerr := s.registerFind(c, reg, uname)
		us, serr := s.registerFind(c, reg, sname)
		if uerr != nil || serr != nil || u != rc.uid || us != rc.ses {
			panic("model: stale user keyring cache")
		}
		s.put(u)
		s.put(us)
	}
	return rc.uid, rc.ses, true
}

// registerFind is keyring_search(reg, "keyring", name, false): a direct,
// state-checked lookup in the register, possessed.
func (s *State) registerFind(c *Cred, reg *Key, name string) (*Key, error) {
	ctx := searchCtx{cred: c, typ: TypeKeyring, desc: name, flags: searchStateCheck}
	k, err := s.searchKeyring(&ctx, reg, true)
	if err != nil {
		return nil, err
	}
	return s.get(k), nil
}

// userSessionForSearch is get_user_session_keyring_rcu(): the existing
// user session keyring of c, never created (R4.1).
func (s *State) userSessionForSearch(c *Cred) *Key {
	if s.cfg.Profile == ProfileLegacy {
		// A search changes nothing (it may run on the shared read path):
		// a UID without a record has no keyrings.
		if u, ok := s.users[c.UID]; ok {
			return u.sessionKeyring
		}
		return nil
	}
	reg := c.NS.userReg
	if reg == nil {
		return nil
	}
	_, sname := userKeyringNames(c)
	ctx := searchCtx{cred: c, typ: TypeKeyring, desc: sname, flags: searchStateCheck}
	k, err := s.searchKeyring(&ctx, reg, true)
	if err != nil {
		return nil
	}
	return k
}

// lookUpUserKeyringsLegacy is the 4.14..5.2 install_user_keyrings(): the
// keyrings hang off the UID record; a record without them first looks for
// surviving UID keyrings by name (R2.6, R2.6a).
func (s *State) lookUpUserKeyringsLegacy(c *Cred) (*Key, *Key, error) {
	u := s.userRecord(c.UID)
	if u.uidKeyring == nil {
		uname, sname := userKeyringNames(c)
		uidRing := s.findUIDKeyringByName(uname)
		if uidRing == nil {
			var err error
			uidRing, err = s.keyringAlloc(uname, c.UID, InvalidGID, c.NS, permUserKeyring, allocUIDKeyring, nil)
			if err != nil {
				return nil, nil, err
			}
		}
		sesRing := s.findUIDKeyringByName(sname)
		if sesRing == nil {
			var err error
			sesRing, err = s.keyringAlloc(sname, c.UID, InvalidGID, c.NS, permUserKeyring, allocUIDKeyring, nil)
			if err == nil {
				if err = s.keyLink(sesRing, uidRing); err != nil {
					s.put(sesRing)
				}
			}
			if err != nil {
				s.put(uidRing)
				return nil, nil, err
			}
		}
		u.uidKeyring, u.sessionKeyring = uidRing, sesRing
	}
	return s.get(u.uidKeyring), s.get(u.sessionKeyring), nil
}

// findUIDKeyringByName is find_keyring_by_name(name, true) of the legacy
// kernels: a live, unrevoked keyring flagged UID_KEYRING (R2.6).
func (s *State) findUIDKeyringByName(name string) *Key {
	for _, k := range s.initNS.named(name) {
		if k.alive() && k.has(flagUIDKeyring) && !k.has(flagRevoked) {
			return s.get(k)
		}
	}
	return nil
}

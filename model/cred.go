package model

// Cred is one thread's credentials (struct cred): its IDs as kernel IDs,
// its user namespace, and its key pointers — thread, process and session
// keyrings, the assumed authorisation key and the request-key default
// destination. Credentials are per thread (R2.3, R2.4); emu keeps the IDs of
// a process's threads in step, as glibc and Go do.
//
// A Cred holds references on the keys it points to; ReleaseCred drops them.
type Cred struct {
	UID, EUID, SUID, FSUID UID
	GID, EGID, SGID, FSGID GID
	Groups                 []GID
	NS                     *UserNS
	// capsPermitted is the permitted capability set: full while any of the
	// real, effective and saved UIDs is the namespace's root.
	capsPermitted bool

	thread, process, session *Key
	auth                     *Key
	jit                      int8

	// names caches userKeyringNames for the UID and namespace it was
	// computed in, so that resolving @u and @us allocates nothing.
	names userKeyringNameCache
	// poss caches possessed() for the keys this cred looked up last.
	poss possCache
	// head is the head of the text of the key this cred described last.
	head describeHead
	// userRings caches lookUpUserKeyrings.
	userRings userRingsCache
	// reach caches the keyrings a possession search enters.
	reach reachCache
	// plans caches the keyrings searches enter (searchPlanned).
	plans planCache
}

// NewCred returns the credentials of a process started with no keyrings at
// all (R2.4b), with real, effective, saved and filesystem IDs uid and gid.
func (s *State) NewCred(uid UID, gid GID, groups []GID, ns *UserNS) *Cred {
	c := &Cred{
		UID: uid, EUID: uid, SUID: uid, FSUID: uid,
		GID: gid, EGID: gid, SGID: gid, FSGID: gid,
		Groups: append([]GID(nil), groups...),
		NS:     ns,
	}
	c.capsPermitted = c.isNSRoot(uid)
	s.credAttach(c)
	return c
}

func (c *Cred) isNSRoot(u UID) bool {
	root, ok := c.NS.MakeKUID(0)
	return ok && u == root
}

// CapSysAdmin reports capable(CAP_SYS_ADMIN): the effective capability in
// the initial user namespace (R6.3).
func (c *Cred) CapSysAdmin() bool {
	return c.NS.parent == nil && c.capsPermitted && c.isNSRoot(c.EUID)
}

// nsCapable reports ns_capable(c.NS, cap) for CAP_SETUID and CAP_SETGID.
func (c *Cred) nsCapable() bool { return c.capsPermitted && c.isNSRoot(c.EUID) }

// inGroup is in_group_p(): the fsgid or a supplementary group.
func (c *Cred) inGroup(g GID) bool {
	if g == c.FSGID {
		return true
	}
	for _, x := range c.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// ThreadKeyring, ProcessKeyring, SessionKeyring and AuthKey return the
// cred's key pointers (nil when absent).
func (c *Cred) ThreadKeyring() *Key  { return c.thread }
func (c *Cred) ProcessKeyring() *Key { return c.process }
func (c *Cred) SessionKeyring() *Key { return c.session }
func (c *Cred) AuthKey() *Key        { return c.auth }

// ReqKeyDefault returns the KEYCTL_SET_REQKEY_KEYRING setting.
func (c *Cred) ReqKeyDefault() int { return int(c.jit) }

// credAttach registers a live credential and counts it against its real
// UID's record (legacy lifetime).
func (s *State) credAttach(c *Cred) {
	s.creds[c] = struct{}{}
	s.userRecord(c.UID).creds++
}

// credDetach undoes credAttach.
func (s *State) credDetach(c *Cred) {
	delete(s.creds, c)
	s.uidRelease(c.UID)
}

// uidRelease drops one credential's hold on the record of uid; in the
// legacy profile the last credential of a UID takes its user keyrings with
// it (R2.6a).
func (s *State) uidRelease(uid UID) {
	u := s.userRecord(uid)
	u.creds--
	if u.creds == 0 && s.cfg.Profile == ProfileLegacy {
		uk, sk := u.uidKeyring, u.sessionKeyring
		u.uidKeyring, u.sessionKeyring = nil, nil
		s.put(sk)
		s.put(uk)
	}
	s.dropUserRecordIfUnused(u)
}

// CloneThread returns the credentials of a new thread created by c's
// thread with CLONE_THREAD: the same process and session keyrings, and a
// fresh thread keyring if c has one (R2.2c, D5).
func (s *State) CloneThread(c *Cred) *Cred {
	defer s.changed()
	n := s.copyCred(c)
	if c.thread != nil && !s.mutant(MutateSharedThreadKeyring) {
		s.put(n.thread)
		n.thread = nil
		s.mustInstallThreadKeyring(n)
	}
	return n
}

// Fork returns the credentials of a child process: the session keyring is
// shared, the thread and process keyrings are not (R2.2b, R2.3, R2.4a).
func (s *State) Fork(c *Cred) *Cred {
	defer s.changed()
	n := s.copyCred(c)
	s.put(n.thread)
	s.put(n.process)
	n.thread, n.process = nil, nil
	return n
}

// Exec applies execve to c: the thread and process keyrings are dropped,
// the session keyring, assumed authority and request-key default are kept
// (R2.2b, R2.3, R2.4a, R5.4d), and the saved and filesystem IDs become the
// effective ones.
//
// It returns the credentials the new program's file was opened with, c as
// it was before the call, which the process holds until it exits or execs
// again: the kernel keeps the executable open as the process's exe_file,
// and an open file pins its opener's credentials (f_cred; fs/exec.c). So
// the keyrings execve drops from c stay alive and answer by serial until
// then (R2.2b, R2.3). The caller releases them with ReleaseCred.
func (s *State) Exec(c *Cred) (image *Cred) {
	defer s.changed()
	image = s.copyCred(c)
	s.put(c.thread)
	c.thread = nil
	if !s.mutant(MutateExecKeepsProcessKeyring) {
		s.put(c.process)
		c.process = nil
	}
	c.SUID, c.FSUID = c.EUID, c.EUID
	c.SGID, c.FSGID = c.EGID, c.EGID
	return image
}

func (s *State) copyCred(c *Cred) *Cred {
	n := *c
	n.poss, n.userRings, n.reach, n.plans, n.head = possCache{}, userRingsCache{}, reachCache{}, planCache{}, describeHead{}
	n.Groups = append([]GID(nil), c.Groups...)
	s.get(n.thread)
	s.get(n.process)
	s.get(n.session)
	s.get(n.auth)
	s.credAttach(&n)
	return &n
}

// ReleaseCred drops everything c holds, as when the last task using the
// credentials exits.
func (s *State) ReleaseCred(c *Cred) {
	defer s.changed()
	s.put(c.thread)
	s.put(c.process)
	s.put(c.session)
	s.put(c.auth)
	c.thread, c.process, c.session, c.auth = nil, nil, nil, nil
	s.credDetach(c)
}

// Setresuid changes c's user IDs as setresuid(2) does; -1 leaves an ID
// unchanged. Without CAP_SETUID each new ID must be one of the current
// real, effective or saved IDs (EPERM); an ID with no mapping fails EINVAL.
// The filesystem UID follows the effective one and the thread keyring's
// owner follows the filesystem UID (R2.2a); the session keyring is kept
// (R2.4a).
func (s *State) Setresuid(c *Cred, r, e, sv int64) error {
	defer s.changed()
	ids := [3]int64{r, e, sv}
	var k [3]UID
	for i, v := range ids {
		if v == -1 {
			continue
		}
		kid, ok := c.NS.MakeKUID(uint32(v))
		if !ok {
			return EINVAL
		}
		k[i] = kid
	}
	if !c.nsCapable() {
		for i, v := range ids {
			if v != -1 && k[i] != c.UID && k[i] != c.EUID && k[i] != c.SUID {
				return EPERM
			}
		}
	}
	oldUID, oldFSUID := c.UID, c.FSUID
	if r != -1 {
		c.UID = k[0]
	}
	if e != -1 {
		c.EUID = k[1]
	}
	if sv != -1 {
		c.SUID = k[2]
	}
	c.FSUID = c.EUID
	if c.UID != oldUID {
		s.userRecord(c.UID).creds++
		s.uidRelease(oldUID)
	}
	// Capabilities: all three IDs leaving root drops the permitted set.
	if !c.isNSRoot(c.UID) && !c.isNSRoot(c.EUID) && !c.isNSRoot(c.SUID) {
		c.capsPermitted = false
	}
	// commit_creds calls key_fsuid_changed only when the fsuid changes
	// (R2.2a).
	if c.thread != nil && c.FSUID != oldFSUID {
		c.thread.uid = c.FSUID
	}
	return nil
}

// Setresgid changes c's group IDs as setresgid(2) does.
func (s *State) Setresgid(c *Cred, r, e, sv int64) error {
	defer s.changed()
	ids := [3]int64{r, e, sv}
	var k [3]GID
	for i, v := range ids {
		if v == -1 {
			continue
		}
		kid, ok := c.NS.MakeKGID(uint32(v))
		if !ok {
			return EINVAL
		}
		k[i] = kid
	}
	if !c.nsCapable() {
		for i, v := range ids {
			if v != -1 && k[i] != c.GID && k[i] != c.EGID && k[i] != c.SGID {
				return EPERM
			}
		}
	}
	if r != -1 {
		c.GID = k[0]
	}
	if e != -1 {
		c.EGID = k[1]
	}
	if sv != -1 {
		c.SGID = k[2]
	}
	oldFSGID := c.FSGID
	c.FSGID = c.EGID
	// commit_creds calls key_fsgid_changed only when the fsgid changes
	// (R2.2a).
	if c.thread != nil && c.FSGID != oldFSGID {
		c.thread.gid = c.FSGID
	}
	return nil
}

// Setgroups replaces the supplementary groups; it needs CAP_SETGID (EPERM).
func (s *State) Setgroups(c *Cred, groups []uint32) error {
	defer s.changed()
	if !c.nsCapable() {
		return EPERM
	}
	gs := make([]GID, 0, len(groups))
	for _, g := range groups {
		k, ok := c.NS.MakeKGID(g)
		if !ok {
			return EINVAL
		}
		gs = append(gs, k)
	}
	c.Groups = gs
	return nil
}

// EnterUserNS moves c into ns, as unshare(CLONE_NEWUSER) does for the
// calling task: the session keyring is kept (R2.4a), the assumed authority
// is dropped (R5.4d), and the task has every capability in its new
// namespace.
func (s *State) EnterUserNS(c *Cred, ns *UserNS) {
	defer s.changed()
	s.put(c.auth)
	c.auth = nil
	c.NS = ns
	c.capsPermitted = true
}

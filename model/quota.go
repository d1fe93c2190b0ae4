package model

// UserRecord is the kernel's per-UID key_user: quota counters shared by
// every user namespace in which the kernel UID appears (R7.1). In the
// legacy profile it also holds the UID's user keyrings (R2.6).
type UserRecord struct {
	uid UID
	// nkeys counts every key the UID owns; nikeys the instantiated ones.
	nkeys, nikeys int
	// qnkeys and qnbytes are the quota in use (R7.3, R7.4).
	qnkeys, qnbytes int
	// creds counts credentials whose real UID is this one (legacy profile
	// lifetime of the user keyrings, R2.6a).
	creds int
	// uidKeyring and sessionKeyring are the legacy profile's user keyrings.
	uidKeyring, sessionKeyring *Key
}

// UID returns the record's kernel UID.
func (u *UserRecord) UID() UID { return u.uid }

// Quota returns the keys and bytes charged to the record.
func (u *UserRecord) Quota() (keys, bytes int) { return u.qnkeys, u.qnbytes }

// Keys returns how many keys the UID owns and how many are instantiated.
func (u *UserRecord) Keys() (nkeys, nikeys int) { return u.nkeys, u.nikeys }

// userRecord is key_user_lookup(): find or create the record of uid.
func (s *State) userRecord(uid UID) *UserRecord {
	if u := s.lastUser; u != nil && u.uid == uid {
		return u
	}
	return s.userRecordOf(uid)
}

// userRecordOf is userRecord for a UID other than the last one asked for.
// It is not inlined: a copy of the map's code at each userRecord would put
// it among the lines of every call that charges a quota.
//
//go:noinline
func (s *State) userRecordOf(uid UID) *UserRecord {
	u, ok := s.users[uid]
	if !ok {
		u = &UserRecord{uid: uid}
		s.users[uid] = u
	}
	s.lastUser = u
	return u
}

// UserRecord returns the record of uid if it exists.
func (s *State) UserRecord(uid UID) (*UserRecord, bool) {
	u, ok := s.users[uid]
	return u, ok
}

// dropUserRecordIfUnused frees a record nothing refers to any more (R9.5);
// root's record is static.
func (s *State) dropUserRecordIfUnused(u *UserRecord) {
	if u.uid != 0 && u.nkeys == 0 && u.creds == 0 && u.uidKeyring == nil && u.sessionKeyring == nil {
		delete(s.users, u.uid)
		if s.lastUser == u {
			s.lastUser = nil
		}
	}
}

// reserveLink charges the 4 bytes of a new keyring entry to the keyring's
// owner (R7.4, __key_link_begin).
func (s *State) reserveLink(ring *Key) error {
	return s.payloadReserve(ring, int(ring.datalen)+linkBytes)
}

// linkBytes is KEYQUOTA_LINK_BYTES.
const linkBytes = 4

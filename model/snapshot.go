package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// SnapshotFormat is the format field of every snapshot; SnapshotVersion is
// the version this package writes; it reads it and version 1.
const (
	SnapshotFormat  = "keyemu-model-state"
	SnapshotVersion = 2
)

// Errors UnmarshalSnapshot wraps, so callers can tell a foreign file from
// a damaged or a too old one with errors.Is.
var (
	// ErrNotSnapshot: the data is not a keyemu model snapshot at all.
	ErrNotSnapshot = errors.New("not a keyemu state snapshot")
	// ErrSnapshotVersion: a snapshot of a version this package cannot read.
	ErrSnapshotVersion = errors.New("unsupported keyemu state snapshot version")
	// ErrSnapshotCorrupt: a snapshot whose contents do not make a
	// consistent State.
	ErrSnapshotCorrupt = errors.New("corrupt keyemu state snapshot")
)

// The encoding. Keys refer to each other by serial (0 is none), user
// namespaces by their index in Namespaces (-1 is none; the initial
// namespace is index 0 and a parent always precedes its children).
type (
	snapshot struct {
		Format  string     `json:"format"`
		Version int        `json:"version"`
		Config  snapConfig `json:"config"`
		Now     time.Time  `json:"now"`
		// Serials is the serial index's counter (serialIndex.next).
		Serials uint32 `json:"serials"`
		// RNG is the serial generator's state in version 1, which drew
		// serials at random; version 2 has none.
		RNG        []byte     `json:"rng,omitempty"`
		GCAt       int64      `json:"gc_at,omitempty"`
		Namespaces []snapNS   `json:"namespaces"`
		Users      []snapUser `json:"users"`
		Keys       []snapKey  `json:"keys"`
		Creds      []snapCred `json:"creds,omitempty"`
	}
	snapConfig struct {
		Profile                 Profile       `json:"profile"`
		MaxKeys                 int           `json:"max_keys"`
		MaxBytes                int           `json:"max_bytes"`
		RootMaxKeys             int           `json:"root_max_keys"`
		RootMaxBytes            int           `json:"root_max_bytes"`
		GCDelay                 time.Duration `json:"gc_delay"`
		PersistentKeyringExpiry time.Duration `json:"persistent_keyring_expiry"`
		Start                   time.Time     `json:"start"`
		Seed                    uint64        `json:"seed"`
	}
	snapNS struct {
		Parent        int         `json:"parent"`
		Owner         UID         `json:"owner"`
		UIDMap        []IDMapping `json:"uid_map,omitempty"`
		GIDMap        []IDMapping `json:"gid_map,omitempty"`
		UserReg       Serial      `json:"user_reg,omitempty"`
		PersistentReg Serial      `json:"persistent_reg,omitempty"`
		Names         []snapNames `json:"names,omitempty"`
	}
	snapNames struct {
		Desc string   `json:"desc"`
		Keys []Serial `json:"keys"`
	}
	snapUser struct {
		UID            UID    `json:"uid"`
		NKeys          int    `json:"nkeys"`
		NIKeys         int    `json:"nikeys"`
		QNKeys         int    `json:"qnkeys"`
		QNBytes        int    `json:"qnbytes"`
		Creds          int    `json:"creds"`
		UIDKeyring     Serial `json:"uid_keyring,omitempty"`
		SessionKeyring Serial `json:"session_keyring,omitempty"`
	}
	snapKey struct {
		Serial    Serial    `json:"serial"`
		Type      string    `json:"type"`
		Desc      string    `json:"desc"`
		UID       UID       `json:"uid"`
		GID       GID       `json:"gid"`
		Perm      Perm      `json:"perm"`
		Flags     keyFlags  `json:"flags"`
		State     keyState  `json:"state"`
		RejectErr Errno     `json:"reject_err,omitempty"`
		Usage     int32     `json:"usage"`
		Expiry    int64     `json:"expiry,omitempty"`
		Payload   []byte    `json:"payload,omitempty"`
		DataLen   int       `json:"datalen"`
		QuotaLen  int       `json:"quotalen"`
		User      UID       `json:"user"`
		Ring      *snapRing `json:"ring,omitempty"`
		Auth      *snapAuth `json:"auth,omitempty"`
	}
	snapRing struct {
		Links    []Serial      `json:"links,omitempty"`
		Restrict *snapRestrict `json:"restrict,omitempty"`
		NS       int           `json:"ns"`
	}
	snapRestrict struct {
		RejectAll bool   `json:"reject_all,omitempty"`
		Type      string `json:"type,omitempty"`
		ChainTo   Serial `json:"chain_to,omitempty"`
	}
	snapAuth struct {
		// Released marks a revoked key whose record is gone.
		Released bool      `json:"released,omitempty"`
		Target   Serial    `json:"target,omitempty"`
		Dest     Serial    `json:"dest,omitempty"`
		Cred     *snapCred `json:"cred,omitempty"`
		Callout  []byte    `json:"callout,omitempty"`
		PID      int       `json:"pid"`
	}
	snapCred struct {
		Name    string `json:"name,omitempty"`
		UID     UID    `json:"uid"`
		EUID    UID    `json:"euid"`
		SUID    UID    `json:"suid"`
		FSUID   UID    `json:"fsuid"`
		GID     GID    `json:"gid"`
		EGID    GID    `json:"egid"`
		SGID    GID    `json:"sgid"`
		FSGID   GID    `json:"fsgid"`
		Groups  []GID  `json:"groups,omitempty"`
		NS      int    `json:"ns"`
		Caps    bool   `json:"caps"`
		Thread  Serial `json:"thread,omitempty"`
		Process Serial `json:"process,omitempty"`
		Session Serial `json:"session,omitempty"`
		Auth    Serial `json:"auth,omitempty"`
		JIT     int8   `json:"jit,omitempty"`
	}
)

// MarshalSnapshot encodes the whole State — configuration, clock, serial
// generator, user namespaces with their registers and published names,
// quota records, keys with their links, payloads and flags, and every live
// credential — as versioned JSON that UnmarshalSnapshot turns back into an
// identical State. names gives each live credential a name by which
// UnmarshalSnapshot hands it back; credentials held by authorisation keys
// are encoded with their key and need none. A live credential without a
// name, or a State that fails CheckInvariants, is refused.
func (s *State) MarshalSnapshot(names map[*Cred]string) ([]byte, error) {
	if err := s.CheckInvariants(); err != nil {
		return nil, fmt.Errorf("model: snapshot of an inconsistent state: %w", err)
	}
	snap := snapshot{
		Format:  SnapshotFormat,
		Version: SnapshotVersion,
		Config: snapConfig{
			Profile: s.cfg.Profile, MaxKeys: s.cfg.MaxKeys, MaxBytes: s.cfg.MaxBytes,
			RootMaxKeys: s.cfg.RootMaxKeys, RootMaxBytes: s.cfg.RootMaxBytes,
			GCDelay: s.cfg.GCDelay, PersistentKeyringExpiry: s.cfg.PersistentKeyringExpiry,
			Start: s.cfg.Start, Seed: s.cfg.Seed,
		},
		Now:     s.now,
		Serials: s.serials.next,
		GCAt:    s.gcAt,
	}

	// Number the namespaces, parents first, in an order fixed by the keys
	// (by serial) and the named credentials (by name).
	nsIndex := map[*UserNS]int{}
	var nsList []*UserNS
	var addNS func(ns *UserNS)
	addNS = func(ns *UserNS) {
		if ns == nil {
			return
		}
		if _, ok := nsIndex[ns]; ok {
			return
		}
		addNS(ns.parent)
		nsIndex[ns] = len(nsList)
		nsList = append(nsList, ns)
	}
	addNS(s.initNS)
	authCreds := map[*Cred]bool{}
	s.EachKey(func(k *Key) bool {
		if k.ring != nil {
			addNS(k.ring.ns)
		}
		if k.auth != nil && k.auth.cred != nil {
			authCreds[k.auth.cred] = true
			addNS(k.auth.cred.NS)
		}
		return true
	})
	var named []*Cred
	for c := range s.creds {
		if authCreds[c] {
			continue
		}
		if _, ok := names[c]; !ok {
			return nil, fmt.Errorf("model: snapshot of a live credential (uid %d) with no name", c.UID)
		}
		named = append(named, c)
	}
	sort.Slice(named, func(i, j int) bool { return names[named[i]] < names[named[j]] })
	for _, c := range named {
		addNS(c.NS)
	}

	for _, ns := range nsList {
		e := snapNS{Parent: -1, Owner: ns.owner, UIDMap: ns.uidMap, GIDMap: ns.gidMap,
			UserReg: serialOf(ns.userReg), PersistentReg: serialOf(ns.persistentReg)}
		if ns.parent != nil {
			e.Parent = nsIndex[ns.parent]
		}
		descs := make([]string, 0, len(ns.names))
		for d := range ns.names {
			descs = append(descs, d)
		}
		sort.Strings(descs)
		for _, d := range descs {
			n := snapNames{Desc: d}
			for _, k := range ns.names[d].keys {
				n.Keys = append(n.Keys, k.serial)
			}
			e.Names = append(e.Names, n)
		}
		snap.Namespaces = append(snap.Namespaces, e)
	}

	uids := make([]UID, 0, len(s.users))
	for uid := range s.users {
		uids = append(uids, uid)
	}
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	for _, uid := range uids {
		u := s.users[uid]
		snap.Users = append(snap.Users, snapUser{UID: uid, NKeys: u.nkeys, NIKeys: u.nikeys,
			QNKeys: u.qnkeys, QNBytes: u.qnbytes, Creds: u.creds,
			UIDKeyring: serialOf(u.uidKeyring), SessionKeyring: serialOf(u.sessionKeyring)})
	}

	encCred := func(c *Cred, name string) snapCred {
		return snapCred{Name: name,
			UID: c.UID, EUID: c.EUID, SUID: c.SUID, FSUID: c.FSUID,
			GID: c.GID, EGID: c.EGID, SGID: c.SGID, FSGID: c.FSGID,
			Groups: c.Groups, NS: nsIndex[c.NS], Caps: c.capsPermitted,
			Thread: serialOf(c.thread), Process: serialOf(c.process),
			Session: serialOf(c.session), Auth: serialOf(c.auth), JIT: c.jit}
	}
	s.EachKey(func(k *Key) bool {
		e := snapKey{Serial: k.serial, Type: k.typ.Name, Desc: k.desc, UID: k.uid, GID: k.gid,
			Perm: k.perm, Flags: k.flags, State: k.state, RejectErr: k.rejectErr, Usage: k.usage,
			Expiry: k.expiry, Payload: k.payload, DataLen: int(k.datalen), QuotaLen: int(k.quotalen),
			User: k.user.uid}
		if k.ring != nil {
			r := &snapRing{NS: -1, Links: s.KeyringSerials(k)}
			if k.ring.ns != nil {
				r.NS = nsIndex[k.ring.ns]
			}
			if x := k.ring.restrict; x != nil {
				r.Restrict = &snapRestrict{RejectAll: x.rejectAll, ChainTo: serialOf(x.chainTo)}
				if x.typ != nil {
					r.Restrict.Type = x.typ.Name
				}
			}
			e.Ring = r
		}
		if a := k.auth; a != nil && a.cred == nil {
			e.Auth = &snapAuth{Released: true}
		} else if a != nil {
			cred := encCred(a.cred, "")
			e.Auth = &snapAuth{Target: serialOf(a.target), Dest: serialOf(a.dest),
				Cred: &cred, Callout: a.callout, PID: a.pid}
		}
		snap.Keys = append(snap.Keys, e)
		return true
	})
	for _, c := range named {
		snap.Creds = append(snap.Creds, encCred(c, names[c]))
	}
	return json.MarshalIndent(&snap, "", " ")
}

func serialOf(k *Key) Serial {
	if k == nil {
		return 0
	}
	return k.serial
}

// UnmarshalSnapshot decodes a snapshot made by MarshalSnapshot into a new
// State, and returns the named credentials, live in that State, by name.
// Data that is not a snapshot fails with ErrNotSnapshot, a snapshot of
// another version with ErrSnapshotVersion (naming it), and one whose
// contents are inconsistent with ErrSnapshotCorrupt.
func UnmarshalSnapshot(data []byte) (*State, map[string]*Cred, error) {
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.Format != SnapshotFormat {
		return nil, nil, ErrNotSnapshot
	}
	switch {
	case head.Version < 1:
		return nil, nil, fmt.Errorf("%w: version %d is older than this keyemu reads (%d)", ErrSnapshotVersion, head.Version, SnapshotVersion)
	case head.Version > SnapshotVersion:
		return nil, nil, fmt.Errorf("%w: version %d is newer than this keyemu reads (%d)", ErrSnapshotVersion, head.Version, SnapshotVersion)
	}
	var snap snapshot
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&snap); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrSnapshotCorrupt, err)
	}
	s, creds, err := restoreSnapshot(&snap)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrSnapshotCorrupt, err)
	}
	return s, creds, nil
}

func restoreSnapshot(snap *snapshot) (*State, map[string]*Cred, error) {
	c := snap.Config
	cfg := Config{Profile: c.Profile, MaxKeys: c.MaxKeys, MaxBytes: c.MaxBytes,
		RootMaxKeys: c.RootMaxKeys, RootMaxBytes: c.RootMaxBytes, GCDelay: c.GCDelay,
		PersistentKeyringExpiry: c.PersistentKeyringExpiry, Start: c.Start, Seed: c.Seed}.withDefaults()
	if cfg.Profile != ProfileModern && cfg.Profile != ProfileLegacy {
		return nil, nil, fmt.Errorf("unknown profile %d", cfg.Profile)
	}
	if snap.Serials > serialSpace {
		return nil, nil, fmt.Errorf("serial counter %d", snap.Serials)
	}
	if snap.Version == 1 {
		// Version 1 drew serials at random: its keys wait in the index
		// until the counter meets them (serialIndex.other).
		snap.Serials = 0
	} else if snap.RNG != nil {
		return nil, nil, fmt.Errorf("a random serial generator in version %d", snap.Version)
	}
	serials := newSerialIndex(cfg.Seed)
	serials.next = snap.Serials
	s := &State{
		cfg:     cfg,
		now:     snap.Now,
		serials: serials,
		users:   make(map[UID]*UserRecord),
		creds:   make(map[*Cred]struct{}),
		links:   newLinkMem(),
		gcAt:    snap.GCAt,
	}

	// Namespaces: the initial one first, parents before children.
	if len(snap.Namespaces) == 0 || snap.Namespaces[0].Parent != -1 {
		return nil, nil, errors.New("no initial user namespace")
	}
	nss := make([]*UserNS, len(snap.Namespaces))
	for i, e := range snap.Namespaces {
		ns := &UserNS{owner: e.Owner, uidMap: e.UIDMap, gidMap: e.GIDMap, names: make(map[string]*nameList)}
		if i > 0 {
			if e.Parent < 0 || e.Parent >= i {
				return nil, nil, fmt.Errorf("namespace %d has parent %d", i, e.Parent)
			}
			ns.parent = nss[e.Parent]
		}
		nss[i] = ns
	}
	s.initNS = nss[0]
	nsAt := func(i int) (*UserNS, error) {
		if i == -1 {
			return nil, nil
		}
		if i < 0 || i >= len(nss) {
			return nil, fmt.Errorf("no namespace %d", i)
		}
		return nss[i], nil
	}

	for _, e := range snap.Users {
		if _, dup := s.users[e.UID]; dup {
			return nil, nil, fmt.Errorf("two records for uid %d", e.UID)
		}
		s.users[e.UID] = &UserRecord{uid: e.UID, nkeys: e.NKeys, nikeys: e.NIKeys,
			qnkeys: e.QNKeys, qnbytes: e.QNBytes, creds: e.Creds}
	}
	if _, ok := s.users[0]; !ok {
		return nil, nil, errors.New("no quota record for root")
	}

	// Keys, first without their references to other keys.
	for _, e := range snap.Keys {
		typ, ok := LookupType(e.Type)
		if !ok {
			return nil, nil, fmt.Errorf("key %d has unknown type %q", e.Serial, e.Type)
		}
		if e.Serial < 1 || s.serials.get(e.Serial) != nil {
			return nil, nil, fmt.Errorf("bad or repeated serial %d", e.Serial)
		}
		u, ok := s.users[e.User]
		if !ok {
			return nil, nil, fmt.Errorf("key %d charged to uid %d, which has no record", e.Serial, e.User)
		}
		if e.State < stateUninstantiated || e.State > stateNegative {
			return nil, nil, fmt.Errorf("key %d has state %d", e.Serial, e.State)
		}
		if (e.Ring != nil) != (typ == TypeKeyring) || (e.Auth != nil) != (typ == TypeAuth) {
			return nil, nil, fmt.Errorf("key %d of type %s has the wrong payload kind", e.Serial, e.Type)
		}
		if strings.IndexByte(e.Desc, 0) >= 0 {
			// Descriptions come from C strings (strndup_user): no key
			// holds a NUL in its own.
			return nil, nil, fmt.Errorf("key %d has a description with a NUL", e.Serial)
		}
		if e.DataLen < 0 || e.DataLen > math.MaxUint16 || e.QuotaLen < 0 || e.QuotaLen > math.MaxInt32 {
			return nil, nil, fmt.Errorf("key %d has datalen %d and quotalen %d", e.Serial, e.DataLen, e.QuotaLen)
		}
		k := &Key{serial: e.Serial, typ: typ, desc: e.Desc, uid: e.UID, gid: e.GID, perm: e.Perm,
			flags: e.Flags, state: e.State, rejectErr: e.RejectErr, expiry: e.Expiry,
			payload: e.Payload, datalen: int32(e.DataLen), quotalen: int32(e.QuotaLen), user: u}
		k.usage = e.Usage
		if typ == TypeKeyring {
			k.ring = &ringData{}
		}
		s.indexKey(k)
	}
	key := func(id Serial) (*Key, error) {
		if id == 0 {
			return nil, nil
		}
		k := s.serials.get(id)
		if k == nil {
			return nil, fmt.Errorf("reference to missing key %d", id)
		}
		return k, nil
	}
	restoreCred := func(e snapCred) (*Cred, error) {
		ns, err := nsAt(e.NS)
		if err != nil || ns == nil {
			return nil, fmt.Errorf("credential %q: no namespace %d", e.Name, e.NS)
		}
		c := &Cred{UID: e.UID, EUID: e.EUID, SUID: e.SUID, FSUID: e.FSUID,
			GID: e.GID, EGID: e.EGID, SGID: e.SGID, FSGID: e.FSGID,
			Groups: e.Groups, NS: ns, capsPermitted: e.Caps, jit: e.JIT}
		for _, p := range []struct {
			dst **Key
			id  Serial
		}{{&c.thread, e.Thread}, {&c.process, e.Process}, {&c.session, e.Session}, {&c.auth, e.Auth}} {
			if *p.dst, err = key(p.id); err != nil {
				return nil, err
			}
		}
		if _, ok := s.users[c.UID]; !ok {
			return nil, fmt.Errorf("credential %q of uid %d, which has no record", e.Name, c.UID)
		}
		s.creds[c] = struct{}{}
		return c, nil
	}

	// Then the references: links, restrictions, namespaces, authority.
	for _, e := range snap.Keys {
		k, _ := key(e.Serial)
		if r := e.Ring; r != nil {
			ns, err := nsAt(r.NS)
			if err != nil {
				return nil, nil, err
			}
			k.ring.ns = ns
			if len(r.Links) > smallLinks {
				k.ring.links.MakeLarge(&s.links)
			}
			for _, id := range r.Links {
				l, err := key(id)
				if err != nil || l == nil {
					return nil, nil, fmt.Errorf("keyring %d links missing key %d", k.serial, id)
				}
				if _, dup := k.ring.links.ReplaceOrInsert(mkLink(l.typ, l.desc, l), &s.links); dup {
					return nil, nil, fmt.Errorf("keyring %d links two %s keys %q", k.serial, l.typ.Name, l.desc)
				}
				l.linkedIn(k)
			}
			if x := r.Restrict; x != nil {
				rs := &restriction{rejectAll: x.RejectAll}
				if x.Type != "" {
					t, ok := LookupType(x.Type)
					if !ok {
						return nil, nil, fmt.Errorf("keyring %d restricted to unknown type %q", k.serial, x.Type)
					}
					rs.typ = t
				}
				var err error
				if rs.chainTo, err = key(x.ChainTo); err != nil {
					return nil, nil, err
				}
				k.ring.restrict = rs
			}
		}
		if a := e.Auth; a != nil && (a.Released || a.Cred == nil) {
			k.auth = &authData{}
		} else if a != nil {
			cred, err := restoreCred(*a.Cred)
			if err != nil {
				return nil, nil, err
			}
			k.auth = &authData{cred: cred, callout: a.Callout, pid: a.PID}
			if k.auth.target, err = key(a.Target); err != nil {
				return nil, nil, err
			}
			if k.auth.dest, err = key(a.Dest); err != nil {
				return nil, nil, err
			}
		}
	}
	for i, e := range snap.Namespaces {
		ns := nss[i]
		var err error
		if ns.userReg, err = key(e.UserReg); err != nil {
			return nil, nil, err
		}
		if ns.persistentReg, err = key(e.PersistentReg); err != nil {
			return nil, nil, err
		}
		for _, n := range e.Names {
			for _, id := range n.Keys {
				k, err := key(id)
				if err != nil || k == nil || k.ring == nil || k.desc != n.Desc || k.ring.ns != ns {
					return nil, nil, fmt.Errorf("namespace %d publishes %q as key %d", i, n.Desc, id)
				}
				if k.ring.names != nil {
					return nil, nil, fmt.Errorf("namespace %d publishes key %d twice", i, id)
				}
				l := ns.names[n.Desc]
				if l == nil {
					l = &nameList{name: n.Desc}
					ns.names[n.Desc] = l
				}
				l.keys = append(l.keys, k)
				k.ring.names = l
			}
		}
	}
	for _, e := range snap.Users {
		u := s.users[e.UID]
		var err error
		if u.uidKeyring, err = key(e.UIDKeyring); err != nil {
			return nil, nil, err
		}
		if u.sessionKeyring, err = key(e.SessionKeyring); err != nil {
			return nil, nil, err
		}
	}
	named := make(map[string]*Cred, len(snap.Creds))
	for _, e := range snap.Creds {
		if _, dup := named[e.Name]; dup || e.Name == "" {
			return nil, nil, fmt.Errorf("credential name %q missing or repeated", e.Name)
		}
		c, err := restoreCred(e)
		if err != nil {
			return nil, nil, err
		}
		named[e.Name] = c
	}
	// Credentials per UID are counted by their records (legacy lifetime).
	perUID := map[UID]int{}
	for c := range s.creds {
		perUID[c.UID]++
	}
	for uid, u := range s.users {
		if u.creds != perUID[uid] {
			return nil, nil, fmt.Errorf("uid %d counts %d credentials, %d exist", uid, u.creds, perUID[uid])
		}
	}
	if err := s.CheckInvariants(); err != nil {
		return nil, nil, err
	}
	return s, named, nil
}

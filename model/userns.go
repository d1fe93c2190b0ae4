package model

// IDMapping is one line of a uid_map or gid_map: Count IDs starting at
// Inside in the namespace are Outside.. in the parent namespace.
type IDMapping struct {
	Inside, Outside, Count uint32
}

// UserNS is a user namespace: its ID maps, its register of user keyrings
// (R2.5), its persistent keyring register (R2.8) and its list of published
// keyring names (R2.7).
type UserNS struct {
	parent *UserNS
	owner  UID
	// uidMap and gidMap hold extents whose Outside is a kernel ID.
	uidMap, gidMap []IDMapping
	userReg        *Key
	persistentReg  *Key
	// names lists published keyrings by description in creation order;
	// last is the list publish used last.
	names map[string]*nameList
	last  *nameList
}

// Parent returns the parent namespace, nil for the initial one.
func (ns *UserNS) Parent() *UserNS { return ns.parent }

// Owner returns the kernel UID that created the namespace.
func (ns *UserNS) Owner() UID { return ns.owner }

// NewUserNS creates a child of parent owned by owner. The maps are given
// in the parent's IDs, as written to /proc/PID/uid_map: an empty extent
// fails EINVAL, one whose parent IDs have no kernel ID EPERM.
func (s *State) NewUserNS(parent *UserNS, owner UID, uidMap, gidMap []IDMapping) (*UserNS, error) {
	defer s.changed()
	ns := &UserNS{parent: parent, owner: owner, names: make(map[string]*nameList)}
	for _, m := range uidMap {
		if m.Count == 0 {
			return nil, EINVAL
		}
		k, ok := parent.MakeKUID(m.Outside)
		if !ok {
			return nil, EPERM
		}
		ns.uidMap = append(ns.uidMap, IDMapping{Inside: m.Inside, Outside: uint32(k), Count: m.Count})
	}
	for _, m := range gidMap {
		if m.Count == 0 {
			return nil, EINVAL
		}
		k, ok := parent.MakeKGID(m.Outside)
		if !ok {
			return nil, EPERM
		}
		ns.gidMap = append(ns.gidMap, IDMapping{Inside: m.Inside, Outside: uint32(k), Count: m.Count})
	}
	return ns, nil
}

func mapDown(m []IDMapping, id uint32) (uint32, bool) {
	for _, e := range m {
		if id >= e.Inside && id-e.Inside < e.Count {
			return e.Outside + (id - e.Inside), true
		}
	}
	return 0, false
}

func mapUp(m []IDMapping, id uint32) (uint32, bool) {
	for _, e := range m {
		if id >= e.Outside && id-e.Outside < e.Count {
			return e.Inside + (id - e.Outside), true
		}
	}
	return 0, false
}

// MakeKUID is make_kuid(): the kernel UID of uid as seen in ns.
func (ns *UserNS) MakeKUID(uid uint32) (UID, bool) {
	if uid == uint32(InvalidUID) {
		return InvalidUID, false
	}
	if ns.parent == nil {
		return UID(uid), true
	}
	k, ok := mapDown(ns.uidMap, uid)
	return UID(k), ok
}

// MakeKGID is make_kgid().
func (ns *UserNS) MakeKGID(gid uint32) (GID, bool) {
	if gid == uint32(InvalidGID) {
		return InvalidGID, false
	}
	if ns.parent == nil {
		return GID(gid), true
	}
	k, ok := mapDown(ns.gidMap, gid)
	return GID(k), ok
}

// FromKUID is from_kuid(): the UID ns sees for kuid, or false.
func (ns *UserNS) FromKUID(kuid UID) (uint32, bool) {
	if kuid == InvalidUID {
		return uint32(InvalidUID), false
	}
	if ns.parent == nil {
		return uint32(kuid), true
	}
	return mapUp(ns.uidMap, uint32(kuid))
}

// FromKGID is from_kgid().
func (ns *UserNS) FromKGID(kgid GID) (uint32, bool) {
	if kgid == InvalidGID {
		return uint32(InvalidGID), false
	}
	if ns.parent == nil {
		return uint32(kgid), true
	}
	return mapUp(ns.gidMap, uint32(kgid))
}

// uidMunged is from_kuid_munged(): unmapped shows as 65534 (R1.4).
func (ns *UserNS) uidMunged(kuid UID) uint32 {
	if v, ok := ns.FromKUID(kuid); ok {
		return v
	}
	return OverflowID
}

// gidMunged is from_kgid_munged().
func (ns *UserNS) gidMunged(kgid GID) uint32 {
	if v, ok := ns.FromKGID(kgid); ok {
		return v
	}
	return OverflowID
}

// publish adds a keyring to the namespace's name list (keyring_publish_name;
// R2.7): every keyring whose description does not start with '.'. The
// keyring keeps its list, for unpublish; the namespace keeps the list it
// last published in, since the same name comes back (every anonymous
// session keyring is a "_ses").
func (ns *UserNS) publish(k *Key) {
	if k.desc == "" || k.desc[0] == '.' {
		return
	}
	k.ring.ns = ns
	l := ns.last
	if l == nil || l.name != k.desc {
		if l = ns.names[k.desc]; l == nil {
			l = &nameList{name: k.desc}
			ns.names[k.desc] = l
		}
		ns.last = l
	}
	l.keys = append(l.keys, k)
	k.ring.names = l
}

// nameList is the keyrings published under one name. The map holds a
// pointer, so that publishing and unpublishing change the list in place.
type nameList struct {
	name string
	keys []*Key
}

// named returns the keyrings published under name, oldest first.
func (ns *UserNS) named(name string) []*Key {
	if l := ns.names[name]; l != nil {
		return l.keys
	}
	return nil
}

// unpublish removes k from its name's list, in place: the lists are only
// read under the lock, never while one is changed, and a name that keeps
// coming back keeps its capacity.
func (ns *UserNS) unpublish(k *Key) {
	l := k.ring.names
	if l == nil {
		return
	}
	k.ring.names = nil
	keys := l.keys
	for i, x := range keys {
		if x == k {
			// Element by element, in line: copy would call
			// typedslicecopy, and the later keyrings of a name are few.
			for j := i; j < len(keys)-1; j++ {
				keys[j] = keys[j+1]
			}
			keys[len(keys)-1] = nil
			l.keys = keys[:len(keys)-1]
			break
		}
	}
	if len(l.keys) == 0 {
		delete(ns.names, l.name)
		if ns.last == l {
			ns.last = nil
		}
	}
}

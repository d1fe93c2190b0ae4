package model

// permission is key_task_permission() (R6.2): pick the owner, group or
// other byte for c, OR in the possessor byte if the reference is possessed,
// and require need. No UID bypasses the mask (R6.3).
func (s *State) permission(c *Cred, k *Key, possessed bool, need Need) error {
	if need == NeedNone || need > NeedSetattr {
		return nil
	}
	granted := s.perm(c, k, possessed)&Perm(need) != 0
	if s.trace != nil {
		s.tracePermission(c, k, possessed, need, granted)
	}
	if !granted {
		return EACCES
	}
	return nil
}

// perm returns the effective "other"-aligned permission bits of c on k.
func (s *State) perm(c *Cred, k *Key, possessed bool) Perm {
	kperm := k.perm
	var p Perm
	switch {
	case k.uid == c.FSUID:
		p = kperm >> 16
	case k.gid != InvalidGID && kperm&KEY_GRP_ALL != 0 && c.inGroup(k.gid):
		// R6.2: a zero group byte lets members fall through to other.
		p = kperm >> 8
	default:
		p = kperm
	}
	if possessed {
		p |= kperm >> 24
	}
	return p & KEY_OTH_ALL
}

// permitted reports whether permission grants need where that is settled
// in line: need asks for no check (NeedNone, an override), or c owns k and
// the owner's permission, with the possessor's if possessed, grants need,
// while nothing is traced. It is the common case of permission, small
// enough to be inlined where a lookup or a search asks for every key;
// when it reports false, permission decides.
func (s *State) permitted(c *Cred, k *Key, possessed bool, need Need) bool {
	if need == NeedNone || need > NeedSetattr {
		return true
	}
	p := k.perm >> 16
	if possessed {
		p |= p >> 8
	}
	return k.uid == c.FSUID && s.trace == nil && p&Perm(need) != 0
}

package model

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// CheckInvariants verifies the State's internal consistency and returns the
// first violation found:
//   - no key waits for a writer's turn to end to be destroyed (SetShared),
//     so check between turns;
//   - every key in the serial index is alive and indexed under its serial;
//   - every keyring entry is indexed by its key's type and description and
//     points to a live key;
//   - a key's count of keyrings linking it is the number that do (unless
//     it saturated), and the parent it records links it;
//   - usage counts equal the references held: links, credentials,
//     authorisation keys, restrictions, registers and legacy UID records;
//   - every quota record's counters equal the sum of its keys' charges, and
//     each key's charge is strlen(description)+1 plus its datalen (R7.4);
//   - a keyring is charged at least 4 bytes per link (more once the
//     collector has unlinked keys from it), and its 16-bit datalen is that
//     charge modulo 2^16 (R7.4);
//   - no keyring is reachable from itself.
func (s *State) CheckInvariants() error {
	if len(s.dying) > 0 {
		return fmt.Errorf("%d keys wait for the writer's turn to end to be destroyed", len(s.dying))
	}
	if err := s.serials.check(); err != nil {
		return err
	}
	refs := make(map[*Key]int32)
	addRef := func(k *Key) {
		if k != nil {
			refs[k]++
		}
	}
	parents := make(map[*Key]int)
	parentLinks := make(map[*Key]bool)
	type counts struct{ nkeys, nikeys, qnkeys, qnbytes int }
	perUser := make(map[*UserRecord]*counts)
	var err error
	fail := func(format string, args ...any) bool {
		err = fmt.Errorf(format, args...)
		return false
	}
	s.ascendSerials(func(k *Key) bool {
		if !k.alive() {
			return fail("key %d (%s) has usage %d but is still indexed", k.serial, k.desc, k.usage)
		}
		c := perUser[k.user]
		if c == nil {
			c = &counts{}
			perUser[k.user] = c
		}
		c.nkeys++
		if k.state != stateUninstantiated {
			c.nikeys++
		}
		if k.has(flagInQuota) {
			c.qnkeys++
			c.qnbytes += int(k.quotalen)
			if k.ring != nil {
				// R7.4: a keyring's charge is its links' 4 bytes (and
				// those the collector left behind); its datalen is that
				// modulo 2^16, the width of key->datalen.
				if charged := int(k.quotalen) - len(k.desc) - 1; charged < linkBytes*k.nlinks() || uint16(charged) != uint16(k.datalen) {
					return fail("keyring %d (%s) charges %d bytes for %d links, datalen %d", k.serial, k.desc, charged, k.nlinks(), k.datalen)
				}
			} else if want := len(k.desc) + 1 + int(k.datalen); int(k.quotalen) != want {
				return fail("key %d (%s) charges %d bytes, want %d", k.serial, k.desc, k.quotalen, want)
			}
		}
		if k.ring != nil {
			if k.datalen%linkBytes != 0 {
				return fail("keyring %d (%s) datalen %d with %d links", k.serial, k.desc, k.datalen, k.nlinks())
			}
			if len(k.ring.links.small) > smallLinks || (k.ring.links.big != nil && k.ring.links.small != nil) {
				return fail("keyring %d index holds %d entries in its slice", k.serial, len(k.ring.links.small))
			}
			if err := k.ring.links.big.check(); err != nil {
				return fail("keyring %d index: %v", k.serial, err)
			}
			if b := k.ring.links.big; b != nil && b.n <= smallLinks {
				return fail("keyring %d index is a table of %d entries", k.serial, b.n)
			}
			if b := k.ring.links.idle; b != nil && (b.n != 0 || b.pos.len() != 0) {
				return fail("keyring %d keeps a table of %d entries for its growth", k.serial, b.n)
			}
			if l := k.ring.names; l != nil && (k.ring.ns == nil || k.ring.ns.names[k.desc] != l || !slices.Contains(l.keys, k)) {
				return fail("keyring %d (%s) is not in the name list it records", k.serial, k.desc)
			}
			if x := &k.ring.links; x.big == nil && x.seen != x.seenBits() {
				return fail("keyring %d index has seen bits %#x for entries of bits %#x", k.serial, x.seen, x.seenBits())
			}
			var prev *link
			k.ring.links.Ascend(func(l link) bool {
				if prev != nil && k.ring.links.big == nil && !linkLess(*prev, l) {
					return fail("keyring %d index has %#x:%s before %#x:%s", k.serial, prev.ix, prev.desc, l.ix, l.desc)
				}
				prev = &l
				if l != mkLink(l.key.typ, l.key.desc, l.key) {
					return fail("keyring %d has %s:%s indexed as %#x:%s", k.serial, l.key.typ.Name, l.key.desc, l.ix, l.desc)
				}
				if s.serials.get(l.key.serial) != l.key || !l.key.alive() {
					return fail("keyring %d links dead key %d (%s)", k.serial, l.key.serial, l.key.desc)
				}
				addRef(l.key)
				parents[l.key]++
				if l.key.parent == k {
					parentLinks[l.key] = true
				}
				return true
			})
			if r := k.ring.restrict; r != nil {
				addRef(r.chainTo)
			}
		} else if k.auth == nil && int(k.datalen) != len(k.payload) {
			return fail("key %d (%s) datalen %d, payload %d bytes", k.serial, k.desc, k.datalen, len(k.payload))
		}
		if a := k.auth; a != nil {
			addRef(a.target)
			addRef(a.dest)
		}
		return true
	})
	if err != nil {
		return err
	}
	for c := range s.creds {
		addRef(c.thread)
		addRef(c.process)
		addRef(c.session)
		addRef(c.auth)
	}
	for _, ns := range s.namespaces() {
		addRef(ns.userReg)
		addRef(ns.persistentReg)
		for name, l := range ns.names {
			if l.name != name || len(l.keys) == 0 {
				return fmt.Errorf("name list %q is named %q and holds %d keyrings", name, l.name, len(l.keys))
			}
			for _, k := range l.keys {
				if k.ring == nil || k.ring.names != l || k.ring.ns != ns || k.desc != name {
					return fmt.Errorf("name list %q holds key %d (%s), which does not record it", name, k.serial, k.desc)
				}
			}
		}
		if l := ns.last; l != nil && ns.names[l.name] != l {
			return fmt.Errorf("the last name list published in, %q, is not the namespace's", l.name)
		}
	}
	for _, u := range s.users {
		addRef(u.uidKeyring)
		addRef(u.sessionKeyring)
	}
	var bad []string
	s.ascendSerials(func(k *Key) bool {
		if k.nparents != math.MaxUint16 && int(k.nparents) != parents[k] {
			bad = append(bad, fmt.Sprintf("key %d (%s) counts %d parent keyrings, %d link it", k.serial, k.desc, k.nparents, parents[k]))
		}
		if k.parent != nil && !parentLinks[k] {
			bad = append(bad, fmt.Sprintf("key %d (%s) records keyring %d as a parent, which does not link it", k.serial, k.desc, k.parent.serial))
		}
		if refs[k] != k.usage {
			bad = append(bad, fmt.Sprintf("key %d (%s) usage %d, references %d", k.serial, k.desc, k.usage, refs[k]))
		}
		return true
	})
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	for u, c := range perUser {
		if u.nkeys != c.nkeys || u.nikeys != c.nikeys || u.qnkeys != c.qnkeys || u.qnbytes != c.qnbytes {
			return fmt.Errorf("uid %d counts %d/%d %d/%d, keys add up to %d/%d %d/%d",
				u.uid, u.nkeys, u.nikeys, u.qnkeys, u.qnbytes, c.nkeys, c.nikeys, c.qnkeys, c.qnbytes)
		}
	}
	for _, u := range s.users {
		if perUser[u] == nil && (u.nkeys != 0 || u.qnkeys != 0 || u.qnbytes != 0) {
			return fmt.Errorf("uid %d has counts %d %d/%d with no keys", u.uid, u.nkeys, u.qnkeys, u.qnbytes)
		}
	}
	if u := s.lastUser; u != nil && s.users[u.uid] != u {
		return fmt.Errorf("the last user record given, uid %d's, is not the register's", u.uid)
	}
	return s.checkAcyclic()
}

// checkAcyclic verifies that no keyring reaches itself (R5.5a).
func (s *State) checkAcyclic() error {
	const (
		white = iota
		grey
		black
	)
	color := make(map[*Key]int)
	var visit func(k *Key) error
	visit = func(k *Key) error {
		color[k] = grey
		var err error
		k.eachChildKeyring(func(child *Key) bool {
			switch color[child] {
			case grey:
				err = fmt.Errorf("keyring cycle through %d (%s)", child.serial, child.desc)
				return false
			case white:
				err = visit(child)
				return err == nil
			}
			return true
		})
		color[k] = black
		return err
	}
	var err error
	s.ascendSerials(func(k *Key) bool {
		if k.ring != nil && color[k] == white {
			err = visit(k)
		}
		return err == nil
	})
	return err
}

// namespaces returns every user namespace a live credential or key refers
// to, the initial one first.
func (s *State) namespaces() []*UserNS {
	seen := map[*UserNS]bool{s.initNS: true}
	out := []*UserNS{s.initNS}
	add := func(ns *UserNS) {
		for ; ns != nil && !seen[ns]; ns = ns.parent {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	for c := range s.creds {
		add(c.NS)
	}
	s.ascendSerials(func(k *Key) bool {
		if k.ring != nil {
			add(k.ring.ns)
		}
		return true
	})
	return out
}

// Dump renders every key, link and quota record in a canonical text form,
// for comparing two States or one State before and after a call.
func (s *State) Dump() string {
	var b strings.Builder
	s.ascendSerials(func(k *Key) bool {
		fmt.Fprintf(&b, "%d %s %q uid=%d gid=%d perm=%s flags=%x state=%d/%d usage=%d expiry=%d datalen=%d quota=%d payload=%q",
			k.serial, k.typ.Name, k.desc, k.uid, k.gid, k.perm.Hex(), k.flags, k.state, k.rejectErr, k.usage, k.expiry, k.datalen, k.quotalen, k.payload)
		if k.ring != nil {
			var ids []int
			k.eachLink(func(l *Key) bool {
				ids = append(ids, int(l.serial))
				return true
			})
			sort.Ints(ids)
			fmt.Fprintf(&b, " links=%v", ids)
			if k.ring.restrict != nil {
				b.WriteString(" restricted")
			}
		}
		b.WriteByte('\n')
		return true
	})
	uids := make([]int, 0, len(s.users))
	for uid := range s.users {
		uids = append(uids, int(uid))
	}
	sort.Ints(uids)
	for _, uid := range uids {
		u := s.users[UID(uid)]
		fmt.Fprintf(&b, "user %d: %d/%d %d/%d\n", uid, u.nkeys, u.nikeys, u.qnkeys, u.qnbytes)
	}
	return b.String()
}

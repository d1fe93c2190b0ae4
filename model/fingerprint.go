package model

import (
	"encoding/binary"
	"sort"
)

// AppendFingerprint appends to b a compact binary encoding of everything
// Dump shows (every key with its fields, payload and links, and every quota
// record) and returns the extended slice. Two States have equal
// fingerprints exactly when their Dumps are equal; it costs a fraction of
// Dump, for tests that compare a State before and after every call.
func (s *State) AppendFingerprint(b []byte) []byte {
	b = binary.AppendVarint(b, int64(s.serials.n))
	var links []int
	s.ascendSerials(func(k *Key) bool {
		b, links = appendKeyFingerprint(b, k, links)
		return true
	})
	uids := make([]int, 0, len(s.users))
	for uid := range s.users {
		uids = append(uids, int(uid))
	}
	sort.Ints(uids)
	b = binary.AppendVarint(b, int64(len(uids)))
	for _, uid := range uids {
		u := s.users[UID(uid)]
		for _, v := range [...]int{uid, u.nkeys, u.nikeys, u.qnkeys, u.qnbytes} {
			b = binary.AppendVarint(b, int64(v))
		}
	}
	return b
}

// appendKeyFingerprint appends k's part of AppendFingerprint; links is
// scratch space, returned for reuse.
func appendKeyFingerprint(b []byte, k *Key, links []int) ([]byte, []int) {
	for _, v := range [...]int64{int64(k.serial), int64(len(k.typ.Name))} {
		b = binary.AppendVarint(b, v)
	}
	b = append(b, k.typ.Name...)
	b = binary.AppendVarint(b, int64(len(k.desc)))
	b = append(b, k.desc...)
	for _, v := range [...]int64{int64(k.uid), int64(k.gid), int64(k.perm), int64(k.flags), int64(k.state), int64(k.rejectErr),
		int64(k.usage), k.expiry, int64(k.datalen), int64(k.quotalen), int64(len(k.payload))} {
		b = binary.AppendVarint(b, v)
	}
	b = append(b, k.payload...)
	if k.ring == nil {
		return binary.AppendVarint(b, -1), links
	}
	links = links[:0]
	k.eachLink(func(l *Key) bool {
		links = append(links, int(l.serial))
		return true
	})
	sort.Ints(links)
	b = binary.AppendVarint(b, int64(len(links)))
	for _, l := range links {
		b = binary.AppendVarint(b, int64(l))
	}
	if k.ring.restrict != nil {
		return append(b, 1), links
	}
	return append(b, 0), links
}

package model

import (
	"testing"

	"pgregory.net/rapid"
)

// permitted, the shortcut that lookups and searches take before
// permission, grants nothing that permission refuses, and all that it
// grants to a key's owner, or where no check is needed.
func TestPermittedAgreesWithPermission(t *testing.T) {
	s := New(Config{})
	rapid.Check(t, func(t *rapid.T) {
		ids := rapid.SampledFrom([]uint32{0, 1000, 1001})
		permByte := rapid.IntRange(0, 0x3f)
		c := &Cred{FSUID: UID(ids.Draw(t, "fsuid")), FSGID: GID(ids.Draw(t, "fsgid"))}
		k := &Key{
			uid: UID(ids.Draw(t, "uid")),
			gid: GID(ids.Draw(t, "gid")),
			perm: Perm(permByte.Draw(t, "possessor"))<<24 | Perm(permByte.Draw(t, "user"))<<16 |
				Perm(permByte.Draw(t, "group"))<<8 | Perm(permByte.Draw(t, "other")),
		}
		possessed := rapid.Bool().Draw(t, "possessed")
		need := rapid.SampledFrom([]Need{NeedNone, NeedView, NeedRead, NeedWrite, NeedSearch, NeedLink, NeedSetattr,
			needUnlink, needDeferPerm, needAuthOverride}).Draw(t, "need")
		quick, full := s.permitted(c, k, possessed, need), s.permission(c, k, possessed, need) == nil
		if quick && !full {
			t.Fatalf("permitted grants %v on perm %08x to uid %d (key uid %d), permission refuses", need, uint32(k.perm), c.FSUID, k.uid)
		}
		if settled := k.uid == c.FSUID || need == NeedNone || need > NeedSetattr; settled && quick != full {
			t.Fatalf("uid %d asks %v of key of uid %d, perm %08x, possessed %v: permitted %v, permission %v",
				c.FSUID, need, k.uid, uint32(k.perm), possessed, quick, full)
		}
	})
}

package model

import (
	"testing"

	"pgregory.net/rapid"
)

// ownerGrants, the shortcut that lookups and searches take before
// permission, grants nothing that permission refuses, and all that it
// grants to a key's owner with nothing traced.
func TestOwnerGrantsAgreesWithPermission(t *testing.T) {
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
		quick, full := s.ownerGrants(c, k, possessed, need), s.permission(c, k, possessed, need) == nil
		if quick && !full {
			t.Fatalf("ownerGrants grants %v on perm %08x to uid %d (key uid %d), permission refuses", need, uint32(k.perm), c.FSUID, k.uid)
		}
		if owner := k.uid == c.FSUID; owner && need >= NeedView && need <= NeedSetattr && quick != full {
			t.Fatalf("owner asks %v on perm %08x, possessed %v: ownerGrants %v, permission %v", need, uint32(k.perm), possessed, quick, full)
		}
	})
}

package model

import (
	"fmt"
	"slices"
	"testing"
)

// A search plan lists the keyrings descend() enters, depth first, each
// keyring's children in index order: not those the searcher may not search
// (R4.3c), not revoked ones (R4.3d), none below depth 6 (R4.3c). It follows
// changes of links between keyrings, and searches through it find what the
// walk finds, with or without CheckCaches comparing the two. Listing the
// keyrings entered finds no key on the way, whatever the descriptions.
func TestSearchPlan(t *testing.T) {
	for _, check := range []bool{false, true} {
		t.Run(fmt.Sprintf("CheckCaches=%v", check), func(t *testing.T) {
			s := New(Config{Seed: 11, CheckCaches: check})
			c := s.NewCred(1000, 1000, nil, s.InitNS())
			if _, err := s.JoinSessionKeyring(c, NullStr); err != nil {
				t.Fatal(err)
			}
			add := func(typ, desc string, dest int32) int32 {
				t.Helper()
				var payload []byte
				if typ == "user" {
					payload = []byte("v")
				}
				id, err := s.AddKey(c, Str(typ), Str(desc), Buf(payload), dest)
				if err != nil {
					t.Fatalf("AddKey(%s, %s) = %v", typ, desc, err)
				}
				return int32(id)
			}
			// @s -> a -> a1 .. a7 (a chain); @s -> locked (no search
			// permission) -> hidden; @s -> revoked -> gone. A description
			// with a NUL, which no C string carries but the model's API
			// can, is an entry like any other.
			add("user", "\x00", specSession)
			a := add("keyring", "a", specSession)
			chain := []int32{a}
			for i := 1; i <= 7; i++ {
				chain = append(chain, add("keyring", fmt.Sprintf("a%d", i), chain[i-1]))
			}
			locked := add("keyring", "locked", specSession)
			add("keyring", "hidden", locked)
			noSearch := defaultPerm(TypeKeyring) &^ (KEY_POS_SEARCH | KEY_USR_SEARCH | KEY_GRP_SEARCH | KEY_OTH_SEARCH)
			if _, err := s.Setperm(c, locked, uint32(noSearch)); err != nil {
				t.Fatal(err)
			}
			revoked := add("keyring", "revoked", specSession)
			add("keyring", "gone", revoked)
			if _, err := s.Revoke(c, revoked); err != nil {
				t.Fatal(err)
			}

			// The first search from a root under a State.gen walks; the
			// second makes the plan.
			plan := func() []string {
				t.Helper()
				rings, ok := s.plan(c, c.session, true)
				if !ok {
					if rings, ok = s.plan(c, c.session, true); !ok {
						t.Fatal("no plan when asked for a second time")
					}
				}
				var got []string
				for _, r := range rings {
					got = append(got, fmt.Sprintf("%s@%d", r.ring.desc, r.depth))
				}
				return got
			}
			session := c.session.desc
			want := []string{session + "@0", "a@1", "a1@2", "a2@3", "a3@4", "a4@5", "a5@6"}
			if got := plan(); !slices.Equal(got, want) {
				t.Fatalf("plan = %v, want %v", got, want)
			}

			// Possessed through a1, so readable (R4.7): the list of
			// keyrings possession looks in is made the same way.
			inA1 := add("user", "in-a1", chain[1])
			if _, err := s.Read(c, inA1, Buf(make([]byte, 8))); err != nil {
				t.Fatalf("read of a key in a1 = %v", err)
			}

			search := func(desc string) error {
				_, err := s.Search(c, specSession, Str("user"), Str(desc), 0)
				return err
			}
			add("user", "deepest", chain[5])  // in a5, at depth 6
			add("user", "too-deep", chain[6]) // in a6, at depth 7
			if err := search("deepest"); err != nil {
				t.Fatalf("search at depth 6 = %v", err)
			}
			if err := search("too-deep"); err != ENOKEY {
				t.Fatalf("search at depth 7 = %v, want ENOKEY", err)
			}

			// A keyring linked in a is entered after a's chain; the same
			// search, repeated, now finds a key in it.
			b := add("keyring", "b", a)
			add("user", "in-b", b)
			want = []string{session + "@0", "a@1", "a1@2", "a2@3", "a3@4", "a4@5", "a5@6", "b@2"}
			if got := plan(); !slices.Equal(got, want) {
				t.Fatalf("plan after linking b = %v, want %v", got, want)
			}
			if err := search("in-b"); err != nil {
				t.Fatalf("search in b = %v", err)
			}
			if _, err := s.Unlink(c, b, a); err != nil {
				t.Fatal(err)
			}
			if err := search("in-b"); err != ENOKEY {
				t.Fatalf("search after unlinking b = %v, want ENOKEY", err)
			}
		})
	}
}

package model

import (
	"strconv"
	"testing"
)

// R7.4: key->datalen is 16 bits wide. Linking more than 16383 keys into a
// keyring wraps it, and clearing the keyring then refunds only the wrapped
// remainder of the link charges (measured on 6.18: 393,216 bytes stay
// charged after clearing a keyring of 100,000 links, that is 400,000 -
// 400,000 mod 65,536).
func TestKeyringDatalenWraps(t *testing.T) {
	s := New(Config{})
	c := s.NewCred(0, 0, nil, s.InitNS())
	if _, err := s.JoinSessionKeyring(c, NullStr); err != nil {
		t.Fatal(err)
	}
	ring, err := s.AddKey(c, Str("keyring"), Str("big"), Buf(nil), -3)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := s.UserRecord(0)
	_, before := root.Quota()
	const n = 100000
	descBytes := 0
	for i := 0; i < n; i++ {
		d := "k" + strconv.Itoa(i)
		descBytes += len(d) + 1 + 1
		if _, err := s.AddKey(c, Str("user"), Str(d), Buf([]byte("v")), int32(ring)); err != nil {
			t.Fatalf("add_key %d: %v", i, err)
		}
	}
	if _, err := s.Clear(c, int32(ring)); err != nil {
		t.Fatal(err)
	}
	_, after := root.Quota()
	if got, want := after-before, 4*n-(4*n)%65536; got != want {
		t.Errorf("root's bytes after clearing a %d-link keyring: +%d, want +%d", n, got, want)
	}
	if err := s.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

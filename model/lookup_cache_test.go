package model

import "testing"

// A serial looked up lately is found again from the cred's cache only while
// its key lives and its possession stands: the key's last unlink destroys
// it (R8.3) and the next lookup fails ENOKEY; moving it out of the
// thread's keyrings ends possession (R4.7).
func TestLookedUpLatelyEnds(t *testing.T) {
	s := New(Config{Seed: 9})
	c := s.NewCred(1000, 1000, nil, s.InitNS())
	if _, err := s.JoinSessionKeyring(c, NullStr); err != nil {
		t.Fatal(err)
	}
	other := s.NewCred(1000, 1000, nil, s.InitNS())
	if _, err := s.JoinSessionKeyring(other, NullStr); err != nil {
		t.Fatal(err)
	}
	add := func(desc string, perm Perm) int32 {
		t.Helper()
		id, err := s.AddKey(c, Str("user"), Str(desc), Buf([]byte("v")), specSession)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Setperm(c, int32(id), uint32(perm)); err != nil {
			t.Fatal(err)
		}
		return int32(id)
	}
	read := func(id int32) error {
		_, err := s.Read(c, id, Buf(make([]byte, 8)))
		return err
	}

	// Destroyed by its last unlink: gone, though nothing else changed.
	gone := add("gone", 0x3f010000)
	if err := read(gone); err != nil {
		t.Fatalf("read = %v", err)
	}
	if _, err := s.Unlink(c, gone, specSession); err != nil {
		t.Fatal(err)
	}
	if err := read(gone); err != ENOKEY {
		t.Fatalf("read of a destroyed key = %v, want ENOKEY", err)
	}

	// Readable only by its possessor: once only another thread's session
	// links it, it is no longer possessed, and reading it fails EACCES.
	moved := add("moved", 0x3f190000)
	if err := read(moved); err != nil {
		t.Fatalf("read = %v", err)
	}
	if _, err := s.Link(other, moved, specSession); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unlink(c, moved, specSession); err != nil {
		t.Fatal(err)
	}
	if err := read(moved); err != EACCES {
		t.Fatalf("read of a key no longer possessed = %v, want EACCES", err)
	}
}

// The possession cache keeps the answers that took a search (a keyring's)
// while answers about other keys come and go, and gives way to them only
// when every answer it holds took a search, one place at a time.
func TestPossessionCacheKeepsSearchedAnswers(t *testing.T) {
	keyring := func() *Key { return &Key{typ: TypeKeyring, lgen: 1} }
	user := func() *Key { return &Key{typ: TypeUser, lgen: 1} }
	var p possCache
	ring := keyring()
	p.put(1, ring, true)
	for range 10 {
		p.put(1, user(), false)
	}
	if v, ok := p.get(1, ring); !ok || !v {
		t.Fatalf("the keyring's answer is %v, %v after ten other keys; want true, true", v, ok)
	}
	rings := []*Key{keyring(), keyring(), keyring(), keyring()}
	for _, r := range rings {
		p.put(1, r, true)
	}
	for range 10 {
		p.put(1, user(), false)
	}
	kept := 0
	for _, r := range append(rings, ring) {
		if _, ok := p.get(1, r); ok {
			kept++
		}
	}
	if kept != 3 {
		t.Fatalf("%d keyrings' answers kept after ten other keys; want 3 (one place for the others)", kept)
	}
}

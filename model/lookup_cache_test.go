package model

import "testing"

// A serial looked up lately is found again from the cred's cache only while
// its key lives and its possession stands: the key's last unlink destroys
// it (R8.3) and the next lookup fails ENOKEY; moving it out of the
// thread's keyrings ends possession (R4.7).
func TestCachedLookupEnds(t *testing.T) {
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
// however many answers about other keys come and go, keeps each answer
// until its gen or its key's links end it, and holds the answers about a
// handful of keys at once.
func TestPossessionCacheKeepsSearchedAnswers(t *testing.T) {
	serial := Serial(1000)
	newKey := func(typ *KeyType) *Key {
		serial += 7919
		return &Key{typ: typ, serial: serial, lgen: 1, usage: 1}
	}
	var p possCache
	ring := newKey(TypeKeyring)
	p.put(1, ring, true)
	for range 1000 {
		p.put(1, newKey(TypeUser), false)
	}
	if v, ok := p.get(1, ring); !ok || !v {
		t.Fatalf("the keyring's answer is %v, %v after 1000 other keys; want true, true", v, ok)
	}
	if e := p.bySerial(1, ring.serial); e == nil || e.key != ring || !e.val {
		t.Fatalf("bySerial(keyring) = %+v; want the keyring's answer, true", e)
	}
	if _, ok := p.get(2, ring); ok {
		t.Fatal("an answer under an older gen was given")
	}

	users := make([]*Key, 8)
	for i := range users {
		users[i] = newKey(TypeUser)
		p.put(2, users[i], i%2 == 0)
	}
	for i, k := range users {
		if v, ok := p.get(2, k); !ok || v != (i%2 == 0) {
			t.Fatalf("user key %d's answer is %v, %v; want %v, true", i, v, ok, i%2 == 0)
		}
	}
	users[3].lgen++
	if _, ok := p.get(2, users[3]); ok {
		t.Fatal("an answer was given after the key's links changed")
	}
	// bySerial gives the entry for knownKey to work the answer out
	// again, but not once the key's memory is another key's.
	if e := p.bySerial(2, users[3].serial); e == nil || e.key != users[3] || e.lgen == users[3].lgen {
		t.Fatalf("bySerial after the key's links changed = %+v; want its entry with the old lgen", e)
	}
	users[3].serial++
	if e := p.bySerial(2, users[3].serial-1); e != nil {
		t.Fatalf("bySerial gave the entry of a key whose memory is another key's: %+v", e)
	}
}

// Working out again which keyrings a possession search enters, after a
// change, allocates nothing of its own: the search's context and trace
// function live in the cred's cache. The one allocation left is the
// session keyring's list of child keyrings, made again for the new gen.
func TestReachRebuildAllocatesNothing(t *testing.T) {
	s := New(Config{Seed: 9})
	c := s.NewCred(1000, 1000, nil, s.InitNS())
	if _, err := s.JoinSessionKeyring(c, NullStr); err != nil {
		t.Fatal(err)
	}
	id, err := s.AddKey(c, Str("user"), Str("k"), Buf([]byte("v")), specSession)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := s.KeyBySerial(Serial(id))
	allocs := testing.AllocsPerRun(100, func() {
		s.changed()
		if !s.reachPossessed(c, k) {
			t.Fatal("the key in the session keyring is not possessed")
		}
	})
	if allocs > 1 {
		t.Fatalf("a rebuild of the reach list allocates %v times; want at most 1", allocs)
	}
}

// The possession cache grows when answers that still stand are pushed out,
// up to possMaxBits, keeping them as it does; a cred that asks about a few
// keys, or whose answers end before they are pushed out, keeps the small
// table.
func TestPossessionCacheGrows(t *testing.T) {
	// Serials as the serial index hands them out: random-looking.
	perm := newSerialPerm(1)
	keys := make([]*Key, 1500)
	for i := range keys {
		keys[i] = &Key{typ: TypeUser, serial: Serial(perm.fwd(uint32(i + 1))), lgen: 1, usage: 1}
	}
	var p possCache
	for range 100 {
		for _, k := range keys[:8] {
			p.put(1, k, true)
		}
	}
	if len(p.sets) != 1<<possMinBits {
		t.Fatalf("a cred asking about 8 keys has %d sets; want %d", len(p.sets), 1<<possMinBits)
	}
	for gen := range uint64(30) {
		for _, k := range keys[gen*50 : gen*50+50] {
			p.put(gen+2, k, true)
		}
	}
	if len(p.sets) != 1<<possMinBits {
		t.Fatalf("a cred whose answers end after each round has %d sets; want %d", len(p.sets), 1<<possMinBits)
	}
	ring := &Key{typ: TypeKeyring, serial: 17, lgen: 1, usage: 1}
	p.put(50, ring, true)
	for range 20 {
		for _, k := range keys {
			p.put(50, k, k.serial%3 == 0)
		}
	}
	if len(p.sets) != 1<<possMaxBits {
		t.Fatalf("a cred asking about %d keys in turn has %d sets; want %d", len(keys), len(p.sets), 1<<possMaxBits)
	}
	if v, ok := p.get(50, ring); !ok || !v {
		t.Fatalf("the keyring's answer after the table grew is %v, %v; want true, true", v, ok)
	}
	held := 0
	for _, k := range keys {
		if v, ok := p.get(50, k); ok {
			if v != (k.serial%3 == 0) {
				t.Fatalf("key %d's answer is %v; want %v", k.serial, v, k.serial%3 == 0)
			}
			held++
		}
	}
	if held < len(keys)*3/4 {
		t.Fatalf("the grown table holds %d of the %d answers; want at least %d", held, len(keys), len(keys)*3/4)
	}
}

package model

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// knownWorld is a cred with a session keyring that links the user key "k"
// and the keyring "ring", which links the user key "n", with every lookup
// below asked once the long way, as the shared path would have asked it
// first: the cred has cached the possession of the keys and the session
// keyring, and the search plan of the session keyring.
type knownWorld struct {
	s                   *State
	c                   *Cred
	session, k, ring, n int32
}

func newKnownWorld(t *testing.T) *knownWorld {
	t.Helper()
	s, c, k := sessionUserKey(t, Config{Seed: 5}, "k")
	w := &knownWorld{s: s, c: c, k: k}
	session, err := s.GetKeyringID(c, specSession, false)
	require.NoError(t, err)
	w.session = int32(session)
	ring, err := s.AddKey(c, Str("keyring"), Str("ring"), Buf(nil), specSession)
	require.NoError(t, err)
	w.ring = int32(ring)
	n, err := s.AddKey(c, Str("user"), Str("n"), Buf([]byte("nested")), w.ring)
	require.NoError(t, err)
	w.n = int32(n)
	w.prime()
	return w
}

// prime asks the long way what the tests ask in one step, twice, so that
// a search plan is made.
func (w *knownWorld) prime() {
	for range 2 {
		for _, id := range []int32{w.k, w.n} {
			w.s.Read(w.c, id, NullBuf(0))
			w.s.Describe(w.c, id, NullBuf(0))
		}
		for _, d := range []string{"k", "n", "missing"} {
			w.s.Search(w.c, w.session, Str("user"), Str(d), 0)
			w.s.RequestKeyShared(w.c, Str("user"), Str(d), NullStr, 0)
		}
	}
}

func (w *knownWorld) read(id int32) (int, []byte, bool) {
	buf := make([]byte, 16)
	n, _, ok := w.s.ReadKnown(w.c, id, buf)
	return n, buf[:min(n, len(buf))], ok
}

func (w *knownWorld) describe(id int32) (string, bool) {
	var f describeText
	if !w.s.describeKnown(w.c, id, &f) {
		return "", false
	}
	b := make([]byte, f.len())
	f.put(b)
	return string(b), true
}

func (w *knownWorld) search(desc string) (int, error, bool) {
	typ, d := Str("user"), Str(desc)
	return w.s.SearchKnown(w.c, w.session, &typ, &d)
}

func (w *knownWorld) request(desc string, callout UStr) (int, error, bool) {
	typ, d := Str("user"), Str(desc)
	return w.s.RequestKnown(w.c, &typ, &d, &callout)
}

// The common lookups are settled in one step, with the long way's
// answers: a read, a describe, a search hit in the keyring and in a
// keyring it links,
// a search miss, request_key hits, with a callout or without, and a miss
// without one. A miss with a callout is left to the long way.
func TestKnownLookupsSettleTheCommonCase(t *testing.T) {
	w := newKnownWorld(t)
	n, payload, ok := w.read(w.n)
	require.True(t, ok, "read")
	require.Equal(t, 6, n)
	require.Equal(t, "nested", string(payload))
	text, ok := w.describe(w.n)
	require.True(t, ok, "describe")
	require.Equal(t, "user;1000;1000;3f010000;n", text)

	for desc, want := range map[string]int32{"k": w.k, "n": w.n} {
		r, err, ok := w.search(desc)
		require.True(t, ok, "search for %q", desc)
		require.NoError(t, err)
		require.Equal(t, int(want), r)
		r, err, ok = w.request(desc, NullStr)
		require.True(t, ok, "request_key for %q", desc)
		require.NoError(t, err)
		require.Equal(t, int(want), r)
	}
	_, err, ok := w.search("missing")
	require.True(t, ok)
	require.Equal(t, ENOKEY, err)
	_, err, ok = w.request("missing", NullStr)
	require.True(t, ok)
	require.Equal(t, ENOKEY, err)
	_, _, ok = w.request("missing", Str("info"))
	require.False(t, ok, "a miss with a callout makes a key")
	for _, callout := range []string{"", "info"} {
		r, err, ok := w.request("k", Str(callout))
		require.True(t, ok, "a hit with callout %q", callout)
		require.NoError(t, err)
		require.Equal(t, int(w.k), r)
	}
	long := make([]byte, pageSize)
	_, _, ok = w.request("k", Str(string(long)))
	require.False(t, ok, "a callout longer than a page")
}

// A buffer too small for the payload gets nothing, and the payload's size.
func TestReadKnownShortBuffer(t *testing.T) {
	w := newKnownWorld(t)
	buf := []byte("xyz")
	n, _, ok := w.s.ReadKnown(w.c, w.n, buf)
	require.True(t, ok)
	require.Equal(t, 6, n)
	require.Equal(t, "xyz", string(buf))
	n, _, ok = w.s.ReadKnown(w.c, w.n, nil)
	require.True(t, ok)
	require.Equal(t, 6, n)
}

// Whatever is not the common case is left to the long way: each change
// below makes a lookup that was settled in one step unsettled, with the
// caches made again, and the long way gives the kernel's answer.
func TestKnownLookupsDeclineTheRest(t *testing.T) {
	search := func(desc string) func(w *knownWorld) error {
		return func(w *knownWorld) error {
			_, err := w.s.Search(w.c, w.session, Str("user"), Str(desc), 0)
			return err
		}
	}
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, w *knownWorld)
		// lookup is the call that must not be settled in one step;
		// long is the long way's, which must answer want.
		lookup func(w *knownWorld) bool
		long   func(w *knownWorld) error
		want   error
	}{
		{"revoked key read", func(t *testing.T, w *knownWorld) {
			_, err := w.s.Revoke(w.c, w.n)
			require.NoError(t, err)
		}, func(w *knownWorld) bool { _, _, ok := w.read(w.n); return ok },
			func(w *knownWorld) error { _, err := w.s.Read(w.c, w.n, NullBuf(0)); return err },
			EKEYREVOKED},
		{"revoked key searched", func(t *testing.T, w *knownWorld) {
			_, err := w.s.Revoke(w.c, w.k)
			require.NoError(t, err)
		}, func(w *knownWorld) bool { _, _, ok := w.search("k"); return ok },
			search("k"), EKEYREVOKED},
		{"key with an expiry", func(t *testing.T, w *knownWorld) {
			_, err := w.s.SetTimeout(w.c, w.n, 100)
			require.NoError(t, err)
		}, func(w *knownWorld) bool { _, _, ok := w.request("n", NullStr); return ok },
			func(w *knownWorld) error {
				_, err, _ := w.s.RequestKeyShared(w.c, Str("user"), Str("n"), NullStr, 0)
				return err
			}, nil},
		{"read of a possessed key without Read permission", func(t *testing.T, w *knownWorld) {
			// alswrv less the possessor's r: read only as possessed.
			_, err := w.s.Setperm(w.c, w.k, 0x3d010000)
			require.NoError(t, err)
		}, func(w *knownWorld) bool { _, _, ok := w.read(w.k); return ok },
			func(w *knownWorld) error { _, err := w.s.Read(w.c, w.k, NullBuf(0)); return err },
			nil},
		{"describe without View permission", func(t *testing.T, w *knownWorld) {
			// alswrv less the possessor's and the owner's v.
			_, err := w.s.Setperm(w.c, w.k, 0x3e000000)
			require.NoError(t, err)
		}, func(w *knownWorld) bool { _, ok := w.describe(w.k); return ok },
			func(w *knownWorld) error { _, err := w.s.Describe(w.c, w.k, NullBuf(0)); return err },
			EACCES},
		{"keyring without Search permission", func(t *testing.T, w *knownWorld) {
			// The key grants its owner everything; the keyring
			// grants no Search (nor is it possessed without it).
			_, err := w.s.Setperm(w.c, w.k, 0x3f3f0000)
			require.NoError(t, err)
			_, err = w.s.Setperm(w.c, w.session, 0x37010000)
			require.NoError(t, err)
		}, func(w *knownWorld) bool { _, _, ok := w.search("k"); return ok },
			search("k"), EACCES},
		{"traced", func(_ *testing.T, w *knownWorld) { w.s.SetTrace(func(Step) {}) },
			func(w *knownWorld) bool { _, _, ok := w.search("k"); return ok },
			search("k"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newKnownWorld(t)
			require.True(t, tc.lookup(w), "settled before the change")
			tc.change(t, w)
			w.prime()
			require.False(t, tc.lookup(w), "settled after the change")
			if tc.long != nil {
				require.Equal(t, tc.want, tc.long(w))
			}
		})
	}
}

// A cred that has not looked a key up yet works out its possession of a
// key other than a keyring in one step, from the keyrings that link it,
// and keeps it; a keyring's possession takes a search, which is left to
// the long way.
func TestKnownLookupsWorkOutPossession(t *testing.T) {
	w := newKnownWorld(t)
	w.c = w.s.Fork(w.c)
	require.Nil(t, w.c.poss.bySerial(w.s.gen, Serial(w.k)), "a forked cred's cache is empty")
	n, payload, ok := w.read(w.k)
	require.True(t, ok, "read by a cred that has not looked the key up")
	require.Equal(t, 1, n)
	require.Equal(t, "v", string(payload))
	require.NotNil(t, w.c.poss.bySerial(w.s.gen, Serial(w.k)), "the possession worked out was not kept")
	_, _, ok = w.search("k")
	require.False(t, ok, "a keyring's possession worked out in one step")
}

// A search plan is made by the second search from a keyring after a
// change (searchPlanned): until then a search that misses the keyring
// itself is not settled in one step, and asking in one step does not
// count towards making the plan.
func TestSearchKnownWaitsForThePlan(t *testing.T) {
	w := newKnownWorld(t)
	_, err := w.s.AddKey(w.c, Str("keyring"), Str("other"), Buf(nil), specSession)
	require.NoError(t, err)
	for i := range 2 {
		_, _, ok := w.search("n")
		require.False(t, ok, "settled with no plan, before long search %d", i+1)
		_, err = w.s.Search(w.c, w.session, Str("user"), Str("n"), 0)
		require.NoError(t, err)
	}
	r, err, ok := w.search("n")
	require.True(t, ok, "not settled with the plan made")
	require.NoError(t, err)
	require.Equal(t, int(w.n), r)
}

// request_key searches the thread, process and session keyrings in turn
// and gives the first key found (R4.1): a key in the thread keyring goes
// before one with the same description in the session keyring.
func TestRequestKnownSearchesInTurn(t *testing.T) {
	w := newKnownWorld(t)
	thread, err := w.s.GetKeyringID(w.c, specThread, true)
	require.NoError(t, err)
	first, err := w.s.AddKey(w.c, Str("user"), Str("dup"), Buf([]byte("t")), int32(thread))
	require.NoError(t, err)
	_, err = w.s.AddKey(w.c, Str("user"), Str("dup"), Buf([]byte("s")), w.session)
	require.NoError(t, err)
	w.prime()
	w.s.RequestKeyShared(w.c, Str("user"), Str("dup"), NullStr, 0)
	r, err, ok := w.request("dup", NullStr)
	require.True(t, ok)
	require.NoError(t, err)
	require.Equal(t, first, r)
}

// Without a session keyring request_key searches the user session keyring
// (R4.2): that is left to the long way.
func TestRequestKnownWithoutSession(t *testing.T) {
	s := New(Config{Seed: 6})
	c := s.NewCred(1000, 1000, nil, s.InitNS())
	id, err := s.AddKey(c, Str("user"), Str("k"), Buf([]byte("v")), specUserSession)
	require.NoError(t, err)
	for range 2 {
		s.RequestKeyShared(c, Str("user"), Str("k"), NullStr, 0)
	}
	typ, desc, callout := Str("user"), Str("k"), NullStr
	_, _, ok := s.RequestKnown(c, &typ, &desc, &callout)
	require.False(t, ok)
	r, err, ok := s.RequestKeyShared(c, typ, desc, callout, 0)
	require.True(t, ok)
	require.NoError(t, err)
	require.Equal(t, id, r)
}

// KEYCTL_UNLINK takes its key without working out its possession, which
// decides nothing (KEY_NEED_UNLINK): a key the cred does not possess, as
// one the cred has not asked about, is found by its serial and its
// possession is not kept; a key that is not positive and valid is left to
// the long way, which unlinks it all the same. CheckCaches compares each
// unlink's lookup with the long way's.
func TestUnlinkKnownSkipsPossession(t *testing.T) {
	s, c, k := sessionUserKey(t, Config{Seed: 5, CheckCaches: true}, "k")
	user, err := s.GetKeyringID(c, specUser, false)
	require.NoError(t, err)
	// A key in the user keyring, which the session keyring does not
	// link: not possessed.
	u, err := s.AddKey(c, Str("user"), Str("u"), Buf([]byte("v")), specUser)
	require.NoError(t, err)
	_, known := c.poss.get(s.gen, s.serials.get(Serial(u)))
	require.False(t, known, "possession cached")

	require.Same(t, s.serials.get(Serial(u)), s.unlinkKnown(c, int32(u)))
	require.Nil(t, c.poss.bySerial(s.gen, Serial(u)), "possession kept")
	_, err = s.Unlink(c, int32(u), int32(user))
	require.NoError(t, err)
	require.Nil(t, s.unlinkKnown(c, int32(u)), "the unlinked key is gone")

	// A key whose possession the cred has cached is taken from the
	// cache; once destroyed, it is found nowhere.
	_, err = s.Describe(c, k, NullBuf(0))
	require.NoError(t, err)
	require.NotNil(t, c.poss.bySerial(s.gen, Serial(k)))
	require.Same(t, s.serials.get(Serial(k)), s.unlinkKnown(c, k))
	d, err := s.AddKey(c, Str("user"), Str("d"), Buf([]byte("v")), specSession)
	require.NoError(t, err)
	_, err = s.Describe(c, int32(d), NullBuf(0))
	require.NoError(t, err)
	require.NotNil(t, c.poss.bySerial(s.gen, Serial(d)))
	_, err = s.Unlink(c, int32(d), specSession)
	require.NoError(t, err)
	require.Nil(t, s.unlinkKnown(c, int32(d)), "a destroyed key")

	_, err = s.Revoke(c, k)
	require.NoError(t, err)
	require.Nil(t, s.unlinkKnown(c, k), "a revoked key")
	_, err = s.Unlink(c, k, specSession)
	require.NoError(t, err)

	for _, id := range []int32{0, -3, 12345} {
		require.Nil(t, s.unlinkKnown(c, id), "id %d", id)
	}
}

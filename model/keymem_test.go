package model

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A thread told to wait for a key under construction (WaitError) holds no
// reference while it waits, yet looks at the key again when it wakes, to
// fail with the finished key's error (R1.24). If the key is destroyed
// meanwhile, its memory must not go back to the pool and become another
// key's: the waiter must still see the key it waited for.
//
// Only request_key(2) makes keys under construction, and not from the
// pool, so the test asks waitFor directly about a key that is from one.
func TestWaitedKeyKeepsItsMemory(t *testing.T) {
	s := New(Config{Seed: 11})
	s.SetShared(true)
	c := s.NewCred(1000, 1000, nil, s.InitNS())
	var serial Serial
	writerTurn(s, func() {
		_, err := s.JoinSessionKeyring(c, NullStr)
		require.NoError(t, err)
		id, err := s.AddKey(c, Str("user"), Str("awaited"), Buf([]byte("v")), specSession)
		require.NoError(t, err)
		serial = Serial(id)
	})
	k, ok := s.KeyBySerial(serial)
	require.True(t, ok)
	require.Equal(t, memSmall, k.mem, "a small user key comes from its pool")
	var w *WaitError
	writerTurn(s, func() { w = s.waitFor(k) })
	writerTurn(s, func() {
		_, err := s.Unlink(c, int32(serial), specSession)
		require.NoError(t, err)
	})
	_, alive := s.KeyBySerial(serial)
	require.False(t, alive, "the key is destroyed")
	writerTurn(s, func() {
		// New keys take what memory the pool holds.
		for i := 0; i < 8; i++ {
			_, err := s.AddKey(c, Str("user"), Str("new"+string(rune('a'+i))), Buf([]byte("v")), specSession)
			require.NoError(t, err)
			_, err = s.JoinSessionKeyring(c, NullStr)
			require.NoError(t, err)
		}
	})
	assert.Equal(t, serial, w.Key.serial, "the waiter's key became another key")
	assert.Equal(t, "awaited", w.Key.desc, "the waiter's key became another key")
	require.NoError(t, s.CheckInvariants())
}

// A destroyed key's memory goes back to the pool zeroed: a key made from
// it starts with nothing of the old one, and the state stays consistent
// through many rounds of making and dropping keys and keyrings.
func TestRecycledKeysStartEmpty(t *testing.T) {
	s := New(Config{Seed: 12, CheckCaches: true})
	s.SetShared(true)
	c := s.NewCred(1000, 1000, nil, s.InitNS())
	for round := 0; round < 50; round++ {
		var ring, id int
		writerTurn(s, func() {
			ring = emptyKeyring(t, s, c)
			var err error
			id, err = s.AddKey(c, Str("user"), Str("k"), Buf([]byte("payload")), int32(ring))
			require.NoError(t, err)
			_, err = s.SetTimeout(c, int32(id), 100)
			require.NoError(t, err)
		})

		k, ok := s.KeyBySerial(Serial(id))
		require.True(t, ok)
		assert.Equal(t, int32(1), k.usage, "round %d: references", round)
		assert.Equal(t, uint16(1), k.nparents, "round %d: parents", round)
		buf := make([]byte, 16)
		n, err := s.Read(c, int32(id), Buf(buf))
		require.NoError(t, err)
		assert.Equal(t, "payload", string(buf[:n]), "round %d", round)
		n, err = s.Read(c, int32(ring), Buf(buf))
		require.NoError(t, err)
		assert.Equal(t, 4, n, "round %d: the keyring links one key", round)
		require.NoError(t, s.CheckInvariants(), "round %d", round)
	}
}

// The pool keeps at most smallKeysKept small keys' memory, whatever
// number die at once, and the next key made takes the last memory given
// back.
func TestKeyMemPoolIsBounded(t *testing.T) {
	s := New(Config{Seed: 15, MaxKeys: 2 * smallKeysKept, MaxBytes: 1 << 22})
	s.SetShared(true)
	c := s.NewCred(1000, 1000, nil, s.InitNS())
	var ring int
	writerTurn(s, func() {
		ring = emptyKeyring(t, s, c)
		fillKeyring(t, s, c, ring, smallKeysKept+1000)
	})
	writerTurn(s, func() {
		_, err := s.Clear(c, int32(ring))
		require.NoError(t, err)
	})
	require.Equal(t, smallKeysKept, len(s.keyMem.small), "memories kept")
	last := &s.keyMem.small[len(s.keyMem.small)-1].key
	var id int
	writerTurn(s, func() {
		var err error
		id, err = s.AddKey(c, Str("user"), Str("again"), Buf([]byte("v")), int32(ring))
		require.NoError(t, err)
	})
	k, ok := s.KeyBySerial(Serial(id))
	require.True(t, ok)
	assert.Same(t, last, k, "the new key's memory")
	assert.Equal(t, smallKeysKept-1, len(s.keyMem.small), "memories kept")
	require.NoError(t, s.CheckInvariants())
}

// Clearing a large keyring allocates nothing once a keyring that large has
// been cleared before: KEYCTL_CLEAR keeps its list of the unlinked keys.
// Counted over ten clears, less than one allocation each, so that the
// runtime's own now and then does not count.
func TestClearAllocatesNothing(t *testing.T) {
	s := New(Config{Seed: 13, MaxKeys: 10000, MaxBytes: 1 << 20})
	c := s.NewCred(1000, 1000, nil, s.InitNS())
	ring := emptyKeyring(t, s, c)
	fillKeyring(t, s, c, ring, 5000)
	_, err := s.Clear(c, int32(ring))
	require.NoError(t, err)
	const clears = 10
	var mallocs uint64
	var before, after runtime.MemStats
	for range clears {
		fillKeyring(t, s, c, ring, 5000)
		runtime.ReadMemStats(&before)
		_, err := s.Clear(c, int32(ring))
		runtime.ReadMemStats(&after)
		require.NoError(t, err)
		mallocs += after.Mallocs - before.Mallocs
	}
	require.Less(t, mallocs, uint64(clears), "allocations by %d clears of 5000 keys", clears)
	require.NoError(t, s.CheckInvariants())
}

// The lists of keys a shared State keeps between writers' turns (the keys
// that died in the turn, the keys KEYCTL_CLEAR unlinked) keep their room
// but no key: a kept pointer would hold on to memory that the pool gives
// to other keys.
func TestKeptKeyListsHoldNoKeys(t *testing.T) {
	s := New(Config{Seed: 14, MaxKeys: 10000, MaxBytes: 1 << 20})
	s.SetShared(true)
	c := s.NewCred(1000, 1000, nil, s.InitNS())
	var ring int
	writerTurn(s, func() {
		ring = emptyKeyring(t, s, c)
		fillKeyring(t, s, c, ring, 5000)
	})
	writerTurn(s, func() {
		_, err := s.Clear(c, int32(ring))
		require.NoError(t, err)
	})
	for name, list := range map[string][]*Key{"dying": s.dying, "cleared": s.cleared} {
		assert.Empty(t, list, name)
		assert.GreaterOrEqual(t, cap(list), 5000, "%s keeps its room", name)
		for i, k := range list[:cap(list)] {
			if k != nil {
				t.Errorf("%s keeps key %d at %d", name, k.serial, i)
				break
			}
		}
	}
	require.NoError(t, s.CheckInvariants())
}

// writerTurn runs fn as a writer's turn of the shared State s: the keys
// that die in it are destroyed when it ends.
func writerTurn(s *State, fn func()) {
	s.SetShared(false)
	fn()
	s.SetShared(true)
}

// emptyKeyring joins c to a new session keyring and adds an empty
// keyring to it.
func emptyKeyring(t *testing.T, s *State, c *Cred) int {
	t.Helper()
	_, err := s.JoinSessionKeyring(c, NullStr)
	require.NoError(t, err)
	ring, err := s.AddKey(c, Str("keyring"), Str("r"), Buf(nil), specSession)
	require.NoError(t, err)
	return ring
}

// fillKeyring adds n user keys to ring.
func fillKeyring(t *testing.T, s *State, c *Cred, ring, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		_, err := s.AddKey(c, Str("user"), Str("k"+strconv.Itoa(i)), Buf([]byte("v")), int32(ring))
		require.NoError(t, err)
	}
}

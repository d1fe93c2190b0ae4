package model

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A key whose last reference goes during a writer's turn is hidden at once,
// by serial and by name, and refunded, but destroyed with the links it
// holds only when the turn ends, as the kernel's collector destroys it
// after the call (R7.5, R8.3): until then the keys it links are still found
// and still charged.
func TestDestroyedWhenTurnEnds(t *testing.T) {
	s := New(Config{Seed: 5})
	s.SetShared(true)
	s.SetShared(false)
	c := s.NewCred(1000, 1000, nil, s.InitNS())
	_, err := s.JoinSessionKeyring(c, Str("named"))
	require.NoError(t, err)
	ring, err := s.AddKey(c, Str("keyring"), Str("ring"), Buf(nil), specSession)
	require.NoError(t, err)
	key, err := s.AddKey(c, Str("user"), Str("key"), Buf([]byte("v")), int32(ring))
	require.NoError(t, err)
	named, err := s.GetKeyringID(c, specSession, false)
	require.NoError(t, err)
	s.SetShared(true)
	u, ok := s.UserRecord(1000)
	require.True(t, ok)
	nkeys, _ := u.Keys()
	qkeys, qbytes := u.Quota()

	// One turn: joining a fresh session drops the last reference to the
	// named one, which holds the last reference to ring, which holds key's.
	s.SetShared(false)
	_, err = s.JoinSessionKeyring(c, NullStr)
	require.NoError(t, err)
	_, found := s.KeyBySerial(Serial(named))
	assert.False(t, found, "a keyring that lost its last reference is still indexed")
	other := s.NewCred(1000, 1000, nil, s.InitNS())
	again, err := s.JoinSessionKeyring(other, Str("named"))
	require.NoError(t, err)
	assert.NotEqual(t, named, again, "joined by name a keyring that lost its last reference")
	_, found = s.KeyBySerial(Serial(ring))
	assert.True(t, found, "a keyring linked by a dying one was destroyed within the turn")
	_, err = s.Describe(c, int32(key), Buf(make([]byte, 64)))
	assert.NoError(t, err, "a key linked by a dying keyring's keyring was destroyed within the turn")
	// A _ses and a named keyring were made. The named keyring that lost its
	// last reference is refunded at once (R7.5) but counted until it is
	// destroyed; what it links is neither.
	n, _ := u.Keys()
	assert.Equal(t, nkeys+2, n, "nkeys within the turn")
	qk, _ := u.Quota()
	assert.Equal(t, qkeys+1, qk, "qnkeys within the turn")
	assert.Error(t, s.CheckInvariants(), "invariants hold while keys wait to be destroyed")

	s.SetShared(true)
	for _, id := range []int{named, ring, key} {
		_, found := s.KeyBySerial(Serial(id))
		assert.False(t, found, "key %d outlived the turn", id)
	}
	n, _ = u.Keys()
	assert.Equal(t, nkeys-1, n, "keys: three destroyed, a _ses and a named keyring made")
	qk, qb := u.Quota()
	assert.Equal(t, qkeys-1, qk)
	assert.Less(t, qb, qbytes)
	require.NoError(t, s.CheckInvariants())

	// Outside turns, a State that was never shared destroys at once.
	s2 := New(Config{Seed: 5})
	c2 := s2.NewCred(1000, 1000, nil, s2.InitNS())
	_, err = s2.JoinSessionKeyring(c2, NullStr)
	require.NoError(t, err)
	ring2, err := s2.AddKey(c2, Str("keyring"), Str("ring"), Buf(nil), specSession)
	require.NoError(t, err)
	key2, err := s2.AddKey(c2, Str("user"), Str("key"), Buf([]byte("v")), int32(ring2))
	require.NoError(t, err)
	_, err = s2.Unlink(c2, int32(ring2), specSession)
	require.NoError(t, err)
	_, found = s2.KeyBySerial(Serial(key2))
	assert.False(t, found)
	require.NoError(t, s2.CheckInvariants())
}

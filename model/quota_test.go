package model

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A uid's quota record goes when the uid holds nothing (no key, no
// credential, no user keyring), and a new one is made, in the register,
// when the uid makes keys again: the record kept for the next key's
// charge (State.lastUser) is not the old one.
func TestDroppedUserRecordComesBack(t *testing.T) {
	s := New(Config{Seed: 16})
	makeKeys := func() *Cred {
		c := s.NewCred(1000, 1000, nil, s.InitNS())
		_, err := s.JoinSessionKeyring(c, NullStr)
		require.NoError(t, err)
		_, err = s.AddKey(c, Str("user"), Str("k"), Buf([]byte("v")), specSession)
		require.NoError(t, err)
		return c
	}
	s.ReleaseCred(makeKeys())
	_, ok := s.UserRecord(1000)
	require.False(t, ok, "uid 1000 holds nothing")
	require.NoError(t, s.CheckInvariants())

	c := makeKeys()
	u, ok := s.UserRecord(1000)
	require.True(t, ok, "uid 1000 holds keys again")
	assert.Equal(t, 2, u.nkeys, "the session keyring and the key")
	require.NoError(t, s.CheckInvariants())
	s.ReleaseCred(c)
}

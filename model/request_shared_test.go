package model_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/keyemu/keyemu/model"
)

// request_key with a callout changes nothing when its search finds the key
// or fails with an error of its own, so it may run on the shared path; one
// that finds nothing would make a key, and RequestKeyShared declines it
// without changing anything (R5.4a-c).
func TestRequestKeySharedWithCallout(t *testing.T) {
	s := model.New(model.Config{Seed: 9})
	c := s.NewCred(1000, 1000, nil, s.InitNS())
	_, err := s.JoinSessionKeyring(c, model.NullStr)
	require.NoError(t, err)
	id, err := s.AddKey(c, model.Str("user"), model.Str("found"), model.Buf([]byte("v")), -3)
	require.NoError(t, err)
	s.SetShared(true)
	defer s.SetShared(false)

	r, err, ok := s.RequestKeyShared(c, model.Str("user"), model.Str("found"), model.Str("info"), 0)
	require.True(t, ok, "a hit with a callout")
	require.NoError(t, err)
	require.Equal(t, id, r)

	before := s.AppendFingerprint(nil)
	_, _, ok = s.RequestKeyShared(c, model.Str("user"), model.Str("missing"), model.Str("info"), 0)
	require.False(t, ok, "a miss with a callout makes a key")
	require.Equal(t, before, s.AppendFingerprint(nil), "the declined call changed the state")

	_, err, ok = s.RequestKeyShared(c, model.Str("user"), model.Str("missing"), model.NullStr, 0)
	require.True(t, ok)
	require.ErrorIs(t, err, model.ENOKEY, "a miss without a callout")

	_, err, ok = s.RequestKeyShared(c, model.Str("keyring"), model.Str("missing"), model.Str("info"), 0)
	require.True(t, ok, "request_key cannot make a keyring")
	require.ErrorIs(t, err, model.EPERM)

	_, _, ok = s.RequestKeyShared(c, model.Str("user"), model.Str("found"), model.Str("info"), -3)
	require.False(t, ok, "a destination keyring")
	require.Equal(t, before, s.AppendFingerprint(nil))
}

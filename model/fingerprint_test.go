package model_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/keyemu/keyemu/model"
)

// AppendFingerprint changes exactly when Dump does.
func TestFingerprintFollowsDump(t *testing.T) {
	s := model.New(model.Config{Seed: 7})
	c := s.NewCred(1000, 1000, nil, s.InitNS())
	type snap struct {
		dump string
		fp   []byte
	}
	take := func() snap { return snap{s.Dump(), s.AppendFingerprint(nil)} }
	steps := []func() error{
		func() error { _, err := s.JoinSessionKeyring(c, model.NullStr); return err },
		func() error {
			_, err := s.AddKey(c, model.Str("user"), model.Str("k"), model.Buf([]byte("v")), -3)
			return err
		},
		func() error {
			_, err := s.AddKey(c, model.Str("user"), model.Str("k"), model.Buf([]byte("w")), -3)
			return err
		},
		func() error {
			_, err := s.AddKey(c, model.Str("keyring"), model.Str("r"), model.Buf(nil), -3)
			return err
		},
	}
	prev := take()
	for i, step := range steps {
		require.NoError(t, step(), "step %d", i)
		cur := take()
		require.NotEqual(t, prev.dump, cur.dump, "step %d changes the dump", i)
		require.False(t, bytes.Equal(prev.fp, cur.fp), "step %d: dump changed, fingerprint did not", i)
		require.Equal(t, cur.fp, s.AppendFingerprint(nil), "step %d: fingerprint is stable", i)
		prev = cur
	}
}

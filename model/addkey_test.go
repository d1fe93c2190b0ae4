package model_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/keyemu/keyemu/model"
)

// add_key into keyrings of one index node and of several (where the new
// entry is entered before the key is made): every failure leaves the State
// as it was, an update keeps the key, a revoked key is displaced, and the
// invariants hold after every call.
func TestAddKeyEntryPaths(t *testing.T) {
	const linkBytes = 4
	for _, size := range []int{5, 40, 300} {
		t.Run(fmt.Sprintf("keyring of %d", size), func(t *testing.T) {
			s := model.New(model.Config{Seed: 3, MaxKeys: size + 10, MaxBytes: 20000})
			u := s.NewCred(1000, 1000, nil, s.InitNS())
			must := func(r int, err error) int {
				t.Helper()
				require.NoError(t, err)
				return r
			}
			add := func(typ, desc, payload string, ring int) (int, error) {
				return s.AddKey(u, model.Str(typ), model.Str(desc), model.Buf([]byte(payload)), int32(ring))
			}
			unchanged := func(want error, fn func() (int, error)) {
				t.Helper()
				before := s.AppendFingerprint(nil)
				_, err := fn()
				require.ErrorIs(t, err, want)
				require.Equal(t, before, s.AppendFingerprint(nil), "a failed add_key changed the state")
				require.NoError(t, s.CheckInvariants())
			}
			must(s.JoinSessionKeyring(u, model.NullStr))
			ring := must(add("keyring", "big", "", -3))
			for i := 0; i < size; i++ {
				must(add("user", fmt.Sprintf("k%03d", i), "v", ring))
			}
			require.NoError(t, s.CheckInvariants())

			// An update keeps the serial and changes the payload.
			id := must(add("user", "k001", "v2", ring))
			again := must(add("user", "k001", "v3", ring))
			require.Equal(t, id, again)
			buf := make([]byte, 8)
			n := must(s.Read(u, int32(id), model.Buf(buf)))
			require.Equal(t, "v3", string(buf[:n]))

			// A revoked key is displaced by a new one.
			must(s.Revoke(u, int32(id)))
			fresh := must(add("user", "k001", "v4", ring))
			require.NotEqual(t, id, fresh)
			_, err := s.Read(u, int32(id), model.Buf(buf))
			require.Error(t, err)
			require.NoError(t, s.CheckInvariants())

			// The payload does not fit the byte quota: EDQUOT after the key
			// is made.
			unchanged(model.EDQUOT, func() (int, error) { return add("user", "huge", strings.Repeat("x", 20000), ring) })
			// No key left in the key quota: EDQUOT from key_alloc.
			for i := 0; ; i++ {
				if _, err := add("user", fmt.Sprintf("fill%03d", i), "v", ring); err != nil {
					require.ErrorIs(t, err, model.EDQUOT)
					break
				}
			}
			require.NoError(t, s.CheckInvariants())
			unchanged(model.EDQUOT, func() (int, error) { return add("user", "one-more", "v", ring) })
			// An update needs no new key.
			must(add("user", "k002", "v5", ring))
			// A bad description for the type (logon needs a prefix).
			unchanged(model.EINVAL, func() (int, error) { return add("logon", "nocolon", "v", ring) })
			// No byte left for the new entry's 4 bytes (the link is the
			// keyring owner's charge, made before key_alloc's): EDQUOT.
			must(s.Unlink(u, int32(must(add("user", "k004", "v", ring))), int32(ring)))
			rec, ok := s.UserRecord(1000)
			require.True(t, ok)
			_, used := rec.Quota()
			// "pad" (4 bytes) and its payload leave under 4 bytes free.
			pad := must(add("user", "pad", strings.Repeat("p", 20000-used-4-linkBytes-2), -3))
			_, used = rec.Quota()
			require.Less(t, 20000-used, linkBytes)
			unchanged(model.EDQUOT, func() (int, error) { return add("user", "k004", "v", ring) })
			must(s.Unlink(u, int32(pad), -3))
			// A restricted keyring takes nothing.
			must(s.RestrictKeyring(u, int32(ring), model.NullStr, model.NullStr))
			unchanged(model.EPERM, func() (int, error) { return add("user", "k003", "v6", ring) })
			unchanged(model.EPERM, func() (int, error) { return add("user", "new", "v", ring) })
		})
	}
}

// A key's payload is its own copy: changing the caller's buffer after
// add_key or KEYCTL_UPDATE changes nothing, whether the update reuses the
// key's buffer (a payload of about the same size) or not.
func TestPayloadIsTheKeysOwn(t *testing.T) {
	s := model.New(model.Config{Seed: 5})
	u := s.NewCred(1000, 1000, nil, s.InitNS())
	_, err := s.JoinSessionKeyring(u, model.NullStr)
	require.NoError(t, err)
	read := func(id int) string {
		t.Helper()
		buf := make([]byte, 256)
		n, err := s.Read(u, int32(id), model.Buf(buf))
		require.NoError(t, err)
		return string(buf[:n])
	}
	in := []byte("first")
	id, err := s.AddKey(u, model.Str("user"), model.Str("p"), model.Buf(in), -3)
	require.NoError(t, err)
	in[0] = 'X'
	require.Equal(t, "first", read(id))
	for _, p := range []string{"secnd", "3rd", strings.Repeat("long", 25), "z", "last!"} {
		in := []byte(p)
		again, err := s.AddKey(u, model.Str("user"), model.Str("p"), model.Buf(in), -3)
		require.NoError(t, err)
		require.Equal(t, id, again)
		in[0] = 'X'
		require.Equal(t, p, read(id), "after add_key")
		in = []byte(p + "!")
		_, err = s.Update(u, int32(id), model.Buf(in))
		require.NoError(t, err)
		in[0] = 'X'
		require.Equal(t, p+"!", read(id), "after KEYCTL_UPDATE")
		require.NoError(t, s.CheckInvariants())
	}
}

// add_key of a new key with a small payload allocates the key and its
// payload at once, and updating a small payload with one of about the same
// size allocates nothing.
func TestAddKeyAllocations(t *testing.T) {
	s := model.New(model.Config{Seed: 5, MaxKeys: 2000, MaxBytes: 100000})
	u := s.NewCred(1000, 1000, nil, s.InitNS())
	_, err := s.JoinSessionKeyring(u, model.NullStr)
	require.NoError(t, err)
	in := model.Buf([]byte("token-1"))
	_, err = s.AddKey(u, model.Str("user"), model.Str("p"), in, -3)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := s.AddKey(u, model.Str("user"), model.Str("p"), in, -3); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs, "update")

	ring, err := s.AddKey(u, model.Str("keyring"), model.Str("r"), model.NullBuf(0), -3)
	require.NoError(t, err)
	descs := make([]string, 1001)
	for i := range descs {
		descs[i] = fmt.Sprintf("n%d", i)
	}
	i := 0
	allocs = testing.AllocsPerRun(1000, func() {
		if _, err := s.AddKey(u, model.Str("user"), model.Str(descs[i]), in, int32(ring)); err != nil {
			t.Fatal(err)
		}
		i++
	})
	// The keyring's index allocates now and then as it grows.
	require.Less(t, allocs, 1.1, "new keys")
}

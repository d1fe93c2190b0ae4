package model_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keyemu/keyemu/model"
)

// busyState builds a State that uses most of what a snapshot must carry:
// anchors, named and anonymous sessions, links, expiry, a revoked key,
// a negative-free restricted keyring, a large keyring, a persistent
// keyring, a chown, and two live credentials.
func busyState(t *testing.T, profile model.Profile) (*model.State, map[*model.Cred]string) {
	t.Helper()
	s := model.New(model.Config{Profile: profile, Seed: 42})
	ns := s.InitNS()
	root := s.NewCred(0, 0, nil, ns)
	user := s.NewCred(1000, 1000, []model.GID{10}, ns)
	must := func(r int, err error) int {
		t.Helper()
		require.NoError(t, err)
		return r
	}
	add := func(c *model.Cred, typ, desc, payload string, ring int32) int {
		return must(s.AddKey(c, model.Str(typ), model.Str(desc), model.Buf([]byte(payload)), ring))
	}
	must(s.JoinSessionKeyring(user, model.NullStr))
	tok := add(user, "user", "token", "s3cret", -3)
	add(user, "logon", "svc:pw", "hunter2", -3)
	ring := add(user, "keyring", "box", "", -3)
	add(user, "user", "inner", "x", int32(ring))
	must(s.Link(user, int32(tok), -4))
	must(s.SetTimeout(user, int32(tok), 600))
	gone := add(user, "user", "gone", "y", -3)
	must(s.Revoke(user, int32(gone)))
	must(s.RestrictKeyring(user, int32(ring), model.NullStr, model.NullStr))
	// A keyring past the size of a sorted index, whose order the
	// unlinks then change.
	big := add(user, "keyring", "big", "", -3)
	var first []int
	for i := range 40 {
		id := add(user, "user", fmt.Sprintf("k%02d", i), "v", int32(big))
		if i < 3 {
			first = append(first, id)
		}
	}
	for _, id := range first {
		must(s.Unlink(user, int32(id), int32(big)))
	}
	// And one that was large and holds few links now.
	shrunk := add(user, "keyring", "shrunk", "", -3)
	var ids []int
	for i := range 40 {
		ids = append(ids, add(user, "user", fmt.Sprintf("s%02d", i), "v", int32(shrunk)))
	}
	for _, id := range ids[:30] {
		must(s.Unlink(user, int32(id), int32(shrunk)))
	}
	must(s.JoinSessionKeyring(root, model.Str("shared")))
	must(s.GetPersistent(root, ^uint32(0), -3))
	given := add(root, "user", "given", "z", -3)
	must(s.Chown(root, int32(given), 1000, ^uint32(0)))
	must(s.Setperm(root, int32(given), 0x3f3f0000))
	must(s.GetKeyringID(user, -1, true))
	s.SetTime(s.Now().Add(10 * time.Second))
	require.NoError(t, s.CheckInvariants())
	return s, map[*model.Cred]string{root: "root", user: "user"}
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, profile := range []model.Profile{model.ProfileModern, model.ProfileLegacy} {
		t.Run(profile.String(), func(t *testing.T) {
			s, names := busyState(t, profile)
			data, err := s.MarshalSnapshot(names)
			require.NoError(t, err)

			r, creds, err := model.UnmarshalSnapshot(data)
			require.NoError(t, err)
			require.Len(t, creds, 2)
			assert.NoError(t, r.CheckInvariants())
			assert.Equal(t, s.Dump(), r.Dump(), "Dump after a round trip")
			assert.Equal(t, s.Now(), r.Now())
			assert.Equal(t, s.ProcKeyUsers(s.InitNS()), r.ProcKeyUsers(r.InitNS()))

			var user *model.Cred
			for c, n := range names {
				if n == "user" {
					user = c
				}
			}
			assert.Equal(t, s.ProcKeys(user), r.ProcKeys(creds["user"]), "ProcKeys as uid 1000")

			again, err := r.MarshalSnapshot(map[*model.Cred]string{creds["root"]: "root", creds["user"]: "user"})
			require.NoError(t, err)
			assert.Equal(t, string(data), string(again), "a decoded snapshot encodes to the same bytes")

			// Both continue identically: same serials, same answers.
			for _, st := range []struct {
				s *model.State
				c *model.Cred
			}{{s, user}, {r, creds["user"]}} {
				_, err := st.s.AddKey(st.c, model.Str("user"), model.Str("after"), model.Buf([]byte("1")), -3)
				require.NoError(t, err)
				_, err = st.s.Search(st.c, -3, model.Str("user"), model.Str("inner"), 0)
				require.NoError(t, err)
				st.s.SetTime(st.s.Now().Add(time.Hour))
				st.s.Collect()
				st.s.ReleaseCred(st.c)
			}
			assert.Equal(t, s.Dump(), r.Dump(), "Dump after the same calls on both")
		})
	}
}

func TestSnapshotRefusesUnnamedCredential(t *testing.T) {
	s, names := busyState(t, model.ProfileModern)
	for c := range names {
		delete(names, c)
		break
	}
	_, err := s.MarshalSnapshot(names)
	assert.ErrorContains(t, err, "no name")
}

func TestSnapshotRefusesBadData(t *testing.T) {
	s, names := busyState(t, model.ProfileModern)
	data, err := s.MarshalSnapshot(names)
	require.NoError(t, err)
	edit := func(fn func(m map[string]any)) []byte {
		var m map[string]any
		require.NoError(t, json.Unmarshal(data, &m))
		fn(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error
		text string
	}{
		{"empty", nil, model.ErrNotSnapshot, ""},
		{"garbage", []byte("\x00\x01binary"), model.ErrNotSnapshot, ""},
		{"truncated", data[:len(data)/2], model.ErrNotSnapshot, ""},
		{"foreign JSON", []byte(`{"format":"something-else","version":1}`), model.ErrNotSnapshot, ""},
		{"older", edit(func(m map[string]any) { m["version"] = 0 }), model.ErrSnapshotVersion, "version 0"},
		{"newer", edit(func(m map[string]any) { m["version"] = 7 }), model.ErrSnapshotVersion, "version 7"},
		{"unknown field", edit(func(m map[string]any) { m["surprise"] = true }), model.ErrSnapshotCorrupt, "surprise"},
		{"random serials in version 2", edit(func(m map[string]any) { m["rng"] = "AAAA" }), model.ErrSnapshotCorrupt, "random serial generator"},
		{"serial counter", edit(func(m map[string]any) { m["serials"] = 1 << 32 }), model.ErrSnapshotCorrupt, "serials"},
		{"usage", edit(func(m map[string]any) {
			k := m["keys"].([]any)[0].(map[string]any)
			k["usage"] = k["usage"].(float64) + 1
		}), model.ErrSnapshotCorrupt, "usage"},
		{"dangling link", edit(func(m map[string]any) {
			for _, k := range m["keys"].([]any) {
				if r, ok := k.(map[string]any)["ring"].(map[string]any); ok && r["links"] != nil {
					r["links"] = append(r["links"].([]any), 2)
					return
				}
			}
		}), model.ErrSnapshotCorrupt, "missing key 2"},
		{"NUL in a description", edit(func(m map[string]any) {
			m["keys"].([]any)[0].(map[string]any)["desc"] = "a\x00b"
		}), model.ErrSnapshotCorrupt, "NUL"},
		{"unknown type", edit(func(m map[string]any) {
			m["keys"].([]any)[0].(map[string]any)["type"] = "big_key"
		}), model.ErrSnapshotCorrupt, "big_key"},
		{"quota", edit(func(m map[string]any) {
			for _, u := range m["users"].([]any) {
				u.(map[string]any)["qnbytes"] = 1
			}
		}), model.ErrSnapshotCorrupt, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := model.UnmarshalSnapshot(tc.data)
			require.Error(t, err)
			assert.True(t, errors.Is(err, tc.want), "UnmarshalSnapshot = %v, want %v", err, tc.want)
			if tc.text != "" {
				assert.Contains(t, err.Error(), tc.text)
			}
		})
	}
}

// A snapshot of version 1 (random serials, the generator's state in "rng")
// is read: its keys keep their serials, and new keys get other ones.
func TestSnapshotReadsVersion1(t *testing.T) {
	s, names := busyState(t, model.ProfileModern)
	data, err := s.MarshalSnapshot(names)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	m["version"] = 1
	delete(m, "serials")
	m["rng"] = "cGNnOgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	v1, err := json.Marshal(m)
	require.NoError(t, err)

	r, creds, err := model.UnmarshalSnapshot(v1)
	require.NoError(t, err)
	require.NoError(t, r.CheckInvariants())
	assert.Equal(t, s.Dump(), r.Dump())
	old := map[model.Serial]bool{}
	r.EachKey(func(k *model.Key) bool { old[k.Serial()] = true; return true })
	root := creds["root"]
	for i := 0; i < 5000; i++ {
		id, err := r.AddKey(root, model.Str("user"), model.Str(fmt.Sprintf("new%d", i)), model.Buf([]byte("v")), -3)
		require.NoError(t, err)
		require.False(t, old[model.Serial(id)], "new key %d took a restored key's serial", id)
	}
	require.NoError(t, r.CheckInvariants())
	again, err := r.MarshalSnapshot(map[*model.Cred]string{root: "root", creds["user"]: "user"})
	require.NoError(t, err)
	_, _, err = model.UnmarshalSnapshot(again)
	require.NoError(t, err)
}

func TestSnapshotHasVersion(t *testing.T) {
	s := model.New(model.Config{})
	data, err := s.MarshalSnapshot(nil)
	require.NoError(t, err)
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	require.NoError(t, json.Unmarshal(data, &head))
	assert.Equal(t, model.SnapshotFormat, head.Format)
	assert.Equal(t, model.SnapshotVersion, head.Version)
	assert.True(t, bytes.HasPrefix(data, []byte("{")), "JSON object")
	assert.False(t, strings.Contains(string(data), "\t"))
}

func TestShareSession(t *testing.T) {
	s := model.New(model.Config{})
	parent := s.NewCred(1000, 1000, nil, s.InitNS())
	ses, err := s.JoinSessionKeyring(parent, model.NullStr)
	require.NoError(t, err)
	child := s.NewCred(0, 0, nil, s.InitNS())
	s.ShareSession(child, parent)
	got, err := s.GetKeyringID(child, -3, false)
	require.NoError(t, err)
	assert.Equal(t, ses, got, "GetKeyringID(@s) of a child sharing the parent's session")
	s.ReleaseCred(parent)
	s.ReleaseCred(child)
	assert.NoError(t, s.CheckInvariants())
}

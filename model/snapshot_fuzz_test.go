package model_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/keyemu/keyemu/model"
)

// FuzzUnmarshalSnapshot feeds arbitrary bytes to the state-file loader: it
// must return an error or a State that keeps its invariants while every
// named credential uses it, and that saves and loads again. It never
// panics.
func FuzzUnmarshalSnapshot(f *testing.F) {
	for _, profile := range []model.Profile{model.ProfileModern, model.ProfileLegacy} {
		s, names := busyState(&testing.T{}, profile)
		data, err := s.MarshalSnapshot(names)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	empty, err := model.New(model.Config{}).MarshalSnapshot(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(empty)
	f.Add([]byte(`{"format":"keyemu-state","version":1}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, creds, err := model.UnmarshalSnapshot(data)
		if err != nil {
			return
		}
		useLoaded(t, s, creds)
	})
}

// useLoaded is what the snapshot fuzz targets do with a State that loaded:
// every named credential looks up each special ID, describes, reads and
// searches every key, adds a key and joins a session; the clock jumps and
// the collector runs; the State saves and loads again. Invariants hold
// after each step.
func useLoaded(t *testing.T, s *model.State, creds map[string]*model.Cred) {
	names := make([]string, 0, len(creds))
	for n := range creds {
		names = append(names, n)
	}
	sort.Strings(names)
	check := func(what string) {
		if err := s.CheckInvariants(); err != nil {
			t.Fatalf("after %s: %v", what, err)
		}
	}
	for _, n := range names {
		c := creds[n]
		for id := int32(-8); id <= 0; id++ {
			_, _ = s.GetKeyringID(c, id, id%2 == 0)
			check(fmt.Sprintf("%s: GetKeyringID(%d)", n, id))
		}
		_ = s.ProcKeys(c)
		s.EachKey(func(k *model.Key) bool {
			id := int32(k.Serial())
			_, _ = s.Describe(c, id, model.NullBuf(0))
			_, _ = s.Read(c, id, model.NullBuf(0))
			_, _ = s.Search(c, id, model.Str("user"), model.Str("x"), 0)
			return true
		})
		check(n + ": describe, read and search every key")
		_, _ = s.AddKey(c, model.Str("user"), model.Str("fuzz"), model.Buf([]byte("v")), -3)
		check(n + ": add_key")
		_, _ = s.JoinSessionKeyring(c, model.NullStr)
		check(n + ": join")
	}
	_ = s.ProcKeyUsers(s.InitNS())
	s.SetTime(s.Now().Add(400 * 24 * time.Hour))
	s.Collect()
	check("collect")
	names2 := make(map[*model.Cred]string, len(creds))
	for n, c := range creds {
		names2[c] = n
	}
	again, err := s.MarshalSnapshot(names2)
	if err != nil {
		t.Fatalf("MarshalSnapshot of a loaded State: %v", err)
	}
	if _, _, err := model.UnmarshalSnapshot(again); err != nil {
		t.Fatalf("a loaded and saved State does not load: %v", err)
	}
}

// FuzzSnapshotFields loads snapshots that are valid JSON of the right shape
// with fields changed: the input picks leaves of a saved busy State and
// the values put there (numbers, serials of the State's keys, strings,
// null), so that the loader's consistency checks, not the JSON decoder,
// meet the damage.
func FuzzSnapshotFields(f *testing.F) {
	s, names := busyState(&testing.T{}, model.ProfileModern)
	base, err := s.MarshalSnapshot(names)
	if err != nil {
		f.Fatal(err)
	}
	var serials []any
	s.EachKey(func(k *model.Key) bool {
		serials = append(serials, float64(k.Serial()))
		return true
	})
	values := append([]any{0.0, 1.0, -1.0, 2.0, 3.0, 4294967295.0, 2147483648.0, -2147483649.0, 1e300, "", "keyring", "user", ".request_key_auth", "_uid.0", nil, true, []any{}, map[string]any{}}, serials...)
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{7, 1, 20, 40, 2, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc any
		if err := json.Unmarshal(base, &doc); err != nil {
			t.Fatal(err)
		}
		for ; len(data) >= 3; data = data[3:] {
			nodes := jsonNodes(doc, nil, nil)
			i := (int(data[0])<<8 | int(data[1])) % len(nodes)
			nodes[i](values[int(data[2])%len(values)])
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		st, creds, err := model.UnmarshalSnapshot(raw)
		if err != nil {
			return
		}
		useLoaded(t, st, creds)
	})
}

// jsonNodes appends a setter for v (unless set is nil, at the root) and
// for every value under it, in a fixed order.
func jsonNodes(v any, set func(any), out []func(any)) []func(any) {
	if set != nil {
		out = append(out, set)
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = jsonNodes(x[k], func(nv any) { x[k] = nv }, out)
		}
	case []any:
		for i := range x {
			out = jsonNodes(x[i], func(nv any) { x[i] = nv }, out)
		}
	}
	return out
}

package model

import "testing"

// storedPayload reuses the key's buffer only for a payload that fills at
// least about half of it, so that a key updated from a large payload to a
// small one does not keep the large buffer.
func TestStoredPayloadReuse(t *testing.T) {
	for _, tc := range []struct {
		oldCap, n int
		reuse     bool
	}{
		{0, 1, false},
		{1, 1, true},
		{8, 5, true},
		{32, 8, true},
		{32, 7, false},
		{100, 1, false},
		{4, 5, false},
	} {
		old := make([]byte, tc.oldCap)
		data := make([]byte, tc.n)
		for i := range data {
			data[i] = byte('a' + i)
		}
		got := storedPayload(old, data)
		if string(got) != string(data) {
			t.Errorf("storedPayload(cap %d, %q) = %q", tc.oldCap, data, got)
		}
		if reused := tc.oldCap > 0 && &got[0] == &old[:1][0]; reused != tc.reuse {
			t.Errorf("storedPayload(cap %d, %d bytes) reused the old buffer: %v, want %v", tc.oldCap, tc.n, reused, tc.reuse)
		}
		if &got[0] == &data[0] {
			t.Errorf("storedPayload(cap %d, %d bytes) kept the caller's buffer", tc.oldCap, tc.n)
		}
	}
	if got := storedPayload(make([]byte, 4), nil); got != nil {
		t.Errorf("storedPayload of nothing = %q, want nil", got)
	}
}

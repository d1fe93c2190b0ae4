package emu

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkedThreadWithKey starts a system with Config.CheckCaches and a
// process of uid 1000 in a new session keyring holding a user key "k" with
// payload "v"; it returns the main thread and the key.
func checkedThreadWithKey(t *testing.T) (*Thread, int) {
	t.Helper()
	sys := New(Config{CheckCaches: true})
	th := sys.NewProcess(Creds{UID: 1000, GID: 1000}).Main()
	_, err := th.KeyctlInt(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	k, err := th.AddKey("user", "k", []byte("v"), KEY_SPEC_SESSION_KEYRING)
	require.NoError(t, err)
	return th, k
}

// With Config.CheckCaches a kept answer of a lookup is never given: each
// call searches, and an answer that differs from the one kept under the
// same count of writers panics.
func TestKeptLookupCheckedWithCheckCaches(t *testing.T) {
	th, k := checkedThreadWithKey(t)
	got, err := th.KeyctlSearch(KEY_SPEC_SESSION_KEYRING, "user", "k", 0)
	require.NoError(t, err)
	require.Equal(t, k, got)

	kept := 0
	for i := range th.lookups {
		if e := &th.lookups[i]; e.writes != 0 {
			kept++
			e.r = k + 1 // what a missed write would leave
		}
	}
	require.Equal(t, 1, kept)
	want := fmt.Sprintf("emu: stale answer of a lookup of \"user\" \"k\": %d, <nil>; now %d, <nil>", k+1, k)
	require.PanicsWithValue(t, want, func() {
		_, _ = th.KeyctlSearch(KEY_SPEC_SESSION_KEYRING, "user", "k", 0)
	})
}

// The same for a kept answer of KEYCTL_READ.
func TestKeptReadCheckedWithCheckCaches(t *testing.T) {
	th, k := checkedThreadWithKey(t)
	buf := make([]byte, 8)
	_, err := th.KeyctlBuffer(KEYCTL_READ, k, buf, 0)
	require.NoError(t, err)
	kept := 0
	for i := range th.buffers {
		if e := &th.buffers[i]; e.writes != 0 {
			kept++
			e.data = []byte("w") // what a missed write would leave
		}
	}
	require.Equal(t, 1, kept)
	require.PanicsWithValue(t, fmt.Sprintf("emu: stale answer of keyctl 11 of key %d: \"w\"; now \"v\"", k), func() {
		_, _ = th.KeyctlBuffer(KEYCTL_READ, k, buf, 0)
	})
}

// Without Config.CheckCaches a kept answer of a lookup is given while no
// writer has held System.mu, whichever of the thread's kept answers it is,
// and not after: an answer planted in the kept entries comes back until a
// write.
func TestKeptLookupGiven(t *testing.T) {
	sys := New(Config{})
	th := sys.NewProcess(Creds{UID: 1000, GID: 1000}).Main()
	_, err := th.KeyctlInt(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	search := func(desc string) int {
		t.Helper()
		got, err := th.KeyctlSearch(KEY_SPEC_SESSION_KEYRING, "user", desc, 0)
		require.NoError(t, err)
		return got
	}
	keys := map[string]int{}
	for _, desc := range []string{"a", "b"} {
		keys[desc], err = th.AddKey("user", desc, []byte("v"), KEY_SPEC_SESSION_KEYRING)
		require.NoError(t, err)
	}
	for _, desc := range []string{"a", "b"} {
		require.Equal(t, keys[desc], search(desc))
	}
	for i := range th.lookups {
		if e := &th.lookups[i]; e.writes != 0 {
			e.r = -e.r // an answer the model never gives
		}
	}
	for _, desc := range []string{"a", "b", "a"} {
		require.Equal(t, -keys[desc], search(desc), desc)
	}
	_, err = th.AddKey("user", "c", []byte("v"), KEY_SPEC_SESSION_KEYRING)
	require.NoError(t, err)
	for _, desc := range []string{"a", "b"} {
		require.Equal(t, keys[desc], search(desc), desc)
	}
}

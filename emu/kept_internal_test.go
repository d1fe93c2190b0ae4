package emu

import (
	"fmt"
	"testing"
	"time"

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

// The same for kept answers of KEYCTL_READ: a payload planted in a kept
// entry is read back until a write, whichever entry was kept last.
func TestKeptBufferGiven(t *testing.T) {
	sys := New(Config{})
	th := sys.NewProcess(Creds{UID: 1000, GID: 1000}).Main()
	_, err := th.KeyctlInt(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	keys := make([]int, keptBuffers+1)
	for i := range keys {
		keys[i], err = th.AddKey("user", fmt.Sprint("k", i), []byte("v"), KEY_SPEC_SESSION_KEYRING)
		require.NoError(t, err)
	}
	buf := make([]byte, 8)
	read := func(id int) string {
		t.Helper()
		n, err := th.KeyctlBuffer(KEYCTL_READ, id, buf, 0)
		require.NoError(t, err)
		return string(buf[:n])
	}
	plant := func() {
		for i := range th.buffers {
			if e := &th.buffers[i]; e.writes != 0 {
				e.data = []byte("w") // an answer the model never gives
			}
		}
	}
	// Each key read after a write, the others' answers ended by it: the
	// one kept is the newest, wherever the entries' turn has come to.
	for _, k := range keys {
		_, err = th.AddKey("user", "x", []byte("v"), KEY_SPEC_SESSION_KEYRING)
		require.NoError(t, err)
		require.Equal(t, "v", read(k))
		plant()
		require.Equal(t, "w", read(k))
	}
	_, err = th.AddKey("user", "x", []byte("v"), KEY_SPEC_SESSION_KEYRING)
	require.NoError(t, err)
	require.Equal(t, "v", read(keys[0]))
}

// A thread whose calls have gone unserved by kept answers keptMissRun times
// in a row keeps only every keptSample-th answer, and keeps every answer
// again once one serves a call; with Config.CheckCaches it keeps every
// answer, to compare.
func TestKeptAfterMissesSampled(t *testing.T) {
	for _, check := range []bool{false, true} {
		sys := New(Config{CheckCaches: check})
		th := sys.NewProcess(Creds{UID: 1000, GID: 1000}).Main()
		_, err := th.KeyctlInt(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
		require.NoError(t, err)
		keys := make([]int, 2*keptMissRun)
		for i := range keys {
			keys[i], err = th.AddKey("user", fmt.Sprint("k", i), []byte("v"), KEY_SPEC_SESSION_KEYRING)
			require.NoError(t, err)
		}
		search := func(i int) {
			t.Helper()
			got, err := th.KeyctlSearch(KEY_SPEC_SESSION_KEYRING, "user", fmt.Sprint("k", i), 0)
			require.NoError(t, err)
			require.Equal(t, keys[i], got)
		}
		buf := make([]byte, 64)
		buffer := func(op, i int) {
			t.Helper()
			_, err := th.KeyctlBuffer(op, keys[i], buf, 0)
			require.NoError(t, err)
		}
		// kept counts the answers kept since the last write.
		kept := func() int {
			n := 0
			for i := range th.lookups {
				if th.lookups[i].writes == sys.mu.writes {
					n++
				}
			}
			for i := range th.buffers {
				if th.buffers[i].writes == sys.mu.writes {
					n++
				}
			}
			return n
		}

		// Searches that never repeat, then a write that ends their
		// answers.
		for i := range keys {
			search(i)
		}
		_, err = th.AddKey("user", "x", []byte("v"), KEY_SPEC_SESSION_KEYRING)
		require.NoError(t, err)
		if !check {
			require.Equal(t, uint32(len(keys)), th.unkept)
		}
		// keptSample more searches, reads and describes, none repeated:
		// one of each is kept.
		for i := range keptSample {
			search(i)
		}
		for i := range keptSample {
			buffer(KEYCTL_READ, i)
		}
		for i := range keptSample {
			buffer(KEYCTL_DESCRIBE, i)
		}
		if check {
			require.Equal(t, keptLookups+keptBuffers, kept(), "CheckCaches keeps every answer")
			continue
		}
		require.Equal(t, 3, kept())

		// The same search again and again: within keptSample calls one
		// is kept, and the next is served by it.
		for calls := 0; th.unkept != 0; calls++ {
			require.Less(t, calls, keptSample+1)
			search(keptSample)
		}
		// Then every answer is kept again.
		buffer(KEYCTL_READ, keptSample+1)
		buffer(KEYCTL_DESCRIBE, keptSample+1)
		require.Equal(t, uint32(2), th.unkept)
		for i := range th.buffers {
			require.Equal(t, int32(keys[keptSample+1]), th.buffers[i].id)
		}
	}
}

// A kept answer of KEYCTL_GET_KEYRING_ID stands across system calls that
// change no credential, keyring or authorisation key (sysLock.anchors):
// adding, updating and unlinking a user key. Linking a keyring ends it, as
// does every write that is not a system call, such as the clock's.
func TestKeyringIDKeptAcrossKeyWrites(t *testing.T) {
	sys := New(Config{})
	th := sys.NewProcess(Creds{UID: 1000, GID: 1000}).Main()
	ses, err := th.KeyctlInt(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	kept := func() bool {
		t.Helper()
		r, err, ok := th.keptKeyringID(KEY_SPEC_SESSION_KEYRING)
		if ok {
			require.NoError(t, err)
			require.Equal(t, ses, r)
		}
		return ok
	}
	ask := func() {
		t.Helper()
		got, err := th.KeyctlGetKeyringID(KEY_SPEC_SESSION_KEYRING, false)
		require.NoError(t, err)
		require.Equal(t, ses, got)
	}
	ask()
	require.True(t, kept())
	k, err := th.AddKey("user", "k", []byte("v"), KEY_SPEC_SESSION_KEYRING)
	require.NoError(t, err)
	require.True(t, kept(), "after adding a user key")
	_, err = th.AddKey("user", "k", []byte("w"), KEY_SPEC_SESSION_KEYRING)
	require.NoError(t, err)
	require.True(t, kept(), "after updating a user key")
	_, err = th.KeyctlInt(KEYCTL_UNLINK, k, ses, 0, 0)
	require.NoError(t, err)
	require.True(t, kept(), "after unlinking a user key")

	_, err = th.AddKey("keyring", "r", nil, KEY_SPEC_SESSION_KEYRING)
	require.NoError(t, err)
	require.False(t, kept(), "after linking a keyring")
	ask()
	require.True(t, kept())
	sys.Advance(time.Second)
	require.False(t, kept(), "after the clock moved")
}

package emu_test

import (
	"math"
	"strconv"
	"testing"

	"github.com/keyemu/keyemu/emu"
)

// benchThread returns a root thread with a joined anonymous session keyring
// and quotas high enough never to interfere (they are raised through
// Config, not switched off).
func benchThread(b *testing.B) (*emu.System, *emu.Thread) {
	b.Helper()
	sys := emu.New(emu.Config{RootMaxKeys: math.MaxInt32, RootMaxBytes: math.MaxInt32})
	th := sys.NewProcess(emu.Creds{UID: 0, GID: 0}).Main()
	if _, err := th.KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0); err != nil {
		b.Fatalf("join: %v", err)
	}
	return sys, th
}

func mustAdd(b *testing.B, th *emu.Thread, typ, desc string, payload []byte, ring int) int {
	b.Helper()
	id, err := th.AddKey(typ, desc, payload, ring)
	if err != nil {
		b.Fatalf("AddKey(%q, %q) = %v", typ, desc, err)
	}
	return id
}

// fillKeyring adds n user keys to a new keyring linked in the session.
func fillKeyring(b *testing.B, th *emu.Thread, n int) int {
	b.Helper()
	ring := mustAdd(b, th, "keyring", "big", nil, emu.KEY_SPEC_SESSION_KEYRING)
	payload := []byte("v")
	for i := 0; i < n; i++ {
		mustAdd(b, th, "user", "k"+strconv.Itoa(i), payload, ring)
	}
	return ring
}

func BenchmarkAddKeyNew(b *testing.B) {
	_, th := benchThread(b)
	ring := mustAdd(b, th, "keyring", "adds", nil, emu.KEY_SPEC_SESSION_KEYRING)
	descs := make([]string, b.N)
	for i := range descs {
		descs[i] = "k" + strconv.Itoa(i)
	}
	payload := []byte("v")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := th.AddKey("user", descs[i], payload, ring); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddKeyUpdate(b *testing.B) {
	_, th := benchThread(b)
	mustAdd(b, th, "user", "same", []byte("v"), emu.KEY_SPEC_SESSION_KEYRING)
	payload := []byte("w")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := th.AddKey("user", "same", payload, emu.KEY_SPEC_SESSION_KEYRING); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRequestKeyHit(b *testing.B) {
	_, th := benchThread(b)
	mustAdd(b, th, "user", "target", []byte("v"), emu.KEY_SPEC_SESSION_KEYRING)
	args := []emu.Arg{emu.String("user"), emu.String("target"), emu.Null(), emu.Int(0)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := th.Syscall(emu.SYS_REQUEST_KEY, args...); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRequestKeyMiss(b *testing.B) {
	_, th := benchThread(b)
	args := []emu.Arg{emu.String("user"), emu.String("absent"), emu.Null(), emu.Int(0)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := th.Syscall(emu.SYS_REQUEST_KEY, args...); err == nil {
			b.Fatal("found a key that does not exist")
		}
	}
}

func benchSearch(b *testing.B, n int, desc string, wantErr bool) {
	_, th := benchThread(b)
	ring := fillKeyring(b, th, n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, err := th.KeyctlSearch(ring, "user", desc, 0)
		if (err != nil) != wantErr {
			b.Fatalf("KeyctlSearch(%q) = %v", desc, err)
		}
	}
}

func BenchmarkSearchHit1k(b *testing.B)  { benchSearch(b, 1000, "k500", false) }
func BenchmarkSearchMiss1k(b *testing.B) { benchSearch(b, 1000, "absent", true) }
func BenchmarkSearchHit1M(b *testing.B)  { benchSearch(b, 1000000, "k500000", false) }
func BenchmarkSearchMiss1M(b *testing.B) { benchSearch(b, 1000000, "absent", true) }

func BenchmarkRead(b *testing.B) {
	_, th := benchThread(b)
	id := mustAdd(b, th, "user", "r", []byte("0123456789"), emu.KEY_SPEC_SESSION_KEYRING)
	buf := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := th.KeyctlBuffer(emu.KEYCTL_READ, id, buf, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDescribe(b *testing.B) {
	_, th := benchThread(b)
	id := mustAdd(b, th, "user", "d", []byte("v"), emu.KEY_SPEC_SESSION_KEYRING)
	buf := make([]byte, 128)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := th.KeyctlBuffer(emu.KEYCTL_DESCRIBE, id, buf, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLinkUnlink(b *testing.B) {
	_, th := benchThread(b)
	id := mustAdd(b, th, "user", "l", []byte("v"), emu.KEY_SPEC_SESSION_KEYRING)
	ring := mustAdd(b, th, "keyring", "lr", nil, emu.KEY_SPEC_SESSION_KEYRING)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := th.KeyctlInt(emu.KEYCTL_LINK, id, ring, 0, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := th.KeyctlInt(emu.KEYCTL_UNLINK, id, ring, 0, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetKeyringIDSession(b *testing.B) {
	_, th := benchThread(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := th.KeyctlGetKeyringID(emu.KEY_SPEC_SESSION_KEYRING, false); err != nil {
			b.Fatal(err)
		}
	}
}

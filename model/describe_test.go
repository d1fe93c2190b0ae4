package model

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// The text of KEYCTL_DESCRIBE is keyctl_describe_key()'s
// "%s;%d;%d;%08x;%s" of the munged IDs (R1.4): IDs above 2^31-1 print
// negative, as the kernel's %d of a uid_t does.
func TestDescribeTextIsTheKernelFormat(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := &Key{
			typ:  rapid.SampledFrom([]*KeyType{TypeUser, TypeKeyring, TypeLogon}).Draw(t, "type"),
			desc: rapid.String().Draw(t, "desc"),
			uid:  UID(rapid.OneOf(rapid.Uint32Range(0, 100), rapid.Uint32()).Draw(t, "uid")),
			gid:  GID(rapid.OneOf(rapid.Uint32Range(0, 100), rapid.Uint32()).Draw(t, "gid")),
			perm: Perm(rapid.Uint32().Draw(t, "perm")),
		}
		ns := &UserNS{}
		want := fmt.Sprintf("%s;%d;%d;%08x;%s", k.typ.Name, int32(ns.uidMunged(k.uid)), int32(ns.gidMunged(k.gid)), uint32(k.perm), k.desc)
		if got := DescribeString(k, ns); got != want {
			t.Fatalf("DescribeString = %q, want %q", got, want)
		}
		prefix := rapid.StringN(0, 8, -1).Draw(t, "prefix")
		if got := string(appendDescribe([]byte(prefix), k, ns)); got != prefix+want {
			t.Fatalf("appendDescribe after %q = %q, want %q", prefix, got, prefix+want)
		}
	})
}

// A cred keeps the head of the text it made last (Cred.head) and writes it
// again for a key of the same type, owner, group and permissions seen from
// the same namespace: every one of those, changed alone, makes it anew.
func TestDescribeHeadKeptByCred(t *testing.T) {
	initial := &UserNS{}
	mapped := &UserNS{parent: initial, uidMap: []IDMapping{{Inside: 0, Outside: 1000, Count: 10}}, gidMap: []IDMapping{{Inside: 5, Outside: 1000, Count: 10}}}
	spaces := []*UserNS{initial, mapped}
	rapid.Check(t, func(t *rapid.T) {
		var h describeHead
		for i := range rapid.IntRange(1, 20).Draw(t, "keys") {
			k := &Key{
				typ:  rapid.SampledFrom([]*KeyType{TypeUser, TypeKeyring}).Draw(t, "type"),
				desc: rapid.SampledFrom([]string{"a", "bc"}).Draw(t, "desc"),
				uid:  UID(rapid.SampledFrom([]uint32{0, 1000, 1001}).Draw(t, "uid")),
				gid:  GID(rapid.SampledFrom([]uint32{0, 1000}).Draw(t, "gid")),
				perm: Perm(rapid.SampledFrom([]uint32{0x3f010000, 0x3f030000}).Draw(t, "perm")),
			}
			ns := rapid.SampledFrom(spaces).Draw(t, "ns")
			var f describeText
			f.fill(k, &h, ns)
			got := make([]byte, f.len())
			f.put(got)
			if want := DescribeString(k, ns); string(got) != want {
				t.Fatalf("describe %d with the kept head = %q, want %q", i, got, want)
			}
		}
	})
}

// With Config.CheckCaches a describe compares the head its cred kept with
// one made anew, and panics when they differ; setperm changes the key's
// text, and the head follows.
func TestDescribeHeadChecked(t *testing.T) {
	s, c, id := sessionUserKey(t, Config{Seed: 3, CheckCaches: true}, "k")
	describe := func() string {
		t.Helper()
		buf := make([]byte, 64)
		n, err := s.Describe(c, id, Buf(buf))
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n-1])
	}
	if got, want := describe(), "user;1000;1000;3f010000;k"; got != want {
		t.Fatalf("describe = %q, want %q", got, want)
	}
	if _, err := s.Setperm(c, id, 0x3f030000); err != nil {
		t.Fatal(err)
	}
	if got, want := describe(), "user;1000;1000;3f030000;k"; got != want {
		t.Fatalf("describe after setperm = %q, want %q", got, want)
	}
	c.head.b[0] = 'U'
	defer func() {
		if recover() == nil {
			t.Fatal("a stale describe head was not noticed")
		}
	}()
	describe()
}

// Every head fits describeHead's array.
func TestDescribeHeadFitsEveryType(t *testing.T) {
	for _, typ := range keyTypes {
		if len(typ.Name) > maxTypeName {
			t.Errorf("type %q is longer than maxTypeName (%d)", typ.Name, maxTypeName)
		}
	}
}

func TestHex8(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Uint32().Draw(t, "v")
		if got, want := fmtHex8(v), fmt.Sprintf("%08x", v); got != want {
			t.Fatalf("fmtHex8(%#x) = %q, want %q", v, got, want)
		}
	})
}

// KEYCTL_DESCRIBE writes the text and its NUL only into a buffer that holds
// both, and returns their length whatever the buffer (op 6); a buffer that
// holds them but cannot be written fails EFAULT.
func TestDescribeIntoBuffer(t *testing.T) {
	s, c, id := sessionUserKey(t, Config{Seed: 5}, "desc-x")
	const text = "user;1000;1000;3f010000;desc-x"
	n := len(text) + 1
	for _, tc := range []struct {
		name string
		buf  UBuf
		want string // what the buffer holds after the call
		err  error
	}{
		{"NULL", NullBuf(0), "", nil},
		{"NULL with a length", NullBuf(n), "", nil},
		{"one byte short", Buf(make([]byte, n-1)), string(make([]byte, n-1)), nil},
		{"exact", Buf(make([]byte, n)), text + "\x00", nil},
		{"larger", Buf(make([]byte, n+3)), text + "\x00\x00\x00\x00", nil},
		{"unwritable", UBuf{B: make([]byte, n), Len: n, Fault: true}, string(make([]byte, n)), EFAULT},
		{"shorter than its length", UBuf{B: make([]byte, n-1), Len: n}, string(make([]byte, n-1)), EFAULT},
	} {
		r, err := s.Describe(c, id, tc.buf)
		if err != tc.err || (err == nil && r != n) {
			t.Errorf("%s: Describe = %d, %v; want %d, %v", tc.name, r, err, n, tc.err)
		}
		if got := string(tc.buf.B); got != tc.want {
			t.Errorf("%s: buffer holds %q, want %q", tc.name, got, tc.want)
		}
	}
}

// DescribeKnown gives what Describe gives into a caller's buffer of each
// length: the text and its NUL only into one that holds them whole.
func TestDescribeKnownIntoBuffer(t *testing.T) {
	s, c, id := sessionUserKey(t, Config{Seed: 5}, "desc-x")
	const text = "user;1000;1000;3f010000;desc-x"
	n := len(text) + 1
	for size := 0; size <= n+2; size++ {
		buf := make([]byte, size)
		r, ok := s.DescribeKnown(c, id, buf, size)
		if !ok || r != n {
			t.Fatalf("DescribeKnown(buf[%d]) = %d, %v; want %d, true", size, r, ok, n)
		}
		want := make([]byte, size)
		if size >= n {
			copy(want, text)
		}
		if string(buf) != string(want) {
			t.Errorf("DescribeKnown(buf[%d]) leaves %q, want %q", size, buf, want)
		}
	}
	if _, ok := s.DescribeKnown(c, id+1, nil, 0); ok {
		t.Errorf("DescribeKnown of no key settled the call")
	}
}

// sessionUserKey returns a State made with cfg, a cred of UID and GID 1000
// in a new session keyring, and the user key desc it added there.
func sessionUserKey(t *testing.T, cfg Config, desc string) (*State, *Cred, int32) {
	t.Helper()
	s := New(cfg)
	c := s.NewCred(1000, 1000, nil, s.InitNS())
	if _, err := s.JoinSessionKeyring(c, NullStr); err != nil {
		t.Fatal(err)
	}
	id, err := s.AddKey(c, Str("user"), Str(desc), Buf([]byte("v")), specSession)
	if err != nil {
		t.Fatal(err)
	}
	return s, c, int32(id)
}

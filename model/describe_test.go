package model

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// The text of KEYCTL_DESCRIBE is keyctl_describe_key()'s
// "%s;%d;%d;%08x;%s" of the munged IDs (R1.4): IDs that do not fit an int
// print negative, the invalid ID as -1.
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

func TestHex8(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Uint32().Draw(t, "v")
		if got, want := fmtHex8(v), fmt.Sprintf("%08x", v); got != want {
			t.Fatalf("fmtHex8(%#x) = %q, want %q", v, got, want)
		}
	})
}

package emu

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// The wrappers' shortcuts to the model's argument types make what the
// argument conversions make of the arguments the wrappers would build; a
// string holding a NUL, which x/sys refuses, makes none.
func TestWrapperArgumentsMatchConversions(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringOfN(rapid.SampledFrom([]rune{'a', 'b', 0, 'é'}), 0, 40, -1).Draw(t, "s")
		a := String(s)
		str, ok := cString(s)
		if hasNUL := strings.IndexByte(s, 0) >= 0; ok == hasNUL {
			t.Fatalf("cString(%q) = %+v, %v", s, str, ok)
		}
		if want := ustr(&a); ok && str != want {
			t.Fatalf("cString(%q) = %+v, ustr(String) = %+v", s, str, want)
		}
		buf := make([]byte, rapid.IntRange(0, 8).Draw(t, "cap"))
		n := rapid.IntRange(0, 16).Draw(t, "n")
		ba, na := bufArg(buf), Int(n)
		got, want := bufUBuf(buf, n), ubuf(&ba, &na)
		if got.Len != want.Len || got.Null != want.Null || got.Fault != want.Fault || len(got.B) != len(want.B) ||
			(len(buf) > 0 && &got.B[0] != &want.B[0]) {
			t.Fatalf("bufUBuf(%d bytes, %d) = %+v, ubuf(bufArg, Int) = %+v", len(buf), n, got, want)
		}
	})
}

// hasNUL finds a NUL at every position of strings of every length up to
// 80, whatever the other bytes are.
func TestHasNUL(t *testing.T) {
	for n := 0; n <= 80; n++ {
		for _, fill := range []byte{'a', 0x80, 0xff, 0x01} {
			b := bytes.Repeat([]byte{fill}, n)
			if hasNUL(string(b)) {
				t.Fatalf("hasNUL(%q) = true", b)
			}
			for i := 0; i < n; i++ {
				c := slices.Clone(b)
				c[i] = 0
				if !hasNUL(string(c)) {
					t.Fatalf("hasNUL(%q) = false", c)
				}
			}
		}
	}
}

package emu

import (
	"testing"

	"pgregory.net/rapid"
)

// The wrappers' shortcuts to the model's argument types make what the
// argument conversions make of the arguments the wrappers would build.
func TestWrapperArgumentsMatchConversions(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringOf(rapid.SampledFrom([]rune{'a', 'b', 0, 'é'})).Draw(t, "s")
		a := String(s)
		if got, want := strArg(s), ustr(&a); got != want {
			t.Fatalf("strArg(%q) = %+v, ustr(String) = %+v", s, got, want)
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

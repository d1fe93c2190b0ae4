package model

import "testing"

// kstrtos32 accepts what the kernel's kstrtos32(s, 0) accepts, as
// key_or_keyring:<serial> restrictions parse it.
func TestKstrtos32(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"123", 123, true}, {"0x1f", 31, true}, {"0X1F", 31, true}, {"017", 15, true},
		{"0", 0, true}, {"-5", -5, true}, {"+5", 5, true}, {"12\n", 12, true},
		{"2147483647", 1<<31 - 1, true}, {"-2147483648", -1 << 31, true},
		{"2147483648", 0, false}, {"0b101", 0, false}, {"0o17", 0, false}, {"1_000", 0, false},
		{"", 0, false}, {"0x", 0, false}, {"08", 0, false}, {"12\n\n", 0, false}, {" 1", 0, false},
	} {
		got, ok := kstrtos32(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("kstrtos32(%q) = %d, %v, want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

package model

import "testing"

// LookupType finds every registered type by its name, and nothing by a
// name that differs from one by a byte or by its length.
func TestLookupTypeFindsEveryType(t *testing.T) {
	for _, typ := range keyTypes {
		if got, ok := LookupType(typ.Name); !ok || got != typ {
			t.Errorf("LookupType(%q) = %v, %v; want the type", typ.Name, got, ok)
		}
		for _, name := range []string{typ.Name[:len(typ.Name)-1], typ.Name + "s", "x" + typ.Name[1:]} {
			if got, ok := LookupType(name); ok {
				t.Errorf("LookupType(%q) = %q, want none", name, got.Name)
			}
		}
	}
}

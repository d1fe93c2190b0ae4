package main

import (
	"strings"
	"testing"
)

// Two processes, each with its own level: the ratio in each process is
// its kernel median over its emulator median, and the range runs from the
// lowest to the highest of them.
func TestRatioRangeIsPerProcess(t *testing.T) {
	const out = `goos: linux
BenchmarkOps/emu/read-2 	100	10 ns/op	0 allocs/op
BenchmarkOps/emu/read-2 	100	12 ns/op	0 allocs/op
BenchmarkOps/emu/read-2 	100	11 ns/op	0 allocs/op
BenchmarkOps/kernel/read-2 	100	330 ns/op	0 allocs/op
goos: linux
BenchmarkOps/emu/read-2 	100	20 ns/op	0 allocs/op
BenchmarkOps/kernel/read-2 	100	400 ns/op	0 allocs/op
BenchmarkOps/kernel/read-2 	100	440 ns/op	0 allocs/op
goos: linux
BenchmarkOps/emu/read-2 	100	5 ns/op	0 allocs/op
`
	res, err := parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if res.procs != 3 {
		t.Fatalf("%d processes, want 3", res.procs)
	}
	lo, hi, ok := res.ratioRange("Ops/emu/read", "Ops/kernel/read")
	if !ok || lo != 21 || hi != 30 {
		t.Fatalf("ratioRange = %v, %v, %v; want 21, 30, true (the third process ran no kernel side)", lo, hi, ok)
	}
	if _, _, ok := res.ratioRange("Ops/emu/read", "Ops/kernel/describe"); ok {
		t.Fatal("ratioRange of a benchmark that did not run reports a range")
	}
	if m, _ := res.median("Ops/emu/read", "ns/op"); m != 11 {
		t.Fatalf("median over every process = %v, want 11", m)
	}
}

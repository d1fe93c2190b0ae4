//go:build !linux

package conformance

import (
	"os"
	"testing"
)

// Main is the TestMain of a test binary that uses Kernel. There is no
// kernel backend on this system: it only runs the tests.
func Main(m *testing.M) { os.Exit(m.Run()) }

// Kernel skips tb: the kernel backend needs Linux (KEYEMU_KERNEL=require
// makes that a failure).
func Kernel(tb testing.TB) Backend {
	tb.Helper()
	_, why := tryKernel(tb)
	tb.Skip(why)
	return nil
}

// tryKernel is Kernel without the skip: there is no kernel backend here.
func tryKernel(tb testing.TB) (Backend, string) {
	tb.Helper()
	if os.Getenv("KEYEMU_KERNEL") == "require" {
		tb.Fatal("kernel backend required by KEYEMU_KERNEL=require but this system is not Linux")
	}
	return nil, "kernel backend unavailable: not Linux"
}

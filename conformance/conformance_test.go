package conformance_test

import (
	"flag"
	"fmt"
	"testing"

	"github.com/keyemu/keyemu/conformance"
	"github.com/keyemu/keyemu/emu"
)

var update = flag.Bool("update", false, "rewrite the expected outputs in testdata from the kernel backend")

func TestMain(m *testing.M) { conformance.Main(m) }

// TestKernel runs the scenarios on the running kernel, which writes the
// expected outputs (-update) and so must agree with them.
func TestKernel(t *testing.T) {
	b := conformance.Kernel(t)
	if *update {
		conformance.Update(t, b, "testdata")
		return
	}
	conformance.RunDir(t, b, "testdata")
}

// TestEmulator checks the emulator against the kernel's expected outputs:
// with every cached answer recomputed and compared (CheckCaches), and as
// users run it, where cached answers are given without recomputing.
func TestEmulator(t *testing.T) {
	for _, check := range []bool{true, false} {
		t.Run(fmt.Sprintf("CheckCaches=%v", check), func(t *testing.T) {
			conformance.RunDir(t, conformance.Emulator(emu.Config{CheckCaches: check}), "testdata")
		})
	}
}

// TestRunEmbedded runs the corpus compiled into the package, as an outside
// implementation would through conformance.Run.
func TestRunEmbedded(t *testing.T) {
	conformance.Run(t, conformance.Emulator(emu.Config{CheckCaches: true}))
}

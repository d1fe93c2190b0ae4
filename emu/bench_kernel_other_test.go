//go:build !linux

package emu_test

import "runtime"

// openKernel reports that there is no kernel key retention service here.
func openKernel() (*benchEnv, error) {
	return nil, unusableError{"no kernel key retention service on " + runtime.GOOS}
}

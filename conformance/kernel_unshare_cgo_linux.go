//go:build linux && cgo

package conformance

// canUnshare: kernel_unshare_linux.c is linked in.
const canUnshare = true

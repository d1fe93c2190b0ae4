//go:build linux && !cgo

package conformance

// canUnshare: without cgo nothing runs before the Go runtime starts its
// threads, and unshare(CLONE_NEWUSER) needs a single-threaded process.
const canUnshare = false

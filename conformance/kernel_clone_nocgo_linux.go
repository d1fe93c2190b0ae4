//go:build linux && !cgo

package conformance

import (
	"errors"
	"fmt"
)

// startThread cannot create a thread from a chosen thread without cgo: the
// Go runtime never creates threads from a locked thread.
func startThread(func()) error {
	return fmt.Errorf("clone(CLONE_THREAD) from a chosen thread needs cgo: %w", errors.ErrUnsupported)
}

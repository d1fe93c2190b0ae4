package conformance

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/keyemu/keyemu/emu"
)

// UserNSThread is a Thread that can enter a new user namespace. A Thread
// that is not one skips the scenarios that need it.
type UserNSThread interface {
	// ExecUnshareUser is execve(2) of a program that first calls
	// unshare(CLONE_NEWUSER), as unshare(1) does, after which the world's
	// root process writes uidMap and gidMap (none: the namespace stays
	// unmapped). Outside IDs are IDs of the world's namespace. The
	// session keyring is kept (R2.4a); user keyrings and keyring names
	// are the new namespace's own (R2.5, R2.7).
	ExecUnshareUser(uidMap, gidMap []emu.IDMap) error
}

// parseIDMap reads a map argument of unshare-user: lines
// INSIDE:OUTSIDE:COUNT separated by '/'.
func parseIDMap(s string) ([]emu.IDMap, error) {
	if s == "" {
		return nil, nil
	}
	var out []emu.IDMap
	for _, e := range strings.Split(s, "/") {
		f := strings.Split(e, ":")
		if len(f) != 3 {
			return nil, fmt.Errorf("want INSIDE:OUTSIDE:COUNT[/...], got %q", s)
		}
		var n [3]uint32
		for i, v := range f {
			u, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("want INSIDE:OUTSIDE:COUNT[/...], got %q", s)
			}
			n[i] = uint32(u)
		}
		out = append(out, emu.IDMap{Inside: n[0], Outside: n[1], Count: n[2]})
	}
	return out, nil
}

// runUnshareUser is the unshare-user command.
func runUnshareUser(x *execState, s *step) (string, error) {
	u, ok := s.thread.(UserNSThread)
	if !ok {
		return "", fmt.Errorf("entering a user namespace: %w", errors.ErrUnsupported)
	}
	uidMap, _ := parseIDMap(s.kw["uidmap"])
	gidMap, _ := parseIDMap(s.kw["gidmap"])
	if err := u.ExecUnshareUser(uidMap, gidMap); err != nil {
		return "", err
	}
	for _, o := range s.ts.proc.threads {
		o.alive = o == s.ts
	}
	return "", nil
}

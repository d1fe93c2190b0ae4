//go:build linux

package conformance

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/keyemu/keyemu/emu"
)

// ExecUnshareUser execs the thread's helper program with envUnshare set,
// so that it enters a new user namespace before its runtime starts; then
// the world's root process (the zygote, which has every capability in the
// world's namespace, the new one's parent) writes the maps, before the new
// program makes any key system call.
func (t *kernelThread) ExecUnshareUser(uidMap, gidMap []emu.IDMap) error {
	if !canUnshare {
		return fmt.Errorf("unshare(CLONE_NEWUSER) in a helper needs cgo: %w", errors.ErrUnsupported)
	}
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	hc, err := t.reexecLocked(true)
	if err != nil {
		return err
	}
	if len(uidMap) == 0 && len(gidMap) == 0 {
		return nil
	}
	rep, err := t.w.call(t.w.zygote, wireRequest{Thread: 1, Op: opIDMap, Pid: hc.pid, UIDMap: idMapText(uidMap), GIDMap: idMapText(gidMap)})
	if err == nil {
		err = result(rep)
	}
	if err != nil {
		return fmt.Errorf("writing the id maps of pid %d: %v", hc.pid, err)
	}
	return nil
}

func idMapText(m []emu.IDMap) string {
	var b strings.Builder
	for _, e := range m {
		fmt.Fprintf(&b, "%d %d %d\n", e.Inside, e.Outside, e.Count)
	}
	return b.String()
}

// writeIDMaps writes /proc/PID/uid_map and gid_map (user_namespaces(7)).
func writeIDMaps(pid int, uidMap, gidMap string) error {
	for _, f := range []struct{ name, text string }{{"uid_map", uidMap}, {"gid_map", gidMap}} {
		if f.text == "" {
			continue
		}
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/%s", pid, f.name), []byte(f.text), 0); err != nil {
			return err
		}
	}
	return nil
}

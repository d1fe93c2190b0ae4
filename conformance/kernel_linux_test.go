//go:build linux

package conformance

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/keyemu/keyemu/emu"
)

func kernelForTest(t *testing.T) *kernelBackend {
	t.Helper()
	return Kernel(t).(*kernelBackend)
}

func getKeyringID(th Thread, id int) (int, error) {
	return th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_GET_KEYRING_ID), emu.Int(id), emu.Int(0))
}

// A helper that dies is reported with its handle and breaks its world.
func TestKernelHelperDies(t *testing.T) {
	b := kernelForTest(t)
	w, err := b.NewWorld()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	th, err := w.Spawn(Creds{UID: 50090, GID: 50090})
	if err != nil {
		t.Fatal(err)
	}
	kt := th.(*kernelThread)
	pid := kt.p.hc.pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Once the helper is reaped the request itself fails (EPIPE), the
	// case a call racing with the death meets first.
	for syscall.Kill(pid, 0) == nil {
		time.Sleep(5 * time.Millisecond)
	}
	_, err = getKeyringID(th, emu.KEY_SPEC_USER_KEYRING)
	if err == nil || !strings.Contains(err.Error(), "helper died") || !strings.Contains(err.Error(), kt.p.handle) {
		t.Errorf("KEYCTL_GET_KEYRING_ID(@u) on a killed helper = %v, want a helper-died error naming %s", err, kt.p.handle)
	}
	if _, err := w.Spawn(Creds{UID: 50090, GID: 50090}); err == nil || !strings.Contains(err.Error(), "unusable") {
		t.Errorf("Spawn after a helper died = %v, want the world unusable", err)
	}
}

// A helper that does not answer is killed after the timeout.
func TestKernelHelperHangs(t *testing.T) {
	b := kernelForTest(t)
	b.timeout.Store(int64(300 * time.Millisecond))
	w, err := b.NewWorld()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	th, err := w.Spawn(Creds{UID: 50091, GID: 50091})
	if err != nil {
		t.Fatal(err)
	}
	kt := th.(*kernelThread)
	pid := kt.p.hc.pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	_, err = getKeyringID(th, emu.KEY_SPEC_USER_KEYRING)
	if err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("KEYCTL_GET_KEYRING_ID(@u) on a stopped helper = %v, want a no-answer error", err)
	}
	// SIGKILL ends even a stopped process; its parent reaps it.
	for syscall.Kill(pid, 0) == nil {
		time.Sleep(10 * time.Millisecond)
	}
}

// Threads made by Clone are real threads of the same process.
func TestKernelCloneIsAThread(t *testing.T) {
	b := kernelForTest(t)
	w, err := b.NewWorld()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	th, err := w.Spawn(Creds{UID: 50092, GID: 50092})
	if err != nil {
		t.Fatal(err)
	}
	p, err := getKeyringID(th, emu.KEY_SPEC_PROCESS_KEYRING)
	if err == nil {
		t.Fatalf("@p before creation = %d, want ENOKEY", p)
	}
	if p, err = th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_GET_KEYRING_ID), emu.Int(emu.KEY_SPEC_PROCESS_KEYRING), emu.Int(1)); err != nil {
		t.Fatal(err)
	}
	c, err := th.Clone()
	if err != nil {
		t.Skipf("Clone: %v", err)
	}
	got, err := getKeyringID(c, emu.KEY_SPEC_PROCESS_KEYRING)
	if err != nil || got != p {
		t.Errorf("@p of a thread cloned after @p was created = %d, %v; want %d", got, err, p)
	}
	if err := c.Exit(); err != nil {
		t.Fatal(err)
	}
	if got, err := getKeyringID(th, emu.KEY_SPEC_PROCESS_KEYRING); err != nil || got != p {
		t.Errorf("@p after the clone exited = %d, %v; want %d", got, err, p)
	}
}

// A world with its own gc_delay holds the sysctl lock exclusively while it
// lives and puts the old value back when it closes.
func TestKernelGCDelayWorld(t *testing.T) {
	b := kernelForTest(t)
	old, err := readSysctl(gcDelayPath)
	if err != nil {
		t.Fatal(err)
	}
	w, err := b.NewWorldConfig(WorldConfig{GCDelay: 3 * time.Second})
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if cur, _ := readSysctl(gcDelayPath); cur != "3" {
		t.Errorf("gc_delay in a world with GCDelay 3s = %q, want 3", cur)
	}
	f, err := os.Open(filepath.Join(os.TempDir(), sysctlLockFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != unix.EWOULDBLOCK {
		t.Errorf("flock(LOCK_SH) while a world changes gc_delay = %v, want EWOULDBLOCK", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if cur, _ := readSysctl(gcDelayPath); cur != old {
		t.Errorf("gc_delay after the world closed = %q, want %q", cur, old)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		t.Errorf("flock(LOCK_SH) after the world closed = %v, want success", err)
	}
}

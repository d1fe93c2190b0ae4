//go:build linux

package conformance

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The key service's sysctls (/proc/sys/kernel/keys) are global: a world
// that changes one changes it for every world and every other user of the
// machine's keys. So a world with its own settings (WorldConfig) runs
// alone. Every kernel world holds a lock file: a shared flock(2) for a world
// with the defaults, an exclusive one for a world that changes a sysctl.
// The lock is on a file in the temporary directory, so worlds of other test
// processes (another go test of this package, the differential test) wait
// too. A world that changes a sysctl waits for every world of its own test
// process to close, but for other processes' worlds only foreignLockWait:
// then its scenario is skipped (failed under KEYEMU_KERNEL=require).
//
// The changed value is put back by a guard process started before the
// change: it holds the lock with the world and waits for its standard input
// to end, then writes the old value and exits. The world closes that input
// when it closes; if the test process dies first (panic, test timeout,
// SIGKILL), the kernel closes it. Main checks at the end of the run that
// the sysctls are as they were at its start.

const (
	gcDelayPath = "/proc/sys/kernel/keys/gc_delay"
	// sysctlLockFile is the lock's name in os.TempDir().
	sysctlLockFile = "keyemu-conformance-sysctl.lock"
	// sysctlLockWait bounds the wait for the lock: an exclusive holder
	// waits for every world of its own test process to close.
	sysctlLockWait = 5 * time.Minute
	// foreignLockWait bounds how long an exclusive holder waits for
	// worlds of other processes (a long differential run, say): then the
	// world is not made and its scenario is skipped.
	foreignLockWait = 30 * time.Second
	// envSysctlGuard makes the helper binary a guard of the sysctl file it
	// names, whose value to restore is envSysctlValue.
	envSysctlGuard = "KEYEMU_CONFORMANCE_SYSCTL_GUARD"
	envSysctlValue = "KEYEMU_CONFORMANCE_SYSCTL_VALUE"
)

// lockSysctls takes the sysctl lock, shared or exclusive, waiting at most
// sysctlLockWait.
func lockSysctls(exclusive bool) (*os.File, error) {
	path := filepath.Join(os.TempDir(), sysctlLockFile)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	var foreignSince time.Time
	for deadline := time.Now().Add(sysctlLockWait); ; {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if exclusive && errors.Is(err, unix.EWOULDBLOCK) {
			if others := otherLockHolders(f); len(others) == 0 {
				foreignSince = time.Time{}
			} else if foreignSince.IsZero() {
				foreignSince = time.Now()
			} else if time.Since(foreignSince) > foreignLockWait {
				f.Close()
				err := fmt.Errorf("other processes (pids %v) keep kernel worlds open, and a changed sysctl is the machine's: not changing it", others)
				if os.Getenv("KEYEMU_KERNEL") == "require" {
					return nil, err
				}
				return nil, fmt.Errorf("%v: %w", err, errors.ErrUnsupported)
			}
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			what := "a world that changes /proc/sys/kernel/keys"
			if exclusive {
				what = "the other kernel worlds (of this or another test process)"
			}
			return nil, fmt.Errorf("locking %s: %v (waited for %s for %v)", path, err, what, sysctlLockWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// otherLockHolders returns the processes other than this one that
// /proc/locks says hold a flock(2) on f's file.
func otherLockHolders(f *os.File) []int {
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		return nil
	}
	// "1: FLOCK  ADVISORY  READ 32016 fe:00:9978205 0 EOF"
	suffix := ":" + strconv.FormatUint(st.Ino, 10)
	var pids []int
	for _, line := range strings.Split(string(b), "\n") {
		fl := strings.Fields(line)
		if len(fl) < 6 || fl[1] != "FLOCK" || !strings.HasSuffix(fl[5], suffix) {
			continue
		}
		if pid, err := strconv.Atoi(fl[4]); err == nil && pid != os.Getpid() && !slices.Contains(pids, pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func readSysctl(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

func writeSysctl(path, value string) error {
	return os.WriteFile(path, []byte(value+"\n"), 0)
}

// sysctlHold is a world's hold on the sysctls: the lock, and for a world
// that changed one, the guard that puts it back.
type sysctlHold struct {
	lock    *os.File
	path    string // the changed sysctl, or ""
	old     string
	guard   *exec.Cmd
	guardIn io.WriteCloser
}

// holdSysctls takes the lock for a world with cfg and applies cfg. exe is
// the helper binary, which runs the guard.
func holdSysctls(cfg WorldConfig, exe string) (*sysctlHold, error) {
	if cfg.GCDelay == 0 {
		f, err := lockSysctls(false)
		if err != nil {
			return nil, err
		}
		return &sysctlHold{lock: f}, nil
	}
	secs := cfg.GCDelay / time.Second
	if cfg.GCDelay%time.Second != 0 || secs < 1 {
		return nil, fmt.Errorf("gc_delay %v: want whole seconds, at least one", cfg.GCDelay)
	}
	f, err := lockSysctls(true)
	if err != nil {
		return nil, err
	}
	h := &sysctlHold{lock: f, path: gcDelayPath}
	if h.old, err = readSysctl(h.path); err != nil {
		f.Close()
		return nil, err
	}
	h.guard = exec.Command(exe)
	h.guard.Env = []string{envSysctlGuard + "=" + h.path, envSysctlValue + "=" + h.old}
	h.guard.Stderr = os.Stderr
	h.guard.ExtraFiles = []*os.File{f} // the guard holds the lock until it has restored
	if h.guardIn, err = h.guard.StdinPipe(); err != nil {
		f.Close()
		return nil, err
	}
	if err := h.guard.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting the guard of %s: %v", h.path, err)
	}
	if err := writeSysctl(h.path, strconv.Itoa(int(secs))); err != nil {
		return nil, errors.Join(fmt.Errorf("setting %s: %v", h.path, err), h.release())
	}
	return h, nil
}

// release puts the changed sysctl back (through the guard), checks it and
// drops the lock. It is safe to call more than once.
func (h *sysctlHold) release() error {
	if h == nil || h.lock == nil {
		return nil
	}
	var err error
	if h.guard != nil {
		h.guardIn.Close()
		done := make(chan error, 1)
		go func() { done <- h.guard.Wait() }()
		select {
		case werr := <-done:
			if werr != nil {
				err = fmt.Errorf("the guard of %s failed: %v", h.path, werr)
			}
		case <-time.After(10 * time.Second):
			_ = h.guard.Process.Kill()
			err = fmt.Errorf("the guard of %s did not exit; killed it", h.path)
		}
		if cur, rerr := readSysctl(h.path); rerr != nil || cur != h.old {
			err = errors.Join(err, fmt.Errorf("%s is %q after the world, want %q; writing it back", h.path, cur, h.old), writeSysctl(h.path, h.old))
		}
	}
	h.lock.Close()
	h.lock = nil
	return err
}

// isSysctlGuard reports whether this process is a guard.
func isSysctlGuard() bool { return os.Getenv(envSysctlGuard) != "" }

// sysctlGuardMain waits for its standard input to end, then restores the
// sysctl and exits. It outlives the signals that end a test run.
func sysctlGuardMain() {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	_, _ = io.Copy(io.Discard, os.Stdin)
	path, old := os.Getenv(envSysctlGuard), os.Getenv(envSysctlValue)
	if err := writeSysctl(path, old); err != nil {
		fmt.Fprintf(os.Stderr, "keyemu conformance: restoring %s to %s: %v\n", path, old, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// sysctlSnapshot reads the sysctls a world may change, under the shared
// lock so that no world is changing them. ok is false if they cannot be
// read (not Linux with keys, or the lock is held too long).
func sysctlSnapshot() (value string, ok bool) {
	if os.Geteuid() != 0 {
		return "", false
	}
	f, err := lockSysctls(false)
	if err != nil {
		return "", false
	}
	defer f.Close()
	v, err := readSysctl(gcDelayPath)
	return v, err == nil
}

// checkSysctls reports an error, and writes the start value back, if the
// sysctls differ from start.
func checkSysctls(start string) error {
	f, err := lockSysctls(false)
	if err != nil {
		return fmt.Errorf("cannot check %s at the end of the run: %v", gcDelayPath, err)
	}
	defer f.Close()
	cur, err := readSysctl(gcDelayPath)
	if err != nil {
		return err
	}
	if cur != start {
		return errors.Join(fmt.Errorf("%s is %s at the end of the run but was %s at its start: a world that changed it did not put it back; writing %s",
			gcDelayPath, cur, start, start), writeSysctl(gcDelayPath, start))
	}
	return nil
}

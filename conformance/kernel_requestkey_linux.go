//go:build linux

package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/keyemu/keyemu/emu"
)

// The kernel runs /sbin/request-key as a usermode helper: root of the
// initial user and mount namespaces, reading /etc/request-key.d/*.conf and
// /etc/request-key.conf (keyutils 1.6). A world's request-key-conf lines
// are therefore installed machine-wide, as
// /etc/request-key.d/keyemu-<run>-<world>.conf, for as long as the world
// lives; and so that they construct only this world's keys, every
// description pattern gets a prefix unique to the run and the world. The
// world adds the prefix to descriptions the scenario passes to add_key,
// request_key and KEYCTL_SEARCH that a pattern could match, and removes it
// from what KEYCTL_DESCRIBE and KEYCTL_READ return, so scenarios never see
// it.
//
// The files are removed when the world closes, when the backend's test
// ends, and on SIGINT, SIGTERM and SIGHUP; files left by a run that could
// not clean up (SIGKILL, a test timeout) are removed by the next run once
// they are an hour old.

const (
	requestKeyHelper  = "/sbin/request-key"
	requestKeyConfDir = "/etc/request-key.d"
	// programFlag as the first argument makes the test binary run a
	// request-key.conf program instead of tests.
	programFlag = "--keyemu-request-key-program"
	// staleConfAge is the age at which another run's file is assumed
	// abandoned.
	staleConfAge = time.Hour
)

// kernelRequestKey is a world's installed request-key configuration.
type kernelRequestKey struct {
	prefix   string
	path     string
	patterns []string // description patterns as the scenario wrote them
}

// installedConfs are the files this process installed and has not yet
// removed. A signal ends the whole process, so its cleanup is per process.
var installedConfs = struct {
	sync.Mutex
	files  map[string]bool
	notify sync.Once
}{files: map[string]bool{}}

func registerConf(path string) {
	installedConfs.notify.Do(func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		go func() {
			sig := <-ch
			removeAllConfs()
			signal.Reset(sig)
			_ = syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		}()
	})
	installedConfs.Lock()
	installedConfs.files[path] = true
	installedConfs.Unlock()
}

func removeConf(path string) {
	_ = os.Remove(path)
	installedConfs.Lock()
	delete(installedConfs.files, path)
	installedConfs.Unlock()
}

func removeAllConfs() {
	installedConfs.Lock()
	defer installedConfs.Unlock()
	for p := range installedConfs.files {
		_ = os.Remove(p)
		delete(installedConfs.files, p)
	}
}

// removeStaleConfs removes other runs' files that are older than
// staleConfAge.
func removeStaleConfs() {
	for _, pat := range []string{"keyemu-*.conf", ".keyemu-*.tmp"} {
		files, _ := filepath.Glob(filepath.Join(requestKeyConfDir, pat))
		for _, f := range files {
			if fi, err := os.Lstat(f); err == nil && time.Since(fi.ModTime()) > staleConfAge {
				_ = os.Remove(f)
			}
		}
	}
}

// requestKeyUnavailable says why the kernel cannot run request-key.conf
// lines here; under KEYEMU_KERNEL=require that fails the scenario.
func requestKeyUnavailable(why string) error {
	if os.Getenv("KEYEMU_KERNEL") == "require" {
		return fmt.Errorf("key construction required by KEYEMU_KERNEL=require but unavailable: %s", why)
	}
	return fmt.Errorf("key construction: %s: %w", why, errors.ErrUnsupported)
}

// keyctlPath is keyutils' keyctl(1).
func keyctlPath() (string, error) {
	for _, p := range []string{"/bin/keyctl", "/usr/bin/keyctl"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return exec.LookPath("keyctl")
}

// ConfigureRequestKey installs conf for this world, replacing its earlier
// configuration.
func (w *kernelWorld) ConfigureRequestKey(conf string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := os.Stat(requestKeyHelper); err != nil {
		return requestKeyUnavailable(requestKeyHelper + " is missing (install keyutils)")
	}
	keyctl, err := keyctlPath()
	if err != nil {
		return requestKeyUnavailable("keyctl(1) is missing (install keyutils)")
	}
	rk := &kernelRequestKey{
		prefix: fmt.Sprintf("keyemu-%s-%s:", w.b.token[:8], w.name),
		path:   filepath.Join(requestKeyConfDir, fmt.Sprintf("keyemu-%s-%s.conf", w.b.token[:8], w.name)),
	}
	var out strings.Builder
	fmt.Fprintf(&out, "# keyemu conformance run (pid %d), world %s: removed when the scenario ends.\n", os.Getpid(), w.name)
	for _, line := range strings.Split(conf, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || strings.HasPrefix(f[0], "#") {
			continue
		}
		rk.patterns = append(rk.patterns, f[2])
		f[2] = rk.prefix + f[2]
		pipe := ""
		prog := f[4]
		if strings.HasPrefix(prog, "|") {
			pipe, prog = "|", prog[1:]
		}
		switch prog {
		case "/bin/keyctl", "/usr/bin/keyctl":
			prog = keyctl
		case reportProgramName, probeProgramName:
			prog = w.b.exe + " " + programFlag + " " + prog
		default:
			return fmt.Errorf("request-key-conf: program %q: want /bin/keyctl, %s or %s", prog, reportProgramName, probeProgramName)
		}
		f[4] = pipe + prog
		out.WriteString(strings.Join(f, " ") + "\n")
	}
	if err := os.MkdirAll(requestKeyConfDir, 0o755); err != nil {
		return requestKeyUnavailable(err.Error())
	}
	registerConf(rk.path)
	tmp := filepath.Join(requestKeyConfDir, "."+filepath.Base(rk.path)+".tmp")
	registerConf(tmp)
	if err := os.WriteFile(tmp, []byte(out.String()), 0o644); err != nil {
		removeConf(tmp)
		return requestKeyUnavailable(err.Error())
	}
	if err := os.Rename(tmp, rk.path); err != nil {
		removeConf(tmp)
		return requestKeyUnavailable(err.Error())
	}
	removeConf(tmp)
	w.rk = rk
	return nil
}

// removeRequestKeyConf removes the world's configuration; w.mu held.
func (w *kernelWorld) removeRequestKeyConfLocked() {
	if w.rk != nil {
		removeConf(w.rk.path)
		w.rk = nil
	}
}

// covers reports whether a pattern could match desc; a description it
// covers gets the prefix. Covering more than request-key matches is
// harmless: a prefixed description that no line matches stays unmatched.
func (rk *kernelRequestKey) covers(desc string) bool {
	for _, p := range rk.patterns {
		star := strings.IndexByte(p, '*')
		if star < 0 && p == desc || star >= 0 && strings.HasPrefix(desc, p[:star]) {
			return true
		}
	}
	return false
}

// descArg is the index of the description argument of a system call, or
// -1.
func descArg(nr int, args []emu.Arg) int {
	switch {
	case nr == emu.SYS_ADD_KEY, nr == emu.SYS_REQUEST_KEY:
		return 1
	case nr == emu.SYS_KEYCTL && len(args) > 3 && args[0].IntValue() == emu.KEYCTL_SEARCH:
		return 3
	}
	return -1
}

// translate returns args with a covered description prefixed, and the
// function that turns the call's return value into the scenario's: it
// removes the prefix from what KEYCTL_DESCRIBE or KEYCTL_READ wrote into
// the buffer and shortens the return value to match. A result that did not
// fit in the buffer is left alone. A nil rk translates nothing.
func (rk *kernelRequestKey) translate(nr int, args []emu.Arg) ([]emu.Arg, func(int) int) {
	same := func(ret int) int { return ret }
	if rk == nil {
		return args, same
	}
	if i := descArg(nr, args); i >= 0 && i < len(args) {
		if d, ok := args[i].StringValue(); ok && rk.covers(d) {
			args = append([]emu.Arg{}, args...)
			args[i] = emu.String(rk.prefix + d)
		}
		return args, same
	}
	if nr != emu.SYS_KEYCTL || len(args) < 3 {
		return args, same
	}
	if op := args[0].IntValue(); op != emu.KEYCTL_DESCRIBE && op != emu.KEYCTL_READ {
		return args, same
	}
	buf, ok := args[2].BufferValue()
	if !ok {
		return args, same
	}
	before := append([]byte{}, buf...)
	return args, func(ret int) int {
		if ret < 0 || ret > len(buf) {
			return ret
		}
		text := bytes.ReplaceAll(buf[:ret], []byte(rk.prefix), nil)
		copy(buf, text)
		copy(buf[len(text):ret], before[len(text):ret])
		return len(text)
	}
}

// isRequestKeyProgram reports whether this process is a request-key.conf
// program run by /sbin/request-key.
func isRequestKeyProgram() bool { return len(os.Args) > 2 && os.Args[1] == programFlag }

// requestKeyProgramMain runs the program named by os.Args[2] with the
// arguments after it, writes its output to stdout and exits.
func requestKeyProgramMain() {
	runtime.LockOSThread()
	var out []byte
	var err error
	if run := requestKeyProgram(os.Args[2]); run != nil {
		out, err = run(hostSyscaller{}, os.Args[3:])
	} else {
		err = fmt.Errorf("unknown program %q", os.Args[2])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "keyemu conformance %s: %v\n", os.Args[2], err)
		os.Exit(1)
	}
	_, _ = os.Stdout.Write(out)
	os.Exit(0)
}

// hostSyscaller makes key system calls on the calling thread.
type hostSyscaller struct{}

func (hostSyscaller) Syscall(nr int, args ...emu.Arg) (int, error) {
	return emu.HostSyscall(nr, args...)
}

// ProcKeys reads /proc/keys, opened on the calling thread.
func (hostSyscaller) ProcKeys() (string, error) {
	b, err := os.ReadFile("/proc/keys")
	return string(b), err
}

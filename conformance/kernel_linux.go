//go:build linux

package conformance

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/keyemu/keyemu/emu"
)

// defaultHelperTimeout bounds every exchange with a helper process. A
// helper that does not answer in time is killed and the command is reported
// as failed.
const defaultHelperTimeout = 10 * time.Second

// Main is the TestMain of a test binary that uses Kernel: the kernel backend
// runs its worlds in helper processes that re-execute the test binary, and
// Main turns such a re-execution into a helper (it never returns there).
// Otherwise it runs the tests and exits.
//
//	func TestMain(m *testing.M) { conformance.Main(m) }
//
// Main also checks that the run leaves the key sysctls as it found them
// (scenarios may change gc_delay for their world): if not, it says so,
// writes the old value back and exits with status 1.
func Main(m *testing.M) {
	if isHelper() {
		helperMain()
	}
	start, check := sysctlSnapshot()
	code := m.Run()
	if check {
		if err := checkSysctls(start); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: keyemu conformance: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// Kernel returns the backend that runs scenarios on the running Linux
// kernel, or skips tb when it cannot, saying why: not root, keyctl blocked
// or missing, no user namespaces, or a test process that has a session
// keyring. The environment variable KEYEMU_KERNEL=require turns those skips
// into failures and KEYEMU_KERNEL=off skips without probing. The test
// binary's TestMain must call Main. Helper processes end when tb's test
// ends.
//
// Each world runs in a new user namespace created by real root. Root inside
// is kernel uid 0; uids and gids 1-65535 inside map to a block of 65536
// kernel IDs not used by any other world, so quota records (per kernel
// uid, R7.1) and the namespace's user keyrings (R2.5, R2.7) are fresh in
// every world, and /proc/key-users shows a non-root uid's own line exactly.
// Root's quota record is the machine's: scenarios must not pin uid 0's
// /proc/key-users line. Root in the namespace lacks CAP_SYS_ADMIN in the
// initial namespace, so the root-only rules of R6.3 apply as for any
// namespace root.
//
// Every process of a world is a real process (credentials and the process
// keyring are per process) and every thread a real thread (keyrings are per
// thread). Known limit: the helpers are Go programs and so always have
// several threads, so KEYCTL_SESSION_TO_PARENT aimed at one fails EPERM
// (parent has more than one thread).
func Kernel(tb testing.TB) Backend {
	tb.Helper()
	b, why := tryKernel(tb)
	if b == nil {
		tb.Skip(why)
	}
	return b
}

// tryKernel is Kernel without the skip: it returns nil and the reason when
// the kernel backend is unavailable.
func tryKernel(tb testing.TB) (Backend, string) {
	tb.Helper()
	mode := os.Getenv("KEYEMU_KERNEL")
	switch mode {
	case "off":
		return nil, "KEYEMU_KERNEL=off: kernel backend disabled"
	case "", "require":
	default:
		tb.Fatalf("KEYEMU_KERNEL=%q: want off, require or unset", mode)
	}
	b, err := newKernelBackend(tb)
	if err == nil {
		err = b.probe()
	}
	if err != nil {
		if mode == "require" {
			tb.Fatalf("kernel backend required by KEYEMU_KERNEL=require but unavailable: %v", err)
		}
		return nil, fmt.Sprintf("kernel backend unavailable: %v", err)
	}
	return b, ""
}

type kernelBackend struct {
	addr  string
	token string
	exe   string
	ln    *net.UnixListener
	kbase uint32 // first kernel ID block; world n uses kbase + n*65536

	timeout atomic.Int64 // of every exchange with a helper, a time.Duration

	mu      sync.Mutex
	pending map[string]chan *helperConn
	worlds  map[*kernelWorld]bool
	nworlds uint32
	closed  bool
}

// helperConn is the connection to one program image of a helper process.
type helperConn struct {
	conn  net.Conn
	r     *bufio.Reader
	pid   int
	pidfd int
}

func (c *helperConn) kill() {
	if c.pidfd >= 0 {
		_ = unix.PidfdSendSignal(c.pidfd, unix.SIGKILL, nil, 0)
		_ = unix.Close(c.pidfd)
		c.pidfd = -1
	}
	_ = c.conn.Close()
}

func newKernelBackend(tb testing.TB) (*kernelBackend, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("not root (euid %d): creating a user namespace with an ID map of other users needs root", os.Geteuid())
	}
	var rnd [18]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	b := &kernelBackend{
		token:   hex.EncodeToString(rnd[:16]),
		kbase:   (0x2000 + uint32(binary.LittleEndian.Uint16(rnd[16:]))%0x3000) << 16,
		pending: map[string]chan *helperConn{},
		worlds:  map[*kernelWorld]bool{},
	}
	b.timeout.Store(int64(defaultHelperTimeout))
	b.addr = fmt.Sprintf("@keyemu-conformance-%d-%s", os.Getpid(), b.token[:8])

	// Helpers run as the scenario's users, which cannot reach the test
	// binary inside go test's private build directory: they run a copy.
	dir, err := os.MkdirTemp("", "keyemu-conformance-")
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	b.exe = filepath.Join(dir, "helper")
	if err := copyExecutable("/proc/self/exe", b.exe); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}

	removeStaleConfs()

	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: b.addr, Net: "unix"})
	if err != nil {
		return nil, err
	}
	b.ln = ln
	tb.Cleanup(b.close)
	go b.accept()
	return b, nil
}

func copyExecutable(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func (b *kernelBackend) Name() string { return "kernel" }

func (b *kernelBackend) helperTimeout() time.Duration { return time.Duration(b.timeout.Load()) }

// probe checks in a throwaway world that keyctl works and that processes
// start without a session keyring.
func (b *kernelBackend) probe() error {
	w, err := b.NewWorld()
	if err != nil {
		return err
	}
	defer w.Close()
	t, err := w.Spawn(Creds{})
	if err != nil {
		return err
	}
	getid := func(id int) (int, error) {
		return t.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_GET_KEYRING_ID), emu.Int(id), emu.Int(0))
	}
	us, err := getid(emu.KEY_SPEC_USER_SESSION_KEYRING)
	if err != nil {
		if _, ok := emu.ErrnoOf(err); ok {
			return fmt.Errorf("keyctl(KEYCTL_GET_KEYRING_ID, @us) fails %s: the kernel lacks CONFIG_KEYS or a seccomp filter blocks keyctl", emu.ErrnoName(err))
		}
		return err
	}
	// Without a session keyring, @s resolves to the user session keyring of
	// the world's fresh namespace (R3.4); an inherited one would differ.
	s, err := getid(emu.KEY_SPEC_SESSION_KEYRING)
	if err != nil {
		return fmt.Errorf("keyctl(KEYCTL_GET_KEYRING_ID, @s): %v", err)
	}
	if s != us {
		return errors.New("the test process has a session keyring, which every process it starts inherits (R2.4a) and no system call removes: " +
			"run go test from a process without one (not from a PAM login with pam_keyinit, not from a systemd unit with KeyringMode=private/shared)")
	}
	return nil
}

func (b *kernelBackend) accept() {
	for {
		c, err := b.ln.AcceptUnix()
		if err != nil {
			return
		}
		go b.greet(c)
	}
}

// greet reads a helper's hello and hands the connection to whoever waits
// for that handle.
func (b *kernelBackend) greet(c *net.UnixConn) {
	_ = c.SetReadDeadline(time.Now().Add(b.helperTimeout()))
	r := bufio.NewReader(c)
	line, err := r.ReadBytes('\n')
	var h wireHello
	if err != nil || json.Unmarshal(line, &h) != nil || h.Token != b.token {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	pidfd, err := unix.PidfdOpen(h.Pid, 0)
	if err != nil {
		pidfd = -1
	}
	hc := &helperConn{conn: c, r: r, pid: h.Pid, pidfd: pidfd}
	b.mu.Lock()
	ch := b.pending[h.Handle]
	delete(b.pending, h.Handle)
	b.mu.Unlock()
	if ch == nil {
		hc.kill()
		return
	}
	ch <- hc
}

// expect registers interest in the hello of handle.
func (b *kernelBackend) expect(handle string) chan *helperConn {
	ch := make(chan *helperConn, 1)
	b.mu.Lock()
	b.pending[handle] = ch
	b.mu.Unlock()
	return ch
}

func (b *kernelBackend) wait(handle string, ch chan *helperConn) (*helperConn, error) {
	select {
	case hc := <-ch:
		return hc, nil
	case <-time.After(b.helperTimeout()):
		b.mu.Lock()
		delete(b.pending, handle)
		b.mu.Unlock()
		return nil, fmt.Errorf("helper %s did not start within %v (does the test binary's TestMain call conformance.Main?)", handle, b.helperTimeout())
	}
}

func (b *kernelBackend) close() {
	b.mu.Lock()
	b.closed = true
	worlds := make([]*kernelWorld, 0, len(b.worlds))
	for w := range b.worlds {
		worlds = append(worlds, w)
	}
	b.mu.Unlock()
	for _, w := range worlds {
		w.Close()
	}
	b.ln.Close()
}

// kernelWorld is one user namespace and the helper processes in it.
type kernelWorld struct {
	b     *kernelBackend
	name  string
	kbase uint32
	cmd   *exec.Cmd
	done  chan struct{} // closed when the zygote has been waited for

	mu      sync.Mutex // serialises exchanges with the world's helpers
	zygote  *kernelProc
	procs   []*kernelProc
	nprocs  int
	nthread int
	nreq    uint64
	broken  error
	closed  bool
	rk      *kernelRequestKey // request-key-conf lines installed for the world
	sysctls *sysctlHold       // released when the world closes
}

// kernelProc is one process of a world.
type kernelProc struct {
	handle string
	hc     *helperConn
}

type kernelThread struct {
	w   *kernelWorld
	p   *kernelProc
	num int
}

func (b *kernelBackend) NewWorld() (World, error) { return b.NewWorldConfig(WorldConfig{}) }

// NewWorldConfig starts a world with cfg. A world that changes a sysctl
// runs alone: it waits until every other kernel world has closed, of this
// test process and of others, and none starts until it closes and the
// sysctl is back (kernel_sysctl_linux.go).
func (b *kernelBackend) NewWorldConfig(cfg WorldConfig) (World, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errors.New("kernel backend closed")
	}
	b.mu.Unlock()
	hold, err := holdSysctls(cfg, b.exe)
	if err != nil {
		return nil, err
	}
	w, err := b.newWorld(hold)
	if err != nil {
		return nil, errors.Join(err, hold.release())
	}
	return w, nil
}

func (b *kernelBackend) newWorld(hold *sysctlHold) (*kernelWorld, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errors.New("kernel backend closed")
	}
	n := b.nworlds
	b.nworlds++
	b.mu.Unlock()
	w := &kernelWorld{b: b, name: fmt.Sprintf("w%d", n), kbase: b.kbase + n<<16, done: make(chan struct{}), sysctls: hold}
	zy := &kernelProc{handle: w.name + ".zygote"}
	w.nthread++
	ch := b.expect(zy.handle)
	cmd := exec.Command(b.exe)
	cmd.Dir = "/"
	cmd.Env = []string{
		envAddr + "=" + b.addr, envToken + "=" + b.token, envProc + "=" + zy.handle,
		envThread + "=" + strconv.Itoa(w.nthread), envZygote + "=1",
	}
	cmd.Stderr = os.Stderr
	idmap := func() []syscall.SysProcIDMap {
		return []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: 1, HostID: int(w.kbase) + 1, Size: 65535}}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER,
		UidMappings:                idmap(),
		GidMappings:                idmap(),
		GidMappingsEnableSetgroups: true,
	}
	if err := cmd.Start(); err != nil {
		b.mu.Lock()
		delete(b.pending, zy.handle)
		b.mu.Unlock()
		return nil, fmt.Errorf("cannot start a process in a new user namespace: %v", err)
	}
	w.cmd = cmd
	go func() {
		_ = cmd.Wait()
		close(w.done)
	}()
	b.mu.Lock()
	b.worlds[w] = true
	b.mu.Unlock()
	hc, err := b.wait(zy.handle, ch)
	if err != nil {
		w.sysctls = nil // released by the caller
		w.Close()
		return nil, err
	}
	zy.hc = hc
	w.zygote = zy
	return w, nil
}

// call sends req to p and returns its reply. A helper that breaks the
// exchange is killed and breaks the world.
func (w *kernelWorld) call(p *kernelProc, req wireRequest) (wireReply, error) {
	if w.broken != nil {
		return wireReply{}, fmt.Errorf("world unusable after an earlier failure: %w", w.broken)
	}
	if w.closed {
		return wireReply{}, errors.New("world closed")
	}
	if p.hc == nil {
		return wireReply{}, fmt.Errorf("process %s has exited", p.handle)
	}
	w.nreq++
	req.ID = w.nreq
	fail := func(err error) (wireReply, error) {
		p.hc.kill()
		w.broken = fmt.Errorf("helper %s (pid %d), %s: %v", p.handle, p.hc.pid, req.Op, err)
		return wireReply{}, w.broken
	}
	line, err := json.Marshal(req)
	if err != nil {
		return wireReply{}, err
	}
	_ = p.hc.conn.SetDeadline(time.Now().Add(w.b.helperTimeout()))
	// A helper that is gone shows as a failed write (EPIPE, ECONNRESET)
	// when it died before the request, or as a failed read after it.
	broke := func(err error) (wireReply, error) {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fail(fmt.Errorf("no answer within %v; killed it", w.b.helperTimeout()))
		}
		return fail(fmt.Errorf("helper died: %v", err))
	}
	if _, err := p.hc.conn.Write(append(line, '\n')); err != nil {
		return broke(err)
	}
	resp, err := p.hc.r.ReadBytes('\n')
	if err != nil {
		return broke(err)
	}
	_ = p.hc.conn.SetDeadline(time.Time{})
	var rep wireReply
	if err := json.Unmarshal(resp, &rep); err != nil || rep.ID != req.ID {
		return fail(fmt.Errorf("bad reply %q", resp))
	}
	return rep, nil
}

// result turns a reply into the error a Thread method returns.
func result(rep wireReply) error {
	switch {
	case rep.Unsupported:
		msg := strings.TrimSuffix(rep.Err, ": "+errors.ErrUnsupported.Error())
		return fmt.Errorf("%s: %w", msg, errors.ErrUnsupported)
	case rep.Err != "":
		return errors.New(rep.Err)
	case rep.Errno != 0:
		return syscall.Errno(rep.Errno)
	}
	return nil
}

// start asks parent's thread to fork (or spawn) a new helper process and
// waits for its hello.
func (w *kernelWorld) start(parent *kernelProc, thread int, op string, ints []int) (Thread, error) {
	w.nprocs++
	w.nthread++
	p := &kernelProc{handle: fmt.Sprintf("%s.p%d", w.name, w.nprocs)}
	num := w.nthread
	ch := w.b.expect(p.handle)
	rep, err := w.call(parent, wireRequest{Thread: thread, Op: op, Ints: ints, Child: p.handle, NewThread: num})
	if err == nil {
		err = result(rep)
	}
	if err != nil {
		w.b.mu.Lock()
		delete(w.b.pending, p.handle)
		w.b.mu.Unlock()
		return nil, fmt.Errorf("%s: %v", op, err)
	}
	hc, err := w.b.wait(p.handle, ch)
	if err != nil {
		w.broken = err
		return nil, err
	}
	p.hc = hc
	w.procs = append(w.procs, p)
	return &kernelThread{w: w, p: p, num: num}, nil
}

func (w *kernelWorld) Spawn(c Creds) (Thread, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ints := []int{int(c.UID), int(c.GID)}
	for _, g := range c.Groups {
		ints = append(ints, int(g))
	}
	return w.start(w.zygote, 1, opSpawn, ints)
}

func (w *kernelWorld) Advance(d time.Duration) error {
	time.Sleep(d)
	return nil
}

// Settle makes the kernel's garbage collector run a pass (pokeCollector),
// then waits until the world's quota records stop changing: the collector
// is a work item with no completion signal, so this is the observable
// proxy (R8.1, R8.4). Root's record is shared with the rest of the machine
// and is not watched.
func (w *kernelWorld) Settle() error {
	if err := pokeCollector(); err != nil {
		return err
	}
	read := func() string {
		b, _ := os.ReadFile("/proc/key-users")
		var mine []string
		for _, line := range strings.Split(string(b), "\n") {
			u, _, ok := strings.Cut(line, ":")
			n, err := strconv.ParseUint(strings.TrimSpace(u), 10, 32)
			if ok && err == nil && uint32(n) >= w.kbase && uint32(n)-w.kbase < 1<<16 {
				mine = append(mine, line)
			}
		}
		return strings.Join(mine, "\n")
	}
	// The collector's passes are separated by RCU grace periods and queued
	// work, which take tens of milliseconds when many worlds run at once:
	// quiet for 250 ms counts as done.
	prev, stable := read(), 0
	for deadline := time.Now().Add(3 * time.Second); stable < 10 && time.Now().Before(deadline); {
		time.Sleep(25 * time.Millisecond)
		cur := read()
		if cur == prev {
			stable++
		} else {
			prev, stable = cur, 0
		}
	}
	return nil
}

// pokeSeq numbers the collector's pokes, for unique descriptions.
var pokeSeq atomic.Uint64

// pokeCollector makes the kernel's garbage collector run a pass now and
// waits until that pass is done: it invalidates a key of its own (in root's
// user keyring), which schedules a pass at once (key_schedule_gc_links),
// and waits until /proc/keys no longer lists the key. The pass that
// unlinks it also unlinks every link that is due by then (it gc's every
// keyring with the current gc_delay), and the key goes with the keys that
// pass left unreferenced. A pass reaps only what is due, as the timer's
// would; waiting for the timer instead left an expired key linked, now and
// then, while the machine was busy.
func pokeCollector() error {
	desc := fmt.Sprintf("keyemu-settle-%d-%d", os.Getpid(), pokeSeq.Add(1))
	id, err := unix.AddKey("user", desc, []byte("x"), unix.KEY_SPEC_USER_KEYRING)
	if err != nil {
		return fmt.Errorf("settle: add_key: %v", err)
	}
	if _, err := unix.KeyctlInt(unix.KEYCTL_INVALIDATE, id, 0, 0, 0); err != nil {
		return fmt.Errorf("settle: KEYCTL_INVALIDATE: %v", err)
	}
	line := fmt.Sprintf("%08x ", id)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile("/proc/keys")
		if err != nil {
			return fmt.Errorf("settle: %v", err)
		}
		if !strings.HasPrefix(string(b), line) && !strings.Contains(string(b), "\n"+line) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("settle: the collector did not destroy key %d (%s) in 10 s", id, desc)
		}
	}
}

func (w *kernelWorld) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.removeRequestKeyConfLocked()
	for _, p := range w.procs {
		if p.hc != nil {
			p.hc.kill()
			p.hc = nil
		}
	}
	if w.zygote != nil && w.zygote.hc != nil {
		w.zygote.hc.kill()
	}
	w.mu.Unlock()
	if w.cmd != nil {
		_ = w.cmd.Process.Kill()
		<-w.done
	}
	w.b.mu.Lock()
	delete(w.b.worlds, w)
	w.b.mu.Unlock()
	// Last: no process of the world is left to see the sysctls change back.
	return w.sysctls.release()
}

func (t *kernelThread) do(req wireRequest) (wireReply, error) {
	req.Thread = t.num
	rep, err := t.w.call(t.p, req)
	if err != nil {
		return rep, err
	}
	return rep, result(rep)
}

func (t *kernelThread) Syscall(nr int, args ...emu.Arg) (int, error) {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	args, untranslate := t.w.rk.translate(nr, args)
	rep, err := t.do(wireRequest{Op: opSyscall, NR: nr, Args: toWire(args)})
	if rep.ID == 0 {
		return -1, err
	}
	i := 0
	for _, a := range args {
		if b, ok := a.BufferValue(); ok && i < len(rep.Bufs) {
			copy(b, rep.Bufs[i])
			i++
		}
	}
	if err != nil {
		return -1, err
	}
	return untranslate(rep.Ret), nil
}

func (t *kernelThread) Clone() (Thread, error) {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	t.w.nthread++
	num := t.w.nthread
	if _, err := t.do(wireRequest{Op: opClone, NewThread: num}); err != nil {
		return nil, err
	}
	return &kernelThread{w: t.w, p: t.p, num: num}, nil
}

func (t *kernelThread) Fork() (Thread, error) {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	return t.w.start(t.p, t.num, opFork, nil)
}

func (t *kernelThread) Exec() error {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	_, err := t.reexecLocked(false)
	return err
}

// reexecLocked has the helper execve itself (entering a new user namespace
// first when unshare is set) and switches to the new image's connection;
// the process, same pid, lives on. It expects t.w.mu held.
func (t *kernelThread) reexecLocked(unshare bool) (*helperConn, error) {
	ch := t.w.b.expect(t.p.handle)
	if _, err := t.do(wireRequest{Op: opExec, NewThread: t.num, Unshare: unshare}); err != nil {
		t.w.b.mu.Lock()
		delete(t.w.b.pending, t.p.handle)
		t.w.b.mu.Unlock()
		return nil, err
	}
	hc, err := t.w.b.wait(t.p.handle, ch)
	if err != nil {
		t.w.broken = err
		return nil, err
	}
	_ = t.p.hc.conn.Close()
	if t.p.hc.pidfd >= 0 {
		_ = unix.Close(t.p.hc.pidfd)
	}
	t.p.hc = hc
	return hc, nil
}

func (t *kernelThread) Exit() error {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	rep, err := t.do(wireRequest{Op: opExit})
	if err != nil {
		return err
	}
	if rep.LastThread {
		// The process ends with its last thread: let its connection go,
		// as ExitGroup does. The accepted end of a Unix stream connection
		// holds the credentials the helper connected with (sk_peer_cred),
		// and with them the session keyring the program started with,
		// until it is closed.
		t.p.hc.kill()
		t.p.hc = nil
	}
	return nil
}

func (t *kernelThread) ExitGroup() error {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	if _, err := t.do(wireRequest{Op: opExitGroup}); err != nil {
		return err
	}
	t.p.hc.kill()
	t.p.hc = nil
	return nil
}

func (t *kernelThread) ids(op string, ids ...int) error {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	_, err := t.do(wireRequest{Op: op, Ints: ids})
	return err
}

func (t *kernelThread) Setresuid(r, e, s int) error { return t.ids(opSetresuid, r, e, s) }
func (t *kernelThread) Setresgid(r, e, s int) error { return t.ids(opSetresgid, r, e, s) }

func (t *kernelThread) Setgroups(gids []uint32) error {
	ints := make([]int, len(gids))
	for i, g := range gids {
		ints[i] = int(g)
	}
	return t.ids(opSetgroups, ints...)
}

func (t *kernelThread) ProcKeyUsers() (string, error) {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	rep, err := t.do(wireRequest{Op: opKeyUsers})
	return rep.Text, err
}

func (t *kernelThread) ProcKeys() (string, error) {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	rep, err := t.do(wireRequest{Op: opKeys})
	if t.w.rk != nil {
		// Descriptions the world prefixed for its request-key lines.
		rep.Text = strings.ReplaceAll(rep.Text, t.w.rk.prefix, "")
	}
	return rep.Text, err
}

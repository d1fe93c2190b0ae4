//go:build linux

package conformance

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/keyemu/keyemu/emu"
)

// A helper process is one process of a kernel world. Each of its emulated
// threads is a goroutine locked to its own OS thread, because keyrings are
// per thread in the kernel (R2.2-R2.4). The process's first emulated thread
// runs on a fresh runtime thread: every thread of a new Go program has the
// credentials its first thread inherited (no thread or process keyring, the
// forking thread's session keyring), and only emulated threads make key
// system calls, so any of them will do. Later threads are made by
// pthread_create from the emulated thread that clones them (cgo), so the
// kernel copies that thread's credentials, as clone(CLONE_THREAD) does.

// helper is the state of a helper process.
type helper struct {
	conn   net.Conn
	handle string
	env    []string // helper environment without envProc and envThread

	wmu sync.Mutex // serialises replies

	mu      sync.Mutex
	threads map[int]chan wireRequest
}

func isHelper() bool { return os.Getenv(envAddr) != "" || isRequestKeyProgram() || isSysctlGuard() }

// helperMain runs this process as a helper, as a request-key.conf program
// or as the guard of a sysctl. It never returns.
func helperMain() {
	if isRequestKeyProgram() {
		requestKeyProgramMain()
	}
	if isSysctlGuard() {
		sysctlGuardMain()
	}
	// The reader loop keeps the main thread, so that emulated threads are
	// never the main thread, which the Go runtime cannot let exit.
	runtime.LockOSThread()
	h := &helper{handle: os.Getenv(envProc), threads: map[int]chan wireRequest{}}
	for _, k := range []string{envAddr, envToken} {
		h.env = append(h.env, k+"="+os.Getenv(k))
	}
	thread, err := strconv.Atoi(os.Getenv(envThread))
	if err != nil {
		fatalf("bad %s: %v", envThread, err)
	}
	if os.Getenv(envZygote) == "1" {
		// Orphans of the world are re-parented here and reaped below, so
		// that none is left to init.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
		}
	}
	reapChildren()

	conn, err := net.Dial("unix", os.Getenv(envAddr))
	if err != nil {
		fatalf("connecting to the test process: %v", err)
	}
	h.conn = conn
	hello, _ := json.Marshal(wireHello{Token: os.Getenv(envToken), Handle: h.handle, Pid: os.Getpid()})
	if _, err := conn.Write(append(hello, '\n')); err != nil {
		fatalf("hello: %v", err)
	}

	h.addThread(thread)
	go func() {
		runtime.LockOSThread() // never unlocked: the OS thread ends with the goroutine
		h.threadLoop(thread)
	}()

	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			// The test process is gone or closed the world.
			os.Exit(0)
		}
		var req wireRequest
		if err := json.Unmarshal(line, &req); err != nil {
			fatalf("bad request %q: %v", line, err)
		}
		h.mu.Lock()
		ch := h.threads[req.Thread]
		h.mu.Unlock()
		if ch == nil {
			h.reply(wireReply{ID: req.ID, Err: fmt.Sprintf("%s has no thread %d", h.handle, req.Thread)})
			continue
		}
		ch <- req
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "keyemu conformance helper %s: %s\n", os.Getenv(envProc), fmt.Sprintf(format, args...))
	os.Exit(2)
}

func reapChildren() {
	sig := make(chan os.Signal, 16)
	signal.Notify(sig, syscall.SIGCHLD)
	go func() {
		for range sig {
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}()
}

func (h *helper) addThread(n int) {
	h.mu.Lock()
	h.threads[n] = make(chan wireRequest, 1)
	h.mu.Unlock()
}

// removeThread forgets thread n and ends the process if it was the last.
func (h *helper) removeThread(n int) {
	h.mu.Lock()
	delete(h.threads, n)
	last := len(h.threads) == 0
	h.mu.Unlock()
	if last {
		os.Exit(0)
	}
}

func (h *helper) reply(rep wireReply) {
	b, err := json.Marshal(rep)
	if err != nil {
		fatalf("encoding reply: %v", err)
	}
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if _, err := h.conn.Write(append(b, '\n')); err != nil {
		os.Exit(0)
	}
}

// threadLoop serves the requests for thread n on the calling goroutine,
// which must be locked to its OS thread. It returns when the thread exits.
func (h *helper) threadLoop(n int) {
	h.mu.Lock()
	ch := h.threads[n]
	h.mu.Unlock()
	for req := range ch {
		rep := wireReply{ID: req.ID}
		switch req.Op {
		case opSyscall:
			args := fromWire(req.Args)
			ret, err := emu.HostSyscall(req.NR, args...)
			rep.Ret = ret
			setErr(&rep, err)
			for _, a := range args {
				if b, ok := a.BufferValue(); ok {
					rep.Bufs = append(rep.Bufs, b)
				}
			}
		case opClone:
			h.addThread(req.NewThread)
			if err := startThread(func() { h.threadLoop(req.NewThread) }); err != nil {
				h.mu.Lock()
				delete(h.threads, req.NewThread)
				h.mu.Unlock()
				setErr(&rep, err)
			}
		case opFork, opSpawn:
			pid, err := h.fork(req)
			rep.Pid = pid
			if err != nil {
				rep.Err = "fork: " + err.Error()
			}
		case opExec:
			h.reply(rep)
			h.exec(req.NewThread, req.Unshare)
			return
		case opExit:
			h.mu.Lock()
			rep.LastThread = len(h.threads) == 1
			h.mu.Unlock()
			h.reply(rep)
			h.removeThread(n)
			return
		case opExitGroup:
			h.reply(rep)
			os.Exit(0)
		case opSetresuid:
			setErr(&rep, syscall.Setresuid(req.Ints[0], req.Ints[1], req.Ints[2]))
		case opSetresgid:
			setErr(&rep, syscall.Setresgid(req.Ints[0], req.Ints[1], req.Ints[2]))
		case opSetgroups:
			setErr(&rep, syscall.Setgroups(req.Ints))
		case opIDMap:
			setErr(&rep, writeIDMaps(req.Pid, req.UIDMap, req.GIDMap))
		case opKeyUsers, opKeys:
			// Opened on this thread: the file shows what this thread's
			// credentials may see and, for /proc/keys, what it possesses
			// (R9.1, R9.5).
			name := "/proc/key-users"
			if req.Op == opKeys {
				name = "/proc/keys"
			}
			b, err := os.ReadFile(name)
			rep.Text = string(b)
			if err != nil {
				rep.Err = err.Error()
			}
		default:
			rep.Err = "unknown operation " + req.Op
		}
		h.reply(rep)
	}
}

func setErr(rep *wireReply, err error) {
	var errno syscall.Errno
	switch {
	case err == nil:
	case errors.As(err, &errno):
		// First: syscall.Errno counts EOPNOTSUPP and ENOSYS as
		// errors.ErrUnsupported, but from a system call they are output.
		rep.Errno = int(errno)
	case errors.Is(err, errors.ErrUnsupported):
		rep.Unsupported, rep.Err = true, err.Error()
	default:
		rep.Err = err.Error()
	}
}

// fork starts a child helper from the calling thread, so that the child's
// credentials are copies of this thread's (R2.2b, R2.3, R2.4a). Go forks
// with clone(CLONE_VFORK|CLONE_VM) and the child execs this program at once,
// so a Fork is fork and execve: fork already drops the thread and process
// keyrings and both keep the session keyring, the request-key default and
// any assumed authority, but the execve also sets the saved and filesystem
// IDs to the effective ones and its open program file pins the forked
// credentials until the child exits or execs (R2.2b). A
// spawn also sets the child's groups, gid and uid before execve, as a
// process manager would.
func (h *helper) fork(req wireRequest) (int, error) {
	env := append([]string{envProc + "=" + req.Child, envThread + "=" + strconv.Itoa(req.NewThread)}, h.env...)
	attr := &syscall.ProcAttr{Dir: "/", Env: env, Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{}}
	if req.Op == opSpawn {
		if len(req.Ints) < 2 {
			return 0, fmt.Errorf("spawn without uid and gid")
		}
		groups := make([]uint32, 0, len(req.Ints)-2)
		for _, g := range req.Ints[2:] {
			groups = append(groups, uint32(g))
		}
		attr.Sys.Credential = &syscall.Credential{Uid: uint32(req.Ints[0]), Gid: uint32(req.Ints[1]), Groups: groups}
	}
	return syscall.ForkExec("/proc/self/exe", []string{"keyemu-helper"}, attr)
}

// exec replaces this program with a fresh copy from the calling thread: the
// kernel ends the other threads, drops the thread and process keyrings and
// keeps the session keyring (R2.2b, R2.3, R2.4a). The new program says hello
// again with the same handle.
func (h *helper) exec(thread int, unshare bool) {
	env := append([]string{envProc + "=" + h.handle, envThread + "=" + strconv.Itoa(thread)}, h.env...)
	if unshare {
		env = append(env, envUnshare+"=1")
	}
	err := syscall.Exec("/proc/self/exe", []string{"keyemu-helper"}, env)
	fatalf("execve: %v", err)
}

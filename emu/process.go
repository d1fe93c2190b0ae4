package emu

import (
	"sync/atomic"

	"github.com/keyemu/keyemu/model"
)

// Creds are the IDs a process starts with, as the initial user namespace
// sees them: real, effective, saved and filesystem IDs all equal.
type Creds struct {
	UID, GID uint32
	Groups   []uint32
}

// IDMap is one line of a user namespace's uid_map or gid_map: Count IDs
// from Inside in the new namespace are the parent's IDs from Outside.
type IDMap struct {
	Inside, Outside, Count uint32
}

// Process is an emulated process: a PID, a parent, and threads.
type Process struct {
	sys     *System
	pid     int
	parent  *Process
	threads []*Thread
	exited  bool
	// cons is the key construction this process is the helper of; it
	// completes when the process exits, with result consErr.
	cons    *model.Construction
	consErr error
	// loginSession is the session keyring Login made, for Logout.
	loginSession int
	// image is the credentials the running program was opened with,
	// pinned by the executable file until the process exits or execs
	// again (model.State.Exec); nil before the first Exec.
	image *model.Cred
}

// Thread is an emulated thread. Keyrings belong to threads in the kernel
// (R2.3, R2.4): each Thread has its own credentials. *Thread implements
// Keyctl and Syscaller.
type Thread struct {
	proc *Process
	tid  int
	// shard is t's shard of System.mu (sysLock.shard of tid), which it
	// holds on the shared read path.
	shard  *lockShard
	cred   *model.Cred
	exited bool
	// trace collects explanation steps during Explain.
	trace func(model.Step)
	// keyringIDs holds the last answer of KEYCTL_GET_KEYRING_ID without
	// create for each special ID (index -id-1), made on the shared read
	// path; an answer stands while no writer that may change it has held
	// System.mu since (sysLock.anchors), and is read without the lock
	// (call).
	keyringIDs [8]atomic.Pointer[keyringIDAnswer]
	// lookups holds the last answers of KEYCTL_SEARCH and request_key(2)
	// without a destination, made on the shared read path, and nextLookup
	// the one to replace next; t's shard of System.mu guards them
	// (keptLookup).
	lookups    [keptLookups]keptLookup
	nextLookup uint8
	// buffers holds the last answers of KEYCTL_READ and KEYCTL_DESCRIBE
	// made on the shared read path, and nextBuffer the one to replace
	// next; describeText is where the model writes a describe's text
	// before it is kept. t's shard guards them (keptBuffer).
	buffers      [keptBuffers]keptBuffer
	nextBuffer   uint8
	describeText []byte
	// unkept counts t's lookups, reads and describes in a row that no kept
	// answer served; t's shard guards it (keeping).
	unkept uint32
}

// keyringIDAnswer is one answer of Thread.keyringIDs.
// anchors is the count of writers that may change it (sysLock.anchors)
// the answer stands at; an answer that comes out the same again only
// moves it on, so that a thread asking again after each such write
// allocates nothing.
type keyringIDAnswer struct {
	anchors atomic.Uint64
	r       int
	err     error
}

// NewProcess starts a process with the given IDs and no keyrings at all,
// like a daemon started without PAM (R2.4b). Its parent is init.
func (s *System) NewProcess(c Creds) *Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.m.InitNS()
	groups := make([]model.GID, len(c.Groups))
	for i, g := range c.Groups {
		groups[i] = model.GID(g)
	}
	cred := s.m.NewCred(model.UID(c.UID), model.GID(c.GID), groups, ns)
	return s.newProcessLocked(nil, cred)
}

func (s *System) newProcessLocked(parent *Process, cred *model.Cred) *Process {
	p := &Process{sys: s, pid: s.allocPIDLocked(), parent: parent}
	p.threads = []*Thread{{proc: p, tid: p.pid, shard: s.mu.shard(p.pid), cred: cred}}
	s.procs[p.pid] = p
	return p
}

func (s *System) allocPIDLocked() int {
	s.nextPID++
	return s.nextPID
}

// PID returns the process ID.
func (p *Process) PID() int { return p.pid }

// System returns the emulated kernel the process runs on, so that a
// request-key helper's program can read its files (System.ProcKeys).
func (p *Process) System() *System { return p.sys }

// Main returns the process's first thread, or nil once it has exited.
func (p *Process) Main() *Thread {
	p.sys.mu.Lock()
	defer p.sys.mu.Unlock()
	for _, t := range p.threads {
		if !t.exited {
			return t
		}
	}
	return nil
}

// Threads returns the process's live threads.
func (p *Process) Threads() []*Thread {
	p.sys.mu.Lock()
	defer p.sys.mu.Unlock()
	var out []*Thread
	for _, t := range p.threads {
		if !t.exited {
			out = append(out, t)
		}
	}
	return out
}

// Exit ends every thread of the process: their credentials and whatever
// only they held go away (R2.9).
func (p *Process) Exit() {
	p.sys.mu.Lock()
	defer p.sys.mu.Unlock()
	p.exitLocked()
}

func (p *Process) exitLocked() {
	for _, t := range p.threads {
		t.exitLocked()
	}
	p.exited = true
	if p.image != nil {
		p.sys.m.ReleaseCred(p.image)
		p.image = nil
	}
	delete(p.sys.procs, p.pid)
	if p.cons != nil {
		p.consErr = p.sys.m.FinishConstruction(p.cons, nil)
		p.cons = nil
		p.sys.cond.Broadcast()
	}
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	p.sys.mu.Lock()
	defer p.sys.mu.Unlock()
	return p.exited
}

// Setresuid sets the real, effective and saved user IDs of every thread
// (as glibc and Go's syscall package do); -1 leaves an ID unchanged.
func (p *Process) Setresuid(r, e, s int) error {
	return p.forEachCred(func(c *model.Cred) error { return p.sys.m.Setresuid(c, int64(r), int64(e), int64(s)) })
}

// Setresgid sets the real, effective and saved group IDs of every thread.
func (p *Process) Setresgid(r, e, s int) error {
	return p.forEachCred(func(c *model.Cred) error { return p.sys.m.Setresgid(c, int64(r), int64(e), int64(s)) })
}

// Setgroups sets the supplementary groups of every thread.
func (p *Process) Setgroups(gids []uint32) error {
	return p.forEachCred(func(c *model.Cred) error { return p.sys.m.Setgroups(c, gids) })
}

// forEachCred applies a credential change to every live thread; the
// threads share their IDs, so the first decides success.
func (p *Process) forEachCred(fn func(*model.Cred) error) error {
	p.sys.mu.Lock()
	defer p.sys.mu.Unlock()
	if p.exited {
		return sysErr(model.ESRCH)
	}
	for _, t := range p.threads {
		if t.exited {
			continue
		}
		if err := fn(t.cred); err != nil {
			return toSysErr(err)
		}
	}
	return nil
}

// UnshareUser moves the process into a new user namespace with the given
// maps (as unshare(CLONE_NEWUSER) followed by writing uid_map and gid_map
// from outside): the session keyring is kept (R2.4a), user keyrings and
// keyring names are the new namespace's own (R2.5, R2.7). Every thread
// moves; the process must be single-threaded in Linux, here it need not.
func (p *Process) UnshareUser(uidMap, gidMap []IDMap) error {
	p.sys.mu.Lock()
	defer p.sys.mu.Unlock()
	if p.exited {
		return sysErr(model.ESRCH)
	}
	main := p.threads[0].cred
	conv := func(m []IDMap) []model.IDMapping {
		out := make([]model.IDMapping, len(m))
		for i, e := range m {
			out[i] = model.IDMapping{Inside: e.Inside, Outside: e.Outside, Count: e.Count}
		}
		return out
	}
	ns, err := p.sys.m.NewUserNS(main.NS, main.EUID, conv(uidMap), conv(gidMap))
	if err != nil {
		return toSysErr(err)
	}
	for _, t := range p.threads {
		if !t.exited {
			p.sys.m.EnterUserNS(t.cred, ns)
		}
	}
	return nil
}

// Process returns the thread's process.
func (t *Thread) Process() *Process { return t.proc }

// TID returns the thread ID.
func (t *Thread) TID() int { return t.tid }

// Clone creates a new thread in the same process (CLONE_THREAD). It
// shares the process and session keyrings of t at this moment and gets a
// fresh thread keyring if t has one (R2.2c, R2.3, R2.4).
func (t *Thread) Clone() *Thread {
	s := t.proc.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.exited {
		return nil
	}
	tid := s.allocPIDLocked()
	n := &Thread{proc: t.proc, tid: tid, shard: s.mu.shard(tid), cred: s.m.CloneThread(t.cred)}
	t.proc.threads = append(t.proc.threads, n)
	return n
}

// Fork creates a child process whose single thread copies t's
// credentials: the session keyring is shared, the thread and process
// keyrings are not (R2.2b, R2.3, R2.4a).
func (t *Thread) Fork() *Process {
	s := t.proc.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.exited {
		return nil
	}
	return s.newProcessLocked(t.proc, s.m.Fork(t.cred))
}

// Exec runs execve in t: the other threads of the process end, the
// thread and process keyrings are dropped and the session keyring is kept
// (R2.2b, R2.3, R2.4a). The new program's file pins t's credentials from
// before the call, so the dropped keyrings live on until the process
// exits or execs again, as in Linux.
func (t *Thread) Exec() {
	s := t.proc.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.exited {
		return
	}
	for _, o := range t.proc.threads {
		if o != t {
			o.exitLocked()
		}
	}
	t.proc.threads = []*Thread{t}
	old := t.proc.image
	t.proc.image = s.m.Exec(t.cred)
	if old != nil {
		s.m.ReleaseCred(old)
	}
}

// Exit ends the thread; the last thread's exit ends the process.
func (t *Thread) Exit() {
	s := t.proc.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	t.exitLocked()
	for _, o := range t.proc.threads {
		if !o.exited {
			return
		}
	}
	t.proc.exitLocked()
}

func (t *Thread) exitLocked() {
	if t.exited {
		return
	}
	t.exited = true
	t.proc.sys.m.ReleaseCred(t.cred)
}

// Exited reports whether the thread has exited.
func (t *Thread) Exited() bool {
	s := t.proc.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	return t.exited
}

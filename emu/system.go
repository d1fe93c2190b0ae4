package emu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/keyemu/keyemu/model"
)

// Profile selects the kernel generation the emulator follows (R0).
type Profile = model.Profile

const (
	// ProfileModern is Linux 5.3 and later (the default).
	ProfileModern = model.ProfileModern
	// ProfileLegacy is Linux 4.14 to 5.2 as the man pages describe it.
	ProfileLegacy = model.ProfileLegacy
)

// Config configures a System. The zero Config is Linux's defaults, a
// manual clock starting at model.DefaultStart, and a fixed serial seed, so
// every run is reproducible.
type Config struct {
	// Profile is the kernel generation; the zero value is ProfileModern.
	Profile Profile
	// MaxKeys is /proc/sys/kernel/keys/maxkeys (default 200).
	MaxKeys int
	// MaxBytes is /proc/sys/kernel/keys/maxbytes (default 20000).
	MaxBytes int
	// RootMaxKeys is /proc/sys/kernel/keys/root_maxkeys (default 1000000).
	RootMaxKeys int
	// RootMaxBytes is /proc/sys/kernel/keys/root_maxbytes (default 25000000).
	RootMaxBytes int
	// GCDelay is /proc/sys/kernel/keys/gc_delay (default 300 s).
	GCDelay time.Duration
	// PersistentKeyringExpiry is
	// /proc/sys/kernel/keys/persistent_keyring_expiry (default 259200 s).
	PersistentKeyringExpiry time.Duration
	// Start is the emulated wall clock's starting time.
	Start time.Time
	// Seed seeds the random key serials.
	Seed uint64
	// Mutations switches on deliberately wrong behaviours, for testing
	// test suites (package conformance checks that its scenarios catch
	// each one); zero in every real use.
	Mutations model.Mutation
	// CheckCaches recomputes every cached answer of the model (the
	// possession of a key looked up by serial) and panics when the cache
	// disagrees; for tests, at the cost of what the caches save.
	CheckCaches bool
	// RequestKey stands in for /sbin/request-key: it is run, as a new
	// emulated process, when request_key(2) with a callout finds nothing
	// (R5.4c). Nil is a system without /sbin/request-key: the key is
	// negated and the requester gets ENOENT.
	RequestKey RequestKeyHandler
	// RequestKeyTimeout bounds how long a request_key(2) waits for its
	// handler's process to exit; then the process is killed and the key
	// negated, as when the kernel's helper dies (default 30 s).
	// Divergence: the kernel waits for the helper without limit.
	RequestKeyTimeout time.Duration
	// Faults makes chosen calls fail; SetFaults changes them later.
	Faults []InjectedFault
}

// System is one emulated kernel: the key retention service, its processes
// and threads, and a manual clock.
type System struct {
	// mu guards m and every Process and Thread of the System. Methods
	// whose names end in Locked expect it held for writing. Lookups that
	// change nothing hold only their thread's shard (Thread.runShared);
	// see the locking section of the package documentation.
	mu      sysLock
	m       *model.State
	nextPID int
	procs   map[int]*Process
	cfg     Config
	// cond is signalled, under mu, whenever a key construction may have
	// ended; waiters counts the threads waiting on it.
	cond    *sync.Cond
	waiters int
	faults  []faultState
}

// New returns an emulated kernel configured by cfg.
func New(cfg Config) *System {
	if cfg.RequestKeyTimeout == 0 {
		cfg.RequestKeyTimeout = 30 * time.Second
	}
	s := &System{
		mu:  newSysLock(runtime.NumCPU()),
		cfg: cfg,
		m: model.New(model.Config{
			Profile:                 cfg.Profile,
			MaxKeys:                 cfg.MaxKeys,
			MaxBytes:                cfg.MaxBytes,
			RootMaxKeys:             cfg.RootMaxKeys,
			RootMaxBytes:            cfg.RootMaxBytes,
			GCDelay:                 cfg.GCDelay,
			PersistentKeyringExpiry: cfg.PersistentKeyringExpiry,
			Start:                   cfg.Start,
			Seed:                    cfg.Seed,
			Mutations:               cfg.Mutations,
			CheckCaches:             cfg.CheckCaches,
		}),
		nextPID: 100,
		procs:   make(map[int]*Process),
	}
	s.mu.m = &s.m
	s.m.SetShared(true)
	s.cond = sync.NewCond(&s.mu)
	s.setFaultsLocked(cfg.Faults)
	return s
}

// Now returns the emulated wall clock.
func (s *System) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.Now()
}

// Advance moves the emulated clock forward by d and lets the garbage
// collector do what the kernel's would have done by then (R8.1, R8.2).
func (s *System) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		return
	}
	s.m.SetTime(s.m.Now().Add(d))
	if s.m.GCDue() {
		s.m.Collect()
	}
}

// Collect runs the garbage collector now: keyrings drop their links to
// invalidated keys and to keys whose expiry (or revocation) is gc_delay in
// the past (R8.2).
func (s *System) Collect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.Collect()
}

// ProcKeys returns /proc/keys as read by viewer, or by a root process of
// the initial namespace with no keyrings when viewer is nil (R9.1).
func (s *System) ProcKeys(viewer *Thread) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if viewer == nil {
		// A reader with no keyrings of its own: root of the initial
		// namespace sees every key whose mask lets it view.
		c := s.m.NewCred(0, 0, nil, s.m.InitNS())
		defer s.m.ReleaseCred(c)
		return s.m.ProcKeys(c)
	}
	return s.m.ProcKeys(viewer.cred)
}

// ProcKeyUsers returns /proc/key-users as read by viewer, or from the
// initial user namespace when viewer is nil (R9.5).
func (s *System) ProcKeyUsers(viewer *Thread) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.m.InitNS()
	if viewer != nil {
		ns = viewer.cred.NS
	}
	return s.m.ProcKeyUsers(ns)
}

// Model gives fn the underlying rule engine with the System's lock held,
// for inspection by tests and tools. fn must not retain the State.
func (s *System) Model(fn func(*model.State)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.m)
}

// sysLock is System.mu: a reader/writer lock made of shards, one mutex
// each on cache lines of its own, one per CPU (at most 16, rounded down to
// a power of two). A reader takes the shard of its thread
// (Thread.shard), so that lookups on different CPUs do not write to the same
// cache line, as a single RWMutex's reader count would; a writer takes
// every shard, in order. A shard is a plain mutex: it also serialises the
// calls of one thread (and of threads whose IDs share it), whose lookups
// fill the caches of the thread's credentials. Thread IDs are handed out
// in sequence, so threads made one after another take different shards.
// A write costs a lock and an unlock of every shard, so there are no more
// shards than CPUs to run readers at once. It is a sync.Locker on its write
// side, for System.cond.
//
// While no writer holds it, the model is told it is shared
// (model.State.SetShared): its lookups then take no references, which
// would be atomic writes to the keys' counts from every reader.
type sysLock struct {
	shards []lockShard
	// m is System.m, told it is not shared when a writer has taken every
	// shard and that it is before the writer lets them go.
	m **model.State
	// writes counts the writers that have held the lock: a value read
	// with no writer inside names one state of everything the lock guards
	// (Thread's kept answers). Only a writer, holding every shard, changes
	// it, so a reader holding its shard reads it as a plain word and a
	// write costs no atomic add for it. It has a cache line of its own, so
	// that a write does not make every reader miss the shard list.
	// gen is the model's Gen when the writer inside took the lock, and
	// syscall says the writer is a system call that changes nothing but
	// the model (Thread.runExclusive).
	gen     uint64
	syscall bool
	_       [128 - (unsafe.Sizeof([]lockShard{})+unsafe.Sizeof((**model.State)(nil))+16)%128]byte
	writes  uint64
	// anchors counts the writers that may have changed what a special
	// key ID resolves to: every writer but a system call that left the
	// model's Gen as it was (Thread.keyringIDs).
	anchors atomic.Uint64
	_       [112]byte
}

type lockShard struct {
	sync.Mutex
	_ [128 - unsafe.Sizeof(sync.Mutex{})%128]byte
}

func newSysLock(cpus int) sysLock {
	n := 1
	for n*2 <= min(cpus, 16) {
		n *= 2
	}
	return sysLock{shards: make([]lockShard, n)}
}

// Lock takes every shard.
func (l *sysLock) Lock() {
	for i := range l.shards {
		l.shards[i].Lock()
	}
	(*l.m).SetShared(false)
	l.gen = (*l.m).Gen()
}

// Unlock releases what Lock took, counting the write first.
func (l *sysLock) Unlock() {
	if !l.syscall || (*l.m).Gen() != l.gen {
		l.anchors.Add(1)
	}
	l.syscall = false
	l.writes++
	(*l.m).SetShared(true)
	for i := len(l.shards) - 1; i >= 0; i-- {
		l.shards[i].Unlock()
	}
}

// shard returns the shard of a reader keyed by key (a thread ID): a thread
// keeps its own (Thread.shard), which it locks on the read path. The
// number of shards is a power of two.
func (l *sysLock) shard(key int) *lockShard { return &l.shards[uint(key)&uint(len(l.shards)-1)] }

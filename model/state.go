package model

import (
	"cmp"
	"slices"
	"time"
)

// Profile selects which kernel generation the model follows (R0).
type Profile uint8

const (
	// ProfileModern is Linux 5.3 and later: user keyrings live in the user
	// namespace's register and outlive the UID's processes (R0.1, R2.5).
	ProfileModern Profile = iota
	// ProfileLegacy is Linux 4.14 to 5.2 as the man pages describe it: user
	// keyrings hang off the per-UID record and die with its last credential
	// unless a link pins them (R0.2, R2.6).
	ProfileLegacy
)

// String returns "modern" or "legacy".
func (p Profile) String() string {
	if p == ProfileLegacy {
		return "legacy"
	}
	return "modern"
}

// Config holds the tunables of /proc/sys/kernel/keys and the inputs that
// make a State deterministic. Zero fields take Linux's defaults.
type Config struct {
	Profile Profile
	// MaxKeys and MaxBytes are maxkeys and maxbytes (200, 20000): the quota
	// of every UID but the initial namespace's root (R7.2).
	MaxKeys, MaxBytes int
	// RootMaxKeys and RootMaxBytes are root_maxkeys and root_maxbytes
	// (1000000, 25000000).
	RootMaxKeys, RootMaxBytes int
	// GCDelay is gc_delay (300 s): how long an expired or revoked key stays
	// linked before the collector unlinks it (R8.2).
	GCDelay time.Duration
	// PersistentKeyringExpiry is persistent_keyring_expiry (259200 s).
	PersistentKeyringExpiry time.Duration
	// Start is the wall-clock time the State starts at.
	Start time.Time
	// Seed seeds the serial number generator (R1.1).
	Seed uint64
	// Mutations switches on deliberately wrong behaviours, for testing
	// test suites; zero in every real use.
	Mutations Mutation
	// CheckCaches recomputes every cached result and panics when the
	// cache disagrees, for tests; it costs the time the caches save.
	CheckCaches bool
}

// DefaultStart is the clock's starting point when Config.Start is zero.
var DefaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (c Config) withDefaults() Config {
	if c.MaxKeys == 0 {
		c.MaxKeys = 200
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 20000
	}
	if c.RootMaxKeys == 0 {
		c.RootMaxKeys = 1000000
	}
	if c.RootMaxBytes == 0 {
		c.RootMaxBytes = 25000000
	}
	if c.GCDelay == 0 {
		c.GCDelay = 300 * time.Second
	}
	if c.PersistentKeyringExpiry == 0 {
		c.PersistentKeyringExpiry = 259200 * time.Second
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	return c
}

// State is one emulated kernel's key retention service.
type State struct {
	cfg Config
	now time.Time
	// serials holds every key by serial and hands out new serials;
	// ascendSerials walks them in serial order.
	serials serialIndex
	users   map[UID]*UserRecord
	// lastUser is the record userRecord gave last, while users holds it:
	// the keys a call makes are mostly its caller's.
	lastUser *UserRecord
	initNS   *UserNS
	// creds is every live credential, for the invariant checker.
	creds map[*Cred]struct{}
	// links is what the indexes of cleared and destroyed keyrings leave
	// for keyrings that grow (linkMem).
	links linkMem
	// shared is SetShared's setting.
	shared bool
	// turns is set once the State has been shared: from then on it is
	// only changed in writers' turns (SetShared), and dying holds the keys
	// whose last reference went in the current turn: hidden already,
	// destroyed when the writer lets go.
	turns bool
	dying []*Key
	// cleared is clearLinks' list of the keys it unlinked, kept empty
	// between calls (up to keyListKept entries) so that clearing a large
	// keyring again allocates nothing.
	cleared []*Key
	// keyMem is the memory of destroyed keys, for new ones (keymem.go).
	keyMem keyMemPool
	// spare is a zeroed Key that createOrUpdate put into a keyring's index
	// ahead of the key and then did not need (linkBeginInsert), and
	// spareBuf the payload buffer allocated with it (smallKeyMem), if any.
	spare    *Key
	spareBuf []byte
	// trace receives explanation steps while set (SetTrace).
	trace func(Step)
	// gcAt is the earliest time at which Collect has timed work to do;
	// zero when nothing is scheduled.
	gcAt int64
	// gen counts changes: every exported method that may change the
	// state bumps it when it returns, and so does every change of links,
	// keys or installed keyrings as it happens. Results cached under one
	// gen (the possession of a key, Cred.poss) are valid while it holds.
	gen uint64
	// linkSeq numbers the link changes of keys other than keyrings
	// (linkChanged).
	linkSeq uint32
}

// changed ends every cached result (State.gen).
func (s *State) changed() { s.gen++ }

// Gen is the State's change counter. It moves on with every change of
// credentials, of the clock, and of keyrings and authorisation keys (their
// states, permissions, owners, timeouts and the keyrings they link); a call
// that only makes, updates, links, unlinks or destroys keys of other types
// may leave it as it was (the caches that depend on such keys follow each
// key's own links, Key.lgen). A result that depends on nothing else, such
// as what a special key ID resolves to, stands while Gen does.
func (s *State) Gen() uint64 { return s.gen }

// linkChanged records that k was linked into or unlinked from a keyring.
// Only a keyring's links decide what else is possessed (R4.7c): a link of
// any other key changes the possession of that key alone, which its lgen
// records, and the other answers cached stay valid. A wrap of the 32-bit
// sequence ends every cached answer, so that no stale lgen can match.
func (s *State) linkChanged(k *Key) {
	if k.isKeyring() {
		s.changed()
		return
	}
	s.linkSeq++
	if s.linkSeq == 0 {
		s.changed()
		s.linkSeq = 1
	}
	k.lgen = s.linkSeq
}

// New returns a State with cfg's tunables, in the state the reference
// machine boots into: the initial user namespace with root's user keyrings
// already created (Ex-0).
func New(cfg Config) *State {
	cfg = cfg.withDefaults()
	s := &State{
		cfg:     cfg,
		now:     cfg.Start,
		serials: newSerialIndex(cfg.Seed),
		users:   make(map[UID]*UserRecord),
		creds:   make(map[*Cred]struct{}),
		links:   newLinkMem(),
	}
	s.initNS = &UserNS{owner: 0, names: make(map[string]*nameList)}
	s.userRecord(0) // root's record is static in the kernel
	boot := s.NewCred(0, 0, nil, s.initNS)
	if s.cfg.Profile == ProfileModern {
		// Root's pair is made at boot on the reference machine (Ex-0).
		u, us, err := s.lookUpUserKeyrings(boot)
		if err != nil {
			panic("model: cannot create root's user keyrings: " + err.Error())
		}
		s.put(u)
		s.put(us)
	}
	s.ReleaseCred(boot)
	return s
}

// Config returns the effective configuration, defaults filled in.
func (s *State) Config() Config { return s.cfg }

// InitNS returns the initial user namespace.
func (s *State) InitNS() *UserNS { return s.initNS }

// Now returns the State's clock.
func (s *State) Now() time.Time { return s.now }

// SetTime moves the clock. Time never goes backwards; an earlier t is
// ignored.
func (s *State) SetTime(t time.Time) {
	defer s.changed()
	if t.After(s.now) {
		s.now = t
	}
}

// sec is the kernel's ktime_get_real_seconds().
func (s *State) sec() int64 { return s.now.Unix() }

func (s *State) gcDelay() int64 { return int64(s.cfg.GCDelay / time.Second) }

// KeyBySerial returns the live key with that serial (key_lookup): one whose
// usage count is not zero.
func (s *State) KeyBySerial(id Serial) (*Key, bool) {
	k := s.serials.get(id)
	if k == nil || !k.alive() {
		return nil, false
	}
	return k, true
}

// indexKey enters k in the serial indexes.
//
// A new key changes no cached answer: it is linked nowhere yet, and no
// cache holds it.
func (s *State) indexKey(k *Key) {
	s.serials.add(k)
}

// unindexKey removes k from the serial index. Cached answers hold
// keyrings and authorisation keys (what searches enter, what creds pin),
// so only their end ends State.gen: another key loses its last reference
// either by its last unlink, which already ended its own cached possession
// (linkChanged), or when a dying keyring that linked it is destroyed, and
// then the serial cache finds it no longer alive (possCache.bySerial).
func (s *State) unindexKey(k *Key) {
	if k.isKeyring() || k.typ == TypeAuth {
		s.changed()
	}
	s.serials.remove(k)
}

// NumKeys returns how many keys exist.
func (s *State) NumKeys() int { return s.serials.n }

// EachKey calls fn for every key in serial order until fn returns false.
func (s *State) EachKey(fn func(*Key) bool) {
	s.ascendSerials(fn)
}

// bySerial orders keys by serial, for slices.SortFunc.
func bySerial(a, b *Key) int { return cmp.Compare(a.serial, b.serial) }

// ascendSerials calls fn for every key in serial order until fn returns
// false. The keys are sorted on each call: walks in serial order (/proc/keys,
// the collector, snapshots, the invariant checker) are rare next to
// add_key, which a second, ordered index would slow by a third at a million
// keys.
func (s *State) ascendSerials(fn func(*Key) bool) {
	keys := make([]*Key, 0, s.serials.n)
	s.serials.each(func(k *Key) bool {
		keys = append(keys, k)
		return true
	})
	slices.SortFunc(keys, bySerial)
	for _, k := range keys {
		if !fn(k) {
			return
		}
	}
}

type allocFlags uint8

const (
	allocQuotaOverrun allocFlags = 1 << iota
	allocNotInQuota
	allocUIDKeyring
)

// keyAlloc is key_alloc(): vet the description, charge 1 key and
// strlen(desc)+1 bytes to uid's quota (R7.3), give the key a serial. The
// key starts uninstantiated with usage 1, held by the caller.
func (s *State) keyAlloc(typ *KeyType, desc string, uid UID, gid GID, perm Perm, flags allocFlags) (*Key, error) {
	if typ == TypeKeyring {
		return s.keyAllocInto(s.keyMem.newKeyringMem(), typ, desc, uid, gid, perm, flags)
	}
	return s.keyAllocInto(new(Key), typ, desc, uid, gid, perm, flags)
}

// keyAllocInto is keyAlloc into the zeroed k (a keyring's may have its
// ringData already), which it leaves untouched when it fails.
func (s *State) keyAllocInto(k *Key, typ *KeyType, desc string, uid UID, gid GID, perm Perm, flags allocFlags) (*Key, error) {
	if desc == "" {
		return nil, EINVAL
	}
	if typ.vetDescription != nil {
		if err := typ.vetDescription(desc); err != nil {
			return nil, err
		}
	}
	u := s.userRecord(uid)
	quotalen := len(desc) + 1
	if flags&allocNotInQuota == 0 {
		if flags&allocQuotaOverrun == 0 && !s.mutant(MutateNoQuota) {
			maxKeys, maxBytes := s.limits(uid)
			if u.qnkeys+1 > maxKeys || u.qnbytes+quotalen > maxBytes {
				return nil, s.keyQuotaExceeded(u, maxKeys, maxBytes, desc)
			}
		}
		u.qnkeys++
		u.qnbytes += quotalen
	}
	u.nkeys++
	k.typ = typ
	k.desc = desc
	k.uid = uid
	k.gid = gid
	k.perm = perm
	k.quotalen = int32(quotalen)
	k.user = u
	k.usage = 1
	if flags&allocNotInQuota == 0 {
		k.flags |= flagInQuota
	}
	if flags&allocUIDKeyring != 0 {
		k.flags |= flagUIDKeyring
	}
	if typ == TypeKeyring && k.ring == nil {
		k.ring = &ringData{}
	}
	s.serials.allocNew(k)
	return k, nil
}

// keyQuotaExceeded is keyAllocInto's failure for a key that u's quota has
// no room for (R7.3). It is not inlined, so that its explanation's
// arguments are not built among the lines every new key runs.
//
//go:noinline
func (s *State) keyQuotaExceeded(u *UserRecord, maxKeys, maxBytes int, desc string) error {
	s.step("quota", "R7.3", nil, false, "uid %d holds %d/%d keys and %d/%d bytes; a new key %q needs 1 key and %d bytes: EDQUOT",
		u.uid, u.qnkeys, maxKeys, u.qnbytes, maxBytes, desc, len(desc)+1)
	s.dropUserRecordIfUnused(u)
	return EDQUOT
}

// limits returns the quota limits of a UID (R7.2): root's for kernel UID 0.
func (s *State) limits(uid UID) (maxKeys, maxBytes int) {
	if uid == 0 {
		return s.cfg.RootMaxKeys, s.cfg.RootMaxBytes
	}
	return s.cfg.MaxKeys, s.cfg.MaxBytes
}

// payloadReserve is key_payload_reserve(): change a key's datalen, moving
// the difference through its owner's byte quota (R7.4).
//
// key->datalen is an unsigned short and the new length arrives as a size_t
// the kernel reads back as an int, so a keyring of more than 16383 links
// wraps it: later charges and refunds are computed from the wrapped value,
// and clearing such a keyring refunds only the remainder (measured on 6.18:
// 393,216 bytes of root's quota stay charged after clearing a keyring of
// 100,000 links).
func (s *State) payloadReserve(k *Key, datalen int) error {
	delta := int(int32(datalen)) - int(k.datalen)
	if delta != 0 && k.has(flagInQuota) {
		_, maxBytes := s.limits(k.user.uid)
		if delta > 0 && k.user.qnbytes+delta > maxBytes {
			s.step("quota", "R7.4", k, false, "uid %d holds %d/%d bytes; %d more for key %s: EDQUOT", k.user.uid, k.user.qnbytes, maxBytes, delta, keyLabel(k))
			return EDQUOT
		}
		k.user.qnbytes += delta
		k.quotalen += int32(delta)
	}
	k.datalen = int32(uint16(datalen))
	return nil
}

// SetShared tells the State whether it is only read now: while it is, any
// number of callers may run the read-only operations at once (describe,
// read, search without a destination, lookups that create nothing), and
// lookups take and drop no references on keys, since no key can lose its
// last one until a writer holds the State again. Call it only with every
// caller excluded. A new State is not shared.
//
// Once the State has been shared, the calls between SetShared(false) and
// SetShared(true) are one writer's turn, such as one system call. A key
// whose last reference goes during the turn is hidden at once (ENOKEY by
// serial and by name) and its quota refunded, but it is destroyed, with
// the links it holds, only when the turn ends, as the kernel's collector
// destroys it after the call that dropped the reference (R7.5, R8.3): the
// rest of the call still finds the keys it links. A State never shared
// destroys such keys at once.
func (s *State) SetShared(on bool) {
	if on {
		s.turns = true
		if len(s.dying) > 0 {
			s.reapDying()
		}
	}
	s.shared = on
}

// get takes a reference on k (none while the State is shared).
func (s *State) get(k *Key) *Key {
	if k != nil && !s.shared {
		k.usage++
	}
	return k
}

// put drops a reference on k (key_put). When the last one goes, the key
// leaves the serial index and its quota is refunded (R7.5); it is then
// destroyed, as the collector would do within moments (R8.3): a keyring
// drops its links, an authorisation key releases what it pins, the user's
// key count drops. Within a writer's turn (SetShared) that waits until the
// turn ends.
//
// Divergence: the kernel destroys the key from a work item moments after
// the call, so it may linger in /proc/keys for a while (R8.3, R8.4). While
// the State is shared, put does nothing, as get did.
//
// put itself is small enough to be inlined; release does the rest.
func (s *State) put(k *Key) {
	if k == nil || s.shared {
		return
	}
	k.usage--
	if k.usage <= 0 {
		s.release(k)
	}
}

// release hides k, whose usage put brought to zero, and destroys it with
// the keys whose last reference it held, or leaves that to the end of the
// writer's turn.
func (s *State) release(k *Key) {
	if k.usage < 0 {
		panic("model: put of a dead key")
	}
	s.lastPut(k)
	if s.turns {
		s.dying = append(s.dying, k)
		return
	}
	s.destroyAll(k)
}

// keyListKept is the most entries a State keeps of an emptied list of keys
// (State.dying, State.cleared): 512 KiB each.
const keyListKept = 1 << 16

// reapDying destroys the keys that lost their last reference during the
// writer's turn now ending.
func (s *State) reapDying() {
	for len(s.dying) > 0 {
		k := s.dying[len(s.dying)-1]
		s.dying[len(s.dying)-1] = nil
		s.dying = s.dying[:len(s.dying)-1]
		if k.usage != 0 {
			panic("model: a dying key was referenced again")
		}
		s.destroyAll(k)
	}
	if cap(s.dying) > keyListKept {
		// A turn that cleared a very large keyring does not keep its list.
		s.dying = nil
	}
}

// lastPut does at once what key_put() does when a key's usage reaches zero:
// key_lookup() skips the key from then on (refcount_inc_not_zero), and so
// does a search by name (alive), and its quota is refunded (R7.5).
func (s *State) lastPut(k *Key) {
	s.unindexKey(k)
	if k.has(flagInQuota) {
		k.user.qnkeys--
		k.user.qnbytes -= int(k.quotalen)
	}
}

// destroyAll destroys k, which is hidden, and then each key whose last
// reference it held, at once.
func (s *State) destroyAll(k *Key) {
	if k.ring == nil && k.auth == nil {
		// A key that holds no references to other keys, the most
		// common, needs no work list.
		s.destroy(k, nil)
		return
	}
	work := []*Key{k}
	for len(work) > 0 {
		k := work[len(work)-1]
		work = work[:len(work)-1]
		s.destroy(k, func(child *Key) {
			child.usage--
			if child.usage == 0 {
				s.lastPut(child)
				work = append(work, child)
			}
		})
	}
}

// destroy frees a key whose usage reached zero, once lastPut has hidden it;
// release drops one of the references the key held.
func (s *State) destroy(k *Key, release func(*Key)) {
	k.user.nkeys--
	if k.state != stateUninstantiated {
		k.user.nikeys--
	}
	if k.ring != nil {
		destroyRing(k, release)
	}
	if k.auth != nil {
		s.destroyAuth(k, release)
	}
	s.dropUserRecordIfUnused(k.user)
	if s.turns {
		// The writer's turn is over (reapDying): no code of the call
		// that dropped the key still looks at it. A State never shared
		// destroys within that call, and leaves the memory to the Go
		// collector.
		s.keyMem.recycle(k)
	}
}

// destroyRing is destroy's part for a keyring: it leaves its namespace's
// register and drops its links. destroyRing and destroyAuth are not
// inlined, so that destroying a key of another type does not run through
// their code.
//
//go:noinline
func destroyRing(k *Key, release func(*Key)) {
	if k.ring.ns != nil {
		k.ring.ns.unpublish(k)
	}
	k.ring.links.Ascend(func(l link) bool {
		l.key.unlinkedFrom(k)
		release(l.key)
		return true
	})
	k.ring.links.Clear()
	if r := k.ring.restrict; r != nil && r.chainTo != nil {
		release(r.chainTo)
	}
}

// destroyAuth is destroy's part for an authorisation key: it releases what
// the key pins.
//
//go:noinline
func (s *State) destroyAuth(k *Key, release func(*Key)) {
	if cred := k.auth.cred; k.auth.release(release) {
		s.credDetach(cred)
	}
}

package model

import "fmt"

type searchFlags uint8

// Search flags (KEYRING_SEARCH_*).
const (
	searchStateCheck searchFlags = 1 << iota
	searchSkipExpired
	searchRecurse
	searchNoCheckPerm
	// searchRootGranted: the caller's lookup of the root has just been
	// granted Search with the same credentials and possession, so the
	// root's own check would give the same answer (KEYCTL_SEARCH).
	searchRootGranted
)

// searchCtx is struct keyring_search_context: what is sought, by whom, and
// the search's running result.
type searchCtx struct {
	cred *Cred
	typ  *KeyType
	desc string
	// target, when set, matches only that key (possession lookups, R4.7c).
	target    *Key
	flags     searchFlags
	possessed bool
	now       int64
	found     *Key
	// err is the last note of the search (R4.3e); EAGAIN means nothing.
	err        error
	skippedRet int
	// path, when non-nil, records every keyring entered, for explanations.
	trace func(ev SearchEvent)
	// probe is the index entry sought in each keyring (typ, desc), made
	// once per search.
	probe link
}

// SearchEvent is one step of a search, reported to an explanation trace.
type SearchEvent struct {
	// Keyring is the keyring being searched or entered.
	Keyring *Key
	// Depth is its depth below the search root (R4.3c).
	Depth int
	// Candidate is the key examined, nil when entering a keyring.
	Candidate *Key
	// Note is the error the candidate was skipped with, nil when found
	// or when entering.
	Note error
	// Skipped explains why a keyring was not entered ("no search
	// permission", "revoked", "depth limit").
	Skipped string
	found   bool
}

// searchKeyring is keyring_search_rcu(): search the tree under root (R4.3a).
func (s *State) searchKeyring(ctx *searchCtx, root *Key, possessed bool) (*Key, error) {
	ctx.possessed = possessed
	ctx.found = nil
	ctx.err = EAGAIN
	if !root.isKeyring() {
		return nil, ENOTDIR
	}
	if ctx.flags&(searchNoCheckPerm|searchRootGranted) == 0 && !s.permitted(ctx.cred, root, possessed, NeedSearch) {
		if err := s.permission(ctx.cred, root, possessed, NeedSearch); err != nil {
			return nil, err
		}
	}
	ctx.now = s.sec()
	ctx.probe = mkLink(ctx.typ, ctx.desc, nil)
	if ctx.trace == nil && s.trace != nil {
		ctx.trace = s.traceSearch
	}
	if s.searchNested(ctx, root) {
		return ctx.found, nil
	}
	return nil, ctx.err
}

// searchNested is search_nested_keyrings(): the root itself may match;
// then each keyring's direct entry is examined before its child keyrings,
// depth first, down to depth 6 (R4.3b, R4.3c).
func (s *State) searchNested(ctx *searchCtx, root *Key) bool {
	if root.typ == ctx.typ && root.desc == ctx.desc {
		ctx.skippedRet = 2
		switch s.iterate(ctx, root, 0) {
		case 1:
			return true
		case 2:
			return false
		}
	}
	ctx.skippedRet = 0
	if ctx.trace != nil || ctx.flags&(searchRecurse|searchNoCheckPerm) != searchRecurse {
		return s.descend(ctx, root, 0)
	}
	if s.cfg.CheckCaches {
		walked := *ctx
		found := s.descend(&walked, root, 0)
		if s.searchPlanned(ctx, root) != found || ctx.found != walked.found || ctx.err != walked.err {
			panic(fmt.Sprintf("model: a planned search of keyring %d differs from the walk", root.serial))
		}
		return found
	}
	return s.searchPlanned(ctx, root)
}

func (s *State) descend(ctx *searchCtx, ring *Key, depth int) bool {
	// R4.3d: revoked and invalidated keyrings are not entered.
	if ring.has(flagInvalidated | flagRevoked) {
		if ctx.trace != nil {
			ctx.trace(SearchEvent{Keyring: ring, Depth: depth, Skipped: "revoked or invalidated"})
		}
		return false
	}
	if ctx.trace != nil {
		ctx.trace(SearchEvent{Keyring: ring, Depth: depth})
	}
	if e, ok := ring.findLink(ctx.probe); ok {
		if s.iterate(ctx, e, depth) == 1 {
			return true
		}
	}
	return s.descendChildren(ctx, ring, depth)
}

// descendChildren is the rest of descend() once ring's own entry has been
// asked: its child keyrings, each searched in turn.
func (s *State) descendChildren(ctx *searchCtx, ring *Key, depth int) bool {
	if ctx.flags&searchRecurse == 0 {
		return false
	}
	for _, child := range s.childKeyrings(ring) {
		if depth >= searchMaxDepth && !s.mutant(MutateNoDepthLimit) {
			if ctx.trace != nil {
				ctx.trace(SearchEvent{Keyring: child, Depth: depth + 1, Skipped: "depth limit"})
			}
			return false
		}
		if ctx.flags&searchNoCheckPerm == 0 && s.permission(ctx.cred, child, ctx.possessed, NeedSearch) != nil {
			if ctx.trace != nil {
				ctx.trace(SearchEvent{Keyring: child, Depth: depth + 1, Skipped: "no search permission"})
			}
			continue
		}
		if s.descend(ctx, child, depth+1) {
			return true
		}
	}
	return false
}

// iterate is keyring_search_iterator(): evaluate one candidate (R4.3e).
// It returns 1 when found, else ctx.skippedRet for a skipped candidate or 0
// for a non-matching one.
func (s *State) iterate(ctx *searchCtx, k *Key, depth int) int {
	if k.typ != ctx.typ {
		return 0
	}
	note := func(err error) int {
		if err != nil {
			ctx.err = err
		}
		if ctx.trace != nil {
			ctx.trace(SearchEvent{Keyring: nil, Depth: depth, Candidate: k, Note: err})
		}
		return ctx.skippedRet
	}
	if ctx.flags&searchStateCheck != 0 {
		if k.has(flagInvalidated | flagRevoked) {
			return note(EKEYREVOKED)
		}
		if k.expired(ctx.now) {
			if ctx.flags&searchSkipExpired == 0 {
				return note(EKEYEXPIRED)
			}
			return note(nil)
		}
	}
	if ctx.target != nil && k != ctx.target {
		return 0
	}
	if ctx.flags&searchNoCheckPerm == 0 && !s.permitted(ctx.cred, k, ctx.possessed, NeedSearch) && s.permission(ctx.cred, k, ctx.possessed, NeedSearch) != nil {
		return note(EACCES)
	}
	if ctx.flags&searchStateCheck != 0 && k.state == stateNegative {
		return note(k.rejectErr)
	}
	ctx.found = k
	if ctx.trace != nil {
		ctx.trace(SearchEvent{Depth: depth, Candidate: k, found: true})
	}
	return 1
}

// searchCredKeyrings is search_cred_keyrings_rcu(): the thread, process and
// session keyrings of ctx.cred, or the existing user session keyring when
// there is no session keyring (R4.1, R4.2), combined by R4.4: success,
// then ENOKEY, then EAGAIN, then the last hard error.
func (s *State) searchCredKeyrings(ctx *searchCtx) (*Key, error) {
	c := ctx.cred
	var ret, hard error = nil, EAGAIN
	try := func(ring *Key, first bool) (*Key, bool) {
		k, err := s.searchKeyring(ctx, ring, true)
		if err == nil {
			return k, true
		}
		switch x, _ := err.(Errno); x {
		case EAGAIN:
			if ret == nil || first {
				ret = err
			}
		case ENOKEY:
			ret = err
		default:
			hard = err
		}
		return nil, false
	}
	if c.thread != nil {
		if k, ok := try(c.thread, true); ok {
			return k, nil
		}
	}
	if c.process != nil {
		if k, ok := try(c.process, false); ok {
			return k, nil
		}
	}
	if c.session != nil {
		if k, ok := try(c.session, false); ok {
			return k, nil
		}
	}
	if c.session == nil || s.mutant(MutateUserSessionFallbackAlways) {
		if us := s.userSessionForSearch(c); us != nil {
			if k, ok := try(us, false); ok {
				return k, nil
			}
		}
	}
	if ret != nil && (isErrno(hard, EAGAIN) || !s.mutant(MutateHardErrorWins)) {
		return nil, ret
	}
	return nil, hard
}

// searchProcessKeyrings is search_process_keyrings_rcu(): the caller's own
// keyrings, then, while it has assumed a valid authority, the requester's
// (R4.2a), combined by R4.4a. Everything found is possessed.
func (s *State) searchProcessKeyrings(ctx *searchCtx) (*Key, error) {
	k, err := s.searchCredKeyrings(ctx)
	if err == nil {
		return k, nil
	}
	var ret error = EACCES
	c := ctx.cred
	if c.auth != nil && ctx.typ != TypeAuth && c.auth.validate(s.sec()) == nil {
		ctx.cred = c.auth.auth.cred
		k, rerr := s.searchCredKeyrings(ctx)
		ctx.cred = c
		if rerr == nil {
			return k, nil
		}
		ret = rerr
	}
	switch {
	case isErrno(err, ENOKEY) || isErrno(ret, ENOKEY):
		return nil, ENOKEY
	case isErrno(err, EACCES):
		return nil, ret
	}
	return nil, err
}

// possessed reports whether a search of c's process keyrings reaches k
// itself: permission checks on, state checks off, depth limit on (R4.7c).
//
// The answer is a function of the whole state, and a lookup by serial asks
// it every time: it is cached per cred (possCache), while no
// change has happened since (State.gen). An explanation recomputes it, so
// that its trail shows the search.
func (s *State) possessed(c *Cred, k *Key) bool {
	if s.mutant(MutateIgnorePossession) {
		return false
	}
	if s.trace != nil {
		return s.searchPossessed(c, k)
	}
	if v, ok := c.poss.get(s.gen, k); ok {
		if s.cfg.CheckCaches && v != s.searchPossessed(c, k) {
			panic(fmt.Sprintf("model: stale possession cache for key %d", k.serial))
		}
		return v
	}
	var v bool
	if k.possessedBySearch() {
		v = s.searchPossessed(c, k)
	} else {
		v = s.reachPossessed(c, k)
		if s.cfg.CheckCaches && v != s.searchPossessed(c, k) {
			panic(fmt.Sprintf("model: stale reach cache for key %d", k.serial))
		}
	}
	c.poss.put(s.gen, k, v)
	return v
}

// possessedBySearch reports whether possessed() searches for k: a keyring
// or an authorisation key. Another key's possession is a look at the
// keyrings that link it (reachPossessed).
func (k *Key) possessedBySearch() bool { return k.isKeyring() || k.typ == TypeAuth }

// reachPossessed is possessed() for a key that is neither a keyring nor an
// authorisation key. Which keyrings the possession search enters does not
// depend on what it seeks: only on keyrings' links, permissions and states
// and on the creds, all of which end State.gen when they change. Each cred
// keeps that list (Cred.reach, made by a search for a key of no type,
// typeNone); the key is possessed when one of the keyrings holds it and
// grants Search to the cred of that phase of the search
// (keyring_search_iterator, R4.7c). A key of type .request_key_auth is
// searched for instead: the requester phase skips it (R4.2a).
func (s *State) reachPossessed(c *Cred, k *Key) bool {
	rc := &c.reach
	if !rc.valid || rc.gen != s.gen {
		rc.rings = rc.rings[:0]
		// The search's context and its trace function live in the
		// cache, so that a rebuild allocates nothing: a local context
		// that the function reads escapes to the heap.
		if rc.enter == nil {
			rc.enter = func(ev SearchEvent) {
				if ev.Keyring != nil && ev.Candidate == nil && ev.Skipped == "" {
					rc.rings = append(rc.rings, reachRing{ring: ev.Keyring, cred: rc.ctx.cred})
				}
			}
		}
		rc.ctx = searchCtx{cred: c, typ: typeNone, flags: searchRecurse, trace: rc.enter}
		_, _ = s.searchProcessKeyrings(&rc.ctx)
		rc.ctx = searchCtx{}
		rc.gen, rc.valid = s.gen, true
	}
	if p := k.parent; p != nil {
		// A keyring that links k (the only one if nparents is 1): no
		// index to search.
		for _, r := range rc.rings {
			if r.ring == p && (s.permitted(r.cred, k, true, NeedSearch) || s.permission(r.cred, k, true, NeedSearch) == nil) {
				return true
			}
		}
		if _, sole := k.soleParent(); sole {
			return false
		}
	}
	probe := mkLink(k.typ, k.desc, nil)
	for _, r := range rc.rings {
		if e, ok := r.ring.findLink(probe); ok && e == k && (s.permitted(r.cred, k, true, NeedSearch) || s.permission(r.cred, k, true, NeedSearch) == nil) {
			return true
		}
	}
	return false
}

// reachCache is the list of keyrings a possession search by its cred
// enters, in order, with the cred of each phase, while State.gen holds.
type reachCache struct {
	gen   uint64
	valid bool
	rings []reachRing
	// ctx is the context of the search that makes rings, while it runs;
	// enter is its trace function, made once.
	ctx   searchCtx
	enter func(SearchEvent)
}

type reachRing struct {
	ring *Key
	cred *Cred
}

func (s *State) searchPossessed(c *Cred, k *Key) bool {
	ctx := searchCtx{cred: c, typ: k.typ, desc: k.desc, target: k, flags: searchRecurse}
	_, err := s.searchProcessKeyrings(&ctx)
	return err == nil
}

// possCache holds possessed() answers, each valid while State.gen is the
// one it was computed under and, for a key other than a keyring or an
// authorisation key, while the key's own links are as they were (its
// lgen). It is a table of sets of two answers, a key's set chosen by its
// serial, so that an answer is found, and a new one stored, in a few
// instructions: a thread that reads, describes or unlinks keys by serial
// asks it on every call. An answer that took a search (a keyring's or an
// authorisation key's) is not pushed out by one that did not, which is
// cheap to work out again: a thread that reads many keys of one keyring
// keeps the keyring's answer. The table is made on the first answer, so
// that a cred that never looks a key up costs nothing, with 64 answers
// (2 KB); a cred that asks about more keys than that in turn, so that
// answers that still stand are pushed out, gets a table twice as large,
// up to 2,048 answers (64 KB).
type possCache struct {
	sets []possSet
	// shift is 32 minus log2(len(sets)): a serial's set is the top bits
	// of its Fibonacci hash.
	shift uint8
	// evicted counts the answers that still stood when new ones took
	// their place, under gen, since the table was made or last grew.
	evicted uint32
	// gen is the State.gen of the newest answer: when it has ended, every
	// answer has, and a lookup is over at once.
	gen uint64
}

type possSet [2]possEntry

// The table's first and largest number of sets, as log2.
const (
	possMinBits = 5
	possMaxBits = 10
)

type possEntry struct {
	key    *Key
	gen    uint64
	serial Serial
	lgen   uint32
	val    bool
	// searched says the answer took a search.
	searched bool
}

// valid reports whether e is an answer about the key with serial n under
// gen that stands.
func (e *possEntry) valid(gen uint64, n Serial) bool {
	// Serials are positive: an entry never filled has serial 0.
	return e.serial == n && e.gen == gen && e.lgen == e.key.lgen
}

// stands reports whether e holds an answer made under gen about a key
// that is still the one it was made about.
func (e *possEntry) stands(gen uint64) bool {
	return e.serial != 0 && e.key.serial == e.serial && e.valid(gen, e.serial)
}

// set returns the set of the key with serial n, or nil when no answer
// made under gen is cached.
func (p *possCache) set(gen uint64, n Serial) *possSet {
	if p.gen != gen || p.sets == nil {
		return nil
	}
	// setOf, written out: bySerial, which calls set, stays within the
	// compiler's budget for inlining it into knownKey.
	return &p.sets[uint32(n)*0x9e3779b9>>p.shift]
}

// setOf is the set of the key with serial n: the top bits of its
// Fibonacci hash, as many as the table has sets.
func (p *possCache) setOf(n Serial) *possSet { return &p.sets[uint32(n)*0x9e3779b9>>p.shift] }

// find returns the answer about the key with serial n that stands under
// gen, or nil.
func (p *possCache) find(gen uint64, n Serial) *possEntry {
	if set := p.set(gen, n); set != nil {
		if set[0].valid(gen, n) {
			return &set[0]
		}
		if set[1].valid(gen, n) {
			return &set[1]
		}
	}
	return nil
}

func (p *possCache) get(gen uint64, k *Key) (bool, bool) {
	if e := p.find(gen, k.serial); e != nil && e.key == k {
		return e.val, true
	}
	return false, false
}

// bySerial returns the answer about the living key with serial n made
// under gen, whether or not the key's links have changed since (its lgen),
// or nil.
func (p *possCache) bySerial(gen uint64, n Serial) *possEntry {
	if set := p.set(gen, n); set != nil {
		for i := range set {
			// A key's memory can be another key's by now: the
			// entry is taken for the key that has serial n now, if
			// any, and that key's lgen tells whether the answer is
			// its own.
			if e := &set[i]; e.serial == n && e.gen == gen && e.key.serial == n && e.key.alive() {
				return e
			}
		}
	}
	return nil
}

// grow doubles the table, keeping the answers that stand under gen. A set
// of the new table takes answers from one set of the old (its index is the
// old one's with one more bit of the hash), so two places are enough.
func (p *possCache) grow(gen uint64) {
	old := p.sets
	p.shift--
	p.sets = make([]possSet, len(old)*2)
	p.evicted = 0
	for i := range old {
		for j := range old[i] {
			if e := &old[i][j]; e.stands(gen) {
				set := p.setOf(e.serial)
				if set[0].serial == 0 {
					set[0] = *e
				} else {
					set[1] = *e
				}
			}
		}
	}
}

func (p *possCache) put(gen uint64, k *Key, v bool) {
	if p.sets == nil {
		p.sets = make([]possSet, 1<<possMinBits)
		p.shift = 32 - possMinBits
	}
	if p.gen != gen {
		p.gen, p.evicted = gen, 0
	}
	set := p.setOf(k.serial)
	searched := k.possessedBySearch()
	// The newest answer goes first and the one it displaces second, so
	// that the older of two goes next; but an answer that took a search
	// and stands keeps its place against one that did not.
	first, second := &set[0], &set[1]
	e := first
	if first.key != k {
		if first.searched && first.gen == gen && !searched {
			if second.searched && second.gen == gen {
				return
			}
			e = second
		}
		// The second answer goes, to the new one or to the first.
		if second.key != k && second.gen == gen && second.serial != 0 {
			// It stood (but for its key's links).
			p.evicted++
		}
		if e == first {
			*second = *first
		}
	}
	// Field by field: a whole entry built and then copied was read back
	// before its parts had reached memory.
	e.key = k
	e.gen = gen
	e.serial = k.serial
	e.lgen = k.lgen
	e.val = v
	e.searched = searched
	if p.evicted >= uint32(2*len(p.sets)) && p.shift > 32-possMaxBits {
		p.grow(gen)
	}
}

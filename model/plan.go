package model

import (
	"fmt"
	"math"
	"slices"
)

// A recursive search with permission checks (request_key(2), KEYCTL_SEARCH,
// the possession of a keyring or an authorisation key) enters the same
// keyrings in the same order whatever it seeks: which keyrings descend() enters depends only on their
// links to keyrings, their states and permissions, the depth limit and the
// searcher's credentials, never on the type or description sought. Each
// keyring it enters it asks once for the sought index entry, and the first
// acceptable candidate ends the search (R4.3b, R4.3c).
//
// So the walk is done once per (root, possession) while State.gen holds,
// and kept with the cred as a search plan: the keyrings entered, in order,
// with their depths. A search then asks each keyring of the plan for its
// entry in turn, as descend() would have, without walking the keyrings'
// child lists or repeating their permission checks. The first search from
// a root under a State.gen walks as descend() does, stopping where it
// finds, and only the second makes the plan: a workload that changes
// links between keyrings before every search never pays for a whole walk
// where descend() would have stopped early.

// planRing is one keyring a search enters, at its depth below the root.
type planRing struct {
	ring  *Key
	depth int32
}

// searchPlan is the walk of a recursive search from root, with possession
// possessed, by the cred that keeps it. A plan that is not valid but seen
// has been asked for once under the cache's State.gen, and not made.
type searchPlan struct {
	root      *Key
	possessed bool
	valid     bool
	seen      bool
	rings     []planRing
}

// planCache holds the search plans a cred made under one State.gen, for up
// to len(plans) roots, the oldest replaced first. The slices are reused.
type planCache struct {
	gen   uint64
	next  uint8
	plans [4]searchPlan
}

// searchPlanned is descend(ctx, root, 0) for a recursive search with
// permission checks and no trace, from the plan of root.
// The root, entered first unless revoked or invalidated, is asked before
// the plan is looked up, so that a hit there costs no more than descend().
func (s *State) searchPlanned(ctx *searchCtx, root *Key) bool {
	if root.has(flagInvalidated | flagRevoked) {
		return false
	}
	if e, ok := root.findLink(ctx.probe); ok && s.iterate(ctx, e, 0) == 1 {
		return true
	}
	// The plan's first keyring is root.
	rings, ok := s.plan(ctx.cred, root, ctx.possessed)
	if !ok {
		return s.descendChildren(ctx, root, 0)
	}
	for _, r := range rings[1:] {
		if e, ok := r.ring.findLink(ctx.probe); ok && s.iterate(ctx, e, int(r.depth)) == 1 {
			return true
		}
	}
	return false
}

// plan returns the keyrings that descend() enters from root for cred c with
// possession possessed, in order, or false when this is the first time
// they are asked for under State.gen (the caller walks).
func (s *State) plan(c *Cred, root *Key, possessed bool) ([]planRing, bool) {
	pc := &c.plans
	if pc.gen != s.gen {
		pc.gen = s.gen
		for i := range pc.plans {
			p := &pc.plans[i]
			// The keyrings go, so that the plan does not keep destroyed
			// ones in memory.
			clear(p.rings)
			p.root, p.valid, p.seen, p.rings = nil, false, false, p.rings[:0]
		}
	}
	for i := range pc.plans {
		p := &pc.plans[i]
		if p.root != root || p.possessed != possessed || !(p.valid || p.seen) {
			continue
		}
		if !p.valid {
			p.valid = true
			p.rings = s.walkPlan(c, root, possessed, p.rings[:0])
			return p.rings, true
		}
		if s.cfg.CheckCaches {
			if fresh := s.walkPlan(c, root, possessed, nil); !slices.Equal(fresh, p.rings) {
				panic(fmt.Sprintf("model: stale search plan of keyring %d", root.serial))
			}
		}
		return p.rings, true
	}
	p := &pc.plans[pc.next]
	pc.next = (pc.next + 1) % uint8(len(pc.plans))
	clear(p.rings)
	p.root, p.possessed, p.valid, p.seen, p.rings = root, possessed, false, true, p.rings[:0]
	return nil, false
}

// madePlan returns the plan of root for c with possession possessed when
// one has been made under State.gen, changing nothing: unlike plan, it
// does not count the ask towards making one.
func (s *State) madePlan(c *Cred, root *Key, possessed bool) ([]planRing, bool) {
	pc := &c.plans
	if pc.gen != s.gen {
		return nil, false
	}
	for i := range pc.plans {
		if p := &pc.plans[i]; p.valid && p.root == root && p.possessed == possessed {
			return p.rings, true
		}
	}
	return nil, false
}

// typeNone is the type of no key: a search for it enters every keyring it
// may and finds nothing, which is how the keyrings a search enters are
// listed (walkPlan, reachPossessed). Its order sorts after every type's.
var typeNone = &KeyType{Name: "", order: math.MaxUint8}

// walkPlan appends to rings the keyrings descend() enters from root: it
// runs descend() for a key of no type and records each keyring entered.
func (s *State) walkPlan(c *Cred, root *Key, possessed bool, rings []planRing) []planRing {
	ctx := searchCtx{cred: c, typ: typeNone, flags: searchRecurse, possessed: possessed, err: EAGAIN}
	ctx.probe = mkLink(ctx.typ, ctx.desc, nil)
	ctx.trace = func(ev SearchEvent) {
		if ev.Keyring != nil && ev.Candidate == nil && ev.Skipped == "" {
			rings = append(rings, planRing{ring: ev.Keyring, depth: int32(ev.Depth)})
		}
	}
	s.descend(&ctx, root, 0)
	return rings
}

package model

import "slices"

// scheduleGC arms the collector's timer for at (seconds), keeping the
// earliest (R8.1).
func (s *State) scheduleGC(at int64) {
	if s.gcAt == 0 || at < s.gcAt {
		s.gcAt = at
	}
}

// GCDue reports whether the collector has timed work due by now.
func (s *State) GCDue() bool { return s.gcAt != 0 && s.gcAt <= s.sec() }

// dead is key_is_dead(): invalidated or dead keys, and keys whose expiry
// plus gc_delay has passed (R8.2).
func (s *State) dead(k *Key, now int64) bool {
	if k.has(flagInvalidated | flagDead) {
		return true
	}
	return k.expiry != 0 && k.expiry+s.gcDelay() <= now
}

// Collect runs the garbage collector as the kernel would have by now: every
// keyring that is neither invalidated nor revoked drops its links to dead
// keys (R8.2), and keys left without references are destroyed, at once or
// when the writer's turn ends (SetShared, R8.3).
func (s *State) Collect() {
	defer s.changed()
	now := s.sec()
	var rings []*Key
	var next int64
	s.serials.each(func(k *Key) bool {
		if k.ring != nil && k.ring.links.Len() != 0 {
			rings = append(rings, k)
		}
		if k.expiry != 0 && !s.dead(k, now) {
			if at := k.expiry + s.gcDelay(); next == 0 || at < next {
				next = at
			}
		}
		return true
	})
	// The kernel's collector walks the keyrings in serial order.
	slices.SortFunc(rings, bySerial)
	s.gcAt = next
	for _, ring := range rings {
		// keyring_gc() leaves invalidated and revoked keyrings alone: an
		// invalidated keyring keeps its links, dead keys included, until
		// it is destroyed (a revoked one was cleared when revoked).
		if !ring.alive() || ring.ring.links.Len() == 0 || ring.has(flagInvalidated|flagRevoked) {
			continue
		}
		var doomed []link
		ring.ring.links.Ascend(func(l link) bool {
			if s.dead(l.key, now) {
				doomed = append(doomed, l)
			}
			return true
		})
		s.changed()
		for _, l := range doomed {
			// R7.4: keyring_gc() (security/keys/keyring.c) edits the index
			// without key_payload_reserve(), so the 4 bytes of a link the
			// collector removes stay charged to the keyring's owner until
			// the keyring is cleared, revoked or destroyed (conformance
			// invalidate/keyring).
			ring.ring.links.Delete(l)
			l.key.unlinkedFrom(ring)
		}
		for _, l := range doomed {
			s.put(l.key)
		}
	}
}

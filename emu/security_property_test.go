package emu_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/keyemu/keyemu/emu"
)

// Permission bits of one byte of a key's mask (R6.1).
const (
	pView   = 0x01
	pRead   = 0x02
	pSearch = 0x08
)

// secUser is one user of the security world: a process of its own in an
// anonymous session keyring, so that possession is reached only from that
// keyring (R4.1, R4.2).
type secUser struct {
	uid, gid uint32
	groups   []uint32
	th       *emu.Thread
	session  int
}

// secKey is a key the world made, with the facts the test computes
// permissions from: owner, group, mask, links.
type secKey struct {
	id       int
	typ      string
	desc     string
	uid, gid uint32
	perm     uint32
	children []*secKey // keyrings only, in the test's own bookkeeping
}

// secPerms is the pool of masks: the ordinary ones, one-class masks, the
// odd ones (single bits, possessor-only, other-only), and drawn ones.
var secPerms = []uint32{
	0x3f3f3f3f, 0x3f010000, 0x3f030000, 0x3f0b0000, 0x01010101, 0x08080808, 0x02020202,
	0x0b0b0b0b, 0x00000000, 0x3f000000, 0x0000003f, 0x00003f00, 0x003f0000, 0x00000008,
	0x00000800, 0x00080000, 0x08000000, 0x01000000, 0x09000001, 0x00010100, 0x0a0a0a0a,
	0x3b3b3b3b, 0x1f1f1f1f, 0x37373737, 0x3d3d3d3d,
}

// mask is R6.2 computed from the rule book, not from model: the owner
// byte for the owner; else the group byte if the key's group is the
// caller's fsgid or a supplementary group and the byte is non-zero; else
// the other byte; the possessor byte ORed in for a possessed reference.
func mask(k *secKey, u *secUser, possessed bool) uint32 {
	var m uint32
	inGroup := k.gid == u.gid
	for _, g := range u.groups {
		inGroup = inGroup || g == k.gid
	}
	switch {
	case k.uid == u.uid:
		m = k.perm >> 16 & 0xff
	case inGroup && k.perm>>8&0xff != 0:
		m = k.perm >> 8 & 0xff
	default:
		m = k.perm & 0xff
	}
	if possessed {
		m |= k.perm >> 24
	}
	return m
}

// possessedBy is R4.7(c) with R4.3a-R4.3f, from the rule book: a search
// of u's session keyring (possessed, so possessor bits count everywhere
// below it) finds each key whose entry lies in a keyring at depth 0..6
// reached through keyrings that grant Search, and that grants Search
// itself.
func possessedBy(u *secUser, session *secKey) map[*secKey]bool {
	found := map[*secKey]bool{}
	if mask(session, u, true)&pSearch == 0 {
		return found
	}
	// best[k] is the smallest depth at which keyring k was searched.
	best := map[*secKey]int{}
	var visit func(r *secKey, depth int)
	visit = func(r *secKey, depth int) {
		if d, ok := best[r]; ok && d <= depth {
			return
		}
		best[r] = depth
		for _, c := range r.children {
			if mask(c, u, true)&pSearch == 0 {
				continue
			}
			found[c] = true
			if c.typ == "keyring" && depth+1 <= 6 {
				visit(c, depth+1)
			}
		}
	}
	visit(session, 0)
	return found
}

// TestPropertyPermissions builds worlds of several users and groups, keys
// with masks drawn from secPerms (odd ones included), nested keyrings
// linked from some users' sessions and not others', and checks for every
// pair of user and key that DESCRIBE, READ, KEYCTL_SEARCH, request_key and
// /proc/keys grant exactly what R6.2 with possession (R4.7) allows.
func TestPropertyPermissions(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sys := emu.New(emu.Config{CheckCaches: true})
		users := []*secUser{
			{uid: 0, gid: 0},
			{uid: 1000, gid: 1000},
			{uid: 1001, gid: 1001, groups: []uint32{2000}},
			{uid: 1002, gid: 2000},
			{uid: 1003, gid: 3000, groups: []uint32{1000, 2000}},
		}
		sessions := map[*secUser]*secKey{}
		for _, u := range users {
			u.th = sys.NewProcess(emu.Creds{UID: u.uid, GID: u.gid, Groups: u.groups}).Main()
			id, err := u.th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_JOIN_SESSION_KEYRING), emu.Null())
			if err != nil {
				t.Fatalf("uid %d: KEYCTL_JOIN_SESSION_KEYRING(NULL) = %v", u.uid, err)
			}
			u.session = id
			// Anonymous sessions: owner real uid:gid, 0x3f030000 (§2.1).
			sessions[u] = &secKey{id: id, typ: "keyring", desc: "_ses", uid: u.uid, gid: u.gid, perm: 0x3f030000}
		}
		root := users[0]
		rootSes := sessions[root]

		// Root makes every key in its session and links the keyrings into
		// a DAG: each keyring is created under an earlier one, so chains
		// of depth 7 and 8 are possible (R5.5b); a few extra links cross.
		var keys []*secKey
		nRings := rapid.IntRange(1, 9).Draw(t, "keyrings")
		nKeys := rapid.IntRange(1, 8).Draw(t, "keys")
		link := func(who *secUser, k, r *secKey) bool {
			_, err := who.th.KeyctlInt(emu.KEYCTL_LINK, k.id, r.id, 0, 0)
			if err == nil {
				r.children = append(r.children, k)
			}
			return err == nil
		}
		for i := 0; i < nRings+nKeys; i++ {
			k := &secKey{typ: "keyring", desc: fmt.Sprintf("ring%d", i)}
			var payload []byte
			if i >= nRings {
				k.typ, k.desc, payload = "user", fmt.Sprintf("key%d", i), []byte("secret")
			}
			id, err := root.th.AddKey(k.typ, k.desc, payload, emu.KEY_SPEC_SESSION_KEYRING)
			if err != nil {
				t.Fatalf("AddKey(%q, %q) = %v", k.typ, k.desc, err)
			}
			k.id, k.uid, k.gid, k.perm = id, 0, 0, 0x3f010000
			rootSes.children = append(rootSes.children, k)
			if len(keys) > 0 {
				var rings []*secKey
				for _, r := range keys {
					if r.typ == "keyring" {
						rings = append(rings, r)
					}
				}
				if len(rings) > 0 {
					p := rapid.SampledFrom(rings).Draw(t, "parent-"+k.desc)
					link(root, k, p)
				}
			}
			keys = append(keys, k)
		}
		for n := rapid.IntRange(0, 4).Draw(t, "crosslinks"); n > 0; n-- {
			k := rapid.SampledFrom(keys).Draw(t, "cross-key")
			r := rapid.SampledFrom(keys).Draw(t, "cross-ring")
			if r.typ != "keyring" || contains(r.children, k) {
				continue
			}
			link(root, k, r) // may fail EDEADLK or ELOOP (R5.5a, R5.5b)
		}

		// Owners and groups, with root's CAP_SYS_ADMIN (op 4), then every
		// mask open so that the users can link keys into their sessions.
		for _, k := range keys {
			k.uid = rapid.SampledFrom([]uint32{0, 1000, 1001, 1002, 1003}).Draw(t, "uid-"+k.desc)
			k.gid = rapid.SampledFrom([]uint32{0, 1000, 1001, 2000, 3000}).Draw(t, "gid-"+k.desc)
			if _, err := root.th.KeyctlInt(emu.KEYCTL_CHOWN, k.id, int(k.uid), int(k.gid), 0); err != nil {
				t.Fatalf("KEYCTL_CHOWN(%s, %d, %d) = %v", k.desc, k.uid, k.gid, err)
			}
			if err := root.th.KeyctlSetperm(k.id, 0x3f3f3f3f); err != nil {
				t.Fatalf("KEYCTL_SETPERM(%s, 0x3f3f3f3f) = %v", k.desc, err)
			}
		}
		for _, u := range users[1:] {
			for _, k := range keys {
				if rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("entry-%d-%s", u.uid, k.desc)) == 0 {
					_, err := u.th.KeyctlInt(emu.KEYCTL_LINK, k.id, sessions[u].id, 0, 0)
					switch {
					case err == nil:
						sessions[u].children = append(sessions[u].children, k)
					case errors.Is(err, emu.ELOOP) && k.typ == "keyring":
						// R5.5b: a chain of 8 keyrings hangs below k
						// already; one more level is refused.
					default:
						t.Fatalf("uid %d: KEYCTL_LINK(%s, @s) = %v with every mask open", u.uid, k.desc, err)
					}
				}
			}
		}
		// The final masks; then root lets go of the keys that stay
		// reachable another way, so its own view is not trivial either.
		for _, k := range keys {
			k.perm = rapid.SampledFrom(secPerms).Draw(t, "perm-"+k.desc)
			if rapid.IntRange(0, 4).Draw(t, "random-perm-"+k.desc) == 0 {
				k.perm = rapid.Uint32().Draw(t, "bits-"+k.desc) & 0x3f3f3f3f
			}
			if err := root.th.KeyctlSetperm(k.id, k.perm); err != nil {
				t.Fatalf("KEYCTL_SETPERM(%s, %#x) = %v", k.desc, k.perm, err)
			}
		}
		for _, k := range keys {
			if k.typ == "keyring" || !linkedElsewhere(k, keys, rootSes) {
				continue
			}
			if rapid.Bool().Draw(t, "unlink-root-"+k.desc) {
				if _, err := root.th.KeyctlInt(emu.KEYCTL_UNLINK, k.id, emu.KEY_SPEC_SESSION_KEYRING, 0, 0); err != nil {
					t.Fatalf("KEYCTL_UNLINK(%s, @s) = %v", k.desc, err)
				}
				rootSes.children = remove(rootSes.children, k)
			}
		}

		for _, u := range users {
			poss := possessedBy(u, sessions[u])
			listed := procSerials(sys.ProcKeys(u.th))
			for _, k := range keys {
				m := mask(k, u, poss[k])
				what := fmt.Sprintf("uid %d, %s %s (uid %d gid %d perm %08x, possessed %v)", u.uid, k.typ, k.desc, k.uid, k.gid, k.perm, poss[k])

				_, err := u.th.KeyctlString(emu.KEYCTL_DESCRIBE, k.id)
				if want := m&pView != 0; (err == nil) != want {
					t.Fatalf("%s: KEYCTL_DESCRIBE = %v, want success %v (R6.2, R6.4 View)", what, err, want)
				}
				if listed[k.id] != (m&pView != 0) {
					t.Fatalf("%s: /proc/keys lists it: %v, want %v (R9.1)", what, listed[k.id], m&pView != 0)
				}

				_, err = u.th.KeyctlBuffer(emu.KEYCTL_READ, k.id, nil, 0)
				if want := m&pRead != 0 || poss[k]; (err == nil) != want {
					t.Fatalf("%s: KEYCTL_READ = %v, want success %v (op 11: Read or possession)", what, err, want)
				}
				if err != nil && ename(err) != "EACCES" {
					t.Fatalf("%s: KEYCTL_READ = %v, want EACCES", what, err)
				}

				got, err := u.th.KeyctlSearch(emu.KEY_SPEC_SESSION_KEYRING, k.typ, k.desc, 0)
				if (err == nil && got == k.id) != poss[k] {
					t.Fatalf("%s: KEYCTL_SEARCH(@s) = %d, %v; want found %v (R4.3)", what, got, err, poss[k])
				}
				if err == nil && got != k.id {
					t.Fatalf("%s: KEYCTL_SEARCH(@s) = %d, another key", what, got)
				}
				got, err = reqNull(u.th, k.typ, k.desc, 0)
				if (err == nil && got == k.id) != poss[k] {
					t.Fatalf("%s: request_key = %d, %v; want found %v (R5.4b)", what, got, err, poss[k])
				}
			}
		}
	})
}

func contains(list []*secKey, k *secKey) bool {
	for _, e := range list {
		if e == k {
			return true
		}
	}
	return false
}

func remove(list []*secKey, k *secKey) []*secKey {
	out := list[:0]
	for _, e := range list {
		if e != k {
			out = append(out, e)
		}
	}
	return out
}

// linkedElsewhere reports whether a keyring of the world other than
// root's session links k, and is itself linked from root's session (so
// unlinking k from the session keeps it alive).
func linkedElsewhere(k *secKey, keys []*secKey, rootSes *secKey) bool {
	for _, r := range keys {
		if r.typ == "keyring" && contains(r.children, k) && contains(rootSes.children, r) {
			return true
		}
	}
	return false
}

// procSerials returns the serials /proc/keys lists.
func procSerials(proc string) map[int]bool {
	out := map[int]bool{}
	for _, l := range strings.Split(proc, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if n, err := strconv.ParseUint(f[0], 16, 32); err == nil {
			out[int(n)] = true
		}
	}
	return out
}

// TestPropertyQuota drives users with small limits through random key
// operations and checks two things. No operation that R7.3 does not exempt
// (a thread's first session keyring) leaves a UID above maxkeys or
// maxbytes with more than it had before. And once every keyring is
// cleared, every process has exited and the collector has run, each UID's
// /proc/key-users counts are back where they were before the first
// operation (R7.4, R7.5: every charge is refunded when its key dies).
func TestPropertyQuota(t *testing.T) {
	const maxKeys, maxBytes = 6, 120
	rapid.Check(t, func(t *rapid.T) {
		sys := emu.New(emu.Config{MaxKeys: maxKeys, MaxBytes: maxBytes, CheckCaches: true})
		uids := []uint32{1000, 1001}
		root := sys.NewProcess(emu.Creds{UID: 0, GID: 0}).Main()
		var threads []*emu.Thread
		var serials []int
		usage := func() map[uint32][2]int {
			out := map[uint32][2]int{}
			for _, l := range strings.Split(sys.ProcKeyUsers(nil), "\n") {
				f := strings.Fields(l)
				if len(f) != 5 {
					continue
				}
				uid, _ := strconv.Atoi(strings.TrimSuffix(f[0], ":"))
				var qk, mk, qb, mb int
				fmt.Sscanf(f[3], "%d/%d", &qk, &mk)
				fmt.Sscanf(f[4], "%d/%d", &qb, &mb)
				out[uint32(uid)] = [2]int{qk, qb}
			}
			return out
		}
		spawn := func(uid uint32) {
			th := sys.NewProcess(emu.Creds{UID: uid, GID: uid}).Main()
			_, _ = th.KeyctlGetKeyringID(atU, false)
			_, _ = th.KeyctlGetKeyringID(atUS, false)
			threads = append(threads, th)
		}
		for _, uid := range uids {
			spawn(uid)
		}
		baseline := map[uint32]string{}
		for _, uid := range uids {
			baseline[uid] = keyUsers(sys, strconv.Itoa(int(uid)))
		}
		for _, th := range threads {
			// R7.3: a thread's first session keyring may overrun.
			_, _ = th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_JOIN_SESSION_KEYRING), emu.Null())
		}

		id := func(label string) int {
			if len(serials) > 0 && rapid.IntRange(0, 2).Draw(t, label+"-known") > 0 {
				return rapid.SampledFrom(serials).Draw(t, label)
			}
			if label == "key" {
				// The user keyrings are destinations only: a timeout or
				// revocation of them is R2.5e, not a quota matter.
				return atS
			}
			return rapid.SampledFrom([]int{atS, atU, atUS}).Draw(t, label)
		}
		payload := func() []byte {
			return make([]byte, rapid.SampledFrom([]int{1, 2, 10, 40, 90, 119, 120, 121}).Draw(t, "plen"))
		}
		t.Repeat(map[string]func(*rapid.T){
			"op": func(t *rapid.T) {
				th := rapid.SampledFrom(threads).Draw(t, "thread")
				before := usage()
				var r int
				var err error
				what := ""
				switch op := rapid.IntRange(0, 13).Draw(t, "op"); op {
				case 0, 1:
					desc := rapid.SampledFrom([]string{"a", "b", "c", strings.Repeat("d", 40), strings.Repeat("e", 100)}).Draw(t, "desc")
					r, err = th.AddKey("user", desc, payload(), id("dest"))
					what = "add_key user " + desc
				case 2:
					desc := rapid.SampledFrom([]string{"r1", "r2", strings.Repeat("r", 60)}).Draw(t, "ring")
					r, err = th.AddKey("keyring", desc, nil, id("dest"))
					what = "add_key keyring " + desc
				case 3:
					_, err = th.KeyctlBuffer(emu.KEYCTL_UPDATE, id("key"), payload(), 0)
					what = "update"
				case 4:
					_, err = th.KeyctlInt(emu.KEYCTL_LINK, id("key"), id("ring"), 0, 0)
					what = "link"
				case 5:
					_, err = th.KeyctlInt(emu.KEYCTL_UNLINK, id("key"), id("ring"), 0, 0)
					what = "unlink"
				case 6:
					_, err = th.KeyctlInt(emu.KEYCTL_REVOKE, id("key"), 0, 0, 0)
					what = "revoke"
				case 7:
					_, err = th.KeyctlInt(emu.KEYCTL_INVALIDATE, id("key"), 0, 0, 0)
					what = "invalidate"
				case 8:
					_, err = th.KeyctlInt(emu.KEYCTL_CLEAR, id("ring"), 0, 0, 0)
					what = "clear"
				case 9:
					name := emu.Null()
					if rapid.Bool().Draw(t, "named") {
						name = emu.String(rapid.SampledFrom([]string{"s1", "s2"}).Draw(t, "name"))
					}
					r, err = th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_JOIN_SESSION_KEYRING), name)
					what = "join"
				case 10:
					to := rapid.SampledFrom(uids).Draw(t, "to")
					_, err = root.KeyctlInt(emu.KEYCTL_CHOWN, id("key"), int(to), -1, 0)
					what = fmt.Sprintf("chown to %d", to)
				case 11:
					err = th.KeyctlSetperm(id("key"), 0x3f3f3f3f)
					what = "setperm"
				case 12:
					_, err = th.KeyctlInt(emu.KEYCTL_SET_TIMEOUT, id("key"), rapid.IntRange(0, 5).Draw(t, "timeout"), 0, 0)
					what = "set_timeout"
				case 13:
					sys.Advance(time.Duration(rapid.IntRange(1, 400).Draw(t, "seconds")) * time.Second)
					what = "advance"
				}
				if err == nil && r > 0 {
					serials = append(serials, r)
				}
				after := usage()
				for uid, a := range after {
					if uid == 0 {
						continue
					}
					b := before[uid]
					if (a[0] > maxKeys && a[0] > b[0]) || (a[1] > maxBytes && a[1] > b[1]) {
						t.Fatalf("%s (%v): uid %d went from %d keys %d bytes to %d keys %d bytes, limits %d and %d (R7.3)",
							what, err, uid, b[0], b[1], a[0], a[1], maxKeys, maxBytes)
					}
				}
			},
			"respawn": func(t *rapid.T) {
				i := rapid.IntRange(0, len(threads)-1).Draw(t, "exit")
				uid := uids[i%len(uids)]
				threads[i].Process().Exit()
				th := sys.NewProcess(emu.Creds{UID: uid, GID: uid}).Main()
				_, _ = th.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_JOIN_SESSION_KEYRING), emu.Null())
				threads[i] = th
			},
		})

		// Let everything go: every process exits (first, so that the keys
		// their session keyrings hold give back their quota, which the
		// link below may need), the user keyrings are emptied (the user
		// session keyring keeps its link to the user keyring, R2.5a), time
		// passes every timeout and gc_delay.
		for _, th := range append(threads, root) {
			th.Process().Exit()
		}
		for _, uid := range uids {
			th := sys.NewProcess(emu.Creds{UID: uid, GID: uid}).Main()
			for _, ring := range []int{atU, atUS} {
				if _, err := th.KeyctlInt(emu.KEYCTL_CLEAR, ring, 0, 0, 0); err != nil {
					t.Fatalf("uid %d: KEYCTL_CLEAR(%d) = %v", uid, ring, err)
				}
			}
			if _, err := th.KeyctlInt(emu.KEYCTL_LINK, atU, atUS, 0, 0); err != nil {
				t.Fatalf("uid %d: KEYCTL_LINK(@u, @us) = %v", uid, err)
			}
			th.Process().Exit()
		}
		sys.Advance(24 * time.Hour)
		sys.Collect()
		for _, uid := range uids {
			if got := keyUsers(sys, strconv.Itoa(int(uid))); got != baseline[uid] {
				t.Fatalf("uid %d: /proc/key-users %q after everything died, want %q as at the start (R7.5)", uid, got, baseline[uid])
			}
		}
	})
}

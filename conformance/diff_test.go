package conformance

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/keyemu/keyemu/emu"
	"github.com/keyemu/keyemu/model"
)

// Differential testing: random sequences of system calls and process
// operations run on the kernel and on the emulator side by side, and every
// output must be the same. Outputs are scenario outputs, so serials are
// compared through their labels, which is a bijection between the two
// sides' serials (kernel serials are random, R1.1), and keyring contents
// are compared as sets (R1.13). A failing sequence is printed as a scenario
// file with the kernel's outputs, ready for testdata/regress/.
//
// Without a usable kernel the emulator is compared with itself under
// another serial seed, which still checks that nothing depends on serial
// values.
//
// The default run is short; make diff runs many sequences against the
// kernel: -diff.sequences=N (or KEYEMU_DIFF_SEQUENCES=N) sequences, split
// among -diff.parallel rapid checks that run at once. To replay a failure,
// run the subtest rapid names with the -rapid.failfile it prints.
var (
	diffSequences = flag.Int("diff.sequences", envInt("KEYEMU_DIFF_SEQUENCES", 20), "TestDifferential: number of random sequences")
	diffParallel  = flag.Int("diff.parallel", 10, "TestDifferential: number of sequences run at once")
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

func TestDifferential(t *testing.T) {
	ref, why := tryKernel(t)
	if ref == nil {
		t.Logf("%s; comparing the emulator with itself under another serial seed", why)
		ref = Emulator(emu.Config{Seed: 0x5eed, CheckCaches: true})
	}
	other := Emulator(emu.Config{CheckCaches: true})
	n, p := max(*diffSequences, 1), max(*diffParallel, 1)
	p = min(p, n)
	// rapid takes its number of checks from a flag; each parallel check
	// runs its share, and the flag is restored when all are done.
	checks := flag.Lookup("rapid.checks")
	prev := checks.Value.String()
	if err := checks.Value.Set(strconv.Itoa((n + p - 1) / p)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { checks.Value.Set(prev) })
	// Long runs report their progress on stderr (shrinking counts too).
	var done atomic.Int64
	for i := range p {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			rapid.Check(t, func(rt *rapid.T) {
				if c := done.Add(1); n >= 1000 && c%500 == 0 {
					fmt.Fprintf(os.Stderr, "TestDifferential: %d of %d sequences started\n", c, n)
				}
				d := newDiffRun(rt, ref, other)
				defer d.close()
				rt.Repeat(map[string]func(*rapid.T){
					"":        d.observe,
					"key":     d.keyOp,
					"keyctl":  d.keyctlOp,
					"ring":    d.ringOp,
					"process": d.processOp,
				})
			})
		})
	}
}

// diffSide is one backend's world and the scenario state on it.
type diffSide struct {
	b Backend
	w World
	x *execState
}

// diffRun is one random sequence on two backends. Commands are scenario
// lines, parsed and checked exactly as in a scenario file.
type diffRun struct {
	sides [2]*diffSide // [0] is the reference: the kernel when there is one

	// Parse-time state of the sequence as a scenario file.
	bound     map[string]bool
	threads   map[string]*staticThread
	lastSpawn string
	names     []string // bound names whose command returned a serial
	threadIDs []string // every thread name, in order of creation
	last      string   // the thread that ran the last command
	nbind     int
	nthread   int

	transcript []string // commands and the reference's outputs
}

func newDiffRun(rt *rapid.T, ref, other Backend) *diffRun {
	d := &diffRun{bound: map[string]bool{}, threads: map[string]*staticThread{}}
	for i, b := range []Backend{ref, other} {
		w, err := b.NewWorld()
		if err != nil {
			d.close()
			rt.Fatalf("%s backend: new world: %v", b.Name(), err)
		}
		d.sides[i] = &diffSide{b: b, w: w, x: &execState{world: w, labels: newLabels(), threads: map[string]*threadState{}}}
	}
	return d
}

func (d *diffRun) close() {
	for _, s := range d.sides {
		if s != nil {
			s.w.Close()
		}
	}
}

// run runs one scenario command on both sides and fails rt, printing the
// sequence so far as a scenario, when their outputs differ.
func (d *diffRun) run(rt *rapid.T, line string) string {
	f, err := parseDataFile("differential", []byte(line+"\n----\n"))
	if err != nil || len(f.directives) != 1 {
		rt.Fatalf("generated a bad command %q: %v", line, err)
	}
	s, err := parseStep(&f.directives[0], d.bound, d.threads, &d.lastSpawn)
	if err != nil {
		rt.Fatalf("generated a bad command %q: %v", line, err)
	}
	before := d.emuKeys()
	var outs [2]string
	for i, side := range d.sides {
		out, err := side.x.output(s)
		if errors.Is(err, errors.ErrUnsupported) {
			rt.Skipf("%s: %s backend cannot do this: %v", line, side.b.Name(), err)
		}
		if err != nil {
			rt.Fatalf("%s\n%s: %s backend failed: %v", d.scenario(), line, side.b.Name(), err)
		}
		outs[i] = out
	}
	d.transcript = append(d.transcript, line, outs[0])
	if outs[0] != outs[1] {
		rt.Fatalf("%s backend and %s backend disagree on the last command of this scenario:\n\n%s\n%s: %s\n%s: %s",
			d.sides[0].b.Name(), d.sides[1].b.Name(), d.scenario(),
			d.sides[0].b.Name(), indent(withNewline(outs[0])), d.sides[1].b.Name(), indent(withNewline(outs[1])))
	}
	if s.bind != "" {
		if _, ok := d.sides[0].x.labels.lookup(s.bind); ok {
			d.names = append(d.names, s.bind)
		}
	}
	if !s.verb.world {
		d.last = s.as
	}
	// The emulator destroys a key as the call that dropped its last
	// reference returns; the kernel drops references held by keyrings and credentials after an
	// RCU grace period and destroys keys from a work item (R8.3, R8.4).
	// Until then the key still answers by serial and its quota is still
	// charged, so wait for the reference to let the keys go, and settle
	// before anything can look.
	if s.name != "settle" {
		after := d.emuKeys()
		var gone []model.Serial
		for serial := range before {
			if !after[serial] {
				gone = append(gone, serial)
			}
		}
		if len(gone) > 0 {
			d.awaitGone(gone)
			d.run(rt, "settle")
		}
	}
	return outs[0]
}

// awaitGone waits, up to 20 seconds, until the reference no longer finds
// the keys the emulator destroyed, as far as they have labels: the
// kernel's release of credentials after an exit or execve can outlast any
// fixed pause on a loaded machine. A key the reference keeps is then a
// divergence the next look reports.
func (d *diffRun) awaitGone(gone []model.Serial) {
	ref, other := d.sides[0].x, d.sides[1].x
	var th Thread
	for _, ts := range ref.threads {
		if ts.alive {
			th = ts.t
			break
		}
	}
	if th == nil {
		return
	}
	for _, serial := range gone {
		label, ok := other.labels.bySerial[int(serial)]
		if !ok {
			continue
		}
		for refSerial, l := range ref.labels.bySerial {
			if l != label {
				continue
			}
			// DESCRIBE alone fails ENOKEY for an invalidated key that is
			// still alive (R1.24); READ checks permission first.
			enokey := func(op int) bool {
				_, err := th.Syscall(emu.SYS_KEYCTL, emu.Int(op), emu.Int(refSerial), emu.Null(), emu.Int(0))
				return err != nil && emu.ErrnoName(err) == "ENOKEY"
			}
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if enokey(emu.KEYCTL_DESCRIBE) && enokey(emu.KEYCTL_READ) {
					break
				}
			}
		}
	}
}

// emuKeys returns the serials of every key of the emulator's world.
func (d *diffRun) emuKeys() map[model.Serial]bool {
	keys := map[model.Serial]bool{}
	d.sides[1].w.(*emuWorld).sys.Model(func(m *model.State) {
		m.EachKey(func(k *model.Key) bool {
			keys[k.Serial()] = true
			return true
		})
	})
	return keys
}

// scenario returns the sequence so far as a scenario file with the
// reference's outputs as the expected outputs.
func (d *diffRun) scenario() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Found by TestDifferential (%s backend against %s backend).\n", d.sides[0].b.Name(), d.sides[1].b.Name())
	b.WriteString("# Rules: TODO cite the rules this pins, then run -update on the kernel.\n")
	for i := 0; i < len(d.transcript); i += 2 {
		out := withNewline(d.transcript[i+1])
		if hasBlankLine(out) {
			fmt.Fprintf(&b, "\n%s\n----\n----\n%s----\n----\n", d.transcript[i], out)
		} else {
			fmt.Fprintf(&b, "\n%s\n----\n%s", d.transcript[i], out)
		}
	}
	return b.String()
}

// liveThreads returns the threads that can run commands.
func (d *diffRun) liveThreads() []string {
	var out []string
	for _, n := range d.threadIDs {
		if d.threads[n].alive {
			out = append(out, n)
		}
	}
	return out
}

// thread draws a live thread to run the next command, spawning a process
// when none is left.
func (d *diffRun) thread(rt *rapid.T) string {
	live := d.liveThreads()
	if len(live) == 0 || rapid.IntRange(0, 30).Draw(rt, "new process") == 0 && len(live) < 6 {
		return d.spawn(rt)
	}
	return rapid.SampledFrom(live).Draw(rt, "thread")
}

var diffUIDs = []int{0, 50100, 50101}

func (d *diffRun) spawn(rt *rapid.T) string {
	d.nthread++
	name := fmt.Sprintf("p%d", d.nthread)
	uid := rapid.SampledFrom(diffUIDs).Draw(rt, "uid")
	gid := uid
	if rapid.IntRange(0, 3).Draw(rt, "other gid") == 0 {
		gid = 50100
	}
	groups := ""
	if uid != 0 && rapid.Bool().Draw(rt, "groups") {
		groups = " groups=(50102)"
	}
	d.run(rt, fmt.Sprintf("spawn %s uid=%d gid=%d%s", name, uid, gid, groups))
	d.threadIDs = append(d.threadIDs, name)
	return name
}

// newThreadName returns a fresh thread name.
func (d *diffRun) newThreadName() string {
	d.nthread++
	return fmt.Sprintf("t%d", d.nthread)
}

func (d *diffRun) bind() string {
	d.nbind++
	return fmt.Sprintf("k%d", d.nbind)
}

// id draws a key ID: a bound serial, a special ID or junk. 1 and 2 are
// never serials (R1.1), so they fail ENOKEY on every kernel.
func (d *diffRun) id(rt *rapid.T, label string) string {
	switch k := rapid.IntRange(0, 9).Draw(rt, label+" kind"); {
	case k < 5 && len(d.names) > 0:
		return "$" + rapid.SampledFrom(d.names).Draw(rt, label)
	case k < 9:
		return rapid.SampledFrom([]string{"@t", "@p", "@s", "@u", "@us", "@a", "@r", "@g"}).Draw(rt, label)
	}
	return rapid.SampledFrom([]string{"0", "1", "2", "-9", "-100"}).Draw(rt, label)
}

// pick draws from a pool whose first entries are the common ones.
func pick(rt *rapid.T, label string, common, rare []string) string {
	if len(rare) > 0 && rapid.IntRange(0, 5).Draw(rt, label+" rare") == 0 {
		return rapid.SampledFrom(rare).Draw(rt, label)
	}
	return rapid.SampledFrom(common).Draw(rt, label)
}

var (
	diffTypes       = []string{"user", "keyring", "logon"}
	diffBadTypes    = []string{"big_key", `""`, ".x", "nosuch", "t*32", "t*31", "NULL", "FAULT", "asymmetric", ".request_key_auth"}
	diffDescs       = []string{"a", "b", "c:d", "_ses"}
	diffBadDescs    = []string{"x*3000", "y*4095", "z*4096", `""`, "NULL", "FAULT", ":e", "_uid.50100", "_pid"}
	diffPayloads    = []string{"v", "w*100"}
	diffBadPayloads = []string{`""`, "NULL", "FAULT", "p*4096", "q*4097", "r*32767", "s*32768"}
	diffPerms       = []string{"0x3f3f3f3f", "0x3f010000", "0", "0x3f080000", "0x0b000000", "0x3f003f00", "0x01010101", "0x3f000000", "0x40000000", "0x1f3f0000"}
	diffIDs         = []string{"-1", "0", "50100", "50101", "50102", "70000"}
)

func (d *diffRun) typ(rt *rapid.T) string  { return pick(rt, "type", diffTypes, diffBadTypes) }
func (d *diffRun) desc(rt *rapid.T) string { return pick(rt, "desc", diffDescs, diffBadDescs) }

// keyOp is add_key(2) or request_key(2) with no callout (a callout's
// outcome depends on /sbin/request-key being installed).
func (d *diffRun) keyOp(rt *rapid.T) {
	th := d.thread(rt)
	typ, desc := d.typ(rt), d.desc(rt)
	if rapid.IntRange(0, 3).Draw(rt, "request") == 0 {
		d.run(rt, fmt.Sprintf("request-key %s %s NULL %s as=%s bind=%s", typ, desc, d.id(rt, "dest"), th, d.bind()))
		return
	}
	payload := pick(rt, "payload", diffPayloads, diffBadPayloads)
	if typ == "keyring" && rapid.IntRange(0, 4).Draw(rt, "keyring payload") > 0 {
		payload = `""`
	}
	d.run(rt, fmt.Sprintf("add-key %s %s %s %s as=%s bind=%s", typ, desc, payload, d.id(rt, "ring"), th, d.bind()))
}

// ringOp is a keyring operation between two IDs.
func (d *diffRun) ringOp(rt *rapid.T) {
	th := d.thread(rt)
	a, b := d.id(rt, "key"), d.id(rt, "ring")
	switch rapid.IntRange(0, 5).Draw(rt, "ring op") {
	case 0, 1:
		d.run(rt, fmt.Sprintf("link %s %s as=%s", a, b, th))
	case 2:
		d.run(rt, fmt.Sprintf("unlink %s %s as=%s", a, b, th))
	case 3:
		d.run(rt, fmt.Sprintf("move %s %s %s %s as=%s", a, b, d.id(rt, "to"), rapid.SampledFrom([]string{"0", "1", "2"}).Draw(rt, "flags"), th))
	case 4:
		dest := "0"
		if rapid.Bool().Draw(rt, "search dest") {
			dest = d.id(rt, "dest")
		}
		d.run(rt, fmt.Sprintf("search %s %s %s %s as=%s bind=%s", b, d.typ(rt), d.desc(rt), dest, th, d.bind()))
	case 5:
		d.run(rt, fmt.Sprintf("clear %s as=%s", b, th))
	}
}

// keyctlOp is any other keyctl operation.
func (d *diffRun) keyctlOp(rt *rapid.T) {
	th := d.thread(rt)
	id := d.id(rt, "id")
	var cmd string
	switch rapid.IntRange(0, 19).Draw(rt, "keyctl op") {
	case 0:
		cmd = fmt.Sprintf("get-keyring-id %s %s bind=%s", id, rapid.SampledFrom([]string{"0", "1"}).Draw(rt, "create"), d.bind())
	case 1:
		name := pick(rt, "name", []string{"NULL", "a", "b"}, []string{"_ses", ".x", `""`, "_uid.50100", "_uid_ses.0", "z*4096"})
		cmd = fmt.Sprintf("join-session-keyring %s bind=%s", name, d.bind())
	case 2:
		cmd = fmt.Sprintf("update %s %s", id, pick(rt, "payload", diffPayloads, diffBadPayloads))
	case 3:
		cmd = "revoke " + id
	case 4:
		cmd = fmt.Sprintf("chown %s %s %s", id, rapid.SampledFrom(diffIDs).Draw(rt, "uid"), rapid.SampledFrom(diffIDs).Draw(rt, "gid"))
	case 5:
		cmd = fmt.Sprintf("setperm %s %s", id, rapid.SampledFrom(diffPerms).Draw(rt, "perm"))
	case 6:
		cmd = "describe " + id
	case 7:
		cmd = "read " + id
		if rapid.IntRange(0, 3).Draw(rt, "buflen") == 0 {
			cmd += " " + rapid.SampledFrom([]string{"0", "3", "4", "8"}).Draw(rt, "len")
		}
	case 8:
		cmd = fmt.Sprintf("instantiate %s %s %s", id, pick(rt, "payload", diffPayloads, diffBadPayloads), d.id(rt, "dest"))
	case 9:
		cmd = fmt.Sprintf("negate %s 100 %s", id, d.id(rt, "dest"))
	case 10:
		cmd = fmt.Sprintf("reject %s 100 %s %s", id, rapid.SampledFrom([]string{"EKEYREJECTED", "0", "512", "4095", "ENOKEY"}).Draw(rt, "error"), d.id(rt, "dest"))
	case 11:
		cmd = "set-reqkey-keyring " + strconv.Itoa(rapid.IntRange(-2, 8).Draw(rt, "reqkey"))
	case 12:
		// Timeouts far beyond the sequence's run time: expiry on the
		// kernel's real clock must not overtake the emulator's.
		cmd = fmt.Sprintf("set-timeout %s %s", id, rapid.SampledFrom([]string{"0", "100000"}).Draw(rt, "seconds"))
	case 13:
		cmd = "assume-authority " + rapid.SampledFrom([]string{"0", "-1", id}).Draw(rt, "auth")
	case 14:
		cmd = "get-security " + id
	case 15:
		// Invalidated keys leave keyrings when the kernel's collector
		// runs (R1.22): settle before anything can look.
		d.run(rt, fmt.Sprintf("invalidate %s as=%s", id, th))
		d.run(rt, "settle")
		return
	case 16:
		cmd = fmt.Sprintf("get-persistent %s %s bind=%s", rapid.SampledFrom([]string{"-1", "0", "50100", "70000"}).Draw(rt, "uid"), d.id(rt, "dest"), d.bind())
	case 17:
		r := rapid.SampledFrom([][2]string{{"NULL", "NULL"}, {"user", "x"}, {"nosuch", "x"}, {"user", "NULL"}, {"asymmetric", "bogus"}}).Draw(rt, "restriction")
		cmd = fmt.Sprintf("restrict-keyring %s %s %s", id, r[0], r[1])
	case 18:
		cmd = "capabilities"
	case 19:
		cmd = "raw-keyctl " + rapid.SampledFrom([]string{"23", "24", "28", "32", "33", "-1", "1000"}).Draw(rt, "op")
	}
	d.run(rt, cmd+" as="+th)
}

// processOp creates, changes or ends threads and processes.
func (d *diffRun) processOp(rt *rapid.T) {
	th := d.thread(rt)
	switch rapid.IntRange(0, 7).Draw(rt, "process op") {
	case 0:
		d.spawn(rt)
	case 1:
		n := d.newThreadName()
		d.run(rt, fmt.Sprintf("clone %s as=%s", n, th))
		d.threadIDs = append(d.threadIDs, n)
	case 2:
		n := d.newThreadName()
		d.run(rt, fmt.Sprintf("fork %s as=%s", n, th))
		d.threadIDs = append(d.threadIDs, n)
	case 3:
		d.run(rt, "exec as="+th)
	case 4:
		if rapid.Bool().Draw(rt, "whole process") {
			d.run(rt, "exit as="+th)
		} else {
			d.run(rt, "exit thread as="+th)
		}
	case 5, 6:
		ids := func(label string) string {
			return rapid.SampledFrom([]string{"-1", "0", "50100", "50101"}).Draw(rt, label)
		}
		verb := "setresuid"
		if rapid.IntRange(0, 3).Draw(rt, "gid") == 0 {
			verb = "setresgid"
		}
		d.run(rt, fmt.Sprintf("%s %s %s %s as=%s", verb, ids("r"), ids("e"), ids("s"), th))
	case 7:
		d.run(rt, "setgroups "+rapid.SampledFrom([]string{"", "50102", "0 50100"}).Draw(rt, "groups")+" as="+th)
	}
}

// observe describes and reads every key bound so far from the thread that
// ran the last command (or another live one). These lookups by serial
// create nothing (R3.3), so observing changes no state.
func (d *diffRun) observe(rt *rapid.T) {
	th := d.last
	if t, ok := d.threads[th]; !ok || !t.alive {
		live := d.liveThreads()
		if len(live) == 0 {
			return
		}
		th = live[0]
	}
	seen := map[int]bool{}
	for _, n := range d.names {
		serial, _ := d.sides[0].x.labels.lookup(n)
		if seen[serial] {
			continue
		}
		seen[serial] = true
		desc := d.run(rt, fmt.Sprintf("describe $%s as=%s", n, th))
		format := ""
		switch {
		case strings.HasPrefix(desc, "keyring;"):
			format = " format=keyring"
		case strings.Contains(desc, ";"):
			format = " format=data"
		}
		d.run(rt, fmt.Sprintf("read $%s as=%s%s", n, th, format))
	}
}

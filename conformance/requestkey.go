package conformance

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/keyemu/keyemu/emu"
)

// Key construction (R5.4c) needs a request-key helper on both backends. A
// scenario declares the helper's configuration with request-key-conf,
// whose input lines are request-key.conf(5) lines:
//
//	request-key-conf
//	create user rk:* * /bin/keyctl instantiate %k %c %S
//	----
//
// Programs a line may run: /bin/keyctl (its instantiate, negate and reject
// commands, emu.KeyctlProgram on the emulator) and keyemu-report, this
// package's own program (reportProgram), which prints what the helper sees
// and so, run as "|keyemu-report", instantiates the key with that text.

// RequestKeyConfigurer is a World that can run request-key.conf(5) lines
// as its request-key helper. A World that is not one skips the scenarios
// that need key construction.
type RequestKeyConfigurer interface {
	// ConfigureRequestKey makes conf the request-key.conf(5) text that
	// constructs keys requested in this world from now on, replacing any
	// earlier text. Without it, no line matches: the helper fails and the
	// key is negated (R5.4c step 5).
	ConfigureRequestKey(conf string) error
}

// reportProgramName and probeProgramName are how request-key.conf lines
// name reportProgram and probeProgram.
const (
	reportProgramName = "keyemu-report"
	probeProgramName  = "keyemu-probe"
)

// requestKeyProgram returns the package's program called name, or nil.
func requestKeyProgram(name string) func(emu.Syscaller, []string) ([]byte, error) {
	switch name {
	case reportProgramName:
		return reportProgram
	case probeProgramName:
		return probeProgram
	}
	return nil
}

// reportPrograms are the programs besides /bin/keyctl that scenario
// request-key.conf lines may run, for emu.ParseRequestKeyConf.
func reportPrograms() map[string]emu.Program {
	progs := map[string]emu.Program{}
	for _, name := range []string{reportProgramName, probeProgramName} {
		run := requestKeyProgram(name)
		progs[name] = func(req *emu.KeyRequest, args []string) ([]byte, error) {
			return run(emuProgramThread{req.Thread}, args)
		}
	}
	return progs
}

// checkRequestKeyConf reports a request-key-conf input that the emulator
// cannot parse, so that a scenario file fails at its line.
// It also rejects a description pattern that starts with '*' but is more
// than '*': the kernel backend prefixes description patterns, and
// request-key matches "prefix*suffix" differently from "*suffix".
func checkRequestKeyConf(conf string) error {
	if _, err := emu.ParseRequestKeyConf(conf, reportPrograms()); err != nil {
		return err
	}
	for i, line := range strings.Split(conf, "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && !strings.HasPrefix(f[0], "#") && len(f[2]) > 1 && f[2][0] == '*' {
			return fmt.Errorf("request-key.conf:%d: description pattern %q: want '*' or a pattern that does not start with '*'", i+1, f[2])
		}
	}
	return nil
}

// procKeysReader is a program's Syscaller that can also read /proc/keys
// as its thread.
type procKeysReader interface {
	ProcKeys() (string, error)
}

// emuProgramThread is an emulated helper's thread as its program sees it.
type emuProgramThread struct{ *emu.Thread }

func (t emuProgramThread) ProcKeys() (string, error) {
	return t.Process().System().ProcKeys(t.Thread), nil
}

// reportProgram is what a request-key helper sees (R5.4d, Ex-24),
// printed one observation a line: its session keyring, the authorisation
// key @a and what reading it gives (the callout), the requestor keyring
// @r, and whether a key of the requester's (TYPE DESC) is reachable by
// request_key (the requestor phase, R4.2a) and by KEYCTL_SEARCH of the
// helper's own session keyring. Arguments: KEY [TYPE DESC], KEY being the
// key under construction (%k). Serials never appear: KEY, in decimal or
// hex, prints as %k, and keyrings print as their descriptions.
func reportProgram(sc emu.Syscaller, args []string) ([]byte, error) {
	if len(args) != 1 && len(args) != 3 {
		return nil, fmt.Errorf("%s: want KEY [TYPE DESC], got %q", reportProgramName, args)
	}
	key, err := strconv.Atoi(args[0])
	if err != nil {
		return nil, fmt.Errorf("%s: bad key %q", reportProgramName, args[0])
	}
	hide := func(s string) string {
		s = strings.ReplaceAll(s, strconv.Itoa(key), "%k")
		return strings.ReplaceAll(s, strconv.FormatInt(int64(key), 16), "%k")
	}
	var b strings.Builder
	line := func(what string, s string, err error) {
		if err != nil {
			s = emu.ErrnoName(err)
		}
		fmt.Fprintf(&b, "%s: %s\n", what, hide(s))
	}
	buf := make([]byte, 4096)
	keyctl := func(op, id int) (string, error) {
		n, err := sc.Syscall(emu.SYS_KEYCTL, emu.Int(op), emu.Int(id), emu.Buffer(buf), emu.Int(len(buf)))
		if err != nil {
			return "", err
		}
		if op == emu.KEYCTL_DESCRIBE {
			n-- // the NUL
		}
		return string(buf[:max(0, min(n, len(buf)))]), nil
	}
	for _, r := range []struct {
		name string
		id   int
	}{{"@s", emu.KEY_SPEC_SESSION_KEYRING}, {"@a", emu.KEY_SPEC_REQKEY_AUTH_KEY}, {"@r", emu.KEY_SPEC_REQUESTOR_KEYRING}} {
		d, err := keyctl(emu.KEYCTL_DESCRIBE, r.id)
		line("describe "+r.name, d, err)
	}
	callout, err := keyctl(emu.KEYCTL_READ, emu.KEY_SPEC_REQKEY_AUTH_KEY)
	line("read @a", strconv.Quote(callout), err)
	// R1.17, R9.2: the key is under construction until the helper's
	// output instantiates it: flag U, and not yet I.
	if pr, ok := sc.(procKeysReader); ok {
		text, err := pr.ProcKeys()
		flags, auth := "not listed", "not listed"
		for _, l := range strings.Split(text, "\n") {
			pl, perr := parseProcKeysLine(l)
			switch {
			case perr != nil:
			case pl.serial == key:
				flags = pl.flags
			case pl.typ == ".request_" && strings.HasPrefix(pl.desc, "key:"+strconv.FormatInt(int64(key), 16)+" "):
				// R9.4: "key:<hex> pid:<pid> ci:<len>"; the pid is the
				// requester's, a number of the backend's.
				f := strings.Fields(pl.desc)
				for i, w := range f {
					if strings.HasPrefix(w, "pid:") {
						f[i] = "pid:*"
					}
				}
				auth = pl.flags + " " + pl.perm + " " + strings.Join(f, " ")
			}
		}
		line("proc-keys %k flags", flags, err)
		line("proc-keys @a", auth, err)
	}
	if len(args) == 3 {
		typ, desc := args[1], args[2]
		// R4.2a: request_key (no callout) searches the requester's
		// keyrings after the helper's own; KEYCTL_SEARCH does not.
		id, err := sc.Syscall(emu.SYS_REQUEST_KEY, emu.String(typ), emu.String(desc), emu.Null(), emu.Int(0))
		d := ""
		if err == nil {
			d, err = keyctl(emu.KEYCTL_DESCRIBE, id)
		}
		line("request-key "+typ+" "+desc, d, err)
		id, err = sc.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_SEARCH), emu.Int(emu.KEY_SPEC_SESSION_KEYRING), emu.String(typ), emu.String(desc), emu.Int(0))
		d = ""
		if err == nil {
			d, err = keyctl(emu.KEYCTL_DESCRIBE, id)
		}
		line("search @s "+typ+" "+desc, d, err)
	}
	return []byte(b.String()), nil
}

// emuRequestKey is an emulated world's request-key helper: the lines of
// its last request-key-conf, or none.
type emuRequestKey struct {
	fallback emu.RequestKeyHandler // the Config's handler, used until then

	mu sync.Mutex
	h  emu.RequestKeyHandler
}

func (r *emuRequestKey) configure(conf string) error {
	c, err := emu.ParseRequestKeyConf(conf, reportPrograms())
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.h = c.Handler()
	r.mu.Unlock()
	return nil
}

// handler runs as the System's request-key helper. A world without a
// request-key-conf uses the Config's handler or else behaves as a machine
// whose request-key.conf has no line for the key: the helper fails and
// the key is negated.
func (r *emuRequestKey) handler(req *emu.KeyRequest) error {
	r.mu.Lock()
	h := r.h
	r.mu.Unlock()
	if h == nil {
		h = r.fallback
	}
	if h == nil {
		c, _ := emu.ParseRequestKeyConf("", nil)
		h = c.Handler()
	}
	return h(req)
}

// runRequestKeyConf is the request-key-conf command.
func runRequestKeyConf(x *execState, s *step) (string, error) {
	c, ok := x.world.(RequestKeyConfigurer)
	if !ok {
		return "", fmt.Errorf("key construction: %w", errors.ErrUnsupported)
	}
	return "", c.ConfigureRequestKey(s.d.input)
}

// probeProgram tries the finishing operations with bad arguments while it
// holds the authority for KEY (R5.4c, §5.3 op 12, op 13, op 19; Ex-39),
// then instantiates KEY with what they returned, passing destination @t,
// which for an instantiation means the requester's destination keyring.
// What it sees afterwards (@a, @r, a second instantiation) goes into a
// key "rk-probe-after" that it adds to the requester's keyring
// "rk-after", found beforehand through the requestor phase (R4.2a); the
// requester makes that keyring writable for the helper's uid. Arguments:
// KEY.
func probeProgram(sc emu.Syscaller, args []string) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("%s: want KEY, got %q", probeProgramName, args)
	}
	key, err := strconv.Atoi(args[0])
	if err != nil {
		return nil, fmt.Errorf("%s: bad serial %q", probeProgramName, args[0])
	}
	afterRing, err := sc.Syscall(emu.SYS_REQUEST_KEY, emu.String("keyring"), emu.String("rk-after"), emu.Null(), emu.Int(0))
	if err != nil {
		return nil, fmt.Errorf("%s: finding the requester's keyring rk-after: %v", probeProgramName, err)
	}
	keyctl := func(a ...emu.Arg) error {
		_, err := sc.Syscall(emu.SYS_KEYCTL, a...)
		return err
	}
	instantiate := func(id int, payload []byte, dest int) error {
		return keyctl(emu.Int(emu.KEYCTL_INSTANTIATE), emu.Int(id), emu.Buffer(payload), emu.Int(len(payload)), emu.Int(dest))
	}
	var b strings.Builder
	line := func(what string, err error) {
		s := "0"
		if err != nil {
			s = emu.ErrnoName(err)
		}
		fmt.Fprintf(&b, "%s: %s\n", what, s)
	}
	auth, err := sc.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_GET_KEYRING_ID), emu.Int(emu.KEY_SPEC_REQKEY_AUTH_KEY), emu.Int(0))
	line("get-keyring-id @a", err)
	i := emu.Int
	for _, p := range []struct {
		what string
		err  error
	}{
		{"instantiate @a", instantiate(auth, []byte("x"), 0)},
		{"instantiate dest -7", instantiate(key, []byte("x"), emu.KEY_SPEC_REQKEY_AUTH_KEY)},
		{"instantiate dest -9", instantiate(key, []byte("x"), -9)},
		{"instantiate plen 1048576", instantiate(key, make([]byte, 1048576), 0)},
		{"negate @a", keyctl(i(emu.KEYCTL_NEGATE), i(auth), i(10), i(0))},
		{"reject error 0", keyctl(i(emu.KEYCTL_REJECT), i(key), i(10), i(0), i(0))},
		{"reject error 512", keyctl(i(emu.KEYCTL_REJECT), i(key), i(10), i(512), i(0))},
		{"reject error 4095", keyctl(i(emu.KEYCTL_REJECT), i(key), i(10), i(4095), i(0))},
		{"reject dest -9", keyctl(i(emu.KEYCTL_REJECT), i(key), i(10), i(int(emu.EKEYREJECTED)), i(-9))},
	} {
		line(p.what, p.err)
	}
	if err := instantiate(key, []byte(b.String()), emu.KEY_SPEC_THREAD_KEYRING); err != nil {
		return nil, fmt.Errorf("%s: instantiating key %d: %v", probeProgramName, key, err)
	}
	b.Reset()
	for _, r := range []struct {
		name string
		id   int
	}{{"@a", emu.KEY_SPEC_REQKEY_AUTH_KEY}, {"@r", emu.KEY_SPEC_REQUESTOR_KEYRING}} {
		_, err := sc.Syscall(emu.SYS_KEYCTL, i(emu.KEYCTL_GET_KEYRING_ID), i(r.id), i(0))
		line("get-keyring-id "+r.name, err)
	}
	line("instantiate again", instantiate(key, []byte("y"), 0))
	line("negate again", keyctl(i(emu.KEYCTL_NEGATE), i(key), i(10), i(0)))
	after := []byte(b.String())
	if _, err := sc.Syscall(emu.SYS_ADD_KEY, emu.String("user"), emu.String("rk-probe-after"), emu.Buffer(after), i(len(after)), i(afterRing)); err != nil {
		return nil, fmt.Errorf("%s: adding rk-probe-after to rk-after: %v", probeProgramName, err)
	}
	return nil, nil
}

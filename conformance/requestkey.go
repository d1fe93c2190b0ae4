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

// reportProgramName is how request-key.conf lines name reportProgram.
const reportProgramName = "keyemu-report"

// reportPrograms are the programs besides /bin/keyctl that scenario
// request-key.conf lines may run, for emu.ParseRequestKeyConf.
func reportPrograms() map[string]emu.Program {
	return map[string]emu.Program{
		reportProgramName: func(req *emu.KeyRequest, args []string) ([]byte, error) {
			return reportProgram(req.Thread, args)
		},
	}
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

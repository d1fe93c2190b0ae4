package emu

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"

	"github.com/keyemu/keyemu/model"
)

// Program is a program a request-key.conf line runs, registered by the
// name the line gives it. It runs on the helper thread with the authority
// for the key already assumed, as /sbin/request-key arranges before it
// executes a program. For a line whose program starts with '|', the
// returned output instantiates the key.
type Program func(req *KeyRequest, args []string) (output []byte, err error)

// RequestKeyConf is a request-key handler configured like request-key(8)
// of keyutils 1.6: lines of request-key.conf(5) select a program by
// operation, key type, description and callout, each a pattern with at
// most one '*'; of the matching lines the one whose wildcards skip the
// fewest characters wins, column by column from the left, the first line
// on a tie. The program runs with whole arguments %o %k %t %d %c %u %g
// %T %P %S replaced ("%%x" is "%x").
type RequestKeyConf struct {
	lines    []confLine
	programs map[string]Program
}

type confLine struct {
	lineno                 int
	op, typ, desc, callout string
	program                string
	pipe                   bool
	args                   []string
}

// ParseRequestKeyConf parses request-key.conf(5) text. programs maps the
// program names used in it to Go functions; "/bin/keyctl" and
// "/usr/bin/keyctl" default to KeyctlProgram. A malformed line or an
// unregistered program is reported with its line number.
func ParseRequestKeyConf(text string, programs map[string]Program) (*RequestKeyConf, error) {
	c := &RequestKeyConf{programs: map[string]Program{"/bin/keyctl": KeyctlProgram, "/usr/bin/keyctl": KeyctlProgram}}
	for name, p := range programs {
		c.programs[name] = p
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 5 {
			return nil, fmt.Errorf("request-key.conf:%d: want OP TYPE DESCRIPTION CALLOUT PROGRAM [ARG...], got %d fields", n, len(f))
		}
		l := confLine{lineno: n, op: f[0], typ: f[1], desc: f[2], callout: f[3], program: f[4], args: f[5:]}
		if strings.HasPrefix(l.program, "|") {
			l.pipe = true
			l.program = l.program[1:]
		}
		if _, ok := c.programs[l.program]; !ok {
			return nil, fmt.Errorf("request-key.conf:%d: no program registered as %q", n, l.program)
		}
		for _, a := range l.args {
			if err := checkSubstitutions(a); err != nil {
				return nil, fmt.Errorf("request-key.conf:%d: %v", n, err)
			}
		}
		c.lines = append(c.lines, l)
	}
	return c, nil
}

// checkSubstitutions accepts what request-key(8) accepts: a macro is a
// whole argument. Keysub macros (%{type:desc}) are not supported.
func checkSubstitutions(arg string) error {
	switch {
	case !strings.HasPrefix(arg, "%"), strings.HasPrefix(arg, "%%"):
		return nil
	case len(arg) == 2 && strings.ContainsRune("oktdcugTPS", rune(arg[1])):
		return nil
	case strings.HasPrefix(arg, "%{"):
		return fmt.Errorf("keysub macro %q is not supported", arg)
	}
	return fmt.Errorf("unsupported macro %q", arg)
}

// match is keyutils' request-key match(): without '*' the pattern must
// equal s; with one, s must be at least as long as the rest of the
// pattern, start with what precedes the '*' and end with what follows it.
// wild is the number of characters the '*' skipped.
func match(pattern, s string) (wild int, ok bool) {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return 0, pattern == s
	}
	if len(s) < len(pattern)-1 {
		return 0, false
	}
	if star > 0 && star < len(pattern)-1 {
		// request-key compares the end of s with the pattern's first
		// len(after) characters, not with what follows the '*'.
		if !strings.HasPrefix(s, pattern[:star]) || !strings.HasSuffix(s, pattern[:len(pattern)-star-1]) {
			return 0, false
		}
	} else if !strings.HasPrefix(s, pattern[:star]) || !strings.HasSuffix(s, pattern[star+1:]) {
		return 0, false
	}
	return len(s) - (len(pattern) - 1), true
}

// lookup returns the best line for op and req (request-key's
// scan_conf_file), or nil.
func (c *RequestKeyConf) lookup(op string, req *KeyRequest) *confLine {
	var best *confLine
	var bestWild [4]int
	for i := range c.lines {
		l := &c.lines[i]
		var w [4]int
		ok := true
		for j, m := range [4][2]string{{l.op, op}, {l.typ, req.Type}, {l.desc, req.Description}, {l.callout, req.Callout}} {
			if w[j], ok = match(m[0], m[1]); !ok {
				break
			}
		}
		if ok && (best == nil || lessWild(w, bestWild)) {
			best, bestWild = l, w
		}
	}
	return best
}

func lessWild(a, b [4]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// Handler returns the configuration as a RequestKeyHandler: assume the
// authority and run the best matching line's program. With no matching
// line the key is left to the kernel, which negates it (R5.4c step 5). A
// '|' program that fails gives way to the best "negate" line, as
// request-key(8) does.
func (c *RequestKeyConf) Handler() RequestKeyHandler {
	return func(req *KeyRequest) error {
		if _, err := req.Thread.KeyctlInt(KEYCTL_ASSUME_AUTHORITY, req.Key, 0, 0, 0); err != nil {
			return err
		}
		l := c.lookup(req.Op, req)
		if l == nil {
			return fmt.Errorf("no request-key.conf line for %s %s %q %q", req.Op, req.Type, req.Description, req.Callout)
		}
		err := c.run(l, req)
		if err != nil && l.pipe {
			if n := c.lookup("negate", req); n != nil {
				return c.run(n, req)
			}
		}
		return err
	}
}

func (c *RequestKeyConf) run(l *confLine, req *KeyRequest) error {
	args := make([]string, len(l.args))
	for i, a := range l.args {
		args[i] = substitute(a, req)
	}
	out, err := c.programs[l.program](req, args)
	if err != nil {
		return fmt.Errorf("request-key.conf:%d: %s: %w", l.lineno, l.program, err)
	}
	if l.pipe {
		_, err = req.Thread.KeyctlBuffer(KEYCTL_INSTANTIATE, req.Key, out, 0)
	}
	return err
}

func substitute(arg string, req *KeyRequest) string {
	if strings.HasPrefix(arg, "%%") {
		return arg[1:]
	}
	if len(arg) != 2 || arg[0] != '%' {
		return arg
	}
	switch arg[1] {
	case 'o':
		return req.Op
	case 'k':
		return strconv.Itoa(req.Key)
	case 't':
		return req.Type
	case 'd':
		return req.Description
	case 'c':
		return req.Callout
	case 'u':
		return strconv.FormatUint(uint64(req.UID), 10)
	case 'g':
		return strconv.FormatUint(uint64(req.GID), 10)
	case 'T':
		return strconv.Itoa(req.ThreadKeyring)
	case 'P':
		return strconv.Itoa(req.ProcessKeyring)
	case 'S':
		return strconv.Itoa(req.SessionKeyring)
	}
	return arg
}

// KeyctlProgram is the part of keyctl(1) that request-key.conf lines use
// to finish a key: "instantiate KEY DATA KEYRING", "negate KEY TIMEOUT
// KEYRING" and "reject KEY TIMEOUT ERROR KEYRING", where ERROR is a number
// or one of keyctl's names (rejected, expired, revoked).
func KeyctlProgram(req *KeyRequest, args []string) ([]byte, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("keyctl: no command")
	}
	num := func(s string) (int, error) { return strconv.Atoi(s) }
	th := req.Thread
	switch args[0] {
	case "instantiate":
		if len(args) != 4 {
			return nil, fmt.Errorf("keyctl instantiate: want KEY DATA KEYRING")
		}
		key, err1 := num(args[1])
		ring, err2 := num(args[3])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("keyctl instantiate: bad key or keyring")
		}
		_, err := th.KeyctlBuffer(KEYCTL_INSTANTIATE, key, []byte(args[2]), ring)
		return nil, err
	case "negate":
		if len(args) != 4 {
			return nil, fmt.Errorf("keyctl negate: want KEY TIMEOUT KEYRING")
		}
		key, err1 := num(args[1])
		timeout, err2 := num(args[2])
		ring, err3 := num(args[3])
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("keyctl negate: bad number")
		}
		_, err := th.KeyctlInt(KEYCTL_NEGATE, key, timeout, ring, 0)
		return nil, err
	case "reject":
		if len(args) != 5 {
			return nil, fmt.Errorf("keyctl reject: want KEY TIMEOUT ERROR KEYRING")
		}
		key, err1 := num(args[1])
		timeout, err2 := num(args[2])
		ring, err3 := num(args[4])
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("keyctl reject: bad number")
		}
		e, ok := RejectErrorName(args[3])
		if !ok {
			n, err := num(args[3])
			if err != nil {
				return nil, fmt.Errorf("keyctl reject: bad error %q", args[3])
			}
			e = n
		}
		_, err := th.KeyctlInt(KEYCTL_REJECT, key, timeout, e, ring)
		return nil, err
	}
	return nil, fmt.Errorf("keyctl: unsupported command %q", args[0])
}

// RejectErrorName returns the errno keyctl(1) means by a reject error
// given by name: "rejected", "expired" or "revoked".
func RejectErrorName(name string) (int, bool) {
	switch name {
	case "rejected":
		return int(model.EKEYREJECTED), true
	case "expired":
		return int(model.EKEYEXPIRED), true
	case "revoked":
		return int(model.EKEYREVOKED), true
	}
	return 0, false
}

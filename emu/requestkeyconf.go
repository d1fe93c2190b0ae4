package emu

import (
	"bufio"
	"fmt"
	"path"
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

// RequestKeyConf is a request-key handler configured like request-key(8):
// lines of request-key.conf(5) select a program by operation, key type,
// description and callout (each may be '*' or a pattern with '*'), and
// run it with %k %t %d %c %u %g %T %P %S substituted.
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
		for _, pat := range []string{l.op, l.typ, l.desc, l.callout} {
			if _, err := path.Match(pat, ""); err != nil {
				return nil, fmt.Errorf("request-key.conf:%d: bad pattern %q", n, pat)
			}
		}
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

func checkSubstitutions(arg string) error {
	for i := 0; i < len(arg); i++ {
		if arg[i] != '%' {
			continue
		}
		if i+1 == len(arg) || !strings.ContainsRune("ktdcugTPS%", rune(arg[i+1])) {
			return fmt.Errorf("unknown substitution in %q", arg)
		}
		i++
	}
	return nil
}

func match(pattern, s string) bool {
	ok, _ := path.Match(pattern, s)
	return ok
}

// Handler returns the configuration as a RequestKeyHandler: assume the
// authority, run the first matching line's program; with no matching line
// the key is left to the kernel, which negates it (R5.4c step 5).
func (c *RequestKeyConf) Handler() RequestKeyHandler {
	return func(req *KeyRequest) error {
		if _, err := req.Thread.KeyctlInt(KEYCTL_ASSUME_AUTHORITY, req.Key, 0, 0, 0); err != nil {
			return err
		}
		for _, l := range c.lines {
			if !match(l.op, req.Op) || !match(l.typ, req.Type) || !match(l.desc, req.Description) || !match(l.callout, req.Callout) {
				continue
			}
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
		return fmt.Errorf("no request-key.conf line for %s %s %q %q", req.Op, req.Type, req.Description, req.Callout)
	}
}

func substitute(arg string, req *KeyRequest) string {
	var b strings.Builder
	for i := 0; i < len(arg); i++ {
		if arg[i] != '%' || i+1 == len(arg) {
			b.WriteByte(arg[i])
			continue
		}
		i++
		switch arg[i] {
		case 'k':
			b.WriteString(strconv.Itoa(req.Key))
		case 't':
			b.WriteString(req.Type)
		case 'd':
			b.WriteString(req.Description)
		case 'c':
			b.WriteString(req.Callout)
		case 'u':
			b.WriteString(strconv.FormatUint(uint64(req.UID), 10))
		case 'g':
			b.WriteString(strconv.FormatUint(uint64(req.GID), 10))
		case 'T':
			b.WriteString(strconv.Itoa(req.ThreadKeyring))
		case 'P':
			b.WriteString(strconv.Itoa(req.ProcessKeyring))
		case 'S':
			b.WriteString(strconv.Itoa(req.SessionKeyring))
		default:
			b.WriteByte(arg[i])
		}
	}
	return b.String()
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
		var e int
		switch args[3] {
		case "rejected":
			e = int(model.EKEYREJECTED)
		case "expired":
			e = int(model.EKEYEXPIRED)
		case "revoked":
			e = int(model.EKEYREVOKED)
		default:
			var err error
			if e, err = num(args[3]); err != nil {
				return nil, fmt.Errorf("keyctl reject: bad error %q", args[3])
			}
		}
		_, err := th.KeyctlInt(KEYCTL_REJECT, key, timeout, e, ring)
		return nil, err
	}
	return nil, fmt.Errorf("keyctl: unsupported command %q", args[0])
}

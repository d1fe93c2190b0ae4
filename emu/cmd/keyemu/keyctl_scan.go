package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/keyemu/keyemu/emu"
)

// scanFunc is called for every key of a recursive scan, children before
// their keyring: parent is 0 for the root; raw is the DESCRIBE text, or ""
// with err when the key could not be described.
type scanFunc func(parent, key int32, raw string, err error) int

// sessionScan is libkeyutils' recursive_session_key_scan(): the tree under
// the session keyring (looked up without create), or nothing.
func (c *cli) sessionScan(fn scanFunc) int {
	ses, err := c.keyctl(emu.KEYCTL_GET_KEYRING_ID, emu.Int(emu.KEY_SPEC_SESSION_KEYRING), emu.Int(0))
	if err != nil || ses <= 0 {
		return 0
	}
	return c.scan(0, int32(ses), fn)
}

func (c *cli) scan(parent, key int32, fn scanFunc) int {
	n := 0
	raw, err := c.describeAlloc(key)
	if err == nil && strings.HasPrefix(raw, "keyring;") {
		if data, rerr := c.readAlloc(key); rerr == nil {
			for _, child := range serials(data) {
				n += c.scan(key, child, fn)
			}
		}
	}
	return n + fn(parent, key, raw, err)
}

func (c *cli) reap(argv []string) {
	verbose := false
	if len(argv) > 1 && argv[1] == "-v" {
		verbose = true
		argv = argv[1:]
	}
	if len(argv) != 1 {
		c.format()
	}
	n := c.sessionScan(func(parent, key int32, raw string, err error) int {
		if err == nil {
			return 0
		}
		if e, ok := emu.ErrnoOf(err); ok && e.Name() == "EACCES" {
			return 0
		}
		if verbose {
			fmt.Fprintf(c.stdout, "Reap %d", key)
		}
		if _, uerr := c.keyctl(emu.KEYCTL_UNLINK, emu.Int(int(key)), emu.Int(int(parent))); uerr != nil {
			if verbose {
				fmt.Fprintf(c.stdout, "... failed %s\n", errMsg(uerr))
			}
			return 0
		}
		if verbose {
			fmt.Fprintf(c.stdout, "\n")
		}
		return 1
	})
	c.count(n, "%d keys reaped\n")
}

func (c *cli) purge(argv []string) {
	args := argv[1:]
	search, prefix, caseIndep := false, false, false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case strings.HasPrefix(args[0], "-s"):
			search = true
		case strings.HasPrefix(args[0], "-p"):
			prefix = true
		case strings.HasPrefix(args[0], "-i"):
			caseIndep = true
		default:
			c.format()
		}
		args = args[1:]
	}
	if len(args) < 1 {
		c.format()
	}
	typ := args[0]
	var fn scanFunc
	switch {
	case search:
		if len(args) != 2 || prefix || caseIndep {
			c.format()
		}
		desc := args[1]
		fn = func(_, ring int32, raw string, _ error) int {
			if !strings.HasPrefix(raw, "keyring;") {
				return 0
			}
			n := 0
			for {
				k, err := c.keyctl(emu.KEYCTL_SEARCH, emu.Int(int(ring)), emu.String(typ), emu.String(desc), emu.Int(0))
				if err != nil {
					k = -1
				}
				if _, err := c.keyctl(emu.KEYCTL_UNLINK, emu.Int(k), emu.Int(int(ring))); err != nil {
					return n
				}
				n++
			}
		}
	case len(args) == 1:
		if prefix || caseIndep {
			c.format()
		}
		fn = func(parent, key int32, raw string, _ error) int {
			t, _, ok := strings.Cut(raw, ";")
			if parent == 0 || raw == "" || !ok || t != typ {
				return 0
			}
			return c.unlinkCount(key, parent)
		}
	case len(args) == 2:
		desc := args[1]
		fn = func(parent, key int32, raw string, _ error) int {
			t, rest, ok := strings.Cut(raw, ";")
			if parent == 0 || raw == "" || !ok || t != typ {
				return 0
			}
			i := strings.LastIndexByte(rest, ';')
			if i < 0 {
				return 0
			}
			kdesc := rest[i+1:]
			if prefix {
				if len(kdesc) < len(desc) {
					return 0
				}
			} else if len(kdesc) != len(desc) {
				return 0
			}
			head := kdesc[:len(desc)]
			if caseIndep && !strings.EqualFold(head, desc) || !caseIndep && head != desc {
				return 0
			}
			fmt.Fprintf(c.stdout, "%s '%s'\n", t, kdesc)
			return c.unlinkCount(key, parent)
		}
	default:
		c.format()
	}
	n := c.sessionScan(fn)
	c.count(n, "purged %d keys\n")
}

func (c *cli) unlinkCount(key, parent int32) int {
	if _, err := c.keyctl(emu.KEYCTL_UNLINK, emu.Int(int(key)), emu.Int(int(parent))); err != nil {
		return 0
	}
	return 1
}

// findKey is libkeyutils' find_key_by_type_and_desc(): request_key(2)
// without a callout first, then every key of /proc/keys of that type whose
// description matches exactly.
func (c *cli) findKey(typ, desc string) (int32, bool) {
	th := c.thread()
	if id, err := c.sys(emu.SYS_REQUEST_KEY, emu.String(typ), emu.String(desc), emu.Null(), emu.Int(0)); err == nil {
		return int32(id), true
	}
	for _, line := range strings.Split(c.k.sys.ProcKeys(th), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || f[7] != typ {
			continue
		}
		id, err := strconv.ParseUint(f[0], 16, 32)
		if err != nil {
			continue
		}
		// The description starts after the type column.
		i := strings.Index(line, " "+f[7]+" ")
		kdesc := strings.TrimLeft(line[i+len(f[7])+2:], " ")
		if !strings.HasPrefix(kdesc, desc) {
			continue
		}
		if rest := kdesc[len(desc):]; rest != "" && rest[0] != ':' && rest[0] != ' ' {
			continue
		}
		raw, err := c.describeAlloc(int32(id))
		if err != nil {
			continue
		}
		if j := strings.LastIndexByte(raw, ';'); j < 0 || raw[j+1:] != desc {
			continue
		}
		return int32(id), true
	}
	return 0, false
}

// session is keyctl session: join a session keyring (anonymous for none
// or "-"), then run a program — the shell by default — inside it. The
// process registers as the session's holder: its children find the
// session through their parent chain (or KEYEMU_SESSION, which is set for
// them), and the registration goes when the process dies.
func (c *cli) session(argv []string) {
	args := argv[1:]
	name := emu.Null()
	if len(args) != 0 {
		if args[0] != "-" {
			name = emu.String(args[0])
		}
		args = args[1:]
	}
	id := c.ok("keyctl_join_session_keyring")(c.keyctl(emu.KEYCTL_JOIN_SESSION_KEYRING, name))
	fmt.Fprintf(c.stderr, "Joined session keyring: %d\n", id)
	if len(args) == 0 {
		sh := os.Getenv("SHELL")
		if sh == "" {
			sh = "/bin/sh"
			if runtime.GOOS == "windows" {
				sh = "cmd.exe"
			}
		}
		args = []string{sh}
	}
	env := c.k.registerSelf()
	if err := c.commit(); err != nil {
		c.die(1, "%s: %v\n", c.prog, err)
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		c.perror(args[0], syscall.ENOENT)
	}
	os.Setenv("KEYEMU_SESSION", env)
	runProgram(c, path, args)
}

package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/keyemu/keyemu/emu"
)

// This file and keyctl_*.go are keyctl(1) of keyutils 1.6.3 over the
// emulated kernel: the same subcommands, argument syntax, output, error
// text ("call: glibc's message") and exit codes (0; 1 when a call fails;
// 2 for usage errors).

// exitCode ends a subcommand early with that status, as keyctl's exit():
// the helpers that parse arguments and report errors panic with it and
// run recovers it.
type exitCode int

// command is one entry of keyctl's command table; entries without an
// action only add a line to the usage text.
type command struct {
	name, format string
	action       func(c *cli, argv []string)
}

// commands is keyctl(1)'s table, in its order (the usage text follows it).
var commands []command

func init() {
	commands = []command{
		{"--version", "", (*cli).version},
		{"add", "[-x] <type> <desc> <data> <keyring>", (*cli).add},
		{"chgrp", "<key> <gid>", (*cli).chgrp},
		{"chown", "<key> <uid>", (*cli).chown},
		{"clear", "<keyring>", (*cli).clear},
		{"describe", "<keyring>", (*cli).describe},
		{"dh_compute", "<private> <prime> <base>", (*cli).dhCompute},
		{"dh_compute_kdf", "<private> <prime> <base> <len> <hash_name>", (*cli).dhComputeKDF},
		{"dh_compute_kdf_oi", "[-x] <private> <prime> <base> <len> <hash_name>", (*cli).dhComputeKDFOI},
		{"get_persistent", "<keyring> [<uid>]", (*cli).getPersistent},
		{"id", "<key>", (*cli).id},
		{"instantiate", "[-x] <key> <data> <keyring>", (*cli).instantiate},
		{"invalidate", "<key>", (*cli).invalidate},
		{"link", "<key> <keyring>", (*cli).link},
		{"list", "<keyring>", (*cli).list},
		{"move", "[-f] <key> <from_keyring> <to_keyring>", (*cli).move},
		{"negate", "<key> <timeout> <keyring>", (*cli).negate},
		{"new_session", "[<name>]", (*cli).newSession},
		{"newring", "<name> <keyring>", (*cli).newring},
		{"padd", "[-x] <type> <desc> <keyring>", (*cli).padd},
		{"pinstantiate", "[-x] <key> <keyring>", (*cli).pinstantiate},
		{"pipe", "<key>", (*cli).pipe},
		{"pkey_query", "<key> <pass> [k=v]*", (*cli).pkeyQuery},
		{"pkey_encrypt", "<key> <pass> <datafile> [k=v]*", pkeyOp("keyctl_pkey_encrypt", 4)},
		{"pkey_decrypt", "<key> <pass> <datafile> [k=v]*", pkeyOp("keyctl_pkey_decrypt", 4)},
		{"pkey_sign", "<key> <pass> <datafile> [k=v]*", pkeyOp("keyctl_pkey_sign", 4)},
		{"pkey_verify", "<key> <pass> <datafile> <sigfile> [k=v]*", pkeyOp("keyctl_pkey_verify", 5)},
		{"prequest2", "<type> <desc> [<dest_keyring>]", (*cli).prequest2},
		{"print", "<key>", (*cli).print},
		{"pupdate", "[-x] <key>", (*cli).pupdate},
		{"purge", "<type>", (*cli).purge},
		{"purge", "[-p] [-i] <type> <desc>", nil},
		{"purge", "-s <type> <desc>", nil},
		{"rdescribe", "<keyring> [sep]", (*cli).rdescribe},
		{"read", "<key>", (*cli).read},
		{"reap", "[-v]", (*cli).reap},
		{"reject", "<key> <timeout> <error> <keyring>", (*cli).reject},
		{"request", "<type> <desc> [<dest_keyring>]", (*cli).request},
		{"request2", "<type> <desc> <info> [<dest_keyring>]", (*cli).request2},
		{"restrict_keyring", "<keyring> [<type> [<restriction>]]", (*cli).restrictKeyring},
		{"revoke", "<key>", (*cli).revoke},
		{"rlist", "<keyring>", (*cli).rlist},
		{"search", "<keyring> <type> <desc> [<dest_keyring>]", (*cli).search},
		{"security", "<key>", (*cli).security},
		{"session", "", (*cli).session},
		{"session", "- [<prog> <arg1> <arg2> ...]", nil},
		{"session", "<name> [<prog> <arg1> <arg2> ...]", nil},
		{"setperm", "<key> <mask>", (*cli).setperm},
		{"show", "[-x] [<keyring>]", (*cli).show},
		{"supports", "[<cap> | --raw]", (*cli).supports},
		{"timeout", "<key> <timeout>", (*cli).timeout},
		{"unlink", "<key> [<keyring>]", (*cli).unlink},
		{"update", "[-x] <key> <data>", (*cli).update},
		{"watch", "[-f<filters>] <key>", (*cli).watch},
		{"watch_add", "<fd> <key>", (*cli).watchAdd},
		{"watch_rm", "<fd> <key>", (*cli).watchAdd},
		{"watch_session", "[-f<filters>] [-n <name>] <notifylog> <gclog> <fd> <prog> [<arg1> <arg2> ...]", (*cli).watch},
		{"watch_sync", "<fd>", (*cli).watchSync},
		{"--test", "...", (*cli).test},
	}
}

// findCommand is do_command()'s lookup: an exact name (keyctl 1.6.3
// accepts no abbreviations).
func findCommand(name string) *command {
	for i := range commands {
		if commands[i].action != nil && commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// keyctlFormat is keyctl's usage text.
func keyctlFormat(w io.Writer) {
	fmt.Fprintf(w, "Format:\n")
	for _, cmd := range commands {
		fmt.Fprintf(w, "  keyctl %s %s\n", cmd.name, cmd.format)
	}
	fmt.Fprint(w, keyIDHelp)
}

const keyIDHelp = `
Key/keyring ID:
  <nnn>   numeric keyring ID
  @t      thread keyring
  @p      process keyring
  @s      session keyring
  @u      user keyring
  @us     user default session keyring
  @g      group keyring
  @a      assumed request_key authorisation key

<type> can be "user" for a user-defined keyring
If you do this, prefix the description with "<subtype>:"
`

// cli is one invocation of keyctl (or keyemu): its streams, options and,
// once a subcommand needs it, the emulated kernel.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// prog is "keyctl" or "keyemu", for keyemu's own messages.
	prog  string
	json  bool
	color bool
	// explain collects the decision trail of every system call in trail.
	explain bool
	trail   []callTrail
	k       *kernel
	// res is the --json result of the subcommand.
	res     any
	jsonErr *jsonError
}

// format prints the usage and exits 2, as keyctl's format().
func (c *cli) format() {
	keyctlFormat(c.stderr)
	panic(exitCode(2))
}

// die prints msg to stderr and exits with code.
func (c *cli) die(code int, format string, args ...any) {
	fmt.Fprintf(c.stderr, format, args...)
	panic(exitCode(code))
}

// errMsg is glibc's strerror text of the errno in err.
func errMsg(err error) string {
	if e, ok := emu.ErrnoOf(err); ok {
		return e.Error()
	}
	return err.Error()
}

// perror reports a failed call as keyctl's error(): "msg: strerror" on
// stderr, exit 1.
func (c *cli) perror(msg string, err error) {
	fmt.Fprintf(c.stderr, "%s: %s\n", msg, errMsg(err))
	if c.json {
		je := &jsonError{Call: msg, Message: errMsg(err)}
		if e, ok := emu.ErrnoOf(err); ok {
			je.Errno = e.Name()
			je.Number = int(e)
		}
		c.jsonErr = je
	}
	panic(exitCode(1))
}

// thread returns this invocation's emulated thread, opening the kernel on
// first use.
func (c *cli) thread() *emu.Thread {
	if c.k == nil {
		k, err := openKernel()
		if err != nil {
			if _, ok := err.(*usageError); ok {
				c.die(2, "%s: %v\n", c.prog, err)
			}
			c.die(1, "%s: %v\n", c.prog, err)
		}
		c.k = k
	}
	return c.k.th
}

// keyctl performs keyctl(2) op with C argument semantics.
func (c *cli) keyctl(op int, args ...emu.Arg) (int, error) {
	return c.sys(emu.SYS_KEYCTL, append([]emu.Arg{emu.Int(op)}, args...)...)
}

// sys performs one system call on this invocation's thread, recording its
// decision trail under --explain.
func (c *cli) sys(nr int, args ...emu.Arg) (int, error) {
	th := c.thread()
	if !c.explain {
		return th.Syscall(nr, args...)
	}
	e := th.Explain(nr, args...)
	c.trail = append(c.trail, newCallTrail(nr, args, e))
	return e.Result, e.Err
}

// ok returns a checker for the result of call: it passes r through, or
// reports err as call's failure.
func (c *cli) ok(call string) func(r int, err error) int {
	return func(r int, err error) int {
		if err != nil {
			c.perror(call, err)
		}
		return r
	}
}

// readAlloc is libkeyutils' keyctl_read_alloc(): size the payload with a
// NULL buffer, then read it whole.
func (c *cli) readAlloc(id int32) ([]byte, error) {
	n, err := c.keyctl(emu.KEYCTL_READ, emu.Int(int(id)), emu.Null(), emu.Int(0))
	for err == nil {
		buf := make([]byte, n+1)
		var m int
		m, err = c.keyctl(emu.KEYCTL_READ, emu.Int(int(id)), emu.Buffer(buf[:n]), emu.Int(n))
		if err == nil && m <= n {
			return buf[:m], nil
		}
		n = m
	}
	return nil, err
}

// describeAlloc is keyctl_describe_alloc(): the "type;uid;gid;perm;desc"
// text.
func (c *cli) describeAlloc(id int32) (string, error) {
	return c.stringAlloc(emu.KEYCTL_DESCRIBE, id)
}

func (c *cli) stringAlloc(op int, id int32) (string, error) {
	n, err := c.keyctl(op, emu.Int(int(id)), emu.Null(), emu.Int(0))
	for err == nil {
		buf := make([]byte, n)
		var m int
		m, err = c.keyctl(op, emu.Int(int(id)), emu.Buffer(buf), emu.Int(n))
		if err == nil && m <= n {
			if m > 0 && buf[m-1] == 0 {
				m--
			}
			return string(buf[:m]), nil
		}
		n = m
	}
	return "", err
}

// serials decodes a keyring's payload: the emulated kernel is x86_64,
// so serials are little-endian on every host.
func serials(b []byte) []int32 {
	out := make([]int32, 0, len(b)/4)
	for i := 0; i+4 <= len(b); i += 4 {
		out = append(out, int32(binary.LittleEndian.Uint32(b[i:])))
	}
	return out
}

// strtoul is C's strtoul(s, &end, base) for the result and whether the
// whole string was consumed: leading space, a sign, "0x" or "0" prefixes
// with base 0; an empty or digitless string is 0 with nothing consumed;
// overflow saturates.
func strtoul(s string, base int) (uint64, bool) {
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\v\f\r", s[i]) >= 0 {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if (base == 0 || base == 16) && i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && i+2 < len(s) && digitVal(s[i+2]) < 16 {
		i += 2
		base = 16
	} else if base == 0 && i < len(s) && s[i] == '0' {
		base = 8
	} else if base == 0 {
		base = 10
	}
	start := i
	var v uint64
	over := false
	for i < len(s) {
		d := digitVal(s[i])
		if d >= base {
			break
		}
		if v > (^uint64(0)-uint64(d))/uint64(base) {
			over = true
		}
		v = v*uint64(base) + uint64(d)
		i++
	}
	if i == start {
		// No digits: nothing is consumed, not even the space or sign.
		return 0, len(s) == 0
	}
	if over {
		return ^uint64(0), i == len(s)
	}
	if neg {
		v = -v
	}
	return v, i == len(s)
}

func digitVal(b byte) int {
	switch {
	case b >= '0' && b <= '9':
		return int(b - '0')
	case b >= 'a' && b <= 'z':
		return int(b-'a') + 10
	case b >= 'A' && b <= 'Z':
		return int(b-'A') + 10
	}
	return 99
}

// keyID is keyctl's get_key_id(): a special keyring name, a
// "%type:description" (or "%:keyring") lookup, or a number.
func (c *cli) keyID(arg string) int32 {
	if strings.HasPrefix(arg, "@") {
		switch arg {
		case "@t":
			return emu.KEY_SPEC_THREAD_KEYRING
		case "@p":
			return emu.KEY_SPEC_PROCESS_KEYRING
		case "@s":
			return emu.KEY_SPEC_SESSION_KEYRING
		case "@u":
			return emu.KEY_SPEC_USER_KEYRING
		case "@us":
			return emu.KEY_SPEC_USER_SESSION_KEYRING
		case "@g":
			return emu.KEY_SPEC_GROUP_KEYRING
		case "@a":
			return emu.KEY_SPEC_REQKEY_AUTH_KEY
		}
		c.die(2, "Unknown special key: '%s'\n", arg)
	}
	if strings.HasPrefix(arg, "%") {
		spec := arg[1:]
		var typ, desc string
		switch {
		case spec == "":
			c.die(2, "Incorrect key-by-name spec\n")
		case spec[0] == ':':
			typ, desc = "keyring", spec[1:]
		default:
			var ok bool
			if typ, desc, ok = strings.Cut(spec, ":"); !ok {
				c.die(2, "Incorrect key-by-name spec\n")
			}
		}
		if desc == "" {
			c.die(2, "Incorrect key-by-name spec\n")
		}
		id, ok := c.findKey(typ, desc)
		if !ok {
			c.die(1, "Can't find '%s:%s'\n", typ, desc)
		}
		return id
	}
	v, ok := strtoul(arg, 0)
	if !ok {
		c.die(2, "Unparsable key: '%s'\n", arg)
	}
	return int32(uint32(v))
}

// number parses an unsigned argument as keyctl does, exiting 2 with
// "Unparsable <what>: '<arg>'" when it is not a number.
func (c *cli) number(arg, what string, base int) uint64 {
	v, ok := strtoul(arg, base)
	if !ok {
		c.die(2, "Unparsable %s: '%s'\n", what, arg)
	}
	return v
}

// grabStdin reads the payload from stdin, at most 1 MiB.
func (c *cli) grabStdin() []byte {
	const max = 1024 * 1024
	data, err := io.ReadAll(io.LimitReader(c.stdin, max+1))
	if err != nil {
		c.perror("stdin", err)
	}
	if len(data) > max {
		c.die(1, "Too much data read on stdin\n")
	}
	return data
}

// hex2bin converts hex text (whitespace ignored) to bytes for -x.
func (c *cli) hex2bin(data []byte) []byte {
	out := make([]byte, 0, len(data)/2)
	for i := 0; i < len(data); {
		if strings.IndexByte(" \t\n\v\f\r", data[i]) >= 0 {
			i++
			continue
		}
		if len(data)-i < 2 {
			c.die(1, "Short hex doublet\n")
		}
		h, l := digitVal(data[i]), digitVal(data[i+1])
		if h >= 16 || l >= 16 {
			c.die(1, "Bad hex doublet\n")
		}
		out = append(out, byte(h<<4|l))
		i += 2
	}
	return out
}

// hexFlag strips a leading "-x" from argv (argv[0] is the command).
func hexFlag(argv []string) ([]string, bool) {
	if len(argv) > 1 && argv[1] == "-x" {
		return append([]string{argv[0]}, argv[2:]...), true
	}
	return argv, false
}

// readFile is keyctl's read_file(): the whole file or perror(name).
func (c *cli) readFile(name string) []byte {
	data, err := os.ReadFile(name)
	if err != nil {
		if pe, ok := err.(*os.PathError); ok {
			err = pe.Err
		}
		c.perror(name, err)
	}
	return data
}

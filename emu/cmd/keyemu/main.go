// Command keyemu is the command line of the keyemu emulator of the Linux
// key retention service: keyctl(1) over a persistent emulated kernel, and
// a narrated tour of the rules.
//
//	keyemu tour                     a narrated walk through the keyring rules
//	keyemu <keyctl command> ...     keyctl(1) of keyutils 1.6.3, emulated
//	keyemu session [name|-] [cmd]   run cmd (a shell) in a session keyring
//	keyemu advance DURATION         move the emulated clock forward
//	keyemu proc keys|key-users      the emulated /proc/keys, /proc/key-users
//	keyemu reset                    forget the emulated kernel
//
// Invoked through a link named keyctl it is keyctl(1). The kernel lives in
// a state file (KEYEMU_STATE, else $XDG_STATE_HOME/keyemu/state or
// ~/.local/state/keyemu/state); every invocation is one emulated process
// whose session keyring is that of its nearest ancestor registered by
// "session" or "new_session" (or KEYEMU_SESSION's), else none. The UID and
// GID are the caller's, or KEYEMU_UID and KEYEMU_GID.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	prog := strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
	os.Exit(run(prog, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage: keyemu [--json] [--explain] <command> [args]

keyemu commands:
  tour                      walk through the user, user-session and session
                            keyring rules on a scratch emulated kernel
  session [<name>|-] [<prog> <arg>...]
                            join a session keyring and run prog (a shell)
                            inside it; new_session gives the calling shell one
  advance <duration>        move the emulated clock forward ("90s", "2h", or
                            seconds); expiry and garbage collection follow
  proc keys|key-users       the emulated /proc/keys or /proc/key-users
  reset                     forget the emulated kernel (delete the state file)

and every keyctl(1) command, with keyctl's syntax and output.
--json prints one JSON object per command, for tools.
--explain prints, after the result, the emulator's decision trail for every
system call the command made: special IDs resolved and created, possession,
permission checks, the keyrings searched, quota, and for a failure a hint.

Environment: KEYEMU_STATE (state file), KEYEMU_UID, KEYEMU_GID (the
emulated process's IDs), KEYEMU_SESSION (a session name, where no parent
process chain can be read).

`

// isTerminal reports whether w is a terminal, for colour.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// run is the command line: prog is the name it was invoked by ("keyctl"
// makes it keyctl(1)), args what follows. It returns the exit status.
func run(prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, prog: "keyemu"}
	asKeyctl := prog == "keyctl"
	if asKeyctl {
		c.prog = "keyctl"
	} else {
		for len(args) > 0 && (args[0] == "--json" || args[0] == "--explain") {
			if args[0] == "--json" {
				c.json = true
			} else {
				c.explain = true
			}
			args = args[1:]
		}
		c.color = isTerminal(stdout) && os.Getenv("NO_COLOR") == "" && !c.json
	}
	code := c.dispatch(args, asKeyctl)
	return c.finish(code)
}

// dispatch runs one command, turning exitCode panics into the status.
func (c *cli) dispatch(args []string, asKeyctl bool) (code int) {
	defer func() {
		if r := recover(); r != nil {
			ec, ok := r.(exitCode)
			if !ok {
				panic(r)
			}
			code = int(ec)
		}
	}()
	if len(args) == 0 {
		if !asKeyctl {
			fmt.Fprint(c.stderr, usage)
		}
		c.format()
	}
	if !asKeyctl {
		switch args[0] {
		case "tour":
			if len(args) != 1 {
				c.die(2, "usage: keyemu tour\n")
			}
			return tour(c.stdout, c.color)
		case "advance":
			c.advance(args)
			return 0
		case "proc":
			c.proc(args)
			return 0
		case "reset":
			c.reset(args)
			return 0
		case "help", "-h", "--help":
			fmt.Fprint(c.stdout, usage)
			keyctlFormat(c.stdout)
			return 0
		}
	}
	cmd := findCommand(args[0])
	if cmd == nil {
		fmt.Fprintf(c.stderr, "Unknown command\n")
		if !asKeyctl {
			fmt.Fprint(c.stderr, usage)
		}
		return 2
	}
	cmd.action(c, args)
	return 0
}

// finish writes the kernel back if the command used it, and prints the
// --json object.
func (c *cli) finish(code int) int {
	if err := c.commit(); err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", c.prog, err)
		if code == 0 {
			code = 1
		}
	}
	if c.explain && !c.json {
		c.printTrail()
	}
	if c.json {
		out := struct {
			Exit    int         `json:"exit"`
			Result  any         `json:"result,omitempty"`
			Error   *jsonError  `json:"error,omitempty"`
			Explain []callTrail `json:"explain,omitempty"`
		}{code, c.res, c.jsonErr, c.trail}
		b, _ := json.Marshal(out)
		fmt.Fprintf(c.stdout, "%s\n", b)
	}
	return code
}

// jsonError is a failed call in --json output.
type jsonError struct {
	Call    string `json:"call"`
	Errno   string `json:"errno,omitempty"`
	Number  int    `json:"number,omitempty"`
	Message string `json:"message"`
}

// commit saves the kernel, once.
func (c *cli) commit() error {
	if c.k == nil {
		return nil
	}
	k := c.k
	c.k = nil
	return k.commit()
}

// unregisterSelf forgets this process's session (after the program
// keyemu session ran has ended, where it could not exec).
func (c *cli) unregisterSelf() {
	k, err := openKernel()
	if err != nil {
		return
	}
	if n := os.Getenv("KEYEMU_SESSION"); n != "" {
		k.dropSession(envSession(n))
	}
	k.commit()
}

// advance moves the emulated clock: the offset from the real clock grows.
func (c *cli) advance(args []string) {
	if len(args) != 2 {
		c.die(2, "usage: keyemu advance <duration>\n")
	}
	d, err := time.ParseDuration(args[1])
	if err != nil {
		secs, serr := strconv.ParseUint(args[1], 10, 32)
		if serr != nil {
			c.die(2, "keyemu advance: bad duration %q\n", args[1])
		}
		d = time.Duration(secs) * time.Second
	}
	if d < 0 {
		c.die(2, "keyemu advance: the clock does not go back\n")
	}
	c.thread()
	c.k.st.ClockOffset += d
	c.k.sys.Advance(d)
	if c.json {
		c.res = map[string]any{"now": c.k.sys.Now().UTC().Format(time.RFC3339), "offset": c.k.st.ClockOffset.String()}
		return
	}
	fmt.Fprintf(c.stdout, "emulated clock: %s (%s ahead)\n", c.k.sys.Now().UTC().Format(time.RFC3339), c.k.st.ClockOffset)
}

// proc prints the emulated /proc/keys or /proc/key-users as this
// invocation's process reads them.
func (c *cli) proc(args []string) {
	if len(args) != 2 || (args[1] != "keys" && args[1] != "key-users") {
		c.die(2, "usage: keyemu proc keys|key-users\n")
	}
	th := c.thread()
	var text string
	if args[1] == "keys" {
		text = c.k.sys.ProcKeys(th)
	} else {
		text = c.k.sys.ProcKeyUsers(th)
	}
	if c.json {
		lines := []string{}
		for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
		c.res = map[string]any{"lines": lines}
		return
	}
	fmt.Fprint(c.stdout, text)
}

// reset deletes the state file under its lock.
func (c *cli) reset(args []string) {
	if len(args) != 1 {
		c.die(2, "usage: keyemu reset\n")
	}
	f, err := openState()
	if err != nil {
		c.die(1, "keyemu: %v\n", err)
	}
	defer f.close()
	if err := f.remove(); err != nil {
		c.die(1, "keyemu: %v\n", err)
	}
}

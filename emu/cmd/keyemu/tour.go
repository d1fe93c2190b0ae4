package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/keyemu/keyemu/emu"
	"github.com/keyemu/keyemu/model"
)

// narrator prints a tour step by step: each call, its result, and the rule
// of the rule book that decided it.
type narrator struct {
	w       io.Writer
	color   bool
	sys     *emu.System
	section int
}

func (n *narrator) title(format string, args ...any) {
	n.section++
	title := fmt.Sprintf("== %d. %s", n.section, fmt.Sprintf(format, args...))
	if n.color {
		title = "\x1b[1m" + title + "\x1b[0m"
	}
	fmt.Fprintf(n.w, "\n%s\n", title)
}

func (n *narrator) say(text string) {
	fmt.Fprintln(n.w)
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		fmt.Fprintf(n.w, "   %s\n", strings.TrimSpace(line))
	}
}

// keyName describes a serial without touching any thread's keyrings.
func (n *narrator) keyName(id int) string {
	var s string
	n.sys.Model(func(m *model.State) {
		if k, ok := m.KeyBySerial(model.Serial(id)); ok {
			s = k.Type().Name + " " + k.Description()
		}
	})
	return s
}

// call runs fn as thread who, prints it and its result, then the rule.
func (n *narrator) call(who, call string, fn func() (int, error), rule string) int {
	fmt.Fprintf(n.w, "\n   [%s] %s\n", who, call)
	r, err := fn()
	switch {
	case err != nil:
		fmt.Fprintf(n.w, "   -> %s\n", errText(err))
	case r > 2:
		if name := n.keyName(r); name != "" {
			fmt.Fprintf(n.w, "   -> %d (%s)\n", r, name)
			break
		}
		fallthrough
	default:
		fmt.Fprintf(n.w, "   -> %d\n", r)
	}
	if rule != "" {
		for _, line := range strings.Split(strings.TrimSpace(rule), "\n") {
			fmt.Fprintf(n.w, "      %s\n", strings.TrimSpace(line))
		}
	}
	return r
}

func (n *narrator) describe(who string, t *emu.Thread, id int, spec, rule string) {
	fmt.Fprintf(n.w, "\n   [%s] keyctl(KEYCTL_DESCRIBE, %s)\n", who, spec)
	s, err := t.KeyctlString(emu.KEYCTL_DESCRIBE, id)
	if err != nil {
		fmt.Fprintf(n.w, "   -> %s\n", errText(err))
	} else {
		fmt.Fprintf(n.w, "   -> %q\n", s)
	}
	if rule != "" {
		for _, line := range strings.Split(strings.TrimSpace(rule), "\n") {
			fmt.Fprintf(n.w, "      %s\n", strings.TrimSpace(line))
		}
	}
}

func (n *narrator) readRing(who string, t *emu.Thread, id int, spec, rule string) {
	fmt.Fprintf(n.w, "\n   [%s] keyctl(KEYCTL_READ, %s)\n", who, spec)
	buf := make([]byte, 4096)
	r, err := t.KeyctlBuffer(emu.KEYCTL_READ, id, buf, 0)
	if err != nil {
		fmt.Fprintf(n.w, "   -> %s\n", errText(err))
	} else {
		var names []string
		for i := 0; i+4 <= r && i+4 <= len(buf); i += 4 {
			serial := int(int32(uint32(buf[i]) | uint32(buf[i+1])<<8 | uint32(buf[i+2])<<16 | uint32(buf[i+3])<<24))
			names = append(names, fmt.Sprintf("%d (%s)", serial, n.keyName(serial)))
		}
		if len(names) == 0 {
			fmt.Fprintf(n.w, "   -> empty\n")
		} else {
			fmt.Fprintf(n.w, "   -> %s\n", strings.Join(names, ", "))
		}
	}
	if rule != "" {
		for _, line := range strings.Split(strings.TrimSpace(rule), "\n") {
			fmt.Fprintf(n.w, "      %s\n", strings.TrimSpace(line))
		}
	}
}

func requestKey(t *emu.Thread, desc string) func() (int, error) {
	return func() (int, error) {
		return t.Syscall(emu.SYS_REQUEST_KEY, emu.String("user"), emu.String(desc), emu.Null(), emu.Int(0))
	}
}

// tour walks through user-session-keyring(7), user-keyring(7),
// session-keyring(7) and keyrings(7) as Linux 6.x implements them.
func tour(w io.Writer, color bool) int {
	sys := emu.New(emu.Config{})
	n := &narrator{w: w, sys: sys, color: color}
	fmt.Fprintln(w, `keyemu tour: the user, user-session and session keyrings, as Linux 6.x does them.
Every call below runs on an emulated kernel; "R" numbers are rules of the
keyemu rule book (SEMANTICS.md), each measured on a real kernel.`)

	n.title("A daemon starts with no keyrings at all")
	n.say(`Process 1 runs as uid 1000, started without PAM: no thread, process or
session keyring (R2.4b). This is the normal state of services and CI jobs.`)
	d := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000})
	t := d.Main()
	n.call("uid 1000", "keyctl(KEYCTL_GET_KEYRING_ID, @t, 0)", func() (int, error) { return t.KeyctlGetKeyringID(emu.KEY_SPEC_THREAD_KEYRING, false) },
		"R2.2: a thread keyring exists only once something creates it; a lookup\nwithout the create flag fails ENOKEY.")
	n.call("uid 1000", "keyctl(KEYCTL_GET_KEYRING_ID, @p, 0)", func() (int, error) { return t.KeyctlGetKeyringID(emu.KEY_SPEC_PROCESS_KEYRING, false) },
		"R2.3: likewise for the process keyring.")

	n.title("The user keyrings appear on first reference")
	u := n.call("uid 1000", "keyctl(KEYCTL_GET_KEYRING_ID, @u, 0)", func() (int, error) { return t.KeyctlGetKeyringID(emu.KEY_SPEC_USER_KEYRING, false) },
		"R2.5a, R2.5b: any reference to @u or @us creates _uid.N and _uid_ses.N,\neven a read-only one without the create flag.")
	n.describe("uid 1000", t, emu.KEY_SPEC_USER_KEYRING, "@u",
		"R2.5a: owned by the uid with no group (shown as 65534, R1.4), perm 1f3f0000.")
	n.readRing("uid 1000", t, emu.KEY_SPEC_USER_SESSION_KEYRING, "@us",
		"R2.5a: the user session keyring links the user keyring.")

	n.title("A read-only @s installs the user session keyring")
	n.call("uid 1000", "keyctl(KEYCTL_GET_KEYRING_ID, @s, 0)", func() (int, error) { return t.KeyctlGetKeyringID(emu.KEY_SPEC_SESSION_KEYRING, false) },
		"R3.4 (1): with no session keyring, a lookup of @s without the create flag\ninstalls _uid_ses.N as the thread's session keyring.")

	n.title("add_key to @s lands in a new, private session keyring")
	n.call("uid 1000", `add_key("user", "token", "s3cret", @s)`, func() (int, error) { return t.AddKey("user", "token", []byte("s3cret"), emu.KEY_SPEC_SESSION_KEYRING) },
		"R3.3, R3.4 (2): add_key looks up its keyring with the create flag, and a\nsession keyring that is a UID keyring is then replaced by a new anonymous\n_ses. The key is in that _ses, not in _uid_ses.N (D8).")
	n.describe("uid 1000", t, emu.KEY_SPEC_SESSION_KEYRING, "@s",
		"R2.1: _ses is owned by the real uid and gid, perm 3f030000.")
	n.call("uid 1000", `request_key("user", "token", NULL, 0)`, requestKey(t, "token"),
		"R4.1: request_key searches the thread, process and session keyrings.")

	n.title("Session-less processes search the user session keyring")
	n.call("uid 1000", `add_key("user", "in-user-keyring", "v", @u)`, func() (int, error) {
		return t.AddKey("user", "in-user-keyring", []byte("v"), emu.KEY_SPEC_USER_KEYRING)
	}, "")
	fresh := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	n.say("Process 2, also uid 1000, starts with no session keyring.")
	n.call("process 2", `request_key("user", "in-user-keyring", NULL, 0)`, requestKey(fresh, "in-user-keyring"),
		"R4.1: a thread with no session keyring searches the user session keyring\nif it exists, and through its link the user keyring.")
	n.call("process 2", "keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)", func() (int, error) { return fresh.KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0) },
		"op 1: joining NULL makes an anonymous _ses.")
	n.call("process 2", `request_key("user", "in-user-keyring", NULL, 0)`, requestKey(fresh, "in-user-keyring"),
		"R4.2: once any session keyring is installed, even an empty one, the user\nkeyrings are searched only if linked from it.")
	n.call("process 2", "keyctl(KEYCTL_LINK, @u, @s)", func() (int, error) {
		return fresh.KeyctlInt(emu.KEYCTL_LINK, emu.KEY_SPEC_USER_KEYRING, emu.KEY_SPEC_SESSION_KEYRING, 0, 0)
	}, "This is what pam_keyinit does at login.")
	n.call("process 2", `request_key("user", "in-user-keyring", NULL, 0)`, requestKey(fresh, "in-user-keyring"),
		"R4.3b: the search descends into keyrings linked from the session keyring.")

	n.title("The user keyrings outlive the user's processes")
	d.Exit()
	fresh.Process().Exit()
	n.say("Every process of uid 1000 has exited. Process 3 starts as uid 1000.")
	later := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	n.call("process 3", "keyctl(KEYCTL_GET_KEYRING_ID, @u, 0)", func() (int, error) { return later.KeyctlGetKeyringID(emu.KEY_SPEC_USER_KEYRING, false) },
		fmt.Sprintf("R2.5d: the user namespace's register .user_reg keeps _uid.N alive; the\nserial is the same as before (%d) and so are its contents (D1).", u))
	n.call("process 3", `request_key("user", "in-user-keyring", NULL, 0)`, requestKey(later, "in-user-keyring"), "")

	legacy := emu.New(emu.Config{Profile: emu.ProfileLegacy})
	ln := &narrator{w: w, sys: legacy, section: n.section, color: color}
	ln.title("Before Linux 5.3 they died with the last process (legacy profile)")
	lp := legacy.NewProcess(emu.Creds{UID: 1000, GID: 1000})
	lu := ln.call("legacy, uid 1000", "keyctl(KEYCTL_GET_KEYRING_ID, @u, 0)", func() (int, error) { return lp.Main().KeyctlGetKeyringID(emu.KEY_SPEC_USER_KEYRING, false) }, "")
	lp.Exit()
	ln.say("Every process of uid 1000 has exited.")
	lp2 := legacy.NewProcess(emu.Creds{UID: 1000, GID: 1000})
	ln.call("legacy, uid 1000", "keyctl(KEYCTL_GET_KEYRING_ID, @u, 0)", func() (int, error) { return lp2.Main().KeyctlGetKeyringID(emu.KEY_SPEC_USER_KEYRING, false) },
		fmt.Sprintf("R2.6a: the keyrings hung off the per-UID record and went with its last\ncredential: this is a new keyring, not %d (D1).", lu))
	n.section = ln.section

	n.title("setuid keeps the session keyring but switches the user keyrings")
	root := sys.NewProcess(emu.Creds{UID: 0, GID: 0})
	rt := root.Main()
	n.call("root", "keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)", func() (int, error) { return rt.KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0) }, "")
	n.call("root", "setresgid(2000, 2000, 2000); setresuid(2000, 2000, 2000)", func() (int, error) {
		if err := root.Setresgid(2000, 2000, 2000); err != nil {
			return -1, err
		}
		return 0, root.Setresuid(2000, 2000, 2000)
	}, "")
	n.describe("uid 2000", rt, emu.KEY_SPEC_SESSION_KEYRING, "@s",
		"R2.4a: the session keyring stays, still owned by root.")
	n.describe("uid 2000", rt, emu.KEY_SPEC_USER_KEYRING, "@u",
		"R2.5a: @u follows the real uid: _uid.2000.")

	n.title("Revoking your own user keyring breaks @u until the collector runs")
	v := sys.NewProcess(emu.Creds{UID: 3000, GID: 3000}).Main()
	n.call("uid 3000", "keyctl(KEYCTL_REVOKE, @u)", func() (int, error) { return v.KeyctlInt(emu.KEYCTL_REVOKE, emu.KEY_SPEC_USER_KEYRING, 0, 0, 0) },
		"The owner holds write permission on _uid.N (perm 1f3f0000), so this works.")
	n.call("uid 3000", "keyctl(KEYCTL_GET_KEYRING_ID, @u, 0)", func() (int, error) { return v.KeyctlGetKeyringID(emu.KEY_SPEC_USER_KEYRING, false) },
		"R2.5e, R2.5f: the register still holds the revoked keyring, so every @u,\n@us and session-less @s lookup fails, reported as ENOKEY (D9).")
	sys.Advance(301 * time.Second)
	n.say("301 seconds later the collector has unlinked it (gc_delay is 300 s, R8.2).")
	n.call("uid 3000", "keyctl(KEYCTL_GET_KEYRING_ID, @u, 0)", func() (int, error) { return v.KeyctlGetKeyringID(emu.KEY_SPEC_USER_KEYRING, false) },
		"R2.5e (b): a new _uid.N is made ...")
	n.readRing("uid 3000", v, emu.KEY_SPEC_USER_SESSION_KEYRING, "@us",
		"... but the surviving _uid_ses.N does not link it.")

	fmt.Fprintln(w, "\nThe emulated kernel's /proc/key-users at the end of the tour (R9.5):")
	fmt.Fprint(w, indent(sys.ProcKeyUsers(nil)))
	return 0
}

func indent(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("   " + line + "\n")
	}
	return b.String()
}

// errText shows an errno as its name and glibc's message.
func errText(err error) string {
	if e, ok := emu.ErrnoOf(err); ok {
		return e.Name() + " (" + e.Error() + ")"
	}
	return err.Error()
}

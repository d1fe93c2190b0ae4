package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// compareScripts run as sh scripts under "keyctl session -" as a fresh
// UID: once with keyctl(1) on the real kernel, once with keyemu's keyctl.
// They print every serial they make before any listing shows it, so
// serials can be renamed in order of appearance; keyrings they list hold
// one entry, as the kernel's order of entries is random per boot (R1.13),
// and do not list a keyring right after invalidating a key in it: the
// kernel's collector unlinks it moments later, keyemu's at once (R4.5).
var compareScripts = []struct{ name, script string }{
	{"payloads", `
a=$(keyctl add user alpha hello @s); echo "add $a"
keyctl print $a; keyctl read $a; keyctl pipe $a; echo
keyctl describe $a; keyctl rdescribe $a; keyctl rdescribe $a '|'
keyctl update $a world; keyctl print $a
printf 'p\001q' | keyctl pupdate $a; keyctl print $a
keyctl update -x $a '41 42'; keyctl print $a
keyctl security $a
keyctl list @s; keyctl rlist @s
keyctl show; keyctl show -x @s
keyctl revoke $a; keyctl print $a; echo "rc=$?"
keyctl unlink $a @s; echo "rc=$?"; keyctl list @s; keyctl rlist @s
`},
	{"keyrings", `
r=$(keyctl newring box @s); echo "newring $r"
k=$(echo -n v | keyctl padd user inner $r); echo "padd $k"
keyctl search @s user inner; keyctl search @s user nope; echo "rc=$?"
keyctl request user inner; keyctl request user nope; echo "rc=$?"
keyctl describe %:box; keyctl describe %user:inner
keyctl setperm $k 0x3f010000; keyctl describe $k
keyctl chown $k 0; echo "rc=$?"
keyctl chgrp $k 0; echo "rc=$?"
keyctl timeout $k 100; keyctl rdescribe $k
keyctl show $r
keyctl invalidate $k; keyctl describe $k; echo "rc=$?"
keyctl restrict_keyring $r; keyctl add user x y $r; echo "rc=$?"
keyctl clear $r; keyctl rlist $r
keyctl unlink $r; keyctl rlist @s
`},
	{"anchors", `
keyctl id @t; echo "rc=$?"; keyctl id @p; echo "rc=$?"
u=$(keyctl id @u); echo "u $u"; us=$(keyctl id @us); echo "us $us"
keyctl rdescribe @u; keyctl rdescribe @us; keyctl rdescribe @s
keyctl describe @g; echo "rc=$?"; keyctl describe @a; echo "rc=$?"
keyctl show @us
keyctl list @u
keyctl link @u @s; keyctl search @s keyring _uid.$(id -u) >/dev/null; echo "rc=$?"
keyctl unlink @u @s
keyctl supports; keyctl supports --raw; keyctl supports move_key; echo "rc=$?"
`},
	{"errors", `
keyctl add user "" x @s; echo "rc=$?"
keyctl add big_key a b @s; echo "rc=$?"
keyctl add logon nocolon x @s; echo "rc=$?"
l=$(keyctl add logon svc:pw x @s); echo "logon $l"
keyctl print $l; echo "rc=$?"
keyctl update @s x; echo "rc=$?"
keyctl add .secret a b @s; echo "rc=$?"
keyctl newring .dot @s; echo "rc=$?"
keyctl print 1; echo "rc=$?"
keyctl describe %:nope; echo "rc=$?"
keyctl link @s @s; echo "rc=$?"
keyctl move $l @s @s; echo "rc=$?"
keyctl reject $l 10 rejected @s; echo "rc=$?"
keyctl instantiate $l data @s; echo "rc=$?"
keyctl pkey_query $l 0; echo "rc=$?"
keyctl dh_compute $l $l $l; echo "rc=$?"
keyctl watch_add 5 $l; echo "rc=$?"
`},
	{"sessions", `
s=$(keyctl id @s); echo "session $s"
keyctl new_session >/tmp/ns.$$; n=$(cat /tmp/ns.$$); rm -f /tmp/ns.$$; echo "new $n"
keyctl id @s; keyctl rdescribe @s
keyctl new_session named >/tmp/ns.$$; n=$(cat /tmp/ns.$$); rm -f /tmp/ns.$$; echo "named $n"
keyctl rdescribe @s
keyctl session named keyctl id @s 2>&1
keyctl session - keyctl rdescribe @s 2>&1 | tail -1
a=$(keyctl add user k v @s); echo "add $a"
keyctl purge user; keyctl reap
b=$(keyctl add user k2 v @s); echo "add $b"
keyctl unlink $b
keyctl get_persistent @s >/dev/null; echo "rc=$?"
keyctl describe %:_persistent.$(id -u)
`},
}

var (
	hexSerial = regexp.MustCompile(`0x[0-9a-f]{8}`)
	decSerial = regexp.MustCompile(`-?\b[0-9]{6,10}\b`)
	// leadingSerial is a renamed serial after alignment spaces.
	leadingSerial = regexp.MustCompile(`(?m)^ +(\$[0-9]+)`)
)

// normalise renames serials in order of first appearance ($1, $2, ...)
// and the test UID to $UID.
func normalise(out string, uid int) string {
	out = strings.ReplaceAll(out, strconv.Itoa(uid), "$UID")
	out = hexSerial.ReplaceAllStringFunc(out, func(h string) string {
		v, _ := strconv.ParseUint(h[2:], 16, 32)
		return strconv.FormatUint(v, 10)
	})
	names := map[string]string{}
	out = decSerial.ReplaceAllStringFunc(out, func(s string) string {
		if _, ok := names[s]; !ok {
			names[s] = "$" + strconv.Itoa(len(names)+1)
		}
		return names[s]
	})
	// Serials are printed right-aligned ("%9d:", "%10d"): their width
	// varies with their number of digits.
	return leadingSerial.ReplaceAllString(out, "$1")
}

// realKeyctl returns a reason to skip the kernel half, or "".
func realKeyctl() (keyctl, setpriv, reason string) {
	if runtime.GOOS != "linux" {
		return "", "", "no Linux kernel"
	}
	keyctl, err := exec.LookPath("keyctl")
	if err != nil {
		return "", "", "keyctl(1) is not installed (apt-get install keyutils)"
	}
	setpriv, err = exec.LookPath("setpriv")
	if err != nil {
		return "", "", "setpriv(1) is not installed"
	}
	if os.Getuid() != 0 {
		return "", "", "running as a fresh UID needs root"
	}
	if out, err := exec.Command(keyctl, "supports", "capabilities").CombinedOutput(); err != nil {
		return "", "", "the kernel's keyctl(2) is unusable: " + string(out)
	}
	return keyctl, setpriv, ""
}

func TestCompareWithKeyctl(t *testing.T) {
	keyctl, setpriv, reason := realKeyctl()
	if reason != "" {
		t.Skip(reason)
	}
	realDir := filepath.Dir(keyctl)
	for _, sc := range compareScripts {
		t.Run(sc.name, func(t *testing.T) {
			// A fresh UID each run: the kernel's user keyrings outlive
			// their processes (R2.5d).
			uid := 50300 + rand.IntN(1<<30)
			script := "cd /tmp; PATH=" + realDir + ":/usr/bin:/bin\n" + sc.script
			cmd := exec.Command(setpriv, "--reuid="+strconv.Itoa(uid), "--regid="+strconv.Itoa(uid), "--clear-groups",
				keyctl, "session", "-", "sh", "-c", script)
			var want, wantErr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &want, &wantErr
			cmd.Env = []string{"PATH=/usr/bin:/bin"}
			_ = cmd.Run()

			dir, err := os.MkdirTemp("", "keyemu-compare-")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			// The fresh UID writes the state and runs the binary.
			os.Chmod(dir, 0o777)
			os.Chmod(binDir, 0o755)
			state := filepath.Join(dir, "state")
			emuScript := "cd /tmp; PATH=" + binDir + ":/usr/bin:/bin\n" + sc.script
			cmd = exec.Command(setpriv, "--reuid="+strconv.Itoa(uid), "--regid="+strconv.Itoa(uid), "--clear-groups",
				filepath.Join(binDir, "keyctl"), "session", "-", "sh", "-c", emuScript)
			var got, gotErr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &got, &gotErr
			cmd.Env = []string{"PATH=/usr/bin:/bin", "KEYEMU_STATE=" + state}
			_ = cmd.Run()

			assert.Equal(t, normalise(want.String(), uid), normalise(got.String(), uid), "stdout of script %s", sc.name)
			assert.Equal(t, normalise(wantErr.String(), uid), normalise(gotErr.String(), uid), "stderr of script %s", sc.name)
		})
	}
}

//go:build linux

package emu_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/keyemu/keyemu/emu"
)

var updateHostile = flag.Bool("update-hostile", false, "rewrite testdata/hostile-input.md from the kernel and the emulator")

// hostileFile is the generated table of hostile inputs.
const hostileFile = "testdata/hostile-input.md"

// harg is an argument of a hostile call: a value, or the result of an
// earlier call of the same row (ref > 0: the ref-th call, 1-based).
type harg struct {
	a   emu.Arg
	ref int
}

func hN(i int) harg             { return harg{a: emu.Int(i)} }
func hS(x string) harg          { return harg{a: emu.String(x)} }
func hRef(i int) harg           { return harg{ref: i} }
func hBuf(size int) harg        { return harg{a: emu.Buffer(make([]byte, size))} }
func hRaw(b []byte) harg        { return harg{a: emu.Buffer(b)} }
func hNull() harg               { return harg{a: emu.Null()} }
func hFault() harg              { return harg{a: emu.Fault()} }
func hRep(c byte, k int) string { return strings.Repeat(string(c), k) }

type hcall struct {
	nr   int
	args []harg
}

func hAdd(typ, desc harg, payload harg, plen int, ring harg) hcall {
	return hcall{emu.SYS_ADD_KEY, []harg{typ, desc, payload, hN(plen), ring}}
}

func hKC(op int, args ...harg) hcall {
	return hcall{emu.SYS_KEYCTL, append([]harg{hN(op)}, args...)}
}

// hostileRow is one line of the table: set-up calls that must succeed,
// then the hostile call whose outcome is compared.
type hostileRow struct {
	class, input string
	setup        []hcall
	call         hcall
}

// hChain returns set-up calls that build c0 in @s and depth keyrings
// more, each inside the one before. Each is made in @s, opened to its
// owner (0x3f3f0000), linked into the one before and unlinked from @s, so
// that a keyring seven deep, no longer possessed (R4.3c), can still take
// the next. Keyring ci is the result of call chainRef(i).
func hChain(depth int) []hcall {
	var out []hcall
	for i := 0; i <= depth; i++ {
		out = append(out, hAdd(hS("keyring"), hS(fmt.Sprintf("c%d", i)), hNull(), 0, hN(atS)),
			hKC(emu.KEYCTL_SETPERM, hRef(chainRef(i)), hN(0x3f3f0000)))
		if i > 0 {
			out = append(out, hKC(emu.KEYCTL_LINK, hRef(chainRef(i)), hRef(chainRef(i-1))),
				hKC(emu.KEYCTL_UNLINK, hRef(chainRef(i)), hN(atS)))
		}
	}
	return out
}

// chainRef is the call that made keyring ci of hChain.
func chainRef(i int) int {
	if i == 0 {
		return 1
	}
	return 4*i - 1
}

// chainLen is the number of calls hChain(depth) makes.
func chainLen(depth int) int { return 4*depth + 2 }

// hostileRows is the table: every class of bad input the syscall surface
// takes. Destinations are the fresh session keyring of the row, so nothing
// outlives it.
func hostileRows() []hostileRow {
	user := hAdd(hS("user"), hS("k"), hRaw([]byte("v")), 1, hN(atS))
	var rows []hostileRow
	add := func(class, input string, call hcall, setup ...hcall) {
		rows = append(rows, hostileRow{class: class, input: input, setup: setup, call: call})
	}
	// IDs.
	for _, id := range []struct {
		name string
		v    int
	}{{"0", 0}, {"-9 (below @r)", -9}, {"-100", -100}, {"INT32_MIN", -1 << 31}, {"unknown 2147483646", 2147483646},
		{"@g", atG}, {"@a without authority", atA}, {"@r without authority", atR}, {"@t absent", atT}, {"@p absent", atP},
		{"2^32+@s (high bits)", 1<<32 + atS}} {
		add("id", "describe "+id.name, hKC(emu.KEYCTL_DESCRIBE, hN(id.v), hBuf(64), hN(64)))
		add("id", "read "+id.name, hKC(emu.KEYCTL_READ, hN(id.v), hBuf(64), hN(64)))
		add("id", "revoke "+id.name, hKC(emu.KEYCTL_REVOKE, hN(id.v)))
		add("id", "get_keyring_id "+id.name+" no create", hKC(emu.KEYCTL_GET_KEYRING_ID, hN(id.v), hN(0)))
		add("id", "add_key user to "+id.name, hAdd(hS("user"), hS("k"), hRaw([]byte("v")), 1, hN(id.v)))
		add("id", "link k into "+id.name, hKC(emu.KEYCTL_LINK, hRef(1), hN(id.v)), user)
		add("id", "search "+id.name, hKC(emu.KEYCTL_SEARCH, hN(id.v), hS("user"), hS("k"), hN(0)))
	}
	// Strings.
	for _, t := range []struct {
		name string
		a    harg
	}{{`""`, hS("")}, {"31 bytes", hS(hRep('t', 31))}, {"32 bytes", hS(hRep('t', 32))}, {"4096 bytes", hS(hRep('t', 4096))},
		{"leading dot", hS(".user")}, {"NUL inside (us\\0er)", hRaw([]byte("us\x00er\x00"))}, {"invalid UTF-8", hS("\xff\xfe")},
		{"NULL", hNull()}, {"unreadable", hFault()}} {
		add("type string", "add_key type "+t.name, hAdd(t.a, hS("k"), hRaw([]byte("v")), 1, hN(atS)))
		add("type string", "request_key type "+t.name, hcall{emu.SYS_REQUEST_KEY, []harg{t.a, hS("k"), hNull(), hN(0)}})
		add("type string", "search type "+t.name, hKC(emu.KEYCTL_SEARCH, hN(atS), t.a, hS("k"), hN(0)))
	}
	for _, d := range []struct {
		name string
		a    harg
	}{{`""`, hS("")}, {"31 bytes", hS(hRep('d', 31))}, {"32 bytes", hS(hRep('d', 32))}, {"4095 bytes", hS(hRep('d', 4095))},
		{"4096 bytes", hS(hRep('d', 4096))}, {"leading dot", hS(".d")}, {"NUL inside (a\\0b)", hRaw([]byte("a\x00b\x00"))},
		{"invalid UTF-8", hS("\xff\xfe\x80")}, {"NULL", hNull()}, {"unreadable", hFault()}} {
		add("description", "add_key user desc "+d.name, hAdd(hS("user"), d.a, hRaw([]byte("v")), 1, hN(atS)))
		add("description", "add_key keyring desc "+d.name, hAdd(hS("keyring"), d.a, hNull(), 0, hN(atS)))
		add("description", "add_key logon desc "+d.name, hAdd(hS("logon"), d.a, hRaw([]byte("v")), 1, hN(atS)))
		add("description", "request_key desc "+d.name, hcall{emu.SYS_REQUEST_KEY, []harg{hS("user"), d.a, hNull(), hN(0)}})
		add("description", "join session "+d.name, hKC(emu.KEYCTL_JOIN_SESSION_KEYRING, d.a))
	}
	// Payloads.
	for _, p := range []int{0, 1, 32767, 32768, 1048575, 1048576, 1 << 20 * 2} {
		add("payload", fmt.Sprintf("add_key user %d bytes", p), hAdd(hS("user"), hS("k"), hBuf(p), p, hN(atS)))
	}
	for _, p := range []int{0, 1, 4096, 4097} {
		add("payload", fmt.Sprintf("update user %d bytes", p), hKC(emu.KEYCTL_UPDATE, hRef(1), hBuf(p), hN(p)), user)
	}
	add("payload", "add_key keyring 1 byte", hAdd(hS("keyring"), hS("r"), hBuf(1), 1, hN(atS)))
	add("payload", "add_key user NULL, length 1", hAdd(hS("user"), hS("k"), hNull(), 1, hN(atS)))
	add("payload", "add_key user length -1", hAdd(hS("user"), hS("k"), hBuf(4), -1, hN(atS)))
	// Permissions: every reserved bit, and the widest legal mask.
	for _, bit := range []uint32{0x40, 0x80, 0x4000, 0x8000, 0x400000, 0x800000, 0x40000000, 0x80000000, 0xffffffff} {
		add("perm", fmt.Sprintf("setperm %#08x", bit), hKC(emu.KEYCTL_SETPERM, hRef(1), hN(int(bit))), user)
	}
	add("perm", "setperm 0x3f3f3f3f", hKC(emu.KEYCTL_SETPERM, hRef(1), hN(0x3f3f3f3f)), user)
	// Timeouts.
	for _, to := range []int{0, 1, 1 << 31, 1<<32 - 1} {
		add("timeout", fmt.Sprintf("set_timeout %d", to), hKC(emu.KEYCTL_SET_TIMEOUT, hRef(1), hN(to)), user)
	}
	add("timeout", "negate without authority, huge timeout", hKC(emu.KEYCTL_NEGATE, hRef(1), hN(1<<32-1), hN(0)), user)
	add("timeout", "reject error 0", hKC(emu.KEYCTL_REJECT, hRef(1), hN(1), hN(0), hN(0)), user)
	add("timeout", "reject error 4095", hKC(emu.KEYCTL_REJECT, hRef(1), hN(1), hN(4095), hN(0)), user)
	add("timeout", "reject error 512", hKC(emu.KEYCTL_REJECT, hRef(1), hN(1), hN(512), hN(0)), user)
	// Operation numbers.
	for _, op := range []int{-1, 23, 32, 33, 34, 1<<31 - 1, -1 << 31} {
		add("operation", fmt.Sprintf("keyctl op %d", op), hKC(op, hN(0), hN(0), hN(0), hN(0)))
	}
	for _, op := range []int{emu.KEYCTL_PKEY_QUERY, emu.KEYCTL_PKEY_ENCRYPT, emu.KEYCTL_PKEY_SIGN} {
		add("operation", fmt.Sprintf("keyctl op %d on a user key", op), hKC(op, hRef(1), hN(0), hNull(), hNull()), user)
	}
	add("operation", "move flags 2", hKC(emu.KEYCTL_MOVE, hRef(1), hN(atS), hN(atS), hN(2)), user)
	add("operation", "set_reqkey_keyring 6", hKC(emu.KEYCTL_SET_REQKEY_KEYRING, hN(6)))
	add("operation", "set_reqkey_keyring 8", hKC(emu.KEYCTL_SET_REQKEY_KEYRING, hN(8)))
	add("operation", "assume_authority -2", hKC(emu.KEYCTL_ASSUME_AUTHORITY, hN(-2)))
	// Cycles and depth.
	add("cycle", "link keyring into itself", hKC(emu.KEYCTL_LINK, hRef(1), hRef(1)), hChain(0)...)
	add("cycle", "link parent into child", hKC(emu.KEYCTL_LINK, hRef(chainRef(0)), hRef(chainRef(1))), hChain(1)...)
	add("cycle", "link @s into its grandchild", hKC(emu.KEYCTL_LINK, hN(atS), hRef(chainRef(2))), hChain(2)...)
	for _, depth := range []int{5, 6, 7, 8} {
		setup := append(hChain(depth), hAdd(hS("keyring"), hS("top"), hNull(), 0, hN(atS)))
		add("depth", fmt.Sprintf("link a chain of %d keyrings below its head into a new keyring", depth),
			hKC(emu.KEYCTL_LINK, hRef(chainRef(0)), hRef(chainLen(depth)+1)), setup...)
		setup = append(hChain(depth), hAdd(hS("user"), hS("deep"), hRaw([]byte("v")), 1, hRef(chainRef(depth))))
		add("depth", fmt.Sprintf("search @s for a key in a keyring at depth %d", depth+1),
			hKC(emu.KEYCTL_SEARCH, hN(atS), hS("user"), hS("deep"), hN(0)), setup...)
	}
	return rows
}

// hostileResult is what one row gave: "OK" or the errno name, or a set-up
// failure.
type hostileResult struct {
	Got   string
	Setup string `json:",omitempty"`
}

// runHostileRow runs one row with call as the system call: the set-up
// calls, then the hostile one.
func runHostileRow(row hostileRow, call func(nr int, args ...emu.Arg) (int, error)) hostileResult {
	var results []int
	do := func(c hcall) (int, error) {
		args := make([]emu.Arg, len(c.args))
		for j, a := range c.args {
			args[j] = a.a
			if a.ref > 0 {
				args[j] = emu.Int(results[a.ref-1])
			}
		}
		return call(c.nr, args...)
	}
	for j, c := range row.setup {
		r, err := do(c)
		if err != nil {
			return hostileResult{Setup: fmt.Sprintf("set-up call %d: %s", j+1, emu.ErrnoName(err))}
		}
		results = append(results, r)
	}
	_, err := do(row.call)
	return hostileResult{Got: ename(err)}
}

// TestHostileKernelChild is the kernel half of TestHostileInput, run in a
// child process in a fresh user namespace; it prints its results as JSON.
func TestHostileKernelChild(t *testing.T) {
	if os.Getenv("KEYEMU_HOSTILE_CHILD") != "1" {
		t.Skip("run by TestHostileInput")
	}
	var res []hostileResult
	for _, row := range hostileRows() {
		// Each row runs on a new OS thread that dies with its goroutine
		// (LockOSThread without unlock), in a new session keyring, so no
		// thread, process or session keyring of one row is seen by the
		// next. The collector returns the quota of what earlier rows left
		// asynchronously (R7.5): when little is left, wait for it.
		for i := 0; i < 300 && quotaBusy(t); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		done := make(chan hostileResult)
		go func() {
			runtime.LockOSThread()
			if _, err := emu.HostSyscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_JOIN_SESSION_KEYRING), emu.Null()); err != nil {
				done <- hostileResult{Setup: "join: " + emu.ErrnoName(err)}
				return
			}
			done <- runHostileRow(row, emu.HostSyscall)
		}()
		res = append(res, <-done)
	}
	b, err := json.Marshal(res)
	require.NoError(t, err)
	fmt.Printf("HOSTILE-RESULTS %s\n", b)
}

// quotaBusy reports whether the caller's /proc/key-users quota is used
// enough that a row could run out: the largest row needs about 4100 bytes
// and ten keys of the 20000 and 200 a user has.
func quotaBusy(t *testing.T) bool {
	data, err := os.ReadFile("/proc/key-users")
	require.NoError(t, err)
	uid := fmt.Sprintf("%d:", os.Getuid())
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 5 && f[0] == uid {
			var keys, bytes, m int
			fmt.Sscanf(f[3], "%d/%d", &keys, &m)
			fmt.Sscanf(f[4], "%d/%d", &bytes, &m)
			return keys > 50 || bytes > 8000
		}
	}
	return false
}

// kernelHostile runs the table on the kernel as uid 1000 of a new user
// namespace (mapped to an otherwise unused host uid), so that user
// keyrings and keys vanish with it.
func kernelHostile(t *testing.T) ([]hostileResult, string) {
	if os.Geteuid() != 0 {
		return nil, "needs root to map a fresh uid into a user namespace"
	}
	// The test binary's directory is root's alone: the child runs a copy.
	dir, err := os.MkdirTemp("", "keyemu-hostile")
	if err != nil {
		return nil, err.Error()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		return nil, err.Error()
	}
	bin := filepath.Join(dir, "emu.test")
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		return nil, err.Error()
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err.Error()
	}
	cmd := exec.Command(bin, "-test.run=^TestHostileKernelChild$", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KEYEMU_HOSTILE_CHILD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 1000, HostID: 50461, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 1000, HostID: 50461, Size: 1}},
		Credential:  &syscall.Credential{Uid: 1000, Gid: 1000},
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Sprintf("the kernel child failed (%v): %s", err, lastLines(out, 5))
	}
	for _, l := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(l, "HOSTILE-RESULTS "); ok {
			var res []hostileResult
			require.NoError(t, json.Unmarshal([]byte(rest), &res))
			return res, ""
		}
	}
	return nil, "the kernel child printed no results: " + lastLines(out, 5)
}

func lastLines(b []byte, k int) string {
	l := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(l[max(0, len(l)-k):], " | ")
}

// TestHostileInput runs a table of every class of bad input (IDs, type and
// description strings, payload sizes, reserved permission bits, timeouts,
// operation numbers, cycles and depth) on the kernel and on the emulator,
// asserts that they give the same result, and keeps the generated table
// in testdata/hostile-input.md (-update-hostile rewrites it).
func TestHostileInput(t *testing.T) {
	rows := hostileRows()
	kern, why := kernelHostile(t)
	if why != "" {
		t.Skipf("kernel unusable: %s", why)
	}
	require.Len(t, kern, len(rows))
	var emul []hostileResult
	for _, row := range rows {
		sys := emu.New(emu.Config{})
		th := proc(sys, 1000)
		joinAnon(t, th)
		emul = append(emul, runHostileRow(row, th.Syscall))
	}
	var b bytes.Buffer
	b.WriteString("# Hostile inputs: kernel and keyemu\n\n")
	b.WriteString("Generated by `go test ./emu -run TestHostileInput -update-hostile` (emu/hostile_linux_test.go):\n")
	b.WriteString("each input runs on the running kernel (uid 1000 of a fresh user namespace, in a fresh\n")
	b.WriteString("session keyring) and on the emulator, and the test fails unless both give the same result.\n")
	b.WriteString("OK is success; otherwise the errno.\n\n")
	b.WriteString("| class | input | kernel | keyemu |\n|---|---|---|---|\n")
	agree := 0
	for i, row := range rows {
		k, e := kern[i], emul[i]
		kg, eg := k.Got, e.Got
		if k.Setup != "" {
			kg = k.Setup
		}
		if e.Setup != "" {
			eg = e.Setup
		}
		if kg != eg {
			t.Errorf("%s: kernel %s, keyemu %s", row.input, kg, eg)
		} else {
			agree++
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row.class, strings.ReplaceAll(row.input, "|", `\|`), kg, eg)
	}
	fmt.Fprintf(&b, "\n%d inputs, %d agree.\n", len(rows), agree)
	if *updateHostile {
		require.NoError(t, os.WriteFile(hostileFile, b.Bytes(), 0o644))
		return
	}
	old, err := os.ReadFile(hostileFile)
	require.NoError(t, err, "run with -update-hostile to generate it")
	if !bytes.Equal(old, b.Bytes()) {
		t.Errorf("%s is stale: run go test ./emu -run TestHostileInput -update-hostile", hostileFile)
	}
}

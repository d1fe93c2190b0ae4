package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/tour.golden")

// binDir holds the keyemu binary built once for every test, and a link to
// it named keyctl.
var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "keyemu-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "keyemu"+exe), ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building keyemu:", err)
		os.Exit(1)
	}
	if err := os.Symlink(filepath.Join(dir, "keyemu"+exe), filepath.Join(dir, "keyctl"+exe)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the command line.
type result struct {
	stdout, stderr string
	code           int
}

// ke runs the binary named prog ("keyemu" or "keyctl") with a fresh
// environment around state: KEYEMU_STATE set, no inherited session.
func ke(t testing.TB, state string, stdin string, prog string, args ...string) result {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, prog), args...)
	cmd.Env = testEnv(state)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s %v: %v", prog, args, err)
	}
	return result{out.String(), errb.String(), code}
}

func testEnv(state string, extra ...string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "KEYEMU_") && !strings.HasPrefix(e, "PATH=") {
			env = append(env, e)
		}
	}
	env = append(env, "KEYEMU_STATE="+state, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return append(env, extra...)
}

func tempState(t *testing.T) string { return filepath.Join(t.TempDir(), "state") }

// Unknown commands and wrong argument counts: keyctl's usage, exit 2.
func TestUsage(t *testing.T) {
	state := tempState(t)
	for _, tc := range []struct {
		name   string
		prog   string
		args   []string
		stderr string // prefix
	}{
		{"no command", "keyctl", nil, "Format:\n  keyctl --version \n  keyctl add [-x] <type> <desc> <data> <keyring>\n"},
		{"unknown", "keyctl", []string{"frobnicate"}, "Unknown command\n"},
		{"abbreviation", "keyctl", []string{"desc", "@s"}, "Unknown command\n"},
		{"add with 3 arguments", "keyctl", []string{"add", "user", "x", "y"}, "Format:\n"},
		{"show with 3 arguments", "keyctl", []string{"show", "a", "b", "c"}, "Format:\n"},
		{"id without key", "keyemu", []string{"id"}, "Format:\n"},
		{"unknown, as keyemu", "keyemu", []string{"frobnicate"}, "Unknown command\nusage: keyemu"},
		{"rdescribe empty separator", "keyctl", []string{"rdescribe", "@s", ""}, "Format:\n"},
		{"unknown special key", "keyctl", []string{"describe", "@x"}, "Unknown special key: '@x'\n"},
		{"unparsable key", "keyctl", []string{"describe", "12x"}, "Unparsable key: '12x'\n"},
		{"unparsable timeout", "keyctl", []string{"timeout", "@s", "abc"}, "Unparsable timeout: 'abc'\n"},
		{"key-by-name spec", "keyctl", []string{"describe", "%user"}, "Incorrect key-by-name spec\n"},
		{"advance", "keyemu", []string{"advance", "soon"}, "keyemu advance: bad duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ke(t, state, "", tc.prog, tc.args...)
			assert.Equal(t, 2, r.code, "%s %v: exit status", tc.prog, tc.args)
			assert.True(t, strings.HasPrefix(r.stderr, tc.stderr), "%s %v: stderr = %q, want prefix %q", tc.prog, tc.args, r.stderr, tc.stderr)
			assert.Empty(t, r.stdout)
		})
	}
	// The usage text is keyctl's, byte for byte, where keyctl(1) exists.
	if real, err := exec.LookPath("keyctl"); err == nil {
		var want bytes.Buffer
		cmd := exec.Command(real, "add")
		cmd.Stderr = &want
		_ = cmd.Run()
		if strings.HasPrefix(want.String(), "Format:") {
			assert.Equal(t, want.String(), ke(t, state, "", "keyctl", "add").stderr, "usage text of keyctl add")
		}
	}
}

// A failed call: glibc's message after the call's name, exit 1.
func TestFailedCall(t *testing.T) {
	state := tempState(t)
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"describe", ""}, "keyctl_describe_alloc: Invalid argument\n"},
		{[]string{"print", "12345"}, "keyctl_read_alloc: Required key not available\n"},
		{[]string{"add", "big_key", "a", "b", "@s"}, "add_key: No such device\n"},
		{[]string{"describe", "%:no-such-ring"}, "Can't find 'keyring:no-such-ring'\n"},
		{[]string{"id", "@t"}, "keyctl_get_keyring_ID: Required key not available\n"},
	} {
		r := ke(t, state, "", "keyctl", tc.args...)
		assert.Equal(t, 1, r.code, "keyctl %v: exit status", tc.args)
		assert.Equal(t, tc.stderr, r.stderr, "keyctl %v: stderr", tc.args)
	}
}

func TestTourGolden(t *testing.T) {
	r := ke(t, tempState(t), "", "keyemu", "tour")
	require.Equal(t, 0, r.code, r.stderr)
	golden := filepath.Join("testdata", "tour.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(r.stdout), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), r.stdout, "keyemu tour output (go test -update rewrites the golden file)")
}

// --explain prints the emulator's decision trail after the result: here a
// read refused because the key, though granting read to its possessor, is
// not possessed, with the hint to link @u into @s (R4.7, R6.2).
func TestExplainTrail(t *testing.T) {
	state := tempState(t)
	run := func(code int, args ...string) string {
		t.Helper()
		r := ke(t, state, "", "keyemu", args...)
		require.Equal(t, code, r.code, "keyemu %v: %s", args, r.stderr)
		return r.stdout
	}
	run(0, "new_session")
	id := strings.TrimSpace(run(0, "add", "user", "k", "v", "@s"))
	run(0, "setperm", id, "0x3f000000")
	run(0, "link", id, "@u")
	run(0, "unlink", id, "@s")
	out := run(1, "--explain", "print", id)
	assert.Contains(t, out, "explain:")
	assert.Contains(t, out, "is not possessed")
	assert.Contains(t, out, "link @u into @s")
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rlistUser returns the serials in the user keyring.
func rlistUser(t *testing.T, state string) map[string]bool {
	t.Helper()
	r := ke(t, state, "", "keyemu", "rlist", "@u")
	require.Equal(t, 0, r.code, "keyemu rlist @u: %s", r.stderr)
	ids := map[string]bool{}
	for _, f := range strings.Fields(r.stdout) {
		ids[f] = true
	}
	return ids
}

// Concurrent invocations never lose an update: the lock serialises them.
func TestConcurrentAdds(t *testing.T) {
	state := tempState(t)
	const n = 100
	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := ke(t, state, "", "keyemu", "add", "user", "k"+strconv.Itoa(i), "v", "@u")
			if assert.Equal(t, 0, r.code, "keyemu add #%d: %s", i, r.stderr) {
				ids[i] = strings.TrimSpace(r.stdout)
			}
		}(i)
	}
	wg.Wait()
	got := rlistUser(t, state)
	assert.Len(t, got, n, "keys in @u after %d parallel adds", n)
	for i, id := range ids {
		assert.True(t, got[id], "key k%d (%s) in @u", i, id)
	}
}

// An invocation killed at any moment leaves a state that loads, with
// every update that was reported done.
func TestKilledWriters(t *testing.T) {
	state := tempState(t)
	require.Equal(t, 0, ke(t, state, "", "keyemu", "add", "user", "first", "v", "@u").code)
	const n = 40
	var mu sync.Mutex
	var committed []string
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := exec.Command(filepath.Join(binDir, "keyemu"), "add", "user", "k"+strconv.Itoa(i), strings.Repeat("v", 1000), "@u")
			cmd.Env = testEnv(state)
			out := &strings.Builder{}
			cmd.Stdout = out
			require.NoError(t, cmd.Start())
			if i%2 == 0 {
				time.Sleep(time.Duration(i%7) * time.Millisecond)
				cmd.Process.Kill()
			}
			if cmd.Wait() == nil {
				mu.Lock()
				committed = append(committed, strings.TrimSpace(out.String()))
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	got := rlistUser(t, state)
	for _, id := range committed {
		assert.True(t, got[id], "key %s reported added is in @u", id)
	}
	assert.GreaterOrEqual(t, len(got), n/2+1, "keys in @u")
	entries, err := os.ReadDir(filepath.Dir(state))
	require.NoError(t, err)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".state-") {
			t.Logf("a killed writer left %s (harmless: never read)", e.Name())
		}
	}
}

// A file that is not a state file is refused, naming it; the file is left
// alone.
func TestForeignStateFile(t *testing.T) {
	state := tempState(t)
	require.NoError(t, os.WriteFile(state, []byte("hello\n"), 0o600))
	r := ke(t, state, "", "keyemu", "show")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, state+": not a keyemu state file")
	data, _ := os.ReadFile(state)
	assert.Equal(t, "hello\n", string(data))

	require.NoError(t, os.WriteFile(state, []byte(`{"format":"keyemu-cli-state","version":99}`), 0o600))
	r = ke(t, state, "", "keyemu", "show")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "version 99")

	require.NoError(t, os.WriteFile(state, []byte(`{"format":"keyemu-cli-state","version":1,"kernel":{"format":"keyemu-model-state","version":0}}`), 0o600))
	r = ke(t, state, "", "keyemu", "show")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, state+": ")
	assert.Contains(t, r.stderr, "version 0")

	require.Equal(t, 0, ke(t, state, "", "keyemu", "reset").code)
	assert.Equal(t, 0, ke(t, state, "", "keyemu", "show").code, "show after reset")
}

// Sessions: keyctl session registers the process, its children inherit
// the session; new_session gives the calling shell a new one; expiry
// follows the emulated clock across invocations.
func TestSessionsAndClock(t *testing.T) {
	state := tempState(t)
	script := `set -e
a=$(keyctl add user a x @s)
keyctl new_session >/dev/null </dev/null
test "$(keyctl search @s user a 2>&1)" = "keyctl_search: Required key not available"
b=$(keyctl add user b y @s)
keyctl timeout $b 10
keyemu advance 11s >/dev/null
keyctl print $b 2>&1 || true
echo ok`
	r := ke(t, state, "", "keyemu", "session", "-", "sh", "-c", script)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	assert.Equal(t, "keyctl_read_alloc: Key has expired\nok\n", r.stdout)
	assert.Contains(t, r.stderr, "Joined session keyring: ")

	// The session's registration goes with its process.
	r = ke(t, state, "", "keyemu", "--json", "proc", "keys")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "keyring   _ses", "no session keyring survives its processes")
	data, err := os.ReadFile(state)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"sessions":{}`)
}

func TestJSON(t *testing.T) {
	state := tempState(t)
	r := ke(t, state, "", "keyemu", "--json", "add", "user", "tok", "s3cret", "@u")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `^\{"exit":0,"result":\{"id":\d+\}\}\n$`, r.stdout)
	r = ke(t, state, "", "keyemu", "--json", "print", "%user:tok")
	assert.Contains(t, r.stdout, `"text":"s3cret"`)
	r = ke(t, state, "", "keyemu", "--json", "print", "1")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, `"error":{"call":"keyctl_read_alloc","errno":"ENOKEY","number":126,"message":"Required key not available"}`)
}

// request2 constructs keys through the request-key.conf next to the state
// file, with /bin/keyctl's instantiate and negate.
func TestRequest2Construction(t *testing.T) {
	state := tempState(t)
	conf := "create user debug:* * /bin/keyctl instantiate %k %c %S\ncreate user neg:* * /bin/keyctl negate %k 30 %S\n"
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(state), "request-key.conf"), []byte(conf), 0o600))
	script := `id=$(keyctl request2 user debug:x from-callout); keyctl print $id
keyctl request2 user neg:y z; echo "rc=$?"
keyctl request2 user neg:y z; echo "rc=$?"`
	r := ke(t, state, "", "keyemu", "session", "-", "sh", "-c", script)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "from-callout\nrc=1\nrc=1\n", r.stdout)
	assert.Contains(t, r.stderr, "request_key: Required key not available\nrequest_key: Required key not available\n")
}

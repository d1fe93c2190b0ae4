package emu_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyemu/keyemu/emu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The stock keyutils request-key.conf lines for debug:* keys (Ex-23),
// served by KeyctlProgram, and pipe lines served by Go programs. The
// wide best:* line comes first, but the best match (fewest characters
// skipped by '*', column by column) wins; a failing pipe program gives
// way to the negate line.
const debugConf = `
#OP	TYPE	DESCRIPTION	CALLOUT	PROGRAM ARG1 ARG2 ...
create	user	debug:*	negate	/bin/keyctl negate %k 30 %S
create	user	debug:*	rejected	/bin/keyctl reject %k 30 %c %S
create	user	debug:*	expired	/bin/keyctl reject %k 30 %c %S
create	user	debug:*	revoked	/bin/keyctl reject %k 30 %c %S
create	user	debug:*	*	/bin/keyctl instantiate %k %c %S
create	user	pipe:*	*	|/bin/echo %d %c Debug_%c %%c
create	user	best:*	*	/bin/keyctl instantiate %k wide %S
create	user	best:x*	*	/bin/keyctl instantiate %k narrower %S
create	user	best:xy	*	/bin/keyctl instantiate %k exact %S
create	user	fail:*	*	|/bin/false
negate	*	*	*	/bin/keyctl reject %k 30 expired %S
`

func echoProgram(_ *emu.KeyRequest, args []string) ([]byte, error) {
	return []byte(strings.Join(args, "/")), nil
}

func falseProgram(*emu.KeyRequest, []string) ([]byte, error) {
	return nil, errors.New("exit status 1")
}

func TestRequestKeyConf(t *testing.T) {
	conf, err := emu.ParseRequestKeyConf(debugConf, map[string]emu.Program{"/bin/echo": echoProgram, "/bin/false": falseProgram})
	require.NoError(t, err)
	sys := emu.New(emu.Config{RequestKey: conf.Handler()})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	_, err = th.KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	read := func(id int) string {
		buf := make([]byte, 128)
		n, err := th.KeyctlBuffer(emu.KEYCTL_READ, id, buf, 0)
		require.NoError(t, err)
		return string(buf[:n])
	}
	for _, tc := range []struct {
		desc, callout string
		want          error
		payload       string
	}{
		{"debug:ok1", "hello", nil, "hello"},
		{"debug:n1", "negate", emu.ENOKEY, ""},
		{"debug:rj1", "rejected", emu.EKEYREJECTED, ""},
		{"debug:ex1", "expired", emu.EKEYEXPIRED, ""},
		{"debug:rv1", "revoked", emu.EKEYREVOKED, ""},
		{"pipe:p1", "data", nil, "pipe:p1/data/Debug_%c/%c"},
		{"best:xy", "x", nil, "exact"},
		{"best:xz", "x", nil, "narrower"},
		{"best:y", "x", nil, "wide"},
		{"fail:1", "x", emu.EKEYEXPIRED, ""},
		{"unmatched", "x", emu.ENOKEY, ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			id, err := requestKey(th, "user", tc.desc, tc.callout, emu.KEY_SPEC_SESSION_KEYRING)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want, "request_key(%q, %q)", tc.desc, tc.callout)
				return
			}
			require.NoError(t, err, "request_key(%q, %q)", tc.desc, tc.callout)
			assert.Equal(t, tc.payload, read(id))
		})
	}
}

func TestParseRequestKeyConfErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"too few fields", "create user debug:*\n", "request-key.conf:1: want OP TYPE DESCRIPTION CALLOUT PROGRAM"},
		{"unknown program", "# comment\ncreate user * * /sbin/nothing %k\n", `request-key.conf:2: no program registered as "/sbin/nothing"`},
		{"bad substitution", "create user * * /bin/keyctl negate %x 30 %S\n", `request-key.conf:1: unsupported macro "%x"`},
		{"keysub", "create user * * /bin/keyctl instantiate %k %{user:a} %S\n", `request-key.conf:1: keysub macro "%{user:a}" is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := emu.ParseRequestKeyConf(tc.text, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// pam_keyinit: a login session links the user keyring; with "revoke" the
// session keyring is revoked at logout, and a process left running from
// the session then fails EKEYREVOKED on @s (R1.20, R1.24).
func TestLoginLogout(t *testing.T) {
	sys := emu.New(emu.Config{})
	login, err := sys.Login(emu.Creds{UID: 1000, GID: 1000})
	require.NoError(t, err)
	sh := login.Main()
	_, err = sh.AddKey("user", "mine", []byte("v"), emu.KEY_SPEC_USER_KEYRING)
	require.NoError(t, err)
	_, err = requestKey(sh, "user", "mine", "", 0)
	assert.NoError(t, err, "the user keyring is linked into the login session")
	desc, err := sh.KeyctlString(emu.KEYCTL_DESCRIBE, emu.KEY_SPEC_SESSION_KEYRING)
	require.NoError(t, err)
	assert.Equal(t, "keyring;1000;1000;3f030000;_ses", desc)

	daemon := sh.Fork().Main()
	login.Logout(true)
	_, err = daemon.AddKey("user", "late", []byte("v"), emu.KEY_SPEC_SESSION_KEYRING)
	assert.ErrorIs(t, err, emu.EKEYREVOKED, "add_key to a revoked session keyring")
	_, err = daemon.KeyctlGetKeyringID(emu.KEY_SPEC_SESSION_KEYRING, false)
	assert.ErrorIs(t, err, emu.EKEYREVOKED)
}

func TestFaults(t *testing.T) {
	sys := emu.New(emu.Config{Faults: []emu.InjectedFault{
		{Syscall: emu.SYS_KEYCTL, Ops: []int{emu.KEYCTL_READ}, UIDs: []uint32{1000}, After: 1, Err: emu.ENOSYS},
	}})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	other := sys.NewProcess(emu.Creds{UID: 1001, GID: 1001}).Main()
	id, err := th.AddKey("user", "k", []byte("v"), emu.KEY_SPEC_SESSION_KEYRING)
	require.NoError(t, err)
	buf := make([]byte, 8)
	_, err = th.KeyctlBuffer(emu.KEYCTL_READ, id, buf, 0)
	assert.NoError(t, err, "first read passes (After: 1)")
	_, err = th.KeyctlBuffer(emu.KEYCTL_READ, id, buf, 0)
	assert.ErrorIs(t, err, emu.ENOSYS, "second read fails")
	_, err = other.KeyctlBuffer(emu.KEYCTL_READ, emu.KEY_SPEC_USER_KEYRING, buf, 0)
	assert.NoError(t, err, "other UIDs are not affected")
	sys.SetFaults([]emu.InjectedFault{{Syscall: emu.SYS_ADD_KEY, Err: emu.EDQUOT}})
	_, err = th.AddKey("user", "k2", []byte("v"), emu.KEY_SPEC_SESSION_KEYRING)
	assert.ErrorIs(t, err, emu.EDQUOT)
	_, err = th.KeyctlBuffer(emu.KEYCTL_READ, id, buf, 0)
	assert.NoError(t, err, "faults replaced")
}

// A login whose keyring calls are blocked goes on without a session
// keyring, as pam_keyinit does, and says why.
func TestLoginWithKeyctlBlocked(t *testing.T) {
	sys := emu.New(emu.Config{Faults: []emu.InjectedFault{{Syscall: emu.SYS_KEYCTL, Err: emu.ENOSYS}}})
	login, err := sys.Login(emu.Creds{UID: 1000, GID: 1000})
	assert.ErrorIs(t, err, emu.ENOSYS)
	require.NotNil(t, login)
	assert.Equal(t, 0, login.LoginSession())
	login.Logout(true)
	assert.True(t, login.Exited())
}

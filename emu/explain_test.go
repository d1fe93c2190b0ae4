package emu_test

import (
	"strings"
	"testing"

	"github.com/keyemu/keyemu/emu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func stepTexts(e emu.Explanation, kind string) []string {
	var out []string
	for _, s := range e.Steps {
		if kind == "" || s.Kind == kind {
			out = append(out, s.Text)
		}
	}
	return out
}

// A key in @u read by a session-ful process that has not linked @u: the
// possessor bits would grant the read, the explanation says so and how to
// get possession (R4.7, R6.2).
func TestExplainNotPossessed(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	_, err := th.KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	id, err := th.AddKey("user", "k", []byte("v"), emu.KEY_SPEC_SESSION_KEYRING)
	require.NoError(t, err)
	require.NoError(t, th.KeyctlSetperm(id, 0x3f000000))
	_, err = th.KeyctlInt(emu.KEYCTL_LINK, id, emu.KEY_SPEC_USER_KEYRING, 0, 0)
	require.NoError(t, err)
	_, err = th.KeyctlInt(emu.KEYCTL_UNLINK, id, emu.KEY_SPEC_SESSION_KEYRING, 0, 0)
	require.NoError(t, err)

	e := th.Explain(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_READ), emu.Int(id), emu.Buffer(make([]byte, 8)), emu.Int(8))
	assert.ErrorIs(t, e.Err, emu.EACCES)
	assert.Contains(t, strings.Join(stepTexts(e, "possession"), "\n"), "is not possessed")
	assert.Contains(t, strings.Join(stepTexts(e, "permission"), "\n"), "read on key")
	assert.Contains(t, strings.Join(stepTexts(e, "hint"), "\n"), "link @u into @s")

	_, err = th.KeyctlInt(emu.KEYCTL_LINK, emu.KEY_SPEC_USER_KEYRING, emu.KEY_SPEC_SESSION_KEYRING, 0, 0)
	require.NoError(t, err)
	e = th.Explain(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_READ), emu.Int(id), emu.Buffer(make([]byte, 8)), emu.Int(8))
	assert.NoError(t, e.Err)
	assert.Contains(t, strings.Join(stepTexts(e, "possession"), "\n"), "is possessed")
}

// A session-less @s lookup explains what it created (R3.4) and a search
// lists the keyrings it entered (R4.3b).
func TestExplainResolveAndSearch(t *testing.T) {
	sys := emu.New(emu.Config{})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	e := th.Explain(emu.SYS_ADD_KEY, emu.String("user"), emu.String("k"), emu.Buffer([]byte("v")), emu.Int(1), emu.Int(emu.KEY_SPEC_SESSION_KEYRING))
	require.NoError(t, e.Err)
	resolve := strings.Join(stepTexts(e, "resolve"), "\n")
	assert.Contains(t, resolve, `@s resolved to keyring`)
	assert.Contains(t, resolve, `"_ses"`)
	assert.Contains(t, resolve, "after creating")

	e = th.Explain(emu.SYS_REQUEST_KEY, emu.String("user"), emu.String("absent"), emu.Null(), emu.Int(0))
	assert.ErrorIs(t, e.Err, emu.ENOKEY)
	assert.Contains(t, strings.Join(stepTexts(e, "search"), "\n"), `searching keyring`)

	e = th.Explain(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_GET_KEYRING_ID), emu.Int(emu.KEY_SPEC_THREAD_KEYRING), emu.Int(0))
	assert.ErrorIs(t, e.Err, emu.ENOKEY)
	assert.Contains(t, strings.Join(stepTexts(e, "hint"), "\n"), "KEYCTL_GET_KEYRING_ID(@t, 1)")
}

// An add_key over quota explains the figures (R7.3).
func TestExplainQuota(t *testing.T) {
	sys := emu.New(emu.Config{MaxKeys: 3})
	th := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000}).Main()
	var e emu.Explanation
	for i := 0; i < 4 && e.Err == nil; i++ {
		e = th.Explain(emu.SYS_ADD_KEY, emu.String("user"), emu.String(string(rune('a'+i))), emu.Buffer([]byte("v")), emu.Int(1), emu.Int(emu.KEY_SPEC_SESSION_KEYRING))
	}
	assert.ErrorIs(t, e.Err, emu.EDQUOT)
	assert.Contains(t, strings.Join(stepTexts(e, "quota"), "\n"), "uid 1000 holds 3/3 keys")
}

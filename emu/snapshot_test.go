package emu_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keyemu/keyemu/emu"
	"github.com/keyemu/keyemu/model"
)

// A shell's session survives a snapshot; a child spawned after the restore
// shares it, and KEYCTL_SESSION_TO_PARENT reaches the restored shell.
func TestSnapshotRestoreSpawn(t *testing.T) {
	sys := emu.New(emu.Config{})
	shell := sys.NewProcess(emu.Creds{UID: 1000, GID: 1000})
	ses, err := shell.Main().KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	id, err := shell.Main().AddKey("user", "token", []byte("s3cret"), emu.KEY_SPEC_SESSION_KEYRING)
	require.NoError(t, err)

	_, err = sys.Snapshot(nil)
	assert.ErrorContains(t, err, "no name", "Snapshot without naming a live process")
	data, err := sys.Snapshot(map[string]*emu.Process{"shell": shell})
	require.NoError(t, err)

	sys2, procs, err := emu.Restore(data, emu.Config{})
	require.NoError(t, err)
	shell2 := procs["shell"]
	require.NotNil(t, shell2)
	assert.Equal(t, ses, shell2.SessionKeyring(), "SessionKeyring of the restored shell")

	child := shell2.Spawn(emu.Creds{UID: 1000, GID: 1000})
	got, err := child.Main().KeyctlSearch(emu.KEY_SPEC_SESSION_KEYRING, "user", "token", 0)
	require.NoError(t, err)
	assert.Equal(t, id, got, "KeyctlSearch(@s, user, token) from the spawned child")

	// keyctl new_session: the child joins a new session and gives it to its parent.
	newSes, err := child.Main().KeyctlInt(emu.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0)
	require.NoError(t, err)
	_, err = child.Main().KeyctlInt(emu.KEYCTL_SESSION_TO_PARENT, 0, 0, 0, 0)
	require.NoError(t, err)
	child.Exit()
	assert.Equal(t, newSes, shell2.SessionKeyring(), "the shell's session after SESSION_TO_PARENT")

	var dump1 string
	sys2.Model(func(m *model.State) { dump1 = m.Dump() })
	assert.NotEmpty(t, dump1)
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/keyemu/keyemu/model"
)

// The state file holds one emulated kernel across invocations: the model's
// snapshot, the registered sessions (OS processes whose session keyring
// lives in the kernel) and the offset of the emulated clock from the real
// one. It is read and written under an exclusive lock and replaced
// atomically (a temporary file renamed over it), so concurrent invocations
// never lose an update and a killed one never leaves a torn file.
const (
	stateFormat  = "keyemu-cli-state"
	stateVersion = 1
)

type cliState struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// ClockOffset is added to the real clock (keyemu advance).
	ClockOffset time.Duration `json:"clock_offset"`
	// Sessions are the registered sessions by name: "pid:PID:START" for an
	// OS process, "env:NAME" for a KEYEMU_SESSION.
	Sessions map[string]sessionReg `json:"sessions"`
	// Kernel is the model snapshot (model.MarshalSnapshot).
	Kernel json.RawMessage `json:"kernel"`
}

// sessionReg is one registered session.
type sessionReg struct {
	PID   int    `json:"pid,omitempty"`
	Start uint64 `json:"start,omitempty"`
	Name  string `json:"name,omitempty"`
	Since int64  `json:"since"`
}

// statePath is KEYEMU_STATE, else the user's state directory.
func statePath() (string, error) {
	if p := os.Getenv("KEYEMU_STATE"); p != "" {
		return p, nil
	}
	if runtime.GOOS == "windows" {
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "keyemu", "state"), nil
		}
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "keyemu", "state"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no state file: set KEYEMU_STATE (%v)", err)
	}
	return filepath.Join(home, ".local", "state", "keyemu", "state"), nil
}

// stateFile is the state file, locked.
type stateFile struct {
	path   string
	unlock func()
}

// openState creates the state directory if needed and takes the lock.
func openState() (*stateFile, error) {
	path, err := statePath()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("%s: cannot lock: %v", path, err)
	}
	return &stateFile{path: path, unlock: unlock}, nil
}

// load reads the state; a missing file is a fresh kernel (nil, nil).
func (f *stateFile) load() (*cliState, error) {
	data, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st cliState
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if json.Unmarshal(data, &head) != nil || head.Format != stateFormat {
		return nil, fmt.Errorf("%s: not a keyemu state file (remove it, or point KEYEMU_STATE elsewhere)", f.path)
	}
	if head.Version != stateVersion {
		return nil, fmt.Errorf("%s: state file version %d, this keyemu reads version %d (keyemu reset starts afresh)", f.path, head.Version, stateVersion)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: corrupt keyemu state file: %v", f.path, err)
	}
	return &st, nil
}

// save replaces the state file atomically.
func (f *stateFile) save(st *cliState) error {
	st.Format, st.Version = stateFormat, stateVersion
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".state-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("%s: %v", f.path, err)
	}
	syncDir(filepath.Dir(f.path))
	return nil
}

// remove deletes the state file (keyemu reset).
func (f *stateFile) remove() error {
	err := os.Remove(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func (f *stateFile) close() { f.unlock() }

// kernelError names the file in a snapshot decoding error.
func kernelError(path string, err error) error {
	switch {
	case errors.Is(err, model.ErrNotSnapshot):
		return fmt.Errorf("%s: the kernel state in it is not a keyemu snapshot", path)
	case errors.Is(err, model.ErrSnapshotVersion):
		return fmt.Errorf("%s: %v (keyemu reset starts afresh)", path, err)
	}
	return fmt.Errorf("%s: %v", path, err)
}

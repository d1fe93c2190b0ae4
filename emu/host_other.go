//go:build !linux

package emu

import "github.com/keyemu/keyemu/model"

// Host returns the real kernel's key retention service. There is none on
// this system: every call fails ENOSYS.
func Host() Keyctl { return host{} }

type host struct{}

var errNoKernel = sysErr(model.ENOSYS)

func (host) AddKey(string, string, []byte, int) (int, error)     { return -1, errNoKernel }
func (host) RequestKey(string, string, string, int) (int, error) { return -1, errNoKernel }
func (host) KeyctlInt(int, int, int, int, int) (int, error)      { return -1, errNoKernel }
func (host) KeyctlBuffer(int, int, []byte, int) (int, error)     { return -1, errNoKernel }
func (host) KeyctlString(int, int) (string, error)               { return "", errNoKernel }
func (host) KeyctlGetKeyringID(int, bool) (int, error)           { return -1, errNoKernel }
func (host) KeyctlSetperm(int, uint32) error                     { return errNoKernel }
func (host) KeyctlJoinSessionKeyring(string) (int, error)        { return -1, errNoKernel }
func (host) KeyctlSearch(int, string, string, int) (int, error)  { return -1, errNoKernel }
func (host) KeyctlRestrictKeyring(int, string, string) error     { return errNoKernel }

// HostSyscall fails ENOSYS: this system has no kernel key retention service.
func HostSyscall(int, ...Arg) (int, error) { return -1, errNoKernel }

//go:build !linux

package emu

import "github.com/keyemu/keyemu/model"

// Host returns the real kernel's key retention service. There is none on
// this system: every call fails ENOSYS.
func Host() Keyctl { return host{} }

type host struct{}

func (host) Syscall(int, ...Arg) (int, error) { return -1, model.ENOSYS }

func (h host) AddKey(keyType, description string, payload []byte, ringid int) (int, error) {
	return addKey(h, keyType, description, payload, ringid)
}

func (h host) RequestKey(keyType, description, callback string, destRingid int) (int, error) {
	return requestKey(h, keyType, description, callback, destRingid)
}

func (h host) KeyctlInt(cmd, arg2, arg3, arg4, arg5 int) (int, error) {
	return keyctlInt(h, cmd, arg2, arg3, arg4, arg5)
}

func (h host) KeyctlBuffer(cmd, arg2 int, buf []byte, arg5 int) (int, error) {
	return keyctlBuffer(h, cmd, arg2, buf, arg5)
}

func (h host) KeyctlString(cmd, id int) (string, error) { return keyctlString(h, cmd, id) }

func (h host) KeyctlGetKeyringID(id int, create bool) (int, error) {
	return keyctlGetKeyringID(h, id, create)
}

func (h host) KeyctlSetperm(id int, perm uint32) error { return keyctlSetperm(h, id, perm) }

func (h host) KeyctlJoinSessionKeyring(name string) (int, error) {
	return keyctlJoinSessionKeyring(h, name)
}

func (h host) KeyctlSearch(ringid int, keyType, description string, destRingid int) (int, error) {
	return keyctlSearch(h, ringid, keyType, description, destRingid)
}

func (h host) KeyctlRestrictKeyring(ringid int, keyType, restriction string) error {
	return keyctlRestrictKeyring(h, ringid, keyType, restriction)
}

// HostSyscall fails ENOSYS: this system has no kernel key retention service.
func HostSyscall(int, ...Arg) (int, error) { return -1, model.ENOSYS }

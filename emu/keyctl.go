package emu

// The golang.org/x/sys/unix wrappers, expressed over Syscaller exactly as
// x/sys builds them (empty payloads are a non-NULL pointer, strings are never
// NULL), so the emulator sees the same arguments the kernel would.

var zeroBuf = []byte{}

func bufArg(b []byte) Arg {
	if len(b) == 0 {
		return Buffer(zeroBuf)
	}
	return Buffer(b)
}

func addKey(s Syscaller, keyType, description string, payload []byte, ringid int) (int, error) {
	return s.Syscall(SYS_ADD_KEY, String(keyType), String(description), bufArg(payload), Int(len(payload)), Int(ringid))
}

func requestKey(s Syscaller, keyType, description, callback string, destRingid int) (int, error) {
	return s.Syscall(SYS_REQUEST_KEY, String(keyType), String(description), String(callback), Int(destRingid))
}

func keyctlInt(s Syscaller, cmd, arg2, arg3, arg4, arg5 int) (int, error) {
	return s.Syscall(SYS_KEYCTL, Int(cmd), Int(arg2), Int(arg3), Int(arg4), Int(arg5))
}

func keyctlBuffer(s Syscaller, cmd, arg2 int, buf []byte, arg5 int) (int, error) {
	return s.Syscall(SYS_KEYCTL, Int(cmd), Int(arg2), bufArg(buf), Int(len(buf)), Int(arg5))
}

func keyctlString(s Syscaller, cmd, id int) (string, error) {
	var buffer []byte
	for {
		length, err := keyctlBuffer(s, cmd, id, buffer, 0)
		if err != nil {
			return "", err
		}
		if length <= len(buffer) {
			return string(buffer[:length-1]), nil
		}
		buffer = make([]byte, length)
	}
}

func keyctlGetKeyringID(s Syscaller, id int, create bool) (int, error) {
	c := 0
	if create {
		c = 1
	}
	return keyctlInt(s, KEYCTL_GET_KEYRING_ID, id, c, 0, 0)
}

func keyctlSetperm(s Syscaller, id int, perm uint32) error {
	_, err := keyctlInt(s, KEYCTL_SETPERM, id, int(perm), 0, 0)
	return err
}

func keyctlJoinSessionKeyring(s Syscaller, name string) (int, error) {
	return s.Syscall(SYS_KEYCTL, Int(KEYCTL_JOIN_SESSION_KEYRING), String(name))
}

func keyctlSearch(s Syscaller, ringid int, keyType, description string, destRingid int) (int, error) {
	return s.Syscall(SYS_KEYCTL, Int(KEYCTL_SEARCH), Int(ringid), String(keyType), String(description), Int(destRingid))
}

func keyctlRestrictKeyring(s Syscaller, ringid int, keyType, restriction string) error {
	var err error
	if keyType == "" {
		_, err = s.Syscall(SYS_KEYCTL, Int(KEYCTL_RESTRICT_KEYRING), Int(ringid))
	} else {
		_, err = s.Syscall(SYS_KEYCTL, Int(KEYCTL_RESTRICT_KEYRING), Int(ringid), String(keyType), String(restriction))
	}
	return err
}

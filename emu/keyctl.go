package emu

// The golang.org/x/sys/unix wrappers, built exactly as x/sys builds them
// (empty payloads are a non-NULL pointer, strings are never NULL), so the
// emulator sees the same arguments the kernel would. They call the thread
// directly with a fixed-size argument array, which stays on the stack.

var zeroBuf = []byte{}

func bufArg(b []byte) Arg {
	if len(b) == 0 {
		return Buffer(zeroBuf)
	}
	return Buffer(b)
}

func (t *Thread) addKey(keyType, description string, payload []byte, ringid int) (int, error) {
	return t.call(SYS_ADD_KEY, &[5]Arg{String(keyType), String(description), bufArg(payload), Int(len(payload)), Int(ringid)})
}

func (t *Thread) requestKey(keyType, description, callback string, destRingid int) (int, error) {
	return t.call(SYS_REQUEST_KEY, &[5]Arg{String(keyType), String(description), String(callback), Int(destRingid)})
}

func (t *Thread) keyctlInt(cmd, arg2, arg3, arg4, arg5 int) (int, error) {
	return t.call(SYS_KEYCTL, &[5]Arg{Int(cmd), Int(arg2), Int(arg3), Int(arg4), Int(arg5)})
}

func (t *Thread) keyctlBuffer(cmd, arg2 int, buf []byte, arg5 int) (int, error) {
	return t.call(SYS_KEYCTL, &[5]Arg{Int(cmd), Int(arg2), bufArg(buf), Int(len(buf)), Int(arg5)})
}

func (t *Thread) keyctlString(cmd, id int) (string, error) {
	var buffer []byte
	for {
		length, err := t.keyctlBuffer(cmd, id, buffer, 0)
		if err != nil {
			return "", err
		}
		if length <= len(buffer) {
			return string(buffer[:length-1]), nil
		}
		buffer = make([]byte, length)
	}
}

func (t *Thread) keyctlGetKeyringID(id int, create bool) (int, error) {
	if !create && id == int(int32(id)) {
		if r, err, ok := t.keptKeyringID(int32(id)); ok {
			return r, err
		}
	}
	c := 0
	if create {
		c = 1
	}
	return t.keyctlInt(KEYCTL_GET_KEYRING_ID, id, c, 0, 0)
}

func (t *Thread) keyctlSetperm(id int, perm uint32) error {
	_, err := t.keyctlInt(KEYCTL_SETPERM, id, int(perm), 0, 0)
	return err
}

func (t *Thread) keyctlJoinSessionKeyring(name string) (int, error) {
	return t.call(SYS_KEYCTL, &[5]Arg{Int(KEYCTL_JOIN_SESSION_KEYRING), String(name)})
}

func (t *Thread) keyctlSearch(ringid int, keyType, description string, destRingid int) (int, error) {
	return t.call(SYS_KEYCTL, &[5]Arg{Int(KEYCTL_SEARCH), Int(ringid), String(keyType), String(description), Int(destRingid)})
}

func (t *Thread) keyctlRestrictKeyring(ringid int, keyType, restriction string) error {
	var err error
	if keyType == "" {
		_, err = t.call(SYS_KEYCTL, &[5]Arg{Int(KEYCTL_RESTRICT_KEYRING), Int(ringid)})
	} else {
		_, err = t.call(SYS_KEYCTL, &[5]Arg{Int(KEYCTL_RESTRICT_KEYRING), Int(ringid), String(keyType), String(restriction)})
	}
	return err
}

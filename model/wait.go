package model

import "strconv"

// WaitError is what an operation returns instead of blocking when the
// kernel would wait for a key under construction (R1.17): the caller waits
// until Key.UnderConstruction reports false and repeats the call. The call
// made no change the repetition would not make again.
type WaitError struct {
	Key *Key
}

func (e *WaitError) Error() string {
	return "key " + strconv.Itoa(int(e.Key.serial)) + " is under construction"
}

// UnderConstruction reports whether a request-key helper is still building
// the key (flag USER_CONSTRUCT, R1.17).
func (k *Key) UnderConstruction() bool { return k.has(flagUserConstruct) }

//go:build !unix

package main

import (
	"errors"
	"os"
	"time"
)

// staleLock is how old a lock file must be before it is taken to belong
// to a killed invocation.
const staleLock = 30 * time.Second

// lockFile takes the lock by creating path exclusively, waiting while
// another invocation holds it; a lock file older than staleLock is removed
// as left behind by a killed invocation.
func lockFile(path string) (func(), error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		if fi, serr := os.Stat(path); serr == nil && time.Since(fi.ModTime()) > staleLock {
			os.Remove(path)
			continue
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func syncDir(string) {}

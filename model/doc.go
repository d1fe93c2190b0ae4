// Package model is the Linux key retention service as a pure state machine:
// keys, keyrings, quota records, credentials, permissions, possession,
// search, expiry and garbage collection, following the numbered rules of
// the keyemu rule book (SEMANTICS.md, cited as R-ids) and the kernel sources
// in security/keys.
//
// A State is one kernel. Time and randomness are inputs: the clock only
// moves through SetTime, serials come from a generator seeded by the
// caller, and the garbage collector runs when the caller asks. The package
// starts no goroutines and holds no locks. A State is not safe for
// concurrent use, with one exception that package emu relies on: after
// SetShared(true), made with every caller excluded, and until
// SetShared(false), Describe, Read, GetSecurity, GetKeyringID and Search
// without a destination, of IDs for which ResolvesUnchanged holds, and
// RequestKeyShared may run concurrently, each with its own Cred and no
// other method running. They take no key references then, fill only the
// caller's Cred caches and keyrings' child lists (published atomically).
//
// Errors are returned as Errno values with Linux numbering, in the order
// the kernel checks them. A failed operation leaves the State as it was,
// except where the kernel itself commits a side effect before failing (for
// example the on-demand creation of the user keyrings, R2.5b).
package model

package model

import (
	"strconv"
	"strings"
)

// Serial is a key's ID: a positive 32-bit number, random per key (R1.1).
type Serial int32

// UID is a kernel user ID (kuid_t).
type UID uint32

// GID is a kernel group ID (kgid_t).
type GID uint32

const (
	// InvalidUID is the kernel's INVALID_UID ((uid_t)-1).
	InvalidUID UID = 1<<32 - 1
	// InvalidGID is the kernel's INVALID_GID: keys with no group (R1.4).
	InvalidGID GID = 1<<32 - 1
	// OverflowID is shown for unmapped or invalid IDs (R1.4).
	OverflowID = 65534
)

// Perm is a key's permission mask (R6.1): byte 3 possessor, byte 2 user,
// byte 1 group, byte 0 other.
type Perm uint32

// Permission bits; include/linux/key.h.
const (
	KEY_POS_VIEW    Perm = 0x01000000
	KEY_POS_READ    Perm = 0x02000000
	KEY_POS_WRITE   Perm = 0x04000000
	KEY_POS_SEARCH  Perm = 0x08000000
	KEY_POS_LINK    Perm = 0x10000000
	KEY_POS_SETATTR Perm = 0x20000000
	KEY_POS_ALL     Perm = 0x3f000000

	KEY_USR_VIEW    Perm = 0x00010000
	KEY_USR_READ    Perm = 0x00020000
	KEY_USR_WRITE   Perm = 0x00040000
	KEY_USR_SEARCH  Perm = 0x00080000
	KEY_USR_LINK    Perm = 0x00100000
	KEY_USR_SETATTR Perm = 0x00200000
	KEY_USR_ALL     Perm = 0x003f0000

	KEY_GRP_VIEW    Perm = 0x00000100
	KEY_GRP_READ    Perm = 0x00000200
	KEY_GRP_WRITE   Perm = 0x00000400
	KEY_GRP_SEARCH  Perm = 0x00000800
	KEY_GRP_LINK    Perm = 0x00001000
	KEY_GRP_SETATTR Perm = 0x00002000
	KEY_GRP_ALL     Perm = 0x00003f00

	KEY_OTH_VIEW    Perm = 0x00000001
	KEY_OTH_READ    Perm = 0x00000002
	KEY_OTH_WRITE   Perm = 0x00000004
	KEY_OTH_SEARCH  Perm = 0x00000008
	KEY_OTH_LINK    Perm = 0x00000010
	KEY_OTH_SETATTR Perm = 0x00000020
	KEY_OTH_ALL     Perm = 0x0000003f
)

// permValid is every bit SETPERM accepts (R6.1).
const permValid = KEY_POS_ALL | KEY_USR_ALL | KEY_GRP_ALL | KEY_OTH_ALL

// Need is one permission an operation requires, as an "other" bit (R6.4),
// or one of the kernel's overrides that skip the check.
type Need uint16

// The permissions an operation may need.
const (
	NeedView    = Need(KEY_OTH_VIEW)
	NeedRead    = Need(KEY_OTH_READ)
	NeedWrite   = Need(KEY_OTH_WRITE)
	NeedSearch  = Need(KEY_OTH_SEARCH)
	NeedLink    = Need(KEY_OTH_LINK)
	NeedSetattr = Need(KEY_OTH_SETATTR)
	// NeedNone skips the permission check.
	NeedNone Need = 0

	// needUnlink is KEY_NEED_UNLINK: no validity or permission check.
	needUnlink Need = 0x100
	// needDeferPerm is KEY_DEFER_PERM_CHECK: the caller checks (READ).
	needDeferPerm Need = 0x200
	// needAuthOverride is KEY_AUTHTOKEN_OVERRIDE.
	needAuthOverride Need = 0x400
)

// String names the permission ("search").
func (n Need) String() string {
	switch n {
	case NeedView:
		return "view"
	case NeedRead:
		return "read"
	case NeedWrite:
		return "write"
	case NeedSearch:
		return "search"
	case NeedLink:
		return "link"
	case NeedSetattr:
		return "setattr"
	}
	return "none"
}

var permLetters = [6]byte{'v', 'r', 'w', 's', 'l', 'a'}

// String decodes the mask as keyctl(1) does, possessor to other, each byte
// as "alswrv" with '-' for a missing bit: 0x3f010000 is
// "alswrv-----v------------".
func (p Perm) String() string {
	var b strings.Builder
	b.Grow(24)
	for shift := 24; shift >= 0; shift -= 8 {
		byt := uint32(p) >> shift
		for i := 5; i >= 0; i-- {
			if byt&(1<<i) != 0 {
				b.WriteByte(permLetters[i])
			} else {
				b.WriteByte('-')
			}
		}
	}
	return b.String()
}

// Hex returns the mask as eight lowercase hex digits, as KEYCTL_DESCRIBE
// and /proc/keys print it.
func (p Perm) Hex() string {
	s := strconv.FormatUint(uint64(p), 16)
	return strings.Repeat("0", 8-len(s)) + s
}

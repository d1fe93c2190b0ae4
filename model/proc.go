package model

import (
	"encoding/binary"
	"sort"
	"strconv"
	"strings"
)

// ProcKeys renders /proc/keys as a reader with credentials c sees it
// (R9.1-R9.4): keys it may View, possession counted, owners mapped in its
// namespace, in serial order.
func (s *State) ProcKeys(c *Cred) string {
	var b strings.Builder
	now := s.sec()
	s.ascendSerials(func(k *Key) bool {
		if !k.alive() {
			return true
		}
		if _, ok := c.NS.FromKUID(k.user.uid); !ok {
			return true
		}
		possessed := false
		if k.perm&KEY_POS_VIEW != 0 {
			ctx := searchCtx{cred: c, typ: k.typ, desc: k.desc, target: k, flags: searchRecurse}
			_, err := s.searchCredKeyrings(&ctx)
			possessed = err == nil
		}
		if s.permission(c, k, possessed, NeedView) != nil {
			return true
		}
		b.WriteString(ProcKeysLine(k, c.NS, now))
		b.WriteByte('\n')
		return true
	})
	return b.String()
}

// ProcKeysLine formats one /proc/keys line (without newline) for k as a
// reader in ns sees it at time now (seconds).
func ProcKeysLine(k *Key, ns *UserNS, now int64) string {
	flag := func(on bool, c byte) byte {
		if on {
			return c
		}
		return '-'
	}
	flags := []byte{
		flag(k.state != stateUninstantiated, 'I'),
		flag(k.has(flagRevoked), 'R'),
		flag(k.has(flagDead), 'D'),
		flag(k.has(flagInQuota), 'Q'),
		flag(k.has(flagUserConstruct), 'U'),
		flag(k.state == stateNegative, 'N'),
		flag(k.has(flagInvalidated), 'i'),
	}
	typ := k.typ.Name
	if len(typ) > 9 {
		typ = typ[:9]
	}
	line := fmtHex8(uint32(k.serial)) + " " + string(flags) + " " +
		padLeft(strconv.Itoa(int(k.usage)), 5) + " " +
		padLeft(timeoutText(k.expiry, now), 4) + " " +
		fmtHex8(uint32(k.perm)) + " " +
		padLeft(strconv.FormatUint(uint64(ns.uidMunged(k.uid)), 10), 5) + " " +
		padLeft(strconv.FormatUint(uint64(ns.gidMunged(k.gid)), 10), 5) + " " +
		typ + strings.Repeat(" ", 9-len(typ)) + " " + describeForProc(k)
	return line
}

// timeoutText is the timeout column (R9.3).
func timeoutText(expiry, now int64) string {
	if expiry == 0 {
		return "perm"
	}
	if now >= expiry {
		return "expd"
	}
	t := expiry - now
	switch {
	case t < 60:
		return strconv.FormatInt(t, 10) + "s"
	case t < 60*60:
		return strconv.FormatInt(t/60, 10) + "m"
	case t < 60*60*24:
		return strconv.FormatInt(t/(60*60), 10) + "h"
	case t < 60*60*24*7:
		return strconv.FormatInt(t/(60*60*24), 10) + "d"
	}
	return strconv.FormatInt(t/(60*60*24*7), 10) + "w"
}

// describeForProc is the key type's describe operation (R9.4).
func describeForProc(k *Key) string {
	positive := k.state == statePositive
	switch {
	case k.ring != nil:
		if !positive {
			return k.desc
		}
		if n := k.nlinks(); n != 0 {
			return k.desc + ": " + strconv.Itoa(n)
		}
		return k.desc + ": empty"
	case k.auth != nil:
		if k.auth.cred == nil {
			// request_key_auth_describe() prints nothing once the record
			// is gone (revoked).
			return ""
		}
		if !positive {
			return "key:" + k.desc
		}
		return "key:" + k.desc + " pid:" + strconv.Itoa(k.auth.pid) + " ci:" + strconv.Itoa(len(k.auth.callout))
	}
	if positive {
		return k.desc + ": " + strconv.Itoa(int(k.datalen))
	}
	return k.desc
}

// ProcKeyUsers renders /proc/key-users as a reader in ns sees it (R9.5):
// one line per quota record whose UID is mapped there, by UID.
func (s *State) ProcKeyUsers(ns *UserNS) string {
	uids := make([]UID, 0, len(s.users))
	for uid, u := range s.users {
		if u.nkeys == 0 && uid != 0 {
			continue
		}
		if _, ok := ns.FromKUID(uid); ok {
			uids = append(uids, uid)
		}
	}
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	var b strings.Builder
	for _, uid := range uids {
		b.WriteString(s.ProcKeyUsersLine(uid, ns))
		b.WriteByte('\n')
	}
	return b.String()
}

// ProcKeyUsersLine formats the /proc/key-users line of uid (without
// newline): "uid: usage nkeys/nikeys qnkeys/maxkeys qnbytes/maxbytes".
// The usage column counts one reference per key, plus the static
// reference the kernel keeps on root's record.
func (s *State) ProcKeyUsersLine(uid UID, ns *UserNS) string {
	u := s.users[uid]
	if u == nil {
		u = &UserRecord{uid: uid}
	}
	maxKeys, maxBytes := s.limits(uid)
	usage := u.nkeys
	if uid == 0 {
		usage++
	}
	return padLeft(strconv.FormatUint(uint64(ns.uidMunged(uid)), 10), 5) + ": " +
		padLeft(strconv.Itoa(usage), 5) + " " +
		strconv.Itoa(u.nkeys) + "/" + strconv.Itoa(u.nikeys) + " " +
		strconv.Itoa(u.qnkeys) + "/" + strconv.Itoa(maxKeys) + " " +
		strconv.Itoa(u.qnbytes) + "/" + strconv.Itoa(maxBytes)
}

func padLeft(s string, w int) string {
	if len(s) >= w {
		return s
	}
	return strings.Repeat(" ", w-len(s)) + s
}

// fmtHex8 is %08x.
func fmtHex8(v uint32) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], hex8(v))
	return string(b[:])
}

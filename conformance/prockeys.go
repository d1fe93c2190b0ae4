package conformance

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// A /proc/keys line (R9.1) is
//
//	%08x %c%c%c%c%c%c%c %5d %4s %08x %5d %5d %-9.9s <description>
//
// procKeysLine is one such line taken apart.
type procKeysLine struct {
	serial  int
	flags   string
	usage   string
	timeout string
	perm    string
	uid     string
	gid     string
	typ     string // the type name as printed: at most 9 bytes
	desc    string // the type's description text (R9.4)
}

// parseProcKeysLine takes a /proc/keys line apart. The first seven columns
// are separated by spaces; the type column is exactly 9 bytes wide and one
// space separates it from the description text, which may hold spaces.
func parseProcKeysLine(line string) (procKeysLine, error) {
	var l procKeysLine
	rest := line
	var cols [7]string
	for i := range cols {
		rest = strings.TrimLeft(rest, " ")
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			return l, fmt.Errorf("malformed /proc/keys line %q", line)
		}
		cols[i], rest = rest[:end], rest[end+1:]
	}
	if len(rest) < 10 || rest[9] != ' ' {
		return l, fmt.Errorf("malformed /proc/keys line %q: no 9-byte type column", line)
	}
	serial, err := strconv.ParseUint(cols[0], 16, 31)
	if err != nil || len(cols[1]) != 7 {
		return l, fmt.Errorf("malformed /proc/keys line %q", line)
	}
	l.serial = int(serial)
	l.flags, l.usage, l.timeout, l.perm, l.uid, l.gid = cols[1], cols[2], cols[3], cols[4], cols[5], cols[6]
	l.typ = strings.TrimRight(rest[:9], " ")
	l.desc = rest[10:]
	return l, nil
}

// maskTimeout keeps what a run of the kernel cannot change (R8.4, R9.3):
// perm, expd, and a countdown of minutes or longer; a countdown of seconds
// moves with the clock between the system call that set it and the read,
// so its number prints as '*'.
func maskTimeout(t string) string {
	if strings.HasSuffix(t, "s") {
		return "*s"
	}
	return t
}

// procKeysDesc rewrites the serials and pids that some description texts
// carry (R9.4): an authorisation key's "key:<hex> pid:<pid> ci:<len>" names
// its target in hex and the requester's pid, a request-key helper session
// keyring is "_req.<serial>: ...".
func (x *execState) procKeysDesc(l procKeysLine) string {
	d := l.desc
	switch {
	case strings.HasPrefix(l.typ, ".request_"):
		f := strings.Fields(d)
		for i, w := range f {
			switch {
			case strings.HasPrefix(w, "key:"):
				if n, err := strconv.ParseUint(w[len("key:"):], 16, 31); err == nil {
					f[i] = "key:" + x.labels.label(int(n))
				}
			case strings.HasPrefix(w, "pid:"):
				f[i] = "pid:*"
			}
		}
		return strings.Join(f, " ")
	case l.typ == "keyring" && strings.HasPrefix(d, "_req."):
		num := d[len("_req."):]
		tail := ""
		if i := strings.IndexByte(num, ':'); i >= 0 {
			num, tail = num[:i], num[i:]
		}
		if n, err := strconv.ParseUint(num, 10, 31); err == nil {
			return "_req." + x.labels.label(int(n)) + tail
		}
	}
	return d
}

// procKeys prints the lines of /proc/keys text whose description text
// contains pattern (all lines if pattern is ""), one per line:
//
//	LABEL FLAGS * TIMEOUT PERM UID GID TYPE DESCRIPTION
//
// The serial prints as its label and the usage count as '*' (R8.4); the
// timeout as maskTimeout leaves it. The kernel lists keys by serial, which
// is random (R1.1): serials new to the output are labelled in the order of
// their description texts, and the lines are sorted.
func (x *execState) procKeys(text, pattern string) (string, error) {
	var lines []procKeysLine
	for _, line := range strings.Split(text, "\n") {
		if line == "" {
			continue
		}
		l, err := parseProcKeysLine(line)
		if err != nil {
			return "", err
		}
		if strings.Contains(l.desc, pattern) {
			lines = append(lines, l)
		}
	}
	var fresh []procKeysLine
	for _, l := range lines {
		if !x.labels.known(l.serial) {
			fresh = append(fresh, l)
		}
	}
	sort.SliceStable(fresh, func(i, j int) bool {
		if fresh[i].typ != fresh[j].typ {
			return fresh[i].typ < fresh[j].typ
		}
		return fresh[i].desc < fresh[j].desc
	})
	for _, l := range fresh {
		x.labels.label(l.serial)
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.Join([]string{x.labels.label(l.serial), l.flags, "*", maskTimeout(l.timeout),
			l.perm, l.uid, l.gid, l.typ, x.procKeysDesc(l)}, " ")
	}
	sort.Strings(out)
	return strings.Join(out, "\n"), nil
}

func runProcKeys(x *execState, s *step) (string, error) {
	pattern := ""
	if len(s.args) > 0 {
		pattern = s.args[0]
	}
	text, err := s.thread.ProcKeys()
	if err != nil {
		return "", err
	}
	return x.procKeys(text, pattern)
}

package conformance

import (
	"fmt"
	"strconv"
	"strings"
)

// labels gives serials stable names for output. Kernel serials are random
// (R1.1), so outputs never show them: a serial bound with bind=NAME prints as
// $NAME, any other as #N, numbered in order of first appearance.
type labels struct {
	bySerial map[int]string
	byName   map[string]int
	unbound  int
}

func newLabels() *labels {
	return &labels{bySerial: map[int]string{}, byName: map[string]int{}}
}

// bind names serial. A serial that had only a #N placeholder is shown as
// $name from now on; one that already had a name keeps showing it.
func (l *labels) bind(name string, serial int) {
	l.byName[name] = serial
	if old, ok := l.bySerial[serial]; !ok || strings.HasPrefix(old, "#") {
		l.bySerial[serial] = "$" + name
	}
}

func (l *labels) lookup(name string) (int, bool) {
	s, ok := l.byName[name]
	return s, ok
}

func (l *labels) known(serial int) bool {
	_, ok := l.bySerial[serial]
	return ok
}

// label returns serial's label, giving it the next #N if it has none. Zero
// and negative numbers are not serials and print as numbers.
func (l *labels) label(serial int) string {
	if serial <= 0 {
		return strconv.Itoa(serial)
	}
	if s, ok := l.bySerial[serial]; ok {
		return s
	}
	l.unbound++
	s := "#" + strconv.Itoa(l.unbound)
	l.bySerial[serial] = s
	return s
}

// describeText rewrites the serials that some descriptions carry (R5.4c):
// an authorisation key is described by its target's serial in hex, a
// request-key helper session keyring is named _req.<serial>.
func (l *labels) describeText(s string) string {
	f := strings.SplitN(s, ";", 5)
	if len(f) != 5 {
		return s
	}
	switch {
	case f[0] == ".request_key_auth":
		if n, err := strconv.ParseUint(f[4], 16, 31); err == nil {
			f[4] = l.label(int(n))
		}
	case f[0] == "keyring" && strings.HasPrefix(f[4], "_req."):
		if n, err := strconv.ParseUint(f[4][len("_req."):], 10, 31); err == nil {
			f[4] = "_req." + l.label(int(n))
		}
	}
	return strings.Join(f, ";")
}

// keyUsersLine picks uid's line out of /proc/key-users text (R9.5) and
// prints the quota fields only, "uid: qnkeys/maxkeys qnbytes/maxbytes": the
// record's usage count and nkeys/nikeys include references and dying keys
// that tests must not pin (R8.4).
func keyUsersLine(text string, uid uint32) (string, error) {
	for _, line := range strings.Split(text, "\n") {
		u, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(u), 10, 32)
		if err != nil || uint32(n) != uid {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 4 {
			return "", fmt.Errorf("malformed /proc/key-users line %q", line)
		}
		return fmt.Sprintf("%d: %s %s", uid, f[2], f[3]), nil
	}
	return fmt.Sprintf("%d: none", uid), nil
}

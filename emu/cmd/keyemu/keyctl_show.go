package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/keyemu/keyemu/emu"
)

// keyDesc is a parsed KEYCTL_DESCRIBE text.
type keyDesc struct {
	ID          int32  `json:"id"`
	Type        string `json:"type"`
	UID         int    `json:"uid"`
	GID         int    `json:"gid"`
	Perm        uint32 `json:"perm"`
	PermText    string `json:"perm_text"`
	Description string `json:"description"`
}

// parseDescribe splits "type;uid;gid;perm;description".
func parseDescribe(id int32, s string) (keyDesc, bool) {
	f := strings.SplitN(s, ";", 5)
	if len(f) != 5 {
		return keyDesc{}, false
	}
	uid, err1 := strconv.Atoi(f[1])
	gid, err2 := strconv.Atoi(f[2])
	perm, err3 := strconv.ParseUint(f[3], 16, 32)
	if err1 != nil || err2 != nil || err3 != nil {
		return keyDesc{}, false
	}
	return keyDesc{ID: id, Type: f[0], UID: uid, GID: gid, Perm: uint32(perm), PermText: permText(uint32(perm)), Description: f[4]}, true
}

// permText is the 24-letter mask describe prints, possessor to other.
func permText(perm uint32) string {
	var b strings.Builder
	for shift := 24; shift >= 0; shift -= 8 {
		byt := perm >> shift
		for i, c := range "alswrv" {
			if byt&(1<<(5-i)) != 0 {
				b.WriteRune(c)
			} else {
				b.WriteByte('-')
			}
		}
	}
	return b.String()
}

// calcPerms is keyctl's calc_perms(): the permissions the caller holds,
// as "--alswrv": the possessor byte or'd with the owner, group or other
// byte chosen by the caller's effective IDs and groups.
func (c *cli) calcPerms(d keyDesc) string {
	cr := c.k.creds
	perm := d.Perm
	perms := (perm >> 24) & 0x3f
	switch {
	case d.UID == int(int32(cr.UID)):
		perms |= (perm >> 16) & 0x3f
	case d.GID != -1 && c.inGroup(d.GID):
		perms |= (perm >> 8) & 0x3f
	default:
		perms |= perm & 0x3f
	}
	s := []byte("--------")
	for i, ch := range "alswrv" {
		if perms&(1<<(5-i)) != 0 {
			s[2+i] = byte(ch)
		}
	}
	return string(s)
}

func (c *cli) inGroup(gid int) bool {
	cr := c.k.creds
	if gid == int(int32(cr.GID)) {
		return true
	}
	for _, g := range cr.Groups {
		if gid == int(int32(g)) {
			return true
		}
	}
	return false
}

func (c *cli) mustDescribe(call string, key int32) keyDesc {
	s, err := c.describeAlloc(key)
	if err != nil {
		c.perror(call, err)
	}
	d, ok := parseDescribe(key, s)
	if !ok {
		c.die(3, "Unparsable description obtained for key %d\n", key)
	}
	return d
}

func (c *cli) describe(argv []string) {
	if len(argv) != 2 {
		c.format()
	}
	key := c.keyID(argv[1])
	d := c.mustDescribe("keyctl_describe_alloc", key)
	if c.json {
		c.res = d
		return
	}
	fmt.Fprintf(c.stdout, "%9d: %s %5d %5d %s: %s\n", key, d.PermText, d.UID, d.GID, d.Type, d.Description)
}

func (c *cli) rdescribe(argv []string) {
	if len(argv) != 2 && len(argv) != 3 {
		c.format()
	}
	if len(argv) == 3 && argv[2] == "" {
		c.format()
	}
	key := c.keyID(argv[1])
	s, err := c.describeAlloc(key)
	if err != nil {
		c.perror("keyctl_describe", err)
	}
	if len(argv) == 3 {
		s = strings.ReplaceAll(s, ";", argv[2][:1])
	}
	if c.json {
		c.res = map[string]any{"id": key, "raw": s}
		return
	}
	fmt.Fprintf(c.stdout, "%s\n", s)
}

func (c *cli) readRing(argv []string) (int32, []int32) {
	if len(argv) != 2 {
		c.format()
	}
	ring := c.keyID(argv[1])
	data, err := c.readAlloc(ring)
	if err != nil {
		c.perror("keyctl_read_alloc", err)
	}
	return ring, serials(data)
}

// jsonEntry is a keyring entry for --json: its description, or why it
// could not be described.
type jsonEntry struct {
	keyDesc
	Error    string       `json:"error,omitempty"`
	Children []*jsonEntry `json:"children,omitempty"`
}

func (c *cli) list(argv []string) {
	ring, ids := c.readRing(argv)
	if c.json {
		out := []*jsonEntry{}
		for _, id := range ids {
			out = append(out, c.entry(id))
		}
		c.res = map[string]any{"id": ring, "keys": out}
		return
	}
	switch len(ids) {
	case 0:
		fmt.Fprintf(c.stdout, "keyring is empty\n")
		return
	case 1:
		fmt.Fprintf(c.stdout, "1 key in keyring:\n")
	default:
		fmt.Fprintf(c.stdout, "%d keys in keyring:\n", len(ids))
	}
	for _, id := range ids {
		s, err := c.describeAlloc(id)
		if err != nil {
			fmt.Fprintf(c.stdout, "%9d: key inaccessible (%s)\n", id, errMsg(err))
			continue
		}
		d, ok := parseDescribe(id, s)
		if !ok {
			c.die(3, "Unparsable description obtained for key %d\n", id)
		}
		fmt.Fprintf(c.stdout, "%9d: %s %5d %5d %s: %s\n", id, c.calcPerms(d), d.UID, d.GID, d.Type, d.Description)
	}
}

func (c *cli) entry(id int32) *jsonEntry {
	s, err := c.describeAlloc(id)
	if err != nil {
		return &jsonEntry{keyDesc: keyDesc{ID: id}, Error: errMsg(err)}
	}
	d, _ := parseDescribe(id, s)
	return &jsonEntry{keyDesc: d}
}

func (c *cli) rlist(argv []string) {
	ring, ids := c.readRing(argv)
	if c.json {
		c.res = map[string]any{"id": ring, "keys": ids}
		return
	}
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = strconv.Itoa(int(id))
	}
	fmt.Fprintf(c.stdout, "%s\n", strings.Join(strs, " "))
}

// show is keyctl show: the tree under a keyring, the session keyring by
// default.
func (c *cli) show(argv []string) {
	hex := false
	if len(argv) >= 2 && argv[1] == "-x" {
		hex = true
		argv = append([]string{argv[0]}, argv[2:]...)
	}
	if len(argv) > 2 {
		c.format()
	}
	ring := int32(emu.KEY_SPEC_SESSION_KEYRING)
	name := "Session Keyring"
	if len(argv) == 2 {
		ring = c.keyID(argv[1])
		name = "Keyring"
	}
	if !c.json {
		fmt.Fprintf(c.stdout, "%s\n", name)
	}
	id := c.ok("Unable to dump key")(c.keyctl(emu.KEYCTL_GET_KEYRING_ID, emu.Int(int(ring)), emu.Int(0)))
	if c.json {
		c.res = c.treeJSON(int32(id), 0)
		return
	}
	t := &treeDump{c: c, hex: hex}
	t.dump(int32(id), 0, false)
}

// treeDump is keyctl's dump_key_tree(): one line per key, keyrings
// recursed into, the indentation kept in one buffer as keyctl keeps it
// (a '|' marks a keyring with more entries after it).
type treeDump struct {
	c      *cli
	hex    bool
	indent [64]byte
}

func (t *treeDump) indentString() string {
	for i, b := range t.indent {
		if b == 0 {
			return string(t.indent[:i])
		}
	}
	return string(t.indent[:])
}

func (t *treeDump) dump(key int32, depth int, more bool) {
	c := t.c
	if depth > 8*4 {
		return
	}
	s, err := c.describeAlloc(key)
	if err != nil {
		fmt.Fprintf(c.stdout, "%d: key inaccessible (%s)\n", key, errMsg(err))
		return
	}
	d, ok := parseDescribe(key, s)
	if !ok {
		c.die(3, "Unparsable description obtained for key %d\n", key)
	}
	branch := ""
	if depth > 0 {
		branch = "\\_ "
	}
	idText := fmt.Sprintf("%10d", key)
	if t.hex {
		idText = fmt.Sprintf("0x%08x", uint32(key))
	}
	what := d.Type + ": " + d.Description
	if c.color && d.Type == "keyring" {
		what = "\x1b[1;34m" + what + "\x1b[0m"
	}
	fmt.Fprintf(c.stdout, "%s %s  %5d %5d  %s%s%s\n", idText, c.calcPerms(d), d.UID, d.GID, t.indentString(), branch, what)
	if d.Type != "keyring" {
		return
	}
	data, err := c.readAlloc(key)
	if err != nil {
		c.perror("keyctl_read_alloc", err)
	}
	ids := serials(data)
	for i, child := range ids {
		rdepth := depth
		if depth == 0 {
			t.indent[rdepth] = ' '
			rdepth++
		} else {
			for j := 0; j < 4; j++ {
				t.indent[rdepth] = ' '
				rdepth++
			}
		}
		t.indent[rdepth] = 0
		if more {
			t.indent[depth] = '|'
		}
		t.dump(child, rdepth, i < len(ids)-1)
	}
}

// treeJSON is show's tree for --json.
func (c *cli) treeJSON(key int32, depth int) *jsonEntry {
	e := c.entry(key)
	if e.Error != "" || e.Type != "keyring" || depth > 8 {
		return e
	}
	data, err := c.readAlloc(key)
	if err != nil {
		e.Error = errMsg(err)
		return e
	}
	for _, id := range serials(data) {
		e.Children = append(e.Children, c.treeJSON(id, depth+1))
	}
	return e
}

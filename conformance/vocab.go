package conformance

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keyemu/keyemu/emu"
	"github.com/keyemu/keyemu/model"
)

// paramKind says how a positional argument of a command is written.
type paramKind uint8

const (
	pID       paramKind = iota // key ID: @t @p @s @u @us @g @a @r, $name or an integer
	pInt                       // integer (decimal, 0x hex, negative) or $name
	pStr                       // string pointer: NULL, FAULT, "", c*N or literal text
	pPayload                   // buffer and length: as pStr; plen=N overrides the length
	pErrno                     // errno name (EKEYREJECTED) or number
	pName                      // name of a new thread
	pDuration                  // Go duration (2s, 150ms)
	pWord                      // one fixed word, the param's name
	pText                      // text used as written, not passed to a system call
)

type param struct {
	name     string
	kind     paramKind
	optional bool
}

// verb is one scenario command.
type verb struct {
	params   []param
	variadic bool     // the last param repeats any number of times
	keys     []string // keyword arguments besides as= (and bind= when serial)
	serial   bool     // the result is a key serial: printed as a label, bind= allowed
	world    bool     // acts on the world, not on a thread: as= not allowed
	file     bool     // sets up the file's world: only as the first command, prints nothing
	input    bool     // takes input lines between the command and "----"
	run      func(x *execState, s *step) (string, error)
}

func req(name string, k paramKind) param { return param{name: name, kind: k} }
func opt(name string, k paramKind) param { return param{name: name, kind: k, optional: true} }

// verbs is the scenario vocabulary: one verb per system call or keyctl
// operation, positional arguments in the C argument order.
var verbs = map[string]*verb{
	// Processes and threads.
	"spawn":     {params: []param{req("NAME", pName)}, keys: []string{"uid", "gid", "groups"}, world: true, run: runSpawn},
	"clone":     {params: []param{req("NAME", pName)}, run: runClone},
	"fork":      {params: []param{req("NAME", pName)}, run: runFork},
	"exec":      {run: runExec},
	"exit":      {params: []param{opt("thread", pWord)}, run: runExit},
	"setresuid": {params: []param{req("RUID", pInt), req("EUID", pInt), req("SUID", pInt)}, run: runSetresuid},
	"setresgid": {params: []param{req("RGID", pInt), req("EGID", pInt), req("SGID", pInt)}, run: runSetresgid},
	"setgroups": {params: []param{opt("GID", pInt)}, variadic: true, run: runSetgroups},

	// User namespaces (userns.go) and key construction (requestkey.go).
	"unshare-user":     {keys: []string{"uidmap", "gidmap"}, run: runUnshareUser},
	"request-key-conf": {world: true, input: true, run: runRequestKeyConf},

	// Time, garbage collection, /proc.
	"gc-delay":       {params: []param{req("SECONDS", pInt)}, world: true, file: true, run: runNothing},
	"sleep":          {params: []param{req("DURATION", pDuration)}, world: true, run: runSleep},
	"settle":         {world: true, run: runSettle},
	"proc-key-users": {keys: []string{"uid"}, run: runProcKeyUsers},
	"proc-keys":      {params: []param{opt("PATTERN", pText)}, run: runProcKeys},

	// add_key(2), request_key(2).
	"add-key":     {params: []param{req("TYPE", pStr), req("DESC", pStr), req("PAYLOAD", pPayload), req("RING", pID)}, keys: []string{"plen"}, serial: true, run: runAddKey},
	"request-key": {params: []param{req("TYPE", pStr), req("DESC", pStr), req("CALLOUT", pStr), req("DEST", pID)}, serial: true, run: runRequestKey},

	// keyctl(2), by operation number.
	"get-keyring-id":       {params: []param{req("ID", pID), req("CREATE", pInt)}, serial: true, run: keyctlOp(emu.KEYCTL_GET_KEYRING_ID)},
	"join-session-keyring": {params: []param{req("NAME", pStr)}, serial: true, run: keyctlOp(emu.KEYCTL_JOIN_SESSION_KEYRING)},
	"update":               {params: []param{req("ID", pID), req("PAYLOAD", pPayload)}, keys: []string{"plen"}, run: keyctlOp(emu.KEYCTL_UPDATE)},
	"revoke":               {params: []param{req("ID", pID)}, run: keyctlOp(emu.KEYCTL_REVOKE)},
	"chown":                {params: []param{req("ID", pID), req("UID", pInt), req("GID", pInt)}, run: keyctlOp(emu.KEYCTL_CHOWN)},
	"setperm":              {params: []param{req("ID", pID), req("PERM", pInt)}, run: keyctlOp(emu.KEYCTL_SETPERM)},
	"describe":             {params: []param{req("ID", pID)}, run: runDescribe},
	"clear":                {params: []param{req("ID", pID)}, run: keyctlOp(emu.KEYCTL_CLEAR)},
	"link":                 {params: []param{req("KEY", pID), req("RING", pID)}, run: keyctlOp(emu.KEYCTL_LINK)},
	"unlink":               {params: []param{req("KEY", pID), req("RING", pID)}, run: keyctlOp(emu.KEYCTL_UNLINK)},
	"search":               {params: []param{req("RING", pID), req("TYPE", pStr), req("DESC", pStr), req("DEST", pID)}, serial: true, run: keyctlOp(emu.KEYCTL_SEARCH)},
	"read":                 {params: []param{req("ID", pID), opt("BUFLEN", pInt)}, keys: []string{"format"}, run: runRead},
	"instantiate":          {params: []param{req("ID", pID), req("PAYLOAD", pPayload), req("DEST", pID)}, keys: []string{"plen"}, run: keyctlOp(emu.KEYCTL_INSTANTIATE)},
	"negate":               {params: []param{req("ID", pID), req("TIMEOUT", pInt), req("DEST", pID)}, run: keyctlOp(emu.KEYCTL_NEGATE)},
	"set-reqkey-keyring":   {params: []param{req("REQKEY", pInt)}, run: keyctlOp(emu.KEYCTL_SET_REQKEY_KEYRING)},
	"set-timeout":          {params: []param{req("ID", pID), req("SECONDS", pInt)}, run: keyctlOp(emu.KEYCTL_SET_TIMEOUT)},
	"assume-authority":     {params: []param{req("ID", pID)}, serial: true, run: keyctlOp(emu.KEYCTL_ASSUME_AUTHORITY)},
	"get-security":         {params: []param{req("ID", pID)}, run: runGetSecurity},
	"session-to-parent":    {run: keyctlOp(emu.KEYCTL_SESSION_TO_PARENT)},
	"reject":               {params: []param{req("ID", pID), req("TIMEOUT", pInt), req("ERROR", pErrno), req("DEST", pID)}, run: keyctlOp(emu.KEYCTL_REJECT)},
	"invalidate":           {params: []param{req("ID", pID)}, run: keyctlOp(emu.KEYCTL_INVALIDATE)},
	"get-persistent":       {params: []param{req("UID", pInt), req("DEST", pID)}, serial: true, run: keyctlOp(emu.KEYCTL_GET_PERSISTENT)},
	"restrict-keyring":     {params: []param{req("ID", pID), req("TYPE", pStr), req("RESTRICTION", pStr)}, run: keyctlOp(emu.KEYCTL_RESTRICT_KEYRING)},
	"move":                 {params: []param{req("ID", pID), req("FROM", pID), req("TO", pID), req("FLAGS", pInt)}, run: keyctlOp(emu.KEYCTL_MOVE)},
	"capabilities":         {params: []param{opt("BUFLEN", pInt)}, run: runCapabilities},
	"raw-keyctl":           {params: []param{req("OP", pInt), opt("ARG", pInt)}, variadic: true, run: runRawKeyctl},
}

// keyringIDs are the special IDs that name keyrings whenever they resolve
// (R3.1): a read of one lists serials even where the keyring cannot be
// described (no View permission, which a possessed keyring's read does not
// need).
var keyringIDs = map[string]bool{"@t": true, "@p": true, "@s": true, "@u": true, "@us": true, "@r": true}

// specialIDs are keyctl(1)'s spellings of the special key IDs (R3.1).
var specialIDs = map[string]int{
	"@t":  emu.KEY_SPEC_THREAD_KEYRING,
	"@p":  emu.KEY_SPEC_PROCESS_KEYRING,
	"@s":  emu.KEY_SPEC_SESSION_KEYRING,
	"@u":  emu.KEY_SPEC_USER_KEYRING,
	"@us": emu.KEY_SPEC_USER_SESSION_KEYRING,
	"@g":  emu.KEY_SPEC_GROUP_KEYRING,
	"@a":  emu.KEY_SPEC_REQKEY_AUTH_KEY,
	"@r":  emu.KEY_SPEC_REQUESTOR_KEYRING,
}

// parseInt accepts decimal, 0x hex and negative integers, and unsigned
// 32-bit values such as 0xffffffff.
func parseInt(tok string) (int, bool) {
	if n, err := strconv.ParseInt(tok, 0, 64); err == nil {
		return int(n), true
	}
	if n, err := strconv.ParseUint(tok, 0, 64); err == nil {
		return int(n), true
	}
	return 0, false
}

// repeat expands "c*N" (one byte repeated N times).
func repeat(tok string) (string, bool) {
	if len(tok) < 3 || tok[1] != '*' {
		return "", false
	}
	n, err := strconv.Atoi(tok[2:])
	if err != nil || n < 0 || n > 1<<21 {
		return "", false
	}
	return strings.Repeat(tok[:1], n), true
}

// checkParam validates one positional token at parse time; bound holds the
// names bound so far in the file.
func checkParam(p param, tok string, bound map[string]bool) error {
	switch p.kind {
	case pID, pInt:
		if _, ok := specialIDs[tok]; ok && p.kind == pID {
			return nil
		}
		if strings.HasPrefix(tok, "$") {
			if !bound[tok[1:]] {
				return fmt.Errorf("%s: %s is not bound by an earlier bind=%s", p.name, tok, tok[1:])
			}
			return nil
		}
		if _, ok := parseInt(tok); !ok {
			if p.kind == pID {
				return fmt.Errorf("%s: want a key ID (@t @p @s @u @us @g @a @r, $name or a number), got %q", p.name, tok)
			}
			return fmt.Errorf("%s: want a number or $name, got %q", p.name, tok)
		}
	case pStr, pPayload:
		for _, name := range namesIn(tok) {
			if !bound[name] {
				return fmt.Errorf("%s: $%s is not bound by an earlier bind=%s", p.name, name, name)
			}
		}
	case pErrno:
		if _, ok := model.ErrnoByName(tok); ok {
			return nil
		}
		if _, ok := parseInt(tok); !ok {
			return fmt.Errorf("%s: want an errno name or number, got %q", p.name, tok)
		}
	case pName:
		if !validName(tok) {
			return fmt.Errorf("%s: want a name of letters, digits, '.', '_' or '-', got %q", p.name, tok)
		}
	case pDuration:
		if _, err := time.ParseDuration(tok); err != nil {
			return fmt.Errorf("%s: want a duration such as 2s, got %q", p.name, tok)
		}
	case pWord:
		if tok != p.name {
			return fmt.Errorf("want %q or nothing, got %q", p.name, tok)
		}
	}
	return nil
}

// nameRef is a $NAME inside a string argument: the name runs to the first
// byte that cannot be part of one.
var nameRef = regexp.MustCompile(`\$[A-Za-z0-9._-]+`)

// namesIn returns the names a string argument refers to.
func namesIn(tok string) []string {
	var names []string
	for _, m := range nameRef.FindAllString(tok, -1) {
		names = append(names, m[1:])
	}
	return names
}

// substitute replaces every $NAME in a string argument with the decimal
// serial bound to NAME, so that restrictions such as
// "key_or_keyring:$k:chain" can name keys.
func (x *execState) substitute(tok string) (string, error) {
	if !strings.Contains(tok, "$") {
		return tok, nil
	}
	var err error
	out := nameRef.ReplaceAllStringFunc(tok, func(m string) string {
		v, ok := x.labels.lookup(m[1:])
		if !ok {
			if err == nil {
				err = errUnbound(m[1:])
			}
			return m
		}
		return strconv.Itoa(v)
	})
	return out, err
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func usage(name string, v *verb) string {
	var b strings.Builder
	b.WriteString(name)
	for i, p := range v.params {
		w := p.name
		if v.variadic && i == len(v.params)-1 {
			w += "..."
		}
		if p.optional {
			w = "[" + w + "]"
		}
		b.WriteString(" " + w)
	}
	for _, k := range v.keys {
		fmt.Fprintf(&b, " [%s=...]", k)
	}
	if !v.world {
		b.WriteString(" [as=THREAD]")
	}
	if v.serial {
		b.WriteString(" [bind=NAME]")
	}
	return b.String()
}

// Values of arguments at run time.

// errUnbound is the output of a command that refers to a name whose binding
// command failed on this backend.
type errUnbound string

func (e errUnbound) Error() string { return "$" + string(e) + " is unbound" }

func (x *execState) num(tok string) (int, error) {
	if v, ok := specialIDs[tok]; ok {
		return v, nil
	}
	if strings.HasPrefix(tok, "$") {
		v, ok := x.labels.lookup(tok[1:])
		if !ok {
			return 0, errUnbound(tok[1:])
		}
		return v, nil
	}
	n, _ := parseInt(tok)
	return n, nil
}

func (x *execState) intArg(tok string) (emu.Arg, error) {
	n, err := x.num(tok)
	return emu.Int(n), err
}

func strArg(tok string) emu.Arg {
	switch tok {
	case "NULL":
		return emu.Null()
	case "FAULT":
		return emu.Fault()
	case `""`:
		return emu.String("")
	}
	if s, ok := repeat(tok); ok {
		return emu.String(s)
	}
	return emu.String(tok)
}

// payloadArgs returns the pointer and length arguments of a payload.
func payloadArgs(tok string, s *step) (emu.Arg, emu.Arg) {
	var ptr emu.Arg
	n := 0
	switch tok {
	case "NULL":
		ptr = emu.Null()
	case "FAULT":
		ptr, n = emu.Fault(), 1
	case `""`:
		ptr = emu.Buffer([]byte{})
	default:
		b := []byte(tok)
		if r, ok := repeat(tok); ok {
			b = []byte(r)
		}
		ptr, n = emu.Buffer(b), len(b)
	}
	if v, ok := s.kw["plen"]; ok {
		n, _ = parseInt(v)
	}
	return ptr, emu.Int(n)
}

func errnoArg(tok string) emu.Arg {
	if e, ok := model.ErrnoByName(tok); ok {
		return emu.Int(int(e))
	}
	n, _ := parseInt(tok)
	return emu.Int(n)
}

// args converts the positional tokens of s by the verb's param kinds.
func (x *execState) args(s *step) ([]emu.Arg, error) {
	var out []emu.Arg
	for i, tok := range s.args {
		p := s.verb.params[min(i, len(s.verb.params)-1)]
		switch p.kind {
		case pID, pInt:
			a, err := x.intArg(tok)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		case pStr:
			tok, err := x.substitute(tok)
			if err != nil {
				return nil, err
			}
			out = append(out, strArg(tok))
		case pPayload:
			tok, err := x.substitute(tok)
			if err != nil {
				return nil, err
			}
			ptr, n := payloadArgs(tok, s)
			out = append(out, ptr, n)
		case pErrno:
			out = append(out, errnoArg(tok))
		}
	}
	return out, nil
}

// Command implementations. Each returns the command's output; an errno from
// the system call is output too and comes back as a nil error with the
// errno's name.

func (x *execState) result(s *step, ret int) string {
	if s.verb.serial {
		if s.bind != "" && ret > 0 {
			x.labels.bind(s.bind, ret)
		}
		return x.labels.label(ret)
	}
	return strconv.Itoa(ret)
}

func keyctlOp(op int) func(x *execState, s *step) (string, error) {
	return func(x *execState, s *step) (string, error) {
		args, err := x.args(s)
		if err != nil {
			return "", err
		}
		ret, err := s.thread.Syscall(emu.SYS_KEYCTL, append([]emu.Arg{emu.Int(op)}, args...)...)
		if err != nil {
			return "", err
		}
		return x.result(s, ret), nil
	}
}

func runAddKey(x *execState, s *step) (string, error) {
	args, err := x.args(s)
	if err != nil {
		return "", err
	}
	ret, err := s.thread.Syscall(emu.SYS_ADD_KEY, args...)
	if err != nil {
		return "", err
	}
	return x.result(s, ret), nil
}

func runRequestKey(x *execState, s *step) (string, error) {
	args, err := x.args(s)
	if err != nil {
		return "", err
	}
	ret, err := s.thread.Syscall(emu.SYS_REQUEST_KEY, args...)
	if err != nil {
		return "", err
	}
	return x.result(s, ret), nil
}

func (x *execState) describe(t Thread, id int) (string, error) {
	buf := make([]byte, 8192)
	ret, err := t.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_DESCRIBE), emu.Int(id), emu.Buffer(buf), emu.Int(len(buf)))
	if err != nil {
		return "", err
	}
	if ret < 1 || ret > len(buf) {
		return "", fmt.Errorf("KEYCTL_DESCRIBE returned %d for a %d-byte buffer", ret, len(buf))
	}
	return string(buf[:ret-1]), nil
}

// runDescribe prints "type;uid;gid;perm;description" (keyctl(2)
// KEYCTL_DESCRIBE) with serials in descriptions replaced by labels.
func runDescribe(x *execState, s *step) (string, error) {
	id, err := x.num(s.args[0])
	if err != nil {
		return "", err
	}
	d, err := x.describe(s.thread, id)
	if err != nil {
		return "", err
	}
	return x.labels.describeText(d), nil
}

// runRead prints KEYCTL_READ's return value and what landed in the buffer:
// a keyring's serials as a sorted set of labels (its read order is the
// kernel's hash order, R1.13), other payloads Go-quoted. The buffer starts
// filled with '#', so a buffer the kernel left alone shows as "###".
// format=keyring or format=data says how to print; by default the key is
// described after the read to learn its type.
func runRead(x *execState, s *step) (string, error) {
	id, err := x.num(s.args[0])
	if err != nil {
		return "", err
	}
	buflen := 65536
	if len(s.args) > 1 {
		if buflen, err = x.num(s.args[1]); err != nil {
			return "", err
		}
	}
	var buf []byte
	ptr := emu.Null()
	if buflen > 0 {
		buf = []byte(strings.Repeat("#", buflen))
		ptr = emu.Buffer(buf)
	}
	ret, err := s.thread.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_READ), emu.Int(id), ptr, emu.Int(buflen))
	if err != nil {
		return "", err
	}
	if buflen <= 0 {
		return strconv.Itoa(ret), nil
	}
	format := s.kw["format"]
	if format == "" {
		format = "data"
		if d, err := x.describe(s.thread, id); err == nil && strings.HasPrefix(d, "keyring;") || keyringIDs[s.args[0]] {
			format = "keyring"
		}
	}
	if format == "keyring" && ret <= buflen && ret%4 == 0 {
		serials := make([]int, 0, ret/4)
		for i := 0; i < ret; i += 4 {
			serials = append(serials, int(int32(binary.NativeEndian.Uint32(buf[i:]))))
		}
		return fmt.Sprintf("%d [%s]", ret, strings.Join(x.labelSet(s.thread, serials), " ")), nil
	}
	return fmt.Sprintf("%d %s", ret, strconv.Quote(string(buf[:min(ret, buflen)]))), nil
}

// labelSet labels a set of serials in an order independent of the order
// given: serials new to the output are numbered in the order of their
// descriptions (unique within one keyring, R5.5), and the labels are sorted.
func (x *execState) labelSet(t Thread, serials []int) []string {
	var fresh []int
	desc := map[int]string{}
	for _, n := range serials {
		if !x.labels.known(n) {
			fresh = append(fresh, n)
			desc[n], _ = x.describe(t, n)
		}
	}
	sort.SliceStable(fresh, func(i, j int) bool { return desc[fresh[i]] < desc[fresh[j]] })
	for _, n := range fresh {
		x.labels.label(n)
	}
	out := make([]string, len(serials))
	for i, n := range serials {
		out[i] = x.labels.label(n)
	}
	sort.Strings(out)
	return out
}

func runGetSecurity(x *execState, s *step) (string, error) {
	id, err := x.num(s.args[0])
	if err != nil {
		return "", err
	}
	buf := make([]byte, 4096)
	ret, err := s.thread.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_GET_SECURITY), emu.Int(id), emu.Buffer(buf), emu.Int(len(buf)))
	if err != nil {
		return "", err
	}
	label := buf[:max(0, min(ret, len(buf))-1)]
	return fmt.Sprintf("%d %s", ret, strconv.Quote(string(label))), nil
}

// runCapabilities prints the return value and the buffer in hex (op 31).
func runCapabilities(x *execState, s *step) (string, error) {
	n := 2
	if len(s.args) > 0 {
		var err error
		if n, err = x.num(s.args[0]); err != nil {
			return "", err
		}
	}
	buf := make([]byte, max(n, 0))
	ptr := emu.Null()
	if n > 0 {
		ptr = emu.Buffer(buf)
	}
	ret, err := s.thread.Syscall(emu.SYS_KEYCTL, emu.Int(emu.KEYCTL_CAPABILITIES), ptr, emu.Int(n))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(fmt.Sprintf("%d % x", ret, buf)), nil
}

// runRawKeyctl passes integers to keyctl(2) unchanged; a result that is a
// serial already seen prints as its label.
func runRawKeyctl(x *execState, s *step) (string, error) {
	args, err := x.args(s)
	if err != nil {
		return "", err
	}
	ret, err := s.thread.Syscall(emu.SYS_KEYCTL, args...)
	if err != nil {
		return "", err
	}
	if x.labels.known(ret) {
		return x.labels.label(ret), nil
	}
	return strconv.Itoa(ret), nil
}

func runProcKeyUsers(x *execState, s *step) (string, error) {
	uid := s.ts.proc.euid
	if v, ok := s.kw["uid"]; ok {
		n, err := x.num(v)
		if err != nil {
			return "", err
		}
		uid = uint32(n)
	}
	text, err := s.thread.ProcKeyUsers()
	if err != nil {
		return "", err
	}
	return keyUsersLine(text, uid)
}

func runSleep(x *execState, s *step) (string, error) {
	d, _ := time.ParseDuration(s.args[0])
	return "", x.world.Advance(d)
}

func runSettle(x *execState, s *step) (string, error) { return "", x.world.Settle() }

// runNothing runs a file-level command, which took effect when the world
// was made.
func runNothing(x *execState, s *step) (string, error) { return "", nil }

package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"

	"github.com/keyemu/keyemu/emu"
	"github.com/keyemu/keyemu/model"
)

// The subcommands, in keyctl's words. argv[0] is the subcommand's name.

// Divergence: keyctl --version prints keyutils' build string; keyemu says
// it is keyemu emulating that keyctl.
func (c *cli) version(argv []string) {
	fmt.Fprintf(c.stdout, "keyctl from keyutils-1.6.3 (keyemu emulation)\n")
}

// printID prints a key ID result.
func (c *cli) printID(id int) {
	if c.json {
		c.res = map[string]any{"id": id}
		return
	}
	fmt.Fprintf(c.stdout, "%d\n", id)
}

func (c *cli) id(argv []string) {
	if len(argv) != 2 {
		c.format()
	}
	key := c.keyID(argv[1])
	c.printID(c.ok("keyctl_get_keyring_ID")(c.keyctl(emu.KEYCTL_GET_KEYRING_ID, emu.Int(int(key)), emu.Int(0))))
}

func (c *cli) addKey(typ, desc string, data []byte, dest int32) int {
	if data == nil {
		data = []byte{}
	}
	return c.ok("add_key")(c.sys(emu.SYS_ADD_KEY, emu.String(typ), emu.String(desc),
		emu.Buffer(data), emu.Int(len(data)), emu.Int(int(dest))))
}

func (c *cli) add(argv []string) {
	argv, hex := hexFlag(argv)
	if len(argv) != 5 {
		c.format()
	}
	data := []byte(argv[3])
	if hex {
		data = c.hex2bin(data)
	}
	dest := c.keyID(argv[4])
	c.printID(c.addKey(argv[1], argv[2], data, dest))
}

func (c *cli) padd(argv []string) {
	argv, hex := hexFlag(argv)
	if len(argv) != 4 {
		c.format()
	}
	data := c.grabStdin()
	if hex {
		data = c.hex2bin(data)
	}
	dest := c.keyID(argv[3])
	c.printID(c.addKey(argv[1], argv[2], data, dest))
}

func (c *cli) newring(argv []string) {
	if len(argv) != 3 {
		c.format()
	}
	dest := c.keyID(argv[2])
	c.printID(c.ok("add_key")(c.sys(emu.SYS_ADD_KEY, emu.String("keyring"), emu.String(argv[1]),
		emu.Null(), emu.Int(0), emu.Int(int(dest)))))
}

func (c *cli) requestKey(typ, desc string, callout emu.Arg, dest int32) {
	c.printID(c.ok("request_key")(c.sys(emu.SYS_REQUEST_KEY, emu.String(typ), emu.String(desc), callout, emu.Int(int(dest)))))
}

func (c *cli) request(argv []string) {
	if len(argv) != 3 && len(argv) != 4 {
		c.format()
	}
	var dest int32
	if len(argv) == 4 {
		dest = c.keyID(argv[3])
	}
	c.requestKey(argv[1], argv[2], emu.Null(), dest)
}

func (c *cli) request2(argv []string) {
	if len(argv) != 4 && len(argv) != 5 {
		c.format()
	}
	var dest int32
	if len(argv) == 5 {
		dest = c.keyID(argv[4])
	}
	c.requestKey(argv[1], argv[2], emu.String(argv[3]), dest)
}

func (c *cli) prequest2(argv []string) {
	if len(argv) != 3 && len(argv) != 4 {
		c.format()
	}
	args := []string{argv[0], argv[1], argv[2], string(c.grabStdin())}
	c.request2(append(args, argv[3:]...))
}

func (c *cli) updateKey(key int32, data []byte) {
	c.ok("keyctl_update")(c.keyctl(emu.KEYCTL_UPDATE, emu.Int(int(key)), emu.Buffer(data), emu.Int(len(data))))
}

func (c *cli) update(argv []string) {
	argv, hex := hexFlag(argv)
	if len(argv) != 3 {
		c.format()
	}
	data := []byte(argv[2])
	if hex {
		data = c.hex2bin(data)
	}
	c.updateKey(c.keyID(argv[1]), data)
}

func (c *cli) pupdate(argv []string) {
	argv, hex := hexFlag(argv)
	if len(argv) != 2 {
		c.format()
	}
	key := c.keyID(argv[1])
	data := c.grabStdin()
	if hex {
		data = c.hex2bin(data)
	}
	c.updateKey(key, data)
}

// simple is a subcommand taking one key and calling one operation.
func (c *cli) simple(argv []string, op int, call string) {
	if len(argv) != 2 {
		c.format()
	}
	key := c.keyID(argv[1])
	c.ok(call)(c.keyctl(op, emu.Int(int(key))))
}

func (c *cli) revoke(argv []string)     { c.simple(argv, emu.KEYCTL_REVOKE, "keyctl_revoke") }
func (c *cli) clear(argv []string)      { c.simple(argv, emu.KEYCTL_CLEAR, "keyctl_clear") }
func (c *cli) invalidate(argv []string) { c.simple(argv, emu.KEYCTL_INVALIDATE, "keyctl_invalidate") }

func (c *cli) link(argv []string) {
	if len(argv) != 3 {
		c.format()
	}
	key := c.keyID(argv[1])
	ring := c.keyID(argv[2])
	c.ok("keyctl_link")(c.keyctl(emu.KEYCTL_LINK, emu.Int(int(key)), emu.Int(int(ring))))
}

func (c *cli) unlink(argv []string) {
	if len(argv) != 2 && len(argv) != 3 {
		c.format()
	}
	key := c.keyID(argv[1])
	if len(argv) == 3 {
		ring := c.keyID(argv[2])
		c.ok("keyctl_unlink")(c.keyctl(emu.KEYCTL_UNLINK, emu.Int(int(key)), emu.Int(int(ring))))
		return
	}
	n := c.sessionScan(func(parent, k int32, _ string, _ error) int {
		if k == key {
			if _, err := c.keyctl(emu.KEYCTL_UNLINK, emu.Int(int(k)), emu.Int(int(parent))); err == nil {
				return 1
			}
		}
		return 0
	})
	c.count(n, "%d links removed\n")
}

// count prints a tally ("%d keys reaped").
func (c *cli) count(n int, format string) {
	if c.json {
		c.res = map[string]any{"count": n}
		return
	}
	fmt.Fprintf(c.stdout, format, n)
}

func (c *cli) search(argv []string) {
	if len(argv) != 4 && len(argv) != 5 {
		c.format()
	}
	ring := c.keyID(argv[1])
	var dest int32
	if len(argv) == 5 {
		dest = c.keyID(argv[4])
	}
	c.printID(c.ok("keyctl_search")(c.keyctl(emu.KEYCTL_SEARCH, emu.Int(int(ring)), emu.String(argv[2]), emu.String(argv[3]), emu.Int(int(dest)))))
}

func (c *cli) readKey(argv []string) (int32, []byte) {
	if len(argv) != 2 {
		c.format()
	}
	key := c.keyID(argv[1])
	data, err := c.readAlloc(key)
	if err != nil {
		c.perror("keyctl_read_alloc", err)
	}
	return key, data
}

func (c *cli) read(argv []string) {
	key, data := c.readKey(argv)
	if c.json {
		c.res = payloadJSON(key, data)
		return
	}
	if len(data) == 0 {
		fmt.Fprintf(c.stdout, "No data in key\n")
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d bytes of data in key:\n", len(data))
	for i, x := range data {
		if i > 0 {
			switch {
			case i%32 == 0:
				b.WriteByte('\n')
			case i%4 == 0:
				b.WriteByte(' ')
			}
		}
		fmt.Fprintf(&b, "%02x", x)
	}
	b.WriteByte('\n')
	fmt.Fprint(c.stdout, b.String())
}

func (c *cli) pipe(argv []string) {
	key, data := c.readKey(argv)
	if c.json {
		c.res = payloadJSON(key, data)
		return
	}
	if _, err := c.stdout.Write(data); err != nil {
		c.perror("write", err)
	}
}

// printable is keyctl's test for print: every byte isprint() in the C
// locale.
func printable(data []byte) bool {
	for _, x := range data {
		if x < 0x20 || x > 0x7e {
			return false
		}
	}
	return true
}

func (c *cli) print(argv []string) {
	key, data := c.readKey(argv)
	if c.json {
		c.res = payloadJSON(key, data)
		return
	}
	if printable(data) {
		fmt.Fprintf(c.stdout, "%s\n", data)
		return
	}
	fmt.Fprintf(c.stdout, ":hex:%x\n", data)
}

func (c *cli) chown(argv []string) { c.chownCmd(argv, "uid") }
func (c *cli) chgrp(argv []string) { c.chownCmd(argv, "gid") }

func (c *cli) chownCmd(argv []string, what string) {
	if len(argv) != 3 {
		c.format()
	}
	key := c.keyID(argv[1])
	id := uint32(c.number(argv[2], what, 0))
	uid, gid := id, ^uint32(0)
	if what == "gid" {
		uid, gid = ^uint32(0), id
	}
	c.ok("keyctl_chown")(c.keyctl(emu.KEYCTL_CHOWN, emu.Int(int(key)), emu.Int(int(uid)), emu.Int(int(gid))))
}

func (c *cli) setperm(argv []string) {
	if len(argv) != 3 {
		c.format()
	}
	key := c.keyID(argv[1])
	perm := uint32(c.number(argv[2], "permissions", 0))
	c.ok("keyctl_setperm")(c.keyctl(emu.KEYCTL_SETPERM, emu.Int(int(key)), emu.Int(int(perm))))
}

func (c *cli) timeout(argv []string) {
	if len(argv) != 3 {
		c.format()
	}
	key := c.keyID(argv[1])
	t := uint32(c.number(argv[2], "timeout", 10))
	c.ok("keyctl_set_timeout")(c.keyctl(emu.KEYCTL_SET_TIMEOUT, emu.Int(int(key)), emu.Int(int(t))))
}

func (c *cli) security(argv []string) {
	if len(argv) != 2 {
		c.format()
	}
	key := c.keyID(argv[1])
	s, err := c.stringAlloc(emu.KEYCTL_GET_SECURITY, key)
	if err != nil {
		c.perror("keyctl_getsecurity", err)
	}
	if c.json {
		c.res = map[string]any{"id": key, "security": s}
		return
	}
	fmt.Fprintf(c.stdout, "%s\n", s)
}

func (c *cli) instantiateKey(key int32, data []byte, dest int32) {
	c.ok("keyctl_instantiate")(c.keyctl(emu.KEYCTL_INSTANTIATE, emu.Int(int(key)), emu.Buffer(data), emu.Int(len(data)), emu.Int(int(dest))))
}

func (c *cli) instantiate(argv []string) {
	argv, hex := hexFlag(argv)
	if len(argv) != 4 {
		c.format()
	}
	key := c.keyID(argv[1])
	dest := c.keyID(argv[3])
	data := []byte(argv[2])
	if hex {
		data = c.hex2bin(data)
	}
	c.instantiateKey(key, data, dest)
}

func (c *cli) pinstantiate(argv []string) {
	argv, hex := hexFlag(argv)
	if len(argv) != 3 {
		c.format()
	}
	key := c.keyID(argv[1])
	dest := c.keyID(argv[2])
	data := c.grabStdin()
	if hex {
		data = c.hex2bin(data)
	}
	c.instantiateKey(key, data, dest)
}

func (c *cli) negate(argv []string) {
	if len(argv) != 4 {
		c.format()
	}
	key := c.keyID(argv[1])
	t := uint32(c.number(argv[2], "timeout", 10))
	dest := c.keyID(argv[3])
	c.ok("keyctl_negate")(c.keyctl(emu.KEYCTL_NEGATE, emu.Int(int(key)), emu.Int(int(t)), emu.Int(int(dest))))
}

func (c *cli) reject(argv []string) {
	if len(argv) != 5 {
		c.format()
	}
	key := c.keyID(argv[1])
	t := uint32(c.number(argv[2], "timeout", 10))
	e, ok := emu.RejectErrorName(argv[3])
	if !ok {
		e = int(uint32(c.number(argv[3], "error", 10)))
	}
	dest := c.keyID(argv[4])
	// keyctl 1.6.3 names the failed call keyctl_negate here too.
	c.ok("keyctl_negate")(c.keyctl(emu.KEYCTL_REJECT, emu.Int(int(key)), emu.Int(int(t)), emu.Int(int(e)), emu.Int(int(dest))))
}

func (c *cli) newSession(argv []string) {
	if len(argv) != 1 && len(argv) != 2 {
		c.format()
	}
	c.thread()
	c.k.adoptShell()
	name := emu.Null()
	if len(argv) == 2 {
		name = emu.String(argv[1])
	}
	c.ok("keyctl_join_session_keyring")(c.keyctl(emu.KEYCTL_JOIN_SESSION_KEYRING, name))
	c.ok("keyctl_session_to_parent")(c.keyctl(emu.KEYCTL_SESSION_TO_PARENT))
	c.printID(c.ok("keyctl_get_keyring_ID")(c.keyctl(emu.KEYCTL_GET_KEYRING_ID, emu.Int(emu.KEY_SPEC_SESSION_KEYRING), emu.Int(0))))
}

func (c *cli) getPersistent(argv []string) {
	if len(argv) != 2 && len(argv) != 3 {
		c.format()
	}
	dest := c.keyID(argv[1])
	uid := ^uint32(0)
	if len(argv) == 3 {
		uid = uint32(c.number(argv[2], "uid", 0))
	}
	c.printID(c.ok("keyctl_get_persistent")(c.keyctl(emu.KEYCTL_GET_PERSISTENT, emu.Int(int(uid)), emu.Int(int(dest)))))
}

func (c *cli) move(argv []string) {
	flags := emu.KEYCTL_MOVE_EXCL
	if len(argv) > 4 && argv[1] == "-f" {
		flags = 0
		argv = append([]string{argv[0]}, argv[2:]...)
	}
	if len(argv) != 4 {
		c.format()
	}
	key := c.keyID(argv[1])
	from := c.keyID(argv[2])
	to := c.keyID(argv[3])
	c.ok("keyctl_move")(c.keyctl(emu.KEYCTL_MOVE, emu.Int(int(key)), emu.Int(int(from)), emu.Int(int(to)), emu.Int(flags)))
}

func (c *cli) restrictKeyring(argv []string) {
	if len(argv) < 2 || len(argv) > 4 {
		c.format()
	}
	ring := c.keyID(argv[1])
	typ, restr := emu.Null(), emu.Null()
	if len(argv) > 2 {
		typ = emu.String(argv[2])
	}
	if len(argv) == 4 {
		restr = emu.String(argv[3])
	}
	c.ok("keyctl_restrict_keyring")(c.keyctl(emu.KEYCTL_RESTRICT_KEYRING, emu.Int(int(ring)), typ, restr))
}

// capabilities are keyctl supports' names for the KEYCTL_CAPABILITIES
// bits.
var capabilities = []struct {
	name  string
	index int
	mask  byte
}{
	{"capabilities", 0, emu.KEYCTL_CAPS0_CAPABILITIES},
	{"persistent_keyrings", 0, emu.KEYCTL_CAPS0_PERSISTENT_KEYRINGS},
	{"dh_compute", 0, emu.KEYCTL_CAPS0_DIFFIE_HELLMAN},
	{"public_key", 0, emu.KEYCTL_CAPS0_PUBLIC_KEY},
	{"big_key_type", 0, emu.KEYCTL_CAPS0_BIG_KEY},
	{"key_invalidate", 0, emu.KEYCTL_CAPS0_INVALIDATE},
	{"restrict_keyring", 0, emu.KEYCTL_CAPS0_RESTRICT_KEYRING},
	{"move_key", 0, emu.KEYCTL_CAPS0_MOVE},
	{"ns_keyring_name", 1, emu.KEYCTL_CAPS1_NS_KEYRING_NAME},
	{"ns_key_tag", 1, emu.KEYCTL_CAPS1_NS_KEY_TAG},
	{"notify", 1, emu.KEYCTL_CAPS1_NOTIFICATIONS},
}

func (c *cli) supports(argv []string) {
	if len(argv) > 2 {
		c.format()
	}
	caps := make([]byte, 256)
	n := c.ok("keyctl_capabilities")(c.keyctl(emu.KEYCTL_CAPABILITIES, emu.Buffer(caps), emu.Int(len(caps))))
	if len(argv) == 1 {
		if c.json {
			m := map[string]bool{}
			for _, p := range capabilities {
				m[p.name] = caps[p.index]&p.mask != 0
			}
			c.res = m
			return
		}
		for _, p := range capabilities {
			v := '0'
			if caps[p.index]&p.mask != 0 {
				v = '1'
			}
			fmt.Fprintf(c.stdout, "have_%s=%c\n", p.name, v)
		}
		return
	}
	if argv[1] == "--raw" {
		fmt.Fprintf(c.stdout, "%x\n", caps[:n])
	}
	for _, p := range capabilities {
		if argv[1] == p.name {
			if caps[p.index]&p.mask != 0 {
				panic(exitCode(0))
			}
			panic(exitCode(1))
		}
	}
	panic(exitCode(3))
}

func (c *cli) dhCompute(argv []string) {
	if len(argv) != 4 {
		c.format()
	}
	priv, prime, base := c.keyID(argv[1]), c.keyID(argv[2]), c.keyID(argv[3])
	c.dh("keyctl_dh_compute_alloc", priv, prime, base)
}

func (c *cli) dhComputeKDF(argv []string) {
	if len(argv) != 6 {
		c.format()
	}
	priv, prime, base := c.keyID(argv[1]), c.keyID(argv[2]), c.keyID(argv[3])
	c.dh("keyctl_dh_compute_kdf", priv, prime, base)
}

func (c *cli) dhComputeKDFOI(argv []string) {
	argv, hex := hexFlag(argv)
	if len(argv) != 6 {
		c.format()
	}
	priv, prime, base := c.keyID(argv[1]), c.keyID(argv[2]), c.keyID(argv[3])
	oi := c.grabStdin()
	if hex {
		c.hex2bin(oi)
	}
	c.dh("keyctl_dh_compute_kdf", priv, prime, base)
}

// dh calls KEYCTL_DH_COMPUTE, which the reference kernel lacks
// (EOPNOTSUPP), so no result is ever printed.
func (c *cli) dh(call string, priv, prime, base int32) {
	params := make([]byte, 12)
	binary.LittleEndian.PutUint32(params[0:], uint32(priv))
	binary.LittleEndian.PutUint32(params[4:], uint32(prime))
	binary.LittleEndian.PutUint32(params[8:], uint32(base))
	c.ok(call)(c.keyctl(emu.KEYCTL_DH_COMPUTE, emu.Buffer(params), emu.Null(), emu.Int(0), emu.Int(0)))
	c.die(1, "%s: no result\n", call)
}

// pkeyInfo joins the k=v arguments as keyctl's pkey_parse_info().
func (c *cli) pkeyInfo(args []string) string {
	for _, a := range args {
		if !strings.Contains(a, "=") {
			c.die(2, "Option not in key=val form\n")
		}
	}
	info := strings.Join(args, " ")
	if len(info) > 4096-1 {
		c.die(2, "Too many info options\n")
	}
	return info
}

func (c *cli) pkeyQueryCall(key int32, info string) []byte {
	res := make([]byte, 40)
	c.ok("keyctl_pkey_query")(c.keyctl(emu.KEYCTL_PKEY_QUERY, emu.Int(int(key)), emu.Int(0), emu.String(info), emu.Buffer(res)))
	return res
}

func (c *cli) pkeyQuery(argv []string) {
	if len(argv) < 3 {
		c.format()
	}
	info := c.pkeyInfo(argv[3:])
	key := c.keyID(argv[1])
	if argv[2] != "0" {
		c.die(2, "Password passing is not yet supported\n")
	}
	res := c.pkeyQueryCall(key, info)
	u := func(i int) uint32 { return binary.LittleEndian.Uint32(res[i:]) }
	ops := u(0)
	yn := func(bit uint32) byte {
		if ops&bit != 0 {
			return 'y'
		}
		return 'n'
	}
	fmt.Fprintf(c.stdout, "key_size=%d\nmax_data_size=%d\nmax_sig_size=%d\nmax_enc_size=%d\nmax_dec_size=%d\n",
		u(4), u(8)&0xffff, u(8)>>16, u(12)&0xffff, u(12)>>16)
	fmt.Fprintf(c.stdout, "encrypt=%c\ndecrypt=%c\nsign=%c\nverify=%c\n", yn(1), yn(2), yn(4), yn(8))
}

// pkeyOp is pkey_encrypt, _decrypt, _sign and _verify: the query comes
// first, and no emulated key answers it.
func pkeyOp(call string, nargs int) func(c *cli, argv []string) {
	return func(c *cli, argv []string) {
		if len(argv) < nargs {
			c.format()
		}
		info := c.pkeyInfo(argv[nargs:])
		key := c.keyID(argv[1])
		if argv[2] != "0" {
			c.die(2, "Password passing is not yet supported\n")
		}
		for _, f := range argv[3:nargs] {
			c.readFile(f)
		}
		if call == "keyctl_pkey_verify" {
			c.ok(call)(-1, model.EOPNOTSUPP)
		}
		c.pkeyQueryCall(key, info)
		c.ok(call)(-1, model.EOPNOTSUPP)
	}
}

// watch: the reference kernel has no notification pipes
// (CONFIG_WATCH_QUEUE), so keyctl fails creating one.
func (c *cli) watch(argv []string) {
	if len(argv) < 2 {
		c.format()
	}
	c.perror("pipe2", model.ENOPKG)
}

func (c *cli) watchAdd(argv []string) {
	if len(argv) != 3 {
		c.format()
	}
	key := c.keyID(argv[2])
	c.ok("keyctl_watch_key")(c.keyctl(emu.KEYCTL_WATCH_KEY, emu.Int(int(key)), emu.Int(int(c.number(argv[1], "fd", 0))), emu.Int(0)))
}

func (c *cli) watchSync(argv []string) {
	if len(argv) != 2 {
		c.format()
	}
	c.perror("watch_sync", model.EBADF)
}

func (c *cli) test(argv []string) {
	fmt.Fprintf(c.stderr, "Format:\n  keyctl --test limits \n  keyctl --test limits2 \n")
	fmt.Fprint(c.stderr, keyIDHelp)
	panic(exitCode(2))
}

// payloadJSON is a key's payload for --json: hex always, text when
// printable.
func payloadJSON(key int32, data []byte) map[string]any {
	m := map[string]any{"id": key, "length": len(data), "hex": fmt.Sprintf("%x", data)}
	if printable(data) {
		m["text"] = string(data)
	}
	return m
}

var _ = os.Stdout

// Package conformance proves that an implementation of the Linux key
// retention service behaves like the kernel. It runs scenario files against
// a Backend and compares every command's output with the output the real
// kernel gave, in the manner of testing/fstest.TestFS:
//
//	func TestMine(t *testing.T) { conformance.Run(t, myBackend) }
//
// Two backends come with the package. Kernel drives the running Linux
// kernel through helper processes in fresh user namespaces; its test
// binary's TestMain must call Main. Emulator drives emu.System. The
// kernel's outputs are the expected outputs: Update rewrites them from the
// kernel backend only (go test ./conformance -update), and the emulator is
// checked against them.
//
// # Scenario files
//
// A scenario is a file testdata/<area>/<case>.txt in the format of
// github.com/cockroachdb/datadriven: a command line, a "----" line, the
// expected output, a blank line. The file opens with # comment lines that
// say what it checks and cite the SEMANTICS.md rule IDs (R2.5a, ...) and
// man pages it pins. Each file runs in a fresh World; commands run in
// order and see the effects of earlier ones.
//
// Errors are output, not failures: a system call that fails prints its
// errno name (ENOKEY). A command that succeeds prints its result: a key
// serial as a label (below), other numbers in decimal. Process commands
// print nothing. A malformed file fails with file:line and what was
// expected there.
//
// Serials are random in the kernel (R1.1), so outputs never show them.
// bind=NAME on a command that returns a serial names it: that serial
// prints as $NAME and $NAME can be used as an argument later. A serial
// never bound prints as #N, numbered in order of first appearance; a serial
// already labelled keeps its label, so "$a" on a second command shows it
// returned the same key. Keyring contents print as a sorted set of labels,
// because the kernel reads keyrings in hash order (R1.13).
//
// # Arguments
//
// Arguments follow the C argument order of the system call. Key IDs are
// special IDs @t @p @s @u @us @g @a @r (-1 to -8), $NAME, or numbers.
// Numbers are decimal, 0x hex or negative. String arguments are text,
// NULL (a NULL pointer), FAULT (an unreadable pointer), "" (the empty
// string) or c*N (the byte c repeated N times); payloads are written the
// same way and pass their length, which plen=N overrides. Inside a string
// or payload, $NAME stands for the decimal serial bound to NAME, the name
// running to the first byte that is not a letter, digit, '.', '_' or '-':
//
//	restrict-keyring $r asymmetric key_or_keyring:$k:chain
//
// Arguments cannot contain spaces or '='.
//
// as=THREAD runs a command on a given thread; without it a command runs on
// the only thread of the most recently spawned process.
//
// # Commands
//
// Processes and threads:
//
//	spawn NAME uid=U gid=G [groups=(G1, G2)]  new process with no keyrings (like a daemon without PAM)
//	clone NAME                                new thread, clone(CLONE_THREAD) by the running thread
//	fork NAME                                 new process, fork(2) by the running thread
//	exec                                      execve(2) by the running thread
//	exit [thread]                             exit_group(2), or exit(2) of the running thread only
//	setresuid R E S, setresgid R E S          process-wide, as glibc; -1 leaves an ID unchanged
//	setgroups [G...]                          process-wide
//	unshare-user [uidmap=I:O:N[/...]] [gidmap=...]
//	                                          execve(2) of a program that enters a new user
//	                                          namespace (unshare(CLONE_NEWUSER)) before anything
//	                                          else; the world's root writes the maps, whose
//	                                          outside IDs are the world's (none: unmapped)
//
// Key construction (requestkey.go): the input lines of request-key-conf
// are request-key.conf(5) lines that construct the world's keys from then
// on; without them no line matches and constructed keys are negated.
// Programs: /bin/keyctl (instantiate, negate, reject) and keyemu-report,
// which prints what the helper sees (run as |keyemu-report KEY [TYPE
// DESC], its output instantiates the key). A description pattern is '*'
// or does not start with '*':
//
//	request-key-conf
//	create user rk:* * /bin/keyctl instantiate %k %c %S
//	----
//
// Time, garbage collection and /proc:
//
//	gc-delay SECONDS                          the world's gc_delay (R8.1), 1 to 10 s: only as the
//	                                          file's first command
//	sleep DURATION                            let time pass (2s, 150ms)
//	settle                                    let garbage collection finish what is due
//	proc-key-users [uid=N]                    the running thread's view of its euid's (or N's)
//	                                          /proc/key-users line: "uid: qnkeys/maxkeys qnbytes/maxbytes"
//	proc-keys [PATTERN]                       the running thread's view of /proc/keys (what its
//	                                          credentials may View, possession counted), the lines
//	                                          whose description text contains PATTERN
//
// gc-delay makes garbage collection timelines testable (R8.3): the
// kernel backend sets /proc/sys/kernel/keys/gc_delay for the file's world
// and puts the old value back when the world closes, or, through a guard
// process, when the test process dies. The sysctl is the machine's, so
// such a world runs alone: it waits for every other kernel world to close
// and no other starts until it has. If another test process keeps kernel
// worlds open for more than 30 s, the scenario is skipped instead. A scenario with gc-delay waits for
// the collector generously: sleep past the deadline with a margin of a
// second or more, then settle.
//
// proc-keys prints one line per key, "LABEL FLAGS * TIMEOUT PERM UID GID
// TYPE DESCRIPTION", sorted: serials as labels, the usage count as '*',
// and a timeout of seconds as "*s" (R8.4); perm, expd and countdowns of
// minutes and longer print as the kernel wrote them, so a scenario that
// pins one sets a timeout well inside its unit (1000 s shows 16m for 40
// s). On the kernel backend uid 0 of a world is the machine's root, so
// root sees root's keys of other worlds too: patterns name descriptions
// unique to the file.
//
// System calls (keyctl operations by their KEYCTL_ names):
//
//	add-key TYPE DESC PAYLOAD RING            add_key(2)
//	request-key TYPE DESC CALLOUT DEST        request_key(2)
//	get-keyring-id ID CREATE
//	join-session-keyring NAME
//	update ID PAYLOAD
//	revoke ID
//	chown ID UID GID
//	setperm ID PERM
//	describe ID                               prints type;uid;gid;perm;description
//	clear ID
//	link KEY RING
//	unlink KEY RING
//	search RING TYPE DESC DEST
//	read ID [BUFLEN] [format=keyring|data]    prints the return value and the buffer:
//	                                          [labels] for a keyring, a Go-quoted string otherwise
//	instantiate ID PAYLOAD DEST
//	negate ID TIMEOUT DEST
//	set-reqkey-keyring REQKEY
//	set-timeout ID SECONDS
//	assume-authority ID
//	get-security ID                           prints the return value and the label
//	session-to-parent
//	reject ID TIMEOUT ERROR DEST              ERROR is an errno name or number
//	invalidate ID
//	get-persistent UID DEST
//	restrict-keyring ID TYPE RESTRICTION
//	move ID FROM TO FLAGS
//	capabilities [BUFLEN]                     prints the return value and the buffer in hex
//	raw-keyctl OP [ARG2 [ARG3 [ARG4 [ARG5]]]] any operation number, integer arguments
//
// # What tests must not pin
//
// Outputs must be the same on every run of the kernel (SEMANTICS.md R8.4):
// no /proc/keys usage counts (proc-keys masks them), no exact moment of
// garbage collection (use settle), and no /proc/key-users line of uid 0, whose kernel quota record
// is shared with the rest of the machine.
package conformance

// Command keyemu is the command line of the keyemu emulator of the Linux
// key retention service.
//
//	keyemu tour    a narrated walk through the user and session keyring rules
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: keyemu <command>

commands:
  tour    walk through the user, user-session and session keyring rules
          on a scratch emulated kernel, showing each call, its result and
          the rule that decided it
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "tour":
		if len(args) != 1 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		return tour(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "keyemu: unknown command %q\n", args[0])
	fmt.Fprint(stderr, usage)
	return 2
}

//go:build !unix

package main

import (
	"errors"
	"os"
	"os/exec"
)

// runProgram runs the program and exits with its status; the session is
// found through KEYEMU_SESSION, and unregistered when the program ends.
// Divergence: keyctl session execs the program in the new session; with no
// exec and no parent chain here, the program runs as a child.
func runProgram(c *cli, path string, args []string) {
	cmd := exec.Command(path, args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	c.unregisterSelf()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		panic(exitCode(ee.ExitCode()))
	case err != nil:
		c.perror(args[0], err)
	}
	panic(exitCode(0))
}

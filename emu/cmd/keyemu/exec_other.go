//go:build !unix

package main

import (
	"errors"
	"os"
	"os/exec"
)

// runProgram runs the program and exits with its status; the session is
// found through KEYEMU_SESSION, and unregistered when the program ends.
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

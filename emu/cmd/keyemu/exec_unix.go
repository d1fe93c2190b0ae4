//go:build unix

package main

import (
	"os"
	"syscall"
)

// runProgram replaces this process with the program, as keyctl session
// does: the PID and start time stay, so the registration stays valid.
func runProgram(c *cli, path string, args []string) {
	err := syscall.Exec(path, args, os.Environ())
	c.perror(args[0], err)
}

package main

import (
	"fmt"
	"strings"

	"github.com/keyemu/keyemu/emu"
	"github.com/keyemu/keyemu/model"
)

// callTrail is one system call of a command and the emulator's decisions
// behind its result (--explain).
type callTrail struct {
	Call   string       `json:"call"`
	Result string       `json:"result"`
	Steps  []model.Step `json:"steps"`
}

var syscallNames = map[int]string{emu.SYS_ADD_KEY: "add_key", emu.SYS_REQUEST_KEY: "request_key"}

var keyctlNames = map[int]string{
	0: "GET_KEYRING_ID", 1: "JOIN_SESSION_KEYRING", 2: "UPDATE", 3: "REVOKE", 4: "CHOWN", 5: "SETPERM",
	6: "DESCRIBE", 7: "CLEAR", 8: "LINK", 9: "UNLINK", 10: "SEARCH", 11: "READ", 12: "INSTANTIATE",
	13: "NEGATE", 14: "SET_REQKEY_KEYRING", 15: "SET_TIMEOUT", 16: "ASSUME_AUTHORITY", 17: "GET_SECURITY",
	18: "SESSION_TO_PARENT", 19: "REJECT", 20: "INSTANTIATE_IOV", 21: "INVALIDATE", 22: "GET_PERSISTENT",
	29: "RESTRICT_KEYRING", 30: "MOVE", 31: "CAPABILITIES",
}

func newCallTrail(nr int, args []emu.Arg, e emu.Explanation) callTrail {
	name := syscallNames[nr]
	if nr == emu.SYS_KEYCTL && len(args) > 0 {
		op := args[0].IntValue()
		name = "keyctl " + keyctlNames[op]
		if keyctlNames[op] == "" {
			name = fmt.Sprintf("keyctl %d", op)
		}
		args = args[1:]
	}
	var parts []string
	for _, a := range args {
		parts = append(parts, argText(a))
	}
	res := fmt.Sprint(e.Result)
	if e.Err != nil {
		res = emu.ErrnoName(e.Err)
	}
	return callTrail{Call: name + "(" + strings.Join(parts, ", ") + ")", Result: res, Steps: e.Steps}
}

var specText = map[int]string{-1: "@t", -2: "@p", -3: "@s", -4: "@u", -5: "@us", -6: "@g", -7: "@a", -8: "@r"}

func argText(a emu.Arg) string {
	if a.IsFault() {
		return "<bad pointer>"
	}
	if s, ok := a.StringValue(); ok {
		return fmt.Sprintf("%q", s)
	}
	if b, ok := a.BufferValue(); ok {
		return fmt.Sprintf("<%d-byte buffer>", len(b))
	}
	if name, ok := specText[a.IntValue()]; ok {
		return name
	}
	return fmt.Sprint(a.IntValue())
}

// printTrail prints the decision trail after the command's output.
func (c *cli) printTrail() {
	if len(c.trail) == 0 {
		return
	}
	fmt.Fprintln(c.stdout, "\nexplain:")
	for _, t := range c.trail {
		fmt.Fprintf(c.stdout, "  %s = %s\n", t.Call, t.Result)
		for _, s := range t.Steps {
			mark := "+"
			if !s.OK {
				mark = "-"
			}
			if s.Kind == "hint" {
				mark = ">"
			}
			rule := ""
			if s.Rule != "" {
				rule = " [" + s.Rule + "]"
			}
			fmt.Fprintf(c.stdout, "    %s %s%s\n", mark, s.Text, rule)
		}
	}
}

package main

import (
	"os"
	"strconv"
)

// osProc is an OS process, identified by PID and start time so that a
// reused PID is not mistaken for the process that registered.
type osProc struct {
	pid   int
	start uint64
}

// name is the process's registration name.
func (p osProc) name() string {
	return "pid:" + strconv.Itoa(p.pid) + ":" + strconv.FormatUint(p.start, 10)
}

// self returns this process.
func self() (osProc, bool) {
	_, start, ok := procStat(os.Getpid())
	return osProc{os.Getpid(), start}, ok
}

// ancestors returns this process's parent, its parent, and so on up to
// (not including) PID 1; empty where the process table cannot be read.
func ancestors() []osProc {
	var out []osProc
	ppid, _, ok := procStat(os.Getpid())
	for ok && ppid > 1 && len(out) < 64 {
		var next int
		var start uint64
		next, start, ok = procStat(ppid)
		if !ok {
			break
		}
		out = append(out, osProc{ppid, start})
		ppid = next
	}
	return out
}

// alive reports whether the registered process still runs: the same PID
// with the same start time. Where the process table cannot be read, it is
// assumed alive.
func (p osProc) alive() bool {
	if _, _, ok := procStat(os.Getpid()); !ok {
		return true
	}
	_, start, ok := procStat(p.pid)
	return ok && start == p.start
}

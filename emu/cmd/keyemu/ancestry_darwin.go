package main

import (
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// procStat returns the parent PID and start time of pid from ps(1); the
// start time is lstart in seconds since the epoch.
func procStat(pid int) (ppid int, start uint64, ok bool) {
	out, err := exec.Command("ps", "-o", "ppid=", "-o", "lstart=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[0])
	if err != nil {
		return 0, 0, false
	}
	t, err := time.ParseInLocation("Mon Jan 2 15:04:05 2006", strings.Join(f[1:], " "), time.Local)
	if err != nil {
		return 0, 0, false
	}
	return ppid, uint64(t.Unix()), true
}

package conformance

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// step is one command of a scenario, checked against the vocabulary.
type step struct {
	d      *directive
	name   string
	verb   *verb
	args   []string          // positional tokens
	kw     map[string]string // keyword arguments other than as=, bind=, groups=
	groups []uint32          // spawn's groups=(...)
	as     string            // thread that runs the command ("" for world commands)
	bind   string

	// Set while the step runs.
	thread Thread
	ts     *threadState
}

// scenario is a parsed scenario file.
type scenario struct {
	file  *dataFile
	steps []*step
	// config is the world's settings, from file-level commands
	// (gc-delay).
	config WorldConfig
}

var ruleID = regexp.MustCompile(`\bR\d+(\.\d+[a-z]?)?\b`)

// staticThread and staticProc follow which threads exist while a file is
// checked, so that a command naming a thread that does not exist (or no
// longer does) is a mistake in the file rather than a test failure.
type staticThread struct {
	proc  *staticProc
	alive bool
}

type staticProc struct{ threads []*staticThread }

// parseScenario parses and checks a scenario file. Errors name the file and
// line and say what was expected there.
func parseScenario(name string, data []byte) (*scenario, error) {
	f, err := parseDataFile(name, data)
	if err != nil {
		return nil, err
	}
	if err := checkHeader(f); err != nil {
		return nil, err
	}
	sc := &scenario{file: f}
	bound := map[string]bool{}
	threads := map[string]*staticThread{}
	lastSpawn := ""
	for i := range f.directives {
		d := &f.directives[i]
		s, err := parseStep(d, bound, threads, &lastSpawn)
		if err == nil && s.verb.file {
			err = sc.configure(s, i)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %v", d.pos, d.cmd, err)
		}
		sc.steps = append(sc.steps, s)
	}
	if len(sc.steps) == 0 {
		return nil, fmt.Errorf("%s:%d: no commands", name, max(len(f.lines), 1))
	}
	return sc, nil
}

// maxGCDelay bounds gc-delay: a scenario waits longer than gc_delay for
// the collector, and the whole run should take minutes.
const maxGCDelay = 10

// configure applies a file-level command, step i of the file, to the
// world's settings.
func (sc *scenario) configure(s *step, i int) error {
	if i != 0 {
		return fmt.Errorf("want it as the file's first command: it sets up the world the file runs in")
	}
	n, ok := parseInt(s.args[0])
	if !ok || n < 1 || n > maxGCDelay {
		return fmt.Errorf("want whole seconds from 1 to %d, got %q", maxGCDelay, s.args[0])
	}
	sc.config.GCDelay = time.Duration(n) * time.Second
	return nil
}

// checkHeader requires the file to open with comment lines that cite at
// least one SEMANTICS.md rule ID.
func checkHeader(f *dataFile) error {
	var header []string
	for _, l := range f.lines {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "#") {
			break
		}
		header = append(header, t)
	}
	if len(header) == 0 {
		return fmt.Errorf("%s:1: want # comment lines saying what the file checks, with SEMANTICS.md rule IDs", f.name)
	}
	if !ruleID.MatchString(strings.Join(header, "\n")) {
		return fmt.Errorf("%s:1: the header comment cites no SEMANTICS.md rule ID (R2.5a, ...)", f.name)
	}
	return nil
}

func parseStep(d *directive, bound map[string]bool, threads map[string]*staticThread, lastSpawn *string) (*step, error) {
	v, ok := verbs[d.cmd]
	if !ok {
		names := make([]string, 0, len(verbs))
		for n := range verbs {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("unknown command; want one of %s", strings.Join(names, ", "))
	}
	s := &step{d: d, name: d.cmd, verb: v, kw: map[string]string{}}
	if d.input != "" && !v.input {
		return nil, fmt.Errorf("commands take no input lines before ----")
	}
	if v.input {
		if err := checkRequestKeyConf(d.input); err != nil {
			return nil, err
		}
	}
	allowed := map[string]bool{}
	for _, k := range v.keys {
		allowed[k] = true
	}
	for _, a := range d.args {
		if len(a.Vals) == 0 {
			s.args = append(s.args, a.Key)
			continue
		}
		switch {
		case a.Key == "as" && !v.world:
			s.as = a.Vals[0]
		case a.Key == "bind" && v.serial:
			s.bind = a.Vals[0]
		case a.Key == "groups" && allowed["groups"]:
			for _, g := range a.Vals {
				if g = strings.TrimSpace(g); g == "" {
					continue
				}
				n, ok := parseInt(g)
				if !ok || n < 0 || n > 1<<32-1 {
					return nil, fmt.Errorf("groups: want numbers, got %q", g)
				}
				s.groups = append(s.groups, uint32(n))
			}
		case allowed[a.Key]:
			if len(a.Vals) != 1 {
				return nil, fmt.Errorf("%s takes one value", a.Key)
			}
			s.kw[a.Key] = a.Vals[0]
		default:
			return nil, fmt.Errorf("unexpected argument %s; usage: %s", a, usage(d.cmd, v))
		}
	}
	if err := checkArgs(s); err != nil {
		return nil, fmt.Errorf("%v; usage: %s", err, usage(d.cmd, v))
	}
	for i, tok := range s.args {
		p := v.params[min(i, len(v.params)-1)]
		if err := checkParam(p, tok, bound); err != nil {
			return nil, fmt.Errorf("%v; usage: %s", err, usage(d.cmd, v))
		}
	}
	if err := checkKeywords(s, bound); err != nil {
		return nil, err
	}
	if err := trackThreads(s, threads, lastSpawn); err != nil {
		return nil, err
	}
	if s.bind != "" {
		if !validName(s.bind) {
			return nil, fmt.Errorf("bind: want a name of letters, digits, '.', '_' or '-', got %q", s.bind)
		}
		if bound[s.bind] {
			return nil, fmt.Errorf("bind: $%s is already bound in this file; use another name", s.bind)
		}
		bound[s.bind] = true
	}
	return s, nil
}

func checkArgs(s *step) error {
	v := s.verb
	required := 0
	for _, p := range v.params {
		if !p.optional {
			required++
		}
	}
	if len(s.args) < required {
		return fmt.Errorf("want %d arguments, got %d", required, len(s.args))
	}
	if !v.variadic && len(s.args) > len(v.params) {
		return fmt.Errorf("want at most %d arguments, got %d", len(v.params), len(s.args))
	}
	if s.name == "raw-keyctl" && len(s.args) > 5 {
		return fmt.Errorf("want at most 5 arguments (the operation and arg2..arg5), got %d", len(s.args))
	}
	return nil
}

func checkKeywords(s *step, bound map[string]bool) error {
	if s.name == "spawn" {
		for _, k := range []string{"uid", "gid"} {
			n, ok := parseInt(s.kw[k])
			if !ok || n < 0 || n > 1<<32-1 {
				return fmt.Errorf("want %s=NUMBER; usage: %s", k, usage(s.name, s.verb))
			}
		}
	}
	if v, ok := s.kw["plen"]; ok {
		if _, ok := parseInt(v); !ok {
			return fmt.Errorf("plen: want a number, got %q", v)
		}
	}
	for _, k := range []string{"uidmap", "gidmap"} {
		if _, err := parseIDMap(s.kw[k]); err != nil {
			return fmt.Errorf("%s: %v", k, err)
		}
	}
	if v, ok := s.kw["format"]; ok && v != "keyring" && v != "data" {
		return fmt.Errorf("format: want keyring or data, got %q", v)
	}
	if v, ok := s.kw["uid"]; ok && s.name == "proc-key-users" {
		if err := checkParam(param{name: "uid", kind: pInt}, v, bound); err != nil {
			return err
		}
	}
	return nil
}

// trackThreads resolves which thread runs s and follows thread creation and
// exit.
func trackThreads(s *step, threads map[string]*staticThread, lastSpawn *string) error {
	if s.verb.world {
		if s.name == "spawn" {
			name := s.args[0]
			if _, ok := threads[name]; ok {
				return fmt.Errorf("thread name %q is already used in this file", name)
			}
			p := &staticProc{}
			t := &staticThread{proc: p, alive: true}
			p.threads = append(p.threads, t)
			threads[name] = t
			*lastSpawn = name
		}
		return nil
	}
	if s.as == "" {
		if *lastSpawn == "" {
			return fmt.Errorf("no process to run on: spawn one first")
		}
		s.as = *lastSpawn
	}
	t, ok := threads[s.as]
	if !ok {
		return fmt.Errorf("as=%s: no such thread (spawn, fork or clone creates one)", s.as)
	}
	if !t.alive {
		return fmt.Errorf("as=%s: that thread has exited", s.as)
	}
	switch s.name {
	case "clone", "fork":
		name := s.args[0]
		if _, ok := threads[name]; ok {
			return fmt.Errorf("thread name %q is already used in this file", name)
		}
		p := t.proc
		if s.name == "fork" {
			p = &staticProc{}
		}
		nt := &staticThread{proc: p, alive: true}
		p.threads = append(p.threads, nt)
		threads[name] = nt
	case "exec", "unshare-user":
		for _, o := range t.proc.threads {
			o.alive = o == t
		}
	case "exit":
		if len(s.args) == 1 {
			t.alive = false
		} else {
			for _, o := range t.proc.threads {
				o.alive = false
			}
		}
	}
	return nil
}

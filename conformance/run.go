package conformance

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/keyemu/keyemu/emu"
)

//go:embed testdata
var corpus embed.FS

// Run runs every scenario of the package's corpus against b, each in a fresh
// world and in parallel with the others, and reports every command whose
// output differs from the expected output written by the kernel, with the
// scenario file and line. A scenario file that is malformed fails with its
// file and line; a backend that breaks fails the scenario at the command it
// was running; a backend that answers errors.ErrUnsupported skips the
// scenario.
func Run(t *testing.T, b Backend) {
	t.Helper()
	runCorpus(testingReporter{t}, b, corpus, "", false)
}

// RunDir is Run over the scenario files (*.txt, recursively) under dir.
func RunDir(t *testing.T, b Backend, dir string) {
	t.Helper()
	runCorpus(testingReporter{t}, b, os.DirFS(dir), dir, false)
}

// Update runs the scenario files under dir against b and rewrites their
// expected outputs with what b printed. Only the kernel's outputs are
// expected outputs: call it with the kernel backend.
func Update(t *testing.T, b Backend, dir string) {
	t.Helper()
	runCorpus(testingReporter{t}, b, os.DirFS(dir), dir, true)
}

// reporter is what the runner needs of a *testing.T. The suite's own tests
// put a recorder in its place to check that the suite fails against broken
// emulators (mutants_test.go).
type reporter interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Parallel()
	// run runs f as a subtest named name, as testing.T.Run does.
	run(name string, f func(t reporter)) bool
}

// testingReporter is a *testing.T as a reporter.
type testingReporter struct{ *testing.T }

func (r testingReporter) run(name string, f func(t reporter)) bool {
	return r.T.Run(name, func(t *testing.T) { f(testingReporter{t}) })
}

func runCorpus(t reporter, b Backend, fsys fs.FS, dir string, update bool) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".txt") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("listing scenarios: %v", err)
	}
	if len(files) == 0 {
		t.Fatalf("no scenario files (*.txt) found")
	}
	sort.Strings(files)
	for _, p := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "testdata/"), ".txt")
		display := p
		if dir != "" {
			display = filepath.Join(dir, filepath.FromSlash(p))
		}
		t.run(name, func(t reporter) {
			t.Parallel()
			data, err := fs.ReadFile(fsys, p)
			if err != nil {
				t.Fatalf("%v", err)
			}
			sc, err := parseScenario(display, data)
			if err != nil {
				t.Fatalf("%v", err)
			}
			outs, ok := runScenario(t, b, sc)
			if !ok {
				return
			}
			if update {
				writeGoldens(t, sc, outs, display)
				return
			}
			for i, s := range sc.steps {
				if want, got := s.d.expected, withNewline(outs[i]); want != got {
					t.Errorf("%s: %s\n  want: %s\n   got: %s", s.d.pos, s.d.line1(), indent(want), indent(got))
				}
			}
		})
	}
}

func withNewline(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}

func indent(s string) string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return "(nothing)"
	}
	return strings.ReplaceAll(s, "\n", "\n        ")
}

// line1 is the directive as written, for messages.
func (d *directive) line1() string {
	var b strings.Builder
	b.WriteString(d.cmd)
	for _, a := range d.args {
		b.WriteString(" " + a.String())
	}
	return b.String()
}

func writeGoldens(t reporter, sc *scenario, outs []string, display string) {
	changed := 0
	for i, s := range sc.steps {
		if s.d.expected != withNewline(outs[i]) {
			changed++
		}
	}
	if changed == 0 {
		return
	}
	data := sc.file.rewrite(outs)
	check, err := parseDataFile(display, data)
	if err != nil || len(check.directives) != len(outs) {
		t.Fatalf("rewriting %s produced an unreadable file: %v", display, err)
	}
	for i := range check.directives {
		if check.directives[i].expected != withNewline(outs[i]) {
			t.Fatalf("rewriting %s: output of %s does not read back", display, check.directives[i].pos)
		}
	}
	if err := os.WriteFile(display, data, 0o644); err != nil {
		t.Fatalf("%v", err)
	}
	t.Logf("%s: rewrote the expected output of %d commands", display, changed)
}

// execState is a scenario being run.
type execState struct {
	world   World
	labels  *labels
	threads map[string]*threadState
}

type threadState struct {
	t     Thread
	proc  *procState
	alive bool
}

type procState struct {
	euid    uint32
	threads []*threadState
}

// errNoThread is the output of a command whose thread was never created on
// this backend because the command creating it failed.
type errNoThread string

func (e errNoThread) Error() string { return "thread " + string(e) + " does not exist" }

// runScenario runs sc in a fresh world and returns the output of every
// step. ok is false if the scenario was cut short (failure or skip, already
// reported).
func runScenario(t reporter, b Backend, sc *scenario) (outs []string, ok bool) {
	var w World
	var err error
	if sc.config == (WorldConfig{}) {
		w, err = b.NewWorld()
	} else if cb, ok := b.(ConfigurableBackend); ok {
		w, err = cb.NewWorldConfig(sc.config)
	} else {
		err = fmt.Errorf("world settings %+v: %w", sc.config, errors.ErrUnsupported)
	}
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			t.Skipf("%s: %s backend: %v", sc.file.name, b.Name(), err)
		}
		t.Fatalf("%s: %s backend: new world: %v", sc.file.name, b.Name(), err)
	}
	defer func() {
		if err := w.Close(); err != nil {
			t.Errorf("%s: %s backend: closing the world: %v", sc.file.name, b.Name(), err)
		}
	}()
	x := &execState{world: w, labels: newLabels(), threads: map[string]*threadState{}}
	for _, s := range sc.steps {
		out, err := x.output(s)
		switch {
		case err == nil:
		case errors.Is(err, errors.ErrUnsupported):
			t.Skipf("%s: %s: %s backend cannot do this: %v", s.d.pos, s.d.line1(), b.Name(), err)
		default:
			t.Errorf("%s: %s: %s backend failed: %v", s.d.pos, s.d.line1(), b.Name(), err)
			return outs, false
		}
		outs = append(outs, out)
	}
	return outs, true
}

// output runs s and returns what it prints: its result, or the name of the
// errno it failed with. An error means the backend failed or cannot do
// what s asks (errors.ErrUnsupported).
func (x *execState) output(s *step) (string, error) {
	out, err := x.step(s)
	var unbound errUnbound
	var nothread errNoThread
	switch {
	case err == nil:
	case errors.As(err, &unbound), errors.As(err, &nothread):
		out = err.Error()
	default:
		if _, isErrno := emu.ErrnoOf(err); !isErrno {
			return "", err
		}
		out = emu.ErrnoName(err)
	}
	return out, nil
}

func (x *execState) step(s *step) (string, error) {
	s.thread, s.ts = nil, nil
	if !s.verb.world {
		ts, ok := x.threads[s.as]
		if !ok {
			return "", errNoThread(s.as)
		}
		if !ts.alive {
			return "", fmt.Errorf("thread %s has exited", s.as)
		}
		s.thread, s.ts = ts.t, ts
	}
	return s.verb.run(x, s)
}

func (x *execState) newThread(name string, t Thread, p *procState) {
	ts := &threadState{t: t, proc: p, alive: true}
	p.threads = append(p.threads, ts)
	x.threads[name] = ts
}

func runSpawn(x *execState, s *step) (string, error) {
	uid, _ := parseInt(s.kw["uid"])
	gid, _ := parseInt(s.kw["gid"])
	t, err := x.world.Spawn(Creds{UID: uint32(uid), GID: uint32(gid), Groups: s.groups})
	if err != nil {
		return "", err
	}
	x.newThread(s.args[0], t, &procState{euid: uint32(uid)})
	return "", nil
}

func runClone(x *execState, s *step) (string, error) {
	t, err := s.thread.Clone()
	if err != nil {
		return "", err
	}
	x.newThread(s.args[0], t, s.ts.proc)
	return "", nil
}

func runFork(x *execState, s *step) (string, error) {
	t, err := s.thread.Fork()
	if err != nil {
		return "", err
	}
	x.newThread(s.args[0], t, &procState{euid: s.ts.proc.euid})
	return "", nil
}

func runExec(x *execState, s *step) (string, error) {
	if err := s.thread.Exec(); err != nil {
		return "", err
	}
	for _, o := range s.ts.proc.threads {
		o.alive = o == s.ts
	}
	return "", nil
}

func runExit(x *execState, s *step) (string, error) {
	if len(s.args) == 1 {
		if err := s.thread.Exit(); err != nil {
			return "", err
		}
		s.ts.alive = false
		return "", nil
	}
	if err := s.thread.ExitGroup(); err != nil {
		return "", err
	}
	for _, o := range s.ts.proc.threads {
		o.alive = false
	}
	return "", nil
}

func (x *execState) ids(s *step) ([]int, error) {
	var out []int
	for _, tok := range s.args {
		n, err := x.num(tok)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func runSetresuid(x *execState, s *step) (string, error) {
	n, err := x.ids(s)
	if err != nil {
		return "", err
	}
	if err := s.thread.Setresuid(n[0], n[1], n[2]); err != nil {
		return "", err
	}
	if n[1] != -1 {
		s.ts.proc.euid = uint32(n[1])
	}
	return "0", nil
}

func runSetresgid(x *execState, s *step) (string, error) {
	n, err := x.ids(s)
	if err != nil {
		return "", err
	}
	if err := s.thread.Setresgid(n[0], n[1], n[2]); err != nil {
		return "", err
	}
	return "0", nil
}

func runSetgroups(x *execState, s *step) (string, error) {
	n, err := x.ids(s)
	if err != nil {
		return "", err
	}
	gids := make([]uint32, len(n))
	for i, g := range n {
		gids[i] = uint32(g)
	}
	if err := s.thread.Setgroups(gids); err != nil {
		return "", err
	}
	return "0", nil
}

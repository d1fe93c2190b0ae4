package conformance

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/keyemu/keyemu/emu"
	"github.com/keyemu/keyemu/model"
)

// The suite tests itself, as testing/fstest's tests do: run against
// emulators broken on purpose (model.Mutation), it must fail on each.

// recorder is a reporter that records failures instead of failing the
// test. Subtests run one after another, each on its own goroutine so that
// Fatalf and Skipf can end it as testing.T's do.
type recorder struct {
	name string
	log  *failureLog
	fail bool
}

// failureLog collects the failures of a recorder and its subtests.
type failureLog struct {
	mu       sync.Mutex
	failures map[string][]string // by subtest name
}

func newRecorder() *recorder {
	return &recorder{log: &failureLog{failures: map[string][]string{}}}
}

func (r *recorder) Helper()                           {}
func (r *recorder) Logf(format string, args ...any)   {}
func (r *recorder) Parallel()                         {}
func (r *recorder) Errorf(format string, args ...any) { r.record(format, args...) }

func (r *recorder) Fatalf(format string, args ...any) {
	r.record(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) { runtime.Goexit() }

func (r *recorder) record(format string, args ...any) {
	r.fail = true
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	r.log.failures[r.name] = append(r.log.failures[r.name], fmt.Sprintf(format, args...))
}

func (r *recorder) run(name string, f func(t reporter)) bool {
	sub := &recorder{name: strings.TrimPrefix(r.name+"/"+name, "/"), log: r.log}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(sub)
	}()
	<-done
	if sub.fail {
		r.fail = true
	}
	return !sub.fail
}

// failedScenarios runs the embedded corpus, as Run does, against b and
// returns the failures by scenario.
func failedScenarios(b Backend) map[string][]string {
	rec := newRecorder()
	rec.run("", func(t reporter) { runCorpus(t, b, corpus, "", false) })
	return rec.log.failures
}

// TestSuiteCatchesMutants runs the scenarios against an emulator with each
// deliberately wrong behaviour of model.Mutation and requires at least one
// scenario that passes against the correct emulator to fail against it.
func TestSuiteCatchesMutants(t *testing.T) {
	baseline := failedScenarios(Emulator(emu.Config{}))
	for m := model.Mutation(1); m&model.AllMutations != 0; m <<= 1 {
		t.Run(m.String(), func(t *testing.T) {
			t.Parallel()
			failed := failedScenarios(Emulator(emu.Config{Mutations: m}))
			var caught []string
			for name := range failed {
				if _, failsAnyway := baseline[name]; !failsAnyway && name != "" {
					caught = append(caught, name)
				}
			}
			if len(caught) == 0 {
				t.Errorf("every scenario passes against an emulator with mutation %v: none checks the rule it breaks (see model.Mutation)", m)
				return
			}
			sort.Strings(caught)
			t.Logf("caught by %d scenarios: %s\n  first: %s", len(caught), strings.Join(caught, ", "), failed[caught[0]][0])
		})
	}
}

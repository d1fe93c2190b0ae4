// Command perfreport turns the output of `go test -bench` on package emu
// (the side-by-side suite in emu/bench_test.go) into emu/perf/report.md
// and its charts: the median of every metric over the -count runs, the
// emulator's figures beside the kernel's, and the targets of the
// performance issue, each marked met or missed. `make bench` runs it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	in := flag.String("in", "emu/perf/bench.txt", "go test -bench output")
	out := flag.String("out", "emu/perf", "directory for report.md and the charts")
	flag.Parse()
	f, err := os.Open(*in)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	res, err := parse(f)
	if err != nil {
		log.Fatal(err)
	}
	r := &report{res: res, env: environment(res)}
	if err := os.WriteFile(filepath.Join(*out, "report.md"), []byte(r.markdown()), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := opsChart(r, filepath.Join(*out, "ops.png")); err != nil {
		log.Fatal(err)
	}
	if err := sizeChart(r, filepath.Join(*out, "search-size.png")); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", filepath.Join(*out, "report.md"))
}

// results maps a benchmark's name (without the -GOMAXPROCS suffix) to its
// metrics ("ns/op", "allocs/op", ...), one value per run.
type results struct {
	runs  map[string]map[string][]float64
	order []string
	// header holds the goos, goarch, cpu lines of the output.
	header map[string]string
	// procs counts the test processes whose output was read (their
	// headers); proc maps a benchmark's name to the process of each of
	// its ns/op runs, counted from 0.
	procs int
	proc  map[string][]int
}

// parse reads the standard benchmark format: "BenchmarkName-P N v unit
// [v unit]...".
func parse(r io.Reader) (*results, error) {
	res := &results{runs: map[string]map[string][]float64{}, header: map[string]string{}, proc: map[string][]int{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, "Benchmark") {
			res.header[k] = v
			if k == "goos" {
				res.procs++
			}
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(fields[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		m := res.runs[name]
		if m == nil {
			m = map[string][]float64{}
			res.runs[name] = m
			res.order = append(res.order, name)
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%q: %v", line, err)
			}
			m[fields[i+1]] = append(m[fields[i+1]], v)
			if fields[i+1] == "ns/op" {
				res.proc[name] = append(res.proc[name], max(res.procs-1, 0))
			}
		}
	}
	return res, sc.Err()
}

// median returns the median of name's unit over its runs, and false when
// the benchmark did not run (skipped).
func (r *results) median(name, unit string) (float64, bool) {
	vs := r.runs[name][unit]
	if len(vs) == 0 {
		return 0, false
	}
	return medianOf(vs), true
}

// medianOf returns the median of vs, which is not empty.
func medianOf(vs []float64) float64 {
	vs = slices.Clone(vs)
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2]
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
}

// ratioRange returns the lowest and the highest, over the processes that
// ran both, of kernel's median ns/op over emu's in the same process (the
// emulator's calls/s over the kernel's), and false when none ran both.
func (r *results) ratioRange(emu, kernel string) (lo, hi float64, ok bool) {
	em, km := r.processMedians(emu), r.processMedians(kernel)
	for p, e := range em {
		k, both := km[p]
		if !both {
			continue
		}
		v := k / e
		if !ok || v < lo {
			lo = v
		}
		if !ok || v > hi {
			hi = v
		}
		ok = true
	}
	return lo, hi, ok
}

// processMedians returns the median ns/op of name in each process that ran
// it.
func (r *results) processMedians(name string) map[int]float64 {
	by := map[int][]float64{}
	for i, v := range r.runs[name]["ns/op"] {
		p := r.proc[name][i]
		by[p] = append(by[p], v)
	}
	m := make(map[int]float64, len(by))
	for p, vs := range by {
		m[p] = medianOf(vs)
	}
	return m
}

// count returns how many runs name has.
func (r *results) count(name string) int { return len(r.runs[name]["ns/op"]) }

type report struct {
	res *results
	env []string
}

// environment describes the machine: date, CPU model, kernel, Go.
func environment(res *results) []string {
	cpu := res.header["cpu"]
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "none (" + runtime.GOOS + ")"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = "Linux " + strings.TrimSpace(string(b))
	}
	// make bench writes the time the runs ended as a "date:" line;
	// without one, the report is dated now.
	date := res.header["date"]
	if date == "" {
		date = time.Now().UTC().Format("2006-01-02 15:04 MST")
	}
	return []string{
		"date: " + date,
		fmt.Sprintf("CPU: %s, %d logical CPUs", cpu, runtime.NumCPU()),
		"kernel: " + kernel,
		"Go: " + runtime.Version() + " " + res.header["goos"] + "/" + res.header["goarch"],
	}
}

// opNames returns the operations of BenchmarkOps in the order they ran.
func (r *report) opNames() []string {
	var ops []string
	for _, n := range r.res.order {
		if op, ok := strings.CutPrefix(n, "Ops/emu/"); ok {
			ops = append(ops, op)
		}
	}
	return ops
}

// Targets of the performance issue.
const (
	targetRatio    = 20.0  // every operation at least 20x the kernel's calls/s
	targetSize     = 3.0   // 1,000,000 keys within 3x of 1,000
	targetBytes    = 300.0 // heap bytes per small key at 1,000,000 keys
	targetBuildSec = 2.0   // a 1,000,000-entry keyring built in under 2 s
)

func mark(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func num(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# keyemu performance: the emulator beside the kernel\n\n")
	w("Generated by `make bench` (emu/internal/perfreport from emu/perf/bench.txt); medians of %d runs in %d processes.\n\n", r.res.count("Ops/emu/read"), r.res.procs)
	for _, e := range r.env {
		w("- %s\n", e)
	}
	w("\nBoth columns come from the same test processes and the same keyring shapes (emu/bench_test.go). ")
	w("Each process runs every benchmark on both sides in turn; a figure keeps one level for all of a process's runs and can differ by half between processes, on both sides, hence several processes. ")
	w("The kernel is called through golang.org/x/sys/unix from a goroutine locked to its thread, in a fresh anonymous session keyring; its allocs/op are x/sys's string conversions.\n\n")

	w("## Operations\n\n")
	w("| operation | emulator ns/op | kernel ns/op | emulator allocs/op | kernel allocs/op | time emulator/kernel | calls/s emulator/kernel | in each process | target ≥%.0fx |\n", targetRatio)
	w("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, op := range r.opNames() {
		en, _ := r.res.median("Ops/emu/"+op, "ns/op")
		ea, _ := r.res.median("Ops/emu/"+op, "allocs/op")
		kn, kok := r.res.median("Ops/kernel/"+op, "ns/op")
		ka, _ := r.res.median("Ops/kernel/"+op, "allocs/op")
		if !kok {
			w("| %s | %s | skipped | %s | | | | | |\n", op, num(en), num(ea))
			continue
		}
		speed := kn / en
		w("| %s | %s | %s | %s | %s | %.3f | %.1fx | %s | %s |\n", op, num(en), num(kn), num(ea), num(ka), en/kn, speed, r.spread("Ops/emu/"+op, "Ops/kernel/"+op), mark(speed >= targetRatio))
	}

	w("\n## Lookups that do not repeat\n\n")
	w("A thread keeps its last answers of KEYCTL_SEARCH and request_key without a destination, KEYCTL_READ and KEYCTL_DESCRIBE, and gives one again while no write has happened since; the operations above ask the same thing on every call. ")
	w("Here the same lookups ask about %d keys in turn, more than a thread keeps answers for, so that every call does the whole lookup, as it does the first time it is asked after a write (BenchmarkVaried).\n\n", variedKeys)
	w("| operation | emulator ns/op | kernel ns/op | calls/s emulator/kernel | in each process |\n|---|---:|---:|---:|---:|\n")
	for _, n := range r.res.order {
		op, ok := strings.CutPrefix(n, "Varied/emu/")
		if !ok {
			continue
		}
		en, _ := r.res.median(n, "ns/op")
		if kn, kok := r.res.median("Varied/kernel/"+op, "ns/op"); kok {
			w("| %s | %s | %s | %.1fx | %s |\n", op, num(en), num(kn), kn/en, r.spread(n, "Varied/kernel/"+op))
		} else {
			w("| %s | %s | skipped | | |\n", op, num(en))
		}
	}

	w("\n## Search time against keyring size\n\n")
	w("KEYCTL_SEARCH for keys in the middle of a keyring of n user keys, %d in turn, so that every call searches the index. ", variedKeys)
	w("The kernel side stops at 10,000 keys: root's quota is the machine's, and a keyring of more than 16,383 links wraps the kernel's 16-bit key->datalen, so its link charges are never fully refunded (a 100,000-key keyring leaks 393,216 bytes of root's byte quota until reboot).\n\n")
	w("| n | emulator ns/op | kernel ns/op |\n|---:|---:|---:|\n")
	for _, n := range sizes {
		en, eok := r.res.median(fmt.Sprintf("SearchSize/emu/n=%d", n), "ns/op")
		kn, kok := r.res.median(fmt.Sprintf("SearchSize/kernel/n=%d", n), "ns/op")
		w("| %d | %s | %s |\n", n, opt(en, eok), opt(kn, kok))
	}

	w("\n## Scale targets\n\n| target | measured | |\n|---|---|---|\n")
	s3, ok3 := r.res.median("SearchSize/emu/n=1000", "ns/op")
	s6, ok6 := r.res.median("SearchSize/emu/n=1000000", "ns/op")
	if ok3 && ok6 {
		w("| search, 1,000,000 keys within %.0fx of 1,000 | %s ns against %s ns: %.2fx | %s |\n", targetSize, num(s6), num(s3), s6/s3, mark(s6/s3 <= targetSize))
	}
	a3, ok3 := r.res.median("AddKeyAtSize/emu/n=1000", "ns/op")
	a6, ok6 := r.res.median("AddKeyAtSize/emu/n=1000000", "ns/op")
	if ok3 && ok6 {
		w("| add_key of the millionth key within %.0fx of the thousandth | %s ns against %s ns: %.2fx | %s |\n", targetSize, num(a6), num(a3), a6/a3, mark(a6/a3 <= targetSize))
	}
	if bpk, ok := r.res.median("Keyring1M", "heap-B/key"); ok {
		w("| ≤%.0f bytes of Go heap per small user key at 1,000,000 keys | %.0f B/key | %s |\n", targetBytes, bpk, mark(bpk <= targetBytes))
	}
	if ns, ok := r.res.median("Keyring1M", "ns/op"); ok {
		w("| a 1,000,000-entry keyring built in under %.0f s | %.2f s | %s |\n", targetBuildSec, ns/1e9, mark(ns/1e9 < targetBuildSec))
	}
	for _, z := range []string{"describe", "get_keyring_id/session", "search/depth0"} {
		if a, ok := r.res.median("Ops/emu/"+z, "allocs/op"); ok {
			w("| zero allocations per call: %s | %s allocs/op | %s |\n", z, num(a), mark(a == 0))
		}
	}

	w("\n## Concurrency\n\n")
	w("Lookups (a search hit and a describe in turn, of %d keys, so that every call does the whole lookup) from concurrent threads, each its own process: ns/op is wall time per call over all threads, so perfect scaling halves it from 1 thread (GOMAXPROCS 1) to 2 (GOMAXPROCS 2).\n\n", variedKeys)
	w("| side | 1 thread ns/op | 2 threads ns/op | speed-up |\n|---|---:|---:|---:|\n")
	for _, side := range []string{"emu", "kernel"} {
		one, ok1 := r.res.median("Parallel/"+side+"/threads=1", "ns/op")
		two, ok2 := r.res.median("Parallel/"+side+"/threads=2", "ns/op")
		if ok1 && ok2 {
			w("| %s | %s | %s | %.2fx |\n", side, num(one), num(two), one/two)
		}
	}
	w("\nSystem.mu is a reader/writer lock made of shards, a mutex each, one per CPU up to 16 (a reader takes its thread's, a writer all of them). Lookups that change nothing (DESCRIBE, READ, GET_SECURITY, GET_KEYRING_ID, SEARCH without a destination, ")
	w("when resolving the ID creates and installs nothing, and request_key without a destination that finds its key or has no callout) hold only their thread's shard: they take no key references and the possession caches are per thread. ")
	w("Every other call holds it for writing. The design and the lock order are in the emu package documentation.\n")
	w("\n![ns/op per operation](ops.png)\n\n![search time against keyring size](search-size.png)\n")
	return b.String()
}

var sizes = []int{100, 1000, 10000, 100000, 1000000}

// variedKeys is emu/bench_test.go's varied: how many keys the benchmarks
// of lookups that do not repeat ask about in turn.
const variedKeys = 8

// spread is the range of the emulator's calls/s over the kernel's in the
// processes that ran both benchmarks, lowest to highest.
func (r *report) spread(emu, kernel string) string {
	lo, hi, ok := r.res.ratioRange(emu, kernel)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%.1f to %.1fx", lo, hi)
}

func opt(v float64, ok bool) string {
	if !ok {
		return "—"
	}
	return num(v)
}

// log10 is math.Log10, kept for the charts' axes.
func log10(v float64) float64 { return math.Log10(v) }

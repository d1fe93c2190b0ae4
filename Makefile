# keyemu — developer entry points. `make demo` and `make test` are the two
# commands the README promises; CI runs `make test vet cross`.

GO       ?= go
PKGS     := ./...
# Everything but the Linux host backend builds on macOS and Windows.
CROSS_OS := darwin windows

.PHONY: demo test vet race cross conformance diff bench fuzz clean

demo:
	$(GO) run ./emu/cmd/keyemu tour

# test runs every test, then every benchmark ten times on both sides, so
# that a benchmark that no longer runs (a call that fails, a setup that
# breaks) fails the build; the figures are make bench's.
test:
	$(GO) test -count=1 -timeout 20m $(PKGS)
	$(GO) test -count=1 -timeout 10m -run '^$$' -bench . -benchtime 10x ./emu

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)

race:
	$(GO) test -race -count=1 $(PKGS)

cross:
	@for os in $(CROSS_OS); do \
		echo "GOOS=$$os go build && go vet"; \
		GOOS=$$os $(GO) build $(PKGS) || exit 1; \
		GOOS=$$os $(GO) vet $(PKGS) || exit 1; \
	done

conformance:
	$(GO) test -count=1 ./conformance/...

# Differential testing against the running kernel (root): DIFF_SEQUENCES
# random sequences, DIFF_PARALLEL at a time, each compared step by step with
# the emulator. A failure prints the sequence as a scenario file.
DIFF_SEQUENCES ?= 10000
DIFF_PARALLEL  ?= 16
diff:
	KEYEMU_KERNEL=require $(GO) test -count=1 -timeout 0 -run '^TestDifferential$$' ./conformance \
		-diff.sequences=$(DIFF_SEQUENCES) -diff.parallel=$(DIFF_PARALLEL)

# Each fuzz target runs for a fixed number of executions (1,000,000 in
# all); minimising new inputs is bounded too, or a worker can sit for
# seconds on one long input.
FUZZ_MIN := 100x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzSyscall$$' -fuzztime 600000x -fuzzminimizetime $(FUZZ_MIN) ./emu
	$(GO) test -run '^$$' -fuzz '^FuzzParseScenario$$' -fuzztime 200000x -fuzzminimizetime $(FUZZ_MIN) ./conformance
	$(GO) test -run '^$$' -fuzz '^FuzzUnmarshalSnapshot$$' -fuzztime 150000x -fuzzminimizetime $(FUZZ_MIN) ./model
	$(GO) test -run '^$$' -fuzz '^FuzzSnapshotFields$$' -fuzztime 50000x -fuzzminimizetime $(FUZZ_MIN) ./model

# bench runs the performance suite, emulator and kernel side by side in one
# test binary, BENCHCOUNT times in each of BENCHPROCS processes, and writes
# emu/perf/report.md and its charts from the medians
# (emu/internal/perfreport). Runs are spread over processes because a
# figure keeps one level for all of a process's runs and can differ by half
# between processes.
BENCHPROCS ?= 6
BENCHCOUNT ?= 1
BENCHTIME  ?= 500ms
bench:
	@set -e; dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; trap 'exit 1' INT TERM; \
	$(GO) test -c -o "$$dir/emu.test" ./emu; \
	: > emu/perf/bench.txt; \
	i=0; while [ $$i -lt $(BENCHPROCS) ]; do i=$$((i + 1)); \
		(cd emu && "$$dir/emu.test" -test.run '^$$' -test.bench '^Benchmark(Ops|Varied|SearchSize|AddKeyAtSize|Keyring1M|Parallel)$$' \
			-test.benchmem -test.count $(BENCHCOUNT) -test.benchtime $(BENCHTIME) -test.timeout 60m) >> emu/perf/bench.txt \
			|| { cat emu/perf/bench.txt; exit 1; }; \
	done; \
	echo "date: $$(date -u '+%Y-%m-%d %H:%M UTC')" >> emu/perf/bench.txt
	$(GO) run ./emu/internal/perfreport -in emu/perf/bench.txt -out emu/perf
	@cat emu/perf/report.md

clean:
	$(GO) clean -testcache

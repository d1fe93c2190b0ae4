package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// The scenario reader must read every file exactly as datadriven does.
func TestDataFileMatchesDatadriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parseDataFile(path, data)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			if i >= len(f.directives) {
				t.Fatalf("%s: datadriven sees more directives than parseDataFile (%d)", td.Pos, len(f.directives))
			}
			d := f.directives[i]
			i++
			if d.pos != td.Pos || d.cmd != td.Cmd || d.input != td.Input || d.expected != td.Expected {
				t.Errorf("%s: parseDataFile read %q %q %q %q, datadriven %q %q %q %q",
					td.Pos, d.pos, d.cmd, d.input, d.expected, td.Pos, td.Cmd, td.Input, td.Expected)
			}
			return td.Expected
		})
		if i != len(f.directives) {
			t.Errorf("%s: datadriven saw %d directives, parseDataFile %d", path, i, len(f.directives))
		}
	})
}

// Rewriting with the expected outputs reproduces each file byte for byte.
func TestRewriteIsIdentity(t *testing.T) {
	err := filepath.WalkDir("testdata", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".txt") {
			// Scenarios are the *.txt files, as runCorpus reads them;
			// rapid and the fuzzer keep their own files under testdata.
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parseDataFile(path, data)
		if err != nil {
			return err
		}
		outs := make([]string, len(f.directives))
		for i, d := range f.directives {
			outs[i] = d.expected
		}
		if got := string(f.rewrite(outs)); got != string(data) {
			t.Errorf("%s: rewrite with unchanged outputs differs:\n%s", path, got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRewrite(t *testing.T) {
	in := "# R1.1 header\ncmd a\n----\nold\n\n# between\nother\n----\n----\nx\n\ny\n----\n----\n\nlast\n"
	f, err := parseDataFile("f.txt", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	got := string(f.rewrite([]string{"new\ntwo", "", "a\n\nb"}))
	want := "# R1.1 header\ncmd a\n----\nnew\ntwo\n\n# between\nother\n----\n\nlast\n----\n----\na\n\nb\n----\n----\n"
	if got != want {
		t.Errorf("rewrite = %q, want %q", got, want)
	}
}

func TestParseScenarioErrors(t *testing.T) {
	const head = "# R2.5a test\n"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"no header", "spawn p uid=1 gid=1\n----\n", "f.txt:1: want # comment lines"},
		{"no rule ID", "# just words\nspawn p uid=1 gid=1\n----\n", "cites no SEMANTICS.md rule ID"},
		{"unknown verb", head + "frobnicate\n----\n", "f.txt:2: frobnicate: unknown command"},
		{"no process", head + "get-keyring-id @u 0\n----\n", "f.txt:2: get-keyring-id: no process to run on"},
		{"missing uid", head + "spawn p gid=1\n----\n", "want uid=NUMBER"},
		{"too few", head + "spawn p uid=1 gid=1\n----\n\nget-keyring-id @u\n----\n", "f.txt:5: get-keyring-id: want 2 arguments, got 1"},
		{"bad id", head + "spawn p uid=1 gid=1\n----\n\ndescribe @x\n----\n", "f.txt:5: describe: ID: want a key ID"},
		{"unbound", head + "spawn p uid=1 gid=1\n----\n\ndescribe $k\n----\n", "$k is not bound"},
		{"rebind", head + "spawn p uid=1 gid=1\n----\n\nget-keyring-id @u 0 bind=u\n----\n\nget-keyring-id @us 0 bind=u\n----\n", "f.txt:8: get-keyring-id: bind: $u is already bound"},
		{"bind on non-serial", head + "spawn p uid=1 gid=1\n----\n\nrevoke @u bind=x\n----\n", "unexpected argument bind=x"},
		{"unknown thread", head + "spawn p uid=1 gid=1\n----\n\nrevoke @u as=q\n----\n", "as=q: no such thread"},
		{"exited thread", head + "spawn p uid=1 gid=1\n----\n\nexit\n----\n\nrevoke @u\n----\n", "f.txt:8: revoke: as=p: that thread has exited"},
		{"exec kills siblings", head + "spawn p uid=1 gid=1\n----\n\nclone t\n----\n\nexec\n----\n\nrevoke @u as=t\n----\n", "as=t: that thread has exited"},
		{"duplicate thread", head + "spawn p uid=1 gid=1\n----\n\nfork p\n----\n", "thread name \"p\" is already used"},
		{"input", head + "spawn p uid=1 gid=1\nextra\n----\n", "commands take no input"},
		{"as on world verb", head + "spawn p uid=1 gid=1\n----\n\nsettle as=p\n----\n", "unexpected argument as=p"},
		{"bad errno", head + "spawn p uid=1 gid=1\n----\n\nreject @u 1 ENOTANERRNO @s\n----\n", "ERROR: want an errno name"},
		{"bad format", head + "spawn p uid=1 gid=1\n----\n\nread @u format=hex\n----\n", "format: want keyring or data"},
		{"unclosed double", head + "spawn p uid=1 gid=1\n----\n----\nx\n", "f.txt:2: expected output opened with ---- ---- is not closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseScenario("f.txt", []byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseScenario(%q) = %v, want an error containing %q", tc.in, err, tc.want)
			}
		})
	}
}

// Every scenario file in the corpus parses.
func TestCorpusParses(t *testing.T) {
	err := filepath.WalkDir("testdata", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".txt") {
			// Scenarios are the *.txt files, as runCorpus reads them;
			// rapid and the fuzzer keep their own files under testdata.
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if _, err := parseScenario(path, data); err != nil {
			t.Error(err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

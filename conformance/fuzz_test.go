package conformance

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// fuzzPos is how every parse error must begin: the file name and a line.
var fuzzPos = regexp.MustCompile(`^fuzz\.txt:[1-9][0-9]*: `)

// FuzzParseScenario feeds arbitrary bytes to the scenario reader: a
// malformed file must give an error that starts with file:line, never a
// panic, and a file that parses must rewrite to itself when its expected
// outputs are kept.
func FuzzParseScenario(f *testing.F) {
	err := fs.WalkDir(corpus, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".txt") {
			return err
		}
		data, err := fs.ReadFile(corpus, p)
		if err == nil {
			f.Add(data)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"",
		"# R1.1\n",
		"# no rule\nspawn a uid=0 gid=0\n",
		"# R1.1\nspawn a uid=0 gid=0\n----\n----\nx\n",
		"# R1.1\nspawn a uid=0 gid=0 \\",
		"# R1.1\nspawn a uid=(0,\n",
		"# R1.1\nspawn a uid=0 gid=0\nadd-key user x y @s bind=k\nadd-key user x y @s bind=k\n",
		"# R1.1\nread $nope\n",
		"# R1.1\nspawn a uid=99999999999999999999 gid=0\n",
		"# R1.1\nspawn a uid=0 gid=0\nexit\nread @s\n",
		"# R1.1\nrequest-key-conf\ncreate user * * |/bin/false\n----\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := parseScenario("fuzz.txt", data)
		if err != nil {
			if !fuzzPos.MatchString(err.Error()) {
				t.Fatalf("parseScenario error without file:line: %q", err)
			}
			return
		}
		outs := make([]string, len(sc.file.directives))
		for i, d := range sc.file.directives {
			outs[i] = d.expected
		}
		again, err := parseDataFile("fuzz.txt", sc.file.rewrite(outs))
		if err != nil {
			t.Fatalf("the rewritten file does not parse: %v", err)
		}
		if len(again.directives) != len(sc.file.directives) {
			t.Fatalf("rewritten file has %d directives, want %d", len(again.directives), len(sc.file.directives))
		}
		for i, d := range again.directives {
			if w := sc.file.directives[i]; d.cmd != w.cmd || d.expected != w.expected {
				t.Fatalf("rewritten directive %d is %q/%q, want %q/%q", i, d.cmd, d.expected, w.cmd, w.expected)
			}
		}
	})
}

// A line longer than bufio.Scanner's buffer is read whole, not dropped
// with the rest of the file.
func TestParseLongLine(t *testing.T) {
	data := "# R1.3\n\nspawn a uid=0 gid=0\n----\n\nadd-key user " + strings.Repeat("d", 2<<20) + " p @s\n----\n"
	sc, err := parseScenario("long.txt", []byte(data))
	if err != nil {
		t.Fatalf("parseScenario = %v", err)
	}
	if len(sc.steps) != 2 {
		t.Fatalf("parseScenario read %d commands, want 2", len(sc.steps))
	}
}

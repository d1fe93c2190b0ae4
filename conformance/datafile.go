package conformance

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/cockroachdb/datadriven"
)

// A scenario file is in github.com/cockroachdb/datadriven's format and is
// read exactly as datadriven.RunTest reads it (datafile_test.go checks that
// on every file in testdata). This reader exists because a conformance run
// needs what RunTest cannot give: every mismatch of a file rather than the
// first, and rewriting the expected outputs from one backend only.

// directive is one command of a scenario file with its expected output.
type directive struct {
	pos      string // "file:line" of the directive's first line
	line     int    // that line, 1-based
	cmd      string
	args     []datadriven.CmdArg
	input    string
	expected string

	// Lines of the file, 0-based and half-open, that hold the "----"
	// separator and the expected block including the blank line that ends
	// it; sepStart == sepEnd when the directive has no separator.
	sepStart, sepEnd int
}

// dataFile is a parsed scenario file.
type dataFile struct {
	name       string
	lines      []string
	directives []directive
}

// readLines splits data as bufio.ScanLines does (a final "\r" dropped from
// each line), without its limit on the length of a line.
func readLines(data []byte) []string {
	var lines []string
	for len(data) > 0 {
		l := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		lines = append(lines, string(bytes.TrimSuffix(l, []byte("\r"))))
	}
	return lines
}

// parseDataFile splits a file into directives. Errors carry "name:line".
func parseDataFile(name string, data []byte) (*dataFile, error) {
	f := &dataFile{name: name, lines: readLines(data)}
	lines := f.lines
	for i := 0; i < len(lines); {
		raw := strings.TrimSpace(lines[i])
		if raw == "" || strings.HasPrefix(raw, "#") {
			i++
			continue
		}
		d := directive{pos: fmt.Sprintf("%s:%d", name, i+1), line: i + 1}
		i++
		for strings.HasSuffix(raw, `\`) && i < len(lines) {
			raw = strings.TrimSuffix(raw, `\`) + " " + strings.TrimSpace(lines[i])
			i++
		}
		cmd, args, err := datadriven.ParseLine(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", d.pos, err)
		}
		d.cmd, d.args = cmd, args
		var input []string
		sep := false
		for i < len(lines) {
			if lines[i] == "----" {
				sep = true
				break
			}
			input = append(input, lines[i])
			i++
		}
		d.input = strings.TrimSpace(strings.Join(input, "\n"))
		d.sepStart, d.sepEnd = i, i
		if sep {
			i++ // the separator
			var exp strings.Builder
			if i < len(lines) && lines[i] == "----" {
				// Double separator: the block may hold blank lines and ends
				// with two "----" lines and the blank line after them.
				i++
				closed := false
				for i < len(lines) {
					if lines[i] == "----" && i+1 < len(lines) && lines[i+1] == "----" {
						i += 2
						if i < len(lines) {
							if lines[i] != "" {
								return nil, fmt.Errorf("%s:%d: non-blank line after end of double ---- separator section", name, i+1)
							}
							i++
						}
						closed = true
						break
					}
					exp.WriteString(lines[i] + "\n")
					i++
				}
				if !closed {
					return nil, fmt.Errorf("%s: expected output opened with ---- ---- is not closed with ---- ----", d.pos)
				}
			} else {
				for i < len(lines) {
					l := lines[i]
					i++
					if strings.TrimSpace(l) == "" {
						break
					}
					exp.WriteString(l + "\n")
				}
			}
			d.expected = exp.String()
			d.sepEnd = i
		}
		f.directives = append(f.directives, d)
	}
	return f, nil
}

// rewrite returns the file with the expected output of directive i replaced
// by outputs[i], formatted as datadriven's -rewrite formats it.
func (f *dataFile) rewrite(outputs []string) []byte {
	var b bytes.Buffer
	next := 0
	for i, d := range f.directives {
		for _, l := range f.lines[next:d.sepStart] {
			b.WriteString(l + "\n")
		}
		out := outputs[i]
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		if hasBlankLine(out) {
			b.WriteString("----\n----\n" + out + "----\n----\n\n")
		} else {
			b.WriteString("----\n" + out + "\n")
		}
		next = d.sepEnd
	}
	for _, l := range f.lines[next:] {
		b.WriteString(l + "\n")
	}
	data := b.Bytes()
	for len(data) > 1 && data[len(data)-1] == '\n' && data[len(data)-2] == '\n' {
		data = data[:len(data)-1]
	}
	return data
}

// hasBlankLine reports whether s has an empty or all-blank line, with
// datadriven's definition (a final line without "\n" does not count).
func hasBlankLine(s string) bool { return blankLineRe.MatchString(s) }

var blankLineRe = regexp.MustCompile(`(?m)^[\t ]*\n`)

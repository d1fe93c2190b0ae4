package conformance

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// A rule of SEMANTICS.md that can be observed through the system calls is
// covered when a scenario file cites it in its header comment. TestCoverage
// lists the rules no scenario cites and fails when one of them is neither
// exempt nor in the shrinking allowlist below.

// coverageExempt are rules no scenario can pin, each with the reason.
// Rules tagged [ND] are exempt without being listed.
var coverageExempt = map[string]string{
	"R0.1":  "defines the default profile, the one every scenario runs in",
	"R0.2":  "[L] legacy profile; the kernel that writes the expected outputs is modern",
	"R0.3":  "history: which kernel commit made the change",
	"R1.1":  "serial values are random: scenarios print labels, never serials (TestDifferential compares serials through a bijection)",
	"R1.23": "dead keys need a key type to be unregistered, which no userspace-only scenario can do",
	"R2.6":  "[L] legacy profile (§2.6)",
	"R2.6a": "[L] legacy profile (§2.6)",
	"R2.6b": "[L] legacy profile (§2.6)",
	"R2.6c": "[L] legacy profile (§2.6)",
	"R2.6d": "[L] legacy profile (§2.6)",
	"R2.7a": "[L] legacy profile",
	"R4.3b": "[S] which of two matches under sibling keyrings wins depends on the sibling order, the kernel's hash order (R1.13)",
	"R5.4e": "request-key cache is compiled out on the reference kernel and has no userspace effect",
	"R8.4":  "a rule about tests: what they must not pin",
	"R8.5":  "advice to emulator writers",
	"R9.6":  "a file mode, outside the system calls a Backend offers",
}

// coverageAllowlist are observable rules no scenario cites yet. The list
// may only shrink: TestCoverage fails when a listed rule is covered, so
// that its entry is deleted with the scenario that covers it.
var coverageAllowlist = map[string]string{}

// semanticsPath finds SEMANTICS.md: shared/ beside the module root (in CI a
// copy of shared/ sits beside the clone).
func semanticsPath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared", "SEMANTICS.md"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// semRule is one rule of SEMANTICS.md.
type semRule struct {
	id   string
	text string // the rule's paragraph
	// legacy is set for rules tagged [L] or under a heading tagged [L].
	legacy bool
	// nd is set for rules tagged exactly [ND] (a partial tag such as
	// "[ND for disappearance]" leaves the rest of the rule observable).
	nd bool
}

var ruleDef = regexp.MustCompile(`^(R\d+\.\d+[a-z]?)\s`)

// parseSemantics returns the rules in document order. A rule starts a
// paragraph with its ID; the paragraph runs to the next blank line or
// heading.
func parseSemantics(data []byte) []*semRule {
	var rules []*semRule
	var cur *semRule
	legacySection := false
	prevBlank := true
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
			legacySection = strings.Contains(line, "[L]")
			cur = nil
			prevBlank = true
			continue
		case strings.TrimSpace(line) == "":
			cur = nil
		default:
			if m := ruleDef.FindStringSubmatch(line); m != nil && prevBlank {
				cur = &semRule{id: m[1], text: line, legacy: legacySection}
				rules = append(rules, cur)
			} else if cur != nil {
				cur.text += "\n" + line
			}
		}
		prevBlank = strings.TrimSpace(line) == ""
	}
	for _, r := range rules {
		r.legacy = r.legacy || strings.Contains(r.text, "[L]")
		r.nd = strings.Contains(r.text, "[ND]")
	}
	return rules
}

// citedRules returns, for every rule ID cited in the header comment of a
// scenario file under fsys, the files citing it.
func citedRules(fsys fs.FS) (map[string][]string, error) {
	cited := map[string][]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".txt") {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		for _, l := range readLines(data) {
			l = strings.TrimSpace(l)
			if !strings.HasPrefix(l, "#") {
				break
			}
			for _, id := range ruleID.FindAllString(l, -1) {
				if n := len(cited[id]); n == 0 || cited[id][n-1] != p {
					cited[id] = append(cited[id], p)
				}
			}
		}
		return nil
	})
	return cited, err
}

// TestCoverage checks that every observable rule of SEMANTICS.md is cited
// by a scenario's header, and lists the rules that are not.
func TestCoverage(t *testing.T) {
	path, err := semanticsPath()
	if err != nil {
		t.Skipf("cannot locate SEMANTICS.md: %v", err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s is absent: the rule book lives in shared/ beside the module root", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	rules := parseSemantics(data)
	if len(rules) < 50 {
		t.Fatalf("%s: found only %d rule IDs; has its layout changed?", path, len(rules))
	}
	cited, err := citedRules(os.DirFS("testdata"))
	if err != nil {
		t.Fatal(err)
	}

	defined := map[string]bool{}
	var uncovered, fixed, missing []string
	exemptND := 0
	for _, r := range rules {
		defined[r.id] = true
		_, exempt := coverageExempt[r.id]
		_, allowed := coverageAllowlist[r.id]
		covered := len(cited[r.id]) > 0
		switch {
		case covered && allowed:
			fixed = append(fixed, r.id)
		case covered:
		case r.nd:
			exemptND++
		case exempt:
		case allowed:
			uncovered = append(uncovered, r.id)
		default:
			missing = append(missing, r.id)
		}
		if exempt && r.nd {
			t.Errorf("%s is tagged [ND] and exempt anyway: delete its coverageExempt entry", r.id)
		}
		if r.legacy && !exempt && !covered {
			t.Errorf("%s is a legacy-profile rule ([L]): give it a coverageExempt entry", r.id)
		}
	}
	for _, m := range []map[string]string{coverageExempt, coverageAllowlist} {
		for id := range m {
			if !defined[id] {
				t.Errorf("%s is listed in coverage_test.go but SEMANTICS.md defines no such rule", id)
			}
		}
	}
	var unknown []string
	for id, files := range cited {
		if !defined[id] && strings.Contains(id, ".") {
			unknown = append(unknown, id+" (cited by "+strings.Join(files, ", ")+")")
		}
	}
	sort.Strings(unknown)
	for _, u := range unknown {
		t.Errorf("a scenario cites %s, which SEMANTICS.md does not define", u)
	}

	t.Logf("%d rules: %d cited by scenarios, %d [ND], %d exempt, %d allowlisted as not covered yet",
		len(rules), len(rules)-len(uncovered)-len(missing)-exemptND-countExempt(rules, cited), exemptND, countExempt(rules, cited), len(uncovered))
	if len(uncovered) > 0 {
		var b strings.Builder
		for _, id := range uncovered {
			b.WriteString("\n  " + id + ": " + coverageAllowlist[id])
		}
		t.Logf("rules no scenario cites yet (allowlist):%s", b.String())
	}
	if len(missing) > 0 {
		t.Errorf("observable rules that no scenario cites (cite them in a scenario's header, or, if no scenario can pin them, add them to coverageExempt with the reason):\n  %s",
			strings.Join(missing, " "))
	}
	if len(fixed) > 0 {
		var b strings.Builder
		for _, id := range fixed {
			b.WriteString("\n  " + id + " (cited by " + strings.Join(cited[id], ", ") + ")")
		}
		t.Errorf("rules now covered but still in coverageAllowlist; delete their entries:%s", b.String())
	}
}

func countExempt(rules []*semRule, cited map[string][]string) int {
	n := 0
	for _, r := range rules {
		if _, ok := coverageExempt[r.id]; ok && !r.nd && len(cited[r.id]) == 0 {
			n++
		}
	}
	return n
}

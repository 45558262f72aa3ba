package gateway_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/kopir/kopir/"

// rooms is the direction of the code, as README's ARCHITECTURE section
// draws it: each room (a folder, matched by the longest prefix) and the
// rooms its non-test code may import besides itself. A room not listed
// here fails the test, so a new folder has to take a place in the plan.
var rooms = map[string][]string{
	// What configuration fields are made of: every room may import it.
	"config/field":   nil,
	"signing/xmldoc": nil,
	"signing":        {"signing/xmldoc"},
	"signing/devpki": nil,
	"gateway/pii":    nil,
	"gateway/shep":   {"signing/xmldoc"},
	// The client speaks the wire; the wire knows nothing of the client.
	"gateway/shep/exchange": {"gateway/shep", "signing", "signing/xmldoc", "gateway/pii"},
	"adapters":              {"gateway/shep", "gateway/shep/exchange", "gateway/pii", "signing"},
	"gateway/report":        {"gateway/shep", "gateway/shep/exchange", "gateway/pii", "signing"},
	"gateway/api":           {"adapters", "gateway/report", "gateway/shep", "gateway/shep/exchange", "gateway/pii", "signing"},
	// Payments the payment gateway pushes: verified, kept, read by fee checks.
	"gateway/notify": {"adapters", "gateway/pii", "signing"},
	"gateway/ops":    {"gateway/report", "gateway/shep", "gateway/shep/exchange", "gateway/pii", "signing"},
	// The mocks speak the wire, not Kopir's client of it.
	"mocks": {"gateway/shep", "gateway/pii", "signing", "signing/xmldoc", "signing/devpki"},
	// config decodes the file into the structs each component owns.
	"config": {"adapters", "gateway/shep", "gateway/shep/exchange", "gateway/report", "gateway/api", "gateway/ops", "gateway/pii", "signing"},
	// The composition root wires everything but the mocks.
	"gateway": {"config", "adapters", "gateway/notify", "gateway/shep", "gateway/shep/exchange", "gateway/report", "gateway/api", "gateway/ops", "gateway/pii", "signing", "signing/xmldoc"},
	"cmd": {"gateway", "config", "adapters", "gateway/shep", "gateway/shep/exchange", "gateway/report", "gateway/api", "gateway/ops",
		"gateway/pii", "signing", "signing/devpki", "signing/xmldoc", "mocks"},
	// Test helpers: imported by _test files only (checked below).
	"internal":         {"mocks", "gateway/shep", "gateway/shep/exchange", "signing", "signing/devpki"},
	"gateway/internal": nil,
}

func roomOf(pkg string) (string, bool) {
	best := ""
	for r := range rooms {
		if (pkg == r || strings.HasPrefix(pkg, r+"/")) && len(r) > len(best) {
			best = r
		}
	}
	return best, best != ""
}

// TestImportDirection fails when non-test code imports against the
// direction of the rooms, or imports a test helper.
func TestImportDirection(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var problems []string
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || strings.HasPrefix(n, ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		from, ok := roomOf(pkg)
		if !ok {
			problems = append(problems, pkg+": a folder with no room in the plan (add it to rooms and to README's ARCHITECTURE)")
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(p, module) {
				continue
			}
			p = strings.TrimPrefix(p, module)
			to, ok := roomOf(p)
			if !ok || to == from {
				continue
			}
			if to == "internal" || to == "gateway/internal" {
				problems = append(problems, rel+": "+filepath.Base(path)+" imports the test helper "+p)
				continue
			}
			allowed := to == "config/field"
			for _, a := range rooms[from] {
				allowed = allowed || a == to
			}
			if !allowed {
				problems = append(problems, rel+": "+filepath.Base(path)+" ("+from+") imports "+p+" ("+to+")")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 40 {
		t.Fatalf("read only %d files: is the module root %s?", checked, root)
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}

// TestImportDirectionCatches keeps the check honest: a forbidden edge is
// one it reports.
func TestImportDirectionCatches(t *testing.T) {
	for _, c := range []struct{ from, to string }{
		{"gateway/shep/exchange", "adapters/persons"},
		{"signing", "gateway/shep"},
		{"adapters/payments", "gateway/api"},
		{"gateway/report/outbox", "gateway/api/access"},
		{"mocks/shep", "gateway/shep/exchange"},
	} {
		from, _ := roomOf(c.from)
		to, _ := roomOf(c.to)
		for _, a := range rooms[from] {
			if a == to && from != to {
				t.Errorf("%s → %s is allowed; the plan says it must not be", c.from, c.to)
			}
		}
	}
}

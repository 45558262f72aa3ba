package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHarness runs the three loads briefly: each makes calls, the plain
// ones without errors, and every failed call of the failing one left a
// report in the outbox.
func TestHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("runs loads")
	}
	var out bytes.Buffer
	if err := run(&out, 300*time.Millisecond, 2, 0.5); err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile(`(?m)^\| (baseline|api-failing|api)[^|]* \| (\d+) \| [0-9.]+× \| [^|]+ \| [^|]+ \| (\d+) \|$`).FindAllStringSubmatch(out.String(), -1)
	if len(rows) != 3 {
		t.Fatalf("%d rows:\n%s", len(rows), out.String())
	}
	for _, r := range rows {
		rate, _ := strconv.Atoi(r[2])
		errs, _ := strconv.Atoi(r[3])
		if rate == 0 || (r[1] != "api-failing") != (errs == 0) {
			t.Errorf("row %q", r[0])
		}
	}
	if !strings.Contains(out.String(), "every failed call stored one: true") {
		t.Errorf("reports lost:\n%s", out.String())
	}
}

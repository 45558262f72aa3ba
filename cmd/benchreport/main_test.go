package main

import (
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	in := `goos: linux
BenchmarkBare-2   	 900	   1000000 ns/op	    1888 B/op	      11 allocs/op
BenchmarkBare-2   	 900	   3000000 ns/op	    1888 B/op	      11 allocs/op
BenchmarkBare-2   	 900	   2000000 ns/op	    1888 B/op	      11 allocs/op
BenchmarkWork-2   	 800	   3000000 ns/op	 1.33 MB/s	  113658 B/op	     198 allocs/op
BenchmarkWork-2   	 800	   5000000 ns/op	 1.33 MB/s	  113658 B/op	     198 allocs/op
BenchmarkMixed-2   	 800	   5000000 ns/op	         1.40 x-baseline	  113658 B/op	     198 allocs/op
BenchmarkMixed-2   	 800	   5000000 ns/op	         1.60 x-baseline	  113658 B/op	     198 allocs/op
BenchmarkMixed-2   	 800	   5000000 ns/op	         1.50 x-baseline	  113658 B/op	     198 allocs/op
PASS`
	var b strings.Builder
	if err := report(strings.NewReader(in), &b, "Bare"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"| Bare | 3 | 2.00 ms | 1.00× | 1888 | 11 |", "| Work | 2 | 4.00 ms | 2.00× | 113658 | 198 |",
		"| Mixed | 3 | 1.50× | 1.40× | 1.60× |"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "| Work | 2 | 0") {
		t.Errorf("a benchmark without the metric is in the interleaved table:\n%s", out)
	}
	if err := report(strings.NewReader(in), &b, "Nope"); err == nil {
		t.Error("a missing baseline was not reported")
	}
}

// Command benchreport turns `go test -bench` output into a Markdown table
// of each benchmark's median time, allocations and ratio to a baseline
// benchmark measured in the same run: the machines are shared and noisy,
// so only ratios within one run mean anything.
//
//	go test -run '^$' -bench . -benchmem -count 6 ./signing/ | benchreport -baseline BareRSA
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// sample is one line of benchmark output. ratio is a benchmark's own
// "x-baseline" metric: the ratio it measured by alternating its work with
// the baseline's in one loop, which load that comes and goes between
// benchmarks cannot skew.
type sample struct{ ns, bytes, allocs, ratio float64 }

func main() {
	baseline := flag.String("baseline", "", "name of the baseline benchmark, without the Benchmark prefix")
	interleaved := flag.String("interleaved", "", "what interleaved benchmarks alternate with (their own baseline). Default: the -baseline benchmark")
	flag.Parse()
	if *interleaved != "" {
		interleavedWith = *interleaved
	}
	if err := report(os.Stdin, os.Stdout, *baseline); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// interleavedWith names the interleaved benchmarks' own baseline, when it
// is not the -baseline benchmark.
var interleavedWith string

func report(r io.Reader, w io.Writer, baseline string) error {
	runs := map[string][]sample{}
	var order []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		var s sample
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				s.ns = v
			case "B/op":
				s.bytes = v
			case "allocs/op":
				s.allocs = v
			case "x-baseline":
				s.ratio = v
			}
		}
		if _, ok := runs[name]; !ok {
			order = append(order, name)
		}
		runs[name] = append(runs[name], s)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	base, ok := runs[baseline]
	if !ok {
		return fmt.Errorf("baseline %q not in the input", baseline)
	}
	baseNS := median(base, func(s sample) float64 { return s.ns })
	fmt.Fprintf(w, "| benchmark | runs | median time | × %s | B/op | allocs/op |\n|---|---|---|---|---|---|\n", baseline)
	for _, name := range order {
		ss := runs[name]
		ns := median(ss, func(s sample) float64 { return s.ns })
		fmt.Fprintf(w, "| %s | %d | %s | %.2f× | %.0f | %.0f |\n", name, len(ss), human(ns), ns/baseNS,
			median(ss, func(s sample) float64 { return s.bytes }), median(ss, func(s sample) float64 { return s.allocs }))
	}
	header := false
	for _, name := range order {
		ss := runs[name]
		if ss[0].ratio == 0 {
			continue
		}
		if !header {
			with := baseline
			if interleavedWith != "" {
				with = interleavedWith
			}
			fmt.Fprintf(w, "\nInterleaved with %s in one loop (the ratio each run measured):\n\n"+
				"| benchmark | runs | median × %s | lowest | highest |\n|---|---|---|---|---|\n", with, with)
			header = true
		}
		r := func(s sample) float64 { return s.ratio }
		lo, hi := ss[0].ratio, ss[0].ratio
		for _, s := range ss {
			lo, hi = min(lo, s.ratio), max(hi, s.ratio)
		}
		fmt.Fprintf(w, "| %s | %d | %.2f× | %.2f× | %.2f× |\n", name, len(ss), median(ss, r), lo, hi)
	}
	return nil
}

func median(ss []sample, f func(sample) float64) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func human(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

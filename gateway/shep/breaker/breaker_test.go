package breaker

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// TestBreakerStates walks the breaker through its states on a fake clock:
// each step is a call (ok or failed), a refused call, or time passing.
func TestBreakerStates(t *testing.T) {
	type step struct {
		advance time.Duration // before the step
		call    string        // "ok", "fail", "refused", "" (only look)
		want    string        // state after the step
	}
	for _, tc := range []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"consecutive failures open it", Config{Failures: 3, OpenFor: time.Minute, Probes: 1}, []step{
			{0, "fail", "closed"}, {0, "fail", "closed"}, {0, "ok", "closed"}, // a success resets the count
			{0, "fail", "closed"}, {0, "fail", "closed"}, {0, "fail", "open"},
			{0, "refused", "open"}, {59 * time.Second, "refused", "open"},
		}},
		{"a probe after open_for closes it", Config{Failures: 1, OpenFor: time.Minute, Probes: 1}, []step{
			{0, "fail", "open"}, {time.Minute, "", "half-open"}, {0, "ok", "closed"}, {0, "ok", "closed"},
		}},
		{"a failed probe opens it again, for open_for again", Config{Failures: 1, OpenFor: time.Minute, Probes: 1}, []step{
			{0, "fail", "open"}, {time.Minute, "fail", "open"}, {30 * time.Second, "refused", "open"},
			{30 * time.Second, "ok", "closed"},
		}},
		{"probes successes needed to close", Config{Failures: 1, OpenFor: time.Second, Probes: 2}, []step{
			{0, "fail", "open"}, {time.Second, "ok", "half-open"}, {0, "ok", "closed"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clockwork.NewFakeClockAt(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
			b := New(tc.cfg, clk.Now)
			for i, s := range tc.steps {
				clk.Advance(s.advance)
				switch s.call {
				case "ok", "fail":
					g, ok := b.Allow()
					if !ok {
						t.Fatalf("step %d: call refused in state %s", i, b.State())
					}
					b.Done(g, s.call == "fail")
				case "refused":
					if _, ok := b.Allow(); ok {
						t.Fatalf("step %d: call allowed in state %s", i, b.State())
					}
				}
				if got := b.State(); got != s.want {
					t.Fatalf("step %d (%s after %s): state %s, want %s", i, s.call, s.advance, got, s.want)
				}
			}
		})
	}
}

// TestBreakerHalfOpenLimitsProbes: while half-open, no more than Probes
// calls are in flight, and a call from before the breaker opened does not
// count as a probe.
func TestBreakerHalfOpenLimitsProbes(t *testing.T) {
	clk := clockwork.NewFakeClockAt(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	b := New(Config{Failures: 1, OpenFor: time.Second, Probes: 1}, clk.Now)
	old, _ := b.Allow() // a slow call, begun while closed
	g, _ := b.Allow()
	b.Done(g, true) // another fails: open
	clk.Advance(time.Second)
	probe, ok := b.Allow()
	if !ok {
		t.Fatal("no probe allowed once half-open")
	}
	if _, ok := b.Allow(); ok {
		t.Fatal("a second probe allowed with probes: 1")
	}
	b.Done(old, false) // the slow call succeeds: not a probe
	if b.State() != "half-open" {
		t.Fatalf("a call from before the opening closed the breaker: %s", b.State())
	}
	b.Done(probe, false)
	if b.State() != "closed" {
		t.Fatalf("state %s after the probe succeeded", b.State())
	}
}

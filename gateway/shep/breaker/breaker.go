// Package breaker is a circuit breaker on an injected clock, for the
// clients of systems that can fail: SHEP's exchange and the NCANode signer.
// It replaces sony/gobreaker, which reads time.Now itself, so that tests
// advance a clock instead of waiting for real time to pass.
package breaker

import (
	"errors"
	"sync"
	"time"
)

// ErrOpen is why a call was not attempted: the breaker is open (or
// half-open with its probes already under way).
var ErrOpen = errors.New("circuit breaker is open")

// Config tunes a breaker.
type Config struct {
	// Failures is how many consecutive system failures open the breaker.
	// Default: 5.
	Failures uint32 `yaml:"failures" json:"failures"`
	// OpenFor is how long it stays open before letting probes through.
	// Default: 30s.
	OpenFor time.Duration `yaml:"open_for" json:"open_for"`
	// Probes is how many calls may probe a half-open breaker at once.
	// Default: 1.
	Probes uint32 `yaml:"probes" json:"probes"`
}

// SetDefaults fills what is unset with the defaults documented on Config.
func (c *Config) SetDefaults() {
	if c.Failures == 0 {
		c.Failures = 5
	}
	if c.OpenFor == 0 {
		c.OpenFor = 30 * time.Second
	}
	if c.Probes == 0 {
		c.Probes = 1
	}
}

// Breaker is a circuit breaker: Failures consecutive failures open it;
// after OpenFor it lets Probes calls through (half-open); Probes successes
// close it, one failure opens it again. Each change of state starts a
// generation: a call that began in an earlier one does not count in the
// new one. It is safe for concurrent use.
type Breaker struct {
	cfg Config
	now func() time.Time

	mu         sync.Mutex
	state      breakerState
	generation uint64
	failures   uint32    // consecutive, while closed
	requests   uint32    // allowed, while half-open
	successes  uint32    // while half-open
	openedAt   time.Time // while open
}

// New returns a closed breaker with cfg's defaults filled, reading time
// from now.
func New(cfg Config, now func() time.Time) *Breaker {
	cfg.SetDefaults()
	return &Breaker{cfg: cfg, now: now}
}

type breakerState int

const (
	stateClosed breakerState = iota
	stateHalfOpen
	stateOpen
)

func (s breakerState) String() string {
	return [...]string{"closed", "half-open", "open"}[s]
}

// Allow reports whether a call may go now, and the generation its end
// must be reported against (Done).
func (b *Breaker) Allow() (uint64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tick()
	switch b.state {
	case stateOpen:
		return 0, false
	case stateHalfOpen:
		if b.requests >= b.cfg.Probes {
			return 0, false
		}
		b.requests++
	}
	return b.generation, true
}

// Done records how an allowed call ended: failed counts toward opening.
func (b *Breaker) Done(generation uint64, failed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tick()
	if generation != b.generation {
		return
	}
	switch b.state {
	case stateClosed:
		if !failed {
			b.failures = 0
		} else if b.failures++; b.failures >= b.cfg.Failures {
			b.set(stateOpen)
		}
	case stateHalfOpen:
		if failed {
			b.set(stateOpen)
		} else if b.successes++; b.successes >= b.cfg.Probes {
			b.set(stateClosed)
		}
	}
}

// Release ends an allowed call that says nothing of the upstream (its
// caller left before an answer was due): it counts neither way, and a
// half-open breaker may let another probe through in its place.
func (b *Breaker) Release(generation uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if generation == b.generation && b.state == stateHalfOpen && b.requests > 0 {
		b.requests--
	}
}

func (b *Breaker) set(s breakerState) {
	b.state, b.generation = s, b.generation+1
	b.failures, b.requests, b.successes = 0, 0, 0
	if s == stateOpen {
		b.openedAt = b.now()
	}
}

// tick moves an open breaker to half-open once OpenFor has passed.
func (b *Breaker) tick() {
	if b.state == stateOpen && !b.now().Before(b.openedAt.Add(b.cfg.OpenFor)) {
		b.set(stateHalfOpen)
	}
}

// State is "closed", "half-open" or "open".
func (b *Breaker) State() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tick()
	return b.state.String()
}

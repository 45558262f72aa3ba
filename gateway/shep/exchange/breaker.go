package exchange

import (
	"errors"
	"sync"
	"time"
)

// ErrBreakerOpen is why a call was not attempted: the upstream's breaker
// is open (or half-open with its probes already under way).
var ErrBreakerOpen = errors.New("circuit breaker is open")

// breaker is a circuit breaker on the injected clock: Failures consecutive
// system failures open it; after OpenFor it lets Probes calls through
// (half-open); Probes successes close it, one failure opens it again. It
// replaces sony/gobreaker, which reads time.Now itself, so that tests
// advance a clock instead of waiting for real time to pass. Each change of
// state starts a generation: a call that began in an earlier one does not
// count in the new one.
type breaker struct {
	cfg BreakerConfig
	now func() time.Time

	mu         sync.Mutex
	state      breakerState
	generation uint64
	failures   uint32    // consecutive, while closed
	requests   uint32    // allowed, while half-open
	successes  uint32    // while half-open
	openedAt   time.Time // while open
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

// allow reports whether a call may go now, and the generation its end
// must be reported against (done).
func (b *breaker) allow() (uint64, bool) {
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

// done records how an allowed call ended: failed counts toward opening.
func (b *breaker) done(generation uint64, failed bool) {
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

func (b *breaker) set(s breakerState) {
	b.state, b.generation = s, b.generation+1
	b.failures, b.requests, b.successes = 0, 0, 0
	if s == stateOpen {
		b.openedAt = b.now()
	}
}

// tick moves an open breaker to half-open once OpenFor has passed.
func (b *breaker) tick() {
	if b.state == stateOpen && !b.now().Before(b.openedAt.Add(b.cfg.OpenFor)) {
		b.set(stateHalfOpen)
	}
}

// State is "closed", "half-open" or "open".
func (b *breaker) State() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tick()
	return b.state.String()
}

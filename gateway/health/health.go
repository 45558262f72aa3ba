// Package health answers the two questions an orchestrator asks: is the
// process alive (/healthz), and should it get traffic (/readyz): the
// signing key signs, the certificate is valid for long enough, the
// database answers. Readiness results are cached briefly so that probes
// from many load balancers do not become load. A maintenance switch makes
// readiness fail on purpose, for rolling restarts.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Check is one readiness condition. Run returns a short human-readable
// detail and an error when the condition fails. Informational checks are
// shown but never make the process unready.
type Check struct {
	Name          string
	Run           func(ctx context.Context) (string, error)
	Informational bool
}

// Result is what /readyz answers.
type Result struct {
	Ready       bool              `json:"ready"`
	Maintenance bool              `json:"maintenance,omitempty"`
	Checked     time.Time         `json:"checked"`
	Checks      map[string]Status `json:"checks"`
}

// Status is one check's outcome.
type Status struct {
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Health runs the checks.
type Health struct {
	checks      []Check
	ttl         time.Duration
	timeout     time.Duration
	now         func() time.Time
	maintenance atomic.Bool
	mu          sync.Mutex
	last        *Result
}

// New returns a Health over checks, caching results for ttl.
func New(ttl time.Duration, now func() time.Time, checks ...Check) *Health {
	if now == nil {
		now = time.Now
	}
	return &Health{checks: checks, ttl: ttl, timeout: 5 * time.Second, now: now}
}

// SetMaintenance turns the maintenance switch.
func (h *Health) SetMaintenance(on bool) { h.maintenance.Store(on) }

// Maintenance reports the switch.
func (h *Health) Maintenance() bool { return h.maintenance.Load() }

// Ready runs the checks, or returns the cached result if it is fresh.
func (h *Health) Ready(ctx context.Context) Result {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last == nil || h.now().Sub(h.last.Checked) >= h.ttl {
		ctx, cancel := context.WithTimeout(ctx, h.timeout)
		defer cancel()
		r := &Result{Ready: true, Checked: h.now(), Checks: map[string]Status{}}
		for _, c := range h.checks {
			detail, err := c.Run(ctx)
			st := Status{OK: err == nil, Detail: detail}
			if err != nil {
				st.Detail = err.Error()
				if !c.Informational {
					r.Ready = false
				}
			}
			r.Checks[c.Name] = st
		}
		h.last = r
	}
	out := *h.last
	if h.Maintenance() {
		out.Ready, out.Maintenance = false, true
	}
	return out
}

// Handler serves GET /healthz, GET /readyz, and GET, PUT, DELETE
// /maintenance (the switch).
func (h *Health) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		res := h.Ready(r.Context())
		status := http.StatusOK
		if !res.Ready {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, res)
	})
	mux.HandleFunc("GET /maintenance", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"maintenance": h.Maintenance()})
	})
	mux.HandleFunc("PUT /maintenance", func(w http.ResponseWriter, r *http.Request) {
		h.SetMaintenance(true)
		writeJSON(w, http.StatusOK, map[string]bool{"maintenance": true})
	})
	mux.HandleFunc("DELETE /maintenance", func(w http.ResponseWriter, r *http.Request) {
		h.SetMaintenance(false)
		writeJSON(w, http.StatusOK, map[string]bool{"maintenance": false})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

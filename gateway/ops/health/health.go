// Package health answers the two questions an orchestrator asks: is the
// process alive (/healthz), and should it get traffic (/readyz): the
// signing key signs, the certificate is valid for long enough, the
// database answers. Readiness results are cached briefly so that probes
// from many load balancers do not become load. A maintenance switch makes
// readiness fail on purpose, for rolling restarts.
package health

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kopir/kopir/config/field"
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
	policy      SwitchPolicy
}

// Config is the operators' listener: the ops section of Kopir's
// configuration file.
type Config struct {
	// Listen is its address: /metrics, /healthz, /readyz, /maintenance.
	// Keep it off public networks. Default: 127.0.0.1:9464.
	Listen string `yaml:"listen"`
	// ReadinessCache is how long a readiness result is reused.
	// Default: 2s.
	ReadinessCache time.Duration `yaml:"readiness_cache"`
	// CertificateMinValidity: readiness fails when the signing
	// certificate has less left than this (alerts warn weeks earlier).
	// Default: 24h.
	CertificateMinValidity time.Duration `yaml:"certificate_min_validity"`
	// BreakersAffectReadiness makes an open upstream breaker fail
	// readiness. Default: false (every replica would go unready at once
	// when SHEP is down, and callers would get connection errors instead
	// of problem details).
	BreakersAffectReadiness bool `yaml:"breakers_affect_readiness"`
	// MaintenanceToken is where the bearer token that may turn the
	// maintenance switch is (at least 16 characters). Default: unset, and
	// only loopback callers may turn it.
	MaintenanceToken field.Secret `yaml:"maintenance_token"`
	// LameDuck is how long, at shutdown, readiness answers 503 while the
	// API still serves, so that a load balancer stops sending before the
	// listener closes. Default: 5s (a few readiness probes' periods).
	LameDuck time.Duration `yaml:"lame_duck"`
}

// SetDefaults fills what is unset with the defaults documented on Config.
func (c *Config) SetDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:9464"
	}
	if c.ReadinessCache == 0 {
		c.ReadinessCache = 2 * time.Second
	}
	if c.CertificateMinValidity == 0 {
		c.CertificateMinValidity = 24 * time.Hour
	}
	if c.LameDuck == 0 {
		c.LameDuck = 5 * time.Second
	}
}

// Validate reports every problem, each named by its field.
func (c *Config) Validate(getenv func(string) string) error {
	var e field.Errors
	e.ListenAddr("listen", c.Listen)
	if c.LameDuck < 0 || c.LameDuck > time.Minute {
		e.Add("lame_duck", "%s is not between 0 and 1m", c.LameDuck)
	}
	if c.MaintenanceToken.Set() {
		if tok, err := c.MaintenanceToken.Resolve(getenv); err != nil {
			e.Add("maintenance_token", "%v", err)
		} else if len(tok) < 16 {
			e.Add("maintenance_token", "shorter than 16 characters")
		}
	}
	return e.Err()
}

// SwitchPolicy says who may turn the maintenance switch, and who hears of
// it. Reading the switch is open to whoever reaches the listener.
type SwitchPolicy struct {
	// Token, when set, must be presented as a bearer token, from anywhere.
	// Unset, only callers on the loopback interface may turn the switch:
	// an operator on the host, or inside the pod.
	Token string
	// Logger records every turn, and every refused attempt. Default:
	// slog.Default().
	Logger *slog.Logger
}

// SetSwitchPolicy sets who may turn the maintenance switch. Call it before
// serving Handler.
func (h *Health) SetSwitchPolicy(p SwitchPolicy) { h.policy = p }

// mayTurn reports whether r may turn the switch, answering it when not.
func (h *Health) mayTurn(w http.ResponseWriter, r *http.Request) bool {
	log := h.logger()
	if h.policy.Token != "" {
		// Hashes compared: neither the token nor its length shows in timing.
		// The scheme is required and, as RFC 9110 says, case-insensitive.
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		want := sha256.Sum256([]byte(h.policy.Token))
		presented := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if subtle.ConstantTimeCompare(want[:], presented[:]) != 1 || !ok || !strings.EqualFold(scheme, "Bearer") {
			log.Warn("maintenance switch: refused, no valid token", "method", r.Method, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="kopir-ops"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "the maintenance switch needs the ops token (Authorization: Bearer …)"})
			return false
		}
		return true
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if addr, err := netip.ParseAddr(host); err != nil || !addr.Unmap().IsLoopback() {
		log.Warn("maintenance switch: refused, not a loopback caller", "method", r.Method, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "the maintenance switch answers loopback callers only; set ops.maintenance_token to turn it from elsewhere"})
		return false
	}
	return true
}

func (h *Health) logger() *slog.Logger {
	if h.policy.Logger != nil {
		return h.policy.Logger
	}
	return slog.Default()
}

// turn sets the switch for an allowed caller, and says so in the log.
func (h *Health) turn(w http.ResponseWriter, r *http.Request, on bool) {
	if !h.mayTurn(w, r) {
		return
	}
	h.SetMaintenance(on)
	h.logger().Warn("maintenance switch turned", "maintenance", on, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]bool{"maintenance": on})
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
	mux.HandleFunc("PUT /maintenance", func(w http.ResponseWriter, r *http.Request) { h.turn(w, r, true) })
	mux.HandleFunc("DELETE /maintenance", func(w http.ResponseWriter, r *http.Request) { h.turn(w, r, false) })
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

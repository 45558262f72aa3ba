package shepmock

import (
	cryptorand "crypto/rand"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// FaultKind is a way the mock can fail.
type FaultKind string

// Fault kinds.
const (
	FaultDelay    FaultKind = "delay"    // answer normally, after Delay
	FaultTimeout  FaultKind = "timeout"  // never answer; hold the connection until the client gives up
	FaultHTTP     FaultKind = "http"     // answer with HTTP Status (default 503) and no SOAP
	FaultSOAP     FaultKind = "fault"    // answer with a signed SOAP fault: FaultCode, Code, Message
	FaultUnsigned FaultKind = "unsigned" // answer normally, without a signature
	FaultBadSig   FaultKind = "badsig"   // answer normally, with a signature that does not verify
	FaultReset    FaultKind = "reset"    // reset the connection without answering
	// The ways real peers misbehave that Kopir must tell apart.
	FaultStatus        FaultKind = "status"         // a signed answer with an error status (Code, Message) and no data
	FaultUnsignedFault FaultKind = "unsigned_fault" // a SOAP fault without a signature: FaultCode, Code, Message
	FaultHTML          FaultKind = "html"           // HTTP Status (default 500) with an HTML page, no SOAP
	FaultReplay        FaultKind = "replay"         // the previous answer again, as sent (its signature too)
	FaultUnbound       FaultKind = "unbound"        // a signed answer naming another request in correlationId
)

// Duration is a time.Duration written as "1.5s" in YAML and JSON.
type Duration time.Duration

// UnmarshalText reads "1.5s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// MarshalText writes "1.5s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// FaultRule injects a fault into calls to a service.
type FaultRule struct {
	// Service is the serviceId the rule applies to; "" or "*" for all.
	Service string    `json:"service,omitempty" yaml:"service"`
	Kind    FaultKind `json:"kind" yaml:"kind"`
	// Count limits the rule to the next Count matching calls; 0 is no
	// limit.
	Count int `json:"count,omitempty" yaml:"count"`
	// Probability applies the rule to a share of matching calls, 0 to 1;
	// 0 means every call.
	Probability float64  `json:"probability,omitempty" yaml:"probability"`
	Delay       Duration `json:"delay,omitempty" yaml:"delay"`
	Status      int      `json:"status,omitempty" yaml:"status"`
	// RetryAfter, with kind http, is sent as a Retry-After header (in
	// whole seconds): a 429 or 503 that says when to come back.
	RetryAfter Duration `json:"retry_after,omitempty" yaml:"retry_after"`
	// FaultCode is the SOAP faultcode, "Server" (default) or "Client";
	// Code and Message are SHEP's error code and message.
	FaultCode string `json:"fault_code,omitempty" yaml:"fault_code"`
	Code      string `json:"code,omitempty" yaml:"code"`
	Message   string `json:"message,omitempty" yaml:"message"`
}

// Validate checks a rule.
func (r *FaultRule) Validate() error {
	switch r.Kind {
	case FaultDelay, FaultTimeout, FaultHTTP, FaultSOAP, FaultUnsigned, FaultBadSig, FaultReset,
		FaultStatus, FaultUnsignedFault, FaultHTML, FaultReplay, FaultUnbound:
	default:
		return fmt.Errorf("kind %q is not one of delay, timeout, http, fault, unsigned, badsig, reset, status, unsigned_fault, html, replay, unbound", r.Kind)
	}
	if r.Count < 0 || r.Probability < 0 || r.Probability > 1 {
		return fmt.Errorf("count must be ≥ 0 and probability within 0..1")
	}
	if (r.Kind == FaultHTTP || r.Kind == FaultHTML) && r.Status != 0 && (r.Status < 400 || r.Status > 599) {
		return fmt.Errorf("status %d is not an HTTP error status", r.Status)
	}
	if r.FaultCode != "" && r.FaultCode != "Server" && r.FaultCode != "Client" {
		return fmt.Errorf("fault_code %q is not Server or Client", r.FaultCode)
	}
	return nil
}

// faultSet is the rules in force, safe for concurrent use.
type faultSet struct {
	mu    sync.Mutex
	rules []*FaultRule
	rand  func() float64
}

func (s *faultSet) add(r FaultRule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, &r)
	return nil
}

func (s *faultSet) clear() {
	s.mu.Lock()
	s.rules = nil
	s.mu.Unlock()
}

func (s *faultSet) list() []FaultRule {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]FaultRule, 0, len(s.rules))
	for _, r := range s.rules {
		out = append(out, *r)
	}
	return out
}

// take returns the first rule that applies to a call to service, spending
// one of its count.
func (s *faultSet) take(service string) *FaultRule {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.rules {
		if r.Service != "" && r.Service != "*" && !strings.EqualFold(r.Service, service) {
			continue
		}
		if r.Probability > 0 && s.random() >= r.Probability {
			continue
		}
		taken := *r
		if r.Count > 0 {
			r.Count--
			if r.Count == 0 {
				s.rules = append(s.rules[:i], s.rules[i+1:]...)
			}
		}
		return &taken
	}
	return nil
}

func (s *faultSet) random() float64 {
	if s.rand != nil {
		return s.rand()
	}
	return rand.Float64()
}

func (s *faultSet) MarshalJSON() ([]byte, error) { return json.Marshal(s.list()) }

var randReader = cryptorand.Reader

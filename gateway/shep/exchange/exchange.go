// Package exchange is Kopir's one way to exchange a message with a state
// system through the digital-government gateway (SHEP): it builds a
// SendMessage request, signs it, sends it over a retrying, SOAP-aware
// transport behind a circuit breaker, verifies the response's signature
// before reading a byte of it, and records every step.
//
// An attempt runs in one order (attempt.go): sign → post → read → verify →
// replay → parse → bind → classify → decide. What it retries: transport
// errors, HTTP 429/502/503/504 (after Retry-After when there is one), and
// faults and statuses the tables mark transient. go-retryablehttp moves the
// bytes but retries every 5xx by default, while SHEP's faults arrive as
// HTTP 500, most of them final, so the decision is made here, from the
// verified answer. A call has one deadline its attempts share; the waits
// between attempts are taken on the injected clock, and every retry is
// signed anew (PrepareRetry), so that it never carries a stale Timestamp or
// a signature SHEP has seen.
package exchange

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kopir/kopir/config/field"
	"github.com/kopir/kopir/gateway/pii"
	"github.com/kopir/kopir/gateway/shep"
	"github.com/kopir/kopir/gateway/shep/breaker"
	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/xmldoc"
)

// Signer signs an outgoing envelope; *signing.Signer is one.
type Signer interface {
	Sign(ctx context.Context, envelope []byte) ([]byte, error)
}

// Verifier checks an incoming envelope; *signing.Verifier is one.
type Verifier interface {
	Verify(envelope []byte) (*signing.Result, error)
}

// FaultTable classes SHEP faults by code. SHEP's codes and which are
// transient are unconfirmed, so the table is configuration. A code matches
// the faultcode ("Server", "Client") or any error or sub-error code in the
// detail. Without a match, a Client fault is a business answer (the request
// was refused) and anything else a system failure, not retried.
type FaultTable struct {
	// Transient codes: system failures worth retrying.
	Transient []string `yaml:"transient" json:"transient"`
	// Business codes: answers, never failure reports.
	Business []string `yaml:"business" json:"business"`
	// System codes: failures, not retried; they override a Client faultcode.
	System []string `yaml:"system" json:"system"`
}

// StatusTable classes the status codes of verified answers.
type StatusTable struct {
	// Success codes: the answer carries the service's data (or its own
	// "not found"). Default: [SCSS001, Success].
	Success []string `yaml:"success" json:"success"`
	// Transient codes: system failures worth retrying.
	Transient []string `yaml:"transient" json:"transient"`
	// Business codes: answers about the request, never failure reports.
	Business []string `yaml:"business" json:"business"`
}

// Classify says whether a status code is a success and, when it is not,
// its class and whether to retry.
func (t StatusTable) Classify(code string) (success bool, class Class, retry bool) {
	success = slices.Contains(t.Success, code)
	switch {
	case success:
		return true, ClassBusiness, false
	case slices.Contains(t.Transient, code):
		return false, ClassSystem, true
	case slices.Contains(t.Business, code):
		return false, ClassBusiness, false
	}
	return false, ClassSystem, false
}

// StatusError is a verified answer whose status is not a success.
type StatusError struct{ Code, Message string }

func (e *StatusError) Error() string { return "status " + e.Code + ": " + e.Message }

// UnsignedFault is a SOAP fault that came without a signature: its code
// classes it (a transient one is retried), but nothing in it is trusted —
// it is never a business answer, and it is not the signature's failure.
type UnsignedFault struct {
	System      string
	Code        string
	Message     string
	HTTPStatus  int
	faultString string
}

func (e *UnsignedFault) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.faultString
	}
	return fmt.Sprintf("unsigned fault %s from %s: %s", e.Code, e.System, msg)
}

// Classify returns the fault's class and whether to retry it.
func (t FaultTable) Classify(f *shep.Fault) (Class, bool) {
	codes := []string{f.Code}
	for e := f.Info; e != nil; e = e.Sub {
		if e.Code != "" {
			codes = append(codes, e.Code)
		}
	}
	match := func(list []string) bool {
		for _, c := range codes {
			if slices.Contains(list, c) {
				return true
			}
		}
		return false
	}
	switch {
	case match(t.Transient):
		return ClassSystem, true
	case match(t.System):
		return ClassSystem, false
	case match(t.Business):
		return ClassBusiness, false
	case f.Code == "Client":
		return ClassBusiness, false
	}
	return ClassSystem, false
}

// BreakerConfig tunes an upstream's circuit breaker.
type BreakerConfig = breaker.Config

// ErrBreakerOpen is why a call was not attempted: the upstream's breaker
// is open.
var ErrBreakerOpen = breaker.ErrOpen

// Config describes one upstream reached through SHEP's synchronous channel.
// It is the upstream's section of Kopir's configuration file (shep:,
// payments:) as it is: package config decodes into it, SetDefaults fills
// it, Validate checks it.
type Config struct {
	// System names the upstream in records, metrics and the breaker; the
	// composition root sets it from the section's name. Default: "shep".
	System string `yaml:"-"`
	// URL is the SendMessage endpoint. Required.
	URL string `yaml:"url"`
	// SenderID is the information system's login issued by the operator.
	// Required.
	SenderID string `yaml:"sender_id"`
	// Password is where the sender's password is. Default: none.
	Password field.Secret `yaml:"password"`
	// Trust are PEM files of the CAs (or self-signed certificates) whose
	// response signatures are accepted. Required unless Pinned.
	Trust []string `yaml:"trust"`
	// Pinned are PEM files of leaf certificates accepted as they are: SHEP
	// names its certificate by issuer and serial number and does not send
	// it. Only a file's first certificate is pinned; the rest, its chain as
	// certificate files are often handed out, is not trusted by this.
	Pinned []string `yaml:"pinned"`
	// ClockSkew is tolerated in response Timestamps. Default: 60s.
	ClockSkew time.Duration `yaml:"clock_skew"`
	// Layout is how requests are signed: smart-bridge (the Body only, the
	// certificate in a KeyIdentifier: what Kalkan, NCANode and SHEP's
	// public clients send, protocol.md §5) or wss4j (a signed Timestamp,
	// the certificate as a BinarySecurityToken). Default: smart-bridge.
	Layout signing.Layout `yaml:"layout"`
	// Require are the parts an answer's signature must cover: body, and
	// timestamp. SHEP signs its answers without a Timestamp; one that
	// comes is checked all the same. Default: [body].
	Require []signing.Part `yaml:"require"`
	// KeyInfo are the ways an answer may name its signing certificate:
	// token, key-identifier, x509-certificate, issuer-serial (SHEP's).
	// Default: all four.
	KeyInfo []signing.KeyRef `yaml:"key_info"`
	// Deadline bounds a whole call: its attempts and the waits between
	// them share it, so that a hung upstream holds a back end this long
	// and no longer. Default: 15s.
	Deadline time.Duration `yaml:"deadline"`
	// Timeout bounds each attempt, within the deadline. Default: 10s.
	Timeout time.Duration `yaml:"timeout"`
	// HangAfter is how long a call must have waited, when its caller
	// gives up on it, to count as a hang: a failure of the digital system,
	// counted by the breaker and reported. A call abandoned sooner is the
	// caller's business. Default: 5s.
	HangAfter time.Duration `yaml:"hang_after"`
	// Attempts is how many times a call is tried, 1..10. Default: 3.
	Attempts int `yaml:"attempts"`
	// BackoffMin and BackoffMax bound the exponential back-off with full
	// jitter between attempts. Default: 200ms and 5s.
	BackoffMin time.Duration `yaml:"backoff_min"`
	BackoffMax time.Duration `yaml:"backoff_max"`
	// MaxResponseBytes bounds a response. Default: 16 MiB.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// RecordBodyBytes bounds each body kept in a record. Default: 64 KiB.
	RecordBodyBytes int `yaml:"record_body_bytes"`
	// DataMode is how payloads travel: children, escaped, cdata (all
	// three are read). Default: children.
	DataMode shep.DataMode `yaml:"data_mode"`
	// Faults classes SHEP's fault codes (unconfirmed: configuration).
	// Default: none listed.
	Faults FaultTable `yaml:"faults"`
	// Statuses classes responseInfo/status codes: the success ones are
	// answers; any other is a failure, classed like a fault. Default
	// success: [SCSS001, Success]; other codes unlisted: system failures.
	Statuses StatusTable `yaml:"statuses"`
	// Binding ties an answer to its request: correlation (an answer's
	// correlationId, when it has one, must be the request's messageId) or
	// none. Default: correlation.
	Binding string `yaml:"binding"`
	// ReplayWindow is how long the signatures of answers are remembered,
	// so that one seen again is refused: without a Timestamp (SHEP signs
	// none), this and the binding are what bound an answer's freshness.
	// Default: 15m.
	ReplayWindow time.Duration `yaml:"replay_window"`
	// SOAPAction is sent, quoted, in the SOAPAction header. Default: ""
	// (the empty action every client generated from SHEP's WSDL sends).
	SOAPAction string `yaml:"soap_action"`
	// ContentType is the requests' Content-Type. Default:
	// "text/xml; charset=utf-8" (SOAP 1.1; one production client sends
	// application/xml).
	ContentType string `yaml:"content_type"`
	// Breaker tunes the circuit breaker.
	Breaker BreakerConfig `yaml:"breaker"`
	// TLS configures the connection. Default: the system's roots, no
	// client certificate.
	TLS TLSFiles `yaml:"tls"`
	// Limits bound the XML of responses and their escaped payloads.
	// Default: xmldoc's.
	Limits xmldoc.Limits `yaml:"-"`
}

// TLSFiles configure an upstream connection from PEM files.
type TLSFiles struct {
	// CA is a PEM file of the CAs the upstream's TLS certificate chains
	// to. Default: the system's.
	CA string `yaml:"ca"`
	// ClientCert and ClientKey are PEM files for mutual TLS. Default: none.
	ClientCert string `yaml:"client_cert"`
	ClientKey  string `yaml:"client_key"`
}

// SetDefaults fills what is unset with the defaults documented on Config.
func (c *Config) SetDefaults() {
	setDefault(&c.System, "shep")
	setDefault(&c.ClockSkew, time.Minute)
	setDefault(&c.Deadline, 15*time.Second)
	setDefault(&c.Timeout, 10*time.Second)
	setDefault(&c.HangAfter, 5*time.Second)
	setDefault(&c.Attempts, 3)
	setDefault(&c.BackoffMin, 200*time.Millisecond)
	setDefault(&c.BackoffMax, 5*time.Second)
	setDefault(&c.MaxResponseBytes, 16<<20)
	setDefault(&c.RecordBodyBytes, 64<<10)
	setDefault(&c.DataMode, shep.DataChildren)
	if c.Statuses.Success == nil {
		c.Statuses.Success = []string{shep.SuccessCode, "Success"}
	}
	setDefault(&c.Binding, "correlation")
	setDefault(&c.ContentType, "text/xml; charset=utf-8")
	setDefault(&c.Layout, signing.LayoutSmartBridge)
	if c.Require == nil {
		c.Require = []signing.Part{signing.PartBody}
	}
	setDefault(&c.ReplayWindow, 15*time.Minute)
	c.Breaker.SetDefaults()
}

// Validate reports every problem of a defaulted Config, each named by its
// field's path in the section.
func (c *Config) Validate(getenv func(string) string) error {
	var e field.Errors
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		e.Add("url", "required: an http(s) URL")
	}
	if c.SenderID == "" {
		e.Add("sender_id", "required")
	}
	e.Secret("password", c.Password, getenv)
	if len(c.Trust)+len(c.Pinned) == 0 {
		e.Add("trust", "required: the CAs whose response signatures are accepted")
	}
	for i, p := range c.Trust {
		e.Exists(fmt.Sprintf("trust[%d]", i), p)
	}
	for i, p := range c.Pinned {
		e.Exists(fmt.Sprintf("pinned[%d]", i), p)
	}
	if c.Attempts < 1 || c.Attempts > 10 {
		e.Add("attempts", "%d is not within 1..10", c.Attempts)
	}
	if c.BackoffMin > c.BackoffMax {
		e.Add("backoff_min", "greater than backoff_max")
	}
	if c.Timeout > c.Deadline {
		e.Add("timeout", "%s is longer than the call's deadline (%s)", c.Timeout, c.Deadline)
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"deadline", c.Deadline}, {"timeout", c.Timeout}, {"hang_after", c.HangAfter}} {
		if d.d < 0 {
			e.Add(d.name, "must not be negative")
		}
	}
	if mt, _, err := mime.ParseMediaType(c.ContentType); err != nil || mt != "text/xml" && mt != "application/xml" {
		e.Add("content_type", "%q is not text/xml or application/xml", c.ContentType)
	}
	switch c.Binding {
	case "correlation", "none":
	default:
		e.Add("binding", "%q is not correlation or none", c.Binding)
	}
	if c.ReplayWindow < 0 {
		e.Add("replay_window", "must not be negative")
	}
	switch c.Layout {
	case signing.LayoutWSS4J, signing.LayoutSmartBridge:
	default:
		e.Add("layout", "%q is not wss4j or smart-bridge", c.Layout)
	}
	for i, p := range c.Require {
		if p != signing.PartBody && p != signing.PartTimestamp {
			e.Add(fmt.Sprintf("require[%d]", i), "%q is not body or timestamp", p)
		}
	}
	switch c.DataMode {
	case shep.DataChildren, shep.DataEscaped, shep.DataCDATA:
	default:
		e.Add("data_mode", "%q is not children, escaped or cdata", c.DataMode)
	}
	if (c.TLS.ClientCert == "") != (c.TLS.ClientKey == "") {
		e.Add("tls", "client_cert and client_key go together")
	}
	e.Exists("tls.ca", c.TLS.CA)
	e.Exists("tls.client_cert", c.TLS.ClientCert)
	e.Exists("tls.client_key", c.TLS.ClientKey)
	return e.Err()
}

// Policy is the verification policy for the upstream's answers: the
// certificates of Trust and Pinned, and ClockSkew.
func (c *Config) Policy() (signing.Policy, error) {
	roots, err := signing.LoadAll(c.Trust)
	if err != nil {
		return signing.Policy{}, fmt.Errorf("trust: %w", err)
	}
	var pinned []*x509.Certificate
	for _, f := range c.Pinned {
		certs, err := signing.LoadCertificates(f)
		if err != nil {
			return signing.Policy{}, fmt.Errorf("pinned: %w", err)
		}
		pinned = append(pinned, certs[0])
	}
	return signing.Policy{Roots: roots, Pinned: pinned, ClockSkew: c.ClockSkew, Required: c.Require, KeyInfo: c.KeyInfo}, nil
}

// Config is the TLS configuration the files describe; nil when none is
// set (the system's roots, no client certificate).
func (t TLSFiles) Config() (*tls.Config, error) {
	if t.CA == "" && t.ClientCert == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CA != "" {
		pool, err := signing.LoadPool(t.CA)
		if err != nil {
			return nil, fmt.Errorf("tls.ca: %w", err)
		}
		c.RootCAs = pool
	}
	if t.ClientCert != "" {
		pair, err := tls.LoadX509KeyPair(t.ClientCert, t.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// Options are the injectable parts of a Client.
type Options struct {
	// Replays is a memory of answers' signatures shared with the other
	// replicas (replay.Postgres), consulted besides the process's own.
	// Default: none, the process's memory alone.
	Replays ReplayStore
	// HTTPClient replaces the client built from Config (its transport
	// and timeout are used as they are).
	HTTPClient *http.Client
	Masker     *pii.Masker
	Logger     *slog.Logger
	Observers  []Observer
	// Getenv reads the secrets Config names. Default: os.Getenv.
	Getenv func(string) string
	// Clock is the time of records and messages, and the breaker's.
	// Default: the real clock.
	Clock clockwork.Clock
	// NewID makes message ids. Default: random UUIDs.
	NewID func() string
}

// Call is one message to send.
type Call struct {
	ServiceID     string
	CorrelationID string
	Payload       []byte
	// DataMode and DataType are how this service's payload travels
	// (protocol.md §3: per service on the same channel); empty DataMode
	// takes the upstream's data_mode.
	DataMode   shep.DataMode
	DataType   string
	Properties []shep.Property
	SessionID  string
	RouteID    string
	App        *AppContext
}

// Result is a verified response with its provenance.
type Result struct {
	Response *shep.Response
	// Signer is who signed the response.
	Signer signing.Identity
	Record *Record
}

// Client exchanges messages with one upstream. It is safe for concurrent
// use.
type Client struct {
	cfg      Config
	signer   Signer
	verifier Verifier
	hc       *http.Client
	breaker  *breaker.Breaker
	clock    clockwork.Clock
	masker   *pii.Masker
	log      *slog.Logger
	obs      []Observer
	newID    func() string
	upstream string
	password string
	replays  *replayCache
	shared   ReplayStore
}

// New returns a Client for the upstream cfg describes. It fills cfg's
// defaults, reads its password (Options.Getenv) and its TLS files.
func New(cfg Config, s Signer, v Verifier, o Options) (*Client, error) {
	if s == nil || v == nil {
		return nil, errors.New("exchange: a signer and a verifier are required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("exchange: URL %q is not an http(s) URL", cfg.URL)
	}
	if cfg.SenderID == "" {
		return nil, errors.New("exchange: SenderID is required")
	}
	cfg.SetDefaults()
	password, err := cfg.Password.Resolve(o.Getenv)
	if err != nil {
		return nil, fmt.Errorf("exchange: %s.password: %w", cfg.System, err)
	}
	tlsConfig, err := cfg.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("exchange: %s.%w", cfg.System, err)
	}

	c := &Client{cfg: cfg, password: password, signer: s, verifier: v, masker: o.Masker, log: o.Logger, obs: o.Observers,
		clock: o.Clock, newID: o.NewID, upstream: u.Host + u.Path}
	if c.masker == nil {
		c.masker = pii.New(nil)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = clockwork.NewRealClock()
	}
	if c.newID == nil {
		c.newID = newUUID
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:     tlsConfig,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   true,
		}}
	}
	c.hc = hc
	c.breaker = breaker.New(cfg.Breaker, c.clock.Now)
	c.shared = o.Replays
	c.replays = &replayCache{window: cfg.ReplayWindow, max: maxReplayEntries, seen: map[[32]byte]time.Time{}}
	return c, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// errDeadline is why a call's context ends when its deadline passes.
var errDeadline = errors.New("exchange: the call's deadline passed")

// System is the upstream's name.
func (c *Client) System() string { return c.cfg.System }

// BreakerState is the upstream breaker's state: "closed", "half-open" or
// "open".
func (c *Client) BreakerState() string { return c.breaker.State() }

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// backoff is exponential with full jitter: attempt n waits a uniformly
// random time in [0, min·2ⁿ], capped at max, so callers retrying together
// do not retry together.
func backoff(min, max time.Duration, n int) time.Duration {
	ceil := min << n
	if ceil <= 0 || ceil > max {
		ceil = max
	}
	r, err := rand.Int(rand.Reader, big.NewInt(int64(ceil)+1))
	if err != nil {
		return ceil
	}
	return time.Duration(r.Int64())
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Do sends call and returns the verified response. Failures are *Error;
// a SOAP fault is wrapped in one (errors.As finds the *shep.Fault).
func (c *Client) Do(ctx context.Context, call Call) (*Result, error) {
	if call.App == nil {
		call.App = AppFrom(ctx)
	}
	rec := &Record{System: c.cfg.System, ServiceID: call.ServiceID, MessageID: c.newID(),
		CorrelationID: call.CorrelationID, App: call.App, Started: c.clock.Now()}
	var res *Result
	var err error
	if generation, ok := c.breaker.Allow(); ok {
		res, err = c.exchange(ctx, call, rec)
		var e *Error
		switch {
		case errors.As(err, &e) && e.Kind == OutcomeCanceled:
			// Abandoned before it could be called a hang: it says
			// nothing of the upstream, but frees its probe.
			c.breaker.Release(generation)
		default:
			c.breaker.Done(generation, err != nil && !(errors.As(err, &e) && !e.SystemFailure()))
		}
	} else {
		err = &Error{Kind: OutcomeBreakerOpen, Class: ClassSystem, Err: ErrBreakerOpen}
	}
	rec.Duration = c.clock.Now().Sub(rec.Started)
	var e *Error
	switch {
	case err == nil:
		rec.Outcome = OutcomeOK
	case errors.As(err, &e):
		e.System, e.ServiceID, e.Record = c.cfg.System, call.ServiceID, rec
		rec.Outcome, rec.SystemFailure, rec.Error = e.Kind, e.SystemFailure(), pii.Text(e.Error())
	default:
		e = &Error{Kind: OutcomeMalformed, Class: ClassSystem, System: c.cfg.System, ServiceID: call.ServiceID, Record: rec, Err: err}
		rec.Outcome, rec.SystemFailure, rec.Error = e.Kind, true, pii.Text(err.Error())
		err = e
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "exchange",
		slog.String("system", rec.System), slog.String("service_id", rec.ServiceID),
		slog.String("message_id", rec.MessageID), slog.String("outcome", string(rec.Outcome)),
		slog.Int("attempts", len(rec.Steps)), slog.Duration("duration", rec.Duration),
		slog.Bool("system_failure", rec.SystemFailure), slog.String("error", rec.Error))
	for _, o := range c.obs {
		o.Observe(rec)
	}
	if err != nil {
		return nil, err
	}
	res.Record = rec
	return res, nil
}

func (c *Client) exchange(ctx context.Context, call Call, rec *Record) (*Result, error) {
	req := shep.Request{MessageID: rec.MessageID, CorrelationID: call.CorrelationID, ServiceID: call.ServiceID,
		MessageDate: c.clock.Now(), SenderID: c.cfg.SenderID, Password: c.password, Properties: call.Properties,
		SessionID: call.SessionID, RouteID: call.RouteID, Data: call.Payload, DataMode: cmp.Or(call.DataMode, c.cfg.DataMode),
		DataType: call.DataType}
	envelope, err := req.Envelope()
	if err != nil {
		return nil, &Error{Kind: OutcomeMalformed, Class: ClassBusiness, Err: err}
	}
	// One deadline for the whole call, on the injected clock: the
	// attempts and the waits between them share it. (clockwork's own
	// WithTimeout makes a context whose Err blocks until it is done.)
	bounded, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := c.clock.AfterFunc(c.cfg.Deadline, func() { cancel(errDeadline) })
	defer timer.Stop()
	k := &progress{c: c, caller: ctx, ctx: bounded, deadline: rec.Started.Add(c.cfg.Deadline), envelope: envelope, rec: rec,
		started: rec.Started}
	return k.run()
}

// unverifiedFault reads a response that failed verification, as far as to
// know whether it is SOAP and, if it is a fault, which.
func (c *Client) unverifiedFault(raw []byte) (fault *shep.Fault, soap bool) {
	d, err := xmldoc.Parse(raw, c.cfg.Limits)
	if err != nil || d.Local(d.Root) != "Envelope" {
		return nil, false
	}
	body := xmldoc.None
	d.Children(d.Root, func(n int32) bool {
		if d.Local(n) == "Body" {
			body = n
			return false
		}
		return true
	})
	if body == xmldoc.None {
		return nil, true
	}
	_, err = shep.ParseBody(d.AppendExcC14N(nil, body, nil), c.cfg.Limits)
	if errors.As(err, &fault) {
		return fault, true
	}
	return nil, true
}

// ReplayStore is a memory of answers' signatures that outlives the process
// and is shared by replicas. First records key (a signature's SHA-256) as
// seen at now and reports whether it is new within window.
type ReplayStore interface {
	First(ctx context.Context, key [32]byte, now time.Time, window time.Duration) (bool, error)
}

// firstSeen reports whether an answer's signature is new: to this process
// and, when one is configured, to the shared memory. The shared memory
// failing leaves the process's own, and the binding, on guard; it is
// logged, not a failure of the call.
func (c *Client) firstSeen(ctx context.Context, sig []byte) bool {
	key := sha256.Sum256(sig)
	now := c.clock.Now()
	local := c.replays.first(key, now)
	if c.shared == nil {
		return local
	}
	shared, err := c.shared.First(ctx, key, now, c.cfg.ReplayWindow)
	if err != nil {
		c.log.Warn("the shared replay memory failed; this process's alone is used", "system", c.cfg.System, "error", err)
		return local
	}
	return local && shared
}

// maxReplayEntries bounds the replay cache: at SHEP's pace, hours of
// answers.
const maxReplayEntries = 200_000

// replayCache remembers the signatures of answers for a window. It is per
// process: replicas each keep their own (README: what bounds freshness).
type replayCache struct {
	window time.Duration
	max    int
	mu     sync.Mutex
	seen   map[[32]byte]time.Time
}

// first records a signature's hash and reports whether it is new within
// the window.
func (r *replayCache) first(key [32]byte, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.seen[key]; ok && now.Sub(t) < r.window {
		return false
	}
	if len(r.seen) >= r.max {
		for k, t := range r.seen {
			if now.Sub(t) >= r.window {
				delete(r.seen, k)
			}
		}
		// Still full: forget the half map order picks, and let the
		// binding stand guard for them.
		for k := range r.seen {
			if len(r.seen) < r.max/2 {
				break
			}
			delete(r.seen, k)
		}
	}
	r.seen[key] = now
	return true
}

func (c *Client) maskBody(b []byte) string {
	m := c.masker.XML(b)
	if len(m) > c.cfg.RecordBodyBytes {
		return string(m[:c.cfg.RecordBodyBytes]) + fmt.Sprintf("…[%d bytes truncated]", len(m)-c.cfg.RecordBodyBytes)
	}
	return string(m)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

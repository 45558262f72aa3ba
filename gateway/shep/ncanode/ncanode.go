// Package ncanode signs through NCANode (the signing server Kazakh
// integrators run, v3 JSON API: protocol.md §9) instead of with a key
// Kopir holds: for organisations whose keys live in NCANode's hands or on
// tokens. It sends the key file and its password with each request, as
// NCANode's API asks, and gets back the envelope signed in the Smart Bridge
// layout (/wsse/sign) or a document with an enveloped signature
// (/xml/sign); /wsse/verify asks NCANode's opinion of an envelope.
//
// NCANode is a digital system like SHEP: calls have a deadline and are
// retried with back-off on transport errors and 5xx answers, a breaker
// stops calling it while it keeps failing, every call is observed
// (metrics), and its failures reach the exchange as failures of a digital
// system, reported to the desk.
package ncanode

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/jonboulle/clockwork"

	"github.com/kopir/kopir/config/field"
	"github.com/kopir/kopir/gateway/shep/breaker"
)

// Config is the signing.ncanode section of Kopir's configuration.
type Config struct {
	// URL is NCANode's base URL. Required. (NCANode listens on 14579.)
	URL string `yaml:"url"`
	// Key is the PKCS#12 key file NCANode is to sign with; its password is
	// identity.p12_password. Default: identity.p12.
	Key string `yaml:"key"`
	// Password is where the key file's password is. Default:
	// identity.p12_password.
	Password field.Secret `yaml:"password"`
	// Timeout bounds one call, its retries included. Default: 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Attempts per call. Default: 3.
	Attempts int `yaml:"attempts"`
	// BackoffMin and BackoffMax bound the back-off between attempts.
	// Default: 100ms and 2s.
	BackoffMin time.Duration `yaml:"backoff_min"`
	BackoffMax time.Duration `yaml:"backoff_max"`
	// Breaker stops calling a failing NCANode. Default: 5 failures, 30s.
	Breaker breaker.Config `yaml:"breaker"`
}

// SetDefaults fills what is unset with the defaults documented on Config.
func (c *Config) SetDefaults() {
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Attempts == 0 {
		c.Attempts = 3
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = 100 * time.Millisecond
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = 2 * time.Second
	}
	c.Breaker.SetDefaults()
}

// Validate reports every problem, each named by its field.
func (c *Config) Validate(getenv func(string) string) error {
	var e field.Errors
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		e.Add("url", "required: NCANode's http(s) URL")
	}
	if c.Key == "" {
		e.Add("key", "required: the key file NCANode signs with")
	}
	e.Exists("key", c.Key)
	if !c.Password.Set() {
		e.Add("password", "required: where the key file's password is (env or file)")
	}
	e.Secret("password", c.Password, getenv)
	if c.Attempts < 1 || c.Attempts > 10 {
		e.Add("attempts", "%d is not within 1..10", c.Attempts)
	}
	return e.Err()
}

// Observer hears of every call NCANode answered or did not (metrics).
type Observer interface {
	NCANodeCall(operation, outcome string, d time.Duration)
}

// Options are what a Client takes besides its configuration.
type Options struct {
	// Getenv reads the password. Default: os.Getenv.
	Getenv func(string) string
	// Clock times calls and the breaker. Default: the real clock.
	Clock clockwork.Clock
	// HTTPClient replaces the default (its timeout is the call's).
	HTTPClient *http.Client
	Observer   Observer
}

// Client calls one NCANode. It is safe for concurrent use.
type Client struct {
	base     string
	key      string // the key file, base64, as the API takes it
	password string
	http     *retryablehttp.Client
	breaker  *breaker.Breaker
	clock    clockwork.Clock
	timeout  time.Duration
	obs      Observer
}

// New reads the key file and returns a client.
func New(cfg Config, o Options) (*Client, error) {
	cfg.SetDefaults()
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	key, err := os.ReadFile(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("ncanode: %w", err)
	}
	password, err := cfg.Password.Resolve(o.Getenv)
	if err != nil {
		return nil, fmt.Errorf("ncanode: password: %w", err)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout}
	}
	c := &Client{base: cfg.URL, key: base64.StdEncoding.EncodeToString(key), password: password,
		breaker: breaker.New(cfg.Breaker, o.Clock.Now), clock: o.Clock, timeout: cfg.Timeout, obs: o.Observer}
	for len(c.base) > 0 && c.base[len(c.base)-1] == '/' {
		c.base = c.base[:len(c.base)-1]
	}
	c.http = &retryablehttp.Client{
		HTTPClient:   hc,
		RetryWaitMin: cfg.BackoffMin,
		RetryWaitMax: cfg.BackoffMax,
		RetryMax:     cfg.Attempts - 1,
		// NCANode's 4xx are the key's or the request's problems, final;
		// its 5xx and transport errors may pass.
		CheckRetry:   retryablehttp.DefaultRetryPolicy,
		Backoff:      retryablehttp.DefaultBackoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return c, nil
}

// Error is NCANode's refusal, or a failure to reach it.
type Error struct {
	// Op is the API path called.
	Op string
	// Status is NCANode's status (its HTTP status, or the one in its JSON
	// answer); 0 when it did not answer.
	Status int
	// Message is NCANode's message.
	Message string
	// Err is the transport's error, when NCANode did not answer.
	Err error
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("ncanode %s: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("ncanode %s: %d %s", e.Op, e.Status, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// KeyProblem reports whether NCANode refused the key (its 400s: a wrong
// password, an unreadable file) rather than failed.
func (e *Error) KeyProblem() bool { return e.Status == http.StatusBadRequest }

// ErrBreakerOpen is a call not made: NCANode kept failing.
var ErrBreakerOpen = fmt.Errorf("ncanode: %w", breaker.ErrOpen)

type answer struct {
	Status  int      `json:"status"`
	Message string   `json:"message"`
	XML     string   `json:"xml"`
	Valid   *bool    `json:"valid"`
	Signers []Signer `json:"signers"`
}

// Signer is one signer NCANode found in a verified message.
type Signer struct {
	Valid        bool   `json:"valid"`
	NotBefore    string `json:"notBefore"`
	NotAfter     string `json:"notAfter"`
	SerialNumber string `json:"serialNumber"`
	SignAlg      string `json:"signAlg"`
	Subject      any    `json:"subject"`
	Issuer       any    `json:"issuer"`
}

// maxAnswer bounds what is read of NCANode's answer.
const maxAnswer = 32 << 20

func (c *Client) call(ctx context.Context, op string, req any) (*answer, error) {
	start := c.clock.Now()
	gen, ok := c.breaker.Allow()
	if !ok {
		c.observe(op, "breaker_open", start)
		return nil, ErrBreakerOpen
	}
	a, err := c.do(ctx, op, req)
	var e *Error
	failed := err != nil && !(errors.As(err, &e) && e.KeyProblem()) && !errors.Is(err, context.Canceled)
	c.breaker.Done(gen, failed)
	outcome := "ok"
	switch {
	case errors.As(err, &e) && e.Status != 0:
		outcome = fmt.Sprintf("status_%d", e.Status)
	case err != nil:
		outcome = "transport"
	}
	c.observe(op, outcome, start)
	return a, err
}

func (c *Client) observe(op, outcome string, start time.Time) {
	if c.obs != nil {
		c.obs.NCANodeCall(op, outcome, c.clock.Now().Sub(start))
	}
}

func (c *Client) do(ctx context.Context, op string, req any) (*answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	body, err := json.Marshal(req)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	hreq, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, c.base+op, body)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	if len(raw) > maxAnswer {
		return nil, &Error{Op: op, Status: resp.StatusCode, Message: "an answer over 32 MiB"}
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, &Error{Op: op, Status: resp.StatusCode, Message: "not NCANode's JSON: " + string(truncate(raw, 200))}
	}
	if resp.StatusCode != http.StatusOK || a.Status != http.StatusOK {
		status := a.Status
		if resp.StatusCode != http.StatusOK {
			status = resp.StatusCode
		}
		return nil, &Error{Op: op, Status: status, Message: a.Message}
	}
	return &a, nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// Sign signs a SOAP envelope (/wsse/sign): NCANode answers it in the Smart
// Bridge layout, the algorithm chosen from the key.
func (c *Client) Sign(ctx context.Context, envelope []byte) ([]byte, error) {
	a, err := c.call(ctx, "/wsse/sign", map[string]any{"xml": string(envelope), "key": c.key, "password": c.password})
	if err != nil {
		return nil, err
	}
	if a.XML == "" {
		return nil, &Error{Op: "/wsse/sign", Status: a.Status, Message: "an answer without xml"}
	}
	return []byte(a.XML), nil
}

// SignEnveloped signs a whole document with an enveloped signature
// (/xml/sign), as GBD UL requests must be.
func (c *Client) SignEnveloped(ctx context.Context, document []byte) ([]byte, error) {
	a, err := c.call(ctx, "/xml/sign", map[string]any{"xml": string(document),
		"signers": []map[string]string{{"key": c.key, "password": c.password}}})
	if err != nil {
		return nil, err
	}
	if a.XML == "" {
		return nil, &Error{Op: "/xml/sign", Status: a.Status, Message: "an answer without xml"}
	}
	return []byte(a.XML), nil
}

// Verification is NCANode's opinion of a signed envelope.
type Verification struct {
	Valid   bool
	Signers []Signer
}

// Verify asks NCANode whether an envelope's signature is valid
// (/wsse/verify). NCANode reads the certificate only from a KeyIdentifier,
// so it cannot judge SHEP's own answers (X509IssuerSerial): Kopir's
// Verifier does that.
func (c *Client) Verify(ctx context.Context, envelope []byte) (*Verification, error) {
	a, err := c.call(ctx, "/wsse/verify", map[string]any{"xml": string(envelope)})
	if err != nil {
		return nil, err
	}
	if a.Valid == nil {
		return nil, &Error{Op: "/wsse/verify", Status: a.Status, Message: "an answer without valid"}
	}
	return &Verification{Valid: *a.Valid, Signers: a.Signers}, nil
}

// Package config is Kopir's configuration: one YAML file decoded into one
// struct, unknown keys refused, environment overrides (KOPIR_…) applied,
// defaults filled in one place, and everything validated at start-up with
// errors that name the field. Secrets are never in the file: it names the
// environment variable or file that holds each one.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kopir/kopir/adapters/payments"
	"github.com/kopir/kopir/gateway/api/access"
	"github.com/kopir/kopir/gateway/shep"
	"github.com/kopir/kopir/gateway/shep/exchange"
)

// Duration is a time.Duration written "30s" in YAML and the environment.
type Duration time.Duration

// UnmarshalText reads "30s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes "30s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Secret names where a secret is: an environment variable or a file. The
// value itself never appears in configuration.
type Secret struct {
	// Env is the environment variable holding it.
	Env string `yaml:"env"`
	// File is a file holding it (a trailing newline is dropped).
	File string `yaml:"file"`
}

// Resolve reads the secret; an unset Secret is "".
func (s Secret) Resolve(getenv func(string) string) (string, error) {
	switch {
	case s.Env != "" && s.File != "":
		return "", errors.New("give env or file, not both")
	case s.Env != "":
		v := getenv(s.Env)
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty or unset", s.Env)
		}
		return v, nil
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", nil
}

// Set reports whether the secret is configured.
func (s Secret) Set() bool { return s.Env != "" || s.File != "" }

// Config is all of Kopir's configuration.
type Config struct {
	// Listen is the API's address. Default: 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// Identity is the gateway's signing key and certificate.
	Identity Identity `yaml:"identity"`
	// SHEP is the digital-government gateway.
	SHEP Upstream `yaml:"shep"`
	// Payments is the digital-government payment gateway.
	Payments Upstream `yaml:"payments"`
	// Services are the service ids per adapter (unconfirmed: per contract).
	Services Services `yaml:"services"`
	// MCI is the monthly calculation index in tenge by year. Default:
	// 2024: 3692, 2025: 3932, 2026: 4325.
	MCI map[int]int64 `yaml:"mci"`
	// Log is the log level: debug, info, warn, error. Default: info.
	Log string `yaml:"log"`
	// Reports are the failure reports to the support desk.
	Reports Reports `yaml:"reports"`
	// TLS serves the API over TLS, and lets clients authenticate with
	// certificates. Default: plain HTTP (behind a TLS-terminating proxy).
	TLS ServerTLS `yaml:"tls"`
	// Clients are the back ends allowed to call the API. Required unless
	// allow_anonymous.
	Clients []Client `yaml:"clients"`
	// AllowAnonymous serves the API to anyone: development only.
	// Default: false.
	AllowAnonymous bool `yaml:"allow_anonymous"`
	// Ops is the operators' listener: metrics, health, maintenance.
	Ops Ops `yaml:"ops"`
}

// ServerTLS is the API listener's TLS.
type ServerTLS struct {
	// Cert and Key are PEM files. Both or neither.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// ClientCA is a PEM file of the CAs client certificates chain to;
	// set, clients may authenticate by certificate (cert_sha256).
	ClientCA string `yaml:"client_ca"`
}

// Client is one back end and what it may do.
type Client struct {
	// Name names it in logs. Required, unique.
	Name string `yaml:"name"`
	// APIKeySHA256 are hex SHA-256 hashes of its API keys ('kopir
	// api-key' makes a key and its hash). Keys themselves never go here.
	APIKeySHA256 []string `yaml:"api_key_sha256"`
	// CertSHA256 are hex SHA-256 fingerprints of its client certificates.
	CertSHA256 []string `yaml:"cert_sha256"`
	// Allow are its rights: legal_entities, sole_proprietors, persons,
	// payments, report, reports_read, or * for all. Default: none.
	Allow []string `yaml:"allow"`
	// Services are the state services it acts for, as its calls name them
	// in Kopir-Service-Name (and failure reports in service_name); a call
	// naming another, or none, gets 403. Default: any.
	Services []string `yaml:"services"`
	// Rate is its requests per second; 0 is no limit. Default: 0.
	Rate float64 `yaml:"rate"`
	// Burst is the most requests at once. Default: 2 × rate, at least 1.
	Burst int `yaml:"burst"`
}

// Ops is the operators' listener.
type Ops struct {
	// Listen is its address: /metrics, /healthz, /readyz, /maintenance.
	// Keep it off public networks. Default: 127.0.0.1:9464.
	Listen string `yaml:"listen"`
	// ReadinessCache is how long a readiness result is reused.
	// Default: 2s.
	ReadinessCache Duration `yaml:"readiness_cache"`
	// CertificateMinValidity: readiness fails when the signing
	// certificate has less left than this (alerts warn weeks earlier).
	// Default: 24h.
	CertificateMinValidity Duration `yaml:"certificate_min_validity"`
	// BreakersAffectReadiness makes an open upstream breaker fail
	// readiness. Default: false (every replica would go unready at once
	// when SHEP is down, and callers would get connection errors instead
	// of problem details).
	BreakersAffectReadiness bool `yaml:"breakers_affect_readiness"`
	// MaintenanceToken is where the bearer token that may turn the
	// maintenance switch is (at least 16 characters). Unset: only
	// loopback callers may turn it.
	MaintenanceToken Secret `yaml:"maintenance_token"`
}

// Reports configure the failure-report outbox and its mail.
type Reports struct {
	// Database is the outbox's SQLite file. Default: kopir-outbox.db.
	Database string `yaml:"database"`
	// Postgres is where a postgres:// URL is (it holds a password): set,
	// the outbox is in PostgreSQL, shared by every replica, and Database
	// is unused. Default: unset (SQLite).
	Postgres Secret `yaml:"postgres"`
	// To are the desk's addresses. Default: [sd@nitec.kz].
	To []string `yaml:"to"`
	// From is the sender address. Required.
	From string `yaml:"from"`
	// SMTP is the relay. Required.
	SMTP SMTP `yaml:"smtp"`
	// Hold delays an incident's first mail to gather simultaneous
	// failures into it. Default: 0s (at once).
	Hold Duration `yaml:"hold"`
	// Window is the least time between two mails about one system failing
	// one way; reports in between go together. Default: 10m.
	Window Duration `yaml:"window"`
	// BackoffMin, BackoffMax bound delivery retries. Default: 5s, 10m.
	BackoffMin Duration `yaml:"backoff_min"`
	BackoffMax Duration `yaml:"backoff_max"`
	// MaxEvidence is how many reports of an incident get their evidence
	// attached (all are listed). Default: 20.
	MaxEvidence int `yaml:"max_evidence"`
	// MaxUploadBytes bounds a back end's report with its screenshots.
	// Default: 20971520 (20 MiB).
	MaxUploadBytes int64 `yaml:"max_upload_bytes"`
}

// SMTP is a mail relay.
type SMTP struct {
	// Host is the relay. Required.
	Host string `yaml:"host"`
	// Port. Default: 587 for starttls, 465 for tls, 25 for none.
	Port int `yaml:"port"`
	// TLS is starttls, tls (implicit) or none (a local relay only).
	// Default: starttls.
	TLS string `yaml:"tls"`
	// CA is a PEM file of the relay's CAs. Default: the system's.
	CA string `yaml:"ca"`
	// Username for AUTH PLAIN. Default: none (no AUTH).
	Username string `yaml:"username"`
	// Password is where the password is.
	Password Secret `yaml:"password"`
	// Timeout bounds one delivery. Default: 1m.
	Timeout Duration `yaml:"timeout"`
	// HELO is the name given to the relay. Default: localhost.
	HELO string `yaml:"helo"`
}

// Identity is a key and its certificate chain: PEM files, or a PKCS#12
// file with its password.
type Identity struct {
	Key  string `yaml:"key"`
	Cert string `yaml:"cert"`
	P12  string `yaml:"p12"`
	// P12Password is where the PKCS#12 password is.
	P12Password Secret `yaml:"p12_password"`
}

// Upstream is one system reached through SHEP's synchronous channel.
type Upstream struct {
	// URL is the SendMessage endpoint. Required.
	URL string `yaml:"url"`
	// SenderID is the login the operator issued. Required.
	SenderID string `yaml:"sender_id"`
	// Password is where the sender's password is.
	Password Secret `yaml:"password"`
	// Trust are PEM files of the CAs (or self-signed certificates) whose
	// response signatures are accepted. Required.
	Trust []string `yaml:"trust"`
	// Pinned are PEM files of leaf certificates accepted as they are.
	Pinned []string `yaml:"pinned"`
	// Timeout bounds each attempt. Default: 30s.
	Timeout Duration `yaml:"timeout"`
	// Attempts per call. Default: 3.
	Attempts int `yaml:"attempts"`
	// BackoffMin, BackoffMax bound the jittered back-off. Default: 200ms, 5s.
	BackoffMin Duration `yaml:"backoff_min"`
	BackoffMax Duration `yaml:"backoff_max"`
	// MaxResponseBytes bounds a response. Default: 16 MiB.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// DataMode is how payloads travel: children, escaped, cdata. Default:
	// children.
	DataMode shep.DataMode `yaml:"data_mode"`
	// ClockSkew tolerated in response Timestamps. Default: 60s.
	ClockSkew Duration `yaml:"clock_skew"`
	// Faults classes SHEP's fault codes (unconfirmed: configuration).
	Faults exchange.FaultTable `yaml:"faults"`
	// Breaker: consecutive failures to open, how long open, probes.
	// Default: 5, 30s, 1.
	Breaker Breaker `yaml:"breaker"`
	// TLS for the connection.
	TLS TLS `yaml:"tls"`
}

// Breaker is exchange.BreakerConfig in configuration form.
type Breaker struct {
	Failures uint32   `yaml:"failures"`
	OpenFor  Duration `yaml:"open_for"`
	Probes   uint32   `yaml:"probes"`
}

// TLS configures an upstream connection.
type TLS struct {
	// CA is a PEM file of the CAs the upstream's TLS certificate chains
	// to. Default: the system's.
	CA string `yaml:"ca"`
	// ClientCert and ClientKey are PEM files for mutual TLS.
	ClientCert string `yaml:"client_cert"`
	ClientKey  string `yaml:"client_key"`
}

// Services are service ids; empty ones take the adapters' defaults.
type Services struct {
	Persons         string `yaml:"persons"`
	LegalEntities   string `yaml:"legal_entities"`
	SoleProprietors string `yaml:"sole_proprietors"`
	PaymentsByPayer string `yaml:"payments_by_payer"`
	PaymentByID     string `yaml:"payment_by_id"`
}

// Load reads, overrides from the environment, fills defaults and validates.
func Load(path string, getenv func(string) string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b, getenv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse is Load on bytes.
func Parse(b []byte, getenv func(string) string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	// An empty file is all defaults (yaml.v3 reports it as io.EOF), and
	// validation says what is missing.
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := override(reflect.ValueOf(&c).Elem(), "KOPIR", getenv); err != nil {
		return nil, err
	}
	c.defaults()
	if err := c.Validate(getenv); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Listen, "127.0.0.1:8080")
	def(&c.Log, "info")
	def(&c.Ops.Listen, "127.0.0.1:9464")
	if c.Ops.ReadinessCache == 0 {
		c.Ops.ReadinessCache = Duration(2 * time.Second)
	}
	if c.Ops.CertificateMinValidity == 0 {
		c.Ops.CertificateMinValidity = Duration(24 * time.Hour)
	}
	for i := range c.Clients {
		if cl := &c.Clients[i]; cl.Burst == 0 {
			cl.Burst = max(1, int(2*cl.Rate))
		}
	}
	r := &c.Reports
	def(&r.Database, "kopir-outbox.db")
	if len(r.To) == 0 {
		r.To = []string{"sd@nitec.kz"}
	}
	def(&r.SMTP.TLS, "starttls")
	if r.SMTP.Port == 0 {
		r.SMTP.Port = map[string]int{"starttls": 587, "tls": 465, "none": 25}[r.SMTP.TLS]
	}
	for _, d := range []struct {
		p *Duration
		v time.Duration
	}{{&r.Window, 10 * time.Minute}, {&r.BackoffMin, 5 * time.Second}, {&r.BackoffMax, 10 * time.Minute}, {&r.SMTP.Timeout, time.Minute}} {
		if *d.p == 0 {
			*d.p = Duration(d.v)
		}
	}
	if r.MaxEvidence == 0 {
		r.MaxEvidence = 20
	}
	if r.MaxUploadBytes == 0 {
		r.MaxUploadBytes = 20 << 20
	}
	if c.MCI == nil {
		c.MCI = map[int]int64{}
		for y, v := range payments.DefaultMCI {
			c.MCI[y] = v
		}
	}
	for _, u := range []*Upstream{&c.SHEP, &c.Payments} {
		if u.Timeout == 0 {
			u.Timeout = Duration(30 * time.Second)
		}
		if u.Attempts == 0 {
			u.Attempts = 3
		}
		if u.BackoffMin == 0 {
			u.BackoffMin = Duration(200 * time.Millisecond)
		}
		if u.BackoffMax == 0 {
			u.BackoffMax = Duration(5 * time.Second)
		}
		if u.MaxResponseBytes == 0 {
			u.MaxResponseBytes = 16 << 20
		}
		def((*string)(&u.DataMode), string(shep.DataChildren))
		if u.ClockSkew == 0 {
			u.ClockSkew = Duration(time.Minute)
		}
		if u.Breaker.Failures == 0 {
			u.Breaker.Failures = 5
		}
		if u.Breaker.OpenFor == 0 {
			u.Breaker.OpenFor = Duration(30 * time.Second)
		}
		if u.Breaker.Probes == 0 {
			u.Breaker.Probes = 1
		}
	}
}

// FieldError is a configuration value that is wrong, named by its path.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "config: " + e.Field + ": " + e.Msg }

// Validate checks everything and returns every problem found, joined.
func (c *Config) Validate(getenv func(string) string) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	exists := func(field, path string) {
		if path == "" {
			return
		}
		if _, err := os.Stat(path); err != nil {
			bad(field, "%v", err)
		}
	}
	switch c.Log {
	case "debug", "info", "warn", "error":
	default:
		bad("log", "%q is not debug, info, warn or error", c.Log)
	}
	id := c.Identity
	switch {
	case id.P12 != "" && (id.Key != "" || id.Cert != ""):
		bad("identity", "give key and cert, or p12, not both")
	case id.P12 != "":
		exists("identity.p12", id.P12)
		if !id.P12Password.Set() {
			bad("identity.p12_password", "required with identity.p12 (env or file)")
		} else if _, err := id.P12Password.Resolve(getenv); err != nil {
			bad("identity.p12_password", "%v", err)
		}
	case id.Key != "" && id.Cert != "":
		exists("identity.key", id.Key)
		exists("identity.cert", id.Cert)
	default:
		bad("identity", "required: key and cert, or p12")
	}
	for _, u := range []struct {
		name string
		up   *Upstream
	}{{"shep", &c.SHEP}, {"payments", &c.Payments}} {
		f := func(s string) string { return u.name + "." + s }
		if !strings.HasPrefix(u.up.URL, "http://") && !strings.HasPrefix(u.up.URL, "https://") {
			bad(f("url"), "required: an http(s) URL")
		}
		if u.up.SenderID == "" {
			bad(f("sender_id"), "required")
		}
		if _, err := u.up.Password.Resolve(getenv); err != nil {
			bad(f("password"), "%v", err)
		}
		if len(u.up.Trust)+len(u.up.Pinned) == 0 {
			bad(f("trust"), "required: the CAs whose response signatures are accepted")
		}
		for i, p := range u.up.Trust {
			exists(fmt.Sprintf("%s[%d]", f("trust"), i), p)
		}
		for i, p := range u.up.Pinned {
			exists(fmt.Sprintf("%s[%d]", f("pinned"), i), p)
		}
		if u.up.Attempts < 1 || u.up.Attempts > 10 {
			bad(f("attempts"), "%d is not within 1..10", u.up.Attempts)
		}
		if u.up.BackoffMin > u.up.BackoffMax {
			bad(f("backoff_min"), "greater than backoff_max")
		}
		switch u.up.DataMode {
		case shep.DataChildren, shep.DataEscaped, shep.DataCDATA:
		default:
			bad(f("data_mode"), "%q is not children, escaped or cdata", u.up.DataMode)
		}
		if (u.up.TLS.ClientCert == "") != (u.up.TLS.ClientKey == "") {
			bad(f("tls"), "client_cert and client_key go together")
		}
		exists(f("tls.ca"), u.up.TLS.CA)
		exists(f("tls.client_cert"), u.up.TLS.ClientCert)
		exists(f("tls.client_key"), u.up.TLS.ClientKey)
	}
	for year, v := range c.MCI {
		if year < 2000 || year > 2100 || v <= 0 {
			bad(fmt.Sprintf("mci.%d", year), "a year 2000..2100 and a positive amount")
		}
	}
	r := c.Reports
	address := func(field, a string) {
		if _, err := mail.ParseAddress(a); err != nil {
			bad(field, "%q is not an e-mail address", a)
		}
	}
	if r.From == "" {
		bad("reports.from", "required: the address failure reports come from")
	} else {
		address("reports.from", r.From)
	}
	for i, a := range r.To {
		address(fmt.Sprintf("reports.to[%d]", i), a)
	}
	if r.SMTP.Host == "" {
		bad("reports.smtp.host", "required: the relay failure reports go through")
	}
	switch r.SMTP.TLS {
	case "starttls", "tls", "none":
	default:
		bad("reports.smtp.tls", "%q is not starttls, tls or none", r.SMTP.TLS)
	}
	if r.SMTP.Port < 1 || r.SMTP.Port > 65535 {
		bad("reports.smtp.port", "%d is not a port", r.SMTP.Port)
	}
	if r.SMTP.Username != "" && !r.SMTP.Password.Set() {
		bad("reports.smtp.password", "required with reports.smtp.username (env or file)")
	} else if _, err := r.SMTP.Password.Resolve(getenv); err != nil {
		bad("reports.smtp.password", "%v", err)
	}
	exists("reports.smtp.ca", r.SMTP.CA)
	if r.Postgres.Set() {
		if u, err := r.Postgres.Resolve(getenv); err != nil {
			bad("reports.postgres", "%v", err)
		} else if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
			bad("reports.postgres", "not a postgres:// URL")
		}
	}
	if r.BackoffMin > r.BackoffMax {
		bad("reports.backoff_min", "greater than backoff_max")
	}
	if r.Hold < 0 || r.Hold > r.Window {
		bad("reports.hold", "must be within 0..window")
	}
	if r.MaxEvidence < 1 {
		bad("reports.max_evidence", "must be at least 1")
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		bad("tls", "cert and key go together")
	}
	if c.TLS.ClientCA != "" && c.TLS.Cert == "" {
		bad("tls.client_ca", "needs tls.cert and tls.key")
	}
	exists("tls.cert", c.TLS.Cert)
	exists("tls.key", c.TLS.Key)
	exists("tls.client_ca", c.TLS.ClientCA)
	if len(c.Clients) == 0 && !c.AllowAnonymous {
		bad("clients", "required: the back ends allowed to call the API (or allow_anonymous: true, for development only)")
	}
	if _, err := access.New(c.AccessClients(), nil); err != nil {
		bad("clients", "%v", err)
	}
	for i, cl := range c.Clients {
		if cl.Rate < 0 {
			bad(fmt.Sprintf("clients[%d].rate", i), "must not be negative")
		}
		if len(cl.CertSHA256) > 0 && c.TLS.ClientCA == "" {
			bad(fmt.Sprintf("clients[%d].cert_sha256", i), "needs tls.client_ca")
		}
	}
	if c.Ops.Listen == c.Listen {
		bad("ops.listen", "must differ from listen: metrics and health have their own listener")
	}
	if c.Ops.MaintenanceToken.Set() {
		if tok, err := c.Ops.MaintenanceToken.Resolve(getenv); err != nil {
			bad("ops.maintenance_token", "%v", err)
		} else if len(tok) < 16 {
			bad("ops.maintenance_token", "shorter than 16 characters")
		}
	}
	return errors.Join(errs...)
}

// OutboxDatabase is the outbox's database: the PostgreSQL URL when one is
// configured, else the SQLite file.
func (r Reports) OutboxDatabase(getenv func(string) string) (string, error) {
	if r.Postgres.Set() {
		return r.Postgres.Resolve(getenv)
	}
	return r.Database, nil
}

// AccessClients are the clients in access's terms.
func (c *Config) AccessClients() []access.Client {
	var out []access.Client
	for _, cl := range c.Clients {
		out = append(out, access.Client{Name: cl.Name, KeySHA256: cl.APIKeySHA256, CertSHA256: cl.CertSHA256,
			Allow: cl.Allow, Services: cl.Services, Rate: cl.Rate, Burst: cl.Burst})
	}
	return out
}

// override sets fields from environment variables named by their YAML path:
// KOPIR_SHEP_URL, KOPIR_SHEP_TIMEOUT, KOPIR_SHEP_TRUST (comma-separated)…
// Maps and nested lists are left to the file.
func override(v reflect.Value, prefix string, getenv func(string) string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		f := v.Field(i)
		if f.Kind() == reflect.Struct {
			if err := override(f, name, getenv); err != nil {
				return err
			}
			continue
		}
		s := getenv(name)
		if s == "" {
			continue
		}
		if err := setFromString(f, s); err != nil {
			return &FieldError{Field: name, Msg: err.Error()}
		}
	}
	return nil
}

func setFromString(f reflect.Value, s string) error {
	if u, ok := f.Addr().Interface().(interface{ UnmarshalText([]byte) error }); ok {
		return u.UnmarshalText([]byte(s))
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		f.SetInt(n)
	case reflect.Uint32:
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return err
		}
		f.SetUint(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			return errors.New("set it in the file")
		}
		parts := strings.Split(s, ",")
		out := reflect.MakeSlice(f.Type(), len(parts), len(parts))
		for i, p := range parts {
			out.Index(i).SetString(strings.TrimSpace(p))
		}
		f.Set(out)
	default:
		return errors.New("set it in the file")
	}
	return nil
}

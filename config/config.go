// Package config is Kopir's configuration: one YAML file decoded into one
// struct, unknown keys refused, environment overrides (KOPIR_…) applied,
// defaults filled, and everything validated at start-up with errors that
// name the field. Secrets are never in the file: it names the environment
// variable or file that holds each one.
//
// Each section belongs to the component it configures — shep: and
// payments: are exchange.Config, reports: is outbox.Config, ops: is
// health.Config, clients: are access.Clients, identity: is
// signing.KeyFiles, tls: is api.TLS — and that component documents its
// fields, fills its defaults (SetDefaults) and checks them (Validate).
// This package only nests them, prefixes their field paths, and checks
// what spans sections.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kopir/kopir/adapters/legalentities"
	"github.com/kopir/kopir/adapters/payments"
	"github.com/kopir/kopir/adapters/persons"
	"github.com/kopir/kopir/config/field"
	"github.com/kopir/kopir/gateway/api"
	"github.com/kopir/kopir/gateway/api/access"
	"github.com/kopir/kopir/gateway/ops/health"
	"github.com/kopir/kopir/gateway/report/outbox"
	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/gateway/shep/ncanode"
	"github.com/kopir/kopir/signing"
)

// Secret names where a secret is (field.Secret).
type Secret = field.Secret

// FieldError is a wrong value named by its path (field.Error).
type FieldError = field.Error

// Config is all of Kopir's configuration.
type Config struct {
	// Listen is the API's address. Default: 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// Identity is the gateway's signing key and certificate.
	Identity signing.KeyFiles `yaml:"identity"`
	// SHEP is the digital-government gateway.
	SHEP exchange.Config `yaml:"shep"`
	// Payments is the digital-government payment gateway.
	Payments exchange.Config `yaml:"payments"`
	// Services are the service ids per adapter (unconfirmed: per contract).
	Services Services `yaml:"services"`
	// MCI is the monthly calculation index in tenge by year. Default:
	// payments.DefaultMCI.
	MCI payments.MCITable `yaml:"mci"`
	// Log is the log level: debug, info, warn, error. Default: info.
	Log string `yaml:"log"`
	// Reports are the failure reports to the support desk.
	Reports outbox.Config `yaml:"reports"`
	// TLS serves the API over TLS, and lets clients authenticate with
	// certificates. Default: plain HTTP (behind a TLS-terminating proxy).
	TLS api.TLS `yaml:"tls"`
	// HTTP bounds what clients may hold of the API's and the operators'
	// listeners: timeouts and a connection cap.
	HTTP api.Listening `yaml:"http"`
	// Clients are the back ends allowed to call the API. Required unless
	// allow_anonymous.
	Clients []access.Client `yaml:"clients"`
	// AllowAnonymous serves the API to anyone: development only.
	// Default: false.
	AllowAnonymous bool `yaml:"allow_anonymous"`
	// Ops is the operators' listener: metrics, health, maintenance.
	Ops health.Config `yaml:"ops"`
	// PayloadSigning is the organisation's signing key, apart from the
	// transport key of identity: it signs payloads that must carry their
	// own signature (GBD UL's requests, protocol.md §7). Default: none, and
	// legal-entity lookups answer 503 until it is set.
	PayloadSigning signing.KeyFiles `yaml:"payload_signing"`
	// Signing is who signs: Kopir with identity's key, or NCANode.
	Signing Signing `yaml:"signing"`
}

// Signing chooses the signer back end.
type Signing struct {
	// Backend is local (Kopir signs with identity's key) or ncanode
	// (NCANode signs, in the Smart Bridge layout, with the key file it
	// is sent). Default: local.
	Backend string `yaml:"backend"`
	// NCANode is NCANode's section (backend: ncanode). Its key and
	// password default to identity.p12 and identity.p12_password.
	NCANode ncanode.Config `yaml:"ncanode"`
}

// Services are the state services the adapters call: GBD FL and GBD UL
// as their own sections (persons.Config, legalentities.Config); the
// others, whose schemas are unconfirmed, by service id (empty: the
// adapters' defaults).
type Services struct {
	Persons         persons.Config       `yaml:"persons"`
	LegalEntities   legalentities.Config `yaml:"legal_entities"`
	SoleProprietors string               `yaml:"sole_proprietors"`
	PaymentsByPayer string               `yaml:"payments_by_payer"`
	PaymentByID     string               `yaml:"payment_by_id"`
	// PaymentSource is where fee checks find payments: notifications
	// (pushed by the payment gateway to POST /payments/notify and kept),
	// query (the two services above, whose schema is unconfirmed) or
	// both. Default: notifications.
	PaymentSource string `yaml:"payment_source"`
	// PaymentKBK are the budget classification codes of the licence fee
	// in notifications. Default: payments.DefaultKBK (105402).
	PaymentKBK []string `yaml:"payment_kbk"`
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
	// Every problem of shape first, each by its path; the decoder would
	// name lines and Go types.
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var e field.Errors
	shape(&doc, reflect.TypeFor[Config](), "", &e)
	if err := e.Err(); err != nil {
		return nil, err
	}
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
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.Log == "" {
		c.Log = "info"
	}
	c.Ops.SetDefaults()
	c.HTTP.SetDefaults()
	for i := range c.Clients {
		c.Clients[i].SetDefaults()
	}
	c.Reports.SetDefaults()
	if c.MCI == nil {
		c.MCI = maps.Clone(payments.DefaultMCI)
	}
	if c.Signing.Backend == "" {
		c.Signing.Backend = "local"
	}
	if n := &c.Signing.NCANode; c.Signing.Backend == "ncanode" {
		if n.Key == "" {
			n.Key = c.Identity.P12
		}
		if !n.Password.Set() {
			n.Password = c.Identity.P12Password
		}
		n.SetDefaults()
	}
	c.SHEP.System, c.Payments.System = "shep", "payments"
	c.SHEP.SetDefaults()
	c.Payments.SetDefaults()
	c.Services.LegalEntities.SetDefaults()
	if c.Services.Persons.SenderCode == "" {
		c.Services.Persons.SenderCode = c.SHEP.SenderID
	}
	c.Services.Persons.SetDefaults()
	if c.Services.PaymentSource == "" {
		c.Services.PaymentSource = "notifications"
	}
	if c.Services.PaymentKBK == nil {
		c.Services.PaymentKBK = payments.DefaultKBK
	}
}

// PayloadSigningSet says whether payload_signing names a key.
func (c *Config) PayloadSigningSet() bool {
	return c.PayloadSigning != (signing.KeyFiles{})
}

// Validate checks everything and returns every problem found, joined.
func (c *Config) Validate(getenv func(string) string) error {
	var e field.Errors
	e.ListenAddr("listen", c.Listen)
	switch c.Log {
	case "debug", "info", "warn", "error":
	default:
		e.Add("log", "%q is not debug, info, warn or error", c.Log)
	}
	e.Nest("identity", c.Identity.Validate(getenv))
	if c.PayloadSigningSet() {
		e.Nest("payload_signing", c.PayloadSigning.Validate(getenv))
	}
	e.Nest("services.persons", c.Services.Persons.Validate())
	e.Nest("services.legal_entities", c.Services.LegalEntities.Validate())
	switch c.Services.PaymentSource {
	case "notifications", "query", "both":
	default:
		e.Add("services.payment_source", "%q is not notifications, query or both", c.Services.PaymentSource)
	}
	for i, k := range c.Services.PaymentKBK {
		if len(k) != 6 || strings.Trim(k, "0123456789") != "" {
			e.Add(fmt.Sprintf("services.payment_kbk[%d]", i), "%q is not a six-digit KBK", k)
		}
	}
	e.Nest("shep", c.SHEP.Validate(getenv))
	e.Nest("payments", c.Payments.Validate(getenv))
	for year, v := range c.MCI {
		if year < 2000 || year > 2100 || v <= 0 {
			e.Add(fmt.Sprintf("mci.%d", year), "a year 2000..2100 and a positive amount")
		}
	}
	e.Nest("reports", c.Reports.Validate(getenv))
	e.Nest("tls", c.TLS.Validate())
	e.Nest("http", c.HTTP.Validate())
	if len(c.Clients) == 0 && !c.AllowAnonymous {
		e.Add("clients", "required: the back ends allowed to call the API (or allow_anonymous: true, for development only)")
	}
	if _, err := access.New(c.Clients, nil); err != nil {
		e.Add("clients", "%v", err)
	}
	for i, cl := range c.Clients {
		if cl.Rate < 0 {
			e.Add(fmt.Sprintf("clients[%d].rate", i), "must not be negative")
		}
		if len(cl.CertSHA256) > 0 && c.TLS.ClientCA == "" {
			e.Add(fmt.Sprintf("clients[%d].cert_sha256", i), "needs tls.client_ca")
		}
	}
	if c.Ops.Listen == c.Listen {
		e.Add("ops.listen", "must differ from listen: metrics and health have their own listener")
	}
	e.Nest("ops", c.Ops.Validate(getenv))
	switch c.Signing.Backend {
	case "local":
	case "ncanode":
		e.Nest("signing.ncanode", c.Signing.NCANode.Validate(getenv))
		for _, u := range []*exchange.Config{&c.SHEP, &c.Payments} {
			if u.Layout != signing.LayoutSmartBridge {
				e.Add(u.System+".layout", "NCANode signs in the smart-bridge layout only: set layout: smart-bridge")
			}
		}
	default:
		e.Add("signing.backend", "%q is not local or ncanode", c.Signing.Backend)
	}
	return e.Err()
}

// override sets fields from environment variables named by their YAML path:
// KOPIR_SHEP_URL, KOPIR_SHEP_TIMEOUT, KOPIR_SHEP_TRUST (comma-separated)…
// Maps and nested lists are left to the file.
func override(v reflect.Value, prefix string, getenv func(string) string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tags := strings.Split(t.Field(i).Tag.Get("yaml"), ",")
		f := v.Field(i)
		if len(tags) > 1 && tags[1] == "inline" && f.Kind() == reflect.Struct {
			if err := override(f, prefix, getenv); err != nil {
				return err
			}
			continue
		}
		tag := tags[0]
		if tag == "" || tag == "-" || !f.CanSet() {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
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
	if f.Type() == reflect.TypeFor[time.Duration]() {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
		return nil
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

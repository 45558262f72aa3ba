package outbox

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/kopir/kopir/config/field"
	"github.com/kopir/kopir/signing"
)

// TLS modes of an SMTP relay.
const (
	TLSStartTLS = "starttls" // STARTTLS, required
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // plain text: a local relay or the mock mailbox only
)

// SMTPConfig is a relay: the reports.smtp section of Kopir's
// configuration file.
type SMTPConfig struct {
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
	Password field.Secret `yaml:"password"`
	// Timeout bounds one delivery. Default: 1m.
	Timeout time.Duration `yaml:"timeout"`
	// HELO is the name given to the relay. Default: go-mail's (localhost).
	HELO string `yaml:"helo"`
	// TLSConfig, set by a library caller, replaces the one CA builds.
	TLSConfig *tls.Config `yaml:"-"`
}

// SetDefaults fills what is unset with the defaults documented on
// SMTPConfig.
func (c *SMTPConfig) SetDefaults() {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		c.Port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[c.TLS]
	}
	if c.Timeout == 0 {
		c.Timeout = time.Minute
	}
}

// Validate reports every problem, each named by its field.
func (c *SMTPConfig) Validate(getenv func(string) string) error {
	var e field.Errors
	if c.Host == "" {
		e.Add("host", "required: the relay failure reports go through")
	}
	switch c.TLS {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		e.Add("tls", "%q is not starttls, tls or none", c.TLS)
	}
	if c.Port < 1 || c.Port > 65535 {
		e.Add("port", "%d is not a port", c.Port)
	}
	if c.Username != "" && !c.Password.Set() {
		e.Add("password", "required with username (env or file)")
	} else {
		e.Secret("password", c.Password, getenv)
	}
	e.Exists("ca", c.CA)
	return e.Err()
}

// SMTP sends mails through a relay. A new connection per mail: failure
// reports are rare, and a held connection would go stale between them.
type SMTP struct {
	opts []mail.Option
	host string
}

// NewSMTP checks cfg and returns a sender; getenv (default os.Getenv)
// reads the password cfg names.
func NewSMTP(cfg SMTPConfig, getenv func(string) string) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, fmt.Errorf("outbox: smtp: no host")
	}
	password, err := cfg.Password.Resolve(getenv)
	if err != nil {
		return nil, fmt.Errorf("outbox: smtp.password: %w", err)
	}
	if cfg.TLSConfig == nil && cfg.CA != "" {
		pool, err := signing.LoadPool(cfg.CA)
		if err != nil {
			return nil, fmt.Errorf("outbox: smtp.ca: %w", err)
		}
		cfg.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	}
	opts := []mail.Option{}
	if cfg.Timeout > 0 {
		opts = append(opts, mail.WithTimeout(cfg.Timeout))
	}
	if cfg.HELO != "" {
		opts = append(opts, mail.WithHELO(cfg.HELO))
	}
	if cfg.TLSConfig != nil {
		c := cfg.TLSConfig.Clone()
		if c.ServerName == "" {
			c.ServerName = cfg.Host
		}
		opts = append(opts, mail.WithTLSConfig(c))
	}
	switch cfg.TLS {
	case "", TLSStartTLS:
		opts = append(opts, mail.WithTLSPortPolicy(mail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, mail.WithSSLPort(false))
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		return nil, fmt.Errorf("outbox: smtp: tls %q is not starttls, tls or none", cfg.TLS)
	}
	if cfg.Port != 0 {
		opts = append(opts, mail.WithPort(cfg.Port))
	}
	if cfg.Username != "" {
		auth := mail.SMTPAuthPlain
		if cfg.TLS == TLSNone {
			// go-mail refuses PLAIN over plain text unless told: only a
			// local relay is configured so.
			auth = mail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(cfg.Username), mail.WithPassword(password))
	}
	if _, err := mail.NewClient(cfg.Host, opts...); err != nil {
		return nil, fmt.Errorf("outbox: smtp: %w", err)
	}
	return &SMTP{opts: opts, host: cfg.Host}, nil
}

// Send delivers m.
func (s *SMTP) Send(ctx context.Context, m *mail.Msg) error {
	c, err := mail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("smtp %s: %w", s.host, err)
	}
	return nil
}

package outbox

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	mail "github.com/wneessen/go-mail"
)

// TLS modes of an SMTP relay.
const (
	TLSStartTLS = "starttls" // STARTTLS, required
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // plain text: a local relay or the mock mailbox only
)

// SMTPConfig is a relay.
type SMTPConfig struct {
	Host string
	Port int
	// TLS is starttls (default), tls or none.
	TLS      string
	Username string
	Password string
	// TLSConfig carries the relay's CA; nil uses the system's.
	TLSConfig *tls.Config
	Timeout   time.Duration
	// HELO is the name this host gives. Default: go-mail's (localhost).
	HELO string
}

// SMTP sends mails through a relay. A new connection per mail: failure
// reports are rare, and a held connection would go stale between them.
type SMTP struct {
	opts []mail.Option
	host string
}

// NewSMTP checks cfg and returns a sender.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, fmt.Errorf("outbox: smtp: no host")
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
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
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

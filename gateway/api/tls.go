package api

import (
	"crypto/tls"
	"fmt"

	"github.com/kopir/kopir/config/field"
	"github.com/kopir/kopir/signing"
)

// TLS is the API listener's TLS: the tls section of Kopir's configuration
// file. Default: plain HTTP (behind a TLS-terminating proxy).
type TLS struct {
	// Cert and Key are PEM files. Both or neither.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// ClientCA is a PEM file of the CAs client certificates chain to;
	// set, clients may authenticate by certificate (cert_sha256).
	ClientCA string `yaml:"client_ca"`
}

// Validate reports every problem, each named by its field.
func (t TLS) Validate() error {
	var e field.Errors
	if (t.Cert == "") != (t.Key == "") {
		e.Add("", "cert and key go together")
	}
	if t.ClientCA != "" && t.Cert == "" {
		e.Add("client_ca", "needs tls.cert and tls.key")
	}
	e.Exists("cert", t.Cert)
	e.Exists("key", t.Key)
	e.Exists("client_ca", t.ClientCA)
	return e.Err()
}

// Config is the listener's TLS configuration, nil for plain HTTP.
func (t TLS) Config() (*tls.Config, error) {
	if t.Cert == "" {
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
	if err != nil {
		return nil, err
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	if t.ClientCA != "" {
		if c.ClientCAs, err = signing.LoadPool(t.ClientCA); err != nil {
			return nil, fmt.Errorf("client_ca: %w", err)
		}
		// A certificate is one way in, an API key the other.
		c.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return c, nil
}

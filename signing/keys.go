package signing

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/kopir/kopir/config/field"
	"github.com/kopir/kopir/signing/pkcs12"
)

// ParseCertificates reads every CERTIFICATE block of a PEM bundle.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("signing: certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("signing: no PEM certificate found")
	}
	return out, nil
}

// LoadCertificates reads a PEM bundle from a file.
func LoadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	certs, err := ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("%w in %s", err, path)
	}
	return certs, nil
}

// LoadAll reads the PEM bundles of every path, in order.
func LoadAll(paths []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, p := range paths {
		certs, err := LoadCertificates(p)
		if err != nil {
			return nil, err
		}
		out = append(out, certs...)
	}
	return out, nil
}

// LoadPool reads a PEM bundle into a certificate pool (TLS roots or
// client CAs).
func LoadPool(path string) (*x509.CertPool, error) {
	certs, err := LoadCertificates(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// KeyFiles name a key and its certificate chain: PEM files, or a PKCS#12
// file with its password. It is the identity section of Kopir's
// configuration.
type KeyFiles struct {
	// Key and Cert are PEM files: the private key, and the chain leaf
	// first.
	Key  string `yaml:"key"`
	Cert string `yaml:"cert"`
	// P12 is a PKCS#12 file, as the NCA issues keys.
	P12 string `yaml:"p12"`
	// P12Password is where the PKCS#12 password is.
	P12Password field.Secret `yaml:"p12_password"`
}

// Validate reports every problem, each named by its field.
func (k KeyFiles) Validate(getenv func(string) string) error {
	var e field.Errors
	switch {
	case k.P12 != "" && (k.Key != "" || k.Cert != ""):
		e.Add("", "give key and cert, or p12, not both")
	case k.P12 != "":
		e.Exists("p12", k.P12)
		if !k.P12Password.Set() {
			e.Add("p12_password", "required with p12 (env or file)")
		} else {
			e.Secret("p12_password", k.P12Password, getenv)
		}
	case k.Key != "" && k.Cert != "":
		e.Exists("key", k.Key)
		e.Exists("cert", k.Cert)
	default:
		e.Add("", "required: key and cert, or p12")
	}
	return e.Err()
}

// Load reads the key and its chain.
func (k KeyFiles) Load(getenv func(string) string) (crypto.Signer, []*x509.Certificate, error) {
	if k.P12 != "" {
		pw, err := k.P12Password.Resolve(getenv)
		if err != nil {
			return nil, nil, err
		}
		return LoadPKCS12(k.P12, pw)
	}
	return LoadKeyPair(k.Key, k.Cert)
}

// ParseKeyPair reads a PEM private key (PKCS#8, PKCS#1 or SEC 1) and a PEM
// certificate chain, leaf first.
func ParseKeyPair(keyPEM, certPEM []byte) (crypto.Signer, []*x509.Certificate, error) {
	chain, err := ParseCertificates(certPEM)
	if err != nil {
		return nil, nil, err
	}
	var block *pem.Block
	for rest := keyPEM; ; {
		block, rest = pem.Decode(rest)
		if block == nil || block.Type == "PRIVATE KEY" || block.Type == "RSA PRIVATE KEY" || block.Type == "EC PRIVATE KEY" {
			break
		}
	}
	if block == nil {
		return nil, nil, errors.New("signing: no PEM private key found")
	}
	if _, legacy := block.Headers["DEK-Info"]; legacy || block.Headers["Proc-Type"] == "4,ENCRYPTED" { // RFC 1423 encryption: detected, never decrypted
		return nil, nil, errors.New("signing: encrypted PEM keys are not supported; use a PKCS#12 file with a password")
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("signing: private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("signing: %T keys cannot sign", key)
	}
	return signer, chain, nil
}

// LoadKeyPair reads ParseKeyPair's inputs from files.
func LoadKeyPair(keyPath, certPath string) (crypto.Signer, []*x509.Certificate, error) {
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: %w", err)
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: %w", err)
	}
	return ParseKeyPair(keyPEM, certPEM)
}

// ParsePKCS12 reads a password-protected PKCS#12 file, the form in which
// the National Certification Authority issues keys, returning the key and
// its chain, leaf first.
func ParsePKCS12(data []byte, password string) (crypto.Signer, []*x509.Certificate, error) {
	c, err := pkcs12.Decode(data, password)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: %w", err)
	}
	return c.Key, c.Chain, nil
}

// LoadPKCS12 reads ParsePKCS12's input from a file.
func LoadPKCS12(path, password string) (crypto.Signer, []*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: %w", err)
	}
	return ParsePKCS12(data, password)
}

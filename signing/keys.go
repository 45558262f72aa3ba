package signing

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"software.sslmate.com/src/go-pkcs12"
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
	key, cert, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: PKCS#12: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("signing: PKCS#12 holds a %T key, which cannot sign here", key)
	}
	return signer, append([]*x509.Certificate{cert}, cas...), nil
}

// LoadPKCS12 reads ParsePKCS12's input from a file.
func LoadPKCS12(path, password string) (crypto.Signer, []*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: %w", err)
	}
	return ParsePKCS12(data, password)
}

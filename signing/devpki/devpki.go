// Package devpki makes a development PKI: a CA and leaf certificates shaped
// like the National Certification Authority's (IIN in serialNumber, BIN in
// OU), for local runs, the mocks and tests. Nothing it makes is for
// production, and nothing it makes is committed: keys are generated on
// first run.
package devpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// KeyType is the kind of key to generate.
type KeyType string

// Key types.
const (
	RSA2048   KeyType = "rsa2048"
	ECDSAP256 KeyType = "p256"
)

// CA is a development certification authority.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Leaf is a key and its certificate chain, leaf first.
type Leaf struct {
	Key   crypto.Signer
	Chain []*x509.Certificate
}

// Subject describes a leaf's holder.
type Subject struct {
	CommonName   string
	Organization string
	IIN          string // written as serialNumber=IIN…
	BIN          string // written as OU=BIN…
	DNSNames     []string
}

func newKey(t KeyType) (crypto.Signer, error) {
	switch t {
	case RSA2048, "":
		return rsa.GenerateKey(rand.Reader, 2048)
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("devpki: unknown key type %q", t)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

// NewCA makes a CA valid from now-1h for ten years.
func NewCA(t KeyType) (*CA, error) {
	key, err := newKey(t)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Kopir development CA", Organization: []string{"Kopir dev"}, Country: []string{"KZ"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("devpki: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("devpki: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Issue makes a leaf valid between notBefore and notAfter; zero times mean
// from an hour ago for two years.
func (ca *CA) Issue(t KeyType, s Subject, notBefore, notAfter time.Time) (*Leaf, error) {
	key, err := newKey(t)
	if err != nil {
		return nil, err
	}
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Hour)
	}
	if notAfter.IsZero() {
		notAfter = notBefore.AddDate(2, 0, 0)
	}
	name := pkix.Name{CommonName: s.CommonName, Country: []string{"KZ"}}
	if s.Organization != "" {
		name.Organization = []string{s.Organization}
	}
	if s.IIN != "" {
		name.SerialNumber = "IIN" + s.IIN
	}
	if s.BIN != "" {
		name.OrganizationalUnit = []string{"BIN" + s.BIN}
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      name,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		DNSNames:     s.DNSNames,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("devpki: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("devpki: %w", err)
	}
	return &Leaf{Key: key, Chain: []*x509.Certificate{cert, ca.Cert}}, nil
}

// The identities written for the development leaves. The numbers have
// valid control digits and belong to nobody.
var (
	GatewaySubject = Subject{CommonName: "Kopir gateway (development)", Organization: "Kopir dev",
		IIN: "880101300010", BIN: "260110000120", DNSNames: []string{"localhost"}}
	MockSHEPSubject = Subject{CommonName: "Mock SHEP (development)", Organization: "Kopir dev mocks",
		BIN: "150340001236", DNSNames: []string{"localhost"}}
	MockPaymentsSubject = Subject{CommonName: "Mock payment gateway (development)", Organization: "Kopir dev mocks",
		BIN: "051140004562", DNSNames: []string{"localhost"}}
	// OrganisationSubject is the organisation's signing key, which signs
	// payloads (GBD UL's requests) apart from the gateway's transport key.
	OrganisationSubject = Subject{CommonName: "Kopir organisation signing key (development)", Organization: "Kopir dev",
		IIN: "880101300010", BIN: "260110000120"}
)

// Files names what Write puts in a folder for one leaf.
type Files struct{ Cert, Key, P12 string }

// FilesFor names the files of the leaf called name in dir.
func FilesFor(dir, name string) Files {
	return Files{Cert: filepath.Join(dir, name+".pem"), Key: filepath.Join(dir, name+"-key.pem"), P12: filepath.Join(dir, name+".p12")}
}

// Layout is what Ensure makes in its folder.
const (
	CAFile       = "ca.pem"
	PasswordFile = "p12-password"
)

// Leaves are the leaves Ensure makes, by file name.
var Leaves = map[string]Subject{
	"gateway":       GatewaySubject,
	"mock-shep":     MockSHEPSubject,
	"mock-payments": MockPaymentsSubject,
	"signing":       OrganisationSubject,
}

// Ensure makes the development PKI in dir unless it is already there: a CA
// (ca.pem, ca-key.pem) and, for each of Leaves, NAME.pem (the chain),
// NAME-key.pem and NAME.p12. The .p12 files are protected by the password
// in p12-password, random on first run. It reports whether it made them.
//
// A folder made before a leaf joined Leaves gets that leaf, from its CA.
func Ensure(dir string, t KeyType) (made bool, err error) {
	if _, err := os.Stat(filepath.Join(dir, CAFile)); err == nil {
		return addMissing(dir, t)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("devpki: %w", err)
	}
	ca, err := NewCA(t)
	if err != nil {
		return false, err
	}
	pw := make([]byte, 12)
	if _, err := rand.Read(pw); err != nil {
		return false, err
	}
	password := fmt.Sprintf("%x", pw)
	if err := os.WriteFile(filepath.Join(dir, PasswordFile), []byte(password+"\n"), 0o600); err != nil {
		return false, fmt.Errorf("devpki: %w", err)
	}
	if err := writeKey(filepath.Join(dir, "ca-key.pem"), ca.Key); err != nil {
		return false, err
	}
	for name, subject := range Leaves {
		leaf, err := ca.Issue(t, subject, time.Time{}, time.Time{})
		if err != nil {
			return false, err
		}
		if err := leaf.Write(FilesFor(dir, name), password); err != nil {
			return false, err
		}
	}
	// The CA certificate last: its presence says the set is complete.
	if err := os.WriteFile(filepath.Join(dir, CAFile), certPEM(ca.Cert), 0o644); err != nil {
		return false, fmt.Errorf("devpki: %w", err)
	}
	return true, nil
}

// addMissing issues the leaves of Leaves that dir lacks.
func addMissing(dir string, t KeyType) (bool, error) {
	var ca *CA
	made := false
	for name, subject := range Leaves {
		f := FilesFor(dir, name)
		if _, err := os.Stat(f.Cert); err == nil {
			continue
		}
		if ca == nil {
			var err error
			if ca, err = loadCA(dir); err != nil {
				return false, err
			}
		}
		leaf, err := ca.Issue(t, subject, time.Time{}, time.Time{})
		if err != nil {
			return false, err
		}
		password, err := ReadPassword(dir)
		if err != nil {
			return false, err
		}
		if err := leaf.Write(f, password); err != nil {
			return false, err
		}
		made = true
	}
	return made, nil
}

func loadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, fmt.Errorf("devpki: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	if err != nil {
		return nil, fmt.Errorf("devpki: %w", err)
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("devpki: the CA's files are not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("devpki: %w", err)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("devpki: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("devpki: the CA's key cannot sign")
	}
	return &CA{Cert: cert, Key: signer}, nil
}

// Write stores the leaf as PEM chain, PEM key and PKCS#12.
func (l *Leaf) Write(f Files, password string) error {
	var chain []byte
	for _, c := range l.Chain {
		chain = append(chain, certPEM(c)...)
	}
	if err := os.WriteFile(f.Cert, chain, 0o644); err != nil {
		return fmt.Errorf("devpki: %w", err)
	}
	if err := writeKey(f.Key, l.Key); err != nil {
		return err
	}
	p12, err := pkcs12.Modern.Encode(l.Key, l.Chain[0], l.Chain[1:], password)
	if err != nil {
		return fmt.Errorf("devpki: PKCS#12: %w", err)
	}
	if err := os.WriteFile(f.P12, p12, 0o600); err != nil {
		return fmt.Errorf("devpki: %w", err)
	}
	return nil
}

// ReadPassword reads the .p12 password Ensure wrote.
func ReadPassword(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, PasswordFile))
	if err != nil {
		return "", fmt.Errorf("devpki: %w", err)
	}
	pw := string(b)
	for len(pw) > 0 && (pw[len(pw)-1] == '\n' || pw[len(pw)-1] == '\r') {
		pw = pw[:len(pw)-1]
	}
	if pw == "" {
		return "", errors.New("devpki: empty password file")
	}
	return pw, nil
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("devpki: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("devpki: %w", err)
	}
	return nil
}

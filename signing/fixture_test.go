package signing_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/devpki"
)

var update = flag.Bool("update", false, "rewrite golden files")

// pki is the test PKI, made once per test binary: key generation is slow.
type pki struct {
	ca, otherCA      *devpki.CA
	rsa, ec, foreign *devpki.Leaf
	expired          *devpki.Leaf
	dir              string // PEM files for external tools
}

var (
	pkiOnce sync.Once
	testPKI pki
)

func fixture(t testing.TB) *pki {
	t.Helper()
	pkiOnce.Do(func() {
		var err error
		must := func(e error) {
			if e != nil && err == nil {
				err = e
			}
		}
		p := &testPKI
		p.ca, err = devpki.NewCA(devpki.RSA2048)
		must(err)
		p.otherCA, err = devpki.NewCA(devpki.RSA2048)
		must(err)
		p.rsa, err = p.ca.Issue(devpki.RSA2048, devpki.GatewaySubject, time.Time{}, time.Time{})
		must(err)
		p.ec, err = p.ca.Issue(devpki.ECDSAP256, devpki.MockSHEPSubject, time.Time{}, time.Time{})
		must(err)
		p.foreign, err = p.otherCA.Issue(devpki.RSA2048, devpki.GatewaySubject, time.Time{}, time.Time{})
		must(err)
		p.expired, err = p.ca.Issue(devpki.RSA2048, devpki.GatewaySubject, time.Now().AddDate(-2, 0, 0), time.Now().AddDate(-1, 0, 0))
		must(err)
		if err != nil {
			panic(err)
		}
		p.dir, err = os.MkdirTemp("", "kopir-signing-test")
		if err != nil {
			panic(err)
		}
		for name, leaf := range map[string]*devpki.Leaf{"rsa": p.rsa, "ec": p.ec} {
			if err := leaf.Write(devpki.FilesFor(p.dir, name), "test"); err != nil {
				panic(err)
			}
		}
		writePEM(filepath.Join(p.dir, "ca.pem"), p.ca.Cert)
	})
	return &testPKI
}

func writePEM(path string, c *x509.Certificate) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o644); err != nil {
		panic(err)
	}
}

func newSigner(t testing.TB, leaf *devpki.Leaf, opts signing.SignerOptions) *signing.Signer {
	t.Helper()
	s, err := signing.NewSigner(leaf.Key, leaf.Chain, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newVerifier(t testing.TB, p signing.Policy) *signing.Verifier {
	t.Helper()
	if p.Roots == nil && p.Pinned == nil {
		p.Roots = []*x509.Certificate{fixture(t).ca.Cert}
	}
	v, err := signing.NewVerifier(p)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sign(t testing.TB, s *signing.Signer, envelope []byte) []byte {
	t.Helper()
	out, err := s.Sign(context.Background(), envelope)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return out
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

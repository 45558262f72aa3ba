package signing

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/kopir/kopir/signing/gost"
)

// maxChain bounds a certificate path: the NCA's are three long.
const maxChain = 8

// chainTo builds a path from cert to one of roots, through intermediates,
// for chains crypto/x509 cannot check: those whose CAs sign with GOST. At
// each step it checks what x509.Verify would for Kopir — the issuer's
// signature, both certificates' validity at the moment of signing, that
// the issuer is a CA allowed to sign certificates, and path length
// constraints. Names are matched by their DER, and key identifiers, where
// both certificates have them.
func chainTo(cert *x509.Certificate, roots, intermediates []*x509.Certificate, at time.Time) ([]*x509.Certificate, error) {
	for _, r := range roots {
		if r.Equal(cert) {
			return []*x509.Certificate{cert}, nil // a self-signed peer given as an anchor
		}
	}
	var errs []error
	var walk func(chain []*x509.Certificate) []*x509.Certificate
	walk = func(chain []*x509.Certificate) []*x509.Certificate {
		cur := chain[len(chain)-1]
		if len(chain) > maxChain {
			errs = append(errs, fmt.Errorf("no anchor within %d certificates", maxChain))
			return nil
		}
		for i, pool := range [][]*x509.Certificate{roots, intermediates} {
			for _, p := range pool {
				if !issued(p, cur) || contains(chain, p) {
					continue
				}
				if err := canIssue(p, cur, len(chain)-1, at); err != nil {
					errs = append(errs, err)
					continue
				}
				next := append(append([]*x509.Certificate(nil), chain...), p)
				if i == 0 {
					return next
				}
				if found := walk(next); found != nil {
					return found
				}
			}
		}
		return nil
	}
	if chain := walk([]*x509.Certificate{cert}); chain != nil {
		return chain, nil
	}
	if len(errs) == 0 {
		return nil, errors.New("no issuer among the trust anchors and intermediates")
	}
	return nil, errors.Join(errs...)
}

func contains(chain []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range chain {
		if x.Equal(c) {
			return true
		}
	}
	return false
}

// issued reports whether parent's name (and key id) are those child names
// as its issuer.
func issued(parent, child *x509.Certificate) bool {
	if !bytes.Equal(parent.RawSubject, child.RawIssuer) {
		return false
	}
	return len(child.AuthorityKeyId) == 0 || len(parent.SubjectKeyId) == 0 ||
		bytes.Equal(child.AuthorityKeyId, parent.SubjectKeyId)
}

// canIssue checks that parent may have issued child, below which there are
// below CA certificates, at the time at.
func canIssue(parent, child *x509.Certificate, below int, at time.Time) error {
	name := parent.Subject.CommonName
	switch {
	case at.Before(parent.NotBefore) || at.After(parent.NotAfter):
		return fmt.Errorf("CA %q is valid from %s to %s", name, parent.NotBefore.Format(time.RFC3339), parent.NotAfter.Format(time.RFC3339))
	case !parent.BasicConstraintsValid || !parent.IsCA:
		return fmt.Errorf("%q is not a CA", name)
	case parent.KeyUsage != 0 && parent.KeyUsage&x509.KeyUsageCertSign == 0:
		return fmt.Errorf("CA %q may not sign certificates", name)
	case parent.MaxPathLen >= 0 && (parent.MaxPathLen > 0 || parent.MaxPathLenZero) && below > parent.MaxPathLen:
		return fmt.Errorf("CA %q allows %d CAs below it", name, parent.MaxPathLen)
	}
	err := gost.CheckSignatureFrom(child, parent)
	if errors.Is(err, gost.ErrNotGOST) {
		err = child.CheckSignatureFrom(parent)
	}
	if err != nil {
		return fmt.Errorf("signature of CA %q: %w", name, err)
	}
	return nil
}

// isGOST reports whether cert's issuer signed it with GOST, which
// crypto/x509 cannot check.
func isGOST(cert *x509.Certificate) bool {
	alg, err := gost.SignatureAlgorithm(cert)
	return err == nil && (alg.Equal(gost.OIDSignature2004) || alg.Equal(gost.OIDSignature2015))
}

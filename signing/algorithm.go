package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	_ "crypto/sha1" // registers crypto.SHA1 for peers still on it, when allowed
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/kopir/kopir/signing/gost"
)

// Algorithm is a signature method: how SignedInfo is hashed and how the
// signature value is made and checked. The built-in ones cover RSA and
// ECDSA; a GOST implementation is one more value of this type, given to a
// Signer in SignerOptions and to a Verifier in Policy.Algorithms.
type Algorithm struct {
	// URI is the SignatureMethod Algorithm.
	URI string
	// NewHash hashes the canonical SignedInfo.
	NewHash func() hash.Hash
	// SignerOpts is passed to crypto.Signer.Sign.
	SignerOpts crypto.SignerOpts
	// Encode turns what crypto.Signer returned into the SignatureValue
	// bytes; nil keeps them as they are.
	Encode func(pub crypto.PublicKey, sig []byte) ([]byte, error)
	// Verify checks a SignatureValue over a SignedInfo digest.
	Verify func(pub crypto.PublicKey, digest, sig []byte) error
	// Weak algorithms (SHA-1) are refused unless the policy allows them.
	Weak bool
}

// Digest is a reference digest method.
type Digest struct {
	URI     string
	NewHash func() hash.Hash
	Weak    bool
}

// Signature and digest method identifiers.
const (
	RSASHA1     = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	RSASHA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	RSASHA384   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
	RSASHA512   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	ECDSASHA1   = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
	ECDSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	ECDSASHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	ECDSASHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"

	// GOST, as the NCA's Kalkan and SHEP write them (protocol.md §6).
	GOST2004        = "http://www.w3.org/2001/04/xmldsig-more#gost34310-gost34311"
	GOST2015_512    = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-512"
	DigestGOST94    = "http://www.w3.org/2001/04/xmldsig-more#gost34311"
	DigestGOST12256 = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-256"
	DigestGOST12512 = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-512"

	DigestSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
	DigestSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	DigestSHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	DigestSHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
)

// hmacPrefixes name MAC signature methods: a shared-secret MAC proves no
// authorship, so they are refused whatever the policy says.
var hmacURIs = map[string]bool{
	"http://www.w3.org/2000/09/xmldsig#hmac-sha1":        true,
	"http://www.w3.org/2001/04/xmldsig-more#hmac-sha224": true,
	"http://www.w3.org/2001/04/xmldsig-more#hmac-sha256": true,
	"http://www.w3.org/2001/04/xmldsig-more#hmac-sha384": true,
	"http://www.w3.org/2001/04/xmldsig-more#hmac-sha512": true,
}

func rsaAlgorithm(uri string, h crypto.Hash, weak bool) Algorithm {
	return Algorithm{URI: uri, NewHash: h.New, SignerOpts: h, Weak: weak,
		Verify: func(pub crypto.PublicKey, digest, sig []byte) error {
			k, ok := pub.(*rsa.PublicKey)
			if !ok {
				return fmt.Errorf("%s needs an RSA key, the certificate holds %T", uri, pub)
			}
			return rsa.VerifyPKCS1v15(k, h, digest, sig)
		}}
}

func ecdsaAlgorithm(uri string, h crypto.Hash, weak bool) Algorithm {
	return Algorithm{URI: uri, NewHash: h.New, SignerOpts: h, Weak: weak,
		Encode: ecdsaRaw,
		Verify: func(pub crypto.PublicKey, digest, sig []byte) error {
			k, ok := pub.(*ecdsa.PublicKey)
			if !ok {
				return fmt.Errorf("%s needs an ECDSA key, the certificate holds %T", uri, pub)
			}
			size := (k.Curve.Params().BitSize + 7) / 8
			if len(sig) != 2*size {
				return errors.New("ECDSA signature value of the wrong length")
			}
			r := new(big.Int).SetBytes(sig[:size])
			s := new(big.Int).SetBytes(sig[size:])
			if !ecdsa.Verify(k, digest, r, s) {
				return errors.New("ECDSA signature does not verify")
			}
			return nil
		}}
}

// ecdsaRaw converts an ASN.1 ECDSA signature to the fixed-width r||s form
// XML-DSig uses (RFC 4050).
func ecdsaRaw(pub crypto.PublicKey, der []byte) ([]byte, error) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("not an ECDSA key: %T", pub)
	}
	var r, s big.Int
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) {
		return nil, errors.New("malformed ECDSA signature")
	}
	size := (k.Curve.Params().BitSize + 7) / 8
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out, nil
}

// gostAlgorithm signs with an NCA GOST key of curve c: SignatureValue is
// r‖s, each little-endian, as gost.PrivateKey.Sign returns it.
func gostAlgorithm(uri string, c *gost.Curve) Algorithm {
	return Algorithm{URI: uri, NewHash: c.NewHash,
		Verify: func(pub crypto.PublicKey, digest, sig []byte) error {
			k, ok := pub.(*gost.PublicKey)
			if !ok || k.Curve != c {
				return fmt.Errorf("%s needs a key on %s, the certificate holds %T", uri, c.Name, pub)
			}
			return k.Verify(digest, sig)
		}}
}

var builtinAlgorithms = []Algorithm{
	gostAlgorithm(GOST2004, gost.CryptoProA),
	gostAlgorithm(GOST2015_512, gost.TC26512A),
	rsaAlgorithm(RSASHA256, crypto.SHA256, false),
	rsaAlgorithm(RSASHA384, crypto.SHA384, false),
	rsaAlgorithm(RSASHA512, crypto.SHA512, false),
	rsaAlgorithm(RSASHA1, crypto.SHA1, true),
	ecdsaAlgorithm(ECDSASHA256, crypto.SHA256, false),
	ecdsaAlgorithm(ECDSASHA384, crypto.SHA384, false),
	ecdsaAlgorithm(ECDSASHA512, crypto.SHA512, false),
	ecdsaAlgorithm(ECDSASHA1, crypto.SHA1, true),
}

var builtinDigests = []Digest{
	{URI: DigestSHA256, NewHash: crypto.SHA256.New},
	{URI: DigestGOST94, NewHash: gost.CryptoProA.NewHash},
	{URI: DigestGOST12512, NewHash: gost.NewStreebog512},
	{URI: DigestGOST12256, NewHash: gost.NewStreebog256},
	{URI: DigestSHA384, NewHash: crypto.SHA384.New},
	{URI: DigestSHA512, NewHash: crypto.SHA512.New},
	{URI: DigestSHA1, NewHash: crypto.SHA1.New, Weak: true},
}

func findAlgorithm(uri string) (Algorithm, bool) {
	for _, a := range builtinAlgorithms {
		if a.URI == uri {
			return a, true
		}
	}
	return Algorithm{}, false
}

// defaultAlgorithm picks the signature method for a key: RSA-SHA256 for RSA,
// ECDSA with the hash matching the curve size for ECDSA, the NCA's GOST
// method for a GOST key.
func defaultAlgorithm(pub crypto.PublicKey) (Algorithm, error) {
	switch k := pub.(type) {
	case *gost.PublicKey:
		uri := GOST2004
		if k.Curve == gost.TC26512A {
			uri = GOST2015_512
		}
		a, _ := findAlgorithm(uri)
		return a, nil
	case *rsa.PublicKey:
		a, _ := findAlgorithm(RSASHA256)
		return a, nil
	case *ecdsa.PublicKey:
		uri := ECDSASHA256
		switch bits := k.Curve.Params().BitSize; {
		case bits > 384:
			uri = ECDSASHA512
		case bits > 256:
			uri = ECDSASHA384
		}
		a, _ := findAlgorithm(uri)
		return a, nil
	}
	return Algorithm{}, fmt.Errorf("signing: no built-in algorithm for %T keys; give one in SignerOptions.Algorithm", pub)
}

// defaultDigest is the reference digest that goes with a key: the GOST
// hash of its curve for a GOST key (as Kalkan pairs them), SHA-256 else.
func defaultDigest(pub crypto.PublicKey) Digest {
	uri := DigestSHA256
	if k, ok := pub.(*gost.PublicKey); ok {
		uri = DigestGOST94
		if k.Curve == gost.TC26512A {
			uri = DigestGOST12512
		}
	}
	for _, d := range builtinDigests {
		if d.URI == uri {
			return d
		}
	}
	return builtinDigests[0]
}

// publicKey is a certificate's key: crypto/x509's, or the GOST key it
// leaves out.
func publicKey(cert *x509.Certificate) (crypto.PublicKey, error) {
	if cert.PublicKey != nil {
		return cert.PublicKey, nil
	}
	pub, err := gost.PublicKeyOf(cert)
	if err != nil {
		return nil, err
	}
	return pub, nil
}

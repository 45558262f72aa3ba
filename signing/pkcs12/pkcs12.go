// Package pkcs12 reads PKCS#12 key files (RFC 7292) as the National
// Certification Authority's Kalkan writes them — BER with indefinite
// lengths and chunked strings, a 3DES-encrypted key bag, an RC2-40-encrypted
// certificate bag, a SHA-1 MAC — and as OpenSSL and Go write them (PBES2
// with AES, SHA-256 MACs). Keys may be RSA, ECDSA, Ed25519, or GOST (NCA
// GOST 34.310-2004 and GOST 34.10-2015). It only reads: Kopir never writes
// an NCA key file.
//
// A wrong password is ErrPassword; anything else wrong with the file is
// *Error; no input makes it panic, and its sizes, nesting and work factors
// are bounded.
package pkcs12

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/kopir/kopir/signing/gost"
)

// MaxSize bounds a key file. NCA files are 2–4 KB.
const MaxSize = 1 << 20

// ErrPassword is a wrong password: the MAC does not match, or (in a file
// without a MAC) what it decrypts is not padded as it must be.
var ErrPassword = errors.New("pkcs12: wrong password")

// Error is a file that is not a PKCS#12 file Kopir can read.
type Error struct{ Msg string }

func (e *Error) Error() string { return "pkcs12: " + e.Msg }

func fail(format string, args ...any) error { return &Error{Msg: fmt.Sprintf(format, args...)} }

var (
	oidData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEncryptedData     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidKeyBag            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidShroudedKeyBag    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidCertBag           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidX509Certificate   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	oidLocalKeyID        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 21}
	oidFriendlyName      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 20}
	errNoKey             = fail("no private key in the file")
	errTooManyKeysOrCert = fail("more than one private key in the file")
)

// Contents are what a key file holds.
type Contents struct {
	// Key is the private key: *rsa.PrivateKey, *ecdsa.PrivateKey,
	// ed25519.PrivateKey or *gost.PrivateKey.
	Key crypto.Signer
	// Chain is the key's certificate first, then the others in the file.
	Chain []*x509.Certificate
	// FriendlyName is the key's alias (NCA files: its subject key id).
	FriendlyName string
}

type bag struct {
	keyID []byte
	name  string
	key   crypto.Signer
	cert  *x509.Certificate
}

// Decode reads a key file with its password.
func Decode(data []byte, password string) (*Contents, error) {
	if len(data) > MaxSize {
		return nil, fail("a key file of %d bytes (at most %d)", len(data), MaxSize)
	}
	pfx, err := parseBER(data)
	if err != nil {
		return nil, fail("%v", err)
	}
	if !pfx.is(classUniversal, tagSequence) || len(pfx.children) < 2 {
		return nil, fail("not a PFX")
	}
	if v, err := integer(pfx.child(0)); err != nil || v != 3 {
		return nil, fail("version is not 3")
	}
	content, err := contentData(pfx.child(1))
	if err != nil {
		return nil, err
	}
	if mac := pfx.child(2); mac != nil {
		if !mac.is(classUniversal, tagSequence) || len(mac.children) < 2 {
			return nil, fail("malformed MacData")
		}
		if err := checkMAC(mac, password, content); err != nil {
			return nil, wrap(err)
		}
	}
	safe, err := parseBER(content)
	if err != nil {
		return nil, fail("authenticated safe: %v", err)
	}
	if !safe.is(classUniversal, tagSequence) {
		return nil, fail("the authenticated safe is not a SEQUENCE")
	}
	var bags []bag
	for _, ci := range safe.children {
		b, err := safeContents(ci, password)
		if err != nil {
			return nil, err
		}
		bags = append(bags, b...)
	}
	return assemble(bags)
}

func wrap(err error) error {
	switch {
	case errors.Is(err, errPassword):
		return ErrPassword
	case errors.As(err, new(*Error)):
		return err
	}
	return fail("%v", err)
}

// contentData is the bytes of a ContentInfo of type data.
func contentData(ci *node) ([]byte, error) {
	oid, err := contentType(ci)
	if err != nil {
		return nil, err
	}
	if !oid.Equal(oidData) {
		return nil, fail("content of type %v, not data (public-key integrity is not supported)", oid)
	}
	explicit := ci.child(1)
	if !explicit.is(classContext, 0) || !explicit.child(0).is(classUniversal, tagOctetString) {
		return nil, fail("malformed data content")
	}
	return explicit.child(0).bytes()
}

func contentType(ci *node) (asn1.ObjectIdentifier, error) {
	if !ci.is(classUniversal, tagSequence) || !ci.child(0).is(classUniversal, tagOID) {
		return nil, fail("malformed ContentInfo")
	}
	return oidOf(ci.child(0))
}

func oidOf(n *node) (asn1.ObjectIdentifier, error) {
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(n.der(), &oid); err != nil {
		return nil, fail("malformed OBJECT IDENTIFIER")
	}
	return oid, nil
}

// safeContents reads one ContentInfo of the authenticated safe: plain or
// password-encrypted SafeContents.
func safeContents(ci *node, password string) ([]bag, error) {
	oid, err := contentType(ci)
	if err != nil {
		return nil, err
	}
	var raw []byte
	switch {
	case oid.Equal(oidData):
		if raw, err = contentData(ci); err != nil {
			return nil, err
		}
	case oid.Equal(oidEncryptedData):
		// [0] { EncryptedData { version, EncryptedContentInfo { type, alg, [0] IMPLICIT OCTET STRING } } }
		ed := ci.child(1).child(0)
		eci := ed.child(1)
		if !ed.is(classUniversal, tagSequence) || !eci.is(classUniversal, tagSequence) || !eci.child(2).is(classContext, 0) {
			return nil, fail("malformed EncryptedData")
		}
		enc, err := eci.child(2).bytes()
		if err != nil {
			return nil, wrap(err)
		}
		if raw, err = decrypt(eci.child(1), password, enc); err != nil {
			return nil, wrap(err)
		}
	default:
		return nil, fail("safe contents of type %v", oid)
	}
	sc, err := parseBER(raw)
	if err != nil {
		if len(raw) > 0 {
			// Decrypted garbage: a file without a MAC and a wrong password.
			return nil, ErrPassword
		}
		return nil, fail("safe contents: %v", err)
	}
	if !sc.is(classUniversal, tagSequence) {
		return nil, ErrPassword
	}
	var out []bag
	for _, sb := range sc.children {
		b, err := safeBag(sb, password)
		if err != nil {
			return nil, err
		}
		if b != nil {
			out = append(out, *b)
		}
	}
	return out, nil
}

func safeBag(sb *node, password string) (*bag, error) {
	if !sb.is(classUniversal, tagSequence) || !sb.child(0).is(classUniversal, tagOID) || !sb.child(1).is(classContext, 0) {
		return nil, fail("malformed SafeBag")
	}
	oid, err := oidOf(sb.child(0))
	if err != nil {
		return nil, err
	}
	value := sb.child(1).child(0)
	b := &bag{}
	if attrs := sb.child(2); attrs.is(classUniversal, tagSet) {
		for _, a := range attrs.children {
			aoid, err := oidOf(a.child(0))
			if err != nil || !a.child(1).is(classUniversal, tagSet) || a.child(1).child(0) == nil {
				continue
			}
			v, _ := a.child(1).child(0).bytes()
			switch {
			case aoid.Equal(oidLocalKeyID):
				b.keyID = v
			case aoid.Equal(oidFriendlyName):
				b.name = fromBMP(v)
			}
		}
	}
	switch {
	case oid.Equal(oidKeyBag):
		b.key, err = parsePrivateKey(value.der())
	case oid.Equal(oidShroudedKeyBag):
		if !value.is(classUniversal, tagSequence) || !value.child(1).is(classUniversal, tagOctetString) {
			return nil, fail("malformed EncryptedPrivateKeyInfo")
		}
		enc, err := value.child(1).bytes()
		if err != nil {
			return nil, wrap(err)
		}
		plain, err := decrypt(value.child(0), password, enc)
		if err != nil {
			return nil, wrap(err)
		}
		pk, err := parseBER(plain)
		if err != nil {
			return nil, ErrPassword
		}
		b.key, err = parsePrivateKey(pk.der())
		if err != nil {
			return nil, err
		}
	case oid.Equal(oidCertBag):
		if !value.is(classUniversal, tagSequence) {
			return nil, fail("malformed CertBag")
		}
		ctype, err := oidOf(value.child(0))
		if err != nil {
			return nil, err
		}
		if !ctype.Equal(oidX509Certificate) {
			return nil, nil // SDSI certificates and the like: not ours
		}
		der, err := value.child(1).child(0).bytes()
		if err != nil {
			return nil, wrap(err)
		}
		if c, err := parseBER(der); err == nil {
			der = c.der()
		}
		if b.cert, err = x509.ParseCertificate(der); err != nil {
			return nil, fail("certificate: %v", err)
		}
	default:
		return nil, nil // CRL and secret bags: not needed
	}
	return b, err
}

func fromBMP(b []byte) string {
	var rs []rune
	for i := 0; i+1 < len(b); i += 2 {
		r := rune(b[i])<<8 | rune(b[i+1])
		if r == 0 {
			break
		}
		rs = append(rs, r)
	}
	return string(rs)
}

// assemble puts the key first and its certificate at the head of the
// chain: matched by localKeyID, else by public key.
func assemble(bags []bag) (*Contents, error) {
	var out Contents
	var keyBag *bag
	var certs []bag
	for i := range bags {
		switch {
		case bags[i].key != nil:
			if keyBag != nil {
				return nil, errTooManyKeysOrCert
			}
			keyBag = &bags[i]
		case bags[i].cert != nil:
			certs = append(certs, bags[i])
		}
	}
	if keyBag == nil {
		return nil, errNoKey
	}
	out.Key, out.FriendlyName = keyBag.key, keyBag.name
	leaf := -1
	for i, c := range certs {
		if len(keyBag.keyID) > 0 && bytes.Equal(c.keyID, keyBag.keyID) || matches(keyBag.key, c.cert) {
			leaf = i
			break
		}
	}
	if leaf < 0 {
		return nil, fail("no certificate of the private key in the file")
	}
	if !matches(keyBag.key, certs[leaf].cert) {
		return nil, fail("the certificate with the key's id holds another public key")
	}
	out.Chain = append(out.Chain, certs[leaf].cert)
	for i, c := range certs {
		if i != leaf {
			out.Chain = append(out.Chain, c.cert)
		}
	}
	return &out, nil
}

// matches reports whether cert holds key's public key.
func matches(key crypto.Signer, cert *x509.Certificate) bool {
	if gk, ok := key.(*gost.PrivateKey); ok {
		pub, err := gost.PublicKeyOf(cert)
		return err == nil && pub.Equal(gk.Public())
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && cert.PublicKey != nil && pub.Equal(cert.PublicKey)
}

// parsePrivateKey reads PKCS#8: what crypto/x509 knows, and the NCA's
// GOST keys — GOST 2004 with the secret as a DER INTEGER (big-endian),
// GOST 2015 with it as 64 little-endian bytes (bare, or in an OCTET
// STRING).
func parsePrivateKey(der []byte) (crypto.Signer, error) {
	in := cryptobyte.String(der)
	var pki, algSeq cryptobyte.String
	var version int
	var alg asn1.ObjectIdentifier
	var secret []byte
	if !in.ReadASN1(&pki, cbasn1.SEQUENCE) || !pki.ReadASN1Integer(&version) ||
		!pki.ReadASN1(&algSeq, cbasn1.SEQUENCE) || !algSeq.ReadASN1ObjectIdentifier(&alg) ||
		!pki.ReadASN1Bytes(&secret, cbasn1.OCTET_STRING) {
		return nil, fail("malformed PKCS#8 private key")
	}
	switch {
	case alg.Equal(gost.OIDPublicKey2004):
		var d big.Int
		s := cryptobyte.String(secret)
		if !s.ReadASN1Integer(&d) || !s.Empty() {
			return nil, fail("GOST 2004 secret is not an INTEGER")
		}
		if d.Sign() <= 0 || d.BitLen() > 8*gost.CryptoProA.Size() {
			return nil, fail("GOST 2004 secret out of range")
		}
		le := d.FillBytes(make([]byte, gost.CryptoProA.Size()))
		reverse(le)
		return gost.NewPrivateKey(gost.CryptoProA, le)
	case alg.Equal(gost.OIDPublicKey2015):
		s := cryptobyte.String(secret)
		var inner []byte
		if s.ReadASN1Bytes(&inner, cbasn1.OCTET_STRING) && s.Empty() {
			secret = inner
		}
		if len(secret) != gost.TC26512A.Size() {
			return nil, fail("GOST 2015 secret of %d bytes", len(secret))
		}
		return gost.NewPrivateKey(gost.TC26512A, secret)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fail("private key: %v", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fail("a %T cannot sign", k)
	}
	return s, nil
}

func reverse(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}

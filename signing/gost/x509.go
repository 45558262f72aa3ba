package gost

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers as the NCA writes them in certificates, CRLs and key
// files: Kazakh arcs (1.2.398.3.10) for the same algorithms.
var (
	OIDPublicKey2004 = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 1, 1}
	OIDSignature2004 = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 1, 2}
	OIDCurve2004     = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 1, 1, 1} // CryptoPro-A
	OIDDigest2004    = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 3, 1, 1, 0} // GOST 34.311-95, test S-box

	OIDPublicKey2015 = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 2, 2}
	OIDSignature2015 = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 2, 3, 2}
	OIDCurve2015     = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 1, 2, 2, 1} // TC26 512 paramSetA
	OIDDigest2015    = asn1.ObjectIdentifier{1, 2, 398, 3, 10, 1, 3, 3}       // Streebog-512
)

// ErrNotGOST is returned for a key or signature of another algorithm, so a
// caller can hand it to crypto/x509 instead.
var ErrNotGOST = errors.New("gost: not a GOST key or signature")

// curveOf names the curve of a key algorithm and its parameters.
func curveOf(alg, curve asn1.ObjectIdentifier) (*Curve, error) {
	switch {
	case alg.Equal(OIDPublicKey2004) && (curve == nil || curve.Equal(OIDCurve2004)):
		return CryptoProA, nil
	case alg.Equal(OIDPublicKey2015) && (curve == nil || curve.Equal(OIDCurve2015)):
		return TC26512A, nil
	case alg.Equal(OIDPublicKey2004), alg.Equal(OIDPublicKey2015):
		return nil, fmt.Errorf("gost: curve %v is not one the NCA uses", curve)
	}
	return nil, fmt.Errorf("%w: key algorithm %v", ErrNotGOST, alg)
}

// ParsePublicKeyInfo reads a DER SubjectPublicKeyInfo of an NCA GOST key:
// the algorithm with (curve, digest) parameters, and a BIT STRING holding
// an OCTET STRING of x‖y, each little-endian.
func ParsePublicKeyInfo(der []byte) (*PublicKey, error) {
	in := cryptobyte.String(der)
	var spki, algSeq, params cryptobyte.String
	var alg, curve asn1.ObjectIdentifier
	var bits asn1.BitString
	if !in.ReadASN1(&spki, cbasn1.SEQUENCE) || !in.Empty() ||
		!spki.ReadASN1(&algSeq, cbasn1.SEQUENCE) || !algSeq.ReadASN1ObjectIdentifier(&alg) {
		return nil, errors.New("gost: malformed SubjectPublicKeyInfo")
	}
	if algSeq.PeekASN1Tag(cbasn1.SEQUENCE) {
		if !algSeq.ReadASN1(&params, cbasn1.SEQUENCE) || !params.ReadASN1ObjectIdentifier(&curve) {
			return nil, errors.New("gost: malformed key parameters")
		}
	}
	c, err := curveOf(alg, curve)
	if err != nil {
		return nil, err
	}
	if !spki.ReadASN1BitString(&bits) || bits.BitLength%8 != 0 {
		return nil, errors.New("gost: malformed public key bits")
	}
	point := cryptobyte.String(bits.Bytes)
	var xy cryptobyte.String
	if !point.ReadASN1(&xy, cbasn1.OCTET_STRING) || !point.Empty() {
		return nil, errors.New("gost: the public key is not an OCTET STRING")
	}
	return ParsePublicKey(c, xy)
}

// PublicKeyOf is the GOST public key of a certificate, which crypto/x509
// parses but leaves without one.
func PublicKeyOf(cert *x509.Certificate) (*PublicKey, error) {
	return ParsePublicKeyInfo(cert.RawSubjectPublicKeyInfo)
}

// SignatureAlgorithm is the OID of what signed cert (crypto/x509 knows it
// only as UnknownSignatureAlgorithm for GOST).
func SignatureAlgorithm(cert *x509.Certificate) (asn1.ObjectIdentifier, error) {
	in := cryptobyte.String(cert.Raw)
	var c, alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&c, cbasn1.SEQUENCE) || !c.SkipASN1(cbasn1.SEQUENCE) ||
		!c.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, errors.New("gost: malformed certificate")
	}
	return oid, nil
}

// CheckSignatureFrom checks that parent's GOST key signed cert: the
// TBSCertificate hashed with the curve's hash, the signature r‖s
// little-endian each.
func CheckSignatureFrom(cert, parent *x509.Certificate) error {
	alg, err := SignatureAlgorithm(cert)
	if err != nil {
		return err
	}
	pub, err := PublicKeyOf(parent)
	if err != nil {
		return err
	}
	switch {
	case alg.Equal(OIDSignature2004) && pub.Curve == CryptoProA, alg.Equal(OIDSignature2015) && pub.Curve == TC26512A:
	case alg.Equal(OIDSignature2004), alg.Equal(OIDSignature2015):
		return fmt.Errorf("gost: signature algorithm %v with a key on %s", alg, pub.Curve.Name)
	default:
		return fmt.Errorf("%w: signature algorithm %v", ErrNotGOST, alg)
	}
	h := pub.Curve.NewHash()
	h.Write(cert.RawTBSCertificate)
	return pub.Verify(h.Sum(nil), cert.Signature)
}

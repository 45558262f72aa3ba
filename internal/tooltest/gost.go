package tooltest

import (
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kopir/kopir/signing/gost"
)

// CheckGOSTEnveloped holds a document's enveloped GOST signature (one
// ds:Signature, prefix ds, URI="") to tools nobody here wrote: libxml2
// canonicalizes the document without its Signature and the SignedInfo,
// OpenSSL's gost engine (or gostsum, for GOST 94's test S-box) hashes them
// to the DigestValue and verifies the SignatureValue over the SignedInfo's
// digest with pub. inScope are the namespace declarations in scope where
// the Signature stands (xmlns:ds included), which Canonical XML 1.0 writes
// on a SignedInfo canonicalized alone. The test fails on any mismatch.
func CheckGOSTEnveloped(t testing.TB, signed []byte, pub *gost.PublicKey, inScope string) {
	t.Helper()
	ossl := OpenSSLGOST(t)
	xmllint := Require(t, "xmllint")
	gostsum := Require(t, "gostsum")
	dir := t.TempDir()
	hash := func(data []byte) []byte {
		f := filepath.Join(dir, "data")
		os.WriteFile(f, data, 0o600)
		if pub.Curve != gost.TC26512A {
			o, err := Run(gostsum, "-t", f)
			if err != nil {
				t.Fatal(err)
			}
			h, _ := hex.DecodeString(strings.Fields(string(o))[0])
			return Reversed(h)
		}
		s := strings.TrimSpace(string(ossl("dgst", "-engine", "gost", "-md_gost12_512", f)))
		h, _ := hex.DecodeString(s[strings.LastIndex(s, " ")+1:])
		return h
	}
	c14n := func(doc string) []byte {
		f := filepath.Join(dir, "doc.xml")
		os.WriteFile(f, []byte(doc), 0o600)
		out, err := Run(xmllint, "--nonet", "--c14n", f)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	sigText := regexp.MustCompile(`(?s)<ds:Signature .*</ds:Signature>`).FindString(string(signed))
	if sigText == "" {
		t.Fatalf("no ds:Signature in\n%s", signed)
	}
	value := func(name string) []byte {
		m := regexp.MustCompile(`<ds:` + name + `>([^<]*)</ds:` + name + `>`).FindStringSubmatch(sigText)
		if m == nil {
			t.Fatalf("no ds:%s", name)
		}
		b, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// The Reference: the document without its Signature, and (URI="")
	// without comments, which libxml2's --c14n leaves out.
	if got := hash(c14n(strings.Replace(string(signed), sigText, "", 1))); string(got) != string(value("DigestValue")) {
		t.Fatalf("libxml2 and the tools digest the document to %x, the signature says %x", got, value("DigestValue"))
	}
	si := regexp.MustCompile(`(?s)<ds:SignedInfo>.*</ds:SignedInfo>`).FindString(sigText)
	alone := strings.Replace(si, "<ds:SignedInfo>", `<ds:SignedInfo `+inScope+`>`, 1)
	digest := filepath.Join(dir, "si.digest")
	os.WriteFile(digest, hash(c14n(alone)), 0o600)
	keyFile := filepath.Join(dir, "pub.pem")
	os.WriteFile(keyFile, OpenSSLPublicKey(t, pub), 0o600)
	sigFile := filepath.Join(dir, "sig.bin")
	os.WriteFile(sigFile, Reversed(value("SignatureValue")), 0o600)
	out := ossl("pkeyutl", "-engine", "gost", "-verify", "-pubin", "-inkey", keyFile, "-in", digest, "-sigfile", sigFile)
	if !strings.Contains(string(out), "Signature Verified Successfully") {
		t.Fatalf("the gost engine refuses the SignatureValue: %s", out)
	}
}

// OpenSSLPublicKey writes a GOST public key as OpenSSL knows it: the same
// x‖y bytes (RFC 4491 writes them little-endian too) under the Russian
// OIDs the gost engine reads, where the NCA uses Kazakh ones.
func OpenSSLPublicKey(t testing.TB, pub *gost.PublicKey) []byte {
	t.Helper()
	alg, curve, digest := asn1.ObjectIdentifier{1, 2, 643, 2, 2, 19}, asn1.ObjectIdentifier{1, 2, 643, 2, 2, 35, 1}, asn1.ObjectIdentifier{1, 2, 643, 2, 2, 30, 1}
	if pub.Curve == gost.TC26512A {
		alg, curve, digest = asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 1, 2}, asn1.ObjectIdentifier{1, 2, 643, 7, 1, 2, 1, 2, 1}, asn1.ObjectIdentifier{1, 2, 643, 7, 1, 1, 2, 3}
	}
	point, _ := asn1.Marshal(pub.Bytes())
	params, _ := asn1.Marshal(struct{ Curve, Digest asn1.ObjectIdentifier }{curve, digest})
	type algorithm struct {
		OID    asn1.ObjectIdentifier
		Params asn1.RawValue
	}
	spki, err := asn1.Marshal(struct {
		Alg algorithm
		Key asn1.BitString
	}{Alg: algorithm{alg, asn1.RawValue{FullBytes: params}}, Key: asn1.BitString{Bytes: point, BitLength: 8 * len(point)}})
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})
}

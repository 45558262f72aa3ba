package signing_test

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/devpki"
	"github.com/kopir/kopir/signing/xmldoc"
)

var (
	signedInfoRe = regexp.MustCompile(`<ds:SignedInfo .*</ds:SignedInfo>`)
	sigValueRe   = regexp.MustCompile(`<ds:SignatureValue>[^<]*</ds:SignatureValue>`)
	bodyRe       = regexp.MustCompile(`(?s)<soapenv:Body .*</soapenv:Body>`)
	bodyIDRe     = regexp.MustCompile(`wsu:Id="(id-[0-9a-f]+)"`)
	tsIDRe       = regexp.MustCompile(`wsu:Id="(TS-[0-9a-f]+)"`)
	tokenIDRe    = regexp.MustCompile(`wsu:Id="(X509-[0-9a-f]+)"`)
	tsRefRe      = regexp.MustCompile(`<ds:Reference URI="#TS-.*?</ds:Reference>`)
	timestampRe  = regexp.MustCompile(`<wsu:Timestamp .*</wsu:Timestamp>`)
	headerRe     = regexp.MustCompile(`(?s)<soapenv:Header>.*</soapenv:Header>`)
)

// resign rewrites SignedInfo with edit and signs it again with the RSA test
// key, so that a case reaches the check it is about instead of failing on
// the signature value.
func resign(t *testing.T, envelope string, edit func(string) string) string {
	t.Helper()
	si := signedInfoRe.FindString(envelope)
	if si == "" {
		t.Fatal("no SignedInfo")
	}
	edited := edit(si)
	if edited == si {
		t.Fatal("the edit changed nothing")
	}
	// The edit may leave SignedInfo in non-canonical form; sign what a
	// verifier will canonicalize.
	d, err := xmldoc.Parse([]byte(edited), xmldoc.Limits{})
	if err != nil {
		t.Fatalf("edited SignedInfo: %v", err)
	}
	digest := sha256.Sum256(d.AppendExcC14N(nil, d.Root, nil))
	sig, err := fixture(t).rsa.Key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Replace(envelope, si, edited, 1)
	return sigValueRe.ReplaceAllString(out, "<ds:SignatureValue>"+base64.StdEncoding.EncodeToString(sig)+"</ds:SignatureValue>")
}

func first(re *regexp.Regexp, s string) string {
	m := re.FindStringSubmatch(s)
	if m == nil {
		panic("no match for " + re.String())
	}
	return m[1]
}

// TestAttacks is the catalogue of refused envelopes: wrapping, duplicates,
// references out of place, weak algorithms, bad inputs. Each must be
// refused with its own reason.
func TestAttacks(t *testing.T) {
	p := fixture(t)
	s := newSigner(t, p.rsa, signing.SignerOptions{})
	signed := string(sign(t, s, readFile(t, "testdata/envelopes/soap11-header.xml")))
	body := bodyRe.FindString(signed)
	bodyID, tsID, tokenID := first(bodyIDRe, signed), first(tsIDRe, signed), first(tokenIDRe, signed)
	evilBody := `<soapenv:Body><typ:SendMessage><request xmlns=""><requestInfo><messageId>evil</messageId></requestInfo></request></typ:SendMessage></soapenv:Body>`
	security := regexp.MustCompile(`<wsse:Security .*</wsse:Security>`).FindString(signed)
	signature := regexp.MustCompile(`<ds:Signature .*</ds:Signature>`).FindString(signed)

	tests := []struct {
		name string
		in   string
		want signing.Reason
	}{
		{"no security header", strings.Replace(signed, security, "", 1), signing.ReasonUnsigned},
		{"no header", `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body/></S:Envelope>`, signing.ReasonUnsigned},
		{"no signature", strings.Replace(signed, signature, "", 1), signing.ReasonUnsigned},
		{"body changed", strings.Replace(signed, "880101300010", "880101300011", 1), signing.ReasonDigestMismatch},
		{"payload moved to another namespace", strings.Replace(signed, `<request xmlns="">`, `<request xmlns="urn:evil">`, 1), signing.ReasonDigestMismatch},
		{"timestamp changed", regexp.MustCompile(`(<wsu:Created>[^<]*)\d\dZ`).ReplaceAllStringFunc(signed, func(m string) string {
			if strings.HasSuffix(m, "00Z") {
				return m[:len(m)-3] + "01Z"
			}
			return m[:len(m)-3] + "00Z"
		}), signing.ReasonDigestMismatch},
		{"signed info changed", regexp.MustCompile(`<ds:DigestValue>.`).ReplaceAllStringFunc(signed, func(m string) string {
			if strings.HasSuffix(m, "A") {
				return m[:len(m)-1] + "B"
			}
			return m[:len(m)-1] + "A"
		}), signing.ReasonBadSignature},

		// Signature wrapping.
		{"wrapped: signed Body moved to the Header, new Body with the same id",
			strings.Replace(strings.Replace(signed, body, strings.Replace(evilBody, "<soapenv:Body>", `<soapenv:Body xmlns:wsu="`+signing.NSWSU+`" wsu:Id="`+bodyID+`">`, 1), 1),
				"<soapenv:Header>", `<soapenv:Header><w:Wrapper xmlns:w="urn:w">`+body+`</w:Wrapper>`, 1), signing.ReasonDuplicateID},
		{"wrapped: signed Body moved to the Header, new Body without id",
			strings.Replace(strings.Replace(signed, body, evilBody, 1),
				"<soapenv:Header>", `<soapenv:Header><w:Wrapper xmlns:w="urn:w">`+body+`</w:Wrapper>`, 1), signing.ReasonWrapped},
		{"wrapped: signed Body inside the new Body",
			strings.Replace(signed, body, `<soapenv:Body><w:Wrapper xmlns:w="urn:w">`+body+`</w:Wrapper></soapenv:Body>`, 1), signing.ReasonWrapped},
		{"wrapped: signed Timestamp moved out of the Security header",
			strings.Replace(strings.Replace(signed, timestampRe.FindString(signed), `<wsu:Timestamp xmlns:wsu="`+signing.NSWSU+`" wsu:Id="TS-fresh"><wsu:Created>2026-01-01T00:00:00Z</wsu:Created><wsu:Expires>2099-01-01T00:00:00Z</wsu:Expires></wsu:Timestamp>`, 1),
				"<soapenv:Header>", `<soapenv:Header><w:Old xmlns:w="urn:w">`+timestampRe.FindString(signed)+`</w:Old>`, 1), signing.ReasonWrapped},
		{"duplicate id under another attribute name", strings.Replace(signed, `<x:Trace xmlns:x="urn:trace">`, `<x:Trace xmlns:x="urn:trace" Id="`+bodyID+`">`, 1), signing.ReasonDuplicateID},
		{"two bodies", strings.Replace(signed, "</soapenv:Envelope>", evilBody+"</soapenv:Envelope>", 1), signing.ReasonDuplicateBody},
		{"two headers", strings.Replace(signed, "<soapenv:Body ", "<soapenv:Header/><soapenv:Body ", 1), signing.ReasonDuplicateBody},
		{"two security headers", strings.Replace(signed, security, security+security, 1), signing.ReasonDuplicateSecurity},
		{"two signatures", strings.Replace(signed, signature, signature+signature, 1), signing.ReasonDuplicateSecurity},
		{"two timestamps", strings.Replace(signed, "<wsse:BinarySecurityToken", timestampRe.FindString(signed)+"<wsse:BinarySecurityToken", 1), signing.ReasonDuplicateSecurity},

		// References and transforms, re-signed so the signature itself holds.
		{"reference to the token", resign(t, signed, func(si string) string { return strings.Replace(si, "#"+tsID, "#"+tokenID, 1) }), signing.ReasonBadReference},
		{"reference outside the document", resign(t, signed, func(si string) string { return strings.Replace(si, "#"+tsID, "http://example.invalid/ts", 1) }), signing.ReasonBadReference},
		{"xpointer reference", resign(t, signed, func(si string) string { return strings.Replace(si, "#"+tsID, "#xpointer(/)", 1) }), signing.ReasonBadReference},
		{"reference to nothing", resign(t, signed, func(si string) string { return strings.Replace(si, "#"+tsID, "#nope", 1) }), signing.ReasonBadReference},
		{"body referenced twice", resign(t, signed, func(si string) string { return strings.Replace(si, "#"+tsID, "#"+bodyID, 1) }), signing.ReasonBadReference},
		{"timestamp not signed", resign(t, signed, func(si string) string { return tsRefRe.ReplaceAllString(si, "") }), signing.ReasonPartNotSigned},
		{"body not signed", resign(t, signed, func(si string) string {
			return regexp.MustCompile(`<ds:Reference URI="#id-.*?</ds:Reference>`).ReplaceAllString(si, "")
		}), signing.ReasonPartNotSigned},
		{"inclusive c14n transform", resign(t, signed, func(si string) string {
			return strings.Replace(si, `<ds:Transform Algorithm="`+signing.NSExcC14N+`"></ds:Transform>`, `<ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"></ds:Transform>`, 1)
		}), signing.ReasonTransform},
		{"xpath transform", resign(t, signed, func(si string) string {
			return strings.Replace(si, `<ds:Transforms><ds:Transform Algorithm="`+signing.NSExcC14N+`"></ds:Transform>`,
				`<ds:Transforms><ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>1</ds:XPath></ds:Transform><ds:Transform Algorithm="`+signing.NSExcC14N+`"></ds:Transform>`, 1)
		}), signing.ReasonTransform},
		{"no transforms", resign(t, signed, func(si string) string {
			return strings.Replace(si, `<ds:Transforms><ds:Transform Algorithm="`+signing.NSExcC14N+`"></ds:Transform></ds:Transforms>`, ``, 1)
		}), signing.ReasonTransform},
		{"inclusive canonicalization of SignedInfo", strings.Replace(signed, `<ds:CanonicalizationMethod Algorithm="`+signing.NSExcC14N+`">`,
			`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315">`, 1), signing.ReasonTransform},
		{"sha1 digest", resign(t, signed, func(si string) string { return strings.Replace(si, signing.DigestSHA256, signing.DigestSHA1, 1) }), signing.ReasonAlgorithm},
		{"rsa-sha1 signature", resign(t, signed, func(si string) string { return strings.Replace(si, signing.RSASHA256, signing.RSASHA1, 1) }), signing.ReasonAlgorithm},
		{"hmac signature", resign(t, signed, func(si string) string {
			return strings.Replace(si, signing.RSASHA256, "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256", 1)
		}), signing.ReasonAlgorithm},
		{"unknown signature method", resign(t, signed, func(si string) string { return strings.Replace(si, signing.RSASHA256, "urn:rot13", 1) }), signing.ReasonAlgorithm},
		{"timestamp missing", resign(t, strings.Replace(signed, timestampRe.FindString(signed), "", 1), func(si string) string { return tsRefRe.ReplaceAllString(si, "") }),
			signing.ReasonTimestampMissing},

		// Key information.
		{"token reference to the Body", strings.Replace(signed, `<wsse:Reference URI="#`+tokenID+`"`, `<wsse:Reference URI="#`+bodyID+`"`, 1), signing.ReasonKeyInfo},
		{"no key info", regexp.MustCompile(`<ds:KeyInfo>.*</ds:KeyInfo>`).ReplaceAllString(signed, ""), signing.ReasonKeyInfo},
		{"token not a certificate", regexp.MustCompile(`(<wsse:BinarySecurityToken[^>]*>)[^<]*`).ReplaceAllString(signed, "${1}AAAA"), signing.ReasonKeyInfo},

		// Bad input.
		{"dtd", `<!DOCTYPE e [<!ENTITY x "y">]>` + signed[strings.Index(signed, "<soapenv:Envelope"):], signing.ReasonDTD},
		{"not soap", strings.ReplaceAll(signed, "soapenv:Envelope", "soapenv:Letter"), signing.ReasonNotSOAP},
		{"not xml", signed[:len(signed)/2], signing.ReasonMalformed},
		{"header after body", strings.Replace(strings.Replace(signed, headerRe.FindString(signed), "", 1), "</soapenv:Envelope>", headerRe.FindString(signed)+"</soapenv:Envelope>", 1), signing.ReasonMalformed},
	}
	v := newVerifier(t, signing.Policy{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify([]byte(tt.in))
			if !isReason(err, tt.want) {
				t.Fatalf("err = %v, want reason %s", err, tt.want)
			}
		})
	}
	if _, err := v.Verify([]byte(signed)); err != nil {
		t.Fatalf("the untouched envelope must verify: %v", err)
	}
}

func TestPolicy(t *testing.T) {
	p := fixture(t)
	envelope := readFile(t, "testdata/envelopes/soap11-noheader.xml")
	selfSigned := &devpki.Leaf{Key: p.otherCA.Key, Chain: []*x509.Certificate{p.otherCA.Cert}}
	sha1Alg := signing.Algorithm{URI: signing.RSASHA1, NewHash: crypto.SHA1.New, SignerOpts: crypto.SHA1}
	sha1Digest := signing.Digest{URI: signing.DigestSHA1, NewHash: crypto.SHA1.New}
	deep := `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>` + strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40) + `</S:Body></S:Envelope>`

	tests := []struct {
		name   string
		leaf   *devpki.Leaf
		sopts  signing.SignerOptions
		policy signing.Policy
		in     []byte
		want   signing.Reason // "" means accepted
	}{
		{"trusted", p.rsa, signing.SignerOptions{}, signing.Policy{}, envelope, ""},
		{"foreign CA", p.foreign, signing.SignerOptions{}, signing.Policy{}, envelope, signing.ReasonUntrusted},
		{"expired certificate", p.expired, signing.SignerOptions{}, signing.Policy{}, envelope, signing.ReasonCertExpired},
		{"pinned leaf", p.rsa, signing.SignerOptions{}, signing.Policy{Pinned: []*x509.Certificate{p.rsa.Chain[0]}}, envelope, ""},
		{"other leaf pinned", p.rsa, signing.SignerOptions{}, signing.Policy{Pinned: []*x509.Certificate{p.ec.Chain[0]}}, envelope, signing.ReasonUntrusted},
		{"self-signed peer as anchor", selfSigned, signing.SignerOptions{}, signing.Policy{Roots: []*x509.Certificate{p.otherCA.Cert}}, envelope, ""},
		{"expired timestamp", p.rsa, signing.SignerOptions{Now: func() time.Time { return time.Now().Add(-7 * time.Minute) }}, signing.Policy{}, envelope, signing.ReasonTimestampExpired},
		{"within clock skew", p.rsa, signing.SignerOptions{Now: func() time.Time { return time.Now().Add(-5*time.Minute - 30*time.Second) }}, signing.Policy{}, envelope, ""},
		{"future timestamp", p.rsa, signing.SignerOptions{Now: func() time.Time { return time.Now().Add(2 * time.Minute) }}, signing.Policy{}, envelope, signing.ReasonTimestampFuture},
		{"lifetime over maximum", p.rsa, signing.SignerOptions{TTL: time.Hour}, signing.Policy{}, envelope, signing.ReasonTimestampTTL},
		{"lifetime within a raised maximum", p.rsa, signing.SignerOptions{TTL: time.Hour}, signing.Policy{MaxTTL: 2 * time.Hour}, envelope, ""},
		{"sha1 refused", p.rsa, signing.SignerOptions{Algorithm: &sha1Alg, Digest: &sha1Digest}, signing.Policy{}, envelope, signing.ReasonAlgorithm},
		{"sha1 allowed", p.rsa, signing.SignerOptions{Algorithm: &sha1Alg, Digest: &sha1Digest}, signing.Policy{AllowSHA1: true}, envelope, ""},
		{"plain Id not accepted when not configured", p.rsa, signing.SignerOptions{}, signing.Policy{IDAttrs: []signing.IDAttr{{NS: signing.NSWSU, Local: "Id"}}},
			readFile(t, "testdata/envelopes/body-plain-id.xml"), signing.ReasonBadReference},
		{"too large", p.rsa, signing.SignerOptions{}, signing.Policy{Limits: xmldoc.Limits{MaxBytes: 1000}}, envelope, signing.ReasonTooLarge},
		{"too deep", p.rsa, signing.SignerOptions{}, signing.Policy{Limits: xmldoc.Limits{MaxDepth: 20}}, []byte(deep), signing.ReasonTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed := sign(t, newSigner(t, tt.leaf, tt.sopts), tt.in)
			res, err := newVerifier(t, tt.policy).Verify(signed)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(res.Body) == 0 {
					t.Fatal("accepted without a Body")
				}
				return
			}
			if !isReason(err, tt.want) {
				t.Fatalf("err = %v, want reason %s", err, tt.want)
			}
		})
	}
}

func TestPolicyRequiresTrust(t *testing.T) {
	if _, err := signing.NewVerifier(signing.Policy{}); err == nil {
		t.Fatal("a policy without trust anchors was accepted")
	}
	if _, err := signing.NewVerifier(signing.Policy{Roots: []*x509.Certificate{fixture(t).ca.Cert}, Required: []signing.Part{"Header"}}); err == nil {
		t.Fatal("an unknown required part was accepted")
	}
}

// TestTimestampOptional: a policy that requires only the Body accepts a
// peer that sends no Timestamp.
func TestTimestampOptional(t *testing.T) {
	p := fixture(t)
	signed := string(sign(t, newSigner(t, p.rsa, signing.SignerOptions{}), readFile(t, "testdata/envelopes/soap11-header.xml")))
	noTS := resign(t, strings.Replace(signed, timestampRe.FindString(signed), "", 1), func(si string) string { return tsRefRe.ReplaceAllString(si, "") })
	res, err := newVerifier(t, signing.Policy{Required: []signing.Part{signing.PartBody}}).Verify([]byte(noTS))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created.IsZero() {
		t.Fatal("a Timestamp was reported")
	}
}

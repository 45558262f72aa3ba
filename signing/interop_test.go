package signing_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kopir/kopir/internal/tooltest"
	"github.com/kopir/kopir/signing"
)

// xmlsec1 returns the path of Debian's xmlsec1 (tooltest.Require: a
// failure when KOPIR_REQUIRE_TOOLS is set, as CI sets it).
func xmlsec1(t *testing.T) string { return tooltest.Require(t, "xmlsec1") }

// idArgs tell xmlsec1 which elements carry ids, as protocol.md documents.
func idArgs(soapNS string) []string {
	return []string{"--id-attr:Id", signing.NSWSU + ":Timestamp", "--id-attr:Id", soapNS + ":Body"}
}

func soapNSOf(envelope []byte) string {
	if bytes.Contains(envelope, []byte(signing.NSSOAP12)) {
		return signing.NSSOAP12
	}
	return signing.NSSOAP11
}

func runXMLSec(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(xmlsec1(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Logf("xmlsec1 %s:\n%s", strings.Join(args, " "), stderr.String())
	}
	return out, err
}

// TestXMLSec1VerifiesKopir: every envelope Kopir signs verifies with
// xmlsec1, and a tampered one does not.
func TestXMLSec1VerifiesKopir(t *testing.T) {
	xmlsec1(t)
	p := fixture(t)
	files, _ := filepath.Glob("testdata/envelopes/*.xml")
	for _, key := range []string{"rsa", "ec", "rsa-smart-bridge"} {
		leaf, opts := p.rsa, signing.SignerOptions{}
		switch key {
		case "ec":
			leaf = p.ec
		case "rsa-smart-bridge":
			opts.Layout = signing.LayoutSmartBridge
		}
		s := newSigner(t, leaf, opts)
		for _, f := range files {
			t.Run(key+"/"+filepath.Base(f), func(t *testing.T) {
				in := readFile(t, f)
				out := sign(t, s, in)
				path := filepath.Join(t.TempDir(), "signed.xml")
				os.WriteFile(path, out, 0o644)
				args := append([]string{"--verify", "--pubkey-cert-pem", filepath.Join(p.dir, strings.TrimSuffix(key, "-smart-bridge")+".pem")}, idArgs(soapNSOf(in))...)
				if _, err := runXMLSec(t, append(args, path)...); err != nil {
					t.Fatalf("xmlsec1 refused Kopir's signature: %v\n%s", err, out)
				}
				tampered := tamperBody(t, out)
				os.WriteFile(path, tampered, 0o644)
				if _, err := runXMLSec(t, append(args, path)...); err == nil {
					t.Fatal("xmlsec1 accepted a tampered Body")
				}
			})
		}
	}
}

var bodyTagRe = regexp.MustCompile(`<(?:\w+:)?Body[^>]*>`)

// tamperBody adds a space at the start of the Body: white space is
// content, so the canonical form changes while the XML stays well-formed.
func tamperBody(t *testing.T, envelope []byte) []byte {
	t.Helper()
	loc := bodyTagRe.FindIndex(envelope)
	if loc == nil {
		t.Fatal("no Body start tag")
	}
	out := append([]byte(nil), envelope[:loc[1]]...)
	out = append(out, ' ')
	return append(out, envelope[loc[1]:]...)
}

// template is an envelope as another stack would lay it out: namespaces
// declared on the Envelope, pretty-printed, Body referenced by wsu:Id, and
// an empty signature for xmlsec1 to fill in.
const template = `<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
    xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
  <soap:Header>
    <wsse:Security soap:mustUnderstand="1">
      <wsu:Timestamp wsu:Id="TS-1">
        <wsu:Created>CREATED</wsu:Created>
        <wsu:Expires>EXPIRES</wsu:Expires>
      </wsu:Timestamp>
      <wsse:BinarySecurityToken EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary" ValueType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3" wsu:Id="X509-1">CERT</wsse:BinarySecurityToken>
      <ds:Signature>
        <ds:SignedInfo>
          <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
          <ds:SignatureMethod Algorithm="SIGALG"/>
          <ds:Reference URI="#Body-1">
            <ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>
            <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
            <ds:DigestValue/>
          </ds:Reference>
          <ds:Reference URI="#TS-1">
            <ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>
            <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
            <ds:DigestValue/>
          </ds:Reference>
        </ds:SignedInfo>
        <ds:SignatureValue/>
        <ds:KeyInfo>
          <wsse:SecurityTokenReference><wsse:Reference URI="#X509-1" ValueType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"/></wsse:SecurityTokenReference>
        </ds:KeyInfo>
      </ds:Signature>
    </wsse:Security>
  </soap:Header>
  <soap:Body wsu:Id="Body-1">
    <typ:SendMessage xmlns:typ="http://bip.bee.kz/SyncChannel/v10/Types">
      <request xmlns=""><requestInfo><messageId>m-1</messageId></requestInfo><requestData><data>Сәлем &amp; hello</data></requestData></request>
    </typ:SendMessage>
  </soap:Body>
</soap:Envelope>
`

// TestKopirVerifiesXMLSec1: envelopes xmlsec1 signs from a template verify
// with Kopir, and tampering is refused.
func TestKopirVerifiesXMLSec1(t *testing.T) {
	xmlsec1(t)
	p := fixture(t)
	for _, tc := range []struct{ key, alg string }{{"rsa", signing.RSASHA256}, {"ec", signing.ECDSASHA256}} {
		t.Run(tc.key, func(t *testing.T) {
			leaf := p.rsa
			if tc.key == "ec" {
				leaf = p.ec
			}
			now := time.Now().UTC()
			tmpl := strings.NewReplacer(
				"CREATED", now.Format(time.RFC3339),
				"EXPIRES", now.Add(5*time.Minute).Format(time.RFC3339),
				"CERT", base64.StdEncoding.EncodeToString(leaf.Chain[0].Raw),
				"SIGALG", tc.alg,
			).Replace(template)
			path := filepath.Join(t.TempDir(), "template.xml")
			os.WriteFile(path, []byte(tmpl), 0o644)
			files := filepath.Join(p.dir, tc.key)
			args := append([]string{"--sign", "--privkey-pem", files + "-key.pem," + files + ".pem"}, idArgs(signing.NSSOAP11)...)
			signed, err := runXMLSec(t, append(args, path)...)
			if err != nil {
				t.Fatalf("xmlsec1 --sign: %v", err)
			}
			v := newVerifier(t, signing.Policy{})
			res, err := v.Verify(signed)
			if err != nil {
				t.Fatalf("Kopir refused xmlsec1's signature: %v\n%s", err, signed)
			}
			if res.Algorithm != tc.alg || !bytes.Contains(res.Body, []byte("<request>")) || !bytes.Contains(res.Body, []byte("Сәлем &amp; hello")) {
				t.Errorf("result %s %s", res.Algorithm, res.Body)
			}
			if _, err := v.Verify(tamperBody(t, signed)); !isReason(err, signing.ReasonDigestMismatch) {
				t.Errorf("tampered Body: %v", err)
			}
			tamperedTS := bytes.Replace(signed, []byte(now.Add(5*time.Minute).Format(time.RFC3339)),
				[]byte(now.Add(6*time.Minute).Format(time.RFC3339)), 1)
			if _, err := v.Verify(tamperedTS); !isReason(err, signing.ReasonDigestMismatch) {
				t.Errorf("tampered Timestamp: %v", err)
			}
		})
	}
}

// variedEnvelope is a large SHEP-like envelope whose Body has everything the
// one-pass reader treats apart from plain markup: references, CDATA,
// comments and processing instructions, CR LF, attributes out of order or
// single-quoted or needing normalization, self-closing and prefixed
// elements, namespaces declared, rebound and undeclared mid-way, white
// space inside tags, Kazakh text in names and content, and runs long
// enough to be hashed straight from the input.
func variedEnvelope(rows int) []byte {
	var b strings.Builder
	b.WriteString("<soapenv:Envelope xmlns:soapenv=\"" + signing.NSSOAP11 + "\"><soapenv:Header/><soapenv:Body>" +
		`<typ:SendMessage xmlns:typ="http://bip.bee.kz/SyncChannel/v10/Types"><request xmlns=""><requestData>` +
		`<data xmlns:ns2="http://data.gbd.chdb.scb.kz/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="ns2:rows">`)
	for i := 0; i < rows; i++ {
		switch i % 8 {
		case 0:
			fmt.Fprintf(&b, `<row n="%d"><name>Жеке кәсіпкер %d</name><бин>%012d</бин></row>`, i, i, i)
		case 1:
			fmt.Fprintf(&b, "<row z=\"1\" a='%d' m=\"x&amp;y\"><name>A &amp; B &lt; C &gt; D &#1170;\r\nE</name></row>", i)
		case 2:
			fmt.Fprintf(&b, `<row n="%d"><![CDATA[<raw> & "quoted" ]]><!-- note --><?pi data?><empty/><e  x = "1" /></row >`, i)
		case 3:
			fmt.Fprintf(&b, `<ns2:row xmlns:ns2="urn:rebound" n="%d"><ns2:v xsi:type="ns2:t">%d</ns2:v></ns2:row>`, i, i)
		case 4:
			fmt.Fprintf(&b, `<row xmlns="urn:default" n="%d"><inner xmlns=""><x/></inner><y>ы</y></row>`, i)
		case 5:
			fmt.Fprintf(&b, "<row n=\"%d\" t=\"\ttab\nline\"><name>\U0001F600 €</name></row>", i)
		default:
			fmt.Fprintf(&b, `<row n="%d"><name>%s</name></row>`, i, strings.Repeat("Қазақстан Республикасы ", 30))
		}
	}
	b.WriteString(`</data></requestData></request></typ:SendMessage></soapenv:Body></soapenv:Envelope>`)
	return []byte(b.String())
}

// TestXMLSec1VerifiesVariedBody: a 1.6 MB Body of everything the one-pass
// reader rewrites or copies, signed by Kopir, verifies with xmlsec1 and
// with Kopir, and a change deep inside it fails both.
func TestXMLSec1VerifiesVariedBody(t *testing.T) {
	xmlsec1(t)
	p := fixture(t)
	in := variedEnvelope(4000)
	out := sign(t, newSigner(t, p.rsa, signing.SignerOptions{}), in)
	v := newVerifier(t, signing.Policy{})
	res, err := v.Verify(out)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := v.VerifyInTree(out)
	if err != nil || !bytes.Equal(tree.Body, res.Body) {
		t.Fatalf("the tree disagrees: %v", err)
	}
	path := filepath.Join(t.TempDir(), "signed.xml")
	os.WriteFile(path, out, 0o644)
	args := append([]string{"--verify", "--pubkey-cert-pem", filepath.Join(p.dir, "rsa.pem")}, idArgs(signing.NSSOAP11)...)
	if _, err := runXMLSec(t, append(args, path)...); err != nil {
		t.Fatalf("xmlsec1 refused Kopir's signature over a varied %d-byte Body", len(in))
	}
	tampered := bytes.Replace(out, []byte("<?pi data?>"), []byte("<?pi date?>"), 1)
	os.WriteFile(path, tampered, 0o644)
	if _, err := runXMLSec(t, append(args, path)...); err == nil {
		t.Fatal("xmlsec1 accepted a changed processing instruction")
	}
	if _, err := v.Verify(tampered); !isReason(err, signing.ReasonDigestMismatch) {
		t.Fatalf("Kopir: %v", err)
	}
}

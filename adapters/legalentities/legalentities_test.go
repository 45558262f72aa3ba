package legalentities_test

import (
	"context"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/kopir/kopir/adapters"
	"github.com/kopir/kopir/adapters/legalentities"
	"github.com/kopir/kopir/gateway/pii/iin"
	"github.com/kopir/kopir/gateway/shep"
	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/internal/golden"
	"github.com/kopir/kopir/internal/mocktest"
	"github.com/kopir/kopir/internal/tooltest"
	shepmock "github.com/kopir/kopir/mocks/shep"
	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/gost"
)

const (
	service   = "GbdulInfoByBin_v2"
	requestor = "260110000120"
)

func client(env *mocktest.Env) *legalentities.Client {
	return legalentities.New(env.Client, env.PayloadSigner, env.PayloadVerifier, legalentities.Config{RequestorBIN: requestor})
}

// TestGolden: every entity of the mock's GBD UL fixtures (protocol.md's
// shapes, signed enveloped) reads into the golden LegalEntity.
func TestGolden(t *testing.T) {
	env := mocktest.New(t, nil, nil)
	c := client(env)
	for _, bin := range []string{"050340000108", "121140000109", "190740000100", "980440000105"} {
		e, err := c.LegalEntity(context.Background(), bin)
		if err != nil {
			t.Fatalf("%s: %v", bin, err)
		}
		golden.JSON(t, bin, e)
	}
}

// TestReadByPath: an entity without an address of its own, whose founder
// and leader carry elements named like the entity's, keeps none of theirs.
func TestReadByPath(t *testing.T) {
	doc := `<ns3:responseDataType xmlns:ns3="` + legalentities.Namespace + `"><Status><Code>002</Code></Status>` +
		`<Organization><BIN>121140000109</BIN>` +
		`<OrganizationLeader><IIN>900515400014</IIN><Address><KATO>750000000</KATO></Address><FullNameRu>Не то</FullNameRu></OrganizationLeader>` +
		`<FoundersUL><BIN>050340000108</BIN><RegistrationDate>2001-01-01</RegistrationDate><Address><KATO>711210000</KATO></Address>` +
		`<Activity><Main>true</Main><OKED>46900</OKED></Activity><OrganizationNameRu>ТОО</OrganizationNameRu></FoundersUL>` +
		`</Organization></ns3:responseDataType>`
	fixtures, err := shepmock.ParseFixtures([]byte("services:\n  " + service + ":\n    key: BIN\n    answer_mode: escaped\n    sign_answers: true\n" +
		"    records:\n      \"121140000109\": '" + doc + "'\n"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := client(mocktest.New(t, fixtures, nil)).LegalEntity(context.Background(), "121140000109")
	if err != nil {
		t.Fatal(err)
	}
	if e.Address != nil || e.RegisteredOn != "" || len(e.Activities) != 0 || e.MainActivity != "" || e.Names.FullRU != "" {
		t.Fatalf("nested records leaked into the entity: %+v", e)
	}
	if len(e.Founders.Entities) != 1 || e.Founders.Entities[0].NameRU != "ТОО" || e.Leader == nil || e.Leader.IIN != "900515400014" {
		t.Fatalf("%+v %+v", e.Founders, e.Leader)
	}
}

// TestRequestOnTheWire: what reaches SHEP is protocol.md §8's request —
// {GBD UL}Request with RequestorBIN, BIN and the organisation's enveloped
// signature, in that order, escaped into data (xsi:type xs:string) — and
// xmlsec1 verifies its signature against the organisation's certificate.
func TestRequestOnTheWire(t *testing.T) {
	env := mocktest.New(t, nil, nil)
	if _, err := client(env).LegalEntity(context.Background(), "050340000108"); err != nil {
		t.Fatal(err)
	}
	wire := etree.NewDocument()
	if err := wire.ReadFromBytes(env.LastRequest()); err != nil {
		t.Fatal(err)
	}
	data := wire.FindElement("//requestData/data")
	if data == nil || data.SelectAttrValue("xsi:type", "") != "xs:string" || len(data.ChildElements()) != 0 {
		t.Fatalf("data is not an escaped string: %s", env.LastRequest())
	}
	payload := etree.NewDocument()
	if err := payload.ReadFromString(data.Text()); err != nil {
		t.Fatal(err)
	}
	root := payload.Root()
	var order []string
	for _, c := range root.ChildElements() {
		order = append(order, c.Space+":"+c.Tag+"@"+c.NamespaceURI())
	}
	if root.Tag != "Request" || root.NamespaceURI() != legalentities.Namespace ||
		strings.Join(order, ",") != ":RequestorBIN@,:BIN@,ds:Signature@"+signing.NSDS ||
		root.FindElement("RequestorBIN").Text() != requestor || root.FindElement("BIN").Text() != "050340000108" {
		t.Fatalf("request %s: %v", data.Text(), order)
	}
	xmlsec := tooltest.Require(t, "xmlsec1")
	dir := t.TempDir()
	cert := filepath.Join(dir, "org.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: env.PayloadSigner.Certificate().Raw}), 0o644)
	f := filepath.Join(dir, "payload.xml")
	os.WriteFile(f, []byte(data.Text()), 0o644)
	if out, err := tooltest.Run(xmlsec, "--verify", "--pubkey-cert-pem", cert, f); err != nil {
		t.Fatalf("xmlsec1 refuses the payload signature: %v %s", err, out)
	}
	os.WriteFile(f, []byte(strings.Replace(data.Text(), "050340000108", "050340000109", 1)), 0o644)
	if _, err := tooltest.Run(xmlsec, "--verify", "--pubkey-cert-pem", cert, f); err == nil {
		t.Fatal("xmlsec1 accepts a changed payload: the check proves nothing")
	}
}

// recorder answers every call with one canned answer, keeping the call.
type recorder struct {
	calls  []exchange.Call
	answer []byte
}

func (r *recorder) Do(_ context.Context, c exchange.Call) (*exchange.Result, error) {
	r.calls = append(r.calls, c)
	return &exchange.Result{Response: &shep.Response{Status: shep.Status{Code: shep.SuccessCode}, Data: r.answer}}, nil
}

// TestGOSTPayloadSignature: with the NCA's GOST test keys as the
// organisation's, the request document is signed in GOST, and OpenSSL's
// gost engine with libxml2 verifies it.
func TestGOSTPayloadSignature(t *testing.T) {
	for _, tc := range []struct{ p12, password string }{
		{"nca-gost2004.p12", "Qwerty12"},
		{"nca-gost2015.p12", "Aa123456"},
	} {
		t.Run(tc.p12, func(t *testing.T) {
			key, chain, err := signing.LoadPKCS12("../../signing/pkcs12/testdata/"+tc.p12, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			s, err := signing.NewSigner(key, chain, signing.SignerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{answer: []byte(`<data><r:Response xmlns:r="` + legalentities.Namespace + `"><Status><Code>002</Code></Status></r:Response></data>`)}
			_, err = legalentities.New(rec, s, nil, legalentities.Config{RequestorBIN: requestor}).LegalEntity(context.Background(), "050340000108")
			if !errors.Is(err, adapters.ErrNotFound) || len(rec.calls) != 1 {
				t.Fatalf("%v, %d calls", err, len(rec.calls))
			}
			call := rec.calls[0]
			if call.ServiceID != service || call.DataMode != shep.DataEscaped || call.DataType != "xs:string" {
				t.Fatalf("call %+v", call)
			}
			tooltest.CheckGOSTEnveloped(t, call.Payload, key.Public().(*gost.PublicKey),
				`xmlns:ds="`+signing.NSDS+`" xmlns:ns2="`+legalentities.Namespace+`"`)
		})
	}
}

// TestStatusDecides: GBD UL's Status/Code, not SHEP's, says what was
// found: 002 with an Organization is the entity, 002 without one or a
// configured not-found code is ErrNotFound, any other code a ResultError.
func TestStatusDecides(t *testing.T) {
	answer := func(code, body string) string {
		return `<ns3:responseDataType xmlns:ns3="` + legalentities.Namespace + `"><Status><Code>` + code +
			`</Code><NameRu>Ответ</NameRu></Status>` + body + `</ns3:responseDataType>`
	}
	org := `<Organization><BIN>050340000108</BIN></Organization>`
	for _, tc := range []struct {
		name, doc string
		check     func(error) bool
	}{
		{"processed", answer("002", org), func(err error) bool { return err == nil }},
		{"processed, nothing", answer("002", ""), func(err error) bool { return errors.Is(err, adapters.ErrNotFound) }},
		{"configured not found", answer("034", org), func(err error) bool { return errors.Is(err, adapters.ErrNotFound) }},
		{"refused", answer("005", ""), func(err error) bool {
			var re *adapters.ResultError
			return errors.As(err, &re) && re.Code == "005" && re.Name == "Ответ"
		}},
		{"no code", answer("", org), isMalformed},
		{"another BIN", answer("002", `<Organization><BIN>121140000109</BIN></Organization>`), isMalformed},
		{"another namespace", `<Response xmlns="urn:other"><Status><Code>002</Code></Status>` + org + `</Response>`, isMalformed},
		{"bad date", answer("002", `<Organization><BIN>050340000108</BIN><RegistrationDate>last year</RegistrationDate></Organization>`), isMalformed},
		{"bad count", answer("002", `<Organization><BIN>050340000108</BIN><FoundersCount>many</FoundersCount></Organization>`), isMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{answer: []byte("<data>" + tc.doc + "</data>")}
			env := mocktest.New(t, nil, nil)
			c := legalentities.New(rec, env.PayloadSigner, nil, legalentities.Config{RequestorBIN: requestor, NotFoundCodes: []string{"034"}})
			if _, err := c.LegalEntity(context.Background(), "050340000108"); !tc.check(err) {
				t.Fatalf("%v", err)
			}
		})
	}
}

func isMalformed(err error) bool {
	var me *adapters.MalformedError
	return errors.As(err, &me)
}

// TestAnswerSignature: an answer whose payload is unsigned, or signed by
// a key the service does not trust, or changed after signing, is a
// PayloadSignatureError, however well SHEP signed the envelope.
func TestAnswerSignature(t *testing.T) {
	doc := `<ns3:responseDataType xmlns:ns3="` + legalentities.Namespace + `"><Status><Code>002</Code></Status><Organization><BIN>050340000108</BIN></Organization></ns3:responseDataType>`
	unsigned, _ := shepmock.ParseFixtures([]byte("services:\n  " + service + ":\n    key: BIN\n    answer_mode: escaped\n    records:\n      \"050340000108\": '" + doc + "'\n"))
	env := mocktest.New(t, unsigned, nil)
	var pe *adapters.PayloadSignatureError
	if _, err := client(env).LegalEntity(context.Background(), "050340000108"); !errors.As(err, &pe) {
		t.Fatalf("unsigned: %v", err)
	}
	// Signed by the organisation's key, which the mock's CA issued: a
	// verifier pinned to another certificate refuses it.
	signed, err := env.PayloadSigner.SignEnveloped(context.Background(), []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := signing.LoadPKCS12("../../signing/pkcs12/testdata/nca-gost2015.p12", "Aa123456")
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := signing.NewVerifier(signing.Policy{Pinned: other[:1]})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{answer: append(append([]byte("<data>"), signed...), "</data>"...)}
	if _, err := legalentities.New(rec, env.PayloadSigner, pinned, legalentities.Config{RequestorBIN: requestor}).LegalEntity(context.Background(), "050340000108"); !errors.As(err, &pe) {
		t.Fatalf("untrusted signer: %v", err)
	}
	if _, err := legalentities.New(rec, env.PayloadSigner, env.PayloadVerifier, legalentities.Config{RequestorBIN: requestor}).LegalEntity(context.Background(), "050340000108"); err != nil {
		t.Fatalf("trusted: %v", err)
	}
	rec.answer = []byte(strings.Replace(string(rec.answer), "<Code>002</Code>", "<Code>003</Code>", 1))
	if _, err := legalentities.New(rec, env.PayloadSigner, env.PayloadVerifier, legalentities.Config{RequestorBIN: requestor}).LegalEntity(context.Background(), "050340000108"); !errors.As(err, &pe) {
		t.Fatalf("changed after signing: %v", err)
	}
}

// TestRequestSignatureRequired: the mock, as GBD UL, refuses a request
// whose payload is not signed by a trusted key.
func TestRequestSignatureRequired(t *testing.T) {
	env := mocktest.New(t, nil, nil)
	key, chain, err := signing.LoadPKCS12("../../signing/pkcs12/testdata/nca-gost2015.p12", "Aa123456")
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := signing.NewSigner(key, chain, signing.SignerOptions{})
	_, err = legalentities.New(env.Client, stranger, env.PayloadVerifier, legalentities.Config{RequestorBIN: requestor}).LegalEntity(context.Background(), "050340000108")
	var xe *exchange.Error
	if !errors.As(err, &xe) || !strings.Contains(err.Error(), shepmock.CodePayloadSignature) {
		t.Fatalf("%v", err)
	}
}

func TestNotFoundAndBadInput(t *testing.T) {
	env := mocktest.New(t, nil, nil)
	c := client(env)
	if _, err := c.LegalEntity(context.Background(), "260110000120"); !errors.Is(err, adapters.ErrNotFound) {
		t.Fatalf("unknown BIN: %v", err)
	}
	for _, bad := range []string{"050340000109", "05034000010", "BIN050340000", ""} {
		var ie *iin.Error
		if _, err := c.LegalEntity(context.Background(), bad); !errors.As(err, &ie) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if env.Mock.Calls(service) != 1 {
		t.Fatalf("%d calls: an invalid BIN reached the upstream", env.Mock.Calls(service))
	}
}

// TestNonResident: an IIN GBD UL knows only as a sole proprietor comes
// back as its IpsNerezident block.
func TestNonResident(t *testing.T) {
	r, err := client(mocktest.New(t, nil, nil)).Lookup(context.Background(), "850721400012")
	if err != nil {
		t.Fatal(err)
	}
	if r.Entity != nil || r.NonResident == nil || r.NonResident.IIN != "850721400012" || r.NonResident.RegisteredOn != "2015-02-11" ||
		r.NonResident.RegistrationStatus == nil || r.NonResident.RegistrationStatus.Code != "1" {
		t.Fatalf("%+v %+v", r.Entity, r.NonResident)
	}
}

func TestFaults(t *testing.T) {
	env := mocktest.New(t, nil, nil)
	mocktest.CheckFaults(t, nil, func(ctx context.Context, c *exchange.Client) error {
		_, err := legalentities.New(c, env.PayloadSigner, nil, legalentities.Config{RequestorBIN: requestor}).LegalEntity(ctx, "050340000108")
		return err
	})
}

// FuzzAnswer: no answer panics the reader, and one it takes is about the
// BIN asked.
func FuzzAnswer(f *testing.F) {
	fixtures, err := shepmock.DefaultFixtures()
	if err != nil {
		f.Fatal(err)
	}
	for _, doc := range fixtures.Services[service].Records {
		f.Add([]byte(doc))
	}
	f.Add([]byte(`<r:Response xmlns:r="` + legalentities.Namespace + `"><Status><Code>002</Code></Status><Organization><BIN>050340000108</BIN><FoundersCount>-1</FoundersCount></Organization></r:Response>`))
	signer := mocktest.New(f, nil, nil).PayloadSigner
	f.Fuzz(func(t *testing.T, doc []byte) {
		rec := &recorder{answer: append(append([]byte("<data>"), doc...), "</data>"...)}
		e, err := legalentities.New(rec, signer, nil, legalentities.Config{RequestorBIN: requestor}).LegalEntity(context.Background(), "050340000108")
		if err == nil && e.BIN != "050340000108" {
			t.Fatalf("an answer about %s taken", e.BIN)
		}
	})
}

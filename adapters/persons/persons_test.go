package persons_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/kopir/kopir/adapters"
	"github.com/kopir/kopir/adapters/persons"
	"github.com/kopir/kopir/gateway/pii/iin"
	"github.com/kopir/kopir/gateway/shep"
	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/internal/golden"
	"github.com/kopir/kopir/internal/mocktest"
	shepmock "github.com/kopir/kopir/mocks/shep"
)

// today is in Kazakhstan's evening: 2026-11-25 19:00 UTC is already the
// 26th there.
var today = func() time.Time { return time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC) }

func client(env *mocktest.Env, cfg persons.Config, now func() time.Time) *persons.Client {
	if cfg.SenderCode == "" {
		cfg.SenderCode = "KOPIR"
	}
	return persons.New(env.Client, cfg, persons.Options{Verifier: env.PayloadVerifier, Signer: env.PayloadSigner, Now: now})
}

// TestGolden: every person of the mock's GBD FL fixtures (protocol.md's
// shape, signed enveloped over data) reads into the golden Person.
func TestGolden(t *testing.T) {
	c := client(mocktest.New(t, nil, nil), persons.Config{}, today)
	for _, n := range []string{"880101300010", "900515400014", "751230400015", "020315500019", "850721400012"} {
		p, err := c.Person(context.Background(), n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		golden.JSON(t, n, p)
	}
}

// TestValidity: a document is valid when its status is 00 and its end
// date has not passed in Kazakhstan.
func TestValidity(t *testing.T) {
	env := mocktest.New(t, nil, nil)
	c := client(env, persons.Config{}, today)
	docs, err := c.IdentityDocuments(context.Background(), "880101300010")
	if err != nil {
		t.Fatal(err)
	}
	// The card (00, to 2030) is valid; the passport (00, ended 2026-01-31) is not.
	if len(docs) != 2 || !docs[0].Valid || docs[0].Type.Code != "002" || docs[1].Valid || docs[1].Type.Code != "001" ||
		docs[1].Status.Code != persons.ValidStatus || docs[0].Issuer == nil || docs[0].Issuer.NameKK != "ҚР ІІМ" {
		t.Fatalf("%+v", docs)
	}
	docs, err = c.IdentityDocuments(context.Background(), "020315500019")
	if err != nil || len(docs) != 2 || docs[0].Valid || docs[0].Status.Code != "07" || !docs[1].Valid {
		t.Fatalf("an unusable card and its replacement: %v %+v", err, docs)
	}
	for _, tc := range []struct {
		at    time.Time
		valid bool
	}{
		// Ends 2028-04-09: valid all that day in Kazakhstan, not after.
		{time.Date(2028, 4, 9, 18, 59, 0, 0, time.UTC), true},
		{time.Date(2028, 4, 9, 19, 0, 0, 0, time.UTC), false},
	} {
		docs, err := client(env, persons.Config{}, func() time.Time { return tc.at }).IdentityDocuments(context.Background(), "751230400015")
		if err != nil || docs[0].Valid != tc.valid {
			t.Errorf("at %s: %v %+v", tc.at, err, docs)
		}
	}
}

// TestRequestOnTheWire: GBD FL's request is data's children, in order.
func TestRequestOnTheWire(t *testing.T) {
	env := mocktest.New(t, nil, nil)
	if _, err := client(env, persons.Config{SenderCode: "KOPIR-01"}, today).Person(context.Background(), "900515400014"); err != nil {
		t.Fatal(err)
	}
	wire := etree.NewDocument()
	if err := wire.ReadFromBytes(env.LastRequest()); err != nil {
		t.Fatal(err)
	}
	data := wire.FindElement("//requestData/data")
	var names []string
	for _, c := range data.ChildElements() {
		names = append(names, c.Tag)
	}
	if strings.Join(names, ",") != "messageId,messageDate,senderCode,iin" || data.FindElement("senderCode").Text() != "KOPIR-01" ||
		data.FindElement("iin").Text() != "900515400014" {
		t.Fatalf("data children %v: %s", names, env.LastRequest())
	}
	if _, err := time.Parse(shep.DateLayout, data.FindElement("messageDate").Text()); err != nil {
		t.Fatal(err)
	}
}

// TestConsentVariant: configured for consent, Kopir asks KDP_SERVICE for
// the person's token, then GBDFLUniversal_token with it and its public
// key; without a token there is no call to GBD FL.
func TestConsentVariant(t *testing.T) {
	env := mocktest.New(t, nil, nil)
	c := client(env, persons.Config{Consent: persons.Consent{ServiceID: "GBDFLUniversal_token"}}, today)
	p, err := c.Person(context.Background(), "900515400014")
	if err != nil {
		t.Fatal(err)
	}
	if p.IIN != "900515400014" || env.Mock.Calls("KDP_SERVICE") != 1 || env.Mock.Calls("GBDFLUniversal_token") != 1 ||
		env.Mock.Calls("GBDFL_UniversalServiceSync") != 0 {
		t.Fatalf("%+v; calls %d %d", p, env.Mock.Calls("KDP_SERVICE"), env.Mock.Calls("GBDFLUniversal_token"))
	}
	wire := etree.NewDocument()
	wire.ReadFromBytes(env.LastRequest())
	if tok := wire.FindElement("//data/kdpToken"); tok == nil || tok.Text() != "kdp-0014-consent-token" ||
		wire.FindElement("//data/publicKey") == nil {
		t.Fatalf("%s", env.LastRequest())
	}
	// 751230400015 gave no consent: no token, no call to GBD FL.
	var re *adapters.ResultError
	if _, err := c.Person(context.Background(), "751230400015"); !errors.As(err, &re) || env.Mock.Calls("GBDFLUniversal_token") != 1 {
		t.Fatalf("%v", err)
	}
}

func TestNotFoundAndBadInput(t *testing.T) {
	c := client(mocktest.New(t, nil, nil), persons.Config{}, today)
	if _, err := c.IdentityDocuments(context.Background(), "871212550034"); !errors.Is(err, adapters.ErrNotFound) {
		t.Fatalf("unknown person: %v", err)
	}
	var ie *iin.Error
	if _, err := c.IdentityDocuments(context.Background(), "88010130001"); !errors.As(err, &ie) || ie.Reason != iin.ReasonLength {
		t.Fatalf("short IIN: %v", err)
	}
}

// TestMalformed: answers that cannot be read, each a MalformedError or,
// for a result GBD FL did not process, a ResultError.
func TestMalformed(t *testing.T) {
	result := func(code string) string {
		return `<messageResult><code>` + code + `</code><nameRu>Ошибка</nameRu></messageResult>`
	}
	fixtures, err := shepmock.ParseFixtures([]byte(`services:
  GBDFL_UniversalServiceSync:
    key: iin
    sign_answers: true
    records:
      "880101300010": "` + result("00000") + `<persons><person><iin>880101300010</iin><documents><document><type><code>002</code></type></document></documents></person></persons>"
      "900515400014": "` + result("00000") + `<persons><person><iin>880101300010</iin></person></persons>"
      "751230400015": "<persons><person><iin>751230400015</iin></person></persons>"
      "020315500019": "` + result("00000") + `<persons><person><iin>020315500019</iin><birthDate>yesterday</birthDate></person></persons>"
      "850721400012": "` + result("00102") + `"
`))
	if err != nil {
		t.Fatal(err)
	}
	c := client(mocktest.New(t, fixtures, nil), persons.Config{}, today)
	for _, n := range []string{"880101300010", "900515400014", "751230400015", "020315500019"} {
		var me *adapters.MalformedError
		if _, err := c.IdentityDocuments(context.Background(), n); !errors.As(err, &me) {
			t.Errorf("%s: %v", n, err)
		}
	}
	var re *adapters.ResultError
	if _, err := c.IdentityDocuments(context.Background(), "850721400012"); !errors.As(err, &re) || re.Code != "00102" {
		t.Errorf("not processed: %v", err)
	}
}

// TestUnsignedAnswer: GBD FL's answers carry its signature; one without
// is refused.
func TestUnsignedAnswer(t *testing.T) {
	fixtures, _ := shepmock.ParseFixtures([]byte(`services:
  GBDFL_UniversalServiceSync:
    key: iin
    records:
      "880101300010": "<messageResult><code>00000</code></messageResult><persons><person><iin>880101300010</iin></person></persons>"
`))
	var pe *adapters.PayloadSignatureError
	if _, err := client(mocktest.New(t, fixtures, nil), persons.Config{}, today).Person(context.Background(), "880101300010"); !errors.As(err, &pe) {
		t.Fatalf("%v", err)
	}
}

func TestFaults(t *testing.T) {
	env := mocktest.New(t, nil, nil)
	mocktest.CheckFaults(t, nil, func(ctx context.Context, c *exchange.Client) error {
		_, err := persons.New(c, persons.Config{SenderCode: "KOPIR"}, persons.Options{Verifier: env.PayloadVerifier}).IdentityDocuments(ctx, "880101300010")
		return err
	})
}

// FuzzAnswer: no answer panics the reader, and one it takes is about the
// IIN asked, each document with a type and number.
func FuzzAnswer(f *testing.F) {
	fixtures, err := shepmock.DefaultFixtures()
	if err != nil {
		f.Fatal(err)
	}
	for _, doc := range fixtures.Services["GBDFL_UniversalServiceSync"].Records {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		ex := answerWith(append(append([]byte("<data>"), doc...), "</data>"...))
		p, err := persons.New(ex, persons.Config{SenderCode: "K"}, persons.Options{Now: today}).Person(context.Background(), "880101300010")
		if err != nil {
			return
		}
		if p.IIN != "880101300010" {
			t.Fatalf("a person %s taken", p.IIN)
		}
		for _, d := range p.Documents {
			if d.Type.Code == "" || d.Number == "" || d.Valid && d.Status.Code != persons.ValidStatus {
				t.Fatalf("document %+v", d)
			}
		}
	})
}

type answerWith []byte

func (a answerWith) Do(context.Context, exchange.Call) (*exchange.Result, error) {
	return &exchange.Result{Response: &shep.Response{Status: shep.Status{Code: shep.SuccessCode}, Data: a}}, nil
}

package notify_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kopir/kopir/adapters"
	"github.com/kopir/kopir/adapters/payments"
	"github.com/kopir/kopir/gateway/notify"
	"github.com/kopir/kopir/internal/pgtest"
	"github.com/kopir/kopir/internal/tooltest"
	paymentsmock "github.com/kopir/kopir/mocks/payments"
	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/devpki"
)

var at = time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)

func notification(ref, payer string, amount payments.Money, assign string) *payments.Notification {
	return &payments.Notification{Reference: ref, PayerIDN: payer, Amount: amount, KBK: "105402", KNP: "911",
		PayDate: time.Date(2026, 11, 26, 10, 0, 0, 0, time.FixedZone("", 5*3600)), Assign: assign}
}

func stores(t *testing.T) map[string]func(t *testing.T) *notify.Store {
	open := func(t *testing.T, database string) *notify.Store {
		s, err := notify.Open(context.Background(), database)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return map[string]func(t *testing.T) *notify.Store{
		"sqlite":     func(t *testing.T) *notify.Store { return open(t, filepath.Join(t.TempDir(), "kopir.db")) },
		"postgresql": func(t *testing.T) *notify.Store { return open(t, pgtest.Schema(t)) },
	}
}

// TestStore: a notification is kept once, by its reference; the same one
// again is a duplicate, another under its reference a conflict; payments
// are found by payer and by reference.
func TestStore(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			n := notification("PAY-2026-000201", "050340000108", 4325000, "заявка KZ-LIC-2026-00031")
			if added, err := s.Add(ctx, n, at); !added || err != nil {
				t.Fatalf("first: %v %v", added, err)
			}
			if added, err := s.Add(ctx, n, at.Add(time.Minute)); added || err != nil {
				t.Fatalf("again: %v %v", added, err)
			}
			other := *n
			other.Amount = 1
			if _, err := s.Add(ctx, &other, at); !errors.Is(err, notify.ErrConflict) {
				t.Fatalf("conflict: %v", err)
			}
			s.Add(ctx, notification("PAY-2026-000202", "050340000108", 100, ""), at.Add(time.Hour))
			s.Add(ctx, notification("PAY-2026-000203", "121140000109", 100, ""), at)
			ps, err := s.ByPayer(ctx, "050340000108")
			if err != nil || len(ps) != 2 || ps[0].ID != "PAY-2026-000201" || ps[0].Amount != 4325000 || ps[0].Source != payments.SourceNotification ||
				ps[0].Status != "paid" || ps[0].Purpose != "105402" || !ps[0].Date.Equal(n.PayDate) {
				t.Fatalf("by payer: %v %+v", err, ps)
			}
			if p, err := s.ByID(ctx, "PAY-2026-000203"); err != nil || p.Payer != "121140000109" {
				t.Fatalf("by id: %v %+v", err, p)
			}
			if _, err := s.ByID(ctx, "PAY-0"); !errors.Is(err, adapters.ErrNotFound) {
				t.Fatalf("unknown: %v", err)
			}
		})
	}
}

// gatewayPKI is the payment gateway's key, issued by a CA Kopir trusts.
type gatewayPKI struct {
	dir      string
	leaf     *devpki.Leaf
	verifier *signing.Verifier
}

func newPKI(t *testing.T) *gatewayPKI {
	ca, err := devpki.NewCA(devpki.RSA2048)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(devpki.RSA2048, devpki.MockPaymentsSubject, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key, _ := x509.MarshalPKCS8PrivateKey(leaf.Key)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600)
	v, err := signing.NewVerifier(signing.Policy{Roots: []*x509.Certificate{ca.Cert}, Required: []signing.Part{signing.PartBody}})
	if err != nil {
		t.Fatal(err)
	}
	return &gatewayPKI{dir: dir, leaf: leaf, verifier: v}
}

// sign has xmlsec1, which nobody here wrote, sign testdata/notification.xml
// (protocol.md's Smart Bridge layout: the Body only, the certificate in a
// KeyIdentifier), with edit applied to the template first.
func (p *gatewayPKI) sign(t *testing.T, edit func(string) string) []byte {
	t.Helper()
	xmlsec := tooltest.Require(t, "xmlsec1")
	tmpl, err := os.ReadFile("testdata/notification.xml")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(tmpl), "CERTIFICATE", base64.StdEncoding.EncodeToString(p.leaf.Chain[0].Raw), 1)
	if edit != nil {
		doc = edit(doc)
	}
	f := filepath.Join(p.dir, "notification.xml")
	os.WriteFile(f, []byte(doc), 0o600)
	out, err := tooltest.Run(xmlsec, "--sign", "--privkey-pem", filepath.Join(p.dir, "key.pem"),
		"--id-attr:Id", "http://schemas.xmlsoap.org/soap/envelope/:Body", f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func post(t *testing.T, url, contentType string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReceiver: a notification signed by xmlsec1 in the Smart Bridge
// layout is kept and answers a fee check; the same again is taken once;
// changed after signing, unsigned, not SOAP, too large or about an
// invalid payer, it is refused with a Client fault and nothing is kept.
func TestReceiver(t *testing.T) {
	p := newPKI(t)
	store, err := notify.Open(context.Background(), filepath.Join(t.TempDir(), "kopir.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var outcomes []string
	srv := httptest.NewServer(notify.NewReceiver(store, p.verifier, notify.Options{MaxBytes: 32 << 10,
		Now: func() time.Time { return at }, Observe: func(o string) { outcomes = append(outcomes, o) }}))
	defer srv.Close()

	signed := p.sign(t, nil)
	for i, want := range []string{"stored", "duplicate"} {
		code, body := post(t, srv.URL, "text/xml; charset=utf-8", signed)
		if code != 200 || !strings.Contains(body, "notificationPaymentResponse") || outcomes[i] != want {
			t.Fatalf("%s: HTTP %d %s %v", want, code, body, outcomes)
		}
	}
	fees := payments.New(nil, payments.Config{Ledger: store, Now: func() time.Time { return at }})
	check, err := fees.CheckFee(context.Background(), "050340000108", "KZ-LIC-2026-00031", payments.Issue)
	if err != nil || check.Status != payments.Paid || len(check.Payments) != 1 || check.Payments[0].BankReference != "KZ-BANK-77120034" {
		t.Fatalf("fee check: %v %+v", err, check)
	}
	if check, _ := fees.CheckFee(context.Background(), "050340000108", "KZ-LIC-2026-00099", payments.Issue); check.Status != payments.NotPaid {
		t.Fatalf("another application: %+v", check)
	}

	for _, tc := range []struct {
		name, contentType string
		body              []byte
		status            int
		want              string
	}{
		{"changed after signing", "text/xml", bytes.Replace(signed, []byte("43250.00"), []byte("93250.00"), 1), 500, "signature"},
		{"unsigned", "text/xml", paymentsmock.Notification{Reference: "PAY-1"}.Envelope(), 500, "signature"},
		{"not SOAP's type", "application/json", signed, 415, "text/xml"},
		{"too large", "text/xml", append(signed, bytes.Repeat([]byte(" "), 40<<10)...), 413, "at most"},
		{"invalid payer", "text/xml", p.sign(t, func(s string) string { return strings.Replace(s, "050340000108", "050340000109", 1) }), 500, "payerIdn"},
		{"no KBK", "text/xml", p.sign(t, func(s string) string { return strings.Replace(s, "<kbk>105402</kbk>", "", 1) }), 500, "kbk"},
		{"another reference, other content", "text/xml", p.sign(t, func(s string) string { return strings.Replace(s, "43250.00", "1.00", 1) }), 500, "other content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(t, srv.URL, tc.contentType, tc.body)
			if code != tc.status || !strings.Contains(body, "soap:Fault") || !strings.Contains(body, tc.want) {
				t.Fatalf("HTTP %d %s", code, body)
			}
		})
	}
	if ps, _ := store.ByPayer(context.Background(), "050340000108"); len(ps) != 1 || ps[0].Amount != 4325000 {
		t.Fatalf("kept: %+v", ps)
	}
}

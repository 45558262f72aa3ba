package payments_test

import (
	"errors"
	"regexp"
	"testing"

	"github.com/kopir/kopir/adapters/payments"
	paymentsmock "github.com/kopir/kopir/mocks/payments"
)

var bodyRe = regexp.MustCompile(`(?s)<soapenv:Body>.*</soapenv:Body>`)

// body is an envelope's Body element, as a verifier hands it on (with the
// namespace the Body's prefix needs).
func body(env []byte) []byte {
	b := bodyRe.Find(env)
	return append([]byte(`<soapenv:Body xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"`), b[len("<soapenv:Body"):]...)
}

// TestParseNotification: what the mock payment gateway writes (its own
// code, from protocol.md's field list) reads back field for field.
func TestParseNotification(t *testing.T) {
	ns, err := paymentsmock.DefaultNotifications()
	if err != nil || len(ns) == 0 {
		t.Fatal(err)
	}
	for _, m := range ns {
		n, err := payments.ParseNotification(body(m.Envelope()))
		if err != nil {
			t.Fatalf("%s: %v", m.Reference, err)
		}
		if n.Reference != m.Reference || n.PayerIDN != m.PayerIDN || n.Amount.String() != m.Amount || n.KBK != m.KBK ||
			n.Assign != m.Assign || n.BankReference != m.BankReference || n.PayDate.IsZero() {
			t.Errorf("%+v from %+v", n, m)
		}
	}
	good := ns[0]
	for name, edit := range map[string]func(*paymentsmock.Notification){
		"no reference":    func(n *paymentsmock.Notification) { n.Reference = "" },
		"bad reference":   func(n *paymentsmock.Notification) { n.Reference = "a b" },
		"bad payer":       func(n *paymentsmock.Notification) { n.PayerIDN = "050340000109" },
		"zero amount":     func(n *paymentsmock.Notification) { n.Amount = "0.00" },
		"bad amount":      func(n *paymentsmock.Notification) { n.Amount = "1,5" },
		"no pay date":     func(n *paymentsmock.Notification) { n.PayDate = "" },
		"no kbk":          func(n *paymentsmock.Notification) { n.KBK = "" },
		"control chars":   func(n *paymentsmock.Notification) { n.Assign = "a\x1b[2Jb" },
		"a purpose novel": func(n *paymentsmock.Notification) { n.Assign = string(make([]rune, payments.MaxNotificationField+1)) },
	} {
		n := good
		edit(&n)
		var ne *payments.NotificationError
		if _, err := payments.ParseNotification(body(n.Envelope())); !errors.As(err, &ne) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzParseNotification: no input panics, and what is accepted is valid.
func FuzzParseNotification(f *testing.F) {
	ns, _ := paymentsmock.DefaultNotifications()
	for _, n := range ns {
		f.Add(body(n.Envelope()))
	}
	f.Add([]byte(`<Body><notificationPayment xmlns="http://payments.bee.kz/GatewayNkNotification"/></Body>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := payments.ParseNotification(b)
		if err == nil {
			if err := n.Validate(); err != nil {
				t.Fatalf("accepted an invalid notification: %v", err)
			}
		}
	})
}

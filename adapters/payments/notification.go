package payments

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kopir/kopir/adapters"
	"github.com/kopir/kopir/gateway/pii/iin"
)

// NotificationNamespace is the namespace of the payment gateway's
// notificationPayment (protocol.md §8).
const NotificationNamespace = "http://payments.bee.kz/GatewayNkNotification"

// Notification is a payment the payment gateway pushes once it is made:
// notificationPayment's fields, as public clients show them.
type Notification struct {
	// Reference is the gateway's reference of the payment: notifications
	// are idempotent by it.
	Reference     string    `json:"reference"`
	BankReference string    `json:"bank_reference,omitempty"`
	PayDate       time.Time `json:"pay_date"`
	DocDate       time.Time `json:"doc_date,omitzero"`
	Amount        Money     `json:"amount"`
	// PayerIDN is the payer's IIN or BIN.
	PayerIDN    string `json:"payer_idn"`
	PayerName   string `json:"payer_name,omitempty"`
	BankIDN     string `json:"bank_idn,omitempty"`
	BankBIK     string `json:"bank_bik,omitempty"`
	BankName    string `json:"bank_name,omitempty"`
	TreasuryIDN string `json:"treasury_idn,omitempty"`
	// KNO is the tax authority's code; KBK the budget classification code
	// (what the money is for); KNP the payment purpose code; VO the kind
	// of operation.
	KNO       string `json:"kno,omitempty"`
	KBK       string `json:"kbk"`
	KNP       string `json:"knp,omitempty"`
	VO        string `json:"vo,omitempty"`
	DocNumber string `json:"doc_number,omitempty"`
	// Assign is the payment's purpose as the payer wrote it.
	Assign string `json:"assign,omitempty"`
}

// MaxNotificationField bounds each field of a notification, in
// characters: a purpose text is the longest, and banks cap it well below.
const MaxNotificationField = 1000

// NotificationError is a notification that cannot be taken: the pusher's
// error, answered with a Client fault.
type NotificationError struct{ Msg string }

func (e *NotificationError) Error() string { return "payment notification: " + e.Msg }

// ParseNotification reads the notificationPayment in a verified SOAP Body
// (the signature verifier's canonical bytes), its fields by path.
func ParseNotification(body []byte) (*Notification, error) {
	bad := func(format string, args ...any) error { return &NotificationError{Msg: fmt.Sprintf(format, args...)} }
	var b struct {
		XMLName xml.Name
		Items   []struct {
			XMLName       xml.Name
			Reference     string `xml:"reference"`
			BankReference string `xml:"bankReference"`
			PayDate       string `xml:"payDate"`
			DocDate       string `xml:"docDate"`
			Amount        string `xml:"amount"`
			PayerIDN      string `xml:"payerIdn"`
			PayerName     string `xml:"payerName"`
			BankIDN       string `xml:"bankIdn"`
			BankBIK       string `xml:"bankBik"`
			BankName      string `xml:"bankName"`
			TreasuryIDN   string `xml:"treasuryIdn"`
			KNO           string `xml:"kno"`
			KBK           string `xml:"kbk"`
			KNP           string `xml:"knp"`
			VO            string `xml:"vo"`
			DocNumber     string `xml:"docNumber"`
			Assign        string `xml:"assign"`
		} `xml:",any"`
	}
	if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&b); err != nil {
		return nil, bad("%v", err)
	}
	if len(b.Items) != 1 || b.Items[0].XMLName.Local != "notificationPayment" || b.Items[0].XMLName.Space != NotificationNamespace {
		return nil, bad("the Body holds no single {%s}notificationPayment", NotificationNamespace)
	}
	x := b.Items[0]
	t := strings.TrimSpace
	n := &Notification{Reference: t(x.Reference), BankReference: t(x.BankReference), PayerIDN: t(x.PayerIDN), PayerName: t(x.PayerName),
		BankIDN: t(x.BankIDN), BankBIK: t(x.BankBIK), BankName: t(x.BankName), TreasuryIDN: t(x.TreasuryIDN), KNO: t(x.KNO),
		KBK: t(x.KBK), KNP: t(x.KNP), VO: t(x.VO), DocNumber: t(x.DocNumber), Assign: t(x.Assign)}
	var err error
	if n.Amount, err = ParseMoney(x.Amount); err != nil {
		return nil, bad("amount: %v", err)
	}
	if n.PayDate, err = adapters.ParseTime(t(x.PayDate)); err != nil || n.PayDate.IsZero() {
		return nil, bad("payDate %q is not a date", x.PayDate)
	}
	if n.DocDate, err = adapters.ParseTime(t(x.DocDate)); err != nil {
		return nil, bad("docDate %q is not a date", x.DocDate)
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	return n, nil
}

// Validate checks what Kopir relies on: a reference to be idempotent by, a
// payer with a valid IIN/BIN, a positive amount, a KBK, and bounded,
// printable fields.
func (n *Notification) Validate() error {
	bad := func(format string, args ...any) error { return &NotificationError{Msg: fmt.Sprintf(format, args...)} }
	if !validID(n.Reference) {
		return bad("reference: 1 to 64 letters, digits, '-', '_' or '.'")
	}
	if err := iin.Validate(n.PayerIDN); err != nil {
		return bad("payerIdn: %v", err)
	}
	if n.Amount <= 0 {
		return bad("amount must be positive")
	}
	if n.KBK == "" {
		return bad("kbk is required")
	}
	for name, v := range map[string]string{"bankReference": n.BankReference, "payerName": n.PayerName, "bankIdn": n.BankIDN,
		"bankBik": n.BankBIK, "bankName": n.BankName, "treasuryIdn": n.TreasuryIDN, "kno": n.KNO, "kbk": n.KBK, "knp": n.KNP,
		"vo": n.VO, "docNumber": n.DocNumber, "assign": n.Assign} {
		if utf8.RuneCountInString(v) > MaxNotificationField || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' && r != '\t' }) {
			return bad("%s: at most %d printable characters", name, MaxNotificationField)
		}
	}
	return nil
}

// Payment is the notification as a payment: paid, in tenge, its purpose
// the KBK.
func (n *Notification) Payment() Payment {
	return Payment{ID: n.Reference, Payer: n.PayerIDN, Amount: n.Amount, Currency: "KZT", Purpose: n.KBK, Date: n.PayDate,
		Status: "paid", Source: SourceNotification, BankReference: n.BankReference, KNP: n.KNP, Assign: n.Assign}
}

func validID(id string) bool {
	return id != "" && len(id) <= 64 && !strings.ContainsFunc(id, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
	})
}

package paymentsmock

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"gopkg.in/yaml.v3"

	shepmock "github.com/kopir/kopir/mocks/shep"
	"github.com/kopir/kopir/signing"
)

//go:embed notifications.yaml
var notifications []byte

// Notification is a payment the gateway pushes: notificationPayment's
// fields (protocol.md §8). The mock writes them itself, as the gateway
// would, not with Kopir's code.
type Notification struct {
	Reference     string `yaml:"reference" json:"reference"`
	BankReference string `yaml:"bank_reference" json:"bank_reference"`
	PayDate       string `yaml:"pay_date" json:"pay_date"`
	DocDate       string `yaml:"doc_date" json:"doc_date"`
	Amount        string `yaml:"amount" json:"amount"`
	PayerIDN      string `yaml:"payer_idn" json:"payer_idn"`
	PayerName     string `yaml:"payer_name" json:"payer_name"`
	BankIDN       string `yaml:"bank_idn" json:"bank_idn"`
	BankBIK       string `yaml:"bank_bik" json:"bank_bik"`
	BankName      string `yaml:"bank_name" json:"bank_name"`
	TreasuryIDN   string `yaml:"treasury_idn" json:"treasury_idn"`
	KNO           string `yaml:"kno" json:"kno"`
	KBK           string `yaml:"kbk" json:"kbk"`
	KNP           string `yaml:"knp" json:"knp"`
	VO            string `yaml:"vo" json:"vo"`
	DocNumber     string `yaml:"doc_number" json:"doc_number"`
	Assign        string `yaml:"assign" json:"assign"`
}

// DefaultNotifications are the embedded payments the mock pushes.
func DefaultNotifications() ([]Notification, error) {
	var ns []Notification
	if err := yaml.Unmarshal(notifications, &ns); err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	return ns, nil
}

// Envelope is the notification as an unsigned SOAP 1.1 envelope.
func (n Notification) Envelope() []byte {
	var b strings.Builder
	b.WriteString(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
		`<ns2:notificationPayment xmlns:ns2="http://payments.bee.kz/GatewayNkNotification">`)
	for _, f := range [][2]string{{"reference", n.Reference}, {"bankReference", n.BankReference}, {"payDate", n.PayDate},
		{"docDate", n.DocDate}, {"amount", n.Amount}, {"payerIdn", n.PayerIDN}, {"payerName", n.PayerName}, {"bankIdn", n.BankIDN},
		{"bankBik", n.BankBIK}, {"bankName", n.BankName}, {"treasuryIdn", n.TreasuryIDN}, {"kno", n.KNO}, {"kbk", n.KBK},
		{"knp", n.KNP}, {"vo", n.VO}, {"docNumber", n.DocNumber}, {"assign", n.Assign}} {
		if f[1] != "" {
			b.WriteString("<" + f[0] + ">")
			xmlEscape(&b, f[1])
			b.WriteString("</" + f[0] + ">")
		}
	}
	b.WriteString(`</ns2:notificationPayment></soapenv:Body></soapenv:Envelope>`)
	return []byte(b.String())
}

func xmlEscape(b *strings.Builder, s string) {
	b.WriteString(strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s))
}

// Pusher pushes notifications to a receiver, signed with the gateway's
// key.
type Pusher struct {
	URL    string
	Signer *signing.Signer
	Client *http.Client
	Logger *slog.Logger
	Clock  clockwork.Clock
}

// PushError is a push the receiver did not take.
type PushError struct {
	Status int
	Body   string
}

func (e *PushError) Error() string {
	return fmt.Sprintf("the receiver answered HTTP %d: %.300s", e.Status, e.Body)
}

// Push signs n and posts it once; nil means the receiver answered 200.
func (p *Pusher) Push(ctx context.Context, n Notification) error {
	if p.URL == "" {
		return errors.New("paymentsmock: no URL to push to (--notify)")
	}
	env, err := p.Signer.Sign(ctx, n.Envelope())
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(env))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `""`)
	client := p.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return &PushError{Status: resp.StatusCode, Body: string(body)}
	}
	return nil
}

// PushAll pushes each of ns until the receiver takes it, waiting every
// between tries (the receiver may not be up yet), until ctx ends.
func (p *Pusher) PushAll(ctx context.Context, ns []Notification, every time.Duration) error {
	clock := p.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	for _, n := range ns {
		for {
			err := p.Push(ctx, n)
			if err == nil {
				break
			}
			if p.Logger != nil {
				p.Logger.Debug("push not taken yet", "reference", n.Reference, "err", err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-clock.After(every):
			}
		}
	}
	return nil
}

// Server is the mock payment gateway: the mock SHEP's server with the
// payment gateway's fixtures, and a pusher of notifications, which
//
//	POST /_control/notifications   {"reference":"…","payer_idn":"…","amount":"…",…}
//
// pushes at once, answering with what the receiver answered.
type Server struct {
	*shepmock.Server
	Pusher *Pusher
}

// ServeHTTP serves the control endpoint, and the rest as the mock SHEP.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/_control/notifications" {
		s.Server.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a notification", http.StatusMethodNotAllowed)
		return
	}
	var n Notification
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		http.Error(w, "a notification as JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	if n.PayDate == "" {
		n.PayDate = time.Now().Format("2006-01-02T15:04:05-07:00")
	}
	if n.KBK == "" {
		n.KBK = "105402"
	}
	err := s.Pusher.Push(r.Context(), n)
	var pe *PushError
	w.Header().Set("Content-Type", "application/json")
	switch {
	case err == nil:
		json.NewEncoder(w).Encode(map[string]any{"pushed": n.Reference, "status": http.StatusOK})
	case errors.As(err, &pe):
		w.WriteHeader(http.StatusBadGateway)
		json.NewEncoder(w).Encode(map[string]any{"pushed": n.Reference, "status": pe.Status, "answer": pe.Body})
	default:
		w.WriteHeader(http.StatusBadGateway)
		json.NewEncoder(w).Encode(map[string]any{"pushed": n.Reference, "error": err.Error()})
	}
}

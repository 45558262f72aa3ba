// Package payments checks, through the digital-government payment gateway,
// that the licence fee was paid — a document the licensing rules require
// the provider to obtain itself — and computes the fee: 10 monthly
// calculation indices (MCI) on issue and 1 on re-issue (Tax Code art. 616
// p. 4), the MCI being set for each year by the budget law.
package payments

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kopir/kopir/adapters"
	"github.com/kopir/kopir/gateway/pii/iin"
	"github.com/kopir/kopir/gateway/shep/exchange"
)

// Kind is what a licence fee is paid for.
type Kind string

// Fee kinds.
const (
	Issue   Kind = "issue"   // 10 MCI
	Reissue Kind = "reissue" // 1 MCI
)

// MCIs is how many monthly calculation indices the fee of kind is, or
// false for an unknown kind.
func (k Kind) MCIs() (int64, bool) {
	switch k {
	case Issue:
		return 10, true
	case Reissue:
		return 1, true
	}
	return 0, false
}

// Money is an amount of tenge in tiyn (hundredths), written as "43250.00".
type Money int64

func (m Money) String() string { return fmt.Sprintf("%d.%02d", int64(m)/100, int64(m)%100) }

// MarshalText writes "43250.00".
func (m Money) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (m *Money) UnmarshalText(b []byte) error {
	v, err := ParseMoney(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// ParseMoney reads "43250", "43250.5" or "43250.50".
func ParseMoney(s string) (Money, error) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if len(frac) > 2 {
		return 0, fmt.Errorf("amount %q has more than two decimals", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 {
		return 0, fmt.Errorf("amount %q is not a non-negative number", s)
	}
	f := int64(0)
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", 2-len(frac)), 10, 64); err != nil {
			return 0, fmt.Errorf("amount %q is not a number", s)
		}
	}
	return Money(w*100 + f), nil
}

// MCITable is the monthly calculation index, in tenge, by year.
type MCITable map[int]int64

// DefaultMCI are the values of ../shared/docs/protocol.md; a new year is one
// line of configuration.
var DefaultMCI = MCITable{2024: 3692, 2025: 3932, 2026: 4325}

// InputError is a question that cannot be answered as asked: an unknown
// fee kind, a year without an MCI, an empty payment id.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return "payments: " + e.Msg }

// MCIMissingError is a fee asked for a year whose MCI the configuration
// lacks: the gateway's gap (the operator adds mci.YEAR from that year's
// budget law), not the caller's error.
type MCIMissingError struct{ Year int }

func (e *MCIMissingError) Error() string {
	return fmt.Sprintf("payments: no MCI configured for %d: add mci.%d, from that year's budget law", e.Year, e.Year)
}

// ConfiguredUntil is the first 1 January, from at's year on, of a year
// without a value (at's own year's when it has none): when fees stop.
func (t MCITable) ConfiguredUntil(at time.Time) time.Time {
	y := at.Year()
	for t[y] > 0 {
		y++
	}
	return time.Date(y, 1, 1, 0, 0, 0, 0, adapters.Kazakhstan)
}

// FeeFor is the licence fee of kind on date.
func (t MCITable) FeeFor(kind Kind, date time.Time) (Money, error) {
	n, ok := kind.MCIs()
	if !ok {
		return 0, &InputError{Msg: fmt.Sprintf("fee kind %q is not issue or reissue", kind)}
	}
	mci, ok := t[date.Year()]
	if !ok {
		return 0, &MCIMissingError{Year: date.Year()}
	}
	return Money(n * mci * 100), nil
}

// Payment is a payment the gateway knows of.
type Payment struct {
	ID          string    `json:"id"`
	Payer       string    `json:"payer"`
	Amount      Money     `json:"amount"`
	Currency    string    `json:"currency"`
	Purpose     string    `json:"purpose"`
	Application string    `json:"application,omitempty"`
	Date        time.Time `json:"date,omitzero"`
	// Status is the gateway's, lower-cased: paid, pending, refunded…
	Status string `json:"status"`
	// Source is how Kopir learnt of it: notification (pushed by the
	// gateway) or query (asked of a query service).
	Source string `json:"source"`
	// BankReference, KNP and Assign come with notifications.
	BankReference string `json:"bank_reference,omitempty"`
	KNP           string `json:"knp,omitempty"`
	Assign        string `json:"assign,omitempty"`
}

// Payment sources.
const (
	SourceNotification = "notification"
	SourceQuery        = "query"
)

// Ledger is where pushed notifications are kept (notify.Store is one).
type Ledger interface {
	ByPayer(ctx context.Context, payer string) ([]Payment, error)
	// ByID returns adapters.ErrNotFound for an unknown reference.
	ByID(ctx context.Context, id string) (*Payment, error)
}

// DefaultKBK is the budget classification code of the licence fee for
// the right to engage in certain kinds of activity (unconfirmed here:
// configuration).
var DefaultKBK = []string{"105402"}

// FeeStatus answers whether a fee was paid.
type FeeStatus string

// Fee statuses.
const (
	Paid       FeeStatus = "paid"
	NotPaid    FeeStatus = "not_paid"
	PartlyPaid FeeStatus = "partly_paid"
)

// FeeCheck is the answer of CheckFee.
type FeeCheck struct {
	Status   FeeStatus `json:"status"`
	Kind     Kind      `json:"kind"`
	Required Money     `json:"required"`
	Paid     Money     `json:"paid"`
	// Payments are the payments counted: paid, for this fee's purpose and,
	// when one was named, this application.
	Payments []Payment `json:"payments"`
}

// Names are the response payload's element local names.
type Names struct {
	Payment, ID, Payer, Amount, Currency, Purpose, Application, Date, Status string
}

// Config says how to ask; zero fields take defaults matching the mock
// payment gateway (the real gateway's schema is unconfirmed).
type Config struct {
	// PayerService lists a payer's payments. Default: PSHEP_PaymentInfoSync.
	PayerService string
	// StatusService reads one payment. Default: PSHEP_PaymentStatusSync.
	StatusService string
	PayerRequest  adapters.Request
	StatusRequest adapters.Request
	Names         Names
	// Purposes are the gateway's purpose codes by kind. Default:
	// LICENCE_ISSUE and LICENCE_REISSUE.
	Purposes map[Kind]string
	MCI      MCITable
	Now      func() time.Time
	// Ledger holds the notifications the gateway pushed. Default: none.
	Ledger Ledger
	// Source is where payments come from: notifications (the Ledger),
	// query (the services above; their schema is unconfirmed) or both.
	// Default: notifications with a Ledger, else query.
	Source string
	// KBK are the budget classification codes a notified payment of the
	// licence fee carries. Default: DefaultKBK.
	KBK []string
}

// Client checks payments.
type Client struct {
	ex  adapters.Exchanger
	cfg Config
}

// New returns a Client calling ex, the payment gateway's exchange.
func New(ex adapters.Exchanger, cfg Config) *Client {
	if cfg.PayerService == "" {
		cfg.PayerService = "PSHEP_PaymentInfoSync"
	}
	if cfg.StatusService == "" {
		cfg.StatusService = "PSHEP_PaymentStatusSync"
	}
	if cfg.PayerRequest.Element == "" {
		cfg.PayerRequest = adapters.Request{Element: "getPayments", Namespace: "urn:kopir:payments:v1", Key: "payer"}
	}
	if cfg.StatusRequest.Element == "" {
		cfg.StatusRequest = adapters.Request{Element: "getPayment", Namespace: "urn:kopir:payments:v1", Key: "id"}
	}
	adapters.Fill(&cfg.Names, Names{Payment: "payment", ID: "id", Payer: "payer", Amount: "amount", Currency: "currency",
		Purpose: "purpose", Application: "application", Date: "date", Status: "status"})
	if cfg.Purposes == nil {
		cfg.Purposes = map[Kind]string{Issue: "LICENCE_ISSUE", Reissue: "LICENCE_REISSUE"}
	}
	if cfg.MCI == nil {
		cfg.MCI = DefaultMCI
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Source == "" {
		cfg.Source = SourceQuery
		if cfg.Ledger != nil {
			cfg.Source = "notifications"
		}
	}
	if cfg.KBK == nil {
		cfg.KBK = DefaultKBK
	}
	return &Client{ex: ex, cfg: cfg}
}

func (c *Client) notified() bool { return c.cfg.Ledger != nil && c.cfg.Source != SourceQuery }
func (c *Client) queried() bool  { return c.cfg.Source == SourceQuery || c.cfg.Source == "both" }

// FeeFor is the licence fee of kind on date, from the configured MCI table.
func (c *Client) FeeFor(kind Kind, date time.Time) (Money, error) {
	return c.cfg.MCI.FeeFor(kind, date)
}

// CheckFee answers whether payer paid the fee of kind (for application,
// when not empty) at today's MCI: paid, not paid or partly paid, with the
// payments counted. "Not paid" is an answer, not an error.
func (c *Client) CheckFee(ctx context.Context, payer, application string, kind Kind) (*FeeCheck, error) {
	if err := iin.Validate(payer); err != nil {
		return nil, err
	}
	required, err := c.FeeFor(kind, c.cfg.Now())
	if err != nil {
		return nil, err
	}
	var all []Payment
	if c.notified() {
		if all, err = c.cfg.Ledger.ByPayer(ctx, payer); err != nil {
			return nil, fmt.Errorf("payments: the ledger: %w", err)
		}
	}
	if c.queried() {
		queried, err := c.fetch(ctx, c.cfg.PayerService, c.cfg.PayerRequest.Payload(payer))
		if err != nil && !errors.Is(err, adapters.ErrNotFound) {
			return nil, err
		}
		all = append(all, queried...)
	}
	check := &FeeCheck{Kind: kind, Required: required, Payments: []Payment{}}
	seen := map[string]bool{}
	for _, p := range all {
		if seen[p.ID] || !c.counts(p, payer, application, kind) {
			continue
		}
		seen[p.ID] = true
		check.Payments = append(check.Payments, p)
		check.Paid += p.Amount
	}
	switch {
	case check.Paid >= required:
		check.Status = Paid
	case check.Paid > 0:
		check.Status = PartlyPaid
	default:
		check.Status = NotPaid
	}
	return check, nil
}

// counts says whether p pays the fee of kind by payer (for application,
// when not empty). A notified payment is the fee's when its KBK is, and
// names the application in its purpose text; a queried one by its
// purpose code and application field.
func (c *Client) counts(p Payment, payer, application string, kind Kind) bool {
	if p.Payer != payer || p.Status != "paid" || p.Currency != "" && p.Currency != "KZT" {
		return false
	}
	if p.Source == SourceNotification {
		return slices.Contains(c.cfg.KBK, p.Purpose) && (application == "" || strings.Contains(p.Assign, application))
	}
	return strings.EqualFold(p.Purpose, c.cfg.Purposes[kind]) && (application == "" || p.Application == application)
}

// Payment returns the payment with the gateway's id (a notification's
// reference), or adapters.ErrNotFound.
func (c *Client) Payment(ctx context.Context, id string) (*Payment, error) {
	if !validID(id) {
		return nil, &InputError{Msg: "a payment id is 1 to 64 letters, digits, '-', '_' or '.'"}
	}
	if c.notified() {
		p, err := c.cfg.Ledger.ByID(ctx, id)
		if err == nil || !errors.Is(err, adapters.ErrNotFound) {
			return p, err
		}
		if !c.queried() {
			return nil, err
		}
	}
	ps, err := c.fetch(ctx, c.cfg.StatusService, c.cfg.StatusRequest.Payload(id))
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.ID == id {
			return &p, nil
		}
	}
	return nil, adapters.ErrNotFound
}

func (c *Client) fetch(ctx context.Context, service string, payload []byte) ([]Payment, error) {
	res, err := c.ex.Do(ctx, exchange.Call{ServiceID: service, Payload: payload})
	if err != nil {
		return nil, err
	}
	pl, err := adapters.ReadPayload(res.Response.Data)
	if err != nil {
		return nil, &adapters.MalformedError{System: service, Msg: err.Error()}
	}
	n := c.cfg.Names
	var out []Payment
	for _, el := range pl.Each(n.Payment) {
		p := Payment{ID: adapters.Text(el, n.ID), Payer: adapters.Text(el, n.Payer), Currency: adapters.Text(el, n.Currency),
			Purpose: adapters.Text(el, n.Purpose), Application: adapters.Text(el, n.Application),
			Status: strings.ToLower(adapters.Text(el, n.Status)), Source: SourceQuery}
		if p.Amount, err = ParseMoney(adapters.Text(el, n.Amount)); err != nil {
			return nil, &adapters.MalformedError{System: service, Msg: err.Error()}
		}
		if p.Date, err = adapters.ParseTime(adapters.Text(el, n.Date)); err != nil {
			return nil, &adapters.MalformedError{System: service, Msg: err.Error()}
		}
		if p.ID == "" || p.Status == "" {
			return nil, &adapters.MalformedError{System: service, Msg: "a payment without an id or a status"}
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, adapters.ErrNotFound
	}
	return out, nil
}

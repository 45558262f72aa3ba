// Package report is what a failure report to the operator's support desk
// is: the five items the rules require (service, application, recipient,
// time of the error counted from authorisation, step-by-step evidence),
// the evidence itself rendered as images, and the e-mail that carries one
// or many reports. It neither stores nor sends reports: package outbox
// does.
//
// Room gateway/report: failure reporting — this package (what a report and
// its mail are), gateway/report/outbox (storing and delivering them). It
// may import gateway/shep (the exchange record), gateway/pii and signing,
// never the API or operations.
package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/kopir/kopir/gateway/shep/exchange"
)

// Source says who noticed the failure.
type Source string

// Sources.
const (
	SourceExchange Source = "exchange" // Kopir, at the end of a failed exchange
	SourceBackend  Source = "backend"  // a licensing back end, through the API
)

// Report is one failure as the desk must hear of it. Recipient ids in it
// are in the clear: the rules require them in the mail. Everything else
// that holds personal data (the steps' bodies) is masked where it is made.
type Report struct {
	ID        string `json:"id"`
	Source    Source `json:"source"`
	System    string `json:"system"`               // the digital system that failed
	Fault     string `json:"fault"`                // how it failed: an exchange outcome, or the back end's word
	ServiceID string `json:"service_id,omitempty"` // SHEP service id, when an exchange failed
	MessageID string `json:"message_id,omitempty"` // the failed exchange's messageId
	// Filer is who filed it: "" for Kopir itself (a failed exchange), the
	// back end's client name otherwise. Incidents are kept apart by it,
	// so that no back end's reports can flood another's, or Kopir's.
	Filer   string              `json:"filer,omitempty"`
	App     exchange.AppContext `json:"app"`
	ErrorAt time.Time           `json:"error_at"`
	Error   string              `json:"error"`
	// Steps are the exchange's attempts, each a "screenshot" of a step.
	Steps []exchange.Step `json:"steps,omitempty"`
	// Notes are the steps a back end describes in words.
	Notes []Note `json:"notes,omitempty"`
	// Attachments are the back end's own screenshots.
	Attachments []Attachment `json:"attachments,omitempty"`
	Received    time.Time    `json:"received"`
}

// Note is one step a back end saw before the error.
type Note struct {
	Time time.Time `json:"time,omitzero"`
	Text string    `json:"text"`
}

// Attachment is a file a back end supplied as evidence.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	Data        []byte `json:"-"`
}

// FromRecord is the report of a failed exchange. It does not check that
// the record is a failure: callers decide what to report.
func FromRecord(rec *exchange.Record) *Report {
	r := &Report{
		Source: SourceExchange, System: rec.System, Fault: string(rec.Outcome), ServiceID: rec.ServiceID,
		MessageID: rec.MessageID, Error: rec.Error, ErrorAt: rec.Started.Add(rec.Duration),
		Steps: append([]exchange.Step(nil), rec.Steps...),
	}
	if rec.App != nil {
		r.App = *rec.App
	}
	// The error's time is the first failure's, not the last retry's:
	// that is when the applicant's service broke.
	for _, s := range rec.Steps {
		if s.Outcome != exchange.OutcomeOK {
			r.ErrorAt = s.Time.Add(s.Duration)
			break
		}
	}
	return r
}

// Item is one of the five things the rules require in a report.
type Item int

// The mandatory items, numbered as the rules number them.
const (
	ItemService     Item = 1 + iota // the state service's name
	ItemApplication                 // admin-document number and code, or application id, or permit id
	ItemRecipient                   // the recipient's IIN or BIN
	ItemTime                        // the time of the error counted from authorisation
	ItemEvidence                    // step-by-step evidence up to the error
)

// Items are all of them, in order.
var Items = []Item{ItemService, ItemApplication, ItemRecipient, ItemTime, ItemEvidence}

// Kazakh and Russian names of the items, as the desk reads them.
var itemNames = map[Item][2]string{
	ItemService:     {"Мемлекеттік көрсетілетін қызметтің атауы", "Наименование государственной услуги"},
	ItemApplication: {"Өтініштің нөмірі мен коды, не бірегей нөмірі, не рұқсаттың бірегей нөмірі", "Номер и код заявления, либо его уникальный номер, либо уникальный номер разрешения"},
	ItemRecipient:   {"Көрсетілетін қызметті алушының ЖСН/БСН", "ИИН/БИН услугополучателя"},
	ItemTime:        {"Қатенің авторизация сәтінен бастап есептелген нақты уақыты", "Точное время ошибки с момента авторизации"},
	ItemEvidence:    {"Қатеге дейінгі қадамдардың скриншоттары", "Пошаговые скриншоты до момента ошибки"},
}

// String is the item's Kazakh and Russian name.
func (i Item) String() string {
	n, ok := itemNames[i]
	if !ok {
		return fmt.Sprintf("item %d", int(i))
	}
	return n[0] + " / " + n[1]
}

// Slug is the item's stable English name, for JSON.
func (i Item) Slug() string {
	switch i {
	case ItemService:
		return "service_name"
	case ItemApplication:
		return "application"
	case ItemRecipient:
		return "recipient_id"
	case ItemTime:
		return "time_from_authorization"
	case ItemEvidence:
		return "evidence"
	}
	return fmt.Sprintf("item_%d", int(i))
}

// HasApplication reports whether the application is identified in one of
// the three ways the rules allow.
func (r *Report) HasApplication() bool {
	a := r.App
	return a.ApplicationID != "" || a.PermitID != "" || a.AdminDocNumber != "" && a.AdminDocCode != ""
}

// Missing lists the mandatory items the report lacks. A report missing
// items is still sent, with the gaps flagged: the desk must hear of the
// failure either way.
func (r *Report) Missing() []Item {
	var out []Item
	if strings.TrimSpace(r.App.ServiceName) == "" {
		out = append(out, ItemService)
	}
	if !r.HasApplication() {
		out = append(out, ItemApplication)
	}
	if r.App.RecipientID == "" {
		out = append(out, ItemRecipient)
	}
	if r.App.AuthorizedAt.IsZero() || r.ErrorAt.IsZero() {
		out = append(out, ItemTime)
	}
	if len(r.Steps) == 0 && len(r.Notes) == 0 && len(r.Attachments) == 0 {
		out = append(out, ItemEvidence)
	}
	return out
}

// Elapsed is the time from authorisation to the error, and whether both
// are known.
func (r *Report) Elapsed() (time.Duration, bool) {
	if r.App.AuthorizedAt.IsZero() || r.ErrorAt.IsZero() {
		return 0, false
	}
	return r.ErrorAt.Sub(r.App.AuthorizedAt), true
}

// Application names the application as the rules allow, or "".
func (r *Report) Application() string {
	a := r.App
	var parts []string
	if a.AdminDocNumber != "" || a.AdminDocCode != "" {
		parts = append(parts, fmt.Sprintf("№ %s, код/код %s", orDash(a.AdminDocNumber), orDash(a.AdminDocCode)))
	}
	if a.ApplicationID != "" {
		parts = append(parts, "ID "+a.ApplicationID)
	}
	if a.PermitID != "" {
		parts = append(parts, "рұқсат/разрешение "+a.PermitID)
	}
	return strings.Join(parts, "; ")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

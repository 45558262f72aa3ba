package exchange

import (
	"context"
	"fmt"
	"time"
)

type appKey struct{}

// WithApp returns a context carrying the application context; calls made
// with it that name none of their own carry it into their records.
func WithApp(ctx context.Context, app *AppContext) context.Context {
	if app == nil {
		return ctx
	}
	return context.WithValue(ctx, appKey{}, app)
}

// AppFrom returns the application context ctx carries, or nil.
func AppFrom(ctx context.Context) *AppContext {
	app, _ := ctx.Value(appKey{}).(*AppContext)
	return app
}

// AppContext is what a licensing back end says about the application a call
// serves. It travels with the exchange record into the failure report the
// rules require: the service's name; the application's admin-document
// number and code, or its unique id, or the permit's unique id; the
// recipient's IIN or BIN; and the moment of authorisation, from which the
// time of an error is counted.
type AppContext struct {
	ServiceName    string    `json:"service_name,omitempty"`
	ApplicationID  string    `json:"application_id,omitempty"`
	AdminDocNumber string    `json:"admin_doc_number,omitempty"`
	AdminDocCode   string    `json:"admin_doc_code,omitempty"`
	PermitID       string    `json:"permit_id,omitempty"`
	RecipientID    string    `json:"recipient_id,omitempty"` // IIN or BIN; personal data, masked wherever shown
	AuthorizedAt   time.Time `json:"authorized_at,omitzero"`
}

// Outcome is how an attempt or a whole exchange ended. Outcomes are metric
// label values.
type Outcome string

// Outcomes.
const (
	OutcomeOK          Outcome = "ok"           // a verified response
	OutcomeBusiness    Outcome = "business"     // a verified fault the table classes as a business answer
	OutcomeFault       Outcome = "fault"        // a verified fault of the digital system
	OutcomeTransient   Outcome = "transient"    // a verified fault the table classes as transient (retried)
	OutcomeHTTP        Outcome = "http_status"  // an HTTP status other than 200 and a SOAP fault's 500, or a 5xx that is not SOAP
	OutcomeStatus      Outcome = "status"       // a verified answer whose status is not a success
	OutcomeReplay      Outcome = "replay"       // an answer whose signature was seen before: replayed
	OutcomeUnbound     Outcome = "unbound"      // a verified answer to another request
	OutcomeTransport   Outcome = "transport"    // no response: connection refused or reset, TLS…
	OutcomeTimeout     Outcome = "timeout"      // no response in time
	OutcomeSignature   Outcome = "signature"    // the response's signature was refused
	OutcomeMalformed   Outcome = "malformed"    // a signed response that is not SendMessage's
	OutcomeSigner      Outcome = "signer"       // the request could not be signed (the key, NCANode)
	OutcomeTooLarge    Outcome = "too_large"    // a response over the size limit
	OutcomeBreakerOpen Outcome = "breaker_open" // not attempted: the upstream's breaker is open
	OutcomeCanceled    Outcome = "canceled"     // the caller gave up
)

// Step is one attempt of an exchange: the "screenshot" of a step the
// failure report shows. Bodies are masked and may be truncated.
type Step struct {
	Attempt    int           `json:"attempt"`
	Time       time.Time     `json:"time"`
	Upstream   string        `json:"upstream"`
	ServiceID  string        `json:"service_id"`
	MessageID  string        `json:"message_id"`
	HTTPStatus int           `json:"http_status,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
	Outcome    Outcome       `json:"outcome"`
	Error      string        `json:"error,omitempty"`
	Request    string        `json:"request,omitempty"`
	Response   string        `json:"response,omitempty"`
}

// Record is everything that happened in one exchange. It is produced here,
// once, and read by metrics, logs, failure reports and the API; nothing
// re-derives it.
type Record struct {
	System        string        `json:"system"`
	ServiceID     string        `json:"service_id"`
	MessageID     string        `json:"message_id"`
	CorrelationID string        `json:"correlation_id,omitempty"`
	App           *AppContext   `json:"app,omitempty"`
	Started       time.Time     `json:"started"`
	Duration      time.Duration `json:"duration_ns"`
	Outcome       Outcome       `json:"outcome"`
	// SystemFailure says the exchange ended as a failure of a digital
	// system: what the rules oblige a provider to report.
	SystemFailure bool   `json:"system_failure"`
	Error         string `json:"error,omitempty"`
	Steps         []Step `json:"steps"`
}

// Retries is the number of attempts after the first.
func (r *Record) Retries() int {
	if len(r.Steps) == 0 {
		return 0
	}
	return len(r.Steps) - 1
}

// Observer receives every exchange's record when the exchange ends:
// metrics, logs and the failure-report outbox are observers. Observe must
// not block for long; it runs on the caller's goroutine.
type Observer interface {
	Observe(rec *Record)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(*Record)

// Observe calls f.
func (f ObserverFunc) Observe(r *Record) { f(r) }

// Kind says what went wrong, for callers that branch on errors.
type Kind = Outcome

// Class separates answers from failures.
type Class string

// Classes.
const (
	// ClassBusiness is an answer: the upstream worked and said no (not
	// found, not paid, bad input). Never a failure report.
	ClassBusiness Class = "business"
	// ClassSystem is a failure of a digital system.
	ClassSystem Class = "system"
)

// Error is an exchange that did not end in a verified response. It wraps
// the *shep.Fault when there was one, so errors.As finds it.
type Error struct {
	Kind       Kind
	Class      Class
	System     string
	ServiceID  string
	HTTPStatus int
	Record     *Record
	Err        error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("exchange %s/%s: %s", e.System, e.ServiceID, e.Kind)
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// SystemFailure reports whether the error is a failure of a digital system,
// as opposed to a business answer.
func (e *Error) SystemFailure() bool { return e.Class == ClassSystem }

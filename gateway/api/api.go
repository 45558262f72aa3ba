// Package api is Kopir's HTTP/JSON API for licensing back ends that do not
// call the adapters as a Go library: legal entities, sole proprietors,
// identity documents, licence fees and payments, with errors as RFC 9457
// problem details, and the application context of each call taken from
// headers into the exchange record.
//
// Room gateway/api: the HTTP server with its access rules (gateway/api/access).
// It may import adapters, gateway/report, gateway/shep, gateway/pii and
// signing; nothing below it imports it.
package api

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kopir/kopir/adapters"
	"github.com/kopir/kopir/adapters/legalentities"
	"github.com/kopir/kopir/adapters/payments"
	"github.com/kopir/kopir/adapters/persons"
	"github.com/kopir/kopir/adapters/soleproprietors"
	"github.com/kopir/kopir/gateway/api/access"
	"github.com/kopir/kopir/gateway/pii"
	"github.com/kopir/kopir/gateway/pii/iin"
	"github.com/kopir/kopir/gateway/report/outbox"
	"github.com/kopir/kopir/gateway/shep/exchange"
)

//go:embed openapi.json
var openAPI []byte

// The adapters the API serves, as it uses them.
type (
	LegalEntities interface {
		LegalEntity(ctx context.Context, bin string) (*legalentities.LegalEntity, error)
	}
	SoleProprietors interface {
		SoleProprietor(ctx context.Context, iin string) (*soleproprietors.SoleProprietor, error)
	}
	Persons interface {
		IdentityDocuments(ctx context.Context, iin string) ([]persons.Document, error)
	}
	Payments interface {
		FeeFor(kind payments.Kind, date time.Time) (payments.Money, error)
		CheckFee(ctx context.Context, payer, application string, kind payments.Kind) (*payments.FeeCheck, error)
		Payment(ctx context.Context, id string) (*payments.Payment, error)
	}
)

// Backends are the adapters behind the API.
type Backends struct {
	LegalEntities   LegalEntities
	SoleProprietors SoleProprietors
	Persons         Persons
	Payments        Payments
	Reports         Reports
}

// Options are the injectable parts of a Server.
type Options struct {
	Logger *slog.Logger
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// UploadLimit bounds a failure report's body, screenshots included.
	// Default: 20 MiB.
	UploadLimit int64
	// Guard admits callers; nil admits everyone (development only).
	Guard Guard
	// Observer hears of every request (metrics).
	Observer Observer
}

// Guard names the client behind a request and checks it holds a right;
// *access.Access is one. Refusals are *access.Error.
type Guard interface {
	Admit(r *http.Request, right string) (client string, err error)
	// Serves checks the client may act for the state service a call
	// names.
	Serves(client, service string) error
	// Scope is the services a client acts for (nil: any): the failure
	// reports it may read.
	Scope(client string) []string
}

// Observer hears of requests; *metrics.Metrics is one.
type Observer interface {
	APIRequest(route, method string, code int, d time.Duration)
	APIInFlight(delta int)
}

// Headers that carry the application context, as percent-encoded UTF-8.
const (
	HeaderServiceName    = "Kopir-Service-Name"
	HeaderApplicationID  = "Kopir-Application-Id"
	HeaderAdminDocNumber = "Kopir-Admin-Doc-Number"
	HeaderAdminDocCode   = "Kopir-Admin-Doc-Code"
	HeaderPermitID       = "Kopir-Permit-Id"
	HeaderRecipientID    = "Kopir-Recipient-Id"
	HeaderAuthorizedAt   = "Kopir-Authorized-At"
	HeaderRequestID      = "Kopir-Request-Id"
)

// Route is one operation of the API and the right it needs ("" for
// none).
type Route struct {
	Method, Pattern, Right string
	handler                func(*Server, http.ResponseWriter, *http.Request) error
}

// Routes are the API's operations; the OpenAPI description must list
// exactly these (a test keeps it so).
var Routes = []Route{
	{http.MethodGet, "/v1/legal-entities/{bin}", access.RightLegalEntities, byPath("bin", legalEntity)},
	{http.MethodGet, "/v1/sole-proprietors/{iin}", access.RightSoleProprietors, byPath("iin", soleProprietor)},
	{http.MethodGet, "/v1/persons/{iin}/documents", access.RightPersons, byPath("iin", documents)},
	{http.MethodGet, "/v1/fees", access.RightPayments, (*Server).fee},
	{http.MethodPost, "/v1/fee-checks", access.RightPayments, (*Server).feeCheck},
	{http.MethodGet, "/v1/payments/{id}", access.RightPayments, byPath("id", payment)},
	{http.MethodPost, "/v1/failure-reports", access.RightReport, (*Server).postReport},
	{http.MethodGet, "/v1/failure-reports", access.RightReportsRead, (*Server).listReports},
	{http.MethodGet, "/v1/failure-reports/{id}", access.RightReportsRead, (*Server).getReport},
	{http.MethodGet, "/openapi.json", "", (*Server).openapi},
}

// Server serves the API. It is an http.Handler.
type Server struct {
	b           Backends
	guard       Guard
	obs         Observer
	reports     Reports
	uploadLimit int64
	mux         *http.ServeMux
	log         *slog.Logger
	now         func() time.Time
}

// New returns a Server over b.
func New(b Backends, o Options) *Server {
	s := &Server{b: b, guard: o.Guard, obs: o.Observer, reports: b.Reports, uploadLimit: o.UploadLimit, mux: http.NewServeMux(),
		log: o.Logger, now: o.Now}
	if s.uploadLimit <= 0 {
		s.uploadLimit = defaultUploadLimit
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	byPattern := map[string][]Route{}
	for _, r := range Routes {
		byPattern[r.Pattern] = append(byPattern[r.Pattern], r)
	}
	for pattern, routes := range byPattern {
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			var allow []string
			for _, rt := range routes {
				if rt.Method == r.Method || rt.Method == http.MethodGet && r.Method == http.MethodHead {
					s.serve(w, r, pattern, rt.Right, rt.handler)
					return
				}
				allow = append(allow, rt.Method)
			}
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.serve(w, r, pattern, "", func(*Server, http.ResponseWriter, *http.Request) error {
				return &problem{Type: typeMethod, Status: http.StatusMethodNotAllowed, Detail: r.Method + " is not allowed here"}
			})
		})
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, "unmatched", "", func(*Server, http.ResponseWriter, *http.Request) error {
			return &problem{Type: typeNoRoute, Status: http.StatusNotFound, Detail: "no such route; see /openapi.json"}
		})
	})
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// serve runs a handler with the request id, admission, the application
// context and the error mapping; it logs who called what and how it
// ended: the route pattern, never the path (which holds IINs).
func (s *Server) serve(w http.ResponseWriter, r *http.Request, pattern, right string, h func(*Server, http.ResponseWriter, *http.Request) error) {
	start := s.now()
	if s.obs != nil {
		s.obs.APIInFlight(1)
		defer s.obs.APIInFlight(-1)
	}
	client := ""
	id := r.Header.Get(HeaderRequestID)
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "\r\n") {
		var b [12]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	w.Header().Set(HeaderRequestID, id)
	rw := &statusWriter{ResponseWriter: w}
	err := func() error {
		if s.guard != nil && right != "" {
			var err error
			if client, err = s.guard.Admit(r, right); err != nil {
				return err
			}
		}
		app, err := appContext(r.Header)
		if err != nil {
			return err
		}
		// A failure report may name its service in its body: its handler
		// checks once the two are merged. Reading reports is bounded by
		// the client's scope, report by report, whatever a header says.
		if client != "" && right != access.RightReport && right != access.RightReportsRead {
			service := ""
			if app != nil {
				service = app.ServiceName
			}
			if err := s.guard.Serves(client, service); err != nil {
				return err
			}
		}
		ctx := context.WithValue(exchange.WithApp(r.Context(), app), clientKey{}, client)
		return h(s, rw, r.WithContext(ctx))
	}()
	if err != nil {
		var ae *access.Error
		if errors.As(err, &ae) {
			switch ae.Status {
			case http.StatusUnauthorized:
				rw.Header().Set("WWW-Authenticate", `Bearer realm="kopir"`)
			case http.StatusTooManyRequests:
				rw.Header().Set("Retry-After", access.RetryAfterSeconds(ae.RetryAfter))
			}
		}
		p := toProblem(err, id)
		if p.Status >= 500 {
			// The problem body says "internal error" or the upstream's
			// failure; the log says why, masked, under the same request id.
			s.log.LogAttrs(r.Context(), slog.LevelError, "api: answered "+strconv.Itoa(p.Status),
				slog.String("request_id", id), slog.String("route", pattern), slog.String("problem", p.Type),
				slog.String("cause", pii.Text(err.Error())))
		}
		writeProblem(rw, p)
	}
	d := s.now().Sub(start)
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "api",
		slog.String("request_id", id), slog.String("client", client), slog.String("method", r.Method), slog.String("route", pattern),
		slog.Int("status", rw.status), slog.Duration("duration", d))
	if s.obs != nil {
		s.obs.APIRequest(pattern, r.Method, rw.status, d)
	}
}

type clientKey struct{}

// clientFrom is the admitted client's name, "" when the API is open.
func clientFrom(ctx context.Context) string {
	c, _ := ctx.Value(clientKey{}).(string)
	return c
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// appContext reads the application context headers; none at all is no
// context.
func appContext(h http.Header) (*exchange.AppContext, error) {
	get := func(name string) (string, error) {
		v, err := url.PathUnescape(h.Get(name))
		if err != nil || len(v) > 512 {
			return "", badInput("header %s is not percent-encoded UTF-8 of at most 512 bytes", name)
		}
		return strings.TrimSpace(v), nil
	}
	var app exchange.AppContext
	var err error
	for _, f := range []struct {
		name string
		to   *string
	}{{HeaderServiceName, &app.ServiceName}, {HeaderApplicationID, &app.ApplicationID}, {HeaderAdminDocNumber, &app.AdminDocNumber},
		{HeaderAdminDocCode, &app.AdminDocCode}, {HeaderPermitID, &app.PermitID}, {HeaderRecipientID, &app.RecipientID}} {
		if *f.to, err = get(f.name); err != nil {
			return nil, err
		}
	}
	if app.RecipientID != "" {
		if err := iin.Validate(app.RecipientID); err != nil {
			return nil, badInput("header %s: %v", HeaderRecipientID, err)
		}
	}
	if v := h.Get(HeaderAuthorizedAt); v != "" {
		if app.AuthorizedAt, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return nil, badInput("header %s is not an RFC 3339 time with a zone", HeaderAuthorizedAt)
		}
	}
	if app == (exchange.AppContext{}) {
		return nil, nil
	}
	return &app, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// byPath is the shape of the routes that read one record by a path value:
// the backend, when configured, is asked once and its answer is the body.
func byPath[T any](param string, get func(Backends) func(context.Context, string) (T, error)) func(*Server, http.ResponseWriter, *http.Request) error {
	return func(s *Server, w http.ResponseWriter, r *http.Request) error {
		call := get(s.b)
		if call == nil {
			return errUnconfigured
		}
		v, err := call(r.Context(), r.PathValue(param))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, v)
	}
}

// The backends byPath reads from; nil when the backend is not configured.
func legalEntity(b Backends) func(context.Context, string) (*legalentities.LegalEntity, error) {
	if b.LegalEntities == nil {
		return nil
	}
	return b.LegalEntities.LegalEntity
}

func soleProprietor(b Backends) func(context.Context, string) (*soleproprietors.SoleProprietor, error) {
	if b.SoleProprietors == nil {
		return nil
	}
	return b.SoleProprietors.SoleProprietor
}

// Documents is GET /v1/persons/{iin}/documents' body.
type Documents struct {
	Documents []persons.Document `json:"documents"`
}

func documents(b Backends) func(context.Context, string) (Documents, error) {
	if b.Persons == nil {
		return nil
	}
	return func(ctx context.Context, iin string) (Documents, error) {
		docs, err := b.Persons.IdentityDocuments(ctx, iin)
		return Documents{docs}, err
	}
}

func payment(b Backends) func(context.Context, string) (*payments.Payment, error) {
	if b.Payments == nil {
		return nil
	}
	return b.Payments.Payment
}

func (s *Server) fee(w http.ResponseWriter, r *http.Request) error {
	if s.b.Payments == nil {
		return errUnconfigured
	}
	q := r.URL.Query()
	kind := payments.Kind(q.Get("kind"))
	date := s.now()
	if v := q.Get("date"); v != "" {
		var err error
		if date, err = time.Parse(time.DateOnly, v); err != nil {
			return badInput("date %q is not YYYY-MM-DD", v)
		}
	}
	amount, err := s.b.Payments.FeeFor(kind, date)
	if err != nil {
		return err
	}
	mcis, _ := kind.MCIs()
	return writeJSON(w, http.StatusOK, map[string]any{"kind": kind, "date": date.Format(time.DateOnly), "mcis": mcis,
		"amount": amount, "currency": "KZT"})
}

// FeeCheckRequest is POST /v1/fee-checks' body.
type FeeCheckRequest struct {
	Payer       string        `json:"payer"`
	Application string        `json:"application"`
	Kind        payments.Kind `json:"kind"`
}

// maxFeeCheck bounds a fee check's body.
const maxFeeCheck = 1 << 16

func (s *Server) feeCheck(w http.ResponseWriter, r *http.Request) error {
	if s.b.Payments == nil {
		return errUnconfigured
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return &problem{Type: typeUnsupported, Status: http.StatusUnsupportedMediaType, Detail: "Content-Type must be application/json"}
	}
	var req FeeCheckRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFeeCheck))
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	if err == nil {
		// One object, nothing after it: a second one is not ignored.
		if err = dec.Decode(new(json.RawMessage)); err == io.EOF {
			err = nil
		} else if err == nil {
			err = errors.New("more than one JSON value")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &problem{Type: typeTooLarge, Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("a fee check is at most %d bytes", maxFeeCheck)}
	case err != nil:
		return badInput("the body is not a fee check: %v", err)
	}
	ctx := r.Context()
	// The payer is the fee's and so the service's recipient: a failure
	// report names them even when the back end sent no Kopir-Recipient-Id.
	if app := exchange.AppFrom(ctx); (app == nil || app.RecipientID == "") && iin.Validate(req.Payer) == nil {
		var withPayer exchange.AppContext
		if app != nil {
			withPayer = *app
		}
		withPayer.RecipientID = req.Payer
		if withPayer.ApplicationID == "" {
			withPayer.ApplicationID = req.Application
		}
		ctx = exchange.WithApp(ctx, &withPayer)
	}
	check, err := s.b.Payments.CheckFee(ctx, req.Payer, req.Application, req.Kind)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, check)
}

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openAPI)
	return err
}

// Problem types: stable identifiers back ends may branch on.
const (
	typeBadInput = "urn:kopir:problem:bad-input"
	typeNotFound = "urn:kopir:problem:not-found"
	// typeNoRoute is a URL the API does not serve, told apart from a
	// record the state database does not hold.
	typeNoRoute     = "urn:kopir:problem:no-such-route"
	typeMethod      = "urn:kopir:problem:method-not-allowed"
	typeRejected    = "urn:kopir:problem:upstream-rejected"
	typeUpstream    = "urn:kopir:problem:upstream-failure"
	typeUnavailable = "urn:kopir:problem:upstream-unavailable"
	// typeNotConfigured is Kopir's own gap: an adapter, a key or a
	// year's MCI the operator has not configured.
	typeNotConfigured = "urn:kopir:problem:not-configured"
	typeTimeout       = "urn:kopir:problem:upstream-timeout"
	typeInternal      = "urn:kopir:problem:internal"
	typeUnsupported   = "urn:kopir:problem:unsupported-media-type"
	typeTooLarge      = "urn:kopir:problem:too-large"
	typeUnauth        = "urn:kopir:problem:unauthorized"
	typeForbidden     = "urn:kopir:problem:forbidden"
	typeRateLimited   = "urn:kopir:problem:rate-limited"
)

var titles = map[string]string{
	typeBadInput: "Bad input", typeNotFound: "Not found", typeNoRoute: "No such route", typeMethod: "Method not allowed",
	typeRejected: "Rejected by the upstream system", typeUpstream: "Upstream system failed",
	typeUnavailable: "Upstream system unavailable", typeNotConfigured: "Not configured in this gateway", typeTimeout: "Upstream system timed out", typeInternal: "Internal error",
	typeUnsupported: "Unsupported media type", typeTooLarge: "Request too large",
	typeUnauth: "Unauthorized", typeForbidden: "Forbidden", typeRateLimited: "Too many requests",
}

// problem is an RFC 9457 problem detail, with Kopir's extensions.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Exchange names the failed exchange, for the operator's records.
	Exchange *exchangeRef `json:"exchange,omitempty"`
}

type exchangeRef struct {
	System    string `json:"system"`
	ServiceID string `json:"service_id"`
	MessageID string `json:"message_id,omitempty"`
	Outcome   string `json:"outcome"`
	// FailureReports finds the report a failure of a digital system made.
	FailureReports string `json:"failure_reports,omitempty"`
}

func (p *problem) Error() string { return p.Detail }

func badInput(format string, args ...any) *problem {
	return &problem{Type: typeBadInput, Status: http.StatusBadRequest, Detail: fmt.Sprintf(format, args...)}
}

var errUnconfigured = &problem{Type: typeNotConfigured, Status: http.StatusServiceUnavailable, Detail: "this adapter is not configured"}

// toProblem maps an adapter's or the exchange's error to its status.
func toProblem(err error, requestID string) *problem {
	var (
		p  *problem
		ie *iin.Error
		pe *payments.InputError
		me *adapters.MalformedError
		re *adapters.ResultError
		se *adapters.PayloadSignatureError
		mm *payments.MCIMissingError
		xe *exchange.Error
	)
	var ae *access.Error
	switch {
	case errors.As(err, &p):
	case errors.As(err, &ae):
		p = &problem{Type: map[int]string{401: typeUnauth, 403: typeForbidden, 429: typeRateLimited}[ae.Status], Status: ae.Status, Detail: ae.Msg}
	case errors.As(err, &mm):
		p = &problem{Type: typeNotConfigured, Status: http.StatusServiceUnavailable, Detail: err.Error()}
	case errors.As(err, &ie), errors.As(err, &pe):
		p = &problem{Type: typeBadInput, Status: http.StatusBadRequest, Detail: err.Error()}
	case errors.Is(err, outbox.ErrNotFound):
		p = &problem{Type: typeNotFound, Status: http.StatusNotFound, Detail: "no such failure report"}
	case errors.Is(err, adapters.ErrNotFound):
		p = &problem{Type: typeNotFound, Status: http.StatusNotFound, Detail: "the state database holds no such record"}
	case errors.As(err, &me), errors.As(err, &se), errors.As(err, &re):
		// The state database answered, but with what cannot be used: a
		// payload unreadable, unsigned or not processed.
		p = &problem{Type: typeUpstream, Status: http.StatusBadGateway, Detail: pii.Text(err.Error())}
	case errors.As(err, &xe):
		p = &problem{Type: typeUpstream, Status: http.StatusBadGateway, Detail: pii.Text(xe.Error())}
		switch {
		case xe.Kind == exchange.OutcomeBreakerOpen:
			p.Type, p.Status = typeUnavailable, http.StatusServiceUnavailable
		case xe.Kind == exchange.OutcomeTimeout:
			p.Type, p.Status = typeTimeout, http.StatusGatewayTimeout
		case xe.Kind == exchange.OutcomeCanceled:
			p.Type, p.Status = typeTimeout, http.StatusGatewayTimeout
		case !xe.SystemFailure():
			p.Type, p.Status = typeRejected, http.StatusUnprocessableEntity
		}
		p.Exchange = &exchangeRef{System: xe.System, ServiceID: xe.ServiceID, Outcome: string(xe.Kind)}
		if xe.Record != nil {
			p.Exchange.MessageID = xe.Record.MessageID
			if xe.SystemFailure() {
				p.Exchange.FailureReports = "/v1/failure-reports?message_id=" + url.QueryEscape(xe.Record.MessageID)
			}
		}
	default:
		p = &problem{Type: typeInternal, Status: http.StatusInternalServerError, Detail: "internal error"}
	}
	out := *p
	out.Title = titles[out.Type]
	out.RequestID = requestID
	out.Instance = "urn:kopir:request:" + requestID
	return &out
}

func writeProblem(w http.ResponseWriter, p *problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

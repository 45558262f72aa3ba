package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	mail "github.com/wneessen/go-mail"

	"github.com/kopir/kopir/gateway/pii"
	"github.com/kopir/kopir/gateway/pii/iin"
	"github.com/kopir/kopir/gateway/report"
	"github.com/kopir/kopir/gateway/report/outbox"
	"github.com/kopir/kopir/gateway/shep/exchange"
)

// Reports is the failure-report outbox, as the API uses it.
type Reports interface {
	Accept(ctx context.Context, r *report.Report) (incident string, err error)
	List(ctx context.Context, f outbox.Filter) ([]outbox.Entry, error)
	Get(ctx context.Context, id string) (*outbox.Entry, error)
	Message(ctx context.Context, id string) (*mail.Msg, error)
}

// Limits on a back end's report.
const (
	maxScreenshots     = 10
	maxReportJSON      = 1 << 20
	defaultUploadLimit = 20 << 20
)

// FailureReportRequest is a failure a back end saw itself: POST
// /v1/failure-reports as JSON, or as the "report" part of a
// multipart/form-data body whose "screenshot" parts are PNG or JPEG
// images. Application fields left empty are taken from the Kopir-*
// headers.
type FailureReportRequest struct {
	System         string        `json:"system"`
	Fault          string        `json:"fault"`
	Error          string        `json:"error"`
	ErrorAt        time.Time     `json:"error_at,omitzero"`
	ServiceName    string        `json:"service_name"`
	ApplicationID  string        `json:"application_id"`
	AdminDocNumber string        `json:"admin_doc_number"`
	AdminDocCode   string        `json:"admin_doc_code"`
	PermitID       string        `json:"permit_id"`
	RecipientID    string        `json:"recipient_id"`
	AuthorizedAt   time.Time     `json:"authorized_at,omitzero"`
	Steps          []report.Note `json:"steps"`
}

var errNoReports = &problem{Type: typeNotConfigured, Status: http.StatusServiceUnavailable, Detail: "failure reports are not configured"}

func (s *Server) postReport(w http.ResponseWriter, r *http.Request) error {
	if s.reports == nil {
		return errNoReports
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.uploadLimit)
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return &problem{Type: typeUnsupported, Status: http.StatusUnsupportedMediaType, Detail: "Content-Type must be application/json or multipart/form-data"}
	}
	var (
		req   FailureReportRequest
		files []report.Attachment
	)
	switch mt {
	case "application/json":
		if err := decodeReport(r.Body, &req); err != nil {
			return err
		}
	case "multipart/form-data":
		if params["boundary"] == "" {
			return badInput("multipart body without a boundary")
		}
		seen := false
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			// Only the closing boundary ends the body: a body cut off
			// anywhere (an upload interrupted) is refused, not taken with
			// its screenshots silently missing.
			if err == io.EOF {
				break
			}
			if err != nil {
				return tooLargeOr(err, badInput("multipart body: %v", err))
			}
			switch p.FormName() {
			case "report":
				if seen {
					return badInput("two report parts")
				}
				seen = true
				if err := decodeReport(p, &req); err != nil {
					return err
				}
				if _, err := io.Copy(io.Discard, p); err != nil {
					return tooLargeOr(err, badInput("the report part is cut off: %v", err))
				}
			case "screenshot":
				if len(files) == maxScreenshots {
					return badInput("at most %d screenshots", maxScreenshots)
				}
				data, err := io.ReadAll(p)
				if err != nil {
					return tooLargeOr(err, badInput("screenshot: %v", err))
				}
				ct := http.DetectContentType(data)
				if ct != "image/png" && ct != "image/jpeg" {
					return &problem{Type: typeUnsupported, Status: http.StatusUnsupportedMediaType,
						Detail: fmt.Sprintf("screenshot %d is %s, not a PNG or JPEG image", len(files)+1, ct)}
				}
				files = append(files, report.Attachment{Name: p.FileName(), ContentType: ct, Size: len(data), Data: data})
			default:
				return badInput("unknown part %q: send report and screenshot parts", p.FormName())
			}
		}
		if !seen {
			return badInput("the multipart body has no report part")
		}
	default:
		return &problem{Type: typeUnsupported, Status: http.StatusUnsupportedMediaType, Detail: "Content-Type must be application/json or multipart/form-data"}
	}
	rep, err := s.newReport(r.Context(), &req)
	if err != nil {
		return err
	}
	if c := clientFrom(r.Context()); c != "" {
		if err := s.guard.Serves(c, rep.App.ServiceName); err != nil {
			return err
		}
	}
	rep.Attachments = files
	incident, err := s.reports.Accept(r.Context(), rep)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/failure-reports/"+rep.ID)
	return writeJSON(w, http.StatusAccepted, map[string]any{"id": rep.ID, "incident": incident, "state": outbox.StatePending,
		"missing": slugs(rep.Missing())})
}

func tooLargeOr(err error, p *problem) *problem {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &problem{Type: typeTooLarge, Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the body is over %d bytes", mbe.Limit)}
	}
	return p
}

func decodeReport(r io.Reader, req *FailureReportRequest) error {
	dec := json.NewDecoder(io.LimitReader(r, maxReportJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		return tooLargeOr(err, badInput("the body is not a failure report: %v", err))
	}
	return nil
}

// newReport checks a back end's report and fills what the headers say.
func (s *Server) newReport(ctx context.Context, req *FailureReportRequest) (*report.Report, error) {
	req.System, req.Error = strings.TrimSpace(req.System), strings.TrimSpace(req.Error)
	if req.System == "" || len(req.System) > 64 {
		return nil, badInput("system is required: the digital system that failed, at most 64 bytes")
	}
	if req.Error == "" {
		return nil, badInput("error is required: what went wrong")
	}
	if req.Fault == "" {
		req.Fault = "reported"
	}
	if len(req.Fault) > 64 || len(req.Error) > 4096 || len(req.Steps) > 200 {
		return nil, badInput("fault (64 bytes), error (4096 bytes) or steps (200) too long")
	}
	// What a back end writes reaches a mail's subject, the desk's screen
	// and an operator's terminal: bounded, and without control characters
	// (line breaks and tabs only in the texts that are paragraphs).
	for _, f := range []struct {
		name, v string
		max     int
		lines   bool
	}{{"system", req.System, 64, false}, {"fault", req.Fault, 64, false}, {"error", req.Error, 4096, true},
		{"service_name", req.ServiceName, 256, false}, {"application_id", req.ApplicationID, 128, false},
		{"admin_doc_number", req.AdminDocNumber, 128, false}, {"admin_doc_code", req.AdminDocCode, 128, false},
		{"permit_id", req.PermitID, 128, false}, {"recipient_id", req.RecipientID, 12, false}} {
		if msg := fieldProblem(f.v, f.max, f.lines); msg != "" {
			return nil, badInput("%s: %s", f.name, msg)
		}
	}
	for i, n := range req.Steps {
		if msg := fieldProblem(n.Text, 2048, true); msg != "" {
			return nil, badInput("steps[%d].text: %s", i, msg)
		}
	}
	app := exchange.AppContext{ServiceName: req.ServiceName, ApplicationID: req.ApplicationID, AdminDocNumber: req.AdminDocNumber,
		AdminDocCode: req.AdminDocCode, PermitID: req.PermitID, RecipientID: req.RecipientID, AuthorizedAt: req.AuthorizedAt}
	if h := exchange.AppFrom(ctx); h != nil {
		fill(&app.ServiceName, h.ServiceName)
		fill(&app.ApplicationID, h.ApplicationID)
		fill(&app.AdminDocNumber, h.AdminDocNumber)
		fill(&app.AdminDocCode, h.AdminDocCode)
		fill(&app.PermitID, h.PermitID)
		fill(&app.RecipientID, h.RecipientID)
		if app.AuthorizedAt.IsZero() {
			app.AuthorizedAt = h.AuthorizedAt
		}
	}
	if app.RecipientID != "" {
		if err := iin.Validate(app.RecipientID); err != nil {
			return nil, err
		}
	}
	if req.ErrorAt.IsZero() {
		req.ErrorAt = s.now()
	}
	if !app.AuthorizedAt.IsZero() && req.ErrorAt.Before(app.AuthorizedAt) {
		return nil, badInput("error_at is before authorized_at")
	}
	// Filed by a back end: never in Kopir's own incidents, nor another
	// back end's (an open API files as "backend").
	filer := clientFrom(ctx)
	if filer == "" {
		filer = "backend"
	}
	return &report.Report{Source: report.SourceBackend, Filer: filer, System: req.System, Fault: req.Fault, Error: req.Error,
		ErrorAt: req.ErrorAt, App: app, Notes: req.Steps}, nil
}

// fieldProblem says what is wrong with a text field, or "": over max
// bytes, not UTF-8, or holding control characters (line breaks and tabs
// allowed when lines).
func fieldProblem(v string, max int, lines bool) string {
	switch {
	case len(v) > max:
		return fmt.Sprintf("at most %d bytes", max)
	case !utf8.ValidString(v):
		return "not UTF-8"
	case strings.ContainsFunc(v, func(r rune) bool {
		return (r < ' ' && !(lines && (r == '\n' || r == '\t' || r == '\r'))) || r == 0x7f || 0x80 <= r && r < 0xa0
	}):
		return "control characters are not allowed"
	}
	return ""
}

func fill(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

func slugs(items []report.Item) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.Slug())
	}
	return out
}

// reportView is a stored report as the API shows it: the recipient
// masked, attachments by name.
type reportView struct {
	ID           string              `json:"id"`
	Source       report.Source       `json:"source"`
	System       string              `json:"system"`
	Fault        string              `json:"fault"`
	ServiceID    string              `json:"service_id,omitempty"`
	MessageID    string              `json:"message_id,omitempty"`
	App          exchange.AppContext `json:"app"`
	Received     time.Time           `json:"received"`
	ErrorAt      time.Time           `json:"error_at"`
	Error        string              `json:"error"`
	ElapsedMS    *int64              `json:"elapsed_ms,omitempty"`
	Missing      []string            `json:"missing"`
	Incident     string              `json:"incident"`
	IncidentSize int                 `json:"incident_reports"`
	State        outbox.State        `json:"state"`
	Attempts     int                 `json:"attempts"`
	LastError    string              `json:"last_error,omitempty"`
	NextAttempt  time.Time           `json:"next_attempt,omitzero"`
	DeliveredAt  time.Time           `json:"delivered_at,omitzero"`
	Steps        []exchange.Step     `json:"steps,omitempty"`
	Notes        []report.Note       `json:"notes,omitempty"`
	Attachments  []report.Attachment `json:"attachments,omitempty"`
}

func view(e *outbox.Entry, detail bool) reportView {
	r := e.Report
	v := reportView{ID: r.ID, Source: r.Source, System: r.System, Fault: r.Fault, ServiceID: r.ServiceID, MessageID: r.MessageID,
		App: r.App, Received: r.Received, ErrorAt: r.ErrorAt, Error: pii.Text(r.Error), Missing: slugs(r.Missing()),
		Incident: e.Incident, IncidentSize: e.Reports, State: e.State, Attempts: e.Attempts, LastError: e.LastError,
		NextAttempt: e.NextAttempt, DeliveredAt: e.DeliveredAt}
	v.App.RecipientID = pii.ID(v.App.RecipientID)
	if d, ok := r.Elapsed(); ok {
		ms := d.Milliseconds()
		v.ElapsedMS = &ms
	}
	if detail {
		v.Steps, v.Notes, v.Attachments = r.Steps, r.Notes, r.Attachments
	}
	return v
}

func (s *Server) listReports(w http.ResponseWriter, r *http.Request) error {
	if s.reports == nil {
		return errNoReports
	}
	q := r.URL.Query()
	f := outbox.Filter{State: outbox.State(q.Get("state")), System: q.Get("system"), MessageID: q.Get("message_id"), BeforeID: q.Get("before")}
	switch f.State {
	case "", outbox.StatePending, outbox.StateDelivered, outbox.StateRefused:
	default:
		return badInput("state %q is not pending, delivered or refused", f.State)
	}
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(t.name); v != "" {
			var err error
			if *t.to, err = time.Parse(time.RFC3339, v); err != nil {
				return badInput("%s %q is not an RFC 3339 time", t.name, v)
			}
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return badInput("limit %q is not 1..1000", v)
		}
		f.Limit = n
	}
	es, err := s.reports.List(r.Context(), f)
	if err != nil {
		return err
	}
	// Out of scope entries are left out; the cursor still moves past them.
	next := ""
	if len(es) > 0 {
		next = es[len(es)-1].Report.ID
	}
	full := len(es)
	es = slices.DeleteFunc(es, func(e outbox.Entry) bool { return !s.inScope(r.Context(), e.Report) })
	out := struct {
		Reports []reportView `json:"reports"`
		Next    string       `json:"next,omitempty"`
	}{Reports: []reportView{}}
	for i := range es {
		out.Reports = append(out.Reports, view(&es[i], false))
	}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	if full == limit {
		out.Next = next
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request) error {
	if s.reports == nil {
		return errNoReports
	}
	id, eml := strings.CutSuffix(r.PathValue("id"), ".eml")
	e, err := s.reports.Get(r.Context(), id)
	if err != nil {
		return err
	}
	// Another service's report is, to this client, no report at all.
	if !s.inScope(r.Context(), e.Report) {
		return outbox.ErrNotFound
	}
	if eml {
		// The mail carries every report of its incident, IINs unmasked:
		// a scoped client gets it only when the report is alone in it.
		if s.scope(r.Context()) != nil && e.Reports != 1 {
			return &problem{Type: typeForbidden, Status: http.StatusForbidden,
				Detail: "this report's mail also carries reports outside your services; read the report itself"}
		}
		m, err := s.reports.Message(r.Context(), id)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "message/rfc822")
		w.Header().Set("Content-Disposition", `attachment; filename="`+id+`.eml"`)
		_, err = m.WriteTo(w)
		return err
	}
	return writeJSON(w, http.StatusOK, view(e, true))
}

// scope is the calling client's services, nil when it may read any.
func (s *Server) scope(ctx context.Context) []string {
	client, _ := ctx.Value(clientKey{}).(string)
	if s.guard == nil || client == "" {
		return nil
	}
	return s.guard.Scope(client)
}

// inScope says whether the calling client may read r.
func (s *Server) inScope(ctx context.Context, r *report.Report) bool {
	scope := s.scope(ctx)
	return scope == nil || slices.Contains(scope, strings.TrimSpace(r.App.ServiceName))
}

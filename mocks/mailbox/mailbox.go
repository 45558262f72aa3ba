// Package mailboxmock is the support desk's mailbox for testers: an SMTP
// server (STARTTLS and AUTH PLAIN when configured) that keeps every mail
// it accepts in memory, and an HTTP view of them as JSON, HTML and raw
// .eml. Faults can be injected to test delivery that must not lose
// anything: a delay before the data is read, temporary or permanent
// refusals.
package mailboxmock

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	shepmock "github.com/kopir/kopir/mocks/shep"
)

// Message is one mail the mailbox accepted.
type Message struct {
	Seq       int       `json:"seq"`
	MessageID string    `json:"message_id"`
	From      string    `json:"from"`
	To        []string  `json:"to"`
	Subject   string    `json:"subject"`
	Received  time.Time `json:"received"`
	Size      int       `json:"size"`
	// Resend says an earlier mail had the same Message-ID.
	Resend bool   `json:"resend"`
	Raw    []byte `json:"-"`
}

// Fault is an injected misbehaviour, for the next Count mails (0: all).
type Fault struct {
	// Kind is "delay" (wait Delay before reading the data), "tempfail"
	// (451 after the data) or "reject" (554 after the data).
	Kind  string            `json:"kind"`
	Delay shepmock.Duration `json:"delay,omitempty"`
	Count int               `json:"count,omitempty"`
}

// Options configure a Mailbox.
type Options struct {
	// Username and Password, when set, are required through AUTH PLAIN.
	Username, Password string
	// TLS, when set, offers STARTTLS.
	TLS    *tls.Config
	Logger *slog.Logger
	// OnData is called when a mail's data starts (tests wait on it).
	OnData func()
	// Clock stamps received mails and times delay faults. Default: the
	// real clock.
	Clock clockwork.Clock
}

// Mailbox is the mock.
type Mailbox struct {
	o      Options
	smtp   *smtp.Server
	mu     sync.Mutex
	msgs   []Message
	faults []Fault
	log    *slog.Logger
}

// New returns a mailbox; Serve it on a listener.
func New(o Options) *Mailbox {
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	m := &Mailbox{o: o, log: o.Logger}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	s := smtp.NewServer(backend{m})
	s.Domain = "mailbox.kopir.test"
	s.MaxMessageBytes = 64 << 20
	s.MaxRecipients = 50
	s.ReadTimeout = time.Minute
	s.WriteTimeout = time.Minute
	s.TLSConfig = o.TLS
	// Plain-text AUTH only when there is no TLS to protect it: the mock
	// then stands for a local relay.
	s.AllowInsecureAuth = o.TLS == nil
	m.smtp = s
	return m
}

// Serve accepts SMTP connections on l until Close.
func (m *Mailbox) Serve(l net.Listener) error {
	err := m.smtp.Serve(l)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the SMTP server.
func (m *Mailbox) Close() error { return m.smtp.Close() }

// Messages are the mails accepted so far.
func (m *Mailbox) Messages() []Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	// Never nil: an empty mailbox is [] in JSON, not null.
	return append([]Message{}, m.msgs...)
}

// Inject adds a fault.
func (m *Mailbox) Inject(f Fault) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults = append(m.faults, f)
}

// take returns the fault for the next mail, if any.
func (m *Mailbox) take() (Fault, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.faults) == 0 {
		return Fault{}, false
	}
	f := m.faults[0]
	if f.Count > 0 {
		m.faults[0].Count--
		if m.faults[0].Count == 0 {
			m.faults = m.faults[1:]
		}
	}
	return f, true
}

func (m *Mailbox) store(from string, to []string, raw []byte) {
	msg := Message{From: from, To: to, Raw: raw, Size: len(raw), Received: m.o.Clock.Now()}
	if pm, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		msg.MessageID = strings.Trim(pm.Header.Get("Message-Id"), "<> ")
		msg.Subject, _ = new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, old := range m.msgs {
		if msg.MessageID != "" && old.MessageID == msg.MessageID {
			msg.Resend = true
		}
	}
	msg.Seq = len(m.msgs) + 1
	m.msgs = append(m.msgs, msg)
	m.log.Info("mail received", "seq", msg.Seq, "message_id", msg.MessageID, "size", msg.Size, "resend", msg.Resend)
}

type backend struct{ m *Mailbox }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{m: b.m}, nil }

type session struct {
	m      *Mailbox
	authed bool
	from   string
	to     []string
}

func (s *session) AuthMechanisms() []string {
	if s.m.o.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.m.o.Username || password != s.m.o.Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.m.o.Username != "" && !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	if s.m.o.OnData != nil {
		s.m.o.OnData()
	}
	f, faulty := s.m.take()
	if faulty && f.Kind == "delay" {
		// Before reading: a client that dies now has delivered nothing.
		s.m.o.Clock.Sleep(time.Duration(f.Delay))
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if faulty {
		switch f.Kind {
		case "tempfail":
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "mailbox busy, try later"}
		case "reject":
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "rejected"}
		}
	}
	s.m.store(s.from, s.to, raw)
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// Handler is the HTTP view: GET / (HTML), GET /messages (JSON),
// GET /messages/{seq}.eml, DELETE /messages, and /_control/faults
// (GET, POST a Fault, DELETE).
func (m *Mailbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page.Execute(w, m.Messages())
	})
	mux.HandleFunc("GET /messages", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, m.Messages())
	})
	mux.HandleFunc("DELETE /messages", func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.msgs = nil
		m.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /messages/{file}", func(w http.ResponseWriter, r *http.Request) {
		seq, err := strconv.Atoi(strings.TrimSuffix(r.PathValue("file"), ".eml"))
		msgs := m.Messages()
		if err != nil || seq < 1 || seq > len(msgs) {
			http.Error(w, "no such message", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "message/rfc822")
		w.Write(msgs[seq-1].Raw)
	})
	mux.HandleFunc("GET /_control/faults", func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		f := append([]Fault{}, m.faults...)
		m.mu.Unlock()
		writeJSON(w, http.StatusOK, f)
	})
	mux.HandleFunc("POST /_control/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			http.Error(w, "bad fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		switch f.Kind {
		case "delay", "tempfail", "reject":
		default:
			http.Error(w, fmt.Sprintf("fault kind %q is not delay, tempfail or reject", f.Kind), http.StatusBadRequest)
			return
		}
		m.Inject(f)
		writeJSON(w, http.StatusCreated, f)
	})
	mux.HandleFunc("DELETE /_control/faults", func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.faults = nil
		m.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Kopir mock mailbox</title>
<style>body{font:14px sans-serif;margin:2em}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}</style>
<h1>Mock mailbox</h1>
<p>{{len .}} message(s). JSON: <a href="/messages">/messages</a>.</p>
<table><tr><th>#</th><th>received</th><th>to</th><th>subject</th><th>Message-ID</th><th>size</th></tr>
{{range .}}<tr><td><a href="/messages/{{.Seq}}.eml">{{.Seq}}</a></td><td>{{.Received.Format "15:04:05"}}</td><td>{{range .To}}{{.}} {{end}}</td>
<td>{{.Subject}}{{if .Resend}} <b>(resend)</b>{{end}}</td><td><code>{{.MessageID}}</code></td><td>{{.Size}}</td></tr>
{{end}}</table>
</html>`))

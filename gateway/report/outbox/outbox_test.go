package outbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"image/png"
	"mime"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kopir/kopir/adapters/persons"
	"github.com/kopir/kopir/config/field"
	"github.com/kopir/kopir/gateway/internal/reporttest"
	"github.com/kopir/kopir/gateway/report"
	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/internal/mocktest"
	mailboxmock "github.com/kopir/kopir/mocks/mailbox"
	shepmock "github.com/kopir/kopir/mocks/shep"
	"github.com/kopir/kopir/signing/devpki"
)

// mailbox starts a mock mailbox on loopback and returns it with a sender
// for it.
func mailbox(t *testing.T, o mailboxmock.Options, cfg SMTPConfig) (*mailboxmock.Mailbox, *SMTP) {
	t.Helper()
	mb := mailboxmock.New(o)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLS == TLSImplicit {
		l = tls.NewListener(l, o.TLS) // TLS from the first byte, as on port 465
	}
	go mb.Serve(l)
	t.Cleanup(func() { mb.Close() })
	host, port, _ := net.SplitHostPort(l.Addr().String())
	cfg.Host = host
	cfg.Port, _ = strconv.Atoi(port)
	if cfg.TLS == "" {
		cfg.TLS = TLSNone
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	s, err := NewSMTP(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return mb, s
}

// secretFile is a password as configuration names it: a file.
func secretFile(t *testing.T, password string) field.Secret {
	p := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(p, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return field.Secret{File: p}
}

func open(t testing.TB, path string, s Sender, o Options) *Outbox {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "outbox.db")
	}
	if o.From == "" {
		o.From = "kopir@licensing.example.kz"
	}
	ob, err := Open(context.Background(), path, s, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob
}

var mailOptions = report.MailOptions{From: "kopir@licensing.example.kz"}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func sample(system, fault, app string) *report.Report {
	return &report.Report{
		Source: report.SourceBackend, System: system, Fault: fault, Error: "it broke", ErrorAt: time.Now(),
		App: exchange.AppContext{ServiceName: "Экспорт лицензиясы", ApplicationID: app, RecipientID: "050340000108",
			AuthorizedAt: time.Now().Add(-time.Minute)},
		Notes: []report.Note{{Text: "submitted the form"}},
	}
}

// TestEndToEnd: a fault injected in the mock SHEP reaches the mock mailbox
// as a report with all five items and decodable screenshots.
func TestEndToEnd(t *testing.T) {
	mb, sender := mailbox(t, mailboxmock.Options{}, SMTPConfig{})
	ob := open(t, "", sender, Options{Poll: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- ob.Run(ctx) }()
	defer func() { cancel(); <-done }()

	env := mocktest.New(t, nil, nil, ob)
	env.Mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultSOAP, Code: "E_DB", Message: "database down"})
	app := &exchange.AppContext{ServiceName: "Импорт лицензиясы", ApplicationID: "KZ-LIC-2026-00017",
		RecipientID: "880101300010", AuthorizedAt: time.Now().Add(-90 * time.Second)}
	p := persons.New(env.Client, persons.Config{SenderCode: "KOPIR"}, persons.Options{Verifier: env.PayloadVerifier})
	_, err := p.IdentityDocuments(exchange.WithApp(context.Background(), app), "880101300010")
	var xe *exchange.Error
	if !errors.As(err, &xe) || !xe.SystemFailure() {
		t.Fatalf("err = %v, want a system failure", err)
	}
	msgs := waitMail(t, mb, 1)
	msg, text, files := reporttest.Read(t, msgs[0].Raw)
	if msgs[0].To[0] != "sd@nitec.kz" {
		t.Errorf("to %v", msgs[0].To)
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if !strings.Contains(subj, "Импорт лицензиясы") || !strings.Contains(subj, "KZ-LIC-2026-00017") {
		t.Errorf("subject %q does not name the service and the application", subj)
	}
	for _, want := range []string{"1. Мемлекеттік", "Импорт лицензиясы", "2. Өтініштің", "ID KZ-LIC-2026-00017",
		"3. Көрсетілетін", "880101300010", "4. Қатенің", "(авторизация ", "5. Қатеге", "E_DB", "shep"} {
		if !strings.Contains(text, want) {
			t.Errorf("the mail lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "НЕ УКАЗАНО") {
		t.Errorf("items flagged missing:\n%s", text)
	}
	shots := 0
	for name, b := range files {
		if strings.HasSuffix(name, ".png") {
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if img.Bounds().Dx() < 800 || img.Bounds().Dy() < 200 {
				t.Errorf("%s is %v", name, img.Bounds())
			}
			shots++
		}
	}
	if shots != len(xe.Record.Steps) {
		t.Errorf("%d screenshots for %d steps", shots, len(xe.Record.Steps))
	}
	if x := string(files["r1-step1-request.xml"]); strings.Contains(x, "880101300010") || !strings.Contains(x, "0010") {
		t.Errorf("request evidence is not masked: %s", x)
	}
	es, err := ob.List(context.Background(), Filter{MessageID: xe.Record.MessageID})
	if err != nil || len(es) != 1 || es[0].State != StateDelivered {
		t.Fatalf("List by message id = %+v, %v", es, err)
	}
}

// TestBusinessAnswersAreNotReported: what the upstream answered is no
// failure of a digital system.
func TestBusinessAnswersAreNotReported(t *testing.T) {
	ob := open(t, "", nil, Options{})
	env := mocktest.New(t, nil, nil, ob)
	p := persons.New(env.Client, persons.Config{SenderCode: "KOPIR"}, persons.Options{Verifier: env.PayloadVerifier})
	env.Mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultSOAP, FaultCode: "Client", Code: "BAD_REQUEST", Count: 1})
	if _, err := p.IdentityDocuments(context.Background(), "880101300010"); err == nil {
		t.Fatal("a client fault succeeded")
	}
	if _, err := p.IdentityDocuments(context.Background(), "000000000000"); err == nil {
		t.Fatal("an unknown person was found")
	}
	if _, err := p.IdentityDocuments(context.Background(), "880101300010"); err != nil {
		t.Fatal(err)
	}
	if es, err := ob.List(context.Background(), Filter{}); err != nil || len(es) != 0 {
		t.Fatalf("reports = %d, %v; want none", len(es), err)
	}
	// Every system failure kind is reported.
	for _, fc := range mocktest.FaultCases {
		if fc.Class != exchange.ClassSystem {
			continue
		}
		t.Run(fc.Name, func(t *testing.T) {
			ob := open(t, "", nil, Options{})
			env := mocktest.New(t, nil, mocktest.FastTimeout, ob)
			env.Mock.AddFault(fc.Rule)
			persons.New(env.Client, persons.Config{SenderCode: "KOPIR"}, persons.Options{Verifier: env.PayloadVerifier}).IdentityDocuments(context.Background(), "880101300010")
			es, err := ob.List(context.Background(), Filter{})
			if err != nil || len(es) != 1 || es[0].Report.Fault != string(fc.Kind) {
				t.Fatalf("reports = %+v, %v", es, err)
			}
		})
	}
}

// TestFloodControl: while a system is down the desk gets one mail at once
// and then at most one a window, and every application is listed.
func TestFloodControl(t *testing.T) { eachDatabase(t, testFloodControl) }

func testFloodControl(t *testing.T, database string) {
	mb, sender := mailbox(t, mailboxmock.Options{}, SMTPConfig{})
	clk := clockwork.NewFakeClockAt(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	ob := open(t, database, sender, Options{Clock: clk, Config: Config{Window: 10 * time.Minute}})
	ctx := context.Background()
	accept := func(system, fault, app string) {
		t.Helper()
		if _, err := ob.Accept(ctx, sample(system, fault, app)); err != nil {
			t.Fatal(err)
		}
	}
	accept("shep", "timeout", "A-1")
	if n, err := ob.DeliverDue(ctx); n != 1 || err != nil {
		t.Fatalf("first report: delivered %d, %v; want at once", n, err)
	}
	for i := 2; i <= 40; i++ {
		accept("shep", "timeout", "A-"+strconv.Itoa(i))
		clk.Advance(5 * time.Second)
	}
	accept("shep", "fault", "B-1")     // another way of failing: its own incident, at once
	accept("payments", "timeout", "C") // another system: its own incident, at once
	if n, _ := ob.DeliverDue(ctx); n != 2 {
		t.Fatalf("delivered %d, want the two new incidents only", n)
	}
	clk.Advance(10*time.Minute - 39*5*time.Second - time.Second)
	if n, _ := ob.DeliverDue(ctx); n != 0 {
		t.Fatalf("delivered %d before the window ended", n)
	}
	clk.Advance(time.Second)
	if n, _ := ob.DeliverDue(ctx); n != 1 {
		t.Fatalf("delivered %d at the window's end, want 1", n)
	}
	msgs := mb.Messages()
	if len(msgs) != 4 {
		t.Fatalf("%d mails, want 4", len(msgs))
	}
	_, text, _ := reporttest.Read(t, msgs[3].Raw)
	for i := 2; i <= 40; i++ {
		if !strings.Contains(text, "ID A-"+strconv.Itoa(i)+"\n") {
			t.Errorf("application A-%d is not listed", i)
		}
	}
	if !strings.Contains(text, "Количество заявлений: 39") {
		t.Error("the incident mail does not count 39 applications")
	}
	ids := map[string]bool{}
	for _, m := range msgs {
		if ids[m.MessageID] || m.Resend {
			t.Errorf("Message-ID %s twice", m.MessageID)
		}
		ids[m.MessageID] = true
	}
}

// TestRefusedForGood: a relay's permanent refusal (5xx) ends the
// incident's retries in a state an operator sees (refused, counted in
// Stats); other incidents are delivered all the same; a resend after
// the cause is fixed delivers it.
func TestRefusedForGood(t *testing.T) { eachDatabase(t, testRefusedForGood) }

func testRefusedForGood(t *testing.T, database string) {
	mb, sender := mailbox(t, mailboxmock.Options{}, SMTPConfig{})
	clk := clockwork.NewFakeClockAt(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	ob := open(t, database, sender, Options{Clock: clk, Config: Config{BackoffMin: time.Minute, BackoffMax: 4 * time.Minute}})
	ctx := context.Background()
	mb.Inject(mailboxmock.Fault{Kind: "reject", Count: 1})
	bad := sample("shep", "http_status", "A-1")
	if _, err := ob.Accept(ctx, bad); err != nil {
		t.Fatal(err)
	}
	if n, _ := ob.DeliverDue(ctx); n != 0 {
		t.Fatal("delivered through a refusal")
	}
	good := sample("payments", "timeout", "A-2")
	if _, err := ob.Accept(ctx, good); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if n, err := ob.DeliverDue(ctx); n != 1 || err != nil {
		t.Fatalf("the other incident: delivered %d, %v", n, err)
	}
	e, _ := ob.Get(ctx, bad.ID)
	if e.State != StateRefused || e.Attempts != 1 || !strings.Contains(e.LastError, "554") {
		t.Fatalf("refused incident: %+v", e)
	}
	if st, _ := ob.Stats(ctx); st.Refused != 1 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
	if err := ob.Resend(ctx, bad.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := ob.DeliverDue(ctx); n != 1 || err != nil {
		t.Fatalf("resent: delivered %d, %v", n, err)
	}
	if e, _ := ob.Get(ctx, bad.ID); e.State != StateDelivered || len(mb.Messages()) != 2 {
		t.Fatalf("after resend: %+v, %d mails", e, len(mb.Messages()))
	}
}

// TestRetry: a relay that refuses for a while gets the same mail later.
func TestRetry(t *testing.T) { eachDatabase(t, testRetry) }

func testRetry(t *testing.T, database string) {
	mb, sender := mailbox(t, mailboxmock.Options{}, SMTPConfig{})
	clk := clockwork.NewFakeClockAt(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	ob := open(t, database, sender, Options{Clock: clk, Config: Config{BackoffMin: time.Minute, BackoffMax: 4 * time.Minute}})
	ctx := context.Background()
	mb.Inject(mailboxmock.Fault{Kind: "tempfail", Count: 3})
	r := sample("shep", "http_status", "A-1")
	if _, err := ob.Accept(ctx, r); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 3; attempt++ {
		if n, _ := ob.DeliverDue(ctx); n != 0 {
			t.Fatalf("attempt %d delivered through a refusing relay", attempt)
		}
		e, err := ob.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if e.State != StatePending || e.Attempts != attempt || e.LastError == "" {
			t.Fatalf("after attempt %d: %+v", attempt, e)
		}
		wait := e.NextAttempt.Sub(clk.Now())
		if max := time.Minute << (attempt - 1); wait < max/2 || wait > max {
			t.Errorf("attempt %d: retry in %v, want in [%v, %v]", attempt, wait, max/2, max)
		}
		if n, _ := ob.DeliverDue(ctx); n != 0 {
			t.Fatal("retried before the back-off")
		}
		clk.Advance(wait)
	}
	if n, err := ob.DeliverDue(ctx); n != 1 || err != nil {
		t.Fatalf("delivered %d, %v", n, err)
	}
	if len(mb.Messages()) != 1 {
		t.Fatalf("%d mails", len(mb.Messages()))
	}
	e, _ := ob.Get(ctx, r.ID)
	if e.State != StateDelivered || e.Attempts != 4 || e.LastError != "" || e.DeliveredAt.IsZero() {
		t.Errorf("%+v", e)
	}
	// A resend goes with the same Message-ID.
	if err := ob.Resend(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	ob.DeliverDue(ctx)
	msgs := mb.Messages()
	if len(msgs) != 2 || !msgs[1].Resend || msgs[1].MessageID != msgs[0].MessageID {
		t.Errorf("resend: %+v", msgs)
	}
	if err := ob.Resend(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resend(unknown) = %v", err)
	}
}

// TestRestart: a report accepted before a stop is delivered after it.
func TestRestart(t *testing.T) { eachDatabase(t, testRestart) }

func testRestart(t *testing.T, path string) {
	mb, sender := mailbox(t, mailboxmock.Options{}, SMTPConfig{})
	ob, err := Open(context.Background(), path, sender, Options{Config: Config{MailOptions: report.MailOptions{From: "kopir@example.kz"}}})
	if err != nil {
		t.Fatal(err)
	}
	r := sample("shep", "timeout", "A-1")
	r.Attachments = []report.Attachment{{Name: "screen.png", ContentType: "image/png", Data: []byte("\x89PNG not really")}}
	if _, err := ob.Accept(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	ob.Close()
	ob = open(t, path, sender, Options{})
	if n, err := ob.DeliverDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("after restart: delivered %d, %v", n, err)
	}
	_, _, files := reporttest.Read(t, mb.Messages()[0].Raw)
	if string(files["r1-backend1-screen.png"]) != "\x89PNG not really" {
		t.Errorf("the back end's screenshot did not survive: %q", files)
	}
}

func TestStartTLSAndAuth(t *testing.T) {
	ca, err := devpki.NewCA(devpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(devpki.ECDSAP256, devpki.Subject{CommonName: "mailbox", DNSNames: []string{"localhost"}}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	srvTLS := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Chain[0].Raw}, PrivateKey: leaf.Key}}}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, tc := range []struct {
		name     string
		password string
		ok       bool
	}{{"good password", "s3cret", true}, {"bad password", "wrong", false}} {
		t.Run(tc.name, func(t *testing.T) {
			mb, sender := mailbox(t, mailboxmock.Options{Username: "kopir", Password: "s3cret", TLS: srvTLS},
				SMTPConfig{TLS: TLSStartTLS, Username: "kopir", Password: secretFile(t, tc.password), TLSConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}})
			ob := open(t, "", sender, Options{})
			ob.Accept(context.Background(), sample("shep", "timeout", "A-1"))
			n, _ := ob.DeliverDue(context.Background())
			if got := n == 1 && len(mb.Messages()) == 1; got != tc.ok {
				t.Errorf("delivered = %v, want %v", got, tc.ok)
			}
		})
	}
	// Implicit TLS (port 465 style), with AUTH inside it.
	mb, sender := mailbox(t, mailboxmock.Options{Username: "kopir", Password: "s3cret", TLS: srvTLS},
		SMTPConfig{TLS: TLSImplicit, Username: "kopir", Password: secretFile(t, "s3cret"), TLSConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}})
	ob := open(t, "", sender, Options{})
	ob.Accept(context.Background(), sample("shep", "timeout", "A-1"))
	if n, err := ob.DeliverDue(context.Background()); n != 1 || len(mb.Messages()) != 1 {
		t.Errorf("implicit TLS: delivered %d, %v", n, err)
	}
	// A relay whose certificate the sender does not trust gets nothing.
	mb, sender = mailbox(t, mailboxmock.Options{TLS: srvTLS},
		SMTPConfig{TLS: TLSImplicit, TLSConfig: &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "localhost"}})
	ob = open(t, "", sender, Options{})
	ob.Accept(context.Background(), sample("shep", "timeout", "A-1"))
	if n, _ := ob.DeliverDue(context.Background()); n != 0 || len(mb.Messages()) != 0 {
		t.Error("sent to an untrusted relay")
	}
	// No TLS offered: a STARTTLS-mandatory sender refuses to send.
	mb, sender = mailbox(t, mailboxmock.Options{}, SMTPConfig{TLS: TLSStartTLS, TLSConfig: &tls.Config{RootCAs: roots}})
	ob = open(t, "", sender, Options{})
	ob.Accept(context.Background(), sample("shep", "timeout", "A-1"))
	if n, _ := ob.DeliverDue(context.Background()); n != 0 || len(mb.Messages()) != 0 {
		t.Error("sent in clear text to a relay without STARTTLS")
	}
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	ob := open(t, path, nil, Options{})
	ob.Close()
	ob = open(t, path, nil, Options{}) // a second open migrates nothing
	ob.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	var v int
	db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	if v != SchemaVersion() {
		t.Errorf("schema version %d, want %d", v, SchemaVersion())
	}
	db.Exec(`INSERT INTO schema_migrations VALUES (?, 0)`, SchemaVersion()+1)
	db.Close()
	if _, err := Open(context.Background(), path, nil, Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("a newer database opened: %v", err)
	}
}

func TestAcceptRefusesAnonymousFailures(t *testing.T) {
	ob := open(t, "", nil, Options{})
	if _, err := ob.Accept(context.Background(), &report.Report{Fault: "x"}); err == nil {
		t.Error("a report without a system accepted")
	}
}

func waitMail(t *testing.T, mb *mailboxmock.Mailbox, n int) []mailboxmock.Message {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := mb.Messages(); len(m) >= n {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the mailbox did not receive %d mail(s)", n)
	return nil
}

// TestOneIncidentPerOutage: once a failure opened the breaker, the calls
// it refuses are no reports of their own: they are counted into that
// failure's incident, and its one mail says how many there were.
func TestOneIncidentPerOutage(t *testing.T) {
	mb, sender := mailbox(t, mailboxmock.Options{}, SMTPConfig{})
	ob := open(t, "", sender, Options{})
	env := mocktest.New(t, nil, func(c *exchange.Config) { c.Attempts, c.Breaker.Failures = 1, 1 }, ob)
	env.Mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultSOAP, Code: "E_DB", Count: 1})
	p := persons.New(env.Client, persons.Config{SenderCode: "KOPIR"}, persons.Options{Verifier: env.PayloadVerifier})
	ctx := context.Background()
	for i := range 4 {
		var xe *exchange.Error
		if _, err := p.IdentityDocuments(ctx, "880101300010"); !errors.As(err, &xe) || i > 0 && xe.Kind != exchange.OutcomeBreakerOpen {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n, err := ob.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("delivered %d: %v", n, err)
	}
	msgs := waitMail(t, mb, 1)
	_, text, _ := reporttest.Read(t, msgs[0].Raw)
	if !strings.Contains(text, "пока длился сбой: 3") || !strings.Contains(text, "Количество заявлений: 1") {
		t.Fatalf("the mail does not count the refused calls:\n%s", text)
	}
	if es, _ := ob.List(ctx, Filter{}); len(es) != 1 {
		t.Fatalf("%d reports for one outage", len(es))
	}
	if len(mb.Messages()) != 1 {
		t.Fatalf("%d mails for one outage", len(mb.Messages()))
	}
}

// BenchmarkObserve: what an exchange's end costs its caller. A call an
// open breaker refused is counted in memory; a failure that reaches the
// system is written to the database first (the durable report). The
// ratio refused ÷ reported is in BENCHMARKS.md.
func BenchmarkObserve(b *testing.B) {
	ob := open(b, "", nil, Options{})
	for _, bc := range []struct {
		name string
		rec  *exchange.Record
	}{
		{"reported", &exchange.Record{System: "shep", ServiceID: "S", MessageID: "m", Outcome: exchange.OutcomeFault, SystemFailure: true,
			Started: time.Now(), Error: "fault"}},
		{"refused", &exchange.Record{System: "shep", ServiceID: "S", MessageID: "m", Outcome: exchange.OutcomeBreakerOpen, SystemFailure: true,
			Started: time.Now()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				ob.Observe(bc.rec)
			}
		})
	}
}

// TestIncidentsByFiler: reports of one system and fault filed by Kopir
// itself and by two back ends make three incidents: no back end's upload
// can hold another's, or Kopir's own, mail.
func TestIncidentsByFiler(t *testing.T) { eachDatabase(t, testIncidentsByFiler) }

func testIncidentsByFiler(t *testing.T, database string) {
	ob := open(t, database, nil, Options{})
	ctx := context.Background()
	incidents := map[string]string{}
	for _, filer := range []string{"", "importer", "exporter", "importer"} {
		r := sample("shep", "fault", "A-"+filer)
		r.Filer = filer
		id, err := ob.Accept(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := incidents[filer]; ok && prev != id {
			t.Fatalf("%q's second report opened another incident", filer)
		}
		incidents[filer] = id
	}
	if incidents[""] == incidents["importer"] || incidents["importer"] == incidents["exporter"] || incidents[""] == incidents["exporter"] {
		t.Fatalf("filers share incidents: %v", incidents)
	}
}

// BenchmarkFailFast: a whole call to a failing upstream, as a back end
// waits for it, the failure reported to the outbox: with the breaker
// closed (the call goes out, fails, its report is written) and open (the
// call is refused at once and counted). The ratio is in BENCHMARKS.md.
func BenchmarkFailFast(b *testing.B) {
	ob := open(b, "", nil, Options{})
	ctx := context.Background()
	call := func(env *mocktest.Env) error {
		_, err := persons.New(env.Client, persons.Config{SenderCode: "KOPIR"}, persons.Options{}).IdentityDocuments(ctx, "880101300010")
		return err
	}
	b.Run("closed", func(b *testing.B) {
		env := mocktest.New(b, nil, func(c *exchange.Config) { c.Attempts, c.Breaker.Failures = 1, 1<<30 }, ob)
		env.Mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultHTTP, Probability: 1})
		for b.Loop() {
			if call(env) == nil {
				b.Fatal("the failing upstream answered")
			}
		}
	})
	b.Run("open", func(b *testing.B) {
		env := mocktest.New(b, nil, func(c *exchange.Config) { c.Attempts, c.Breaker.Failures = 1, 1 }, ob)
		env.Mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultHTTP, Probability: 1})
		call(env) // opens it
		for b.Loop() {
			var xe *exchange.Error
			if err := call(env); !errors.As(err, &xe) || xe.Kind != exchange.OutcomeBreakerOpen {
				b.Fatalf("not refused by the breaker: %v", err)
			}
		}
	})
}

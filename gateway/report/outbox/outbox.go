// Package outbox keeps failure reports until the support desk has them: a
// report is written to an embedded SQLite database before it is
// acknowledged, grouped into incidents by the failed system and the way it
// failed (flood control), and mailed by a delivery loop that retries with
// back-off and resumes after a restart or a crash.
//
// The database is SQLite (pure Go, no server: the default) or PostgreSQL,
// which lets several Kopir replicas share one outbox: an incident is
// claimed for a lease before it is mailed, so one replica sends it, and a
// replica that dies mid-delivery leaves it to the others when the lease
// ends. One Kopir process owns one SQLite file.
package outbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL, for replicas sharing one outbox
	"github.com/jonboulle/clockwork"
	mail "github.com/wneessen/go-mail"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver: no cgo, one static binary

	"github.com/kopir/kopir/config/field"
	"github.com/kopir/kopir/gateway/pii"
	"github.com/kopir/kopir/gateway/report"
	"github.com/kopir/kopir/gateway/shep/exchange"
)

// Sender delivers one mail. *SMTP is the production one.
type Sender interface {
	Send(ctx context.Context, m *mail.Msg) error
}

// Config is the reports section of Kopir's configuration file: where
// reports are kept, how they are grouped, and how they are mailed.
type Config struct {
	// Database is the outbox's SQLite file. Default: kopir-outbox.db.
	Database string `yaml:"database"`
	// Postgres is where a postgres:// URL is (it holds a password): set,
	// the outbox is in PostgreSQL, shared by every replica, and Database
	// is unused. Default: unset (SQLite).
	Postgres field.Secret `yaml:"postgres"`
	// The mail: from, to, max_evidence.
	report.MailOptions `yaml:",inline"`
	// SMTP is the relay. Required.
	SMTP SMTPConfig `yaml:"smtp"`
	// Hold is how long the first report of an incident waits for others
	// before the mail goes. Default: 0s (at once, as the rules ask).
	Hold time.Duration `yaml:"hold"`
	// Window is the least time between two mails about the same system
	// failing the same way; reports in between go out together in the
	// next one. Default: 10m.
	Window time.Duration `yaml:"window"`
	// BackoffMin and BackoffMax bound the delay between delivery
	// attempts. Default: 5s and 10m.
	BackoffMin time.Duration `yaml:"backoff_min"`
	BackoffMax time.Duration `yaml:"backoff_max"`
	// MaxUploadBytes bounds a back end's report with its screenshots (the
	// API reads it). Default: 20971520 (20 MiB).
	MaxUploadBytes int64 `yaml:"max_upload_bytes"`
}

// SetDefaults fills what is unset with the defaults documented on Config.
func (c *Config) SetDefaults() {
	if c.Database == "" {
		c.Database = "kopir-outbox.db"
	}
	c.MailOptions.SetDefaults()
	c.SMTP.SetDefaults()
	if c.Window == 0 {
		c.Window = 10 * time.Minute
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = 5 * time.Second
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = 10 * time.Minute
	}
	if c.MaxUploadBytes == 0 {
		c.MaxUploadBytes = 20 << 20
	}
}

// Validate reports every problem of a defaulted Config, each named by its
// field.
func (c *Config) Validate(getenv func(string) string) error {
	var e field.Errors
	e.Nest("", c.MailOptions.Validate())
	e.Nest("smtp", c.SMTP.Validate(getenv))
	if c.Postgres.Set() {
		if u, err := c.Postgres.Resolve(getenv); err != nil {
			e.Add("postgres", "%v", err)
		} else if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
			e.Add("postgres", "not a postgres:// URL")
		}
	}
	if c.BackoffMin > c.BackoffMax {
		e.Add("backoff_min", "greater than backoff_max")
	}
	if c.Hold < 0 || c.Hold > c.Window {
		e.Add("hold", "must be within 0..window")
	}
	return e.Err()
}

// DatabaseURL is the outbox's database: the PostgreSQL URL when one is
// configured, else the SQLite file.
func (c *Config) DatabaseURL(getenv func(string) string) (string, error) {
	if c.Postgres.Set() {
		return c.Postgres.Resolve(getenv)
	}
	return c.Database, nil
}

// Options configure an Outbox: its Config, and what is injected.
type Options struct {
	Config
	// Poll is how often the loop looks for due incidents when nothing
	// wakes it. Default: 5s.
	Poll   time.Duration
	Logger *slog.Logger
	// Clock gives the time and the timers between delivery passes.
	// Default: the real clock.
	Clock clockwork.Clock
	// Observer hears of every delivery attempt (metrics).
	Observer Observer
}

// Observer hears what the outbox does.
type Observer interface {
	Accepted(r *report.Report)
	Delivered(inc *report.Incident, lag time.Duration)
	DeliveryFailed(inc *report.Incident, err error)
}

// Outbox is the durable store and delivery of failure reports.
type Outbox struct {
	db     *sql.DB
	pg     bool   // PostgreSQL, else SQLite
	owner  string // this process, in claims
	o      Options
	sender Sender
	log    *slog.Logger
	clock  clockwork.Clock
	wake   chan struct{}
	mu     sync.Mutex // serialises delivery passes (Run and Drain)

	refusedMu sync.Mutex
	refused   map[string]int64 // calls refused by open breakers, by system, not yet counted in
}

// State is where a report is on its way to the desk.
type State string

// States.
const (
	StatePending   State = "pending"
	StateDelivered State = "delivered"
	// StateRefused is an incident the relay refused for good (an SMTP 5xx
	// reply): retrying would only be refused again and hold the queue.
	// An operator sees it (metric, alert, kopir reports) and resends it
	// once the cause is fixed.
	StateRefused State = "refused"
)

// Open opens (creating and migrating) the outbox database: a PostgreSQL
// URL (postgres://…) or the path of a SQLite file.
func Open(ctx context.Context, database string, sender Sender, o Options) (*Outbox, error) {
	if database == "" {
		return nil, errors.New("outbox: no database")
	}
	pg := strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
	var db *sql.DB
	var err error
	if pg {
		db, err = sql.Open("pgx", database)
	} else {
		// FULL synchronous: an accepted report survives power loss, not
		// just a crash. busy_timeout: `kopir reports` may write from
		// another process. immediate: a transaction that will write takes
		// the lock when it begins, so two never deadlock upgrading.
		db, err = sql.Open("sqlite", "file:"+database+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"+
			"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_txlock=immediate")
		if err == nil {
			db.SetMaxOpenConns(1)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	ob := &Outbox{db: db, pg: pg, owner: newID(), clock: o.Clock, refused: map[string]int64{}}
	if err := ob.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if !pg {
		// The file has one owner: claims in it are a dead process's.
		if _, err := db.ExecContext(ctx, `UPDATE incidents SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by IS NOT NULL`); err != nil {
			db.Close()
			return nil, fmt.Errorf("outbox: %w", err)
		}
	}
	o.Config.SetDefaults()
	if o.Poll == 0 {
		o.Poll = 5 * time.Second
	}
	ob.o, ob.sender, ob.log, ob.clock, ob.wake = o, sender, o.Logger, o.Clock, make(chan struct{}, 1)
	if ob.log == nil {
		ob.log = slog.New(slog.DiscardHandler)
	}
	return ob, nil
}

// Close closes the database.
func (ob *Outbox) Close() error {
	// Refused calls still in memory go to their incidents, for the record.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ob.flushRefused(ctx); err != nil {
		ob.log.Warn("outbox: counting refused calls at close", "error", err)
	}
	return ob.db.Close()
}

// Ping checks the database answers, for readiness.
func (ob *Outbox) Ping(ctx context.Context) error { return ob.db.PingContext(ctx) }

func newID() string {
	var b [10]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// q writes a query for the database: PostgreSQL numbers its parameters.
func (ob *Outbox) q(query string) string {
	if !ob.pg {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64)
}

// Accept stores a report and files it under its incident; when it returns
// nil the report will be delivered, whatever happens to this process.
// It fills in r.ID and r.Received.
func (ob *Outbox) Accept(ctx context.Context, r *report.Report) (incidentID string, err error) {
	if r.System == "" || r.Fault == "" {
		return "", errors.New("outbox: a report names the system that failed and how")
	}
	now := ob.clock.Now()
	r.ID, r.Received = newID(), now
	body, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("outbox: %w", err)
	}
	err = ob.tx(ctx, func(tx *sql.Tx) error {
		if ob.pg {
			// Replicas filing the same failure at once must agree on one
			// open incident: serialise per (system, fault).
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, r.System+"\x1f"+r.Fault+"\x1f"+r.Filer); err != nil {
				return err
			}
		}
		err := tx.QueryRowContext(ctx, ob.q(`SELECT id FROM incidents WHERE system = ? AND fault = ? AND filer = ? AND sealed_at IS NULL
			ORDER BY opened_at DESC LIMIT 1`), r.System, r.Fault, r.Filer).Scan(&incidentID)
		if errors.Is(err, sql.ErrNoRows) {
			var last sql.NullInt64
			if err := tx.QueryRowContext(ctx, ob.q(`SELECT MAX(sealed_at) FROM incidents WHERE system = ? AND fault = ? AND filer = ?`),
				r.System, r.Fault, r.Filer).Scan(&last); err != nil {
				return err
			}
			due := now.Add(ob.o.Hold)
			if next := fromMS(last).Add(ob.o.Window); last.Valid && next.After(due) {
				due = next
			}
			incidentID = newID()
			_, err = tx.ExecContext(ctx, ob.q(`INSERT INTO incidents (id, system, fault, filer, opened_at, state, next_attempt)
				VALUES (?, ?, ?, ?, ?, ?, ?)`), incidentID, r.System, r.Fault, r.Filer, ms(now), StatePending, ms(due))
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, ob.q(`INSERT INTO reports (id, incident_id, received_at, source, system, fault, message_id, body)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), r.ID, incidentID, ms(now), r.Source, r.System, r.Fault, r.MessageID, body); err != nil {
			return err
		}
		for i, a := range r.Attachments {
			if _, err := tx.ExecContext(ctx, ob.q(`INSERT INTO attachments (report_id, seq, name, content_type, data) VALUES (?, ?, ?, ?, ?)`),
				r.ID, i, a.Name, a.ContentType, a.Data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("outbox: accept: %w", err)
	}
	ob.log.LogAttrs(ctx, slog.LevelWarn, "failure report accepted", slog.String("report", r.ID), slog.String("incident", incidentID),
		slog.String("system", r.System), slog.String("fault", r.Fault), slog.String("recipient", pii.ID(r.App.RecipientID)))
	if ob.o.Observer != nil {
		ob.o.Observer.Accepted(r)
	}
	select {
	case ob.wake <- struct{}{}:
	default:
	}
	return incidentID, nil
}

// Observe makes the outbox an exchange.Observer: every exchange that ends
// as a failure of a digital system, after its retries, is reported.
// Business answers never are.
func (ob *Outbox) Observe(rec *exchange.Record) {
	if rec.Outcome == exchange.OutcomeBreakerOpen {
		// The breaker opened on a failure already reported: a refused
		// call is the same outage. Counted in memory (fail fast stays
		// fast: no write on the caller's goroutine), added to the open
		// incident before it is mailed.
		ob.refusedMu.Lock()
		ob.refused[rec.System]++
		ob.refusedMu.Unlock()
		return
	}
	if !rec.SystemFailure {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := ob.Accept(ctx, report.FromRecord(rec)); err != nil {
		// Nowhere left to keep it: say everything the report would have,
		// masked, so an operator can still file it by hand.
		ob.log.LogAttrs(ctx, slog.LevelError, "failure report lost: the outbox refused it", slog.String("error", err.Error()),
			slog.String("system", rec.System), slog.String("service_id", rec.ServiceID), slog.String("message_id", rec.MessageID),
			slog.String("outcome", string(rec.Outcome)))
	}
}

func (ob *Outbox) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := ob.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// flushRefused adds the calls refused by open breakers to each system's
// open incident (or, when its mail has gone, its latest one, for the
// record); counts for a system with no incident wait for one.
func (ob *Outbox) flushRefused(ctx context.Context) error {
	ob.refusedMu.Lock()
	counts := ob.refused
	ob.refused = map[string]int64{}
	ob.refusedMu.Unlock()
	var errs []error
	for system, n := range counts {
		var id string
		err := ob.db.QueryRowContext(ctx, ob.q(`SELECT id FROM incidents WHERE system = ?
			ORDER BY (sealed_at IS NULL) DESC, opened_at DESC LIMIT 1`), system).Scan(&id)
		if err == nil {
			_, err = ob.db.ExecContext(ctx, ob.q(`UPDATE incidents SET refused_calls = refused_calls + ? WHERE id = ?`), n, id)
		}
		if err != nil {
			// Kept for the next pass.
			ob.refusedMu.Lock()
			ob.refused[system] += n
			ob.refusedMu.Unlock()
			if !errors.Is(err, sql.ErrNoRows) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Run delivers due incidents until ctx ends.
func (ob *Outbox) Run(ctx context.Context) error {
	for {
		if _, err := ob.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			ob.log.Error("outbox: delivery pass", "error", err)
		}
		wait := ob.o.Poll
		if next, ok := ob.nextDue(ctx); ok {
			if d := next.Sub(ob.clock.Now()); d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		t := ob.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-ob.wake:
		case <-t.Chan():
		}
		t.Stop()
	}
}

func (ob *Outbox) nextDue(ctx context.Context) (time.Time, bool) {
	var next sql.NullInt64
	if err := ob.db.QueryRowContext(ctx, ob.q(`SELECT MIN(CASE WHEN claimed_until > next_attempt THEN claimed_until ELSE next_attempt END)
		FROM incidents WHERE state = ?`), StatePending).Scan(&next); err != nil || !next.Valid {
		return time.Time{}, false
	}
	return fromMS(next), true
}

// DeliverDue makes one attempt at every incident that is due and reports
// how many were delivered.
func (ob *Outbox) DeliverDue(ctx context.Context) (int, error) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	rows, err := ob.db.QueryContext(ctx, ob.q(`SELECT id FROM incidents WHERE state = ? AND next_attempt <= ?
		AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY next_attempt LIMIT 50`), StatePending, ms(ob.clock.Now()), ms(ob.clock.Now()))
	if err != nil {
		return 0, fmt.Errorf("outbox: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if err := ob.deliver(ctx, id); err == nil {
			n++
		}
	}
	return n, nil
}

// Drain delivers what is due now, for a graceful shutdown: it stops when
// nothing due is left, or when ctx ends. Undelivered reports stay stored.
func (ob *Outbox) Drain(ctx context.Context) error {
	for {
		n, err := ob.DeliverDue(ctx)
		if err != nil {
			return err
		}
		var left int
		if err := ob.db.QueryRowContext(ctx, ob.q(`SELECT COUNT(*) FROM incidents WHERE state = ? AND next_attempt <= ?`),
			StatePending, ms(ob.clock.Now())).Scan(&left); err != nil {
			return err
		}
		if left == 0 || n == 0 {
			return nil
		}
	}
}

// deliver seals an incident (no report joins it after this) and mails it.
func (ob *Outbox) deliver(ctx context.Context, id string) error {
	if err := ob.flushRefused(ctx); err != nil {
		ob.log.Warn("outbox: counting refused calls", "error", err)
	}
	now := ob.clock.Now()
	// Seal it and claim it for a lease: one replica mails it; if that one
	// dies, the lease ends and another does. Sealing takes Accept's lock,
	// so a report is either in before the seal or in a new incident.
	claimed := false
	err := ob.tx(ctx, func(tx *sql.Tx) error {
		if ob.pg {
			var system, fault, filer string
			if err := tx.QueryRowContext(ctx, `SELECT system, fault, filer FROM incidents WHERE id = $1`, id).Scan(&system, &fault, &filer); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, system+"\x1f"+fault+"\x1f"+filer); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, ob.q(`UPDATE incidents SET sealed_at = COALESCE(sealed_at, ?), claimed_by = ?, claimed_until = ?
			WHERE id = ? AND state = ? AND (claimed_until IS NULL OR claimed_until < ?)`),
			ms(now), ob.owner, ms(now.Add(ob.o.SMTP.Timeout+leaseMargin)), id, StatePending, ms(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	if err != nil {
		return err
	}
	if !claimed {
		return errClaimed
	}
	inc, err := ob.incident(ctx, id, true)
	if err != nil {
		return err
	}
	m, err := report.Compose(inc, ob.o.MailOptions)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, ob.o.SMTP.Timeout)
		err = ob.sender.Send(sctx, m)
		cancel()
	}
	if err != nil && permanent(err) {
		if _, dbErr := ob.db.ExecContext(context.WithoutCancel(ctx), ob.q(`UPDATE incidents SET state = ?, attempts = attempts + 1, last_error = ?,
			claimed_by = NULL, claimed_until = NULL WHERE id = ?`), StateRefused, pii.Text(err.Error()), id); dbErr != nil {
			return errors.Join(err, dbErr)
		}
		ob.log.Error("failure report refused by the relay for good: not retried; kopir reports resend after fixing the cause",
			"incident", id, "error", pii.Text(err.Error()))
		if ob.o.Observer != nil {
			ob.o.Observer.DeliveryFailed(inc, err)
		}
		return err
	}
	if err != nil {
		var attempts int
		ob.db.QueryRowContext(ctx, ob.q(`SELECT attempts FROM incidents WHERE id = ?`), id).Scan(&attempts)
		next := now.Add(ob.backoff(attempts))
		if _, dbErr := ob.db.ExecContext(context.WithoutCancel(ctx), ob.q(`UPDATE incidents SET attempts = attempts + 1, next_attempt = ?, last_error = ?,
			claimed_by = NULL, claimed_until = NULL WHERE id = ?`), ms(next), pii.Text(err.Error()), id); dbErr != nil {
			return errors.Join(err, dbErr)
		}
		ob.log.Warn("failure report not delivered yet", "incident", id, "attempt", attempts+1, "retry_at", next, "error", pii.Text(err.Error()))
		if ob.o.Observer != nil {
			ob.o.Observer.DeliveryFailed(inc, err)
		}
		return err
	}
	done := ob.clock.Now()
	if _, err := ob.db.ExecContext(context.WithoutCancel(ctx), ob.q(`UPDATE incidents SET state = ?, delivered_at = ?, attempts = attempts + 1, last_error = '',
		claimed_by = NULL, claimed_until = NULL WHERE id = ?`),
		StateDelivered, ms(done), id); err != nil {
		// Sent but not marked: it will be sent again with the same
		// Message-ID, which is how the desk recognises a resend.
		return err
	}
	lag := done.Sub(inc.Opened)
	ob.log.Info("failure report delivered", "incident", id, "reports", len(inc.Reports), "system", inc.System, "fault", inc.Fault, "lag", lag)
	if ob.o.Observer != nil {
		ob.o.Observer.Delivered(inc, lag)
	}
	return nil
}

// permanent says whether the relay refused a mail for good: an SMTP 5xx
// reply (552 too large, 554 rejected…).
func permanent(err error) bool {
	var se *mail.SendError
	return errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 && se.ErrorCode() < 600
}

// leaseMargin is how long past its send timeout a claim lasts.
const leaseMargin = 30 * time.Second

// errClaimed: another replica is delivering the incident.
var errClaimed = errors.New("outbox: claimed by another replica")

func (ob *Outbox) backoff(attempts int) time.Duration {
	d := float64(ob.o.BackoffMin) * math.Pow(2, float64(attempts))
	if d > float64(ob.o.BackoffMax) || math.IsInf(d, 0) {
		d = float64(ob.o.BackoffMax)
	}
	// Jitter in [d/2, d): replicas and restarts do not hammer the relay
	// in step.
	return time.Duration(d/2 + mrand.Float64()*d/2)
}

// incident loads an incident with its reports; withData loads the
// attachments' bytes too.
func (ob *Outbox) incident(ctx context.Context, id string, withData bool) (*report.Incident, error) {
	inc := &report.Incident{ID: id}
	var opened int64
	var sealed sql.NullInt64
	err := ob.db.QueryRowContext(ctx, ob.q(`SELECT system, fault, opened_at, sealed_at, refused_calls FROM incidents WHERE id = ?`), id).
		Scan(&inc.System, &inc.Fault, &opened, &sealed, &inc.RefusedCalls)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	inc.Opened, inc.Sealed = time.UnixMilli(opened), fromMS(sealed)
	if !sealed.Valid {
		inc.Sealed = ob.clock.Now()
	}
	rows, err := ob.db.QueryContext(ctx, ob.q(`SELECT body FROM reports WHERE incident_id = ? ORDER BY received_at, id`), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var r report.Report
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, fmt.Errorf("outbox: report in incident %s: %w", id, err)
		}
		inc.Reports = append(inc.Reports, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if withData {
		for _, r := range inc.Reports {
			if err := ob.loadAttachments(ctx, r); err != nil {
				return nil, err
			}
		}
	}
	return inc, nil
}

func (ob *Outbox) loadAttachments(ctx context.Context, r *report.Report) error {
	rows, err := ob.db.QueryContext(ctx, ob.q(`SELECT seq, data FROM attachments WHERE report_id = ? ORDER BY seq`), r.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int
		var data []byte
		if err := rows.Scan(&seq, &data); err != nil {
			return err
		}
		if seq < len(r.Attachments) {
			r.Attachments[seq].Data = data
		}
	}
	return rows.Err()
}

// ErrNotFound is an unknown report or incident id.
var ErrNotFound = errors.New("outbox: no such report")

// Entry is a stored report with where it is on its way.
type Entry struct {
	Report      *report.Report `json:"report"`
	Incident    string         `json:"incident"`
	State       State          `json:"state"`
	Attempts    int            `json:"attempts"`
	LastError   string         `json:"last_error,omitempty"`
	NextAttempt time.Time      `json:"next_attempt,omitzero"`
	DeliveredAt time.Time      `json:"delivered_at,omitzero"`
	// Reports is how many reports share the incident's mail.
	Reports int `json:"incident_reports"`
}

// Filter selects reports. Zero fields select everything.
type Filter struct {
	State      State
	System     string
	MessageID  string
	From, To   time.Time // received in [From, To)
	Limit      int       // default 100, at most 1000
	BeforeID   string    // paging: reports received before this one
	IncidentID string
	ReportID   string
}

// List returns reports, newest first.
func (ob *Outbox) List(ctx context.Context, f Filter) ([]Entry, error) {
	q := `SELECT r.body, i.id, i.state, i.attempts, i.last_error, i.next_attempt, i.delivered_at,
		(SELECT COUNT(*) FROM reports x WHERE x.incident_id = i.id)
		FROM reports r JOIN incidents i ON i.id = r.incident_id WHERE 1 = 1`
	var args []any
	add := func(cond string, v any) { q += " AND " + cond; args = append(args, v) }
	if f.State != "" {
		add("i.state = ?", f.State)
	}
	if f.System != "" {
		add("r.system = ?", f.System)
	}
	if f.MessageID != "" {
		add("r.message_id = ?", f.MessageID)
	}
	if f.IncidentID != "" {
		add("i.id = ?", f.IncidentID)
	}
	if f.ReportID != "" {
		add("r.id = ?", f.ReportID)
	}
	if !f.From.IsZero() {
		add("r.received_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		add("r.received_at < ?", ms(f.To))
	}
	if f.BeforeID != "" {
		add("(r.received_at, r.id) < (SELECT received_at, id FROM reports WHERE id = ?)", f.BeforeID)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = min(max(f.Limit, 100), 1000)
	}
	q += " ORDER BY r.received_at DESC, r.id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := ob.db.QueryContext(ctx, ob.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("outbox: list: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var (
			e          Entry
			body       []byte
			next, done sql.NullInt64
		)
		if err := rows.Scan(&body, &e.Incident, &e.State, &e.Attempts, &e.LastError, &next, &done, &e.Reports); err != nil {
			return nil, err
		}
		e.Report = new(report.Report)
		if err := json.Unmarshal(body, e.Report); err != nil {
			return nil, err
		}
		e.DeliveredAt = fromMS(done)
		if e.State == StatePending {
			e.NextAttempt = fromMS(next)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Get returns one report.
func (ob *Outbox) Get(ctx context.Context, id string) (*Entry, error) {
	es, err := ob.List(ctx, Filter{ReportID: id, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, ErrNotFound
	}
	r := es[0].Report
	if err := ob.loadAttachments(ctx, r); err != nil {
		return nil, err
	}
	return &es[0], nil
}

// Message is the mail that carries (or will carry) report id: the whole
// incident's mail, as sent.
func (ob *Outbox) Message(ctx context.Context, id string) (*mail.Msg, error) {
	var incident string
	err := ob.db.QueryRowContext(ctx, ob.q(`SELECT incident_id FROM reports WHERE id = ?`), id).Scan(&incident)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	inc, err := ob.incident(ctx, incident, true)
	if err != nil {
		return nil, err
	}
	return report.Compose(inc, ob.o.MailOptions)
}

// Resend queues the mail carrying report id to go again now, with the
// same Message-ID, whether or not it was delivered.
func (ob *Outbox) Resend(ctx context.Context, id string) error {
	res, err := ob.db.ExecContext(ctx, ob.q(`UPDATE incidents SET state = ?, next_attempt = ?, sealed_at = COALESCE(sealed_at, ?)
		WHERE id = (SELECT incident_id FROM reports WHERE id = ?)`), StatePending, ms(ob.clock.Now()), ms(ob.clock.Now()), id)
	if err != nil {
		return fmt.Errorf("outbox: resend: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	select {
	case ob.wake <- struct{}{}:
	default:
	}
	return nil
}

// Stats are the outbox's gauges.
type Stats struct {
	Pending, Delivered, Refused int
	// OldestPending is when the oldest undelivered report was received.
	OldestPending time.Time
}

// Stats counts reports by state.
func (ob *Outbox) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	var oldest sql.NullInt64
	err := ob.db.QueryRowContext(ctx, ob.q(`SELECT
		COALESCE(SUM(CASE WHEN i.state = 'pending' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN i.state = 'delivered' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN i.state = 'refused' THEN 1 ELSE 0 END), 0),
		MIN(CASE WHEN i.state = 'pending' THEN r.received_at END)
		FROM reports r JOIN incidents i ON i.id = r.incident_id`)).Scan(&s.Pending, &s.Delivered, &s.Refused, &oldest)
	s.OldestPending = fromMS(oldest)
	return s, err
}

// migrations are applied in order, each once; a database newer than this
// code is refused rather than guessed at. Each is written for SQLite; for
// PostgreSQL, integer columns (Unix milliseconds) are BIGINT and blobs
// BYTEA.
var migrations = []string{
	1: `CREATE TABLE incidents (
		id TEXT PRIMARY KEY,
		system TEXT NOT NULL,
		fault TEXT NOT NULL,
		opened_at INTEGER NOT NULL,
		sealed_at INTEGER,
		state TEXT NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0,
		next_attempt INTEGER NOT NULL,
		last_error TEXT NOT NULL DEFAULT '',
		delivered_at INTEGER
	);
	CREATE INDEX incidents_due ON incidents (state, next_attempt);
	CREATE INDEX incidents_key ON incidents (system, fault, sealed_at);
	CREATE TABLE reports (
		id TEXT PRIMARY KEY,
		incident_id TEXT NOT NULL REFERENCES incidents (id),
		received_at INTEGER NOT NULL,
		source TEXT NOT NULL,
		system TEXT NOT NULL,
		fault TEXT NOT NULL,
		message_id TEXT NOT NULL DEFAULT '',
		body BLOB NOT NULL
	);
	CREATE INDEX reports_incident ON reports (incident_id);
	CREATE INDEX reports_received ON reports (received_at, id);
	CREATE INDEX reports_message ON reports (message_id);
	CREATE TABLE attachments (
		report_id TEXT NOT NULL REFERENCES reports (id),
		seq INTEGER NOT NULL,
		name TEXT NOT NULL,
		content_type TEXT NOT NULL,
		data BLOB NOT NULL,
		PRIMARY KEY (report_id, seq)
	);`,
	// 2: delivery claims, so that replicas sharing a database send each
	// incident once.
	2: `ALTER TABLE incidents ADD COLUMN claimed_by TEXT;
	ALTER TABLE incidents ADD COLUMN claimed_until INTEGER;`,
	// 3: calls refused by an open breaker, counted into the outage's
	// incident instead of reported one by one.
	3: `ALTER TABLE incidents ADD COLUMN refused_calls INTEGER NOT NULL DEFAULT 0;`,
	// 4: who filed an incident's reports (Kopir itself, or a back end):
	// part of its key, so no back end floods another's incidents.
	4: `ALTER TABLE incidents ADD COLUMN filer TEXT NOT NULL DEFAULT '';
	CREATE INDEX incidents_filer_key ON incidents (system, fault, filer, sealed_at);`,
}

// SchemaVersion is the version this code migrates to.
func SchemaVersion() int { return len(migrations) - 1 }

// pgTypes turns a SQLite migration into PostgreSQL's.
var pgTypes = strings.NewReplacer(" INTEGER", " BIGINT", " BLOB", " BYTEA")

func (ob *Outbox) migrate(ctx context.Context) error {
	for {
		done, err := ob.migrateOne(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// migrateOne applies the next migration, if any, in a transaction that
// on PostgreSQL holds a lock, so replicas starting together migrate once.
func (ob *Outbox) migrateOne(ctx context.Context) (done bool, err error) {
	tx, err := ob.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("outbox: migrate: %w", err)
	}
	defer tx.Rollback()
	if ob.pg {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7262001)`); err != nil {
			return false, fmt.Errorf("outbox: migrate: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return false, fmt.Errorf("outbox: migrate: %w", err)
	}
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return false, fmt.Errorf("outbox: migrate: %w", err)
	}
	if have > SchemaVersion() {
		return false, fmt.Errorf("outbox: the database is at schema version %d, newer than this Kopir's %d", have, SchemaVersion())
	}
	if have == SchemaVersion() {
		return true, nil
	}
	v := have + 1
	m := migrations[v]
	if ob.pg {
		m = pgTypes.Replace(m)
	}
	for _, stmt := range strings.Split(m, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("outbox: migration %d: %w", v, err)
		}
	}
	if _, err := tx.ExecContext(ctx, ob.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), v, ob.clock.Now().UnixMilli()); err != nil {
		return false, fmt.Errorf("outbox: migration %d: %w", v, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("outbox: migration %d: %w", v, err)
	}
	return false, nil
}

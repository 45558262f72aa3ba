// Package notify receives the payments the digital-government payment
// gateway pushes (notificationPayment, protocol.md §8): a SOAP endpoint
// that verifies the pusher's WS-Security signature, keeps each payment
// durably — idempotent by its reference — and answers fee checks from
// what it kept (Store is adapters/payments' Ledger).
//
// The answer's shape and whether the gateway expects it signed are
// unconfirmed: Kopir answers notificationPaymentResponse, signed when it
// has a Signer.
package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL, shared by replicas
	_ "modernc.org/sqlite"

	"github.com/kopir/kopir/adapters"
	"github.com/kopir/kopir/adapters/payments"
	"github.com/kopir/kopir/gateway/pii"
	"github.com/kopir/kopir/signing"
)

// Store keeps notified payments in SQLite or PostgreSQL.
type Store struct {
	db *sql.DB
}

// Open opens (creating its table) the store in database: a PostgreSQL URL
// (postgres://…) or the path of a SQLite file, the outbox's own.
func Open(ctx context.Context, database string) (*Store, error) {
	var db *sql.DB
	var err error
	if strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://") {
		db, err = sql.Open("pgx", database)
	} else {
		// As the outbox opens it: a payment accepted survives power loss.
		db, err = sql.Open("sqlite", "file:"+database+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)")
		if err == nil {
			db.SetMaxOpenConns(1)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	if _, err = db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS kopir_payment_notifications (
		reference   TEXT PRIMARY KEY,
		payer       TEXT NOT NULL,
		received_at BIGINT NOT NULL,
		body        TEXT NOT NULL)`); err == nil {
		_, err = db.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS kopir_payment_notifications_payer ON kopir_payment_notifications (payer)`)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("notify: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// ErrConflict is a notification whose reference is known with other
// content: the first is kept.
var ErrConflict = errors.New("notify: this reference was notified with other content")

// Add keeps n, received at, and reports whether it is new. The same
// notification again is not new and not an error (the gateway repeats
// what it is not sure arrived); the same reference with other content is
// ErrConflict.
func (s *Store) Add(ctx context.Context, n *payments.Notification, at time.Time) (bool, error) {
	body, err := json.Marshal(n)
	if err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO kopir_payment_notifications (reference, payer, received_at, body)
		VALUES ($1, $2, $3, $4) ON CONFLICT (reference) DO NOTHING`, n.Reference, n.PayerIDN, at.UnixMilli(), string(body))
	if err != nil {
		return false, fmt.Errorf("notify: %w", err)
	}
	if added, err := res.RowsAffected(); err != nil || added == 1 {
		return added == 1, err
	}
	var kept string
	if err := s.db.QueryRowContext(ctx, `SELECT body FROM kopir_payment_notifications WHERE reference = $1`, n.Reference).Scan(&kept); err != nil {
		return false, fmt.Errorf("notify: %w", err)
	}
	if kept != string(body) {
		return false, ErrConflict
	}
	return false, nil
}

// ByPayer returns the payments notified for payer, oldest first.
func (s *Store) ByPayer(ctx context.Context, payer string) ([]payments.Payment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT body FROM kopir_payment_notifications WHERE payer = $1 ORDER BY received_at, reference`, payer)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	defer rows.Close()
	var out []payments.Payment
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("notify: %w", err)
		}
		var n payments.Notification
		if err := json.Unmarshal([]byte(body), &n); err != nil {
			return nil, fmt.Errorf("notify: a stored notification: %w", err)
		}
		out = append(out, n.Payment())
	}
	return out, rows.Err()
}

// ByID returns the payment notified with reference id, or
// adapters.ErrNotFound.
func (s *Store) ByID(ctx context.Context, id string) (*payments.Payment, error) {
	var body string
	err := s.db.QueryRowContext(ctx, `SELECT body FROM kopir_payment_notifications WHERE reference = $1`, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, adapters.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	var n payments.Notification
	if err := json.Unmarshal([]byte(body), &n); err != nil {
		return nil, fmt.Errorf("notify: a stored notification: %w", err)
	}
	p := n.Payment()
	return &p, nil
}

// Verifier checks the pusher's transport signature (*signing.Verifier).
type Verifier interface {
	Verify(envelope []byte) (*signing.Result, error)
}

// Signer signs Kopir's answer (*signing.Signer).
type Signer interface {
	Sign(ctx context.Context, envelope []byte) ([]byte, error)
}

// Options are a Receiver's collaborators and limits.
type Options struct {
	// Signer signs answers; nil answers unsigned.
	Signer Signer
	Logger *slog.Logger
	// MaxBytes bounds a notification. Default: 256 KiB.
	MaxBytes int64
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Observe, when set, hears each notification's outcome: stored,
	// duplicate, conflict, refused, failed.
	Observe func(outcome string)
}

// Receiver is the SOAP endpoint the payment gateway pushes to.
type Receiver struct {
	store  *Store
	verify Verifier
	o      Options
}

// NewReceiver returns a Receiver keeping notifications in store, taking
// only those verify accepts.
func NewReceiver(store *Store, verify Verifier, o Options) *Receiver {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 256 << 10
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Observe == nil {
		o.Observe = func(string) {}
	}
	return &Receiver{store: store, verify: verify, o: o}
}

// ServeHTTP takes one notification.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.fault(ctx, w, http.StatusMethodNotAllowed, "Client", "a notification is POSTed")
		return
	}
	if ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); ct != "text/xml" && ct != "application/xml" {
		r.fault(ctx, w, http.StatusUnsupportedMediaType, "Client", "a notification is SOAP 1.1, text/xml")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.o.MaxBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			r.fault(ctx, w, http.StatusRequestEntityTooLarge, "Client", fmt.Sprintf("a notification is at most %d bytes", r.o.MaxBytes))
		}
		return
	}
	log := r.o.Logger.With("component", "payment-notifications")
	verified, err := r.verify.Verify(body)
	if err != nil {
		log.Warn("notification refused", "reason", err.Error())
		r.o.Observe("refused")
		r.fault(ctx, w, http.StatusInternalServerError, "Client", "the signature: "+err.Error())
		return
	}
	n, err := payments.ParseNotification(verified.Body)
	if err != nil {
		log.Warn("notification refused", "reason", pii.Text(err.Error()))
		r.o.Observe("refused")
		r.fault(ctx, w, http.StatusInternalServerError, "Client", pii.Text(err.Error()))
		return
	}
	log = log.With("reference", n.Reference, "payer", pii.ID(n.PayerIDN), "signer", verified.Identity.String())
	added, err := r.store.Add(ctx, n, r.o.Now())
	switch {
	case errors.Is(err, ErrConflict):
		log.Warn("notification conflicts with the one kept for its reference")
		r.o.Observe("conflict")
		r.fault(ctx, w, http.StatusInternalServerError, "Client", "reference "+n.Reference+" was notified with other content")
		return
	case err != nil:
		// Not kept: a Server fault, so that the gateway sends it again.
		log.Error("notification not kept", "err", err)
		r.o.Observe("failed")
		r.fault(ctx, w, http.StatusInternalServerError, "Server", "not kept; send it again")
		return
	case added:
		log.Info("payment notified", "amount", n.Amount.String(), "kbk", n.KBK)
		r.o.Observe("stored")
	default:
		r.o.Observe("duplicate")
	}
	r.answer(ctx, w, http.StatusOK, `<ns:notificationPaymentResponse xmlns:ns="`+payments.NotificationNamespace+
		`"><reference>`+adapters.Escape(n.Reference)+`</reference><result>OK</result></ns:notificationPaymentResponse>`)
}

func (r *Receiver) fault(ctx context.Context, w http.ResponseWriter, status int, code, msg string) {
	r.answer(ctx, w, status, `<soap:Fault><faultcode>soap:`+code+`</faultcode><faultstring>`+adapters.Escape(msg)+`</faultstring></soap:Fault>`)
}

func (r *Receiver) answer(ctx context.Context, w http.ResponseWriter, status int, content string) {
	env := []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` + content + `</soap:Body></soap:Envelope>`)
	if r.o.Signer != nil {
		if signed, err := r.o.Signer.Sign(ctx, env); err == nil {
			env = signed
		} else {
			r.o.Logger.Error("signing the answer to a notification", "err", err)
		}
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	w.Write(env)
}

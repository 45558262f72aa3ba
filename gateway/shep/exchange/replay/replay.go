// Package replay is a memory of answers' signatures that replicas share,
// in PostgreSQL: SHEP signs its answers without a Timestamp, so what keeps
// a captured answer from being played again is that its signature has
// been seen, and a replica must know what the others have seen.
//
// The exchange keeps a memory of its own in the process; this one is
// configured where replicas already share a database (reports.postgres).
package replay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL
)

// pruneEvery is how many signatures are recorded between two deletions of
// those past every window.
const pruneEvery = 1000

// Postgres remembers signatures in a PostgreSQL table. It is safe for
// concurrent use, across processes too.
type Postgres struct {
	db    *sql.DB
	count atomic.Uint64
}

// OpenPostgres connects to url (postgres://…) and makes the table if it
// is not there.
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS kopir_replay (
		signature BYTEA PRIMARY KEY,
		seen_at   TIMESTAMPTZ NOT NULL)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("replay: %w", err)
	}
	return &Postgres{db: db}, nil
}

// First records key (a signature's hash) as seen at now and reports
// whether it is new: not seen within window before now. One statement, so
// that two replicas given the same answer at once cannot both take it as
// new.
func (p *Postgres) First(ctx context.Context, key [32]byte, now time.Time, window time.Duration) (bool, error) {
	res, err := p.db.ExecContext(ctx, `INSERT INTO kopir_replay (signature, seen_at) VALUES ($1, $2)
		ON CONFLICT (signature) DO UPDATE SET seen_at = EXCLUDED.seen_at
		WHERE kopir_replay.seen_at <= $3`, key[:], now.UTC(), now.Add(-window).UTC())
	if err != nil {
		return false, fmt.Errorf("replay: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("replay: %w", err)
	}
	if p.count.Add(1)%pruneEvery == 0 {
		// Signatures older than the window are new again anyway; a
		// failed prune is retried at the next turn.
		p.db.ExecContext(ctx, `DELETE FROM kopir_replay WHERE seen_at <= $1`, now.Add(-window).UTC())
	}
	return n == 1, nil
}

// Close closes the connection pool.
func (p *Postgres) Close() error {
	if p == nil || p.db == nil {
		return errors.New("replay: not open")
	}
	return p.db.Close()
}

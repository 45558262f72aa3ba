package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kopir/kopir/gateway/internal/reporttest"
	"github.com/kopir/kopir/gateway/report"
	"github.com/kopir/kopir/internal/pgtest"
	mailboxmock "github.com/kopir/kopir/mocks/mailbox"
)

// eachDatabase runs f on a fresh SQLite file and, when KOPIR_TEST_POSTGRES
// names a PostgreSQL server (CI's does), on a fresh PostgreSQL schema.
func eachDatabase(t *testing.T, f func(t *testing.T, database string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, filepath.Join(t.TempDir(), "outbox.db")) })
	t.Run("postgres", func(t *testing.T) { f(t, postgres(t)) })
}

// postgres makes a schema of its own for the test and returns a URL whose
// connections use it.
func postgres(t *testing.T) string { return pgtest.Schema(t) }

// TestReplicasShareOutbox: two Kopir replicas on one PostgreSQL outbox,
// accepting and delivering at the same time, mail every incident once and
// list every application.
func TestReplicasShareOutbox(t *testing.T) {
	database := postgres(t)
	mb, sender := mailbox(t, mailboxmock.Options{}, SMTPConfig{})
	clk := clockwork.NewFakeClockAt(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	replicas := []*Outbox{
		open(t, database, sender, Options{Clock: clk, Config: Config{Window: 10 * time.Minute}}),
		open(t, database, sender, Options{Clock: clk, Config: Config{Window: 10 * time.Minute}}),
	}
	ctx := context.Background()
	const perSystem = 20
	systems := []string{"shep", "payments", "elicense"}
	var wg sync.WaitGroup
	for i, sys := range systems {
		for j := range perSystem {
			wg.Add(1)
			go func() {
				defer wg.Done()
				app := fmt.Sprintf("%s-%02d", sys, j)
				if _, err := replicas[(i+j)%2].Accept(ctx, sample(sys, "timeout", app)); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	// Both deliver while the others accept.
	deliverAll := func() {
		var dw sync.WaitGroup
		for _, r := range replicas {
			dw.Add(1)
			go func() { defer dw.Done(); r.DeliverDue(ctx) }()
		}
		dw.Wait()
	}
	deliverAll()
	wg.Wait()
	deliverAll()
	clk.Advance(10 * time.Minute)
	deliverAll()
	deliverAll()

	st, err := replicas[0].Stats(ctx)
	if err != nil || st.Pending != 0 || st.Delivered != perSystem*len(systems) {
		t.Fatalf("stats %+v, %v", st, err)
	}
	seen := map[string]bool{}
	listed := map[string]int{}
	for _, m := range mb.Messages() {
		if seen[m.MessageID] {
			t.Errorf("incident %s mailed twice", m.MessageID)
		}
		seen[m.MessageID] = true
		_, text, _ := reporttest.Read(t, m.Raw)
		for _, sys := range systems {
			for j := range perSystem {
				if strings.Contains(text, fmt.Sprintf("ID %s-%02d\n", sys, j)) {
					listed[sys+strconv.Itoa(j)]++
				}
			}
		}
	}
	// Per system: one mail at once, one for the rest after the window
	// (or one for all, when every report arrived before the first went).
	if n := len(mb.Messages()); n < len(systems) || n > 2*len(systems) {
		t.Errorf("%d mails for %d systems", n, len(systems))
	}
	if len(listed) != perSystem*len(systems) {
		t.Errorf("%d applications listed of %d", len(listed), perSystem*len(systems))
	}
	for k, n := range listed {
		if n != 1 {
			t.Errorf("%s listed %d times", k, n)
		}
	}
}

// TestPostgresMigratesOnce: replicas starting together migrate once.
func TestPostgresMigratesOnce(t *testing.T) {
	database := postgres(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ob, err := Open(context.Background(), database, nil, Options{Config: Config{MailOptions: report.MailOptions{From: "k@example.kz"}}})
			if err == nil {
				ob.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	db, _ := sql.Open("pgx", database)
	defer db.Close()
	var n, v int
	if err := db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &v); err != nil || n != SchemaVersion() || v != SchemaVersion() {
		t.Errorf("%d migrations recorded, at %d: %v", n, v, err)
	}
}

// TestLeaseOfADeadReplica: an incident claimed by a replica that died is
// left alone until the claim's lease ends, then delivered by another.
func TestLeaseOfADeadReplica(t *testing.T) {
	database := postgres(t)
	mb, sender := mailbox(t, mailboxmock.Options{}, SMTPConfig{})
	clk := clockwork.NewFakeClockAt(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	live := open(t, database, sender, Options{Clock: clk, Config: Config{SMTP: SMTPConfig{Timeout: time.Minute}}})
	ctx := context.Background()
	if _, err := live.Accept(ctx, sample("shep", "timeout", "A-1")); err != nil {
		t.Fatal(err)
	}
	// The dead replica had sealed and claimed it for SendTimeout + margin.
	if _, err := live.db.Exec(`UPDATE incidents SET sealed_at = $1, claimed_by = 'dead', claimed_until = $2`,
		ms(clk.Now()), ms(clk.Now().Add(time.Minute+leaseMargin))); err != nil {
		t.Fatal(err)
	}
	if n, _ := live.DeliverDue(ctx); n != 0 || len(mb.Messages()) != 0 {
		t.Fatal("delivered an incident another replica holds")
	}
	clk.Advance(time.Minute + leaseMargin + time.Second)
	if n, err := live.DeliverDue(ctx); n != 1 || err != nil || len(mb.Messages()) != 1 {
		t.Fatalf("after the lease: %d, %v", n, err)
	}
}

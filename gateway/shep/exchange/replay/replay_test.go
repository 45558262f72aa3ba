package replay_test

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kopir/kopir/gateway/shep/exchange/replay"
	"github.com/kopir/kopir/internal/pgtest"
)

func open(t *testing.T, url string) *replay.Postgres {
	t.Helper()
	p, err := replay.OpenPostgres(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func key() [32]byte {
	var k [32]byte
	rand.Read(k[:])
	return k
}

// TestReplicasShareTheMemory: a signature one replica has seen is a
// replay to another within the window, and new again after it.
func TestReplicasShareTheMemory(t *testing.T) {
	url := pgtest.Schema(t)
	a, b := open(t, url), open(t, url)
	ctx, now, window := context.Background(), time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), 15*time.Minute
	k := key()
	for _, step := range []struct {
		store *replay.Postgres
		at    time.Duration
		first bool
	}{
		{a, 0, true},
		{b, time.Minute, false},
		{a, 14 * time.Minute, false},
		{b, 14*time.Minute + window, true}, // past the window of the last sighting
		{a, 14*time.Minute + window + time.Second, false},
	} {
		first, err := step.store.First(ctx, k, now.Add(step.at), window)
		if err != nil {
			t.Fatal(err)
		}
		if first != step.first {
			t.Fatalf("at +%s: first = %v, want %v", step.at, first, step.first)
		}
	}
	if first, _ := b.First(ctx, key(), now, window); !first {
		t.Fatal("another signature is not new")
	}
}

// TestOneWinner: replicas given the same answer at once: exactly one takes
// it as new.
func TestOneWinner(t *testing.T) {
	url := pgtest.Schema(t)
	stores := []*replay.Postgres{open(t, url), open(t, url), open(t, url)}
	k, now := key(), time.Now()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := stores[i%len(stores)].First(context.Background(), k, now, time.Minute)
			if err != nil {
				t.Error(err)
			}
			if first {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d replicas took the same signature as new", wins.Load())
	}
}

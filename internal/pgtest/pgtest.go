// Package pgtest gives tests a PostgreSQL schema of their own on the
// server KOPIR_TEST_POSTGRES names (CI starts one and sets it).
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL
)

// Schema makes a schema for the test, dropped when it ends, and returns a
// URL whose connections use it. Without KOPIR_TEST_POSTGRES the test is
// skipped, unless KOPIR_REQUIRE_TOOLS is set, where it fails.
func Schema(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("KOPIR_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("KOPIR_REQUIRE_TOOLS") == "1" {
			t.Fatal("KOPIR_TEST_POSTGRES is required: a postgres:// URL of a server the tests may write to")
		}
		t.Skip("KOPIR_TEST_POSTGRES unset: no PostgreSQL to test against")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	schema := "kopir_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("PostgreSQL at KOPIR_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", dsn)
		if err == nil {
			admin.Exec("DROP SCHEMA " + schema + " CASCADE")
			admin.Close()
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

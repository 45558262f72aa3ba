package access

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func sum(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestAdmit(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	certDER := []byte("a client certificate's DER")
	a, err := New([]Client{
		{Name: "importer", KeySHA256: []string{sum("key-1"), strings.ToUpper(sum("key-2"))}, Allow: []string{RightPersons, RightReport}, Rate: 1, Burst: 2},
		{Name: "ops", KeySHA256: []string{sum("key-ops")}, Allow: []string{RightAll}},
		{Name: "by-cert", CertSHA256: []string{sum(string(certDER))}, Allow: []string{RightPayments}},
	}, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	req := func(auth string) *http.Request {
		r, _ := http.NewRequest("GET", "/", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		return r
	}
	for _, tc := range []struct {
		name, auth, right string
		client            string
		status            int
	}{
		{"no credentials", "", RightPersons, "", 401},
		{"wrong key", "Bearer nope", RightPersons, "", 401},
		{"basic auth", "Basic a2V5LTE=", RightPersons, "", 401},
		{"key", "Bearer key-1", RightPersons, "importer", 0},
		{"second key, scheme in any case", "bearer key-2", RightPersons, "importer", 0},
		{"outside its rights", "Bearer key-1", RightReportsRead, "importer", 403},
		{"all rights", "Bearer key-ops", RightReportsRead, "ops", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, err := a.Admit(req(tc.auth), tc.right)
			var ae *Error
			switch {
			case tc.status == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.status != 0 && (!errors.As(err, &ae) || ae.Status != tc.status):
				t.Fatalf("err = %v, want %d", err, tc.status)
			}
			if client != tc.client {
				t.Errorf("client = %q, want %q", client, tc.client)
			}
		})
	}

	// Rate: burst 2 (two admitted above plus one refused for rights, which
	// still spent nothing: only admitted calls count), refill 1/s.
	clk.t = clk.t.Add(10 * time.Second)
	for i := range 2 {
		if _, err := a.Admit(req("Bearer key-1"), RightPersons); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	_, err = a.Admit(req("Bearer key-1"), RightPersons)
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != 429 || ae.RetryAfter <= 0 || ae.RetryAfter > time.Second {
		t.Fatalf("over the rate: %v", err)
	}
	if RetryAfterSeconds(ae.RetryAfter) != "1" {
		t.Errorf("Retry-After %s", RetryAfterSeconds(ae.RetryAfter))
	}
	clk.t = clk.t.Add(time.Second)
	if _, err := a.Admit(req("Bearer key-1"), RightPersons); err != nil {
		t.Fatalf("after a second: %v", err)
	}
	// Another client's budget is its own.
	if _, err := a.Admit(req("Bearer key-ops"), RightPersons); err != nil {
		t.Fatal(err)
	}

	// A verified client certificate names its client.
	r := req("")
	r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{Raw: certDER}}}}
	if c, err := a.Admit(r, RightPayments); err != nil || c != "by-cert" {
		t.Fatalf("certificate: %q %v", c, err)
	}
	// An unverified one names nobody.
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Raw: certDER}}}
	if _, err := a.Admit(r, RightPayments); err == nil {
		t.Fatal("an unverified certificate admitted")
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		clients []Client
		msg     string
	}{
		{"no name", []Client{{KeySHA256: []string{sum("k")}}}, "name"},
		{"twice", []Client{{Name: "a", KeySHA256: []string{sum("k")}}, {Name: "a", KeySHA256: []string{sum("j")}}}, "unique"},
		{"no credential", []Client{{Name: "a"}}, "no api_key_sha256"},
		{"bad hash", []Client{{Name: "a", KeySHA256: []string{"abc"}}}, "not a hex SHA-256"},
		{"a key, not its hash", []Client{{Name: "a", KeySHA256: []string{"kopir_secret"}}}, "not a hex SHA-256"},
		{"shared key", []Client{{Name: "a", KeySHA256: []string{sum("k")}}, {Name: "b", KeySHA256: []string{sum("k")}}}, "given to a"},
		{"unknown right", []Client{{Name: "a", KeySHA256: []string{sum("k")}, Allow: []string{"admin"}}}, "unknown right"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.clients, nil); err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want %q", err, tc.msg)
			}
		})
	}
}

func TestNewKey(t *testing.T) {
	k1, s1 := NewKey()
	k2, _ := NewKey()
	if k1 == k2 || !strings.HasPrefix(k1, "kopir_") || len(k1) < 40 || s1 != sum(k1) {
		t.Errorf("%q %q %q", k1, k2, s1)
	}
}

func TestServes(t *testing.T) {
	a, err := New([]Client{
		{Name: "exports", KeySHA256: []string{sum("k1")}, Allow: []string{RightAll}, Services: []string{"Экспорт лицензиясы"}},
		{Name: "any", KeySHA256: []string{sum("k2")}, Allow: []string{RightAll}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		client, service string
		ok              bool
	}{
		{"exports", "Экспорт лицензиясы", true},
		{"exports", " Экспорт лицензиясы ", true},
		{"exports", "Импорт лицензиясы", false},
		{"exports", "", false},
		{"any", "Импорт лицензиясы", true},
		{"any", "", true},
	} {
		err := a.Serves(tc.client, tc.service)
		var ae *Error
		if tc.ok != (err == nil) || !tc.ok && (!errors.As(err, &ae) || ae.Status != 403) {
			t.Errorf("Serves(%s, %q) = %v", tc.client, tc.service, err)
		}
	}
}

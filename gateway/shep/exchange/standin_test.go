package exchange_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/internal/tooltest"
	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/devpki"
)

// standIn is a SHEP nobody here wrote: its answers are protocol.md's
// shapes (testdata/standin-*.xml), signed by xmlsec1 in SHEP's layout —
// the Body only, no Timestamp, the key named by issuer and serial.
type standIn struct {
	t       *testing.T
	xmlsec1 string
	dir     string
	leaf    *devpki.Leaf

	mu   sync.Mutex
	mode string // ok, status, replay, unsigned_fault, html
	last []byte // the last signed answer, for replay
}

var messageIDRe = regexp.MustCompile(`<messageId>([^<]+)</messageId>`)

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	switch s.mode {
	case "html":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "<html><body><h1>500 Internal Server Error</h1></body></html>")
		return
	case "unsigned_fault":
		w.WriteHeader(http.StatusInternalServerError)
		w.Write(s.read("standin-fault.xml"))
		return
	case "replay":
		w.Write(s.last)
		return
	}
	m := messageIDRe.FindSubmatch(req)
	if m == nil {
		http.Error(w, "no messageId", http.StatusBadRequest)
		return
	}
	code, msg := "SCSS001", "Message has been processed successfully"
	if s.mode == "status" {
		code, msg = "SE_GBD_UNAVAILABLE", "State database unavailable"
	}
	cert := s.leaf.Chain[0]
	answer := strings.NewReplacer("BODY_ID", "id-"+newID(), "RESPONSE_ID", newID(), "CORRELATION_ID", string(m[1]),
		"STATUS_CODE", code, "STATUS_MESSAGE", msg, "ISSUER", cert.Issuer.String(), "SERIAL", cert.SerialNumber.String()).
		Replace(string(s.read("standin-answer.xml")))
	tmpl := filepath.Join(s.dir, "answer.xml")
	os.WriteFile(tmpl, []byte(answer), 0o600)
	cmd := exec.Command(s.xmlsec1, "--sign", "--privkey-pem", filepath.Join(s.dir, "key.pem"),
		"--id-attr:Id", "http://schemas.xmlsoap.org/soap/envelope/:Body", tmpl)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	signed, err := cmd.Output()
	if err != nil {
		s.t.Errorf("xmlsec1 --sign: %v\n%s", err, stderr.String())
		http.Error(w, "stand-in broken", http.StatusInternalServerError)
		return
	}
	s.last = signed
	w.Write(signed)
}

func (s *standIn) read(name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

var idCounter struct {
	sync.Mutex
	n int
}

func newID() string {
	idCounter.Lock()
	defer idCounter.Unlock()
	idCounter.n++
	return fmt.Sprintf("5f0c2a4e-0000-4000-8000-%012d", idCounter.n)
}

// TestStandInSHEP: answers a SHEP stand-in signs with xmlsec1 in SHEP's
// layout are accepted when its certificate is pinned; its error status,
// a replayed answer, an unsigned fault and an HTML 500 each end as their
// own error, a failure of the digital system, in exactly one record.
func TestStandInSHEP(t *testing.T) {
	path := tooltest.Require(t, "xmlsec1")
	ca, err := devpki.NewCA(devpki.RSA2048)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(devpki.RSA2048, devpki.MockSHEPSubject, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	der, _ := x509.MarshalPKCS8PrivateKey(leaf.Key)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	s := &standIn{t: t, xmlsec1: path, dir: dir, leaf: leaf}
	srv := httptest.NewServer(s)
	defer srv.Close()

	// What a real SHEP upstream needs: its certificate pinned, the Body
	// all an answer signs, and the profile narrowed to how SHEP names it.
	v, err := signing.NewVerifier(signing.Policy{Pinned: leaf.Chain[:1], Required: []signing.Part{signing.PartBody},
		KeyInfo: []signing.KeyRef{signing.KeyRefIssuerSerial}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var records []*exchange.Record
	client, err := exchange.New(exchange.Config{URL: srv.URL + "/bip-sync-wss-gost/", SenderID: "kopir", Attempts: 1},
		signer(t, testPKI(t).gateway), v, exchange.Options{Clock: clockwork.NewFakeClockAt(time.Now()),
			Observers: []exchange.Observer{exchange.ObserverFunc(func(r *exchange.Record) {
				mu.Lock()
				records = append(records, r)
				mu.Unlock()
			})}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	for _, tc := range []struct {
		mode string
		kind exchange.Kind
		msg  string
	}{
		{"ok", exchange.OutcomeOK, ""},
		{"status", exchange.OutcomeStatus, "status SE_GBD_UNAVAILABLE"},
		{"replay", exchange.OutcomeReplay, "already seen"},
		{"unsigned_fault", exchange.OutcomeFault, "unsigned fault 999 from shep: Service not found"},
		{"html", exchange.OutcomeHTTP, "not SOAP"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			s.mu.Lock()
			s.mode = tc.mode
			s.mu.Unlock()
			mu.Lock()
			before := len(records)
			mu.Unlock()
			res, err := client.Do(context.Background(), personCall("900515400014"))
			mu.Lock()
			n := len(records) - before
			mu.Unlock()
			if n != 1 {
				t.Errorf("%d records, want 1", n)
			}
			if tc.kind == exchange.OutcomeOK {
				if err != nil || res.Response.Status.Code != "SCSS001" || !strings.Contains(string(res.Response.Data), "900515400014") {
					t.Fatalf("the stand-in's answer: %v", err)
				}
				return
			}
			var e *exchange.Error
			if !errors.As(err, &e) || e.Kind != tc.kind || !e.SystemFailure() || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %s (%q), a system failure", err, tc.kind, tc.msg)
			}
			if tc.mode == "unsigned_fault" && strings.Contains(err.Error(), "signature") {
				t.Errorf("an unsigned fault blamed on the signature: %v", err)
			}
		})
	}
}

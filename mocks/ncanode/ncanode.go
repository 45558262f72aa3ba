// Package ncanodemock is a stand-in for NCANode's v3 JSON API (protocol.md
// §9) for testers without one: /wsse/sign, /xml/sign, /wsse/verify and
// /actuator/health, with NCANode's request and answer shapes and status
// conventions (400 for key problems, 500 otherwise), doing the work with
// Kopir's own signing code — GOST keys included. It is what lets the
// NCANode signer back end run in CI; it is not NCANode: the real one's
// checks of revocation and its exact messages are not imitated.
package ncanodemock

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/pkcs12"
)

// Server is the fake NCANode. It is an http.Handler.
type Server struct {
	mux *http.ServeMux
	now func() time.Time

	mu    sync.Mutex
	calls map[string]int
	fail  []int // statuses to answer the next calls with, first first
}

// New returns a fake NCANode; now is its clock (time.Now when nil).
func New(now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	s := &Server{mux: http.NewServeMux(), now: now, calls: map[string]int{}}
	s.mux.HandleFunc("POST /wsse/sign", s.handle(s.wsseSign))
	s.mux.HandleFunc("POST /xml/sign", s.handle(s.xmlSign))
	s.mux.HandleFunc("POST /wsse/verify", s.handle(s.wsseVerify))
	s.mux.HandleFunc("GET /actuator/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"UP"}`)
	})
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// FailNext makes the next calls answer with these statuses (and
// NCANode's error JSON), one each, before working again.
func (s *Server) FailNext(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = append(s.fail, statuses...)
}

// Calls is how many calls each path got.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

type request struct {
	XML      string `json:"xml"`
	Key      string `json:"key"`
	Password string `json:"password"`
	Signers  []struct {
		Key      string `json:"key"`
		Password string `json:"password"`
	} `json:"signers"`
}

// apiError is an answer with a status: NCANode's error shape.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func (s *Server) handle(h func(ctx context.Context, req *request) (map[string]any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[r.URL.Path]++
		var fail int
		if len(s.fail) > 0 {
			fail, s.fail = s.fail[0], s.fail[1:]
		}
		s.mu.Unlock()
		answer := func(status int, body map[string]any) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(body)
		}
		if fail != 0 {
			answer(fail, map[string]any{"status": fail, "message": "injected failure"})
			return
		}
		var req request
		dec := json.NewDecoder(io.LimitReader(r.Body, 32<<20))
		if err := dec.Decode(&req); err != nil {
			answer(http.StatusBadRequest, map[string]any{"status": 400, "message": "bad request: " + err.Error()})
			return
		}
		out, err := h(r.Context(), &req)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				ae = &apiError{http.StatusInternalServerError, err.Error()}
			}
			answer(ae.status, map[string]any{"status": ae.status, "message": ae.msg})
			return
		}
		out["status"], out["message"] = 200, "OK"
		answer(http.StatusOK, out)
	}
}

// signer opens a key file as NCANode would: a bad file or password is a 400.
func (s *Server) signer(key, password string, layout signing.Layout) (*signing.Signer, error) {
	p12, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return nil, &apiError{http.StatusBadRequest, "the key is not base64"}
	}
	c, err := pkcs12.Decode(p12, password)
	if err != nil {
		return nil, &apiError{http.StatusBadRequest, "the key cannot be opened: " + err.Error()}
	}
	return signing.NewSigner(c.Key, c.Chain, signing.SignerOptions{Layout: layout, Now: s.now})
}

func (s *Server) wsseSign(ctx context.Context, req *request) (map[string]any, error) {
	sg, err := s.signer(req.Key, req.Password, signing.LayoutSmartBridge)
	if err != nil {
		return nil, err
	}
	out, err := sg.Sign(ctx, []byte(req.XML))
	if err != nil {
		return nil, err
	}
	return map[string]any{"xml": string(out)}, nil
}

func (s *Server) xmlSign(ctx context.Context, req *request) (map[string]any, error) {
	doc := []byte(req.XML)
	if len(req.Signers) == 0 {
		return nil, &apiError{http.StatusBadRequest, "no signers"}
	}
	for _, k := range req.Signers {
		sg, err := s.signer(k.Key, k.Password, "")
		if err != nil {
			return nil, err
		}
		if doc, err = sg.SignEnveloped(ctx, doc); err != nil {
			return nil, err
		}
	}
	return map[string]any{"xml": string(doc)}, nil
}

var keyIdentifier = regexp.MustCompile(`<wsse:KeyIdentifier[^>]*>([^<]+)</wsse:KeyIdentifier>`)

// wsseVerify judges an envelope as NCANode does: the certificate from its
// KeyIdentifier, the signature and the certificate's dates (no chain).
func (s *Server) wsseVerify(_ context.Context, req *request) (map[string]any, error) {
	m := keyIdentifier.FindStringSubmatch(req.XML)
	if m == nil {
		return map[string]any{"valid": false, "signers": []any{}}, nil
	}
	certs, err := signing.ParseCertificates(pemOf(m[1]))
	if err != nil {
		return map[string]any{"valid": false, "signers": []any{}}, nil
	}
	v, err := signing.NewVerifier(signing.Policy{Pinned: certs, Required: []signing.Part{signing.PartBody}, Now: s.now})
	if err != nil {
		return nil, err
	}
	_, verr := v.Verify([]byte(req.XML))
	c := certs[0]
	return map[string]any{"valid": verr == nil, "signers": []map[string]any{{
		"valid": verr == nil, "notBefore": c.NotBefore.Format(time.RFC3339), "notAfter": c.NotAfter.Format(time.RFC3339),
		"serialNumber": c.SerialNumber.Text(16), "subject": map[string]string{"commonName": c.Subject.CommonName},
		"issuer": map[string]string{"commonName": c.Issuer.CommonName},
	}}}, nil
}

func pemOf(b64 string) []byte {
	return []byte("-----BEGIN CERTIFICATE-----\n" + b64 + "\n-----END CERTIFICATE-----\n")
}

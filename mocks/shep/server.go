// Package shepmock is a mock of the digital-government gateway's (SHEP)
// synchronous channel for testers without access to the real one. It
// speaks the same SOAP: it verifies request signatures, refusing bad ones
// with SHEP's fault, and signs its answers with its own key. It answers
// each serviceId from fixtures (a realistic default set is embedded) and
// fails on demand: faults can be injected by configuration or through a
// small HTTP control API, per serviceId, for the next N calls or with a
// probability.
//
//	POST /            SendMessage (SOAPAction "SendMessage", quoted, or empty)
//	GET  /?wsdl       the WSDL
//	GET  /_control/faults      the fault rules in force (JSON)
//	POST /_control/faults      add a rule: {"service":"…","kind":"fault","code":"…","count":1}
//	DELETE /_control/faults    remove every rule
//	GET  /_control/calls       calls received, by serviceId
package shepmock

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kopir/kopir/gateway/shep"
	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/xmldoc"
)

//go:embed wsdl.xml
var wsdl string

// Fault codes the mock answers with when it refuses a request: one each,
// so that a client can tell why (SHEP's own codes are provider-defined:
// protocol.md §4).
const (
	CodeSignature      = "SIGNATURE_INVALID"
	CodeMalformed      = "MALFORMED_REQUEST"
	CodeUnknownService = "SERVICE_NOT_FOUND"
	CodeUnknownAction  = "UNKNOWN_SOAP_ACTION"
	CodeWrongPath      = "UNKNOWN_ENDPOINT"
	CodeContentType    = "UNSUPPORTED_CONTENT_TYPE"
	CodeSender         = "SENDER_NOT_AUTHORIZED"
	CodeReplay         = "REQUEST_REPLAYED"
	// CodePayloadSignature refuses a service's payload that must be
	// signed (GBD UL's) and is not, or not validly.
	CodePayloadSignature = "PAYLOAD_SIGNATURE_INVALID"
	// CodeRequest refuses a payload lacking what the service needs.
	CodeRequest = "REQUEST_INCOMPLETE"
)

// Config is what a Server needs.
type Config struct {
	// Signer signs responses; Verifier checks requests, their payload
	// signatures included.
	Signer   *signing.Signer
	Verifier *signing.Verifier
	// PayloadSigner signs the payloads of services that sign theirs
	// (sign_answers). Default: Signer.
	PayloadSigner *signing.Signer
	// Fixtures are the data; nil means DefaultFixtures.
	Fixtures *Fixtures
	Logger   *slog.Logger
	// Clock gives answers their dates and delay faults their timers.
	// Default: the real clock.
	Clock clockwork.Clock
	// MaxRequestBytes bounds a request. Default: 16 MiB.
	MaxRequestBytes int64
	// Senders are the senderId/password pairs accepted; empty accepts any.
	Senders map[string]string
	// ReplayWindow is how long request signatures are remembered, to
	// refuse one sent again. Default: 15m.
	ReplayWindow time.Duration
}

// Server is the mock SHEP, an http.Handler.
type Server struct {
	cfg    Config
	faults faultSet
	done   chan struct{}
	once   sync.Once

	mu    sync.Mutex
	calls map[string]int
	last  []byte                 // the last answer sent, for replay faults
	seen  map[[32]byte]time.Time // request signatures, for refusing replays
}

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Signer == nil || cfg.Verifier == nil {
		return nil, errors.New("shepmock: a signer and a verifier are required")
	}
	if cfg.Fixtures == nil {
		f, err := DefaultFixtures()
		if err != nil {
			return nil, err
		}
		cfg.Fixtures = f
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PayloadSigner == nil {
		cfg.PayloadSigner = cfg.Signer
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 16 << 20
	}
	if cfg.ReplayWindow <= 0 {
		cfg.ReplayWindow = 15 * time.Minute
	}
	s := &Server{cfg: cfg, done: make(chan struct{}), calls: map[string]int{}, seen: map[[32]byte]time.Time{}}
	for _, r := range cfg.Fixtures.Faults {
		if err := s.faults.add(r); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// AddFault adds a fault rule.
func (s *Server) AddFault(r FaultRule) error { return s.faults.add(r) }

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults() { s.faults.clear() }

// Calls returns how many SendMessage calls a serviceId received.
func (s *Server) Calls(serviceID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[serviceID]
}

// Close releases the connections held by "timeout" faults.
func (s *Server) Close() { s.once.Do(func() { close(s.done) }) }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/_control/"):
		s.control(w, r)
	case r.Method == http.MethodGet && r.URL.Query().Has("wsdl"):
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		io.WriteString(w, strings.Replace(wsdl, "LOCATION", scheme+"://"+r.Host+r.URL.Path, 1))
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", "POST")
		http.Error(w, "SendMessage is POST; the WSDL is at ?wsdl", http.StatusMethodNotAllowed)
	default:
		s.sendMessage(w, r)
	}
}

// endpoint reports whether a path is the synchronous channel's: the
// root, or …/bip-sync-wss-gost/ as SHEP names it.
func endpoint(path string) bool {
	return path == "/" || path == "" || strings.HasSuffix(strings.TrimSuffix(path, "/"), "/bip-sync-wss-gost")
}

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !endpoint(r.URL.Path) {
		s.faultStatus(ctx, w, http.StatusNotFound, "Client", CodeWrongPath, "no SendMessage endpoint at "+r.URL.Path, true)
		return
	}
	// SOAP 1.1 is text/xml; one production client sends application/xml.
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "text/xml" && ct != "application/xml" {
		s.faultStatus(ctx, w, http.StatusUnsupportedMediaType, "Client", CodeContentType,
			"Content-Type "+r.Header.Get("Content-Type")+" is not text/xml", true)
		return
	}
	action := strings.Trim(r.Header.Get("SOAPAction"), `"`)
	if action != "" && action != "SendMessage" && !strings.HasSuffix(action, "/SendMessage") {
		s.fault(ctx, w, "Client", CodeUnknownAction, "unknown SOAPAction "+action, true)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxRequestBytes+1))
	if err != nil {
		return
	}
	if int64(len(body)) > s.cfg.MaxRequestBytes {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	verified, err := s.cfg.Verifier.Verify(body)
	if err != nil {
		s.cfg.Logger.Info("request refused", "reason", err.Error())
		code := CodeSignature
		var se *signing.Error
		if errors.As(err, &se) && (se.Reason == signing.ReasonMalformed || se.Reason == signing.ReasonNotSOAP ||
			se.Reason == signing.ReasonDTD) {
			code = CodeMalformed
		}
		s.fault(ctx, w, "Client", code, err.Error(), true)
		return
	}
	req, err := shep.ParseRequest(verified.Body, xmldoc.Limits{})
	if err != nil {
		s.fault(ctx, w, "Client", CodeMalformed, err.Error(), true)
		return
	}
	if len(s.cfg.Senders) > 0 {
		if pw, ok := s.cfg.Senders[req.SenderID]; !ok || pw != req.Password {
			s.fault(ctx, w, "Client", CodeSender, "sender "+req.SenderID+" is not authorized", true)
			return
		}
	}
	if !s.firstRequest(verified.SignatureValue) {
		s.fault(ctx, w, "Client", CodeReplay, "this request was already received", true)
		return
	}
	if _, known := s.cfg.Fixtures.Services[req.ServiceID]; !known {
		s.fault(ctx, w, "Server", CodeUnknownService, "no such service: "+req.ServiceID, true)
		return
	}
	s.mu.Lock()
	s.calls[req.ServiceID]++
	s.mu.Unlock()

	rule := s.faults.take(req.ServiceID)
	log := s.cfg.Logger.With("service_id", req.ServiceID, "message_id", req.MessageID)
	if rule != nil {
		log = log.With("fault", string(rule.Kind))
	}
	signed := true
	if rule != nil {
		switch rule.Kind {
		case FaultDelay:
			select {
			case <-s.cfg.Clock.After(time.Duration(rule.Delay)):
			case <-ctx.Done():
				return
			case <-s.done:
				return
			}
		case FaultTimeout:
			log.Info("holding the call without an answer")
			select {
			case <-ctx.Done():
			case <-s.done:
			}
			return
		case FaultHTTP:
			status := rule.Status
			if status == 0 {
				status = http.StatusServiceUnavailable
			}
			log.Info("answering with an HTTP error", "status", status)
			if rule.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(time.Duration(rule.RetryAfter).Seconds())))
			}
			http.Error(w, http.StatusText(status), status)
			return
		case FaultSOAP, FaultUnsignedFault:
			signedFault := rule.Kind == FaultSOAP
			log.Info("answering with a fault", "code", rule.Code, "signed", signedFault)
			s.fault(ctx, w, cmp.Or(rule.FaultCode, "Server"), rule.Code, rule.Message, signedFault)
			return
		case FaultReset:
			log.Info("resetting the connection")
			reset(w)
			return
		case FaultUnsigned:
			signed = false
		case FaultHTML:
			status := rule.Status
			if status == 0 {
				status = http.StatusInternalServerError
			}
			log.Info("answering with an HTML page", "status", status)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			fmt.Fprintf(w, "<html><head><title>%d</title></head><body><h1>%s</h1></body></html>", status, http.StatusText(status))
			return
		case FaultReplay:
			s.mu.Lock()
			last := s.last
			s.mu.Unlock()
			if last != nil {
				log.Info("replaying the previous answer")
				w.Header().Set("Content-Type", "text/xml; charset=utf-8")
				w.Write(last)
				return
			}
		}
	}

	if r := s.checkPayload(req); r != nil {
		log.Info("payload refused", "reason", r.msg)
		s.fault(ctx, w, "Client", r.code, r.msg, true)
		return
	}
	resp, err := s.answer(ctx, req)
	if err != nil {
		log.Error("signing the payload", "err", err)
		http.Error(w, "mock: cannot sign", http.StatusInternalServerError)
		return
	}
	if rule != nil && rule.Kind == FaultStatus {
		code := rule.Code
		if code == "" {
			code = "E_STATUS"
		}
		resp.Status, resp.Data = shep.Status{Code: code, Message: rule.Message}, nil
	}
	if rule != nil && rule.Kind == FaultUnbound {
		resp.CorrelationID = newID()
	}
	env, err := s.envelope(ctx, resp.Envelope(), signed)
	if err != nil {
		log.Error("signing the answer", "err", err)
		http.Error(w, "mock: cannot sign", http.StatusInternalServerError)
		return
	}
	if rule != nil && rule.Kind == FaultBadSig {
		env = bytes.Replace(env, []byte("<responseInfo>"), []byte("<responseInfo> "), 1)
	}
	log.Info("answered", "status", resp.Status.Code, "found", resp.Data != nil)
	s.mu.Lock()
	s.last = env
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(env)
}

type refusal struct{ code, msg string }

// checkPayload holds a request's payload to what its service requires:
// the way it travels, an enveloped signature, elements present.
func (s *Server) checkPayload(req *shep.Request) *refusal {
	svc := s.cfg.Fixtures.Services[req.ServiceID]
	if svc.RequestMode != "" && svc.RequestMode != cmp.Or(req.DataMode, shep.DataChildren) {
		return &refusal{CodeRequest, fmt.Sprintf("%s takes its payload as %s, not %s", req.ServiceID, svc.RequestMode, req.DataMode)}
	}
	for _, name := range svc.Require {
		if keyOf(req.Data, name) == "" {
			return &refusal{CodeRequest, "the payload lacks " + name}
		}
	}
	if !svc.SignedRequests {
		return nil
	}
	doc, err := shep.PayloadDocument(req.Data)
	if err == nil {
		_, err = s.cfg.Verifier.VerifyEnveloped(doc)
	}
	if err != nil {
		return &refusal{CodePayloadSignature, "the payload's signature: " + err.Error()}
	}
	return nil
}

// answer looks the request up in the fixtures.
func (s *Server) answer(ctx context.Context, req *shep.Request) (*shep.Response, error) {
	resp := &shep.Response{MessageID: newID(), CorrelationID: req.MessageID, ResponseDate: s.cfg.Clock.Now(),
		Status: shep.Status{Code: shep.SuccessCode, Message: "OK"}, SessionID: req.SessionID}
	svc, ok := s.cfg.Fixtures.Services[req.ServiceID]
	if !ok {
		resp.Status = shep.Status{Code: CodeUnknownService, Message: "no such service: " + req.ServiceID}
		return resp, nil
	}
	if payload, ok := svc.Records[keyOf(req.Data, svc.Key)]; ok {
		resp.Data = []byte(strings.TrimSpace(payload))
	} else {
		resp.Status.Message = "Сведения не найдены / not found"
		if nf := svc.NotFound; nf != nil {
			if nf.Code != "" {
				resp.Status = shep.Status{Code: nf.Code, Message: nf.Message}
			}
			if nf.Payload != "" {
				resp.Data = []byte(strings.TrimSpace(nf.Payload))
			}
		}
	}
	if resp.Data == nil {
		return resp, nil
	}
	resp.DataMode = svc.AnswerMode
	if svc.SignAnswers {
		// As GBD UL and GBD FL do: the escaped document, or data with
		// its children, signed enveloped by the provider.
		doc := resp.Data
		if svc.AnswerMode != shep.DataEscaped {
			doc = append(append([]byte("<data>"), doc...), "</data>"...)
		}
		signed, err := s.cfg.PayloadSigner.SignEnveloped(ctx, doc)
		if err != nil {
			return nil, err
		}
		resp.Data = signed
	}
	return resp, nil
}

func (s *Server) envelope(ctx context.Context, env []byte, signed bool) ([]byte, error) {
	if !signed {
		return env, nil
	}
	return s.cfg.Signer.Sign(ctx, env)
}

// firstRequest remembers a request's signature and reports whether it is
// new within the window.
func (s *Server) firstRequest(sig []byte) bool {
	key := sha256.Sum256(sig)
	now := s.cfg.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.seen[key]; ok && now.Sub(t) < s.cfg.ReplayWindow {
		return false
	}
	if len(s.seen) > 100_000 {
		for k, t := range s.seen {
			if now.Sub(t) >= s.cfg.ReplayWindow {
				delete(s.seen, k)
			}
		}
	}
	s.seen[key] = now
	return true
}

// fault answers with a SOAP fault carrying SHEP's error information, as
// HTTP 500.
func (s *Server) fault(ctx context.Context, w http.ResponseWriter, faultCode, code, msg string, signed bool) {
	s.faultStatus(ctx, w, http.StatusInternalServerError, faultCode, code, msg, signed)
}

// faultStatus is fault with another HTTP status.
func (s *Server) faultStatus(ctx context.Context, w http.ResponseWriter, status int, faultCode, code, msg string, signed bool) {
	f := &shep.Fault{Code: faultCode, String: msg, Info: &shep.ErrorInfo{Code: code, Message: msg, Date: s.cfg.Clock.Now()}}
	env, err := s.envelope(ctx, f.Envelope(), signed)
	if err != nil {
		http.Error(w, "mock: cannot sign", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	w.Write(env)
}

// reset closes the connection with SO_LINGER 0, which sends a TCP reset.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}

func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/_control/faults" && r.Method == http.MethodGet:
		json.NewEncoder(w).Encode(s.faults.list())
	case r.URL.Path == "/_control/faults" && r.Method == http.MethodPost:
		var rule FaultRule
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rule); err != nil {
			controlError(w, http.StatusBadRequest, "the rule is not JSON: "+err.Error())
			return
		}
		if err := s.faults.add(rule); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(rule)
	case r.URL.Path == "/_control/faults" && r.Method == http.MethodDelete:
		s.faults.clear()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_control/calls" && r.Method == http.MethodGet:
		s.mu.Lock()
		defer s.mu.Unlock()
		json.NewEncoder(w).Encode(s.calls)
	default:
		controlError(w, http.StatusNotFound, fmt.Sprintf("no %s %s; see GET/POST/DELETE /_control/faults, GET /_control/calls", r.Method, r.URL.Path))
	}
}

func controlError(w http.ResponseWriter, status int, msg string) {
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func newID() string {
	var b [16]byte
	_, _ = io.ReadFull(randReader, b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	mailboxmock "github.com/kopir/kopir/mocks/mailbox"
	ncanodemock "github.com/kopir/kopir/mocks/ncanode"
	paymentsmock "github.com/kopir/kopir/mocks/payments"
	shepmock "github.com/kopir/kopir/mocks/shep"
	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/devpki"
)

// DefaultPKIDir is where development keys live unless told otherwise.
const DefaultPKIDir = "data/pki"

// mockKind is a mock the binary runs.
type mockKind struct {
	name, title, listen string
	// defaults are the embedded fixtures.
	defaults func() (*shepmock.Fixtures, error)
}

var mocks = map[string]mockKind{
	"shep":     {"mock-shep", "mock SHEP", "127.0.0.1:8451", shepmock.DefaultFixtures},
	"payments": {"mock-payments", "mock payment gateway", "127.0.0.1:8452", paymentsmock.DefaultFixtures},
}

// The mock mailbox's default addresses.
const (
	mailboxHTTP = "127.0.0.1:8453"
	mailboxSMTP = "127.0.0.1:8025"
)

func runMock(ctx context.Context, e *env, args []string) int {
	if len(args) > 0 && args[0] == "mailbox" {
		return runMailbox(ctx, e, args[1:])
	}
	if len(args) > 0 && args[0] == "ncanode" {
		return runNCANode(ctx, e, args[1:])
	}
	if len(args) == 0 || mocks[args[0]].name == "" {
		fmt.Fprintln(e.stderr, "usage: kopir mock shep|payments|mailbox|ncanode [flags]\n\n"+
			"mocks: shep (the digital-government gateway's synchronous channel), payments (the payment gateway),\n"+
			"mailbox (the support desk's mailbox: SMTP in, JSON and HTML out), ncanode (NCANode's v3 signing API)")
		return 2
	}
	kind := mocks[args[0]]
	fs := flag.NewFlagSet("kopir mock "+args[0], flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	listen := fs.String("listen", kind.listen, "`address` to listen on")
	pkiDir := fs.String("pki", DefaultPKIDir, "development PKI `folder`, made on first run; the defaults below come from it")
	trust := fs.String("trust", "", "PEM `file` of CAs whose request signatures are accepted (default: PKI/ca.pem)")
	keyFile := fs.String("key", "", "the mock's PEM private `key` (default: PKI/"+kind.name+"-key.pem)")
	certFile := fs.String("cert", "", "the mock's PEM certificate `chain` (default: PKI/"+kind.name+".pem)")
	fixtures := fs.String("fixtures", "", "fixtures YAML `file` (default: the embedded realistic set)")
	p12File := fs.String("p12", "", "the mock's PKCS#12 key `file` instead of --key and --cert (an NCA key file as it is)")
	passwordEnv := fs.String("password-env", "", "environment `variable` holding the PKCS#12 password")
	passwordFile := fs.String("password-file", "", "`file` holding the PKCS#12 password")
	layout := signing.LayoutSHEP
	fs.TextVar(&layout, "layout", signing.LayoutSHEP, "how answers are signed: shep (as SHEP signs: Body only, no Timestamp, the certificate by issuer and serial), smart-bridge or wss4j")
	replayWindow := fs.Duration("replay-window", 0, "how long request signatures are remembered, to refuse one sent again (default 15m)")
	notify := fs.String("notify", "", "payments only: the `URL` to push payment notifications to (Kopir's …/payments/notify); the embedded ones are pushed at start")
	var senders senderList
	fs.Var(&senders, "sender", "a senderId accepted, as `ID=ENV` (its password in the environment variable ENV); repeatable; none accepts any")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: kopir mock %s [flags]\n\n"+
			"Runs a %s: verifies request signatures, signs answers, answers from fixtures,\n"+
			"injects faults (control API under /_control/). See README.md, \"Mock SHEP\".\n", args[0], kind.title)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return 2
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, nil)).With("component", kind.name)
	var own *ownKey
	if *p12File != "" {
		password, err := secret(e, *passwordEnv, *passwordFile)
		if err != nil {
			fmt.Fprintf(e.stderr, "kopir mock %s: %v\n", args[0], err)
			return 2
		}
		key, chain, err := signing.LoadPKCS12(*p12File, password)
		if err != nil {
			fmt.Fprintf(e.stderr, "kopir mock %s: %v\n", args[0], err)
			return 1
		}
		own = &ownKey{key, chain}
	}
	accepted, err := senders.resolve(e.getenv)
	if err != nil {
		fmt.Fprintf(e.stderr, "kopir mock %s: %v\n", args[0], err)
		return 2
	}
	srv, err := newMock(kind, mockOptions{pkiDir: *pkiDir, trust: *trust, keyFile: *keyFile, certFile: *certFile, fixtures: *fixtures,
		own: own, layout: layout, replayWindow: *replayWindow, senders: accepted, notify: *notify}, log)
	if err != nil {
		fmt.Fprintf(e.stderr, "kopir mock %s: %v\n", args[0], err)
		return 1
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(e.stderr, "kopir mock %s: %v\n", args[0], err)
		return 1
	}
	fmt.Fprintf(e.stdout, "%s listening on http://%s/ (WSDL: http://%[2]s/?wsdl, control: http://%[2]s/_control/faults)\n", kind.title, ln.Addr())
	if srv.pusher != nil && *notify != "" {
		go pushDefaults(ctx, srv.pusher, log)
	}
	if err := serve(ctx, ln, srv, srv.Close); err != nil {
		fmt.Fprintf(e.stderr, "kopir mock %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// ownKey is a mock's key given as a key file rather than PEM files.
type ownKey struct {
	key   crypto.Signer
	chain []*x509.Certificate
}

// senderList is the --sender flag: ID=ENV pairs.
type senderList []string

func (s *senderList) String() string { return strings.Join(*s, ",") }

func (s *senderList) Set(v string) error {
	id, env, ok := strings.Cut(v, "=")
	if !ok || id == "" || env == "" {
		return errors.New("want ID=ENV")
	}
	*s = append(*s, v)
	return nil
}

// resolve reads each sender's password from the environment.
func (s senderList) resolve(getenv func(string) string) (map[string]string, error) {
	if len(s) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(s))
	for _, v := range s {
		id, env, _ := strings.Cut(v, "=")
		password := getenv(env)
		if password == "" {
			return nil, fmt.Errorf("--sender %s: $%s is empty", id, env)
		}
		out[id] = password
	}
	return out, nil
}

// mockOptions are a mock's keys, data and behaviour; empty fields take
// the development PKI's files and the mock's defaults.
type mockOptions struct {
	pkiDir, trust, keyFile, certFile, fixtures string
	own                                        *ownKey
	layout                                     signing.Layout
	replayWindow                               time.Duration
	senders                                    map[string]string
	// notify is where the mock payment gateway pushes payments.
	notify string
}

// mock is a running mock's handler; the payment gateway's pushes too.
type mock struct {
	*shepmock.Server
	handler http.Handler
	pusher  *paymentsmock.Pusher // the payment gateway's only
}

func (m *mock) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }

func newMock(kind mockKind, o mockOptions, log *slog.Logger) (*mock, error) {
	pkiDir, trust, keyFile, certFile, fixtures, own := o.pkiDir, o.trust, o.keyFile, o.certFile, o.fixtures, o.own
	if trust == "" || own == nil && (keyFile == "" || certFile == "") {
		if made, err := devpki.Ensure(pkiDir, devpki.RSA2048); err != nil {
			return nil, err
		} else if made {
			log.Info("made a development PKI", "dir", pkiDir)
		}
	}
	if trust == "" {
		trust = filepath.Join(pkiDir, devpki.CAFile)
	}
	files := devpki.FilesFor(pkiDir, kind.name)
	if keyFile == "" {
		keyFile = files.Key
	}
	if certFile == "" {
		certFile = files.Cert
	}
	var key crypto.Signer
	var chain []*x509.Certificate
	var err error
	if own != nil {
		key, chain = own.key, own.chain
	} else if key, chain, err = signing.LoadKeyPair(keyFile, certFile); err != nil {
		return nil, err
	}
	signer, err := signing.NewSigner(key, chain, signing.SignerOptions{Layout: o.layout})
	if err != nil {
		return nil, err
	}
	roots, err := signing.LoadCertificates(trust)
	if err != nil {
		return nil, err
	}
	// Requests signed in either layout (WSS4J or Smart Bridge): a Timestamp,
	// when there is one, is checked all the same.
	verifier, err := signing.NewVerifier(signing.Policy{Roots: roots, Required: []signing.Part{signing.PartBody}})
	if err != nil {
		return nil, err
	}
	cfg := shepmock.Config{Signer: signer, Verifier: verifier, Logger: log, Senders: o.senders, ReplayWindow: o.replayWindow}
	if fixtures != "" {
		cfg.Fixtures, err = shepmock.LoadFixtures(fixtures)
	} else {
		cfg.Fixtures, err = kind.defaults()
	}
	if err != nil {
		return nil, err
	}
	srv, err := shepmock.New(cfg)
	if err != nil {
		return nil, err
	}
	if kind.name != mocks["payments"].name {
		return &mock{Server: srv, handler: srv}, nil
	}
	// Pushes go out as clients sign them (protocol.md §5, layout 1).
	pushSigner, err := signing.NewSigner(key, chain, signing.SignerOptions{Layout: signing.LayoutSmartBridge})
	if err != nil {
		return nil, err
	}
	pusher := &paymentsmock.Pusher{URL: o.notify, Signer: pushSigner, Logger: log}
	return &mock{Server: srv, handler: &paymentsmock.Server{Server: srv, Pusher: pusher}, pusher: pusher}, nil
}

// pushDefaults pushes the embedded payments until the receiver has taken
// each (it may start after the mock), or ctx ends.
func pushDefaults(ctx context.Context, p *paymentsmock.Pusher, log *slog.Logger) {
	ns, err := paymentsmock.DefaultNotifications()
	if err == nil {
		err = p.PushAll(ctx, ns, 500*time.Millisecond)
	}
	if err != nil && ctx.Err() == nil {
		log.Error("pushing the embedded payments", "err", err)
		return
	}
	if err == nil {
		log.Info("pushed the embedded payments", "count", len(ns), "to", p.URL)
	}
}

// serve runs an HTTP server until ctx is done, then shuts it down,
// draining in-flight requests for up to 10 seconds; release frees what
// handlers hold (a mock's held connections) before the drain.
func serve(ctx context.Context, ln net.Listener, h http.Handler, release func()) error {
	return serveWith(ctx, ln, &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, release)
}

// serveWith is serve with the server given.
func serveWith(ctx context.Context, ln net.Listener, srv *http.Server, release func()) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if release != nil {
		release()
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func runMailbox(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("kopir mock mailbox", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	listen := fs.String("listen", mailboxHTTP, "the web view's `address`")
	smtpListen := fs.String("smtp-listen", mailboxSMTP, "the SMTP `address`")
	user := fs.String("username", "", "require AUTH PLAIN as this `user`; the password comes from --password-env")
	passwordEnv := fs.String("password-env", "KOPIR_MAILBOX_PASSWORD", "environment `variable` holding the AUTH password")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: kopir mock mailbox [flags]\n\n"+
			"Runs the support desk's mailbox for testers: it keeps every mail it is sent and shows them\n"+
			"at / (HTML), /messages (JSON) and /messages/N.eml; faults at /_control/faults.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	fail := func(err error) int { fmt.Fprintln(e.stderr, "kopir mock mailbox:", err); return 1 }
	o := mailboxmock.Options{Logger: slog.New(slog.NewJSONHandler(e.stderr, nil)).With("component", "mock-mailbox")}
	if *user != "" {
		o.Username, o.Password = *user, e.getenv(*passwordEnv)
		if o.Password == "" {
			return fail(fmt.Errorf("--username needs a password in $%s", *passwordEnv))
		}
	}
	mb := mailboxmock.New(o)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fail(err)
	}
	sln, err := net.Listen("tcp", *smtpListen)
	if err != nil {
		ln.Close()
		return fail(err)
	}
	fmt.Fprintf(e.stdout, "mock mailbox: SMTP on %s, messages at http://%s/\n", sln.Addr(), ln.Addr())
	smtpErr := make(chan error, 1)
	go func() { smtpErr <- mb.Serve(sln) }()
	err = serve(ctx, ln, mb.Handler(), func() { mb.Close() })
	if serr := <-smtpErr; err == nil {
		err = serr
	}
	if err != nil {
		return fail(err)
	}
	return 0
}

// runNCANode serves the fake NCANode: its v3 JSON API, signing with
// Kopir's own code whatever key file a request brings.
func runNCANode(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("kopir mock ncanode", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	listen := fs.String("listen", "127.0.0.1:14579", "`address` to listen on (NCANode's port)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(e.stderr, "kopir mock ncanode:", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "fake NCANode listening on http://%s/ (POST /wsse/sign, /xml/sign, /wsse/verify)\n", ln.Addr())
	if err := serve(ctx, ln, ncanodemock.New(nil), func() {}); err != nil {
		fmt.Fprintln(e.stderr, "kopir mock ncanode:", err)
		return 1
	}
	return 0
}

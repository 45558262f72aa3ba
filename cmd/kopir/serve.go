package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kopir/kopir/config"
	"github.com/kopir/kopir/gateway"
	"github.com/kopir/kopir/gateway/api/access"
	mailboxmock "github.com/kopir/kopir/mocks/mailbox"
	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/devpki"
)

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func runServe(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("kopir serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("config", "kopir.yaml", "configuration `file` (see config/kopir.example.yaml)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	cfg, err := config.Load(*path, e.getenv)
	if err != nil {
		fmt.Fprintln(e.stderr, "kopir serve:", err)
		return 2
	}
	log := newLogger(e.stderr, cfg.Log)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintln(e.stderr, "kopir serve:", err)
		return 1
	}
	opsLn, err := net.Listen("tcp", cfg.Ops.Listen)
	if err != nil {
		ln.Close()
		fmt.Fprintln(e.stderr, "kopir serve:", err)
		return 1
	}
	if err := runGateway(ctx, cfg, ln, opsLn, log, e.getenv, nil); err != nil {
		fmt.Fprintln(e.stderr, "kopir serve:", err)
		return 1
	}
	return 0
}

// runGateway runs the gateway's API on ln and its operators' side on
// opsLn until ctx ends, then stops in order: readiness turns 503 so load
// balancers stop sending, the API stops taking calls and finishes those in
// flight, the outbox delivers what is due (for at most drainTimeout), the
// operators' listener closes last. ready, when set, is called once the
// gateway is assembled.
func runGateway(ctx context.Context, cfg *config.Config, ln, opsLn net.Listener, log *slog.Logger, getenv func(string) string,
	ready func(*gateway.Gateway)) error {
	g, err := gateway.New(ctx, cfg, gateway.Options{Logger: log, Getenv: getenv})
	if err != nil {
		ln.Close()
		opsLn.Close()
		return err
	}
	defer g.Close()
	scheme := "http"
	if g.TLS != nil {
		ln = tls.NewListener(ln, g.TLS)
		scheme = "https"
	}
	log.Info("serving", "api", scheme+"://"+ln.Addr().String()+"/", "ops", "http://"+opsLn.Addr().String()+"/",
		"certificate_expires", g.Certificate.NotAfter)
	if ready != nil {
		ready(g)
	}
	deliver, stopDelivery := context.WithCancel(context.WithoutCancel(ctx))
	delivered := make(chan error, 1)
	go func() { delivered <- g.Run(deliver) }()
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	opsDone := make(chan error, 1)
	// Both listeners bounded: slow bodies, idle connections, how many at once.
	go func() {
		opsDone <- serveWith(opsCtx, cfg.HTTP.Listener(opsLn), cfg.HTTP.HTTPServer(g.OpsHandler()), nil)
	}()

	err = serveWith(ctx, cfg.HTTP.Listener(ln), cfg.HTTP.HTTPServer(g.Handler()), func() {
		// Lame duck: not ready, still serving, until load balancers
		// have seen it; a second signal ends the wait.
		g.Health.SetMaintenance(true)
		log.Info("not ready; serving on for the lame-duck period", "lame_duck", cfg.Ops.LameDuck)
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(again)
		select {
		case <-time.After(cfg.Ops.LameDuck):
		case <-again:
		}
	})
	stopDelivery()
	<-delivered
	drain, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	g.Drain(drain)
	stopOps()
	if opsErr := <-opsDone; err == nil {
		err = opsErr
	}
	log.Info("stopped")
	return err
}

// drainTimeout bounds the outbox's last deliveries at shutdown.
const drainTimeout = 10 * time.Second

func runConfig(_ context.Context, e *env, args []string) int {
	if len(args) != 2 || args[0] != "check" || isHelp(args[1]) {
		fmt.Fprintln(e.stderr, "usage: kopir config check FILE\n\nReads FILE as kopir serve would and reports every problem, each named by its field.")
		return 2
	}
	if _, err := config.Load(args[1], e.getenv); err != nil {
		fmt.Fprintln(e.stderr, err)
		return 1
	}
	fmt.Fprintln(e.stdout, args[1]+": ok")
	return 0
}

// devConfig is what `kopir up` runs: the gateway against the mocks, with
// the development keys. It is written to DATA/kopir.yaml, a starting point
// for a real configuration.
const devConfig = `# Written by 'kopir up' for local development; 'kopir serve --config' takes the same shape.
# Every field, with its default: config/kopir.example.yaml.
listen: %s
identity:
  key: %s
  cert: %s
# The organisation's signing key, apart from the transport key above: GBD UL's requests carry its
# enveloped signature. Its certificate's BIN is the RequestorBIN.
payload_signing:
  key: %s
  cert: %s
shep:
  url: http://%s/bip-sync-wss-gost/
  sender_id: kopir-dev
  # The mock answers as SHEP does: Body only, no Timestamp, its certificate named by issuer and
  # serial, so it is pinned and the Body is all an answer can sign.
  pinned: [%s]
  require: [body]
  layout: smart-bridge
  faults:
    transient: [SE_BUSY]
payments:
  url: http://%s/
  sender_id: kopir-dev
  pinned: [%s]
  require: [body]
  layout: smart-bridge
reports:
  database: %s
  from: kopir-dev@kopir.test
  smtp: {host: 127.0.0.1, port: %d, tls: none}
  # One more mail per minute at most while a system keeps failing (default 10m), so testers see
  # flood control without waiting.
  window: 1m
  backoff_min: 1s
  backoff_max: 30s
ops:
  listen: %s
  # No load balancer in front: a short lame-duck period (default 5s).
  lame_duck: 200ms
# One back end with every right; its key is in %s (kept there, hashed here).
clients:
  - name: dev
    api_key_sha256: [%s]
    allow: ["*"]
    rate: 50
`

func runUp(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("kopir up", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	data := fs.String("data", "data", "data `folder`: development keys, the generated configuration")
	listen := fs.String("listen", "127.0.0.1:8080", "the API's `address`")
	shepListen := fs.String("shep-listen", mocks["shep"].listen, "the mock SHEP's `address`")
	payListen := fs.String("payments-listen", mocks["payments"].listen, "the mock payment gateway's `address`")
	mailListen := fs.String("mailbox-listen", mailboxHTTP, "the mock mailbox's web view `address`")
	smtpListen := fs.String("smtp-listen", mailboxSMTP, "the mock mailbox's SMTP `address`")
	opsListen := fs.String("ops-listen", "127.0.0.1:9464", "the operators' `address`: metrics, health")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: kopir up [flags]\n\nRuns the gateway with the mock SHEP, the mock payment gateway and the mock mailbox,\n"+
			"an outbox database and development keys under the data folder, made on first run.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	fail := func(err error) int { fmt.Fprintln(e.stderr, "kopir up:", err); return 1 }
	dir, err := filepath.Abs(*data)
	if err != nil {
		return fail(err)
	}
	pki := filepath.Join(dir, "pki")
	if _, err := devpki.Ensure(pki, devpki.RSA2048); err != nil {
		return fail(err)
	}
	log := newLogger(e.stderr, "info")
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	listenOn := func(addr string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			lns = append(lns, ln)
		}
		return ln, err
	}
	apiLn, err := listenOn(*listen)
	if err != nil {
		return fail(err)
	}
	shepLn, err := listenOn(*shepListen)
	if err != nil {
		return fail(err)
	}
	payLn, err := listenOn(*payListen)
	if err != nil {
		return fail(err)
	}
	mailLn, err := listenOn(*mailListen)
	if err != nil {
		return fail(err)
	}
	smtpLn, err := listenOn(*smtpListen)
	if err != nil {
		return fail(err)
	}
	opsLn, err := listenOn(*opsListen)
	if err != nil {
		return fail(err)
	}
	keyFile := filepath.Join(dir, "api-key")
	apiKey, keySum, err := devAPIKey(keyFile)
	if err != nil {
		return fail(err)
	}
	shepMock, err := newMock(mocks["shep"], mockOptions{pkiDir: pki, layout: signing.LayoutSHEP}, log.With("component", "mock-shep"))
	if err != nil {
		return fail(err)
	}
	payMock, err := newMock(mocks["payments"], mockOptions{pkiDir: pki, layout: signing.LayoutSHEP,
		notify: "http://" + apiLn.Addr().String() + "/payments/notify"}, log.With("component", "mock-payments"))
	if err != nil {
		return fail(err)
	}
	mailbox := mailboxmock.New(mailboxmock.Options{Logger: log.With("component", "mock-mailbox")})
	gw := devpki.FilesFor(pki, "gateway")
	cfgPath := filepath.Join(dir, "kopir.yaml")
	org := devpki.FilesFor(pki, "signing")
	text := fmt.Sprintf(devConfig, apiLn.Addr(), gw.Key, gw.Cert, org.Key, org.Cert, shepLn.Addr(), devpki.FilesFor(pki, "mock-shep").Cert,
		payLn.Addr(), devpki.FilesFor(pki, "mock-payments").Cert,
		filepath.Join(dir, "kopir-outbox.db"), smtpLn.Addr().(*net.TCPAddr).Port, opsLn.Addr(), keyFile, keySum)
	kept, err := writeDevConfig(cfgPath, text)
	if err != nil {
		return fail(err)
	}
	if kept {
		log.Warn("data/kopir.yaml was edited since kopir up wrote it: kept as it is; the configuration it would write now is beside it",
			"kept", cfgPath, "generated", cfgPath+".generated")
	}
	cfg, err := config.Load(cfgPath, e.getenv)
	if err != nil {
		return fail(err)
	}

	api := "http://" + apiLn.Addr().String()
	banner := func(*gateway.Gateway) {
		fmt.Fprintf(e.stdout, `Kopir is up.
  API              %[1]s/  (OpenAPI: %[1]s/openapi.json)
  mock SHEP        http://%[2]s/  (WSDL: ?wsdl, faults: /_control/faults)
  mock payments    http://%[3]s/  (pushes payments to %[1]s/payments/notify; push one: /_control/notifications)
  mock mailbox     http://%[6]s/  (SMTP %[7]s; failure reports to the desk land here)
  ops              http://%[8]s/  (/metrics, /healthz, /readyz, /maintenance)
  configuration    %[4]s
  development keys %[5]s
  API key          %[9]s  (in %[10]s)

Try:
  K='Authorization: Bearer %[9]s'
  # GBD UL (GbdulInfoByBin_v2): the request signed by the organisation's key, the answer's signature checked
  curl -s -H "$K" %[1]s/v1/legal-entities/050340000108
  curl -s -H "$K" %[1]s/v1/legal-entities/850721400012     # a sole proprietor: GBD UL's IpsNerezident block
  # GBD FL (GBDFL_UniversalServiceSync): which documents exist, which is valid
  curl -s -H "$K" %[1]s/v1/persons/020315500019/documents -H 'Kopir-Application-Id: KZ-LIC-2026-00017'
  # fee checks answer from the payments the mock payment gateway pushed (notificationPayment)
  curl -s -H "$K" -H 'Content-Type: application/json' %[1]s/v1/fee-checks -d '{"payer":"050340000108","application":"KZ-LIC-2026-00017","kind":"issue"}'
  curl -s -X POST http://%[3]s/_control/notifications \
    -d '{"reference":"PAY-2026-000400","payer_idn":"880101300010","amount":"4325.00","assign":"заявка KZ-LIC-2026-00040"}'
  curl -s -H "$K" -H 'Content-Type: application/json' %[1]s/v1/fee-checks -d '{"payer":"880101300010","application":"KZ-LIC-2026-00040","kind":"reissue"}'
  # a failure of a digital system, reported to the desk:
  curl -s -X POST http://%[2]s/_control/faults -d '{"kind":"fault","code":"E_DB","count":1}'
  curl -s -H "$K" %[1]s/v1/persons/880101300010/documents -H 'Kopir-Service-Name: Import licence' \
    -H 'Kopir-Application-Id: KZ-LIC-2026-00017' -H 'Kopir-Recipient-Id: 880101300010' \
    -H "Kopir-Authorized-At: $(date -Iseconds)"
  curl -s -H "$K" %[1]s/v1/failure-reports
  curl -s http://%[6]s/messages
  curl -s http://%[8]s/metrics | grep ^kopir_

Ctrl-C stops everything.
`, api, shepLn.Addr(), payLn.Addr(), cfgPath, pki, mailLn.Addr(), smtpLn.Addr(), opsLn.Addr(), apiKey, keyFile)
	}

	// The mocks outlive the gateway: at Ctrl-C the gateway drains its
	// outbox into the mock mailbox, and only then do the mocks stop.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mocksCtx, stopMocks := context.WithCancel(context.WithoutCancel(ctx))
	defer stopMocks()
	var wg sync.WaitGroup
	errs := make([]error, 5)
	run := func(i int, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = f(); errs[i] != nil {
				cancel()
			}
		}()
	}
	for i, s := range []struct {
		ln      net.Listener
		h       http.Handler
		release func()
	}{{shepLn, shepMock, shepMock.Close}, {payLn, payMock, payMock.Close}, {mailLn, mailbox.Handler(), nil}} {
		run(i, func() error { return serve(mocksCtx, s.ln, s.h, s.release) })
	}
	run(3, func() error {
		go func() { <-mocksCtx.Done(); mailbox.Close() }()
		return mailbox.Serve(smtpLn)
	})
	run(4, func() error {
		defer stopMocks()
		return runGateway(ctx, cfg, apiLn, opsLn, log, e.getenv, banner)
	})
	// The mock payment gateway pushes its payments once the gateway takes
	// them, as the real one notifies each payment made.
	go pushDefaults(ctx, payMock.pusher, log.With("component", "mock-payments"))
	wg.Wait()
	lns = nil // served and closed
	if err := errors.Join(errs...); err != nil {
		return fail(err)
	}
	fmt.Fprintln(e.stdout, "Kopir stopped.")
	return 0
}

// writeDevConfig writes kopir up's configuration to path, unless the file
// there was edited since kopir up last wrote it (its SHA-256 is kept in
// path.sha256): then the edits are kept, and what would have been written
// goes to path.generated. It reports whether it kept an edited file.
func writeDevConfig(path, text string) (kept bool, err error) {
	sumPath := path + ".sha256"
	if old, err := os.ReadFile(path); err == nil {
		sum, _ := os.ReadFile(sumPath)
		if fmt.Sprintf("%x", sha256.Sum256(old)) != strings.TrimSpace(string(sum)) {
			return true, os.WriteFile(path+".generated", []byte(text), 0o600)
		}
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return false, err
	}
	return false, os.WriteFile(sumPath, []byte(fmt.Sprintf("%x\n", sha256.Sum256([]byte(text)))), 0o600)
}

// devAPIKey reads the development API key from path, making it on first
// run, and returns it with its hash.
func devAPIKey(path string) (key, sum string, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, sum = access.NewKey()
		return key, sum, os.WriteFile(path, []byte(key+"\n"), 0o600)
	}
	if err != nil {
		return "", "", err
	}
	key = strings.TrimSpace(string(b))
	h := sha256.Sum256([]byte(key))
	return key, hex.EncodeToString(h[:]), nil
}

func runAPIKey(_ context.Context, e *env, args []string) int {
	if len(args) != 0 {
		fmt.Fprintln(e.stderr, "usage: kopir api-key\n\nPrints a new API key and, for the configuration's clients[].api_key_sha256, its hash.")
		return 2
	}
	key, sum := access.NewKey()
	fmt.Fprintf(e.stdout, "key:    %s\nsha256: %s\n", key, sum)
	return 0
}

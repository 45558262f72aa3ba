// Command kopirchaos kills Kopir with SIGKILL while it delivers failure
// reports, again and again, and counts what was lost and what was sent
// twice. Loopback only, bounded in kills and in time:
//
//	go build -o /tmp/kopir ./cmd/kopir
//	go run ./cmd/kopirchaos -kopir /tmp/kopir -kills 15 -reports 10
//
// Each round starts `kopir serve` on a fresh port set, files reports (each
// its own incident, so each its own mail), and kills the process when the
// mock mailbox is receiving a mail's data, half the time at once and half
// while the mailbox stalls before reading it. A last round lets it drain.
// Lost: reports accepted (202) that no mail carries. Repeated: mails whose
// Message-ID came before — what README says can happen, and how the desk
// tells.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	mailboxmock "github.com/kopir/kopir/mocks/mailbox"
	shepmock "github.com/kopir/kopir/mocks/shep"
	"github.com/kopir/kopir/signing/devpki"
)

func main() {
	kopir := flag.String("kopir", "kopir", "the kopir `binary`")
	kills := flag.Int("kills", 15, "how many times to SIGKILL it during delivery (1..100)")
	perRound := flag.Int("reports", 10, "reports filed each round (1..100)")
	budget := flag.Duration("timeout", 5*time.Minute, "the whole run's bound")
	flag.Parse()
	if *kills < 1 || *kills > 100 || *perRound < 1 || *perRound > 100 {
		fmt.Fprintln(os.Stderr, "kopirchaos: -kills and -reports are 1..100")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *budget)
	defer cancel()
	res, err := run(ctx, *kopir, *kills, *perRound)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kopirchaos:", err)
		os.Exit(1)
	}
	fmt.Printf("kills %d, reports accepted %d, mails %d, reports lost %d, mails repeated (same Message-ID) %d\n",
		res.kills, res.accepted, res.mails, res.lost, res.repeated)
	if res.lost > 0 {
		os.Exit(1)
	}
}

type result struct{ kills, accepted, mails, lost, repeated int }

func run(ctx context.Context, kopir string, kills, perRound int) (*result, error) {
	dir, err := os.MkdirTemp("", "kopirchaos")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	pki := filepath.Join(dir, "pki")
	if _, err := devpki.Ensure(pki, devpki.ECDSAP256); err != nil {
		return nil, err
	}
	// The mailbox outlives every Kopir; on the chosen data it asks for a kill.
	var mu sync.Mutex
	var killNow func()
	onData := func() {
		mu.Lock()
		k := killNow
		killNow = nil
		mu.Unlock()
		if k != nil {
			k()
		}
	}
	mb := mailboxmock.New(mailboxmock.Options{Logger: slog.New(slog.DiscardHandler), OnData: onData})
	smtpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go mb.Serve(smtpLn)
	defer mb.Close()

	gw := devpki.FilesFor(pki, "gateway")
	ca := filepath.Join(pki, devpki.CAFile)
	config := filepath.Join(dir, "kopir.yaml")
	res := &result{}
	accepted := map[string]bool{}
	for round := 0; round <= kills; round++ {
		api, ops := freePort(), freePort()
		cfg := fmt.Sprintf(`listen: %s
identity: {key: %q, cert: %q}
shep: {url: "http://127.0.0.1:1/", sender_id: chaos, trust: [%q]}
payments: {url: "http://127.0.0.1:1/", sender_id: chaos, trust: [%q]}
reports: {database: %q, from: chaos@kopir.test, smtp: {host: 127.0.0.1, port: %d, tls: none}, backoff_min: 100ms, backoff_max: 1s}
ops: {listen: %s, lame_duck: 10ms}
allow_anonymous: true
log: error
`, api, gw.Key, gw.Cert, ca, ca, filepath.Join(dir, "outbox.db"), smtpLn.Addr().(*net.TCPAddr).Port, ops)
		if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, kopir, "serve", "--config", config)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		if err := waitReady(ctx, "http://"+ops+"/readyz"); err != nil {
			cmd.Process.Kill()
			return nil, err
		}
		last := round == kills
		if !last {
			stall := round%2 == 1
			mu.Lock()
			killNow = func() { cmd.Process.Signal(syscall.SIGKILL) }
			mu.Unlock()
			if stall {
				// The mailbox stalls before reading this mail's data: the
				// kill lands while Kopir waits for the relay's answer.
				mb.Inject(mailboxmock.Fault{Kind: "delay", Delay: shepmock.Duration(300 * time.Millisecond), Count: 1})
			}
		}
		for i := range perRound {
			id, err := file(ctx, "http://"+api, fmt.Sprintf("chaos-%d-%d", round, i))
			if err != nil {
				if last {
					return nil, err
				}
				break // killed while filing: what was accepted counts
			}
			accepted[id] = true
		}
		if last {
			// Let it drain, then stop it.
			if err := drained(ctx, "http://"+api); err != nil {
				return nil, err
			}
			cmd.Process.Signal(syscall.SIGTERM)
			<-exited
			break
		}
		select {
		case <-exited:
			res.kills++
		case <-ctx.Done():
			cmd.Process.Kill()
			return nil, ctx.Err()
		}
		mu.Lock()
		killNow = nil
		mu.Unlock()
	}
	res.accepted = len(accepted)
	mailed := map[string]bool{}
	for _, m := range mb.Messages() {
		res.mails++
		if m.Resend {
			res.repeated++
		}
		text := mailText(m.Raw)
		for id := range accepted {
			if strings.Contains(text, id) {
				mailed[id] = true
			}
		}
	}
	for id := range accepted {
		if !mailed[id] {
			res.lost++
		}
	}
	return res, nil
}

// mailText is a mail's text/plain parts, decoded (quoted-printable or
// base64): where the report ids are.
func mailText(raw []byte) string {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	var out strings.Builder
	var walk func(h textproto.MIMEHeader, body io.Reader)
	walk = func(h textproto.MIMEHeader, body io.Reader) {
		mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(p.Header, p)
			}
		}
		if mt != "text/plain" {
			return
		}
		switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, body)
		}
		b, _ := io.ReadAll(body)
		out.Write(b)
	}
	walk(textproto.MIMEHeader(msg.Header), msg.Body)
	return out.String()
}

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(ctx context.Context, url string) error {
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.New("kopir never became ready")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// file posts a failure report and returns its id.
func file(ctx context.Context, api, system string) (string, error) {
	body := fmt.Sprintf(`{"system":%q,"error":"chaos","service_name":"Chaos","application_id":"KZ-CHAOS-1","recipient_id":"880101300010"}`, system)
	req, _ := http.NewRequestWithContext(ctx, "POST", api+"/v1/failure-reports", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusAccepted || out.ID == "" {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return out.ID, nil
}

// drained waits until no report is pending.
func drained(ctx context.Context, api string) error {
	for {
		resp, err := http.Get(api + "/v1/failure-reports?state=pending&limit=1")
		if err == nil {
			var out struct{ Reports []json.RawMessage }
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if len(out.Reports) == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.New("the outbox never drained")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

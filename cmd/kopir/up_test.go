package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// start runs a long-lived command until its banner names its API, and
// returns that URL and a stop function that returns the exit code.
// startBanner runs a long-lived command until its banner is printed, and
// returns its API's URL, a stop function that returns the exit code, its
// standard error, and the banner's other URLs by name ("mock mailbox").
func startBanner(t *testing.T, args []string, getenv func(string) string) (string, func() int, *lockedBuffer, map[string]string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &env{stdin: strings.NewReader(""), stdout: pw, stderr: stderr, getenv: getenv}, args)
		pw.Close()
	}()
	banner := make(chan map[string]string, 1)
	go func() {
		urls := map[string]string{}
		sc := bufio.NewScanner(pr)
		line := regexp.MustCompile(`^  ([a-zA-Z ]+?)\s+(http://[0-9.:]+)/`)
		for sc.Scan() {
			if m := line.FindStringSubmatch(sc.Text()); m != nil {
				urls[m[1]] = m[2]
			}
			if strings.HasPrefix(sc.Text(), "Ctrl-C") {
				banner <- urls
			}
		}
		io.Copy(io.Discard, pr)
	}()
	var urls map[string]string
	select {
	case urls = <-banner:
	case code := <-done:
		t.Fatalf("exited %d: %s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("no banner: %s", stderr.String())
	}
	stop := func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(15 * time.Second):
			t.Fatal("did not stop")
			return -1
		}
	}
	return urls["API"], stop, stderr, urls
}

// TestUp starts `kopir up` as the README's first command and drives one
// call through the gateway and the mock SHEP.
func TestUp(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	api, stop, stderr, urls := startBanner(t, []string{"up", "--data", data, "--listen", "127.0.0.1:0",
		"--shep-listen", "127.0.0.1:0", "--payments-listen", "127.0.0.1:0", "--mailbox-listen", "127.0.0.1:0",
		"--smtp-listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0"}, func(string) string { return "" })
	// Without the API key: 401. With it (kopir up made one): the call.
	resp, err := http.Get(api + "/v1/legal-entities/121140000109")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("no key: HTTP %d", resp.StatusCode)
	}
	key, err := os.ReadFile(filepath.Join(data, "api-key"))
	if err != nil {
		t.Fatal(err)
	}
	client := authClient{strings.TrimSpace(string(key))}
	resp, err = client.Get(api + "/v1/legal-entities/121140000109")
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		BIN                string `json:"bin"`
		RegistrationStatus struct {
			NameRU string `json:"name_ru"`
		} `json:"registration_status"`
	}
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 200 || e.BIN != "121140000109" || e.RegistrationStatus.NameRU != "Зарегистрирован" {
		t.Fatalf("HTTP %d %+v", resp.StatusCode, e)
	}
	// The mock payment gateway pushes its payments once the gateway is
	// up; a fee check answers from what was pushed.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err = client.Post(api+"/v1/fee-checks", "application/json",
			strings.NewReader(`{"payer":"850721400012","application":"KZ-LIC-2026-00019","kind":"reissue"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.Contains(string(b), `"status":"paid"`) && strings.Contains(string(b), `"source":"notification"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fee check: HTTP %d %s", resp.StatusCode, b)
		}
	}
	// And the mock can be told to push one more.
	pay := urls["mock payments"]
	resp, err = http.Post(pay+"/_control/notifications", "application/json", strings.NewReader(
		`{"reference":"PAY-2026-000300","payer_idn":"880101300010","amount":"4325.00","assign":"заявка KZ-LIC-2026-00040"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("push: HTTP %d", resp.StatusCode)
	}
	resp, err = client.Get(api + "/v1/payments/PAY-2026-000300")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the pushed payment: HTTP %d", resp.StatusCode)
	}

	// A failure of a digital system reaches the mock mailbox as a report.
	shep, mailbox := urls["mock SHEP"], urls["mock mailbox"]
	if shep == "" || mailbox == "" {
		t.Fatalf("banner URLs: %v", urls)
	}
	resp, err = client.Post(shep+"/_control/faults", "application/json", strings.NewReader(`{"kind":"fault","code":"E_DB","message":"database down"}`))
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("inject: %v %v", err, resp)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("GET", api+"/v1/persons/880101300010/documents", nil)
	req.Header.Set("Kopir-Service-Name", "Import%20licence")
	req.Header.Set("Kopir-Application-Id", "KZ-LIC-2026-00017")
	req.Header.Set("Kopir-Recipient-Id", "880101300010")
	req.Header.Set("Kopir-Authorized-At", time.Now().Add(-time.Minute).Format(time.RFC3339))
	if resp, err = client.Do(req); err != nil || resp.StatusCode != 502 {
		t.Fatalf("call through a failing SHEP: %v %v", err, resp)
	}
	var problem struct {
		Exchange struct {
			FailureReports string `json:"failure_reports"`
		}
	}
	json.NewDecoder(resp.Body).Decode(&problem)
	resp.Body.Close()
	if !strings.HasPrefix(problem.Exchange.FailureReports, "/v1/failure-reports?message_id=") {
		t.Fatalf("the problem does not lead to the report: %+v", problem)
	}
	var msgs []struct {
		Subject   string
		MessageID string `json:"message_id"`
	}
	for deadline := time.Now().Add(20 * time.Second); len(msgs) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := client.Get(mailbox + "/messages")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&msgs)
		resp.Body.Close()
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "Import licence") || !strings.Contains(msgs[0].Subject, "KZ-LIC-2026-00017") {
		t.Fatalf("mailbox: %+v", msgs)
	}
	resp, _ = client.Get(api + problem.Exchange.FailureReports + "&state=delivered")
	var list struct {
		Reports []struct{ ID string }
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Reports) != 1 {
		t.Fatalf("delivered reports: %+v", list)
	}
	// The operators' side: metrics count what happened, health answers.
	ops := urls["ops"]
	resp, err = client.Get(ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`kopir_upstream_requests_total{outcome="ok",service="GbdulInfoByBin_v2",system="shep"} 1`,
		`kopir_payment_notifications_total{outcome="stored"} 6`,
		`kopir_api_requests_total{code="401",method="GET",route="/v1/legal-entities/{bin}"} 1`,
		`kopir_failure_report_deliveries_total{result="ok"} 1`, "kopir_signing_certificate_expiry_timestamp_seconds "} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(b), "880101300010") || strings.Contains(string(b), "121140000109") {
		t.Error("personal data in metrics")
	}
	resp, err = client.Get(ops + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", err, resp)
	}
	resp.Body.Close()
	if code := stop(); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	cfg := filepath.Join(data, "kopir.yaml")
	if r := kopir(t, "", nil, "reports", "--config", cfg, "list"); r.code != 0 || !strings.Contains(r.stdout, list.Reports[0].ID) ||
		!strings.Contains(r.stdout, "delivered") || strings.Contains(r.stdout, "880101300010") {
		t.Errorf("reports list: %+v", r)
	}
	if r := kopir(t, "", nil, "reports", "--config", cfg, "show", list.Reports[0].ID, "--eml"); r.code != 0 ||
		!strings.Contains(r.stdout, "Message-ID: <"+msgs[0].MessageID+">") {
		t.Errorf("reports show --eml: %+v", r.stderr)
	}
	// Evidence holds XML: shown as XML, not as \u003c.
	if r := kopir(t, "", nil, "reports", "--config", cfg, "show", list.Reports[0].ID); r.code != 0 ||
		strings.Contains(r.stdout, `\u003c`) || !strings.Contains(r.stdout, "<") {
		t.Errorf("reports show: %+v", r.stdout)
	}
	if r := kopir(t, "", nil, "reports", "--config", cfg, "resend", list.Reports[0].ID); r.code != 0 {
		t.Errorf("reports resend: %+v", r)
	}
	if r := kopir(t, "", nil, "reports", "--config", cfg, "list", "--state", "pending", "--json"); r.code != 0 ||
		!strings.Contains(r.stdout, `"state":"pending"`) {
		t.Errorf("after resend: %+v", r)
	}
	if r := kopir(t, "", nil, "reports", "--config", cfg, "show", "nope"); r.code != 1 {
		t.Errorf("show unknown: %+v", r)
	}
	for _, f := range []string{"pki/gateway.p12", "pki/mock-shep.pem", "pki/mock-payments.pem", "kopir.yaml", "kopir-outbox.db"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Errorf("kopir up did not make %s: %v", f, err)
		}
	}
	if strings.Contains(stderr.String(), "121140000109") || strings.Contains(stderr.String(), "850721400012") {
		t.Error("a BIN or IIN reached the logs unmasked")
	}
	// The configuration it wrote is one `kopir config check` accepts.
	if r := kopir(t, "", nil, "config", "check", filepath.Join(data, "kopir.yaml")); r.code != 0 {
		t.Fatalf("config check of kopir up's configuration: %+v", r)
	}
}

func TestConfigCheck(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("listen: 1\nshep: {url: ftp://x}\n"), 0o644)
	r := kopir(t, "", nil, "config", "check", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "shep.url") || !strings.Contains(r.stderr, "identity") {
		t.Fatalf("%+v", r)
	}
	if r := kopir(t, "", nil, "config"); r.code != 2 {
		t.Fatalf("usage: %+v", r)
	}
	if r := kopir(t, "", nil, "serve", "--config", bad); r.code != 2 || !strings.Contains(r.stderr, "shep.url") {
		t.Fatalf("serve with a bad configuration: %+v", r)
	}
}

// authClient sends the API key with every request.
type authClient struct{ key string }

func (c authClient) Do(req *http.Request) (*http.Response, error) {
	req.Header.Set("Authorization", "Bearer "+c.key)
	return http.DefaultClient.Do(req)
}

func (c authClient) Get(url string) (*http.Response, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}

func (c authClient) Post(url, contentType string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest("POST", url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	return c.Do(req)
}

// TestShutdownDrains: Ctrl-C while a call is in flight lets the call
// finish before Kopir exits.
func TestShutdownDrains(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	api, stop, stderr, urls := startBanner(t, []string{"up", "--data", data, "--listen", "127.0.0.1:0",
		"--shep-listen", "127.0.0.1:0", "--payments-listen", "127.0.0.1:0", "--mailbox-listen", "127.0.0.1:0",
		"--smtp-listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0"}, func(string) string { return "" })
	key, _ := os.ReadFile(filepath.Join(data, "api-key"))
	client := authClient{strings.TrimSpace(string(key))}
	resp, err := http.Post(urls["mock SHEP"]+"/_control/faults", "application/json", strings.NewReader(`{"kind":"delay","delay":"1500ms","count":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := client.Get(api + "/v1/legal-entities/121140000109")
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	// Wait until the call is inside the mock SHEP, then stop.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(urls["mock SHEP"] + "/_control/calls")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "GbdulInfoByBin_v2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the call never reached the mock: %s", b)
		}
	}
	stopped := make(chan int, 1)
	go func() { stopped <- stop() }()
	r := <-done
	if r.err != nil || r.status != 200 {
		t.Fatalf("the call in flight at shutdown: %d %v", r.status, r.err)
	}
	if code := <-stopped; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	// And nothing new is taken once stopped.
	if _, err := client.Get(api + "/v1/legal-entities/121140000109"); err == nil {
		t.Error("a call served after shutdown")
	}
}

// TestUpKeepsEdits: kopir up rewrites its configuration only while nobody
// edited it; an edited one is kept, and what it would write goes beside it.
func TestUpKeepsEdits(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"up", "--data", data, "--listen", "127.0.0.1:0", "--shep-listen", "127.0.0.1:0", "--payments-listen", "127.0.0.1:0",
		"--mailbox-listen", "127.0.0.1:0", "--smtp-listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0"}
	noenv := func(string) string { return "" }
	cfg := filepath.Join(data, "kopir.yaml")
	_, stop, _, _ := startBanner(t, args, noenv)
	stop()
	first, _ := os.ReadFile(cfg)
	// Unedited: written anew (the ports differ run to run).
	_, stop, stderr, _ := startBanner(t, args, noenv)
	stop()
	second, _ := os.ReadFile(cfg)
	if bytes.Equal(first, second) || strings.Contains(stderr.String(), "was edited") {
		t.Fatal("an unedited configuration was not rewritten")
	}
	if _, err := os.Stat(cfg + ".generated"); err == nil {
		t.Fatal(".generated written for an unedited configuration")
	}
	edited := bytes.Replace(second, []byte("window: 1m"), []byte("window: 2m"), 1)
	os.WriteFile(cfg, edited, 0o600)
	_, stop, stderr, _ = startBanner(t, args, noenv)
	stop()
	if got, _ := os.ReadFile(cfg); !bytes.Equal(got, edited) {
		t.Fatal("the edited configuration was overwritten")
	}
	if gen, err := os.ReadFile(cfg + ".generated"); err != nil || !bytes.Contains(gen, []byte("window: 1m")) {
		t.Fatalf("no generated configuration beside it: %v", err)
	}
	if !strings.Contains(stderr.String(), "was edited") {
		t.Fatalf("kopir up did not say it kept the edits:\n%s", stderr.String())
	}
}

// TestLameDuck: at shutdown readiness turns 503 while the API still
// answers, for ops.lame_duck, and only then does the listener close.
func TestLameDuck(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"up", "--data", data, "--listen", "127.0.0.1:0", "--shep-listen", "127.0.0.1:0", "--payments-listen", "127.0.0.1:0",
		"--mailbox-listen", "127.0.0.1:0", "--smtp-listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0"}
	noenv := func(string) string { return "" }
	_, stop, _, _ := startBanner(t, args, noenv)
	stop()
	cfg := filepath.Join(data, "kopir.yaml")
	b, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(b, []byte("lame_duck: 200ms"), []byte("lame_duck: 3s"), 1), 0o600)
	api, stop, _, urls := startBanner(t, args, noenv)
	key, _ := os.ReadFile(filepath.Join(data, "api-key"))
	client := authClient{strings.TrimSpace(string(key))}
	stopped := make(chan int, 1)
	go func() { stopped <- stop() }()
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(urls["ops"] + "/readyz")
		if err != nil {
			t.Fatalf("readyz went away before the lame-duck period: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readiness never turned 503")
		}
	}
	resp, err := client.Get(api + "/v1/fees?kind=issue&date=2026-06-01")
	if err != nil {
		t.Fatalf("not ready, the API must still answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("during the lame-duck period: HTTP %d", resp.StatusCode)
	}
	select {
	case <-stopped:
		t.Fatal("stopped before the lame-duck period ended")
	default:
	}
	if code := <-stopped; code != 0 {
		t.Fatalf("exit %d", code)
	}
}

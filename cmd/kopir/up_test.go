package main

import (
	"bufio"
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
func start(t *testing.T, args []string, getenv func(string) string) (string, func() int, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &env{stdin: strings.NewReader(""), stdout: pw, stderr: stderr, getenv: getenv}, args)
		pw.Close()
	}()
	url := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := regexp.MustCompile(`^  API\s+(http://[0-9.:]+)/`).FindStringSubmatch(sc.Text()); m != nil {
				url <- m[1]
			}
		}
		close(url)
	}()
	var api string
	select {
	case api = <-url:
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
	return api, stop, stderr
}

// TestUp starts `kopir up` as the README's first command and drives one
// call through the gateway and the mock SHEP.
func TestUp(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	api, stop, stderr := start(t, []string{"up", "--data", data, "--listen", "127.0.0.1:0",
		"--shep-listen", "127.0.0.1:0", "--payments-listen", "127.0.0.1:0"}, func(string) string { return "" })
	resp, err := http.Get(api + "/v1/legal-entities/121140000109")
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ BIN, Status string }
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 200 || e.BIN != "121140000109" || e.Status != "active" {
		t.Fatalf("HTTP %d %+v", resp.StatusCode, e)
	}
	resp, err = http.Post(api+"/v1/fee-checks", "application/json", strings.NewReader(`{"payer":"850721400012","kind":"reissue"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"status":"paid"`) {
		t.Fatalf("fee check: HTTP %d %s", resp.StatusCode, b)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, f := range []string{"pki/gateway.p12", "pki/mock-shep.pem", "pki/mock-payments.pem", "kopir.yaml"} {
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

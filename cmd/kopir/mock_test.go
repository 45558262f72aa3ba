package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a buffer servers log into while a test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestMockSHEPCommand runs `kopir mock shep` as a tester would, then the
// README's example: a request signed with the development key, answered,
// verified; a fault injected through the control API; Ctrl-C.
func TestMockSHEPCommand(t *testing.T) {
	pki := filepath.Join(t.TempDir(), "pki")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &env{stdin: strings.NewReader(""), stdout: pw, stderr: &stderr, getenv: func(string) string { return "" }},
			[]string{"mock", "shep", "--listen", "127.0.0.1:0", "--pki", pki})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no banner: %v; stderr: %s", err, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	base := regexp.MustCompile(`http://[0-9.:]+/`).FindString(line)
	if base == "" {
		t.Fatalf("banner %q", line)
	}

	post := func() (int, string) {
		// Signed anew each time: the mock refuses a request it has seen.
		signed := kopir(t, "", nil, "sign", "--key", filepath.Join(pki, "gateway-key.pem"), "--cert", filepath.Join(pki, "gateway.pem"),
			"../../mocks/shep/testdata/get-person.xml")
		if signed.code != 0 {
			t.Fatalf("sign: %+v", signed)
		}
		req, _ := http.NewRequest(http.MethodPost, base, strings.NewReader(signed.stdout))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", "SendMessage")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, answer := post()
	// Answers are signed as SHEP signs them (protocol.md §5, layout 2): the
	// certificate is not in the message, so only a pinned one verifies it.
	pin := []string{"verify", "--pin", filepath.Join(pki, "mock-shep.pem"), "--no-timestamp"}
	verified := kopir(t, answer, nil, pin...)
	if code != 200 || verified.code != 0 || !strings.Contains(verified.stdout, "Сейтқали") || !strings.Contains(verified.stderr, "Mock SHEP") {
		t.Fatalf("HTTP %d, verify %+v", code, verified)
	}
	if !strings.Contains(answer, "<ds:X509IssuerSerial>") || strings.Contains(answer, "Timestamp") || strings.Contains(answer, "BinarySecurityToken") {
		t.Errorf("the answer is not in SHEP's layout:\n%s", answer)
	}
	if r := kopir(t, answer, nil, "verify", "--trust", filepath.Join(pki, "ca.pem"), "--no-timestamp"); r.code != 1 || !strings.Contains(r.stderr, "untrusted") {
		t.Errorf("verified by a CA alone: %+v", r)
	}

	resp, err := http.Post(base+"_control/faults", "application/json", strings.NewReader(`{"kind":"fault","code":"E_DB","count":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, answer = post(); code != 500 || !strings.Contains(answer, "<errorCode>E_DB</errorCode>") {
		t.Fatalf("injected fault: HTTP %d %s", code, answer)
	}
	if kopir(t, answer, nil, pin...).code != 0 {
		t.Fatal("the mock's fault is not signed")
	}
	if strings.Contains(stderr.String(), "900515400014") {
		t.Error("the mock logged an IIN")
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the mock did not stop on cancel")
	}
	if _, err := os.Stat(filepath.Join(pki, "mock-shep.p12")); err != nil {
		t.Fatalf("the development PKI was not made on first run: %v", err)
	}
}

// TestMockNCANodeCommand runs `kopir mock ncanode` and signs through its
// JSON API as Kopir's NCANode back end does: the NCA's GOST test key file
// and its password in the request, the signed envelope in the answer, a
// wrong password a 400 in NCANode's error shape.
func TestMockNCANodeCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &env{stdin: strings.NewReader(""), stdout: pw, stderr: &stderr, getenv: func(string) string { return "" }},
			[]string{"mock", "ncanode", "--listen", "127.0.0.1:0"})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no banner: %v; stderr: %s", err, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	base := regexp.MustCompile(`http://[0-9.:]+/`).FindString(line)
	key, err := os.ReadFile("../../signing/pkcs12/testdata/nca-gost2004.p12")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		password string
		status   int
		want     string
	}{{"Qwerty12", 200, "gost34310-gost34311"}, {"wrong", 400, `"status":400`}} {
		body, _ := json.Marshal(map[string]string{"xml": `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x/></s:Body></s:Envelope>`,
			"key": base64.StdEncoding.EncodeToString(key), "password": tc.password})
		resp, err := http.Post(base+"wsse/sign", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
			t.Fatalf("password %q: HTTP %d %s", tc.password, resp.StatusCode, b)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the mock did not stop on cancel")
	}
}

// TestMockSHEPWithNCAKey: `kopir mock shep --p12` signs its answers with an
// NCA GOST key file as it is. The test key's certificate expired in 2023,
// so its answer today verifies up to the certificate's dates, and no
// further: refused as cert_expired, after the GOST signature checked.
func TestMockSHEPWithNCAKey(t *testing.T) {
	pki := filepath.Join(t.TempDir(), "pki")
	base := startMock(t, func(string) string { return "Aa123456" }, "shep", "--listen", "127.0.0.1:0", "--pki", pki,
		"--p12", "../../signing/pkcs12/testdata/nca-gost2015.p12", "--password-env", "PW", "--layout", "smart-bridge")
	signed := kopir(t, "", nil, "sign", "--key", filepath.Join(pki, "gateway-key.pem"), "--cert", filepath.Join(pki, "gateway.pem"),
		"../../mocks/shep/testdata/get-person.xml")
	resp, err := http.Post(base, "text/xml; charset=utf-8", strings.NewReader(signed.stdout))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(answer), "gostr34102015-gostr34112015-512") {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, answer)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	der, _ := os.ReadFile("../../signing/gost/testdata/nca/ca-gost2015.der")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	if r := kopir(t, string(answer), nil, "verify", "--trust", ca, "--no-timestamp"); r.code != 1 || !strings.Contains(r.stderr, "cert_expired") {
		t.Fatalf("verify: %+v", r)
	}
}

// startMock runs `kopir mock` with args until the test ends and returns
// its base URL.
func startMock(t *testing.T, getenv func(string) string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &env{stdin: strings.NewReader(""), stdout: pw, stderr: &stderr, getenv: getenv}, append([]string{"mock"}, args...))
		pw.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no banner: %v; stderr: %s", err, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	return regexp.MustCompile(`http://[0-9.:]+/`).FindString(line)
}

// TestMockSenderFlag: --sender ID=ENV admits that sender with the
// password in ENV, and refuses any other password with its own code.
func TestMockSenderFlag(t *testing.T) {
	pki := filepath.Join(t.TempDir(), "pki")
	for _, tc := range []struct {
		password string // the mock's, in $SENDER_PW; the request says "x"
		status   int
		code     string
	}{
		{"x", 200, ""},
		{"other", 500, "SENDER_NOT_AUTHORIZED"},
	} {
		base := startMock(t, func(string) string { return tc.password }, "shep", "--listen", "127.0.0.1:0", "--pki", pki, "--sender", "tester=SENDER_PW")
		signed := kopir(t, "", nil, "sign", "--key", filepath.Join(pki, "gateway-key.pem"), "--cert", filepath.Join(pki, "gateway.pem"),
			"../../mocks/shep/testdata/get-person.xml")
		resp, err := http.Post(base, "text/xml; charset=utf-8", strings.NewReader(signed.stdout))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.code) {
			t.Errorf("password %q: HTTP %d %s", tc.password, resp.StatusCode, b)
		}
	}
	if r := kopir(t, "", nil, "mock", "shep", "--sender", "tester"); r.code != 2 {
		t.Errorf("--sender without =ENV: %+v", r)
	}
}

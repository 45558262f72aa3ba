package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopir/kopir/signing"
)

type result struct {
	code           int
	stdout, stderr string
}

func kopir(t *testing.T, stdin string, environ map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return environ[k] }}
	code := run(context.Background(), e, args)
	return result{code, out.String(), errb.String()}
}

func TestSignVerifyCLI(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	if r := kopir(t, "", nil, "dev-pki", "--out", pki); r.code != 0 || !strings.Contains(r.stdout, "gateway.p12") {
		t.Fatalf("dev-pki: %+v", r)
	}
	if r := kopir(t, "", nil, "dev-pki", "--out", pki); r.code != 0 || !strings.Contains(r.stderr, "left as it is") {
		t.Fatalf("dev-pki again must keep the set: %+v", r)
	}
	password, err := os.ReadFile(filepath.Join(pki, "p12-password"))
	if err != nil {
		t.Fatal(err)
	}
	envelope, err := os.ReadFile("../../signing/testdata/envelopes/soap11-header.xml")
	if err != nil {
		t.Fatal(err)
	}

	viaP12 := kopir(t, string(envelope), map[string]string{"P12_PASSWORD": strings.TrimSpace(string(password))},
		"sign", "--p12", filepath.Join(pki, "gateway.p12"), "--password-env", "P12_PASSWORD")
	if viaP12.code != 0 {
		t.Fatalf("sign --p12: %+v", viaP12)
	}
	src := filepath.Join(dir, "in.xml")
	os.WriteFile(src, envelope, 0o644)
	viaPEM := kopir(t, "", nil, "sign", "--key", filepath.Join(pki, "gateway-key.pem"), "--cert", filepath.Join(pki, "gateway.pem"), src)
	if viaPEM.code != 0 {
		t.Fatalf("sign --key: %+v", viaPEM)
	}

	for name, signed := range map[string]string{"p12": viaP12.stdout, "pem": viaPEM.stdout} {
		r := kopir(t, signed, nil, "verify", "--trust", filepath.Join(pki, "ca.pem"))
		if r.code != 0 || !strings.HasPrefix(r.stdout, "<soapenv:Body") || !strings.Contains(r.stderr, "BIN=260110000120") {
			t.Fatalf("%s: verify: %+v", name, r)
		}
		if strings.Contains(r.stderr, "880101300010") {
			t.Fatalf("%s: the signer's IIN was printed unmasked: %s", name, r.stderr)
		}
		tampered := strings.Replace(signed, "GBDFL_UniversalServiceSync", "GBDUL_UniversalServiceSync", 1)
		r = kopir(t, tampered, nil, "verify", "--trust", filepath.Join(pki, "ca.pem"))
		if r.code != 1 || !strings.Contains(r.stderr, "refused (digest_mismatch)") {
			t.Fatalf("%s: tampered: %+v", name, r)
		}
		// Trusting another set's CA refuses the signer.
		other := filepath.Join(dir, "other")
		kopir(t, "", nil, "dev-pki", "--out", other)
		r = kopir(t, signed, nil, "verify", "--trust", filepath.Join(other, "ca.pem"))
		if r.code != 1 || !strings.Contains(r.stderr, "refused (untrusted)") {
			t.Fatalf("%s: foreign trust: %+v", name, r)
		}
	}

	// What the CLI signs verifies with xmlsec1.
	if xmlsec, err := exec.LookPath("xmlsec1"); err == nil {
		out := filepath.Join(dir, "signed.xml")
		os.WriteFile(out, []byte(viaP12.stdout), 0o644)
		cmd := exec.Command(xmlsec, "--verify", "--pubkey-cert-pem", filepath.Join(pki, "gateway.pem"),
			"--id-attr:Id", signing.NSWSU+":Timestamp", "--id-attr:Id", signing.NSSOAP11+":Body", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("xmlsec1: %v\n%s", err, b)
		}
	} else if os.Getenv("KOPIR_REQUIRE_TOOLS") != "" {
		t.Fatal("xmlsec1 is required")
	}
	// OpenSSL reads the PKCS#12 files (it is what NCA key holders use).
	if openssl, err := exec.LookPath("openssl"); err == nil {
		cmd := exec.Command(openssl, "pkcs12", "-in", filepath.Join(pki, "gateway.p12"), "-passin", "file:"+filepath.Join(pki, "p12-password"), "-noout")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl pkcs12: %v\n%s", err, b)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage: kopir"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"sign"}, 2, "give --key and --cert, or --p12"},
		{[]string{"sign", "--p12", "x.p12"}, 2, "password"},
		{[]string{"sign", "--key", "nope.pem", "--cert", "nope.pem"}, 1, "no such file"},
		{[]string{"verify"}, 2, "usage: kopir verify"},
		{[]string{"verify", "--trust", "nope.pem"}, 2, "no such file"},
		{[]string{"dev-pki"}, 2, "usage: kopir dev-pki"},
		{[]string{"sign", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"dev-pki", "--out", "x", "--key-type", "bogus"}, 2, "not rsa2048 or p256"},
	}
	for _, tt := range tests {
		r := kopir(t, "", nil, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("kopir %v: code %d, stderr %q; want %d and %q", tt.args, r.code, r.stderr, tt.code, tt.want)
		}
	}
}

// TestHelpAndVersion: help, at the top or after any sub-command, is
// written to stdout and exits 0, and never runs the command (config
// check --help opens no file named --help); kopir version says what the
// binary was built from.
func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"-h"}, {"config", "check", "--help"}, {"sign", "--help"},
		{"up", "-h"}, {"reports", "list", "--help"}, {"reports", "--config", "x.yaml", "show", "-help"}, {"mock", "shep", "--help"},
		{"serve", "--help"}, {"api-key", "-h"}} {
		r := kopir(t, "", nil, args...)
		if r.code != 0 || r.stdout == "" || r.stderr != "" || !strings.Contains(strings.ToLower(r.stdout), "usage") {
			t.Errorf("kopir %v: code %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	for _, v := range [][]string{{"version"}, {"--version"}} {
		if r := kopir(t, "", nil, v...); r.code != 0 || !strings.HasPrefix(r.stdout, "kopir ") || !strings.Contains(r.stdout, "go1.") {
			t.Errorf("kopir %v: %d %q", v, r.code, r.stdout)
		}
	}
	if r := kopir(t, "", nil, "version", "extra"); r.code != 2 {
		t.Errorf("version extra: %d", r.code)
	}
}

// TestReportsFlags: --config is taken after the sub-command too, and an
// unknown state is refused, not an empty list.
func TestReportsFlags(t *testing.T) {
	if r := kopir(t, "", nil, "reports", "list", "--config", "/nonexistent/kopir.yaml"); r.code != 1 || !strings.Contains(r.stderr, "/nonexistent/kopir.yaml") {
		t.Errorf("--config after list: %d %q", r.code, r.stderr)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kopir.yaml")
	os.WriteFile(cfg, []byte("allow_anonymous: true\nidentity: {key: k.pem, cert: c.pem}\n"), 0o600)
	if r := kopir(t, "", nil, "reports", "list", "--state", "bogus", "--config="+cfg); r.code != 2 || !strings.Contains(r.stderr, "bogus") {
		t.Errorf("--state bogus: %d %q", r.code, r.stderr)
	}
}

// TestNCAFilesCLI: the CLI reads the NCA's key files as Kalkan wrote them
// and signs with GOST (verified by the NCA test CA that issued the key,
// at a time it was valid), and verifies an envelope Kalkan signed in the
// Smart Bridge layout, the certificate pinned, no Timestamp.
func TestNCAFilesCLI(t *testing.T) {
	const sig = "../../signing/"
	r := kopir(t, "", nil, "verify", "--no-timestamp", "--pin", sig+"testdata/wire/nca-smartbridge-rsa.pem",
		"--at", "2021-06-01T09:00:00Z", sig+"testdata/wire/nca-smartbridge-rsa.xml")
	if r.code != 0 || !strings.Contains(r.stdout, "GBDFL_UniversalServiceSync") {
		t.Fatalf("verify the Kalkan-signed envelope: %+v", r)
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	der, err := os.ReadFile(sig + "gost/testdata/nca/ca-gost2004.der")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	envelope, err := os.ReadFile(sig + "testdata/envelopes/soap11-header.xml")
	if err != nil {
		t.Fatal(err)
	}
	signed := kopir(t, string(envelope), map[string]string{"PW": "Qwerty12"},
		"sign", "--p12", sig+"pkcs12/testdata/nca-gost2004.p12", "--password-env", "PW", "--layout", "smart-bridge")
	if signed.code != 0 || !strings.Contains(signed.stdout, "gost34310-gost34311") || !strings.Contains(signed.stdout, "KeyIdentifier") ||
		strings.Contains(signed.stdout, "Timestamp") {
		t.Fatalf("sign with the NCA GOST key in the Smart Bridge layout: %+v", signed)
	}
	// The key's certificate expired in 2023: as of now it is refused, as of
	// a moment of its life (with --at; the layout has no Timestamp) it
	// verifies, through the NCA test CA's GOST signature.
	r = kopir(t, signed.stdout, nil, "verify", "--trust", ca, "--no-timestamp")
	if r.code != 1 || !strings.Contains(r.stderr, "cert_expired") {
		t.Fatalf("verify now: %+v", r)
	}
	r = kopir(t, signed.stdout, nil, "verify", "--trust", ca, "--no-timestamp", "--at", "2022-06-01T09:00:00Z")
	if r.code != 0 || !strings.Contains(r.stderr, "IIN") {
		t.Fatalf("verify in 2022: %+v", r)
	}
	// A payload, signed enveloped with the GOST 2015 key, verified the same
	// way: the Kalkan-signed one first.
	r = kopir(t, "", nil, "verify", "--enveloped", "--pin", sig+"testdata/wire/nca-smartbridge-rsa.pem",
		"--at", "2021-06-01T09:00:00Z", sig+"testdata/wire/nca-enveloped-rsa.xml")
	if r.code != 0 || r.stdout != "<a><b>test</b></a>" {
		t.Fatalf("verify --enveloped the Kalkan-signed document: %+v", r)
	}
	payload := kopir(t, `<Request xmlns="http://gbdulinfobybin_v2.egp.gbdul.tamur.kz"><BIN xmlns="">121140000109</BIN></Request>`,
		map[string]string{"PW": "Aa123456"}, "sign", "--enveloped", "--p12", sig+"pkcs12/testdata/nca-gost2015.p12", "--password-env", "PW")
	if payload.code != 0 || !strings.Contains(payload.stdout, "gostr34102015-gostr34112015-512") {
		t.Fatalf("sign --enveloped: %+v", payload)
	}
	ca15 := filepath.Join(dir, "ca15.pem")
	der15, _ := os.ReadFile(sig + "gost/testdata/nca/ca-gost2015.der")
	os.WriteFile(ca15, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der15}), 0o644)
	r = kopir(t, payload.stdout, nil, "verify", "--enveloped", "--trust", ca15, "--at", "2023-01-10T00:00:00Z")
	if r.code != 0 || !strings.Contains(r.stdout, "121140000109") {
		t.Fatalf("verify --enveloped the GOST-signed payload: %+v", r)
	}
	wrong := kopir(t, string(envelope), map[string]string{"PW": "nope"},
		"sign", "--p12", sig+"pkcs12/testdata/nca-gost2004.p12", "--password-env", "PW")
	if wrong.code == 0 || !strings.Contains(wrong.stderr, "wrong password") {
		t.Fatalf("a wrong password: %+v", wrong)
	}
}

// TestCell: what a back end wrote stays in its cell of kopir reports list.
func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "-",
		"Импорт лицензиясы":          "Импорт лицензиясы",
		"a\tb\nc\x1b[2Jd":            "a?b?c?[2Jd",
		strings.Repeat("ж", 50):      strings.Repeat("ж", 39) + "…",
		"fake\nID  RECEIVED  SYSTEM": "fake?ID  RECEIVED  SYSTEM",
	} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

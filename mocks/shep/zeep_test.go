package shepmock_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	shepmock "github.com/kopir/kopir/mocks/shep"
	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/devpki"
)

// zeepPython is Debian's python3 with python3-zeep and python3-xmlsec;
// the test is skipped without them, unless KOPIR_REQUIRE_TOOLS is set (as
// CI sets it), where their absence is a failure.
func zeepPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(py); err == nil && exec.Command(path, "-c", "import zeep, xmlsec").Run() == nil {
			return path
		}
	}
	if os.Getenv("KOPIR_REQUIRE_TOOLS") != "" {
		t.Fatal("python3 with zeep and xmlsec is required (KOPIR_REQUIRE_TOOLS is set): apt-get install python3-zeep python3-xmlsec")
	}
	t.Skip("python3-zeep and python3-xmlsec not installed")
	return ""
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestZeepTalksToTheMock: a client zeep generates from the mock's WSDL
// signs requests the mock accepts, and gets answers in SHEP's layout whose
// signature zeep's own code verifies against the pinned certificate, and
// whose fields and faults it reads from the WSDL's types.
func TestZeepTalksToTheMock(t *testing.T) {
	py := zeepPython(t)
	ca, err := devpki.NewCA(devpki.RSA2048)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(s devpki.Subject) *devpki.Leaf {
		l, err := ca.Issue(devpki.RSA2048, s, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	client, mockKey, stranger := issue(devpki.GatewaySubject), issue(devpki.MockSHEPSubject), issue(devpki.MockSHEPSubject)
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(client.Key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "client-key.pem"), "PRIVATE KEY", keyDER)
	writePEM(t, filepath.Join(dir, "client.pem"), "CERTIFICATE", client.Chain[0].Raw)
	writePEM(t, filepath.Join(dir, "mock.pem"), "CERTIFICATE", mockKey.Chain[0].Raw)
	writePEM(t, filepath.Join(dir, "stranger.pem"), "CERTIFICATE", stranger.Chain[0].Raw)

	signer, err := signing.NewSigner(mockKey.Key, mockKey.Chain, signing.SignerOptions{Layout: signing.LayoutSHEP})
	if err != nil {
		t.Fatal(err)
	}
	// zeep signs the Body and no Timestamp.
	verifier, err := signing.NewVerifier(signing.Policy{Roots: []*x509.Certificate{ca.Cert}, Required: []signing.Part{signing.PartBody}})
	if err != nil {
		t.Fatal(err)
	}
	mock, err := shepmock.New(shepmock.Config{Signer: signer, Verifier: verifier})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	defer srv.Close()
	defer mock.Close()

	type answer struct {
		MessageID, CorrelationID, Status, Data string
		Fault, ErrorCode, ErrorMessage         string
		Signature                              string
	}
	call := func(peer, service, iin string) answer {
		t.Helper()
		cmd := exec.Command(py, "testdata/zeep_client.py", srv.URL+"/?wsdl", filepath.Join(dir, "client-key.pem"),
			filepath.Join(dir, "client.pem"), filepath.Join(dir, peer), service, iin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("zeep: %v\n%s", err, stderr.String())
		}
		var a answer
		if err := json.Unmarshal(out, &a); err != nil {
			t.Fatalf("zeep printed %q: %v", out, err)
		}
		return a
	}

	// GBD UL's request, its payload signed enveloped by xmlsec, is taken
	// (the mock checks that signature as GBD UL would); the answer, an
	// escaped document, is what zeep reads.
	const ul = "GbdulInfoByBin_v2"
	before := mock.Calls(ul)
	a := call("mock.pem", ul, "121140000109")
	t.Logf("zeep read: status %s, correlationId %s, %d bytes of data", a.Status, a.CorrelationID, len(a.Data))
	if a.Status != "SCSS001" || a.CorrelationID != a.MessageID || !strings.Contains(a.Data, "<ns3:responseDataType") ||
		!strings.Contains(a.Data, "Сейтқали") {
		t.Errorf("zeep's answer: %+v", a)
	}
	if mock.Calls(ul) != before+1 {
		t.Error("the mock did not count zeep's call")
	}
	if a := call("mock.pem", "NO_SUCH_SERVICE", "900515400014"); a.ErrorCode != shepmock.CodeUnknownService || a.Fault == "" {
		t.Errorf("zeep's fault: %+v", a)
	}
	// The same answer, checked against a certificate that did not sign it:
	// zeep refuses it, so its acceptance above is a verification.
	if a := call("stranger.pem", ul, "121140000109"); a.Signature != "refused" {
		t.Errorf("zeep accepted an answer against the wrong certificate: %+v", a)
	}
}

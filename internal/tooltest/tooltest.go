// Package tooltest runs the tools nobody here wrote that the signing tests
// hold Kopir to — xmlsec1, xmllint, the OpenSSL gost engine, gostsum —
// skipping a test where one is missing, or failing it when
// KOPIR_REQUIRE_TOOLS is set (as CI sets it), so that interop is proven in
// CI, never skipped.
package tooltest

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Require returns the path of a tool.
func Require(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("KOPIR_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s is required (KOPIR_REQUIRE_TOOLS is set) but not installed", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// Run runs a tool, returning its standard output; its standard error is
// in the error.
func Run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, &Error{Err: err, Stderr: stderr.String(), Args: append([]string{name}, args...)}
	}
	return out, nil
}

// Error is a tool that failed.
type Error struct {
	Err    error
	Stderr string
	Args   []string
}

func (e *Error) Error() string {
	return strings.Join(e.Args, " ") + ": " + e.Err.Error() + ": " + e.Stderr
}

// OpenSSLGOST returns a function that runs openssl, which must have the
// gost engine (Debian's libengine-gost-openssl); the test fails on any
// error of the command.
func OpenSSLGOST(t testing.TB) func(args ...string) []byte {
	t.Helper()
	openssl := Require(t, "openssl")
	if _, err := Run(openssl, "engine", "gost"); err != nil {
		if os.Getenv("KOPIR_REQUIRE_TOOLS") != "" {
			t.Fatalf("the OpenSSL gost engine is required (libengine-gost-openssl): %v", err)
		}
		t.Skipf("no OpenSSL gost engine: %v", err)
	}
	return func(args ...string) []byte {
		t.Helper()
		out, err := Run(openssl, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

// Reversed is b's bytes in the opposite order: the NCA's little-endian
// numbers against OpenSSL's big-endian ones.
func Reversed(b []byte) []byte {
	r := bytes.Clone(b)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return r
}

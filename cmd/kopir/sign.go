package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/kopir/kopir/signing"
)

func runSign(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("kopir sign", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	keyFile := fs.String("key", "", "PEM private key `file`")
	certFile := fs.String("cert", "", "PEM certificate chain `file`, leaf first")
	p12File := fs.String("p12", "", "PKCS#12 `file` holding the key and its chain")
	passwordEnv := fs.String("password-env", "", "environment `variable` holding the PKCS#12 password")
	passwordFile := fs.String("password-file", "", "`file` holding the PKCS#12 password")
	ttl := fs.Duration("ttl", signing.DefaultTTL, "Timestamp lifetime")
	enveloped := fs.Bool("enveloped", false, "sign a whole XML document with an enveloped signature (payloads: GBD UL requests) instead of a SOAP envelope")
	layout := fs.String("layout", "wss4j", "signature `layout`: wss4j (Timestamp, BinarySecurityToken), smart-bridge (Body only, KeyIdentifier) or shep (Body only, X509IssuerSerial)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: kopir sign (--key KEY.pem --cert CERT.pem | --p12 KEY.p12 --password-env VAR) [--layout L] [FILE]\n\n"+
			"Signs the SOAP envelope in FILE (or standard input) and writes it to standard output.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return 2
	}
	var (
		key   crypto.Signer
		chain []*x509.Certificate
		err   error
	)
	switch {
	case *p12File != "" && *keyFile == "" && *certFile == "":
		password, perr := secret(e, *passwordEnv, *passwordFile)
		if perr != nil {
			fmt.Fprintln(e.stderr, "kopir sign:", perr)
			return 2
		}
		key, chain, err = signing.LoadPKCS12(*p12File, password)
	case *p12File == "" && *keyFile != "" && *certFile != "":
		key, chain, err = signing.LoadKeyPair(*keyFile, *certFile)
	default:
		fmt.Fprintln(e.stderr, "kopir sign: give --key and --cert, or --p12")
		return 2
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "kopir sign:", err)
		return 1
	}
	var lay signing.Layout
	if err := lay.UnmarshalText([]byte(*layout)); err != nil {
		fmt.Fprintf(e.stderr, "kopir sign: --layout: %v\n", err)
		return 2
	}
	signer, err := signing.NewSigner(key, chain, signing.SignerOptions{TTL: *ttl, Layout: lay})
	if err != nil {
		fmt.Fprintln(e.stderr, "kopir sign:", err)
		return 1
	}
	in, err := readInput(e, fs.Arg(0))
	if err != nil {
		fmt.Fprintln(e.stderr, "kopir sign:", err)
		return 1
	}
	sign := signer.Sign
	if *enveloped {
		sign = signer.SignEnveloped
	}
	out, err := sign(ctx, in)
	if err != nil {
		fmt.Fprintln(e.stderr, "kopir sign:", err)
		return 1
	}
	if _, err := e.stdout.Write(out); err != nil {
		fmt.Fprintln(e.stderr, "kopir sign:", err)
		return 1
	}
	return 0
}

func runVerify(_ context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("kopir verify", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var trust, pin, inter stringList
	fs.Var(&trust, "trust", "PEM `file` of trust anchors (CA certificates or a peer's self-signed one); repeatable")
	fs.Var(&pin, "pin", "PEM `file` of leaf certificates trusted as they are; repeatable")
	fs.Var(&inter, "intermediates", "PEM `file` of intermediate CA certificates; repeatable")
	skew := fs.Duration("skew", signing.DefaultClockSkew, "clock skew tolerated")
	maxTTL := fs.Duration("max-ttl", signing.DefaultMaxTTL, "longest Timestamp lifetime accepted")
	allowSHA1 := fs.Bool("allow-sha1", false, "accept SHA-1 signature and digest methods")
	noTimestamp := fs.Bool("no-timestamp", false, "do not require a signed Timestamp")
	at := fs.String("at", "", "verify as of this RFC 3339 `time` instead of now")
	enveloped := fs.Bool("enveloped", false, "verify the enveloped signatures of a whole XML document (payloads) instead of a SOAP envelope's")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: kopir verify (--trust CERTS.pem | --pin CERT.pem) [--enveloped] [FILE]\n\n"+
			"Verifies the envelope in FILE (or standard input). Exit 0: the canonical signed Body on\n"+
			"standard output, the signer on standard error. Exit 1: the reason on standard error.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 1 || len(trust)+len(pin) == 0 {
		fs.Usage()
		return 2
	}
	p := signing.Policy{ClockSkew: *skew, MaxTTL: *maxTTL, AllowSHA1: *allowSHA1}
	for _, l := range []struct {
		files []string
		to    *[]*x509.Certificate
	}{{trust, &p.Roots}, {pin, &p.Pinned}, {inter, &p.Intermediates}} {
		for _, f := range l.files {
			certs, err := signing.LoadCertificates(f)
			if err != nil {
				fmt.Fprintln(e.stderr, "kopir verify:", err)
				return 2
			}
			*l.to = append(*l.to, certs...)
		}
	}
	if *noTimestamp {
		p.Required = []signing.Part{signing.PartBody}
	}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintln(e.stderr, "kopir verify: --at:", err)
			return 2
		}
		p.Now = func() time.Time { return t }
	}
	v, err := signing.NewVerifier(p)
	if err != nil {
		fmt.Fprintln(e.stderr, "kopir verify:", err)
		return 2
	}
	in, err := readInput(e, fs.Arg(0))
	if err != nil {
		fmt.Fprintln(e.stderr, "kopir verify:", err)
		return 1
	}
	if *enveloped {
		results, err := v.VerifyEnveloped(in)
		if err != nil {
			refused(e, err)
			return 1
		}
		e.stdout.Write(results[0].Body)
		for _, r := range results {
			fmt.Fprintf(e.stderr, "kopir verify: signed by %s, %s\n", r.Identity, r.Algorithm)
		}
		return 0
	}
	res, err := v.Verify(in)
	if err != nil {
		refused(e, err)
		return 1
	}
	e.stdout.Write(res.Body)
	fmt.Fprintf(e.stderr, "kopir verify: signed by %s, created %s, %s\n", res.Identity, res.Created.Format(time.RFC3339), res.Algorithm)
	return 0
}

// secret reads a password from an environment variable or a file: never
// from a flag, where it would show in the process list and shell history.
func secret(e *env, envVar, file string) (string, error) {
	switch {
	case envVar != "" && file != "":
		return "", errors.New("give --password-env or --password-file, not both")
	case envVar != "":
		v := e.getenv(envVar)
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty or unset", envVar)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", errors.New("the PKCS#12 password: give --password-env or --password-file")
}

func readInput(e *env, path string) ([]byte, error) {
	if path == "" || path == "-" {
		return io.ReadAll(e.stdin)
	}
	return os.ReadFile(path)
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// refused says why a signature was refused, its reason first.
func refused(e *env, err error) {
	var se *signing.Error
	if errors.As(err, &se) {
		fmt.Fprintf(e.stderr, "kopir verify: refused (%s): %v\n", se.Reason, err)
		return
	}
	fmt.Fprintln(e.stderr, "kopir verify:", err)
}

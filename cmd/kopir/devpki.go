package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/kopir/kopir/signing/devpki"
)

func runDevPKI(_ context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("kopir dev-pki", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	out := fs.String("out", "", "`folder` to write into (required)")
	keyType := fs.String("key-type", string(devpki.RSA2048), "key type: rsa2048 or p256")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: kopir dev-pki --out DIR\n\n"+
			"Makes a development CA and keys for the gateway and the mocks (PEM and PKCS#12).\n"+
			"An existing set in DIR is left as it is. Never commit what this makes.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if t := devpki.KeyType(*keyType); t != devpki.RSA2048 && t != devpki.ECDSAP256 {
		fmt.Fprintf(e.stderr, "kopir dev-pki: --key-type %q is not rsa2048 or p256\n", *keyType)
		return 2
	}
	made, err := devpki.Ensure(*out, devpki.KeyType(*keyType))
	if err != nil {
		fmt.Fprintln(e.stderr, "kopir dev-pki:", err)
		return 1
	}
	if !made {
		fmt.Fprintf(e.stderr, "kopir dev-pki: %s already holds a development PKI; left as it is\n", *out)
		return 0
	}
	fmt.Fprintf(e.stdout, "CA certificate:        %s\n", filepath.Join(*out, devpki.CAFile))
	names := make([]string, 0, len(devpki.Leaves))
	for n := range devpki.Leaves {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := devpki.FilesFor(*out, n)
		fmt.Fprintf(e.stdout, "%-22s %s, %s, %s\n", n+":", f.Cert, f.Key, f.P12)
	}
	fmt.Fprintf(e.stdout, "PKCS#12 password file: %s\n", filepath.Join(*out, devpki.PasswordFile))
	return 0
}

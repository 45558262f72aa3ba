package gost_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kopir/kopir/internal/tooltest"
	"github.com/kopir/kopir/signing/gost"
)

// The OpenSSL gost engine (Debian's libengine-gost-openssl) and gostsum
// are the implementations nobody here wrote that Kopir's GOST is held to.
// Byte orders, spelled out once:
//   - the engine's private key and public X, Y print big-endian; the NCA
//     (and NewPrivateKey, ParsePublicKey) write them little-endian;
//   - the engine's signature is RFC 4490's s‖r, big-endian each; the NCA's
//     is r‖s, little-endian each: the same bytes, all reversed;
//   - the engine reads a digest little-endian to make e, as the NCA does,
//     so both sign the same digest bytes;
//   - `openssl dgst` prints Streebog (-md_gost12_*) and GOST 94
//     (-md_gost94, with the CryptoPro S-box) as Sum returns them;
//     `gostsum -t` (the test S-box) prints GOST 94 reversed.

func requireTool(t *testing.T, name string) string { return tooltest.Require(t, name) }

func engine(t *testing.T) func(args ...string) []byte { return tooltest.OpenSSLGOST(t) }

func reversed(b []byte) []byte { return tooltest.Reversed(b) }

var textField = regexp.MustCompile(`(?m)^\s*(Private key|X|Y):\s*([0-9A-Fa-f]+)\s*$`)

// TestOpenSSLSignatures: for both NCA curves, a key the engine made is
// read into Kopir (same public key), the engine's signatures verify in
// Kopir, and Kopir's verify in the engine.
func TestOpenSSLSignatures(t *testing.T) {
	ossl := engine(t)
	for _, tc := range []struct {
		name, algorithm string
		curve           *gost.Curve
	}{
		{"GOST 34.310-2004, CryptoPro-A", "gost2012_256", gost.CryptoProA},
		{"GOST 34.10-2015, 512 paramSetA", "gost2012_512", gost.TC26512A},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			keyFile := filepath.Join(dir, "key.pem")
			ossl("genpkey", "-engine", "gost", "-algorithm", tc.algorithm, "-pkeyopt", "paramset:A", "-out", keyFile)
			// The engine prints numbers in hex without leading zeros, odd
			// lengths included.
			fields := map[string]*big.Int{}
			for _, m := range textField.FindAllStringSubmatch(string(ossl("pkey", "-engine", "gost", "-in", keyFile, "-text", "-noout")), -1) {
				fields[m[1]], _ = new(big.Int).SetString(m[2], 16)
			}
			if len(fields) != 3 {
				t.Fatalf("the engine's key text: %v", fields)
			}
			n := tc.curve.Size()
			pad := func(v *big.Int) []byte { return v.FillBytes(make([]byte, n)) }
			key, err := gost.NewPrivateKey(tc.curve, reversed(pad(fields["Private key"])))
			if err != nil {
				t.Fatalf("the engine's key: %v", err)
			}
			if !bytes.Equal(key.PublicKey.Bytes(), append(reversed(pad(fields["X"])), reversed(pad(fields["Y"]))...)) {
				t.Fatal("Kopir derives another public key from the engine's secret")
			}
			for i := range 4 {
				msg := make([]byte, 1+i*61)
				rand.Read(msg)
				h := tc.curve.NewHash()
				h.Write(msg)
				digest := h.Sum(nil)
				digestFile := filepath.Join(dir, "digest.bin")
				if err := os.WriteFile(digestFile, digest, 0o600); err != nil {
					t.Fatal(err)
				}
				// The engine signs; Kopir verifies.
				theirs := ossl("pkeyutl", "-engine", "gost", "-sign", "-inkey", keyFile, "-in", digestFile)
				if err := key.PublicKey.Verify(digest, reversed(theirs)); err != nil {
					t.Fatalf("the engine's signature does not verify in Kopir: %v", err)
				}
				// Kopir signs; the engine verifies.
				ours, err := key.Sign(rand.Reader, digest, nil)
				if err != nil {
					t.Fatal(err)
				}
				sigFile := filepath.Join(dir, "sig.bin")
				if err := os.WriteFile(sigFile, reversed(ours), 0o600); err != nil {
					t.Fatal(err)
				}
				out := ossl("pkeyutl", "-engine", "gost", "-verify", "-inkey", keyFile, "-in", digestFile, "-sigfile", sigFile)
				if !strings.Contains(string(out), "Signature Verified Successfully") {
					t.Fatalf("the engine refuses Kopir's signature: %s", out)
				}
				// And a signature of another digest fails there too.
				other := bytes.Clone(reversed(ours))
				other[0] ^= 0x80
				os.WriteFile(sigFile, other, 0o600)
				cmd := exec.Command("openssl", "pkeyutl", "-engine", "gost", "-verify", "-inkey", keyFile, "-in", digestFile, "-sigfile", sigFile)
				if out, err := cmd.CombinedOutput(); err == nil && strings.Contains(string(out), "Verified Successfully") {
					t.Fatal("the engine accepts a changed signature: the check proves nothing")
				}
			}
		})
	}
}

// TestHashesAgainstTools: Streebog against the engine's md_gost12_256/512,
// GOST 94 against md_gost94 (CryptoPro S-box) and gostsum -t (test S-box),
// on messages of every length around the block sizes.
func TestHashesAgainstTools(t *testing.T) {
	ossl := engine(t)
	gostsum := requireTool(t, "gostsum")
	dir := t.TempDir()
	rng := mrand.New(mrand.NewPCG(3, 4))
	var lengths []int
	// Not the empty message: both tools hash an empty file otherwise than
	// RFC 5831 §7.3 does (TestHashVectors holds Kopir to the RFC there).
	for _, base := range []int{0, 32, 64, 128, 1000} {
		for d := -2; d <= 2; d++ {
			if base+d > 0 {
				lengths = append(lengths, base+d)
			}
		}
	}
	for _, n := range lengths {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(rng.Uint32())
		}
		f := filepath.Join(dir, "m.bin")
		if err := os.WriteFile(f, msg, 0o600); err != nil {
			t.Fatal(err)
		}
		tool := func(out []byte) string {
			s := strings.TrimSpace(string(out))
			return s[strings.LastIndexAny(s, "= ")+1:]
		}
		for _, c := range []struct {
			md   string
			sum  []byte
			want string
		}{
			{"-md_gost12_256", sum(gost.NewStreebog256(), msg), tool(ossl("dgst", "-engine", "gost", "-md_gost12_256", f))},
			{"-md_gost12_512", sum(gost.NewStreebog512(), msg), tool(ossl("dgst", "-engine", "gost", "-md_gost12_512", f))},
			{"-md_gost94", sum(gost.New94(gost.CryptoProParamSet), msg), tool(ossl("dgst", "-engine", "gost", "-md_gost94", f))},
		} {
			if got := hex.EncodeToString(c.sum); got != c.want {
				t.Errorf("%d bytes, %s: Kopir %s, openssl %s", n, c.md, got, c.want)
			}
		}
		out, err := exec.Command(gostsum, "-t", f).Output()
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Fields(string(out))[0]
		if got := hex.EncodeToString(reversed(sum(gost.New94(gost.TestParamSet), msg))); got != want {
			t.Errorf("%d bytes, gostsum -t: Kopir %s, gostsum %s", n, got, want)
		}
	}
}

func sum(h interface {
	Write([]byte) (int, error)
	Sum([]byte) []byte
}, msg []byte) []byte {
	h.Write(msg)
	return h.Sum(nil)
}

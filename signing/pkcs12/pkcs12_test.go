package pkcs12

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	gopkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/kopir/kopir/signing/devpki"
	"github.com/kopir/kopir/signing/gost"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNCAKeyFiles: the NCA's own test key files (testdata/SOURCE.md), as
// Kalkan wrote them, open with their passwords; the key is the one its
// certificate holds, and it signs what that certificate's key verifies.
func TestNCAKeyFiles(t *testing.T) {
	for _, tc := range []struct {
		file, password, subject string
		curve                   *gost.Curve
	}{
		{"nca-gost2004.p12", "Qwerty12", "IIN123456789011", gost.CryptoProA},
		{"nca-gost2015.p12", "Aa123456", "IIN123456789012", gost.TC26512A},
		{"nca-rsa.p12", "Qwerty12", "IIN", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := read(t, tc.file)
			c, err := Decode(data, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Chain) == 0 || !strings.Contains(c.Chain[0].Subject.SerialNumber, tc.subject) {
				t.Fatalf("chain %v", c.Chain)
			}
			if !matches(c.Key, c.Chain[0]) {
				t.Fatal("the key is not the certificate's")
			}
			if tc.curve != nil {
				k, ok := c.Key.(*gost.PrivateKey)
				if !ok || k.Curve != tc.curve {
					t.Fatalf("key %T", c.Key)
				}
				h := tc.curve.NewHash()
				h.Write([]byte("payload"))
				d := h.Sum(nil)
				sig, err := k.Sign(rand.Reader, d, nil)
				if err != nil {
					t.Fatal(err)
				}
				pub, _ := gost.PublicKeyOf(c.Chain[0])
				if err := pub.Verify(d, sig); err != nil {
					t.Fatal(err)
				}
			} else {
				k, ok := c.Key.(*rsa.PrivateKey)
				if !ok {
					t.Fatalf("key %T", c.Key)
				}
				d := sha256.Sum256([]byte("payload"))
				sig, _ := k.Sign(rand.Reader, d[:], crypto.SHA256)
				if err := rsa.VerifyPKCS1v15(c.Chain[0].PublicKey.(*rsa.PublicKey), crypto.SHA256, d[:], sig); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := Decode(data, "wrong-password"); !errors.Is(err, ErrPassword) {
				t.Fatalf("a wrong password: %v", err)
			}
		})
	}
}

// TestGoAndOpenSSLFiles: files written by go-pkcs12 in every mode it has
// (PBES2/AES with SHA-256 MAC, legacy 3DES/RC2 with SHA-1) open too.
func TestGoWrittenFiles(t *testing.T) {
	ca, err := devpki.NewCA(devpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(devpki.ECDSAP256, devpki.Subject{CommonName: "leaf"}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for name, enc := range map[string]*gopkcs12.Encoder{"modern": gopkcs12.Modern2023, "legacy RC2": gopkcs12.LegacyRC2, "legacy DES": gopkcs12.LegacyDES} {
		t.Run(name, func(t *testing.T) {
			data, err := enc.Encode(leaf.Key, leaf.Chain[0], []*x509.Certificate{ca.Cert}, "пароль")
			if err != nil {
				t.Fatal(err)
			}
			c, err := Decode(data, "пароль")
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Chain) != 2 || !c.Chain[0].Equal(leaf.Chain[0]) || !c.Chain[1].Equal(ca.Cert) || !matches(c.Key, c.Chain[0]) {
				t.Fatalf("contents %+v", c)
			}
			if _, err := Decode(data, "parol"); !errors.Is(err, ErrPassword) {
				t.Fatalf("a wrong password: %v", err)
			}
		})
	}
}

// TestRC2Vectors: RFC 2268 §5.
func TestRC2Vectors(t *testing.T) {
	for _, tc := range []struct {
		key        string
		bits       int
		plain, enc string
	}{
		{"0000000000000000", 63, "0000000000000000", "ebb773f993278eff"},
		{"ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"},
		{"3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"},
		{"88", 64, "0000000000000000", "61a8a244adacccf0"},
		{"88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"},
		{"88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"},
		{"88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"},
	} {
		c := newRC2(unhex(t, tc.key), tc.bits)
		out := make([]byte, 8)
		c.Encrypt(out, unhex(t, tc.plain))
		if hex.EncodeToString(out) != tc.enc {
			t.Errorf("key %s/%d: encrypt %x, want %s", tc.key, tc.bits, out, tc.enc)
		}
		c.Decrypt(out, unhex(t, tc.enc))
		if hex.EncodeToString(out) != tc.plain {
			t.Errorf("key %s/%d: decrypt %x", tc.key, tc.bits, out)
		}
	}
}

func unhex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCorruptFiles: every truncation and a flipped byte at every offset of
// a real NCA file end in a typed error (or, for a flip inside the MAC'd
// content, the wrong-password error the MAC gives), never a panic.
func TestCorruptFiles(t *testing.T) {
	data := read(t, "nca-gost2004.p12")
	check := func(what string, b []byte) {
		_, err := Decode(b, "Qwerty12")
		var pe *Error
		if err == nil {
			return // a flip in a bag attribute or padding can still decode
		}
		if !errors.As(err, &pe) && !errors.Is(err, ErrPassword) {
			t.Fatalf("%s: untyped error %v", what, err)
		}
	}
	for i := range data {
		check(fmt.Sprintf("truncated at %d", i), data[:i])
		b := bytes.Clone(data)
		b[i] ^= 0x5a
		check(fmt.Sprintf("byte %d flipped", i), b)
	}
}

func TestLimits(t *testing.T) {
	deep := bytes.Repeat([]byte{0x30, 0x80}, maxDepth+2)
	if _, err := Decode(deep, ""); err == nil || !strings.Contains(err.Error(), "deeper") {
		t.Errorf("deep nesting: %v", err)
	}
	if _, err := Decode(make([]byte, MaxSize+1), ""); err == nil {
		t.Error("an oversized file accepted")
	}
}

// FuzzDecode: no input panics or hangs the reader; seeded with real files.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"nca-gost2004.p12", "nca-gost2015.p12", "nca-rsa.p12"} {
		f.Add(read(f, name), "Qwerty12")
	}
	// Work factors the fuzzer makes up would only slow it down.
	maxIterations = 4096
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		c, err := Decode(data, password)
		if err == nil && (c.Key == nil || len(c.Chain) == 0) {
			t.Fatal("success without a key and its certificate")
		}
	})
}

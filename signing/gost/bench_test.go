package gost_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"testing"
	"time"

	"github.com/kopir/kopir/signing/gost"
)

// The targets (issue "GOST signatures"): GOST sign and verify each at most
// 3× Go's ECDSA of the same size — P-256 for the 256-bit curve, P-521 for
// the 512-bit one — measured interleaved in one loop and reported as
// "x-baseline", so that load on this shared machine weighs on both alike.

func interleaved(b *testing.B, baseline, work func()) {
	var base, ours time.Duration
	for b.Loop() {
		t0 := time.Now()
		baseline()
		t1 := time.Now()
		work()
		ours += time.Since(t1)
		base += t1.Sub(t0)
	}
	b.ReportMetric(float64(ours)/float64(base), "x-baseline")
}

func benchCurve(b *testing.B, c *gost.Curve, ec elliptic.Curve, verify bool) {
	key, err := gost.GenerateKey(c, nil)
	if err != nil {
		b.Fatal(err)
	}
	eck, err := ecdsa.GenerateKey(ec, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	h := c.NewHash()
	h.Write([]byte("SignedInfo"))
	digest := h.Sum(nil)
	var ecDigest []byte
	if c.Size() == 32 {
		d := sha256.Sum256([]byte("SignedInfo"))
		ecDigest = d[:]
	} else {
		d := sha512.Sum512([]byte("SignedInfo"))
		ecDigest = d[:]
	}
	sig, _ := key.Sign(rand.Reader, digest, nil)
	ecSig, _ := ecdsa.SignASN1(rand.Reader, eck, ecDigest)
	if verify {
		interleaved(b, func() {
			if !ecdsa.VerifyASN1(&eck.PublicKey, ecDigest, ecSig) {
				b.Fatal("ecdsa")
			}
		}, func() {
			if err := key.PublicKey.Verify(digest, sig); err != nil {
				b.Fatal(err)
			}
		})
		return
	}
	interleaved(b, func() {
		if _, err := ecdsa.SignASN1(rand.Reader, eck, ecDigest); err != nil {
			b.Fatal(err)
		}
	}, func() {
		if _, err := key.Sign(rand.Reader, digest, nil); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkSign2004VsP256(b *testing.B)   { benchCurve(b, gost.CryptoProA, elliptic.P256(), false) }
func BenchmarkVerify2004VsP256(b *testing.B) { benchCurve(b, gost.CryptoProA, elliptic.P256(), true) }
func BenchmarkSign2015VsP521(b *testing.B)   { benchCurve(b, gost.TC26512A, elliptic.P521(), false) }
func BenchmarkVerify2015VsP521(b *testing.B) { benchCurve(b, gost.TC26512A, elliptic.P521(), true) }

func BenchmarkHash94_1KB(b *testing.B)         { benchHash(b, gost.New94(gost.TestParamSet)) }
func BenchmarkStreebog512_1KB(b *testing.B)    { benchHash(b, gost.NewStreebog512()) }
func BenchmarkSHA256Baseline_1KB(b *testing.B) { benchHash(b, sha256.New()) }

func benchHash(b *testing.B, h interface {
	Write([]byte) (int, error)
	Sum([]byte) []byte
	Reset()
}) {
	msg := make([]byte, 1024)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		h.Reset()
		h.Write(msg)
		h.Sum(nil)
	}
}

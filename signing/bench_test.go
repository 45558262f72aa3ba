package signing_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/kopir/kopir/signing"
)

// benchEnvelope is a SHEP-shaped request padded with rows to size bytes.
func benchEnvelope(size int) []byte {
	var b strings.Builder
	b.WriteString(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header/><soapenv:Body>` +
		`<typ:SendMessage xmlns:typ="http://bip.bee.kz/SyncChannel/v10/Types"><request xmlns=""><requestInfo>` +
		`<messageId>5f0c7a2e-2d1b-4c1e-9d7a-3b8e2f4a6c11</messageId><serviceId>GBDFL_UniversalServiceSync</serviceId>` +
		`<messageDate>2026-11-25T10:15:30.000+05:00</messageDate><sender><senderId>kopir</senderId><password>p</password></sender>` +
		`</requestInfo><requestData><data xmlns:ns2="http://data.gbd.chdb.scb.kz/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="ns2:rows">`)
	const tail = `</data></requestData></request></typ:SendMessage></soapenv:Body></soapenv:Envelope>`
	for i := 0; b.Len()+len(tail) < size-60; i++ {
		fmt.Fprintf(&b, `<row n="%d"><name>Жеке кәсіпкер %d</name></row>`, i, i)
	}
	b.WriteString(tail)
	return []byte(b.String())
}

// BenchmarkBareRSA is the baseline: an RSA-2048 PKCS#1 v1.5 signature and
// its verification, with the same key, over one SHA-256 digest.
func BenchmarkBareRSA(b *testing.B) {
	key := fixture(b).rsa.Key.(*rsa.PrivateKey)
	digest := sha256.Sum256([]byte("SignedInfo"))
	b.ReportAllocs()
	for b.Loop() {
		sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			b.Fatal(err)
		}
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSignVerify(b *testing.B, size int) {
	p := fixture(b)
	s := newSigner(b, p.rsa, signing.SignerOptions{})
	v := newVerifier(b, signing.Policy{})
	env := benchEnvelope(size)
	b.SetBytes(int64(len(env)))
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		out, err := s.Sign(ctx, env)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.Verify(out); err != nil {
			b.Fatal(err)
		}
	}
}

// benchInterleaved alternates the baseline (bare RSA sign+verify with the
// same key) with Sign+Verify of the envelope in one loop, timing each, and
// reports their ratio as "x-baseline": load that comes and goes on a
// shared machine weighs on both alike. ns/op is the two together.
func benchInterleaved(b *testing.B, size int) {
	p := fixture(b)
	key := p.rsa.Key.(*rsa.PrivateKey)
	s := newSigner(b, p.rsa, signing.SignerOptions{})
	v := newVerifier(b, signing.Policy{})
	env := benchEnvelope(size)
	digest := sha256.Sum256([]byte("SignedInfo"))
	ctx := context.Background()
	var bare, full time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			b.Fatal(err)
		}
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		out, err := s.Sign(ctx, env)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.Verify(out); err != nil {
			b.Fatal(err)
		}
		full += time.Since(t1)
		bare += t1.Sub(t0)
	}
	b.ReportMetric(float64(full)/float64(bare), "x-baseline")
}

func BenchmarkInterleaved2KB(b *testing.B)   { benchInterleaved(b, 2<<10) }
func BenchmarkInterleaved100KB(b *testing.B) { benchInterleaved(b, 100<<10) }

func BenchmarkSignVerify2KB(b *testing.B)   { benchSignVerify(b, 2<<10) }
func BenchmarkSignVerify100KB(b *testing.B) { benchSignVerify(b, 100<<10) }

func benchVerify(b *testing.B, size int) {
	p := fixture(b)
	out := sign(b, newSigner(b, p.rsa, signing.SignerOptions{}), benchEnvelope(size))
	v := newVerifier(b, signing.Policy{})
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify2KB(b *testing.B)   { benchVerify(b, 2<<10) }
func BenchmarkVerify100KB(b *testing.B) { benchVerify(b, 100<<10) }

func BenchmarkSign2KB(b *testing.B) {
	s := newSigner(b, fixture(b).rsa, signing.SignerOptions{})
	env := benchEnvelope(2 << 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(context.Background(), env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEtreeInterleaved2KB measures what README's paragraph on
// goxmldsig claims: reading a 2 KB signed envelope into an etree document
// (as goxmldsig's callers must) against the bare RSA sign+verify, in one
// loop, as "x-baseline".
func BenchmarkEtreeInterleaved2KB(b *testing.B) {
	p := fixture(b)
	key := p.rsa.Key.(*rsa.PrivateKey)
	env := sign(b, newSigner(b, p.rsa, signing.SignerOptions{}), benchEnvelope(2<<10))
	digest := sha256.Sum256([]byte("SignedInfo"))
	var bare, parse time.Duration
	for b.Loop() {
		t0 := time.Now()
		sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			b.Fatal(err)
		}
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(env); err != nil {
			b.Fatal(err)
		}
		parse += time.Since(t1)
		bare += t1.Sub(t0)
	}
	b.ReportMetric(float64(parse)/float64(bare), "x-baseline")
}

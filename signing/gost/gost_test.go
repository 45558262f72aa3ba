package gost

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	mrand "math/rand/v2"
	"strings"
	"testing"
)

func unhexT(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func le(b []byte) []byte {
	r := bytes.Clone(b)
	reverseBytes(r)
	return r
}

// TestHashVectors: the RFCs' examples. RFC 5831 prints GOST 94 digests in
// Sum's order; RFC 6986 prints Streebog's reversed (its M1 and M2 too).
func TestHashVectors(t *testing.T) {
	m2 := le(unhexT(t, "fbe2e5f0eee3c820fbeafaebef20fffbf0e1e0f0f520e0ed20e8ece0ebe5f0f2f120fff0eeec20f120faf2fee5e2202ce8f6f3ede220e8e6eee1e8f0f2d1202ce8f0f2e5e220e5d1"))
	for _, tc := range []struct {
		name string
		h    func() interface {
			Write([]byte) (int, error)
			Sum([]byte) []byte
		}
		in   []byte
		want string
	}{
		{"94 empty", wrap94, nil, "ce85b99cc46752fffee35cab9a7b0278abb4c2d2055cff685af4912c49490f8d"},
		{"94 a", wrap94, []byte("a"), "d42c539e367c66e9c88a801f6649349c21871b4344c6a573f849fdce62f314dd"},
		{"94 abc", wrap94, []byte("abc"), "f3134348c44fb1b2a277729e2285ebb5cb5e0f29c975bc753b70497c06a4d51d"},
		{"94 message digest", wrap94, []byte("message digest"), "ad4434ecb18f2c99b60cbe59ec3d2469582b65273f48de72db2fde16a4889a4d"},
		{"94 32 bytes", wrap94, []byte("This is message, length=32 bytes"), "b1c466d37519b82e8319819ff32595e047a28cb6f83eff1c6916a815a637fffa"},
		{"94 50 bytes", wrap94, []byte("Suppose the original message has length = 50 bytes"), "471aba57a60a770d3a76130635c1fbea4ef14de51f78b4ae57dd893b62f55208"},
		{"94 128 U", wrap94, bytes.Repeat([]byte("U"), 128), "53a3a3ed25180cef0c1d85a074273e551c25660a87062a52d926a9e8fe5733a4"},
		{"94 CryptoPro empty", wrapCP, nil, "981e5f3ca30c841487830f84fb433e13ac1101569b9c13584ac483234cd656c0"},
		{"94 CryptoPro abc", wrapCP, []byte("abc"), "b285056dbf18d7392d7677369524dd14747459ed8143997e163b2986f92fd42c"},
		{"512 M1", wrap512, []byte("012345678901234567890123456789012345678901234567890123456789012"),
			"1b54d01a4af5b9d5cc3d86d68d285462b19abc2475222f35c085122be4ba1ffa00ad30f8767b3a82384c6574f024c311e2a481332b08ef7f41797891c1646f48"},
		{"256 M1", wrap256, []byte("012345678901234567890123456789012345678901234567890123456789012"),
			"9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500"},
		{"512 M2", wrap512, m2,
			"1e88e62226bfca6f9994f1f2d51569e0daf8475a3b0fe61a5300eee46d961376035fe83549ada2b8620fcd7c496ce5b33f0cb9dddc2b6460143b03dabac9fb28"},
		{"256 M2", wrap256, m2, "9dd2fe4e90409e5da87f53976d7405b0c0cac628fc669a741d50063c557e8f50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h()
			h.Write(tc.in)
			if got := hex.EncodeToString(h.Sum(nil)); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			// Written a byte at a time, the same.
			h = tc.h()
			for _, b := range tc.in {
				h.Write([]byte{b})
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != tc.want {
				t.Errorf("bytewise: got %s", got)
			}
		})
	}
}

type summer = interface {
	Write([]byte) (int, error)
	Sum([]byte) []byte
}

func wrap94() summer  { return New94(TestParamSet) }
func wrapCP() summer  { return New94(CryptoProParamSet) }
func wrap512() summer { return NewStreebog512() }
func wrap256() summer { return NewStreebog256() }

// TestFieldAgainstBig: Montgomery arithmetic agrees with math/big on
// random and edge values, for every modulus the curves use.
func TestFieldAgainstBig(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for _, c := range []*Curve{CryptoProA, TC26512A, testCurve256, testCurve512} {
		for _, md := range []*modulus{c.fp, c.fq} {
			m := md.big
			edge := []*big.Int{big.NewInt(0), big.NewInt(1), new(big.Int).Sub(m, big.NewInt(1)), new(big.Int).Rsh(m, 1)}
			random := func() *big.Int {
				b := make([]byte, md.bytes+8)
				for i := range b {
					b[i] = byte(rng.Uint32())
				}
				return new(big.Int).Mod(new(big.Int).SetBytes(b), m)
			}
			for i := range 300 {
				var x, y *big.Int
				if i < 16 {
					x, y = edge[i/4], edge[i%4]
				} else {
					x, y = random(), random()
				}
				xe, ye := fromBig(x), fromBig(y)
				var xm, ym, z elem
				md.toMont(&xm, &xe)
				md.toMont(&ym, &ye)
				check := func(op string, got *elem, want *big.Int) {
					var out elem
					md.fromMont(&out, got)
					if md.toBig(&out).Cmp(want) != 0 {
						t.Fatalf("%s %s: %x, %x: got %x, want %x", c.Name, op, x, y, md.toBig(&out), want)
					}
				}
				md.mul(&z, &xm, &ym)
				check("mul", &z, new(big.Int).Mod(new(big.Int).Mul(x, y), m))
				md.add(&z, &xm, &ym)
				check("add", &z, new(big.Int).Mod(new(big.Int).Add(x, y), m))
				md.sub(&z, &xm, &ym)
				check("sub", &z, new(big.Int).Mod(new(big.Int).Sub(x, y), m))
				if x.Sign() != 0 && i%10 == 0 {
					md.inv(&z, &xm)
					check("inv", &z, new(big.Int).ModInverse(x, m))
				}
				if got := md.equal(&xm, &ym) == 1; got != (x.Cmp(y) == 0) {
					t.Fatalf("equal(%x, %x) = %v", x, y, got)
				}
			}
		}
	}
}

// The worked examples of GOST R 34.10-2012 (RFC 7091 appendix A, the
// 256-bit one also RFC 5832's): curves with a = 7.
var (
	testCurve256 = newCurve("GOST R 34.10-2012 example 1",
		"8000000000000000000000000000000000000000000000000000000000000431", "7",
		"5FBFF498AA938CE739B8E022FBAFEF40563F6E6A3472FC2A514C0CE9DAE23B7E",
		"8000000000000000000000000000000150FE8A1892976154C59CFC193ACCF5B3",
		"2", "08E2A8A0E65147D4BD6316030E16D19C85C97F0A9CA267122B96ABBCEA7E8FC8")
	testCurve512 = newCurve("GOST R 34.10-2012 example 2",
		"4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DF1D852741AF4704A0458047E80E4546D35B8336FAC224DD81664BBF528BE6373", "7",
		"1CFF0806A31116DA29D8CFA54E57EB748BC5F377E49400FDD788B649ECA1AC4361834013B2AD7322480A89CA58E0CF74BC9E540C2ADD6897FAD0A3084F302ADC",
		"4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DA82F2D7ECB1DBAC719905C5EECC423F1D86E25EDBE23C595D644AAF187E6E6DF",
		"24D19CC64572EE30F396BF6EBBFD7A6C5213B3B3D7057CC825F91093A68CD762FD60611262CD838DC6B60AA7EEE804E28BC849977FAC33B4B530F1B120248A9A",
		"2BB312A43BD2CE6E0D020613C857ACDDCFBF061E91E5F2C3F32447C259F39B2C83AB156D77F1496BF7EB3351E1EE4E43DC1A18B91B24640B6DBB92CB1ADD371E")
)

// fixedReader hands out one value, then fails: the nonce of a worked
// example, little-endian as randomScalar reads it.
type fixedReader struct{ b []byte }

func (r *fixedReader) Read(p []byte) (int, error) {
	if r.b == nil {
		return 0, errors.New("used up")
	}
	n := copy(p, r.b)
	r.b = nil
	return n, nil
}

// TestWorkedExamples: the standard's examples, from the secret to the
// public key to the signature with the given nonce, and its verification.
func TestWorkedExamples(t *testing.T) {
	for _, tc := range []struct {
		c                   *Curve
		d, e, k, x, y, r, s string
	}{
		{testCurve256,
			"7A929ADE789BB9BE10ED359DD39A72C11B60961F49397EEE1D19CE9891EC3B28",
			"2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5",
			"77105C9B20BCD3122823C8CF6FCC7B956DE33814E95B7FE64FED924594DCEAB3",
			"7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80B",
			"26F1B489D6701DD185C8413A977B3CBBAF64D1C593D26627DFFB101A87FF77DA",
			"41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493",
			"01456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40"},
		{testCurve512,
			"0BA6048AADAE241BA40936D47756D7C93091A0E8514669700EE7508E508B102072E8123B2200A0563322DAD2827E2714A2636B7BFD18AADFC62967821FA18DD4",
			"3754F3CFACC9E0615C4F4A7C4D8DAB531B09B6F9C170C533A71D147035B0C5917184EE536593F4414339976C647C5D5A407ADEDB1D560C4FC6777D2972075B8C",
			"0359E7F4B1410FEACC570456C6801496946312120B39D019D455986E364F365886748ED7A44B3E794434006011842286212273A6D14CF70EA3AF71BB1AE679F1",
			"115DC5BC96760C7B48598D8AB9E740D4C4A85A65BE33C1815B5C320C854621DD5A515856D13314AF69BC5B924C8B4DDFF75C45415C1D9DD9DD33612CD530EFE1",
			"37C7C90CD40B0F5621DC3AC1B751CFA0E2634FA0503B3D52639F5D7FB72AFD61EA199441D943FFE7F0C70A2759A3CDB84C114E1F9339FDF27F35ECA93677BEEC",
			"2F86FA60A081091A23DD795E1E3C689EE512A3C82EE0DCC2643C78EEA8FCACD35492558486B20F1C9EC197C90699850260C93BCBCD9C5C3317E19344E173AE36",
			"1081B394696FFE8E6585E7A9362D26B6325F56778AADBC081C0BFBE933D52FF5823CE288E8C4F362526080DF7F70CE406A6EEB1F56919CB92A9853BDE73E5B4A"},
	} {
		t.Run(tc.c.Name, func(t *testing.T) {
			key, err := NewPrivateKey(tc.c, le(unhexT(t, tc.d)))
			if err != nil {
				t.Fatal(err)
			}
			if key.X.Cmp(hexInt(tc.x)) != 0 || key.Y.Cmp(hexInt(tc.y)) != 0 {
				t.Fatalf("public key (%X, %X)", key.X, key.Y)
			}
			digest := le(unhexT(t, tc.e)) // e is the digest read little-endian
			sig, err := key.Sign(&fixedReader{le(unhexT(t, tc.k))}, digest, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := append(le(unhexT(t, tc.r)), le(unhexT(t, tc.s))...)
			if !bytes.Equal(sig, want) {
				t.Fatalf("signature\n got %x\nwant %x", sig, want)
			}
			if err := key.PublicKey.Verify(digest, sig); err != nil {
				t.Fatal(err)
			}
			bad := bytes.Clone(sig)
			bad[len(bad)-1] ^= 1
			if err := key.PublicKey.Verify(digest, bad); !errors.Is(err, ErrSignature) {
				t.Fatalf("a changed s verified: %v", err)
			}
			if !bytes.Equal(key.Bytes(), le(unhexT(t, tc.d))) {
				t.Fatal("Bytes does not give the secret back")
			}
		})
	}
}

// TestOrder: q·G is the identity and (q−1)·G = −G, on every curve, by the
// constant-time and the fixed-base multiplications alike.
func TestOrder(t *testing.T) {
	for _, c := range []*Curve{CryptoProA, TC26512A, testCurve256, testCurve512} {
		n := c.fq.bytes
		var p point
		c.scalarMult(&p, &c.g, c.Q.FillBytes(make([]byte, n)))
		if c.fp.isZero(&p.z) != 1 {
			t.Errorf("%s: q·G is not the identity", c.Name)
		}
		qm1 := new(big.Int).Sub(c.Q, big.NewInt(1)).FillBytes(make([]byte, n))
		for name, mult := range map[string]func(*point){
			"scalarMult": func(r *point) { c.scalarMult(r, &c.g, qm1) },
			"baseMult":   func(r *point) { c.baseMult(r, qm1) },
		} {
			mult(&p)
			x, y, ok := c.toAffine(&p)
			if ok != 1 || c.fp.toBig(&x).Cmp(c.Gx) != 0 || c.fp.toBig(&y).Cmp(new(big.Int).Sub(c.P, c.Gy)) != 0 {
				t.Errorf("%s %s: (q−1)·G is not −G", c.Name, name)
			}
		}
	}
}

// TestSignVerify: on the NCA's curves, signatures of random keys and
// digests verify, through the encodings, and changed ones do not.
func TestSignVerify(t *testing.T) {
	for _, c := range []*Curve{CryptoProA, TC26512A} {
		t.Run(c.Name, func(t *testing.T) {
			for range 8 {
				key, err := GenerateKey(c, nil)
				if err != nil {
					t.Fatal(err)
				}
				pub, err := ParsePublicKey(c, key.PublicKey.Bytes())
				if err != nil || !pub.Equal(key.Public()) {
					t.Fatalf("public key round trip: %v", err)
				}
				h := c.NewHash()
				h.Write([]byte("Көпір"))
				digest := h.Sum(nil)
				sig, err := key.Sign(rand.Reader, digest, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := pub.Verify(digest, sig); err != nil {
					t.Fatal(err)
				}
				digest[0] ^= 1
				if err := pub.Verify(digest, sig); err == nil {
					t.Fatal("a signature verified for another digest")
				}
			}
		})
	}
}

func TestBadKeysAndSignatures(t *testing.T) {
	c := CryptoProA
	n := c.Size()
	if _, err := NewPrivateKey(c, make([]byte, n)); !errors.Is(err, ErrKey) {
		t.Errorf("a zero secret: %v", err)
	}
	if _, err := NewPrivateKey(c, le(c.Q.FillBytes(make([]byte, n)))); !errors.Is(err, ErrKey) {
		t.Errorf("secret q: %v", err)
	}
	if _, err := ParsePublicKey(c, make([]byte, 2*n)); !errors.Is(err, ErrKey) {
		t.Errorf("(0, 0) accepted: %v", err)
	}
	key, _ := GenerateKey(c, nil)
	digest := make([]byte, n)
	for _, sig := range [][]byte{nil, make([]byte, 2*n), append(le(c.Q.FillBytes(make([]byte, n))), make([]byte, n)...)} {
		if err := key.PublicKey.Verify(digest, sig); !errors.Is(err, ErrSignature) {
			t.Errorf("signature %x: %v", sig, err)
		}
	}
}

// TestCombinedAgainstComplete: the variable-time z1·G + z2·Q of
// verification (Jacobian, wNAF) agrees with the constant-time complete
// formulas of signing, on random scalars and the edges: zeros, the
// identity as the result, Q = ±G.
func TestCombinedAgainstComplete(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(7, 8))
	for _, c := range []*Curve{CryptoProA, TC26512A} {
		n := c.fq.bytes
		rnd := func() *big.Int {
			b := make([]byte, n+8)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return new(big.Int).Mod(new(big.Int).SetBytes(b), c.Q)
		}
		for i := range 40 {
			k := rnd()
			switch i {
			case 0:
				k.SetInt64(1) // Q = G
			case 1:
				k.Sub(c.Q, big.NewInt(1)) // Q = −G
			}
			var qp point
			c.baseMult(&qp, k.FillBytes(make([]byte, n)))
			x, y, _ := c.toAffine(&qp)
			q, err := c.affine(c.fp.toBig(&x), c.fp.toBig(&y))
			if err != nil {
				t.Fatal(err)
			}
			z1, z2 := rnd(), rnd()
			switch i {
			case 2:
				z1.SetInt64(0)
			case 3:
				z2.SetInt64(0)
			case 4: // z1 + z2·k = 0: the identity
				z1.Neg(new(big.Int).Mul(z2, k))
				z1.Mod(z1, c.Q)
			}
			var a, b point
			c.baseMult(&a, z1.FillBytes(make([]byte, n)))
			c.scalarMult(&b, q, z2.FillBytes(make([]byte, n)))
			c.add(&a, &a, &b)
			wantX, _, wantOK := c.toAffine(&a)
			acc := c.combined(z1, z2, q)
			if got := c.fp.isZero(&acc.z) == 0; got != (wantOK == 1) {
				t.Fatalf("%s case %d: identity %v, want %v", c.Name, i, !got, wantOK != 1)
			}
			if wantOK == 1 {
				r := new(big.Int).Mod(c.fp.toBig(&wantX), c.Q)
				if !c.xIs(&acc, r) {
					t.Fatalf("%s case %d: x differs", c.Name, i)
				}
				if c.xIs(&acc, new(big.Int).Add(r, big.NewInt(1))) {
					t.Fatalf("%s case %d: xIs accepts another r", c.Name, i)
				}
			}
		}
	}
}

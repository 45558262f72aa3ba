package gost

import (
	mrand "math/rand/v2"
	"testing"
)

// TestField4: the unrolled four-limb arithmetic equals the loops it was
// unrolled from, on random and edge values of both 256-bit moduli.
func TestField4(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(5, 6))
	for _, md := range []*modulus{CryptoProA.fp, CryptoProA.fq, testCurve256.fp} {
		m := md.m
		ref := *md
		ref.n = 8 // the generic loops, over limbs that are zero
		edge := []elem{{}, {1}, md.one, {m[0] - 1, m[1], m[2], m[3]}}
		for i := range 2000 {
			var x, y elem
			if i < 16 {
				x, y = edge[i/4], edge[i%4]
			} else {
				for j := range 4 {
					x[j], y[j] = rng.Uint64(), rng.Uint64()
				}
				x[3] %= m[3] // below m, as every element is
				y[3] %= m[3]
			}
			var a, b elem
			mul4(&a, &x, &y, &m, md.minv)
			mul4u(&b, &x, &y, &m, md.minv)
			if a != b {
				t.Fatalf("mul %x %x: %x, unrolled %x", x, y, a, b)
			}
			ref.add(&a, &x, &y)
			add4u(&b, &x, &y, &m)
			if a != b {
				t.Fatalf("add %x %x: %x, unrolled %x", x, y, a, b)
			}
			ref.sub(&a, &x, &y)
			sub4(&b, &x, &y, &m)
			if a != b {
				t.Fatalf("sub %x %x: %x, unrolled %x", x, y, a, b)
			}
		}
	}
}

package gost

import (
	"math/big"
	"math/bits"
)

// maxLimbs is the most 64-bit limbs an element has: 512-bit curves.
const maxLimbs = 8

// elem is a residue modulo a modulus, in Montgomery form (x·R mod m, R =
// 2^(64·n)), as n little-endian limbs; limbs past n are zero. Every
// operation on it takes the same time whatever its value: the secret scalar
// and nonce of a signature only ever live in elems.
type elem [maxLimbs]uint64

// modulus is an odd modulus (a curve's p, or its order q) and what
// Montgomery arithmetic needs of it. Its values are public.
type modulus struct {
	n     int  // limbs
	m     elem // the modulus
	minv  uint64
	rr    elem // R² mod m, to enter Montgomery form
	one   elem // R mod m: 1 in Montgomery form
	bits  int
	big   *big.Int
	pm2   []byte // m−2, big-endian: the exponent of inversion
	bytes int    // bytes in an encoded residue
}

func newModulus(m *big.Int) *modulus {
	md := &modulus{big: new(big.Int).Set(m), bits: m.BitLen()}
	md.n = (md.bits + 63) / 64
	md.bytes = (md.bits + 7) / 8
	md.m = fromBig(m)
	// −m⁻¹ mod 2^64 by Newton's iteration: each step doubles the correct
	// bits of the inverse of an odd number.
	inv := uint64(1)
	for range 6 {
		inv *= 2 - md.m[0]*inv
	}
	md.minv = -inv
	r := new(big.Int).Lsh(big.NewInt(1), uint(64*md.n))
	md.one = fromBig(new(big.Int).Mod(r, m))
	md.rr = fromBig(new(big.Int).Mod(new(big.Int).Mul(r, r), m))
	md.pm2 = new(big.Int).Sub(m, big.NewInt(2)).Bytes()
	return md
}

func fromBig(x *big.Int) elem {
	var e elem
	for i, w := range x.Bits() {
		e[i] = uint64(w)
	}
	return e
}

// mul sets z = x·y·R⁻¹ mod m (CIOS Montgomery multiplication). The two
// sizes the curves need have their own copies, with constant loop bounds,
// which the compiler checks once instead of at every limb.
func (md *modulus) mul(z, x, y *elem) {
	if md.n == 4 {
		mul4u(z, x, y, &md.m, md.minv)
	} else {
		mul8(z, x, y, &md.m, md.minv)
	}
}

func mul4(z, x, y, m *elem, minv uint64) {
	var t [6]uint64
	for i := 0; i < 4; i++ {
		var c uint64
		yi := y[i]
		for j := 0; j < 4; j++ {
			hi, lo := bits.Mul64(x[j], yi)
			lo, cc := bits.Add64(lo, t[j], 0)
			hi += cc
			lo, cc = bits.Add64(lo, c, 0)
			t[j], c = lo, hi+cc
		}
		var cc uint64
		t[4], cc = bits.Add64(t[4], c, 0)
		t[5] = cc
		u := t[0] * minv
		hi, lo := bits.Mul64(u, m[0])
		_, cc = bits.Add64(lo, t[0], 0)
		c = hi + cc
		for j := 1; j < 4; j++ {
			hi, lo := bits.Mul64(u, m[j])
			lo, cc := bits.Add64(lo, t[j], 0)
			hi += cc
			lo, cc = bits.Add64(lo, c, 0)
			t[j-1], c = lo, hi+cc
		}
		t[3], cc = bits.Add64(t[4], c, 0)
		t[4] = t[5] + cc
	}
	// Subtract m once if t ≥ m.
	var d [4]uint64
	var b uint64
	for i := 0; i < 4; i++ {
		d[i], b = bits.Sub64(t[i], m[i], b)
	}
	_, keep := bits.Sub64(t[4], 0, b)
	mask := -keep
	for i := 0; i < 4; i++ {
		z[i] = t[i]&mask | d[i]&^mask
	}
}

func mul8(z, x, y, m *elem, minv uint64) {
	var t [10]uint64
	for i := 0; i < 8; i++ {
		var c uint64
		yi := y[i]
		for j := 0; j < 8; j++ {
			hi, lo := bits.Mul64(x[j], yi)
			lo, cc := bits.Add64(lo, t[j], 0)
			hi += cc
			lo, cc = bits.Add64(lo, c, 0)
			t[j], c = lo, hi+cc
		}
		var cc uint64
		t[8], cc = bits.Add64(t[8], c, 0)
		t[9] = cc
		u := t[0] * minv
		hi, lo := bits.Mul64(u, m[0])
		_, cc = bits.Add64(lo, t[0], 0)
		c = hi + cc
		for j := 1; j < 8; j++ {
			hi, lo := bits.Mul64(u, m[j])
			lo, cc := bits.Add64(lo, t[j], 0)
			hi += cc
			lo, cc = bits.Add64(lo, c, 0)
			t[j-1], c = lo, hi+cc
		}
		t[7], cc = bits.Add64(t[8], c, 0)
		t[8] = t[9] + cc
	}
	// Subtract m once if t ≥ m.
	var d [8]uint64
	var b uint64
	for i := 0; i < 8; i++ {
		d[i], b = bits.Sub64(t[i], m[i], b)
	}
	_, keep := bits.Sub64(t[8], 0, b)
	mask := -keep
	for i := 0; i < 8; i++ {
		z[i] = t[i]&mask | d[i]&^mask
	}
}

// reduceOnce sets z = v − m if v (with a carry limb) is at least m, else v.
func (md *modulus) reduceOnce(z *elem, v []uint64, carry uint64) {
	var d elem
	var b uint64
	for i := range md.n {
		d[i], b = bits.Sub64(v[i], md.m[i], b)
	}
	// Keep v when it is below m: no carry out, and the subtraction borrowed.
	_, keep := bits.Sub64(carry, 0, b)
	mask := -keep
	for i := range md.n {
		z[i] = v[i]&mask | d[i]&^mask
	}
}

func (md *modulus) add(z, x, y *elem) {
	if md.n == 4 {
		add4u(z, x, y, &md.m)
		return
	}
	var s elem
	var c uint64
	for i := range md.n {
		s[i], c = bits.Add64(x[i], y[i], c)
	}
	md.reduceOnce(z, s[:md.n], c)
}

func (md *modulus) sub(z, x, y *elem) {
	if md.n == 4 {
		sub4(z, x, y, &md.m)
		return
	}
	var d elem
	var b uint64
	for i := range md.n {
		d[i], b = bits.Sub64(x[i], y[i], b)
	}
	// Add m back when the subtraction borrowed.
	mask := -b
	var c uint64
	for i := range md.n {
		z[i], c = bits.Add64(d[i], md.m[i]&mask, c)
	}
}

// toMont enters Montgomery form: x must be below m.
func (md *modulus) toMont(z, x *elem) { md.mul(z, x, &md.rr) }

// fromMont leaves Montgomery form.
func (md *modulus) fromMont(z, x *elem) {
	one := elem{1}
	md.mul(z, x, &one)
}

// inv sets z = x⁻¹ (0 for 0), by Fermat: x^(m−2), four bits at a time.
// The exponent is public, so its branches tell nothing of x.
func (md *modulus) inv(z, x *elem) {
	var pow [16]elem
	pow[0], pow[1] = md.one, *x
	for i := 2; i < 16; i++ {
		md.mul(&pow[i], &pow[i-1], x)
	}
	r := md.one
	for _, b := range md.pm2 {
		for _, w := range [2]byte{b >> 4, b & 15} {
			for range 4 {
				md.mul(&r, &r, &r)
			}
			if w != 0 {
				md.mul(&r, &r, &pow[w])
			}
		}
	}
	*z = r
}

// isZero is 1 when x is 0, else 0, in constant time.
func (md *modulus) isZero(x *elem) uint64 {
	var acc uint64
	for i := range md.n {
		acc |= x[i]
	}
	// acc | −acc has its top bit set unless acc is 0.
	return 1 ^ (acc|-acc)>>63
}

// equal is 1 when x == y, else 0, in constant time.
func (md *modulus) equal(x, y *elem) uint64 {
	var d elem
	for i := range md.n {
		d[i] = x[i] ^ y[i]
	}
	return md.isZero(&d)
}

// choose sets z = a when c is 1, b when c is 0, in constant time.
func choose(z, a, b *elem, c uint64) {
	mask := -c
	for i := range z {
		z[i] = a[i]&mask | b[i]&^mask
	}
}

// setBytesLE reads a little-endian number that must be below m (ok is 0
// otherwise), not in Montgomery form. The comparison is constant-time.
func (md *modulus) setBytesLE(z *elem, b []byte) (ok uint64) {
	var x elem
	for i, v := range b {
		if i/8 >= md.n {
			if v != 0 {
				return 0
			}
			continue
		}
		x[i/8] |= uint64(v) << (8 * uint(i%8))
	}
	var b2 uint64
	for i := range md.n {
		_, b2 = bits.Sub64(x[i], md.m[i], b2)
	}
	*z = x
	return b2 // borrowed: x < m
}

// reduceBytesLE sets z to a little-endian number of at most n limbs reduced
// modulo m, not in Montgomery form, in constant time: x = xLo + xHi·2^(64n−64)
// is reduced by one Montgomery multiplication by R² and one by 1, which
// works for any x below m·R.
func (md *modulus) reduceBytesLE(z *elem, b []byte) {
	var x elem
	for i, v := range b {
		if i/8 < md.n {
			x[i/8] |= uint64(v) << (8 * uint(i%8))
		}
	}
	// x < R; x·R⁻¹·R² ·R⁻¹ = x mod m, and mul accepts any x < R when its
	// other factor is below m.
	var t elem
	md.mul(&t, &x, &md.rr)
	md.fromMont(z, &t)
}

// bytesLE writes x (not in Montgomery form) as md.bytes little-endian bytes.
func (md *modulus) bytesLE(x *elem) []byte {
	out := make([]byte, md.bytes)
	for i := range out {
		out[i] = byte(x[i/8] >> (8 * uint(i%8)))
	}
	return out
}

func (md *modulus) toBig(x *elem) *big.Int {
	b := md.bytesLE(x)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return new(big.Int).SetBytes(b)
}

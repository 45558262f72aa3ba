// Code generated from the loops of mul4, add and sub in field.go, unrolled
// for four limbs (the 256-bit curve): TestField4 holds them equal. DO NOT EDIT by hand.

package gost

import "math/bits"

// mul4u is mul4 unrolled.
func mul4u(z, x, y, m *elem, minv uint64) {
	x0, x1, x2, x3 := x[0], x[1], x[2], x[3]
	m0, m1, m2, m3 := m[0], m[1], m[2], m[3]
	var t0, t1, t2, t3, t4, t5, c, hi, lo, cc, u, yi uint64
	// y[0]
	yi = y[0]
	c = 0
	hi, lo = bits.Mul64(x0, yi)
	lo, cc = bits.Add64(lo, t0, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t0, c = lo, hi+cc
	hi, lo = bits.Mul64(x1, yi)
	lo, cc = bits.Add64(lo, t1, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t1, c = lo, hi+cc
	hi, lo = bits.Mul64(x2, yi)
	lo, cc = bits.Add64(lo, t2, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t2, c = lo, hi+cc
	hi, lo = bits.Mul64(x3, yi)
	lo, cc = bits.Add64(lo, t3, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t3, c = lo, hi+cc
	t4, cc = bits.Add64(t4, c, 0)
	t5 = cc
	u = t0 * minv
	hi, lo = bits.Mul64(u, m0)
	_, cc = bits.Add64(lo, t0, 0)
	c = hi + cc
	hi, lo = bits.Mul64(u, m1)
	lo, cc = bits.Add64(lo, t1, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t0, c = lo, hi+cc
	hi, lo = bits.Mul64(u, m2)
	lo, cc = bits.Add64(lo, t2, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t1, c = lo, hi+cc
	hi, lo = bits.Mul64(u, m3)
	lo, cc = bits.Add64(lo, t3, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t2, c = lo, hi+cc
	t3, cc = bits.Add64(t4, c, 0)
	t4 = t5 + cc
	// y[1]
	yi = y[1]
	c = 0
	hi, lo = bits.Mul64(x0, yi)
	lo, cc = bits.Add64(lo, t0, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t0, c = lo, hi+cc
	hi, lo = bits.Mul64(x1, yi)
	lo, cc = bits.Add64(lo, t1, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t1, c = lo, hi+cc
	hi, lo = bits.Mul64(x2, yi)
	lo, cc = bits.Add64(lo, t2, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t2, c = lo, hi+cc
	hi, lo = bits.Mul64(x3, yi)
	lo, cc = bits.Add64(lo, t3, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t3, c = lo, hi+cc
	t4, cc = bits.Add64(t4, c, 0)
	t5 = cc
	u = t0 * minv
	hi, lo = bits.Mul64(u, m0)
	_, cc = bits.Add64(lo, t0, 0)
	c = hi + cc
	hi, lo = bits.Mul64(u, m1)
	lo, cc = bits.Add64(lo, t1, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t0, c = lo, hi+cc
	hi, lo = bits.Mul64(u, m2)
	lo, cc = bits.Add64(lo, t2, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t1, c = lo, hi+cc
	hi, lo = bits.Mul64(u, m3)
	lo, cc = bits.Add64(lo, t3, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t2, c = lo, hi+cc
	t3, cc = bits.Add64(t4, c, 0)
	t4 = t5 + cc
	// y[2]
	yi = y[2]
	c = 0
	hi, lo = bits.Mul64(x0, yi)
	lo, cc = bits.Add64(lo, t0, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t0, c = lo, hi+cc
	hi, lo = bits.Mul64(x1, yi)
	lo, cc = bits.Add64(lo, t1, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t1, c = lo, hi+cc
	hi, lo = bits.Mul64(x2, yi)
	lo, cc = bits.Add64(lo, t2, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t2, c = lo, hi+cc
	hi, lo = bits.Mul64(x3, yi)
	lo, cc = bits.Add64(lo, t3, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t3, c = lo, hi+cc
	t4, cc = bits.Add64(t4, c, 0)
	t5 = cc
	u = t0 * minv
	hi, lo = bits.Mul64(u, m0)
	_, cc = bits.Add64(lo, t0, 0)
	c = hi + cc
	hi, lo = bits.Mul64(u, m1)
	lo, cc = bits.Add64(lo, t1, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t0, c = lo, hi+cc
	hi, lo = bits.Mul64(u, m2)
	lo, cc = bits.Add64(lo, t2, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t1, c = lo, hi+cc
	hi, lo = bits.Mul64(u, m3)
	lo, cc = bits.Add64(lo, t3, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t2, c = lo, hi+cc
	t3, cc = bits.Add64(t4, c, 0)
	t4 = t5 + cc
	// y[3]
	yi = y[3]
	c = 0
	hi, lo = bits.Mul64(x0, yi)
	lo, cc = bits.Add64(lo, t0, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t0, c = lo, hi+cc
	hi, lo = bits.Mul64(x1, yi)
	lo, cc = bits.Add64(lo, t1, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t1, c = lo, hi+cc
	hi, lo = bits.Mul64(x2, yi)
	lo, cc = bits.Add64(lo, t2, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t2, c = lo, hi+cc
	hi, lo = bits.Mul64(x3, yi)
	lo, cc = bits.Add64(lo, t3, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t3, c = lo, hi+cc
	t4, cc = bits.Add64(t4, c, 0)
	t5 = cc
	u = t0 * minv
	hi, lo = bits.Mul64(u, m0)
	_, cc = bits.Add64(lo, t0, 0)
	c = hi + cc
	hi, lo = bits.Mul64(u, m1)
	lo, cc = bits.Add64(lo, t1, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t0, c = lo, hi+cc
	hi, lo = bits.Mul64(u, m2)
	lo, cc = bits.Add64(lo, t2, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t1, c = lo, hi+cc
	hi, lo = bits.Mul64(u, m3)
	lo, cc = bits.Add64(lo, t3, 0)
	hi += cc
	lo, cc = bits.Add64(lo, c, 0)
	t2, c = lo, hi+cc
	t3, cc = bits.Add64(t4, c, 0)
	t4 = t5 + cc
	sub4u(z, t0, t1, t2, t3, t4, m0, m1, m2, m3)
}

// sub4u sets z to t (with a carry limb) less m when t ≥ m, else t.
func sub4u(z *elem, t0, t1, t2, t3, carry, m0, m1, m2, m3 uint64) {
	d0, b := bits.Sub64(t0, m0, 0)
	d1, b := bits.Sub64(t1, m1, b)
	d2, b := bits.Sub64(t2, m2, b)
	d3, b := bits.Sub64(t3, m3, b)
	_, keep := bits.Sub64(carry, 0, b)
	mask := -keep
	z[0] = t0&mask | d0&^mask
	z[1] = t1&mask | d1&^mask
	z[2] = t2&mask | d2&^mask
	z[3] = t3&mask | d3&^mask
}

// add4u is add for four limbs.
func add4u(z, x, y, m *elem) {
	s0, c := bits.Add64(x[0], y[0], 0)
	s1, c := bits.Add64(x[1], y[1], c)
	s2, c := bits.Add64(x[2], y[2], c)
	s3, c := bits.Add64(x[3], y[3], c)
	sub4u(z, s0, s1, s2, s3, c, m[0], m[1], m[2], m[3])
}

// sub4 is sub for four limbs.
func sub4(z, x, y, m *elem) {
	d0, b := bits.Sub64(x[0], y[0], 0)
	d1, b := bits.Sub64(x[1], y[1], b)
	d2, b := bits.Sub64(x[2], y[2], b)
	d3, b := bits.Sub64(x[3], y[3], b)
	mask := -b
	z0, c := bits.Add64(d0, m[0]&mask, 0)
	z1, c := bits.Add64(d1, m[1]&mask, c)
	z2, c := bits.Add64(d2, m[2]&mask, c)
	z3, _ := bits.Add64(d3, m[3]&mask, c)
	z[0], z[1], z[2], z[3] = z0, z1, z2, z3
}

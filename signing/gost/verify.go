package gost

import (
	"math/big"
	"sync"
)

// Verification handles only public values, so it may take variable time:
// z1·G + z2·Q is computed in one pass (Straus) over the width-w NAFs of
// both scalars, in Jacobian coordinates with a = −3 doubling and mixed
// additions of affine precomputed multiples — about half the field
// multiplications of the constant-time multiplications signing needs.

// jacobian is a point (X:Y:Z) with x = X/Z², y = Y/Z³, in Montgomery form;
// Z = 0 is the identity.
type jacobian struct{ x, y, z elem }

// affinePt is an affine point in Montgomery form.
type affinePt struct{ x, y elem }

const (
	wG = 7 // NAF width for the fixed base: 32 precomputed odd multiples
	wQ = 5 // for the public key: 8, computed per verification
)

type gTable struct {
	once sync.Once
	pts  []affinePt
}

var gTables sync.Map // *Curve → *gTable

// doubleJ sets r = 2p (dbl-2001-b, a = −3: 3M + 5S).
func (c *Curve) doubleJ(r, p *jacobian) {
	f := c.fp
	if f.isZero(&p.z) == 1 {
		*r = *p
		return
	}
	var delta, gamma, beta, alpha, t, u elem
	f.mul(&delta, &p.z, &p.z)
	f.mul(&gamma, &p.y, &p.y)
	f.mul(&beta, &p.x, &gamma)
	f.sub(&t, &p.x, &delta)
	f.add(&u, &p.x, &delta)
	f.mul(&alpha, &t, &u)
	f.add(&t, &alpha, &alpha)
	f.add(&alpha, &alpha, &t) // 3(X−δ)(X+δ)
	var x3, y3, z3, b4, b8 elem
	f.add(&b4, &beta, &beta)
	f.add(&b4, &b4, &b4)
	f.add(&b8, &b4, &b4)
	f.mul(&x3, &alpha, &alpha)
	f.sub(&x3, &x3, &b8)
	f.add(&z3, &p.y, &p.z)
	f.mul(&z3, &z3, &z3)
	f.sub(&z3, &z3, &gamma)
	f.sub(&z3, &z3, &delta)
	f.sub(&t, &b4, &x3)
	f.mul(&y3, &alpha, &t)
	f.mul(&t, &gamma, &gamma)
	f.add(&t, &t, &t)
	f.add(&t, &t, &t)
	f.add(&t, &t, &t) // 8γ²
	f.sub(&y3, &y3, &t)
	r.x, r.y, r.z = x3, y3, z3
}

// addMixed sets r = p + q for an affine q (madd-2007-bl: 7M + 4S), with
// the cases the formula does not cover taken apart.
func (c *Curve) addMixed(r, p *jacobian, q *affinePt) {
	f := c.fp
	if f.isZero(&p.z) == 1 {
		r.x, r.y, r.z = q.x, q.y, f.one
		return
	}
	var z1z1, u2, s2, h, hh, i, j, rr, v elem
	f.mul(&z1z1, &p.z, &p.z)
	f.mul(&u2, &q.x, &z1z1)
	f.mul(&s2, &q.y, &p.z)
	f.mul(&s2, &s2, &z1z1)
	f.sub(&h, &u2, &p.x)
	f.sub(&rr, &s2, &p.y)
	if f.isZero(&h) == 1 {
		if f.isZero(&rr) == 1 {
			c.doubleJ(r, p) // p = q
			return
		}
		*r = jacobian{y: f.one} // p = −q
		return
	}
	f.add(&rr, &rr, &rr)
	f.mul(&hh, &h, &h)
	f.add(&i, &hh, &hh)
	f.add(&i, &i, &i)
	f.mul(&j, &h, &i)
	f.mul(&v, &p.x, &i)
	var x3, y3, z3, t elem
	f.mul(&x3, &rr, &rr)
	f.sub(&x3, &x3, &j)
	f.sub(&x3, &x3, &v)
	f.sub(&x3, &x3, &v)
	f.sub(&t, &v, &x3)
	f.mul(&y3, &rr, &t)
	f.mul(&t, &p.y, &j)
	f.add(&t, &t, &t)
	f.sub(&y3, &y3, &t)
	f.add(&z3, &p.z, &h)
	f.mul(&z3, &z3, &z3)
	f.sub(&z3, &z3, &z1z1)
	f.sub(&z3, &z3, &hh)
	r.x, r.y, r.z = x3, y3, z3
}

// addJ sets r = p + q (add-2007-bl: 11M + 5S), the cases the formula
// does not cover taken apart.
func (c *Curve) addJ(r, p, q *jacobian) {
	f := c.fp
	switch {
	case f.isZero(&p.z) == 1:
		*r = *q
		return
	case f.isZero(&q.z) == 1:
		*r = *p
		return
	}
	var z1z1, z2z2, u1, u2, s1, s2, h, i, j, rr, v, t elem
	f.mul(&z1z1, &p.z, &p.z)
	f.mul(&z2z2, &q.z, &q.z)
	f.mul(&u1, &p.x, &z2z2)
	f.mul(&u2, &q.x, &z1z1)
	f.mul(&s1, &p.y, &q.z)
	f.mul(&s1, &s1, &z2z2)
	f.mul(&s2, &q.y, &p.z)
	f.mul(&s2, &s2, &z1z1)
	f.sub(&h, &u2, &u1)
	f.sub(&rr, &s2, &s1)
	if f.isZero(&h) == 1 {
		if f.isZero(&rr) == 1 {
			c.doubleJ(r, p)
			return
		}
		*r = jacobian{y: f.one}
		return
	}
	f.add(&i, &h, &h)
	f.mul(&i, &i, &i)
	f.mul(&j, &h, &i)
	f.add(&rr, &rr, &rr)
	f.mul(&v, &u1, &i)
	var x3, y3, z3 elem
	f.mul(&x3, &rr, &rr)
	f.sub(&x3, &x3, &j)
	f.sub(&x3, &x3, &v)
	f.sub(&x3, &x3, &v)
	f.sub(&t, &v, &x3)
	f.mul(&y3, &rr, &t)
	f.mul(&t, &s1, &j)
	f.add(&t, &t, &t)
	f.sub(&y3, &y3, &t)
	f.add(&z3, &p.z, &q.z)
	f.mul(&z3, &z3, &z3)
	f.sub(&z3, &z3, &z1z1)
	f.sub(&z3, &z3, &z2z2)
	f.mul(&z3, &z3, &h)
	r.x, r.y, r.z = x3, y3, z3
}

// oddMultiples returns p, 3p, …, (2^(w−1)−1)p, affine, with one inversion
// for all of them (Montgomery's trick).
func (c *Curve) oddMultiples(p *affinePt, w uint) []affinePt {
	f := c.fp
	n := 1 << (w - 2)
	jac := make([]jacobian, n)
	jac[0] = jacobian{p.x, p.y, f.one}
	var twice jacobian
	c.doubleJ(&twice, &jac[0])
	for i := 1; i < n; i++ {
		c.addJ(&jac[i], &jac[i-1], &twice)
	}
	// Batch inversion of the Zs.
	prefix := make([]elem, n)
	acc := f.one
	for i := range jac {
		prefix[i] = acc
		f.mul(&acc, &acc, &jac[i].z)
	}
	var inv elem
	f.inv(&inv, &acc)
	out := make([]affinePt, n)
	for i := n - 1; i >= 0; i-- {
		var zi, zi2, zi3 elem
		f.mul(&zi, &inv, &prefix[i])
		f.mul(&inv, &inv, &jac[i].z)
		f.mul(&zi2, &zi, &zi)
		f.mul(&zi3, &zi2, &zi)
		f.mul(&out[i].x, &jac[i].x, &zi2)
		f.mul(&out[i].y, &jac[i].y, &zi3)
	}
	return out
}

// wnaf is k's width-w non-adjacent form, least significant digit first.
func wnaf(k *big.Int, w uint) []int8 {
	k = new(big.Int).Set(k)
	var out []int8
	mask := big.Word(1<<w - 1)
	for k.Sign() > 0 {
		var d int
		if k.Bit(0) == 1 {
			d = int(k.Bits()[0] & mask)
			if d >= 1<<(w-1) {
				d -= 1 << w
			}
			k.Sub(k, big.NewInt(int64(d)))
		}
		out = append(out, int8(d))
		k.Rsh(k, 1)
	}
	return out
}

// addDigit adds d·P from the odd multiples of P (d odd, possibly
// negative).
func (c *Curve) addDigit(acc *jacobian, table []affinePt, d int8) {
	if d == 0 {
		return
	}
	if d > 0 {
		c.addMixed(acc, acc, &table[d/2])
		return
	}
	neg := table[(-d)/2]
	var zero elem
	c.fp.sub(&neg.y, &zero, &neg.y)
	c.addMixed(acc, acc, &neg)
}

// combined returns z1·G + z2·Q, in Jacobian coordinates.
func (c *Curve) combined(z1, z2 *big.Int, q *point) jacobian {
	t, _ := gTables.LoadOrStore(c, &gTable{})
	gt := t.(*gTable)
	gt.once.Do(func() {
		g := affinePt{c.g.x, c.g.y}
		gt.pts = c.oddMultiples(&g, wG)
	})
	qa := affinePt{q.x, q.y} // q is affine already (Z = 1)
	qt := c.oddMultiples(&qa, wQ)
	n1, n2 := wnaf(z1, wG), wnaf(z2, wQ)
	acc := jacobian{y: c.fp.one}
	for i := max(len(n1), len(n2)) - 1; i >= 0; i-- {
		c.doubleJ(&acc, &acc)
		if i < len(n1) {
			c.addDigit(&acc, gt.pts, n1[i])
		}
		if i < len(n2) {
			c.addDigit(&acc, qt, n2[i])
		}
	}
	return acc
}

// xIs reports whether the affine x of a Jacobian point, reduced mod q, is
// r — without the inversion that x = X/Z² would take: x is r or r + q
// (p < 2q), so X = r·Z² or X = (r + q)·Z².
func (c *Curve) xIs(p *jacobian, r *big.Int) bool {
	f := c.fp
	if f.isZero(&p.z) == 1 {
		return false
	}
	var z2 elem
	f.mul(&z2, &p.z, &p.z)
	for _, cand := range []*big.Int{r, new(big.Int).Add(r, c.Q)} {
		if cand.Cmp(c.P) >= 0 {
			break
		}
		var cm, t elem
		ce := fromBig(cand)
		f.toMont(&cm, &ce)
		f.mul(&t, &cm, &z2)
		if f.equal(&t, &p.x) == 1 {
			return true
		}
	}
	return false
}

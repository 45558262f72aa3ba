package gost

import (
	"errors"
	"math/big"
	"sync"
)

// Curve is a GOST R 34.10 curve y² = x³ + ax + b over GF(p) of prime
// order q (cofactor 1), and its base point. Both curves Kazakhstan's NCA
// uses have a = −3; every point operation is one complete formula (for
// a = −3, or for any a: the standards' worked examples have a = 7), with
// no exceptional case to branch on.
type Curve struct {
	// Name is the parameter set's name (RFC 4357, RFC 7836).
	Name               string
	P, Q, A, B, Gx, Gy *big.Int

	fp, fq *modulus
	a, b   elem // in Montgomery form
	b3     elem // 3b, for the general formula
	aIsM3  bool // a = −3
	g      point

	tablesOnce sync.Once
	tables     []table // multiples of G for fixed-base multiplication
}

func hexInt(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("gost: bad constant " + s)
	}
	return v
}

func newCurve(name, p, a, b, q, gx, gy string) *Curve {
	c := &Curve{Name: name, P: hexInt(p), B: hexInt(b), Q: hexInt(q), Gx: hexInt(gx), Gy: hexInt(gy)}
	if a == "-3" {
		c.A = new(big.Int).Sub(c.P, big.NewInt(3))
	} else {
		c.A = hexInt(a)
	}
	c.aIsM3 = a == "-3"
	c.fp, c.fq = newModulus(c.P), newModulus(c.Q)
	ab, bb := fromBig(c.A), fromBig(c.B)
	c.fp.toMont(&c.a, &ab)
	c.fp.toMont(&c.b, &bb)
	c.fp.add(&c.b3, &c.b, &c.b)
	c.fp.add(&c.b3, &c.b3, &c.b)
	g, err := c.affine(c.Gx, c.Gy)
	if err != nil {
		panic("gost: " + name + ": " + err.Error())
	}
	c.g = *g
	return c
}

// CryptoProA is the 256-bit curve of GOST 34.310-2004 (NCA's "GOST" keys):
// id-GostR3410-2001-CryptoPro-A-ParamSet, RFC 4357 §11.4.
var CryptoProA = newCurve("id-GostR3410-2001-CryptoPro-A-ParamSet",
	"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97", "-3",
	"A6",
	"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF6C611070995AD10045841B09B761B893",
	"1",
	"8D91E471E0989CDA27DF505A453F2B7635294F2DDF23E3B122ACC99C9E9F1E14")

// TC26512A is the 512-bit curve of GOST 34.10-2015 (NCA's "GOST512" keys):
// id-tc26-gost-3410-12-512-paramSetA, RFC 7836 §A.1.
var TC26512A = newCurve("id-tc26-gost-3410-12-512-paramSetA",
	"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC7", "-3",
	"E8C2505DEDFC86DDC1BD0B2B6667F1DA34B82574761CB0E879BD081CFD0B6265EE3CB090F30D27614CB4574010DA90DD862EF9D4EBEE4761503190785A71C760",
	"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF27E69532F48D89116FF22B8D4E0560609B4B38ABFAD2B85DCACDB1411F10B275",
	"3",
	"7503CFE87A836AE3A61B8816E25450E6CE5E1C93ACF1ABC1778064FDCBEFA921DF1626BE4FD036E93D75E6A50E3A41E98028FE5FC235F5B889A589CB5215F2A4")

// point is a point in projective coordinates (X:Y:Z), each in Montgomery
// form; the identity is (0:1:0).
type point struct{ x, y, z elem }

func (c *Curve) identity() point { return point{y: c.fp.one} }

var errNotOnCurve = errors.New("gost: the point is not on the curve")

// affine makes a point of affine coordinates, checking it is on the curve.
func (c *Curve) affine(x, y *big.Int) (*point, error) {
	if x.Sign() < 0 || y.Sign() < 0 || x.Cmp(c.P) >= 0 || y.Cmp(c.P) >= 0 {
		return nil, errNotOnCurve
	}
	p := &point{z: c.fp.one}
	xe, ye := fromBig(x), fromBig(y)
	c.fp.toMont(&p.x, &xe)
	c.fp.toMont(&p.y, &ye)
	// y² = x³ + ax + b
	f := c.fp
	var y2, x3, t elem
	f.mul(&y2, &p.y, &p.y)
	f.mul(&x3, &p.x, &p.x)
	f.mul(&x3, &x3, &p.x)
	f.mul(&t, &c.a, &p.x)
	f.add(&x3, &x3, &t)
	f.add(&x3, &x3, &c.b)
	if f.equal(&y2, &x3) != 1 {
		return nil, errNotOnCurve
	}
	return p, nil
}

// toAffine returns the affine coordinates, not in Montgomery form; ok is 0
// for the identity.
func (c *Curve) toAffine(p *point) (x, y elem, ok uint64) {
	f := c.fp
	var zi elem
	f.inv(&zi, &p.z)
	f.mul(&x, &p.x, &zi)
	f.mul(&y, &p.y, &zi)
	f.fromMont(&x, &x)
	f.fromMont(&y, &y)
	return x, y, 1 ^ f.isZero(&p.z)
}

// add sets r = p1 + p2: the complete addition for a = −3 of Renes,
// Costello and Batina, "Complete addition formulas for prime order
// elliptic curves" (2015), Algorithm 4. r may alias p1 or p2.
func (c *Curve) add(r, p1, p2 *point) {
	if !c.aIsM3 {
		c.addGeneral(r, p1, p2)
		return
	}
	f := c.fp
	var t0, t1, t2, t3, t4, x3, y3, z3 elem
	f.mul(&t0, &p1.x, &p2.x)
	f.mul(&t1, &p1.y, &p2.y)
	f.mul(&t2, &p1.z, &p2.z)
	f.add(&t3, &p1.x, &p1.y)
	f.add(&t4, &p2.x, &p2.y)
	f.mul(&t3, &t3, &t4)
	f.add(&t4, &t0, &t1)
	f.sub(&t3, &t3, &t4)
	f.add(&t4, &p1.y, &p1.z)
	f.add(&x3, &p2.y, &p2.z)
	f.mul(&t4, &t4, &x3)
	f.add(&x3, &t1, &t2)
	f.sub(&t4, &t4, &x3)
	f.add(&x3, &p1.x, &p1.z)
	f.add(&y3, &p2.x, &p2.z)
	f.mul(&x3, &x3, &y3)
	f.add(&y3, &t0, &t2)
	f.sub(&y3, &x3, &y3)
	f.mul(&z3, &c.b, &t2)
	f.sub(&x3, &y3, &z3)
	f.add(&z3, &x3, &x3)
	f.add(&x3, &x3, &z3)
	f.sub(&z3, &t1, &x3)
	f.add(&x3, &t1, &x3)
	f.mul(&y3, &c.b, &y3)
	f.add(&t1, &t2, &t2)
	f.add(&t2, &t1, &t2)
	f.sub(&y3, &y3, &t2)
	f.sub(&y3, &y3, &t0)
	f.add(&t1, &y3, &y3)
	f.add(&y3, &t1, &y3)
	f.add(&t1, &t0, &t0)
	f.add(&t0, &t1, &t0)
	f.sub(&t0, &t0, &t2)
	f.mul(&t1, &t4, &y3)
	f.mul(&t2, &t0, &y3)
	f.mul(&y3, &x3, &z3)
	f.add(&y3, &y3, &t2)
	f.mul(&x3, &t3, &x3)
	f.sub(&x3, &x3, &t1)
	f.mul(&z3, &t4, &z3)
	f.mul(&t1, &t3, &t0)
	f.add(&z3, &z3, &t1)
	r.x, r.y, r.z = x3, y3, z3
}

// addGeneral is the same paper's Algorithm 1, complete for any a; it
// doubles too.
func (c *Curve) addGeneral(r, p1, p2 *point) {
	f := c.fp
	var t0, t1, t2, t3, t4, t5, x3, y3, z3 elem
	f.mul(&t0, &p1.x, &p2.x)
	f.mul(&t1, &p1.y, &p2.y)
	f.mul(&t2, &p1.z, &p2.z)
	f.add(&t3, &p1.x, &p1.y)
	f.add(&t4, &p2.x, &p2.y)
	f.mul(&t3, &t3, &t4)
	f.add(&t4, &t0, &t1)
	f.sub(&t3, &t3, &t4)
	f.add(&t4, &p1.x, &p1.z)
	f.add(&t5, &p2.x, &p2.z)
	f.mul(&t4, &t4, &t5)
	f.add(&t5, &t0, &t2)
	f.sub(&t4, &t4, &t5)
	f.add(&t5, &p1.y, &p1.z)
	f.add(&x3, &p2.y, &p2.z)
	f.mul(&t5, &t5, &x3)
	f.add(&x3, &t1, &t2)
	f.sub(&t5, &t5, &x3)
	f.mul(&z3, &c.a, &t4)
	f.mul(&x3, &c.b3, &t2)
	f.add(&z3, &x3, &z3)
	f.sub(&x3, &t1, &z3)
	f.add(&z3, &t1, &z3)
	f.mul(&y3, &x3, &z3)
	f.add(&t1, &t0, &t0)
	f.add(&t1, &t1, &t0)
	f.mul(&t2, &c.a, &t2)
	f.mul(&t4, &c.b3, &t4)
	f.add(&t1, &t1, &t2)
	f.sub(&t2, &t0, &t2)
	f.mul(&t2, &c.a, &t2)
	f.add(&t4, &t4, &t2)
	f.mul(&t0, &t1, &t4)
	f.add(&y3, &y3, &t0)
	f.mul(&t0, &t5, &t4)
	f.mul(&x3, &t3, &x3)
	f.sub(&x3, &x3, &t0)
	f.mul(&t0, &t3, &t1)
	f.mul(&z3, &t5, &z3)
	f.add(&z3, &z3, &t0)
	r.x, r.y, r.z = x3, y3, z3
}

// double sets r = 2p: the same paper's Algorithm 6. r may alias p.
func (c *Curve) double(r, p *point) {
	if !c.aIsM3 {
		c.addGeneral(r, p, p)
		return
	}
	f := c.fp
	var t0, t1, t2, t3, x3, y3, z3 elem
	f.mul(&t0, &p.x, &p.x)
	f.mul(&t1, &p.y, &p.y)
	f.mul(&t2, &p.z, &p.z)
	f.mul(&t3, &p.x, &p.y)
	f.add(&t3, &t3, &t3)
	f.mul(&z3, &p.x, &p.z)
	f.add(&z3, &z3, &z3)
	f.mul(&y3, &c.b, &t2)
	f.sub(&y3, &y3, &z3)
	f.add(&x3, &y3, &y3)
	f.add(&y3, &x3, &y3)
	f.sub(&x3, &t1, &y3)
	f.add(&y3, &t1, &y3)
	f.mul(&y3, &x3, &y3)
	f.mul(&x3, &x3, &t3)
	f.add(&t3, &t2, &t2)
	f.add(&t2, &t2, &t3)
	f.mul(&z3, &c.b, &z3)
	f.sub(&z3, &z3, &t2)
	f.sub(&z3, &z3, &t0)
	f.add(&t3, &z3, &z3)
	f.add(&z3, &z3, &t3)
	f.add(&t3, &t0, &t0)
	f.add(&t0, &t3, &t0)
	f.sub(&t0, &t0, &t2)
	f.mul(&t0, &t0, &z3)
	f.add(&y3, &y3, &t0)
	f.mul(&t0, &p.y, &p.z)
	f.add(&t0, &t0, &t0)
	f.mul(&z3, &t0, &z3)
	f.sub(&x3, &x3, &z3)
	f.mul(&z3, &t0, &t1)
	f.add(&z3, &z3, &z3)
	f.add(&z3, &z3, &z3)
	r.x, r.y, r.z = x3, y3, z3
}

// table holds 1·P … 15·P for a four-bit window.
type table [15]point

func (c *Curve) newTable(p *point) *table {
	var t table
	t[0] = *p
	for i := 1; i < 15; i += 2 {
		c.double(&t[i], &t[i/2])
		c.add(&t[i+1], &t[i], p)
	}
	return &t
}

// selectInto sets r = w·P (the identity for w = 0), reading every entry so
// that the window's value does not show in memory access.
func (c *Curve) selectInto(r *point, t *table, w uint8) {
	*r = c.identity()
	for i := range t {
		hit := uint64(eq8(uint8(i+1), w))
		choose(&r.x, &t[i].x, &r.x, hit)
		choose(&r.y, &t[i].y, &r.y, hit)
		choose(&r.z, &t[i].z, &r.z, hit)
	}
}

// eq8 is 1 when a == b, else 0, without a branch.
func eq8(a, b uint8) uint8 {
	x := uint32(a ^ b)
	return uint8(1 ^ (x|-x)>>31)
}

// scalarMult sets r = k·P for a scalar of fixed length (big-endian), in
// constant time: a four-bit window over a table read whole every time.
func (c *Curve) scalarMult(r, p *point, k []byte) {
	t := c.newTable(p)
	acc := c.identity()
	var s point
	for i, b := range k {
		if i != 0 {
			for range 4 {
				c.double(&acc, &acc)
			}
		}
		c.selectInto(&s, t, b>>4)
		c.add(&acc, &acc, &s)
		for range 4 {
			c.double(&acc, &acc)
		}
		c.selectInto(&s, t, b&15)
		c.add(&acc, &acc, &s)
	}
	*r = acc
}

// baseMult sets r = k·G, with tables of G's multiples made once (each
// table the previous one doubled four times), so that no doubling is left
// to do: one constant-time selection and one addition per four bits.
func (c *Curve) baseMult(r *point, k []byte) {
	c.tablesOnce.Do(func() {
		n := 2 * c.fp.bytes
		c.tables = make([]table, n)
		p := c.g
		for i := range n {
			c.tables[i] = *c.newTable(&p)
			for range 4 {
				c.double(&p, &p)
			}
		}
	})
	acc := c.identity()
	var s point
	idx := 2*len(k) - 1
	for _, b := range k {
		c.selectInto(&s, &c.tables[idx], b>>4)
		c.add(&acc, &acc, &s)
		c.selectInto(&s, &c.tables[idx-1], b&15)
		c.add(&acc, &acc, &s)
		idx -= 2
	}
	*r = acc
}

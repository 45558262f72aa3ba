package gost

import (
	"crypto"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
)

// PublicKey is a point of Curve.
type PublicKey struct {
	Curve *Curve
	X, Y  *big.Int
}

// PrivateKey is a secret scalar d with its public key dG. It implements
// crypto.Signer: Sign takes the digest the key's hash (NewHash) made.
type PrivateKey struct {
	PublicKey
	d elem // d mod q, in Montgomery form mod q
}

// Errors a caller may branch on.
var (
	ErrKey       = errors.New("gost: invalid key")
	ErrSignature = errors.New("gost: invalid signature")
)

// NewHash is the hash a key of c signs with: GOST R 34.11-94 with the test
// S-box for CryptoProA, Streebog-512 for TC26512A.
func (c *Curve) NewHash() hash.Hash {
	if c == TC26512A {
		return NewStreebog512()
	}
	return New94(TestParamSet)
}

// Size is the length of one coordinate, of the secret and of r and s.
func (c *Curve) Size() int { return c.fq.bytes }

// NewPrivateKey makes a key of the secret d, little-endian as the NCA's
// GOST 2015 key files hold it. d must be within 1..q−1.
func NewPrivateKey(c *Curve, d []byte) (*PrivateKey, error) {
	var de elem
	if c.fq.setBytesLE(&de, d) != 1 || c.fq.isZero(&de) == 1 {
		return nil, fmt.Errorf("%w: the secret is not within 1..q−1", ErrKey)
	}
	k := &PrivateKey{PublicKey: PublicKey{Curve: c}}
	var p point
	c.baseMult(&p, beBytes(c.fq, &de))
	x, y, _ := c.toAffine(&p)
	k.X, k.Y = c.fp.toBig(&x), c.fp.toBig(&y)
	c.fq.toMont(&k.d, &de)
	return k, nil
}

// GenerateKey makes a new key of c from rand (crypto/rand when nil).
func GenerateKey(c *Curve, r io.Reader) (*PrivateKey, error) {
	d, err := randomScalar(c, r)
	if err != nil {
		return nil, err
	}
	return NewPrivateKey(c, c.fq.bytesLE(&d))
}

// randomScalar draws uniformly from 1..q−1 by rejection: draws at or
// above q, or zero, are thrown away, which tells nothing of the one kept.
func randomScalar(c *Curve, r io.Reader) (elem, error) {
	if r == nil {
		r = rand.Reader
	}
	buf := make([]byte, c.fq.bytes)
	top := byte(0xff >> uint(8*c.fq.bytes-c.fq.bits))
	for range 128 {
		if _, err := io.ReadFull(r, buf); err != nil {
			return elem{}, fmt.Errorf("gost: random: %w", err)
		}
		buf[len(buf)-1] &= top
		var k elem
		if c.fq.setBytesLE(&k, buf) == 1 && c.fq.isZero(&k) == 0 {
			return k, nil
		}
	}
	return elem{}, errors.New("gost: random: the source keeps giving out-of-range values")
}

// beBytes is x (not in Montgomery form) as big-endian bytes of q's length.
func beBytes(md *modulus, x *elem) []byte {
	b := md.bytesLE(x)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return b
}

// Public returns the public key.
func (k *PrivateKey) Public() crypto.PublicKey { return &k.PublicKey }

// Bytes is the secret, little-endian, of the curve's size.
func (k *PrivateKey) Bytes() []byte {
	var d elem
	k.Curve.fq.fromMont(&d, &k.d)
	return k.Curve.fq.bytesLE(&d)
}

// Sign signs digest, the Sum of the key's hash, and returns r‖s, each
// little-endian, as the NCA writes GOST signatures. opts is not consulted:
// the hash is the curve's.
func (k *PrivateKey) Sign(r io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	c := k.Curve
	fq := c.fq
	if len(digest) != fq.bytes {
		return nil, fmt.Errorf("gost: a digest of %d bytes for a %d-byte curve", len(digest), fq.bytes)
	}
	var e, em elem
	fq.reduceBytesLE(&e, digest)
	one := elem{1}
	choose(&e, &one, &e, fq.isZero(&e)) // e = 0 signs as e = 1
	fq.toMont(&em, &e)
	for range 64 {
		kk, err := randomScalar(c, r)
		if err != nil {
			return nil, err
		}
		var p point
		c.baseMult(&p, beBytes(fq, &kk))
		x, _, _ := c.toAffine(&p)
		var rr elem
		fq.reduceBytesLE(&rr, c.fp.bytesLE(&x))
		if fq.isZero(&rr) == 1 {
			continue
		}
		// s = r·d + k·e mod q
		var rm, km, s, t elem
		fq.toMont(&rm, &rr)
		fq.toMont(&km, &kk)
		fq.mul(&s, &rm, &k.d)
		fq.mul(&t, &km, &em)
		fq.add(&s, &s, &t)
		fq.fromMont(&s, &s)
		if fq.isZero(&s) == 1 {
			continue
		}
		return append(fq.bytesLE(&rr), fq.bytesLE(&s)...), nil
	}
	return nil, errors.New("gost: no signature after 64 nonces")
}

// Verify reports whether sig (r‖s, little-endian each) signs digest.
func (pub *PublicKey) Verify(digest, sig []byte) error {
	c := pub.Curve
	n := c.fq.bytes
	if len(digest) != n || len(sig) != 2*n {
		return fmt.Errorf("%w: %d-byte signature, %d-byte digest for a %d-byte curve", ErrSignature, len(sig), len(digest), n)
	}
	q := c.Q
	r, s := leInt(sig[:n]), leInt(sig[n:])
	if r.Sign() == 0 || s.Sign() == 0 || r.Cmp(q) >= 0 || s.Cmp(q) >= 0 {
		return fmt.Errorf("%w: r or s out of range", ErrSignature)
	}
	e := new(big.Int).Mod(leInt(digest), q)
	if e.Sign() == 0 {
		e.SetInt64(1)
	}
	v := new(big.Int).ModInverse(e, q)
	z1 := new(big.Int).Mod(new(big.Int).Mul(s, v), q)
	z2 := new(big.Int).Mod(new(big.Int).Mul(new(big.Int).Sub(q, r), v), q)
	qp, err := c.affine(pub.X, pub.Y)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrKey, err)
	}
	if c.aIsM3 {
		acc := c.combined(z1, z2, qp)
		if !c.xIs(&acc, r) {
			return ErrSignature
		}
		return nil
	}
	// The standards' example curves (a = 7): the general formulas.
	var x elem
	{
		var a, b point
		c.baseMult(&a, z1.FillBytes(make([]byte, n)))
		c.scalarMult(&b, qp, z2.FillBytes(make([]byte, n)))
		c.add(&a, &a, &b)
		var ok uint64
		if x, _, ok = c.toAffine(&a); ok != 1 {
			return ErrSignature
		}
	}
	got := new(big.Int).Mod(c.fp.toBig(&x), q)
	if subtle.ConstantTimeCompare(got.FillBytes(make([]byte, n)), r.FillBytes(make([]byte, n))) != 1 {
		return ErrSignature
	}
	return nil
}

func leInt(b []byte) *big.Int {
	r := make([]byte, len(b))
	for i, v := range b {
		r[len(b)-1-i] = v
	}
	return new(big.Int).SetBytes(r)
}

// Bytes is the public key as the NCA writes it: x‖y, each little-endian.
func (pub *PublicKey) Bytes() []byte {
	n := pub.Curve.fp.bytes
	out := make([]byte, 2*n)
	pub.X.FillBytes(out[:n])
	pub.Y.FillBytes(out[n:])
	reverseBytes(out[:n])
	reverseBytes(out[n:])
	return out
}

func reverseBytes(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}

// ParsePublicKey reads x‖y (each little-endian) and checks the point is on
// c.
func ParsePublicKey(c *Curve, b []byte) (*PublicKey, error) {
	n := c.fp.bytes
	if len(b) != 2*n {
		return nil, fmt.Errorf("%w: a %d-byte public key for a %d-byte curve", ErrKey, len(b), n)
	}
	pub := &PublicKey{Curve: c, X: leInt(b[:n]), Y: leInt(b[n:])}
	if _, err := c.affine(pub.X, pub.Y); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return pub, nil
}

// Equal reports whether pub and x are the same key.
func (pub *PublicKey) Equal(x crypto.PublicKey) bool {
	o, ok := x.(*PublicKey)
	return ok && o.Curve == pub.Curve && o.X.Cmp(pub.X) == 0 && o.Y.Cmp(pub.Y) == 0
}

package gost

import (
	"encoding/binary"
	"hash"
	"math/bits"
)

// SBox is a GOST 28147-89 substitution: eight rows of 16 nibbles, the
// first applied to the least significant nibble.
type SBox [8][16]byte

// TestParamSet is id-GostR3411-94-TestParamSet (RFC 5831 §7.3.1, RFC 4357):
// the S-box of GOST 34.311-95, the hash of Kazakhstan's GOST 34.310-2004
// signatures.
var TestParamSet = &SBox{
	{4, 10, 9, 2, 13, 8, 0, 14, 6, 11, 1, 12, 7, 15, 5, 3},
	{14, 11, 4, 12, 6, 13, 15, 10, 2, 3, 8, 1, 0, 7, 5, 9},
	{5, 8, 1, 13, 10, 3, 4, 2, 14, 15, 12, 7, 6, 0, 9, 11},
	{7, 13, 10, 1, 0, 8, 9, 15, 14, 4, 6, 12, 11, 2, 5, 3},
	{6, 12, 7, 1, 5, 15, 13, 8, 4, 10, 9, 14, 0, 3, 11, 2},
	{4, 11, 10, 0, 7, 2, 1, 13, 3, 6, 8, 5, 9, 12, 15, 14},
	{13, 11, 4, 1, 3, 15, 5, 9, 0, 10, 14, 7, 6, 8, 2, 12},
	{1, 15, 13, 0, 5, 7, 10, 4, 9, 2, 3, 14, 6, 11, 8, 12},
}

// CryptoProParamSet is id-GostR3411-94-CryptoProParamSet (RFC 4357 §11.2),
// the S-box OpenSSL's gost engine hashes with (md_gost94); Kopir uses it
// only to check its GOST 94 against that engine.
var CryptoProParamSet = &SBox{
	{10, 4, 5, 6, 8, 1, 3, 7, 13, 12, 14, 0, 9, 2, 11, 15},
	{5, 15, 4, 0, 2, 13, 11, 9, 1, 7, 6, 3, 12, 14, 10, 8},
	{7, 15, 12, 14, 9, 4, 1, 0, 3, 11, 5, 2, 6, 10, 8, 13},
	{4, 10, 7, 12, 0, 15, 2, 8, 14, 1, 6, 5, 13, 11, 9, 3},
	{7, 6, 4, 11, 9, 12, 2, 10, 1, 8, 0, 14, 15, 13, 3, 5},
	{7, 6, 2, 4, 13, 9, 15, 0, 10, 1, 5, 11, 8, 14, 12, 3},
	{13, 14, 4, 1, 7, 0, 5, 10, 3, 12, 8, 15, 6, 2, 9, 11},
	{1, 3, 10, 9, 5, 11, 4, 15, 8, 6, 7, 14, 13, 0, 2, 12},
}

// Size94 is the length of a GOST R 34.11-94 digest.
const Size94 = 32

// digest94 is GOST R 34.11-94 (RFC 5831) with a zero start vector. Blocks
// are 256-bit numbers read little-endian from the message, the first
// block first, as RFC 5831 §6 takes them from the message's low end.
type digest94 struct {
	sbox   *[4][256]uint32 // the S-box, expanded: a byte at a time, rotated by 11
	h      [32]byte
	sigma  [32]byte
	length uint64 // bytes hashed
	buf    [32]byte
	nbuf   int
}

// New94 returns GOST R 34.11-94 with s (TestParamSet for NCA signatures).
// Its Sum is the digest in the order RFC 5831 prints it (the block's bytes
// as they lie), which `gostsum -t` prints reversed.
func New94(s *SBox) hash.Hash {
	return &digest94{sbox: expand(s)}
}

// expand precomputes, for each byte position of a 32-bit word, the
// substitution of its two nibbles followed by the rotation by 11.
func expand(s *SBox) *[4][256]uint32 {
	var t [4][256]uint32
	for pos := range 4 {
		for b := range 256 {
			v := uint32(s[2*pos][b&15]) | uint32(s[2*pos+1][b>>4])<<4
			t[pos][b] = bits.RotateLeft32(v<<(8*uint(pos)), 11)
		}
	}
	return &t
}

func (d *digest94) Size() int      { return Size94 }
func (d *digest94) BlockSize() int { return 32 }

func (d *digest94) Reset() {
	d.h, d.sigma, d.buf = [32]byte{}, [32]byte{}, [32]byte{}
	d.length, d.nbuf = 0, 0
}

func (d *digest94) Write(p []byte) (int, error) {
	n := len(p)
	d.length += uint64(n)
	if d.nbuf > 0 {
		c := copy(d.buf[d.nbuf:], p)
		d.nbuf += c
		p = p[c:]
		if d.nbuf < 32 {
			return n, nil
		}
		d.block(&d.buf)
		d.nbuf = 0
	}
	for len(p) >= 32 {
		d.block((*[32]byte)(p[:32]))
		p = p[32:]
	}
	d.nbuf = copy(d.buf[:], p)
	return n, nil
}

func (d *digest94) block(m *[32]byte) {
	d.h = d.step(&d.h, m)
	addLE(d.sigma[:], m[:])
}

func (d *digest94) Sum(in []byte) []byte {
	c := *d
	if c.nbuf > 0 {
		var last [32]byte
		copy(last[:], c.buf[:c.nbuf])
		c.h = c.step(&c.h, &last)
		addLE(c.sigma[:], last[:])
	}
	var l [32]byte
	bitsLen := c.length * 8
	binary.LittleEndian.PutUint64(l[:8], bitsLen)
	l[8] = byte((c.length >> 61)) // the bits beyond 64: messages over 2 EiB
	c.h = c.step(&c.h, &l)
	c.h = c.step(&c.h, &c.sigma)
	return append(in, c.h[:]...)
}

// addLE adds b to a, both little-endian numbers of one length, mod 2^(8·len).
func addLE(a, b []byte) {
	var carry uint16
	for i := range a {
		s := uint16(a[i]) + uint16(b[i]) + carry
		a[i], carry = byte(s), s>>8
	}
}

// c3 is the constant C₃ of the key generation, as RFC 5831 writes it.
var c3 = func() (c [32]byte) {
	const hex = "ff00ffff000000ffff0000ff00ffff0000ff00ff00ff00ffff00ff00ff00ff00"
	for i := range 32 {
		c[31-i] = unhex(hex[2*i])<<4 | unhex(hex[2*i+1])
	}
	return c
}()

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// step is the step function f(H, M) of RFC 5831 §6.1 on little-endian
// 256-bit blocks: key generation, encryption, mixing.
func (d *digest94) step(h, m *[32]byte) [32]byte {
	var keys [4][32]byte
	u, v := *h, *m
	var w [32]byte
	for j := range 4 {
		if j > 0 {
			u = transformA(&u)
			if j == 2 {
				for i := range u {
					u[i] ^= c3[i]
				}
			}
			v = transformA(&v)
			v = transformA(&v)
		}
		for i := range w {
			w[i] = u[i] ^ v[i]
		}
		keys[j] = transformP(&w)
	}
	var s [32]byte
	for i := range 4 {
		binary.LittleEndian.PutUint64(s[8*i:], d.encrypt(&keys[i], binary.LittleEndian.Uint64(h[8*i:])))
	}
	// H' = ψ^61(H ⊕ ψ(M ⊕ ψ^12(S)))
	for range 12 {
		psi(&s)
	}
	for i := range s {
		s[i] ^= m[i]
	}
	psi(&s)
	for i := range s {
		s[i] ^= h[i]
	}
	for range 61 {
		psi(&s)
	}
	return s
}

// transformA is A(y4‖y3‖y2‖y1) = (y1 ⊕ y2)‖y4‖y3‖y2 on 64-bit parts.
func transformA(y *[32]byte) [32]byte {
	var r [32]byte
	copy(r[:24], y[8:])
	for i := range 8 {
		r[24+i] = y[i] ^ y[8+i]
	}
	return r
}

// transformP is the byte permutation φ(i + 1 + 4(k−1)) = 8i + k.
func transformP(y *[32]byte) [32]byte {
	var r [32]byte
	for i := range 4 {
		for k := range 8 {
			r[i+4*k] = y[8*i+k]
		}
	}
	return r
}

// psi is ψ(y16‖…‖y1) = (y1 ⊕ y2 ⊕ y3 ⊕ y4 ⊕ y13 ⊕ y16)‖y16‖…‖y2 on 16-bit
// parts.
func psi(y *[32]byte) {
	w := func(i int) uint16 { return uint16(y[2*i]) | uint16(y[2*i+1])<<8 }
	x := w(0) ^ w(1) ^ w(2) ^ w(3) ^ w(12) ^ w(15)
	copy(y[:30], y[2:])
	y[30], y[31] = byte(x), byte(x>>8)
}

// encrypt is GOST 28147-89 in simple substitution mode on one 64-bit block
// (low half first) with a 256-bit key (little-endian subkeys).
func (d *digest94) encrypt(key *[32]byte, block uint64) uint64 {
	var k [8]uint32
	for i := range k {
		k[i] = binary.LittleEndian.Uint32(key[4*i:])
	}
	n1, n2 := uint32(block), uint32(block>>32)
	t := d.sbox
	f := func(x uint32) uint32 {
		return t[0][byte(x)] ^ t[1][byte(x>>8)] ^ t[2][byte(x>>16)] ^ t[3][byte(x>>24)]
	}
	for r := range 32 {
		var sk uint32
		if r < 24 {
			sk = k[r%8]
		} else {
			sk = k[7-r%8]
		}
		n1, n2 = n2^f(n1+sk), n1
	}
	return uint64(n2) | uint64(n1)<<32
}

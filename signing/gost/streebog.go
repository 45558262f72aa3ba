package gost

import (
	"encoding/binary"
	"hash"
)

// Streebog is GOST R 34.11-2012 (RFC 6986), the hash of GOST 34.10-2015
// signatures. Its 512-bit message blocks and state are held as eight
// little-endian 64-bit lanes: the message's first byte is the least
// significant, as RFC 6986 §8 takes blocks from the message's low end.
// Sum writes the digest in that same order, which is how `openssl dgst
// -md_gost12_512` prints it (RFC 6986 prints the reverse).

// Sizes of the two Streebog digests.
const (
	Size256 = 32
	Size512 = 64
)

// pi is the substitution π of RFC 6986 §6.2.
var pi = [256]byte{
	252, 238, 221, 17, 207, 110, 49, 22, 251, 196, 250, 218, 35, 197, 4, 77,
	233, 119, 240, 219, 147, 46, 153, 186, 23, 54, 241, 187, 20, 205, 95, 193,
	249, 24, 101, 90, 226, 92, 239, 33, 129, 28, 60, 66, 139, 1, 142, 79,
	5, 132, 2, 174, 227, 106, 143, 160, 6, 11, 237, 152, 127, 212, 211, 31,
	235, 52, 44, 81, 234, 200, 72, 171, 242, 42, 104, 162, 253, 58, 206, 204,
	181, 112, 14, 86, 8, 12, 118, 18, 191, 114, 19, 71, 156, 183, 93, 135,
	21, 161, 150, 41, 16, 123, 154, 199, 243, 145, 120, 111, 157, 158, 178, 177,
	50, 117, 25, 61, 255, 53, 138, 126, 109, 84, 198, 128, 195, 189, 13, 87,
	223, 245, 36, 169, 62, 168, 67, 201, 215, 121, 214, 246, 124, 34, 185, 3,
	224, 15, 236, 222, 122, 148, 176, 188, 220, 232, 40, 80, 78, 51, 10, 74,
	167, 151, 96, 115, 30, 0, 98, 68, 26, 184, 56, 130, 100, 159, 38, 65,
	173, 69, 70, 146, 39, 94, 85, 47, 140, 163, 165, 125, 105, 213, 149, 59,
	7, 88, 179, 64, 134, 172, 29, 247, 48, 55, 107, 228, 136, 217, 231, 137,
	225, 27, 131, 73, 76, 63, 248, 254, 141, 83, 170, 144, 202, 216, 133, 97,
	32, 113, 103, 164, 45, 43, 9, 91, 203, 155, 37, 208, 190, 229, 108, 82,
	89, 166, 116, 210, 230, 244, 180, 192, 209, 102, 175, 194, 57, 75, 99, 182,
}

// matrixA is the matrix A of the linear transformation l (RFC 6986 §6.4):
// row 0 is added for the most significant bit of the 64-bit input.
var matrixA = [64]uint64{
	0x8e20faa72ba0b470, 0x47107ddd9b505a38, 0xad08b0e0c3282d1c, 0xd8045870ef14980e,
	0x6c022c38f90a4c07, 0x3601161cf205268d, 0x1b8e0b0e798c13c8, 0x83478b07b2468764,
	0xa011d380818e8f40, 0x5086e740ce47c920, 0x2843fd2067adea10, 0x14aff010bdd87508,
	0x0ad97808d06cb404, 0x05e23c0468365a02, 0x8c711e02341b2d01, 0x46b60f011a83988e,
	0x90dab52a387ae76f, 0x486dd4151c3dfdb9, 0x24b86a840e90f0d2, 0x125c354207487869,
	0x092e94218d243cba, 0x8a174a9ec8121e5d, 0x4585254f64090fa0, 0xaccc9ca9328a8950,
	0x9d4df05d5f661451, 0xc0a878a0a1330aa6, 0x60543c50de970553, 0x302a1e286fc58ca7,
	0x18150f14b9ec46dd, 0x0c84890ad27623e0, 0x0642ca05693b9f70, 0x0321658cba93c138,
	0x86275df09ce8aaa8, 0x439da0784e745554, 0xafc0503c273aa42a, 0xd960281e9d1d5215,
	0xe230140fc0802984, 0x71180a8960409a42, 0xb60c05ca30204d21, 0x5b068c651810a89e,
	0x456c34887a3805b9, 0xac361a443d1c8cd2, 0x561b0d22900e4669, 0x2b838811480723ba,
	0x9bcf4486248d9f5d, 0xc3e9224312c8c1a0, 0xeffa11af0964ee50, 0xf97d86d98a327728,
	0xe4fa2054a80b329c, 0x727d102a548b194e, 0x39b008152acb8227, 0x9258048415eb419d,
	0x492c024284fbaec0, 0xaa16012142f35760, 0x550b8e9e21f7a530, 0xa48b474f9ef5dc18,
	0x70a6a56e2440598e, 0x3853dc371220a247, 0x1ca76e95091051ad, 0x0edd37c48a08a6d8,
	0x07e095624504536c, 0x8d70c431ac02a736, 0xc83862965601dd1b, 0x641c314b2b8ee083,
}

// roundConstants are C₁…C₁₂ of RFC 6986 §6.5, as the RFC writes them (the
// most significant byte first).
var roundConstants = [12]string{
	"b1085bda1ecadae9ebcb2f81c0657c1f2f6a76432e45d016714eb88d7585c4fc4b7ce09192676901a2422a08a460d31505767436cc744d23dd806559f2a64507",
	"6fa3b58aa99d2f1a4fe39d460f70b5d7f3feea720a232b9861d55e0f16b501319ab5176b12d699585cb561c2db0aa7ca55dda21bd7cbcd56e679047021b19bb7",
	"f574dcac2bce2fc70a39fc286a3d843506f15e5f529c1f8bf2ea7514b1297b7bd3e20fe490359eb1c1c93a376062db09c2b6f443867adb31991e96f50aba0ab2",
	"ef1fdfb3e81566d2f948e1a05d71e4dd488e857e335c3c7d9d721cad685e353fa9d72c82ed03d675d8b71333935203be3453eaa193e837f1220cbebc84e3d12e",
	"4bea6bacad4747999a3f410c6ca923637f151c1f1686104a359e35d7800fffbdbfcd1747253af5a3dfff00b723271a167a56a27ea9ea63f5601758fd7c6cfe57",
	"ae4faeae1d3ad3d96fa4c33b7a3039c02d66c4f95142a46c187f9ab49af08ec6cffaa6b71c9ab7b40af21f66c2bec6b6bf71c57236904f35fa68407a46647d6e",
	"f4c70e16eeaac5ec51ac86febf240954399ec6c7e6bf87c9d3473e33197a93c90992abc52d822c3706476983284a05043517454ca23c4af38886564d3a14d493",
	"9b1f5b424d93c9a703e7aa020c6e41414eb7f8719c36de1e89b4443b4ddbc49af4892bcb929b069069d18d2bd1a5c42f36acc2355951a8d9a47f0dd4bf02e71e",
	"378f5a541631229b944c9ad8ec165fde3a7d3a1b258942243cd955b7e00d0984800a440bdbb2ceb17b2b8a9aa6079c540e38dc92cb1f2a607261445183235adb",
	"abbedea680056f52382ae548b2e4f3f38941e71cff8a78db1fffe18a1b3361039fe76702af69334b7a1e6c303b7652f43698fad1153bb6c374b4c7fb98459ced",
	"7bcd9ed0efc889fb3002c6cd635afe94d8fa6bbbebab076120018021148466798a1d71efea48b9caefbacd1d7d476e98dea2594ac06fd85d6bcaa4cd81f32d1b",
	"378ee767f11631bad21380b00449b17acda43c32bcdf1d77f82012d430219f9b5d80ef9d1891cc86e71da4aa88e12852faf417d5d9b21b9948bc924af11bd720",
}

type block512 [8]uint64

var (
	// lps[j][v]: the contribution of byte value v in input lane j to the
	// output of L∘P∘S — the substitution π, the byte transposition τ
	// (output lane i, byte j is input lane j, byte i) and l, folded into
	// one table look-up per byte.
	lps = func() (t [8][256]uint64) {
		for j := range 8 {
			for v := range 256 {
				s := pi[v]
				var out uint64
				for k := range 8 {
					if s>>uint(k)&1 == 1 {
						// Bit k of byte j is bit 8j+k of the 64-bit word;
						// A's row 0 answers bit 63.
						out ^= matrixA[63-(8*j+k)]
					}
				}
				t[j][v] = out
			}
		}
		return t
	}()
	cLanes = func() (c [12]block512) {
		for i, h := range roundConstants {
			var b [64]byte
			for k := range 64 {
				b[63-k] = unhex(h[2*k])<<4 | unhex(h[2*k+1])
			}
			for l := range 8 {
				c[i][l] = binary.LittleEndian.Uint64(b[8*l:])
			}
		}
		return c
	}()
)

func lpsx(a, b *block512) block512 {
	var x block512
	for i := range 8 {
		x[i] = a[i] ^ b[i]
	}
	var r block512
	for i := range 8 {
		sh := 8 * uint(i)
		r[i] = lps[0][byte(x[0]>>sh)] ^ lps[1][byte(x[1]>>sh)] ^ lps[2][byte(x[2]>>sh)] ^ lps[3][byte(x[3]>>sh)] ^
			lps[4][byte(x[4]>>sh)] ^ lps[5][byte(x[5]>>sh)] ^ lps[6][byte(x[6]>>sh)] ^ lps[7][byte(x[7]>>sh)]
	}
	return r
}

// g is the compression g_N(h, m) = E(LPS(h ⊕ N), m) ⊕ h ⊕ m.
func g(h, m, n *block512) block512 {
	k := lpsx(h, n)
	t := lpsx(&k, m)
	for i := range 11 {
		k = lpsx(&k, &cLanes[i])
		t = lpsx(&k, &t)
	}
	k = lpsx(&k, &cLanes[11])
	var r block512
	for i := range 8 {
		r[i] = t[i] ^ k[i] ^ h[i] ^ m[i]
	}
	return r
}

// add512 adds b to a mod 2^512.
func add512(a, b *block512) {
	var carry uint64
	for i := range 8 {
		s := a[i] + b[i]
		c1 := s < a[i]
		s2 := s + carry
		c2 := s2 < s
		a[i] = s2
		carry = 0
		if c1 || c2 {
			carry = 1
		}
	}
}

type streebog struct {
	size      int
	h, n, sig block512
	buf       [64]byte
	nbuf      int
}

// NewStreebog512 returns Streebog with a 512-bit digest.
func NewStreebog512() hash.Hash { d := &streebog{size: Size512}; d.Reset(); return d }

// NewStreebog256 returns Streebog with a 256-bit digest.
func NewStreebog256() hash.Hash { d := &streebog{size: Size256}; d.Reset(); return d }

func (d *streebog) Size() int      { return d.size }
func (d *streebog) BlockSize() int { return 64 }

func (d *streebog) Reset() {
	d.h, d.n, d.sig, d.nbuf = block512{}, block512{}, block512{}, 0
	if d.size == Size256 {
		for i := range d.h {
			d.h[i] = 0x0101010101010101
		}
	}
}

func (d *streebog) Write(p []byte) (int, error) {
	n := len(p)
	if d.nbuf > 0 {
		c := copy(d.buf[d.nbuf:], p)
		d.nbuf += c
		p = p[c:]
		if d.nbuf < 64 {
			return n, nil
		}
		d.block(d.buf[:], 512)
		d.nbuf = 0
	}
	for len(p) >= 64 {
		d.block(p[:64], 512)
		p = p[64:]
	}
	d.nbuf = copy(d.buf[:], p)
	return n, nil
}

func (d *streebog) block(b []byte, bits uint64) {
	var m block512
	for i := range 8 {
		m[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	d.h = g(&d.h, &m, &d.n)
	add512(&d.n, &block512{bits})
	add512(&d.sig, &m)
}

func (d *streebog) Sum(in []byte) []byte {
	c := *d
	var last [64]byte
	copy(last[:], c.buf[:c.nbuf])
	last[c.nbuf] = 1
	c.block(last[:], uint64(8*c.nbuf))
	var zero block512
	c.h = g(&c.h, &c.n, &zero)
	c.h = g(&c.h, &c.sig, &zero)
	var out [64]byte
	for i := range 8 {
		binary.LittleEndian.PutUint64(out[8*i:], c.h[i])
	}
	if c.size == Size256 {
		return append(in, out[32:]...)
	}
	return append(in, out[:]...)
}

package pkcs12

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"unicode/utf16"
)

var (
	oidPBEWithSHAAnd3KeyTripleDESCBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	oidPBEWithSHAAnd128BitRC2CBC     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 5}
	oidPBEWithSHAAnd40BitRC2CBC      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 6}
	oidPBES2                         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2                        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACWithSHA1                  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACWithSHA256                = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACWithSHA512                = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC                     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC                     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC                     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidSHA1                          = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256                        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA512                        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// maxIterations bounds the work factor a file can ask for: NCA files use 1,024,
// OpenSSL 2,048 to 600,000.
var maxIterations = 1_000_000 // a variable only so that the fuzz target can lower it

// bmpPassword is the password as PKCS#12's key derivation takes it:
// UTF-16 big-endian with a two-byte terminator (RFC 7292 §B.1).
func bmpPassword(password string) []byte {
	out := make([]byte, 0, 2*len(password)+2)
	for _, r := range utf16.Encode([]rune(password)) {
		out = append(out, byte(r>>8), byte(r))
	}
	return append(out, 0, 0)
}

// deriveKey is the PKCS#12 key derivation (RFC 7292 §B.2): id 1 makes a
// cipher key, 2 an IV, 3 a MAC key.
func deriveKey(newHash func() hash.Hash, password, salt []byte, id byte, iterations, size int) []byte {
	h := newHash()
	v := h.BlockSize()
	d := make([]byte, v)
	for i := range d {
		d[i] = id
	}
	fill := func(src []byte) []byte {
		if len(src) == 0 {
			return nil
		}
		out := make([]byte, v*((len(src)+v-1)/v))
		for i := range out {
			out[i] = src[i%len(src)]
		}
		return out
	}
	in := append(fill(salt), fill(password)...)
	var out []byte
	one := big.NewInt(1)
	for len(out) < size {
		h.Reset()
		h.Write(d)
		h.Write(in)
		a := h.Sum(nil)
		for range iterations - 1 {
			h.Reset()
			h.Write(a)
			a = h.Sum(a[:0])
		}
		out = append(out, a...)
		if len(out) >= size {
			break
		}
		// I_j = (I_j + B + 1) mod 2^(8v), B = A repeated to v bytes.
		b := new(big.Int).SetBytes(fill(a)[:v])
		b.Add(b, one)
		for j := 0; j < len(in); j += v {
			x := new(big.Int).SetBytes(in[j : j+v])
			x.Add(x, b)
			xb := x.Bytes()
			if len(xb) > v {
				xb = xb[len(xb)-v:]
			}
			clear(in[j : j+v])
			copy(in[j+v-len(xb):j+v], xb)
		}
	}
	return out[:size]
}

var errPassword = errors.New("wrong password")

// decrypt undoes a PBE algorithm (the node is its AlgorithmIdentifier).
func decrypt(alg *node, password string, data []byte) ([]byte, error) {
	oid, params, err := algorithm(alg)
	if err != nil {
		return nil, err
	}
	var block cipher.Block
	var iv []byte
	switch {
	case oid.Equal(oidPBEWithSHAAnd3KeyTripleDESCBC), oid.Equal(oidPBEWithSHAAnd40BitRC2CBC), oid.Equal(oidPBEWithSHAAnd128BitRC2CBC):
		salt, iter, err := pbeParams(params)
		if err != nil {
			return nil, err
		}
		pw := bmpPassword(password)
		switch {
		case oid.Equal(oidPBEWithSHAAnd3KeyTripleDESCBC):
			if block, err = des.NewTripleDESCipher(deriveKey(sha1.New, pw, salt, 1, iter, 24)); err != nil {
				return nil, err
			}
		case oid.Equal(oidPBEWithSHAAnd40BitRC2CBC):
			block = newRC2(deriveKey(sha1.New, pw, salt, 1, iter, 5), 40)
		default:
			block = newRC2(deriveKey(sha1.New, pw, salt, 1, iter, 16), 128)
		}
		iv = deriveKey(sha1.New, pw, salt, 2, iter, 8)
	case oid.Equal(oidPBES2):
		if block, iv, err = pbes2(params, password); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("encryption %v is not supported", oid)
	}
	bs := block.BlockSize()
	if len(data) == 0 || len(data)%bs != 0 {
		return nil, fmt.Errorf("%w: encrypted data of %d bytes", errMalformed, len(data))
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, data)
	// PKCS#7 padding; a wrong key leaves garbage here (when the MAC was
	// absent or not checked).
	p := int(out[len(out)-1])
	if p == 0 || p > bs {
		return nil, errPassword
	}
	for _, b := range out[len(out)-p:] {
		if int(b) != p {
			return nil, errPassword
		}
	}
	return out[:len(out)-p], nil
}

func algorithm(alg *node) (asn1.ObjectIdentifier, *node, error) {
	if !alg.is(classUniversal, tagSequence) || !alg.child(0).is(classUniversal, tagOID) {
		return nil, nil, fmt.Errorf("%w: AlgorithmIdentifier", errMalformed)
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(alg.child(0).der(), &oid); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	return oid, alg.child(1), nil
}

func pbeParams(p *node) (salt []byte, iter int, err error) {
	if !p.is(classUniversal, tagSequence) || !p.child(0).is(classUniversal, tagOctetString) {
		return nil, 0, fmt.Errorf("%w: PBE parameters", errMalformed)
	}
	if salt, err = p.child(0).bytes(); err != nil {
		return nil, 0, err
	}
	iter = 1
	if c := p.child(1); c != nil {
		if iter, err = integer(c); err != nil {
			return nil, 0, err
		}
	}
	if iter < 1 || iter > maxIterations {
		return nil, 0, fmt.Errorf("%w: %d iterations", errMalformed, iter)
	}
	return salt, iter, nil
}

func integer(n *node) (int, error) {
	if !n.is(classUniversal, tagInteger) || len(n.content) == 0 || len(n.content) > 4 || n.content[0]&0x80 != 0 {
		return 0, fmt.Errorf("%w: INTEGER", errMalformed)
	}
	v := 0
	for _, b := range n.content {
		v = v<<8 | int(b)
	}
	return v, nil
}

// pbes2 reads PBES2 parameters (RFC 8018): PBKDF2 and AES-CBC, as modern
// OpenSSL and Go's go-pkcs12 write them.
func pbes2(p *node, password string) (cipher.Block, []byte, error) {
	kdfOID, kdfParams, err := algorithm(p.child(0))
	if err != nil {
		return nil, nil, err
	}
	encOID, encParams, err := algorithm(p.child(1))
	if err != nil {
		return nil, nil, err
	}
	if !kdfOID.Equal(oidPBKDF2) {
		return nil, nil, fmt.Errorf("PBES2 key derivation %v is not supported", kdfOID)
	}
	salt, iter, err := pbeParams(kdfParams)
	if err != nil {
		return nil, nil, err
	}
	prf := sha1.New
	for _, c := range kdfParams.children[1:] {
		if c.is(classUniversal, tagSequence) {
			oid, _, err := algorithm(c)
			if err != nil {
				return nil, nil, err
			}
			switch {
			case oid.Equal(oidHMACWithSHA1):
			case oid.Equal(oidHMACWithSHA256):
				prf = sha256.New
			case oid.Equal(oidHMACWithSHA512):
				prf = sha512.New
			default:
				return nil, nil, fmt.Errorf("PBKDF2 PRF %v is not supported", oid)
			}
		}
	}
	var size int
	switch {
	case encOID.Equal(oidAES128CBC):
		size = 16
	case encOID.Equal(oidAES192CBC):
		size = 24
	case encOID.Equal(oidAES256CBC):
		size = 32
	default:
		return nil, nil, fmt.Errorf("PBES2 cipher %v is not supported", encOID)
	}
	if !encParams.is(classUniversal, tagOctetString) {
		return nil, nil, fmt.Errorf("%w: PBES2 IV", errMalformed)
	}
	iv, err := encParams.bytes()
	if err != nil || len(iv) != aes.BlockSize {
		return nil, nil, fmt.Errorf("%w: PBES2 IV", errMalformed)
	}
	key, err := pbkdf2.Key(prf, password, salt, iter, size)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(key)
	return block, iv, err
}

// checkMAC checks the MacData over the authenticated safe's bytes.
func checkMAC(macData *node, password string, content []byte) error {
	digestInfo := macData.child(0)
	oid, _, err := algorithm(digestInfo.child(0))
	if err != nil {
		return err
	}
	if !digestInfo.child(1).is(classUniversal, tagOctetString) {
		return fmt.Errorf("%w: MAC digest", errMalformed)
	}
	want, err := digestInfo.child(1).bytes()
	if err != nil {
		return err
	}
	salt, iter, err := pbeParams(&node{class: classUniversal, tag: tagSequence, constructed: true, children: macData.children[1:]})
	if err != nil {
		return err
	}
	var newHash func() hash.Hash
	switch {
	case oid.Equal(oidSHA1):
		newHash = sha1.New
	case oid.Equal(oidSHA256):
		newHash = sha256.New
	case oid.Equal(oidSHA512):
		newHash = sha512.New
	default:
		return fmt.Errorf("MAC digest %v is not supported", oid)
	}
	key := deriveKey(newHash, bmpPassword(password), salt, 3, iter, newHash().Size())
	m := hmac.New(newHash, key)
	m.Write(content)
	if subtle.ConstantTimeCompare(m.Sum(nil), want) != 1 {
		return errPassword
	}
	return nil
}

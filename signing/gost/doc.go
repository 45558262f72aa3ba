// Package gost is the Russian-standard cryptography Kazakhstan's National
// Certification Authority (NCA) signs with, as the NCA encodes it: the
// hashes GOST R 34.11-94 (GOST 34.311-95, with the test S-box) and
// Streebog (GOST R 34.11-2012, GOST 34.11-2015), and the elliptic-curve
// signatures GOST 34.310-2004 (256-bit, CryptoPro-A) and GOST 34.10-2015
// (512-bit, TC26 paramSetA).
//
// It is written from the RFCs (5831, 6986, 4357, 7836, 5832, 7091), because
// no Go GOST library reaches this project. Signing is constant-time in the
// secret key and nonce: field and scalar arithmetic are fixed-width
// Montgomery arithmetic on limbs, and point multiplication uses complete
// formulas with table look-ups that read every entry. Verification handles
// only public values.
//
// The NCA's byte orders are not RFC 4490's: public keys are x‖y and
// signatures r‖s, each little-endian; the digest, as the hash's Sum
// returns it, is read little-endian to make the integer e.
package gost

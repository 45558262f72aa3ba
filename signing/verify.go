package signing

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kopir/kopir/signing/xmldoc"
)

// Part is a part of the envelope a policy requires to be signed.
type Part string

// Parts a signature can cover.
const (
	PartBody      Part = "Body"
	PartTimestamp Part = "Timestamp"
)

// IDAttr names an attribute that carries an element's id. It is the
// reader's Name, so a Policy's list goes to it as it is.
type IDAttr = xmldoc.Name

// Id attributes accepted by default: wsu:Id, and a plain Id as some peers
// (the npm soap package among them) put on the Body, as WSS4J accepts.
var DefaultIDAttrs = []IDAttr{{NS: NSWSU, Local: "Id"}, {NS: "", Local: "Id"}}

// Policy is what a Verifier accepts. Its zero values take the documented
// defaults; trust (Roots or Pinned) must be given.
type Policy struct {
	// Roots are trust anchors: CA certificates, or a peer's self-signed
	// certificate.
	Roots []*x509.Certificate
	// Intermediates help build chains from a leaf to Roots.
	Intermediates []*x509.Certificate
	// Pinned are leaf certificates trusted as they are, without a chain.
	Pinned []*x509.Certificate
	// CheckRevocation, when set, is asked about every chain built to a
	// root (leaf first) before it is trusted: the place for OCSP or CRL
	// checks, which Kopir does not make yet. A chain it accepted is
	// remembered for as long as every certificate in it is valid.
	CheckRevocation func(chain []*x509.Certificate) error
	// Required are the parts that must be signed. Default: Body and
	// Timestamp.
	Required []Part
	// KeyInfo are the ways a signature may name its certificate; a peer
	// known to use one (SHEP: issuer-serial) need not be trusted with the
	// others. Default: all four.
	KeyInfo []KeyRef
	// ClockSkew is the tolerance between our clock and the signer's.
	// Default: 60s.
	ClockSkew time.Duration
	// MaxTTL is the longest Expires - Created accepted. Default: 10m.
	MaxTTL time.Duration
	// AllowSHA1 accepts SHA-1 signature and digest methods. Default: false.
	// MAC signature methods are never accepted.
	AllowSHA1 bool
	// IDAttrs are the attributes that carry ids. Default: DefaultIDAttrs.
	IDAttrs []IDAttr
	// Algorithms and Digests add methods to the built-in RSA, ECDSA and
	// SHA-2 ones (a GOST implementation, say).
	Algorithms []Algorithm
	Digests    []Digest
	// Limits bound the envelopes read.
	Limits xmldoc.Limits
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Policy defaults.
const (
	DefaultClockSkew = 60 * time.Second
	DefaultMaxTTL    = 10 * time.Minute
)

// Result is what a verified envelope proves.
type Result struct {
	// Body is the exclusive canonical form of the signed Body: the bytes
	// whose digest was checked, and so the only bytes a caller may trust.
	Body []byte
	// Certificate signed the message; Identity is what it names.
	Certificate *x509.Certificate
	Identity    Identity
	// Created and Expires are the signed Timestamp's, zero when the policy
	// did not require one and none was sent.
	Created, Expires time.Time
	// Algorithm is the signature method's URI.
	Algorithm string
	// SignatureValue is the signature's value (a copy): what a replay
	// cache remembers, since without a Timestamp a captured answer would
	// otherwise verify again.
	SignatureValue []byte
}

// Verifier checks transport signatures. It is safe for concurrent use.
type Verifier struct {
	p     Policy
	roots *x509.CertPool
	inter *x509.CertPool
	gost  bool // a GOST-signed anchor or intermediate: chains are built by chainTo

	// trusted remembers certificates whose chain was built, by the SHA-256
	// of their DER: a gateway hears from a handful of peers, and building
	// a chain costs a quarter of a small message's verification.
	mu      sync.Mutex
	trusted map[[32]byte]trustedCert
}

// trustedCert is a certificate whose chain verified, with the window in
// which every certificate of that chain is valid.
type trustedCert struct {
	cert        *x509.Certificate
	from, until time.Time
}

// maxTrusted bounds the cache of trusted certificates.
const maxTrusted = 256

// NewVerifier returns a Verifier for p.
func NewVerifier(p Policy) (*Verifier, error) {
	if len(p.Roots) == 0 && len(p.Pinned) == 0 {
		return nil, errors.New("signing: a policy needs trust anchors (Roots) or pinned certificates")
	}
	if len(p.Required) == 0 {
		p.Required = []Part{PartBody, PartTimestamp}
	}
	for _, r := range p.Required {
		if r != PartBody && r != PartTimestamp {
			return nil, fmt.Errorf("signing: policy: unknown required part %q", r)
		}
	}
	if p.ClockSkew <= 0 {
		p.ClockSkew = DefaultClockSkew
	}
	if p.MaxTTL <= 0 {
		p.MaxTTL = DefaultMaxTTL
	}
	if len(p.IDAttrs) == 0 {
		p.IDAttrs = DefaultIDAttrs
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	v := &Verifier{p: p, roots: x509.NewCertPool(), inter: x509.NewCertPool(), trusted: map[[32]byte]trustedCert{}}
	for _, c := range p.Roots {
		v.roots.AddCert(c)
		v.gost = v.gost || isGOST(c)
	}
	for _, c := range p.Intermediates {
		v.inter.AddCert(c)
		v.gost = v.gost || isGOST(c)
	}
	return v, nil
}

func (v *Verifier) requires(p Part) bool {
	for _, r := range v.p.Required {
		if r == p {
			return true
		}
	}
	return false
}

func (v *Verifier) algorithm(uri string) (Algorithm, error) {
	if hmacURIs[uri] {
		return Algorithm{}, refuse(ReasonAlgorithm, "MAC signature method %s is not accepted", uri)
	}
	for _, a := range v.p.Algorithms {
		if a.URI == uri {
			return a, nil
		}
	}
	a, ok := findAlgorithm(uri)
	if !ok {
		return a, refuse(ReasonAlgorithm, "unknown signature method %q", uri)
	}
	if a.Weak && !v.p.AllowSHA1 {
		return a, refuse(ReasonAlgorithm, "signature method %s is weak and not allowed", uri)
	}
	return a, nil
}

func (v *Verifier) digest(uri string) (Digest, error) {
	for _, d := range v.p.Digests {
		if d.URI == uri {
			return d, nil
		}
	}
	for _, d := range builtinDigests {
		if d.URI == uri {
			if d.Weak && !v.p.AllowSHA1 {
				return d, refuse(ReasonAlgorithm, "digest method %s is weak and not allowed", uri)
			}
			return d, nil
		}
	}
	return Digest{}, refuse(ReasonAlgorithm, "unknown digest method %q", uri)
}

// reference is one checked ds:Reference.
type reference struct {
	target   int32
	prefixes []string
	digest   Digest
	value    []byte
}

// Verify checks envelope's transport signature and returns what it proves.
// Any refusal is an *Error with a Reason.
func (v *Verifier) Verify(envelope []byte) (*Result, error) {
	return v.verifyAhead(envelope, v.bodyC14N())
}

// verifyAhead verifies reading the Body in one pass as ahead picks it, and
// reads the envelope again into the tree if ahead guessed wrong.
func (v *Verifier) verifyAhead(envelope []byte, ahead func(*xmldoc.Document, int32) (xmldoc.C14N, bool)) (*Result, error) {
	res, err := v.verify(envelope, ahead)
	if errors.Is(err, errReread) {
		return v.verify(envelope, nil)
	}
	return res, err
}

// errReread says the Body was canonicalized while reading with another
// PrefixList than its Reference turned out to name: read it again, into
// the tree. Only a message whose Security header misleads the look-ahead
// (bodyC14N) pays for two reads.
var errReread = errors.New("signing: read the envelope again")

// bodyC14N, for the reader, picks the envelope's Body to canonicalize while
// reading, with the PrefixList of the Reference to it in the Security
// header read before it. A Body it cannot match to one Reference is read
// into the tree, and judged there.
func (v *Verifier) bodyC14N() func(*xmldoc.Document, int32) (xmldoc.C14N, bool) {
	seen := false
	return func(doc *xmldoc.Document, n int32) (xmldoc.C14N, bool) {
		if seen || !isEnvelopeBody(doc, n) {
			return xmldoc.C14N{}, false
		}
		seen = true
		var bodyIDs []string
		for _, a := range v.p.IDAttrs {
			if id, ok := doc.Attr(n, a.NS, a.Local); ok {
				bodyIDs = append(bodyIDs, "#"+id)
			}
		}
		header := first(doc, doc.Root, doc.NS(doc.Root), "Header")
		signedInfo := first(doc, first(doc, first(doc, header, NSWSSE, "Security"), NSDS, "Signature"), NSDS, "SignedInfo")
		var prefixes []string
		matched := 0
		doc.Children(signedInfo, func(ref int32) bool {
			uri, _ := doc.Attr(ref, "", "URI")
			if !doc.Is(ref, NSDS, "Reference") || !slices.Contains(bodyIDs, uri) {
				return true
			}
			matched++
			doc.Children(first(doc, ref, NSDS, "Transforms"), func(t int32) bool {
				if alg, _ := doc.Attr(t, "", "Algorithm"); alg == NSExcC14N {
					prefixes, _ = prefixList(doc, t)
				}
				return true
			})
			return true
		})
		return xmldoc.C14N{Inclusive: prefixes}, matched == 1
	}
}

// first returns parent's first child named {ns}local, or None.
func first(doc *xmldoc.Document, parent int32, ns, local string) int32 {
	found := xmldoc.None
	doc.Children(parent, func(c int32) bool {
		if doc.Is(c, ns, local) {
			found = c
		}
		return found == xmldoc.None
	})
	return found
}

// verify verifies an envelope; ahead, when not nil, picks the element to
// canonicalize while reading (bodyC14N).
func (v *Verifier) verify(envelope []byte, ahead func(*xmldoc.Document, int32) (xmldoc.C14N, bool)) (*Result, error) {
	// In place: nothing taken from the document outlives this call but
	// copies (the Result's Body is the reader's own buffer or a copy).
	opts := xmldoc.Options{Limits: v.p.Limits, InPlace: true}
	if ahead != nil {
		opts.Canonicalize = ahead
		opts.IDAttrs = v.p.IDAttrs
	}
	doc, err := parse(envelope, opts)
	if err != nil {
		return nil, err
	}
	env, err := soapParts(doc)
	if err != nil {
		return nil, err
	}
	if env.header == xmldoc.None {
		return nil, refuse(ReasonUnsigned, "no Header")
	}
	security, err := only(doc, env.header, NSWSSE, "Security", ReasonUnsigned, "no wsse:Security header")
	if err != nil {
		return nil, err
	}
	sig, err := only(doc, security, NSDS, "Signature", ReasonUnsigned, "no ds:Signature in the Security header")
	if err != nil {
		return nil, err
	}
	timestamp, err := only(doc, security, NSWSU, "Timestamp", ReasonTimestampMissing, "no Timestamp")
	if err != nil && (v.requires(PartTimestamp) || !isReason(err, ReasonTimestampMissing)) {
		return nil, err
	}

	ids, err := v.indexIDs(doc)
	if err != nil {
		return nil, err
	}

	signedInfo, err := only(doc, sig, NSDS, "SignedInfo", ReasonMalformed, "no SignedInfo")
	if err != nil {
		return nil, err
	}
	var (
		siPrefixes []string
		alg        Algorithm
		refs       []reference
		seenC14N   bool
	)
	var walkErr error
	doc.Children(signedInfo, func(c int32) bool {
		switch {
		case doc.Is(c, NSDS, "CanonicalizationMethod"):
			uri, _ := doc.Attr(c, "", "Algorithm")
			if uri != NSExcC14N || seenC14N {
				walkErr = refuse(ReasonTransform, "canonicalization method %q is not exclusive C14N", uri)
				return false
			}
			seenC14N = true
			siPrefixes, walkErr = prefixList(doc, c)
		case doc.Is(c, NSDS, "SignatureMethod"):
			uri, _ := doc.Attr(c, "", "Algorithm")
			if alg.URI != "" {
				walkErr = refuse(ReasonMalformed, "more than one SignatureMethod")
				return false
			}
			alg, walkErr = v.algorithm(uri)
		case doc.Is(c, NSDS, "Reference"):
			var r reference
			r, walkErr = v.reference(doc, c, ids, env.body, timestamp)
			refs = append(refs, r)
		default:
			walkErr = refuse(ReasonMalformed, "unexpected %s in SignedInfo", doc.Name(c))
		}
		return walkErr == nil
	})
	if walkErr != nil {
		return nil, walkErr
	}
	if !seenC14N || alg.URI == "" || len(refs) == 0 {
		return nil, refuse(ReasonMalformed, "SignedInfo lacks a CanonicalizationMethod, SignatureMethod or Reference")
	}
	signed := map[int32]bool{}
	for _, r := range refs {
		if signed[r.target] {
			return nil, refuse(ReasonBadReference, "the same element is referenced twice")
		}
		signed[r.target] = true
	}
	if !signed[env.body] && v.requires(PartBody) {
		return nil, refuse(ReasonPartNotSigned, "the Body is not signed")
	}
	if v.requires(PartTimestamp) && !signed[timestamp] {
		return nil, refuse(ReasonPartNotSigned, "the Timestamp is not signed")
	}

	cert, err := v.certificate(doc, sig, security, ids)
	if err != nil {
		return nil, err
	}

	// The signature value first: it is cheap, and a message from a key we
	// do not trust should cost no canonicalization of its Body.
	sigValue, err := base64Text(doc, sig, "SignatureValue")
	if err != nil {
		return nil, err
	}
	h := alg.NewHash()
	h.Write(doc.AppendExcC14N(nil, signedInfo, siPrefixes))
	pub, err := publicKey(cert)
	if err != nil {
		return nil, &Error{Reason: ReasonKeyInfo, Msg: "the certificate's key", Err: err}
	}
	if err := alg.Verify(pub, h.Sum(nil), sigValue); err != nil {
		return nil, &Error{Reason: ReasonBadSignature, Msg: "SignatureValue", Err: err}
	}

	res := &Result{Certificate: cert, Identity: IdentityOf(cert), Algorithm: alg.URI, SignatureValue: sigValue}
	signingTime := v.p.Now()
	if timestamp != xmldoc.None {
		if res.Created, res.Expires, err = v.checkTimestamp(doc, timestamp); err != nil {
			return nil, err
		}
		signingTime = res.Created
	}
	if err := v.trust(cert, signingTime); err != nil {
		return nil, err
	}

	var buf []byte
	for _, r := range refs {
		var canonical []byte
		owned := false // by nothing else: the Result may keep it
		if c := doc.Canonical(); c != nil && c.Node == r.target {
			if !slices.Equal(c.Inclusive, r.prefixes) {
				return nil, errReread
			}
			canonical, owned = c.Bytes, true
		} else {
			buf = doc.AppendExcC14N(buf[:0], r.target, r.prefixes)
			canonical = buf
		}
		h := r.digest.NewHash()
		h.Write(canonical)
		if subtle.ConstantTimeCompare(h.Sum(nil), r.value) != 1 {
			return nil, refuse(ReasonDigestMismatch, "the digest of %s does not match", doc.Local(r.target))
		}
		switch {
		case r.target != env.body:
		case owned:
			res.Body = canonical
		default:
			res.Body = append([]byte(nil), canonical...)
		}
	}
	return res, nil
}

func isReason(err error, r Reason) bool {
	var e *Error
	return errors.As(err, &e) && e.Reason == r
}

// only finds the one child of parent named {ns}local; none is missing, and
// more than one is a duplicate.
func only(doc *xmldoc.Document, parent int32, ns, local string, missing Reason, msg string) (int32, error) {
	found := xmldoc.None
	var dup bool
	doc.Children(parent, func(c int32) bool {
		if doc.Is(c, ns, local) {
			if found != xmldoc.None {
				dup = true
				return false
			}
			found = c
		}
		return true
	})
	switch {
	case dup && (local == "Security" || local == "Signature" || local == "Timestamp"):
		return xmldoc.None, refuse(ReasonDuplicateSecurity, "more than one %s", local)
	case dup:
		return xmldoc.None, refuse(ReasonMalformed, "more than one %s", local)
	case found == xmldoc.None:
		return xmldoc.None, refuse(missing, "%s", msg)
	}
	return found, nil
}

// target is the element an id names: in the tree, or (node None) inside a
// Body canonicalized while it was read.
type target struct {
	node int32
	in   *xmldoc.ID
}

// names returns the target's local and qualified names.
func (t target) names(doc *xmldoc.Document) (local, qname string) {
	if t.node == xmldoc.None {
		return t.in.Element.Local, t.in.QName
	}
	return doc.Local(t.node), doc.Name(t.node)
}

// indexIDs maps every id in the document to its element, refusing an id
// carried twice under any accepted attribute name: the root of most
// signature wrapping attacks.
func (v *Verifier) indexIDs(doc *xmldoc.Document) (map[string]target, error) {
	ids := make(map[string]target, 8)
	for i := range doc.Len() {
		n := int32(i)
		if doc.Node(i).Kind != xmldoc.Element {
			continue
		}
		for _, a := range v.p.IDAttrs {
			id, ok := doc.Attr(n, a.NS, a.Local)
			if !ok {
				continue
			}
			if prev, seen := ids[id]; seen && prev.node != n {
				return nil, refuse(ReasonDuplicateID, "id %q is carried by more than one element", id)
			}
			ids[id] = target{node: n}
		}
	}
	if c := doc.Canonical(); c != nil {
		for i := range c.IDs {
			in := &c.IDs[i]
			if prev, seen := ids[in.Value]; seen && (prev.in == nil || prev.in.Offset != in.Offset) {
				return nil, refuse(ReasonDuplicateID, "id %q is carried by more than one element", in.Value)
			}
			ids[in.Value] = target{node: xmldoc.None, in: in}
		}
	}
	return ids, nil
}

func prefixList(doc *xmldoc.Document, method int32) ([]string, error) {
	var out []string
	var err error
	doc.Children(method, func(c int32) bool {
		if !doc.Is(c, NSExcC14N, "InclusiveNamespaces") {
			err = refuse(ReasonTransform, "unexpected %s in a canonicalization method", doc.Name(c))
			return false
		}
		list, _ := doc.Attr(c, "", "PrefixList")
		out = append(out, strings.Fields(list)...)
		return true
	})
	return out, err
}

func (v *Verifier) reference(doc *xmldoc.Document, ref int32, ids map[string]target, body, timestamp int32) (reference, error) {
	var r reference
	uri, _ := doc.Attr(ref, "", "URI")
	id, ok := strings.CutPrefix(uri, "#")
	if !ok || id == "" || strings.HasPrefix(id, "xpointer(") {
		return r, refuse(ReasonBadReference, "reference URI %q is not a same-document id", uri)
	}
	t, ok := ids[id]
	if !ok {
		return r, refuse(ReasonBadReference, "reference %q resolves to nothing", uri)
	}
	local, qname := t.names(doc)
	switch {
	case t.node != xmldoc.None && (t.node == body || t.node == timestamp && timestamp != xmldoc.None):
	case local == "Body" || local == "Timestamp":
		return r, refuse(ReasonWrapped, "reference %q is to a %s that is not the envelope's", uri, local)
	default:
		return r, refuse(ReasonBadReference, "reference %q is to %s, not the Body or the Timestamp", uri, qname)
	}
	r.target = t.node

	var transforms, digestMethod, digestValue int32 = xmldoc.None, xmldoc.None, xmldoc.None
	var err error
	doc.Children(ref, func(c int32) bool {
		switch {
		case doc.Is(c, NSDS, "Transforms") && transforms == xmldoc.None:
			transforms = c
		case doc.Is(c, NSDS, "DigestMethod") && digestMethod == xmldoc.None:
			digestMethod = c
		case doc.Is(c, NSDS, "DigestValue") && digestValue == xmldoc.None:
			digestValue = c
		default:
			err = refuse(ReasonMalformed, "unexpected %s in a Reference", doc.Name(c))
		}
		return err == nil
	})
	if err != nil {
		return r, err
	}
	if transforms == xmldoc.None || digestMethod == xmldoc.None || digestValue == xmldoc.None {
		return r, refuse(ReasonTransform, "reference %q lacks Transforms, DigestMethod or DigestValue", uri)
	}
	var last string
	doc.Children(transforms, func(c int32) bool {
		alg, _ := doc.Attr(c, "", "Algorithm")
		switch {
		case !doc.Is(c, NSDS, "Transform"):
			err = refuse(ReasonMalformed, "unexpected %s in Transforms", doc.Name(c))
		case alg == NSExcC14N:
			r.prefixes, err = prefixList(doc, c)
		case alg == TransformEnveloped:
			// Removes the Signature from the referenced element; ours is
			// in the Security header, never inside the Body or the
			// Timestamp, so there is nothing to remove.
		default:
			err = refuse(ReasonTransform, "transform %q is not accepted", alg)
		}
		last = alg
		return err == nil
	})
	if err != nil {
		return r, err
	}
	if last != NSExcC14N {
		return r, refuse(ReasonTransform, "reference %q does not end with exclusive C14N", uri)
	}
	method, _ := doc.Attr(digestMethod, "", "Algorithm")
	if r.digest, err = v.digest(method); err != nil {
		return r, err
	}
	r.value, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(doc.Text(digestValue)), ""))
	if err != nil || len(r.value) == 0 {
		return r, refuse(ReasonMalformed, "DigestValue is not base64")
	}
	return r, nil
}

func base64Text(doc *xmldoc.Document, parent int32, local string) ([]byte, error) {
	n, err := only(doc, parent, NSDS, local, ReasonMalformed, "no "+local)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(doc.Text(n)), ""))
	if err != nil || len(b) == 0 {
		return nil, refuse(ReasonMalformed, "%s is not base64", local)
	}
	return b, nil
}

// KeyRef is a way a signature's KeyInfo names its certificate.
type KeyRef string

// Ways of naming the certificate (protocol.md §5).
const (
	KeyRefToken         KeyRef = "token"            // wsse:Reference to a BinarySecurityToken (WSS4J)
	KeyRefKeyIdentifier KeyRef = "key-identifier"   // wsse:KeyIdentifier holding the certificate (Smart Bridge)
	KeyRefCertificate   KeyRef = "x509-certificate" // ds:X509Data/ds:X509Certificate
	KeyRefIssuerSerial  KeyRef = "issuer-serial"    // ds:X509IssuerSerial, of a pinned certificate (SHEP's answers)
)

// UnmarshalText reads a KeyRef as configuration writes it.
func (k *KeyRef) UnmarshalText(b []byte) error {
	switch r := KeyRef(b); r {
	case KeyRefToken, KeyRefKeyIdentifier, KeyRefCertificate, KeyRefIssuerSerial:
		*k = r
		return nil
	}
	return fmt.Errorf("%q is not token, key-identifier, x509-certificate or issuer-serial", b)
}

// certificate finds the signing certificate: a SecurityTokenReference to a
// BinarySecurityToken of this Security header, or an X509Certificate in the
// KeyInfo itself.
func (v *Verifier) certificate(doc *xmldoc.Document, sig, security int32, ids map[string]target) (*x509.Certificate, error) {
	keyInfo, err := only(doc, sig, NSDS, "KeyInfo", ReasonKeyInfo, "no KeyInfo")
	if err != nil {
		return nil, err
	}
	var der []byte
	var kind KeyRef
	// x509Data reads ds:X509Data: the certificate itself, or its issuer and
	// serial number, matched against the pinned certificates (SHEP's own
	// answers name their key only so: its certificate is configured).
	x509Data := func(c int32) {
		doc.Children(c, func(x int32) bool {
			switch {
			case doc.Is(x, NSDS, "X509Certificate"):
				kind = KeyRefCertificate
				der, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(doc.Text(x)), ""))
				return false
			case doc.Is(x, NSDS, "X509IssuerSerial"):
				kind = KeyRefIssuerSerial
				var cert *x509.Certificate
				if cert, err = v.byIssuerSerial(doc, x); err == nil {
					der = cert.Raw
				}
				return false
			}
			return true
		})
	}
	doc.Children(keyInfo, func(c int32) bool {
		switch {
		case doc.Is(c, NSWSSE, "SecurityTokenReference"):
			doc.Children(c, func(r int32) bool {
				switch {
				case doc.Is(r, NSWSSE, "KeyIdentifier"):
					// The Smart Bridge layout: the whole certificate, here.
					kind = KeyRefKeyIdentifier
					if vt, _ := doc.Attr(r, "", "ValueType"); vt != ValueTypeX509v3 {
						err = refuse(ReasonKeyInfo, "key identifier value type %q is not X509v3", vt)
						return false
					}
					if et, ok := doc.Attr(r, "", "EncodingType"); ok && et != EncodingBase64Binary {
						err = refuse(ReasonKeyInfo, "key identifier encoding %q is not Base64Binary", et)
						return false
					}
					der, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(doc.Text(r)), ""))
					return false
				case doc.Is(r, NSDS, "X509Data"):
					x509Data(r)
					return false
				case !doc.Is(r, NSWSSE, "Reference"):
					err = refuse(ReasonKeyInfo, "SecurityTokenReference holds %s, which is not understood", doc.Name(r))
					return false
				}
				kind = KeyRefToken
				uri, _ := doc.Attr(r, "", "URI")
				id, _ := strings.CutPrefix(uri, "#")
				t, ok := ids[id]
				token := t.node
				if !ok || token == xmldoc.None || !doc.Is(token, NSWSSE, "BinarySecurityToken") || doc.Node(token).Parent != security {
					err = refuse(ReasonKeyInfo, "token reference %q is not to a BinarySecurityToken of this Security header", uri)
					return false
				}
				if vt, _ := doc.Attr(token, "", "ValueType"); vt != ValueTypeX509v3 {
					err = refuse(ReasonKeyInfo, "token value type %q is not X509v3", vt)
					return false
				}
				if et, ok := doc.Attr(token, "", "EncodingType"); ok && et != EncodingBase64Binary {
					err = refuse(ReasonKeyInfo, "token encoding %q is not Base64Binary", et)
					return false
				}
				der, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(doc.Text(token)), ""))
				return false
			})
		case doc.Is(c, NSDS, "X509Data"):
			x509Data(c)
		}
		return der == nil && err == nil
	})
	if err != nil {
		if _, typed := err.(*Error); !typed {
			err = &Error{Reason: ReasonKeyInfo, Msg: "the certificate is not base64", Err: err}
		}
		return nil, err
	}
	if der == nil {
		return nil, refuse(ReasonKeyInfo, "KeyInfo names no certificate")
	}
	if len(v.p.KeyInfo) > 0 && !slices.Contains(v.p.KeyInfo, kind) {
		return nil, refuse(ReasonKeyInfo, "the certificate is named by %s, which this policy does not accept", kind)
	}
	v.mu.Lock()
	tc, ok := v.trusted[sha256.Sum256(der)]
	v.mu.Unlock()
	if ok {
		return tc.cert, nil
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, &Error{Reason: ReasonKeyInfo, Msg: "the token is not an X.509 certificate", Err: err}
	}
	return cert, nil
}

func (v *Verifier) checkTimestamp(doc *xmldoc.Document, ts int32) (created, expires time.Time, err error) {
	read := func(local string) (time.Time, error) {
		n, err := only(doc, ts, NSWSU, local, ReasonTimestampMissing, "the Timestamp has no "+local)
		if err != nil {
			return time.Time{}, err
		}
		t, perr := time.Parse(time.RFC3339Nano, strings.TrimSpace(doc.Text(n))) // Text copies: the error may quote it
		if perr != nil {
			return time.Time{}, &Error{Reason: ReasonMalformed, Msg: local + " is not an xs:dateTime with a zone", Err: perr}
		}
		return t, nil
	}
	if created, err = read("Created"); err != nil {
		return
	}
	if expires, err = read("Expires"); err != nil {
		return
	}
	now, skew := v.p.Now(), v.p.ClockSkew
	switch {
	case expires.Before(created):
		err = refuse(ReasonMalformed, "the Timestamp expires before it was created")
	case created.After(now.Add(skew)):
		err = refuse(ReasonTimestampFuture, "created %s, now %s", created.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case !expires.After(now.Add(-skew)):
		err = refuse(ReasonTimestampExpired, "expired %s, now %s", expires.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case expires.Sub(created) > v.p.MaxTTL:
		err = refuse(ReasonTimestampTTL, "lifetime %s is over the maximum %s", expires.Sub(created), v.p.MaxTTL)
	}
	return
}

// trust checks the certificate at the time the message was signed: pinned,
// or chaining to a root.
func (v *Verifier) trust(cert *x509.Certificate, at time.Time) error {
	if at.Before(cert.NotBefore) || at.After(cert.NotAfter) {
		return refuse(ReasonCertExpired, "certificate %s is valid from %s to %s, the message was signed %s",
			IdentityOf(cert), cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	for _, p := range v.p.Pinned {
		if p.Equal(cert) {
			return nil
		}
	}
	if len(v.p.Roots) == 0 {
		return refuse(ReasonUntrusted, "certificate %s is not pinned", IdentityOf(cert))
	}
	key := sha256.Sum256(cert.Raw)
	v.mu.Lock()
	tc, ok := v.trusted[key]
	v.mu.Unlock()
	if ok && !at.Before(tc.from) && !at.After(tc.until) {
		return nil
	}
	var chain []*x509.Certificate
	var err error
	if v.gost || isGOST(cert) {
		// crypto/x509 cannot check a GOST signature: Kopir's own path
		// building, for GOST and RSA certificates alike.
		chain, err = chainTo(cert, v.p.Roots, v.p.Intermediates, at)
	} else {
		var chains [][]*x509.Certificate
		chains, err = cert.Verify(x509.VerifyOptions{Roots: v.roots, Intermediates: v.inter, CurrentTime: at,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err == nil {
			chain = chains[0]
		}
	}
	if err == nil && v.p.CheckRevocation != nil {
		err = v.p.CheckRevocation(chain)
	}
	if err != nil {
		return &Error{Reason: ReasonUntrusted, Msg: "certificate " + IdentityOf(cert).String(), Err: err}
	}
	tc = trustedCert{cert: cert, from: cert.NotBefore, until: cert.NotAfter}
	for _, c := range chain {
		if c.NotBefore.After(tc.from) {
			tc.from = c.NotBefore
		}
		if c.NotAfter.Before(tc.until) {
			tc.until = c.NotAfter
		}
	}
	v.mu.Lock()
	if len(v.trusted) >= maxTrusted {
		clear(v.trusted)
	}
	v.trusted[key] = tc
	v.mu.Unlock()
	return nil
}

// UnmarshalText reads a part as configuration writes it: body, timestamp
// (any case).
func (p *Part) UnmarshalText(b []byte) error {
	switch strings.ToLower(string(b)) {
	case "body":
		*p = PartBody
	case "timestamp":
		*p = PartTimestamp
	default:
		return fmt.Errorf("%q is not body or timestamp", b)
	}
	return nil
}

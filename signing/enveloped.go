package signing

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/kopir/kopir/signing/xmldoc"
)

// SignEnveloped signs a whole XML document with an enveloped signature, as
// GBD UL requests must be signed with the organisation's signing key
// (protocol.md §7) and as Kalkan signs: Canonical XML 1.0, one Reference
// with URI="" and the enveloped-signature and C14N-with-comments
// transforms, the certificate in ds:X509Data. The Signature becomes the
// root element's last child; nothing else in the document changes.
func (s *Signer) SignEnveloped(ctx context.Context, document []byte) ([]byte, error) {
	doc, err := parse(document, xmldoc.Options{Limits: s.limits})
	if err != nil {
		return nil, err
	}
	// URI="" is the document without comments (XMLDSig §4.3.3.3), whatever
	// the canonicalization transform after it says.
	h := s.digest.NewHash()
	h.Write(doc.AppendC14N(nil, doc.Root, false))
	digest := h.Sum(nil)

	var sig strings.Builder
	sig.WriteString(`<ds:Signature xmlns:ds="` + NSDS + `"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="` + xmldoc.C14N10 +
		`"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="` + s.alg.URI + `"></ds:SignatureMethod>` +
		`<ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="` + TransformEnveloped + `"></ds:Transform>` +
		`<ds:Transform Algorithm="` + xmldoc.C14N10Comments + `"></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="` +
		s.digest.URI + `"></ds:DigestMethod><ds:DigestValue>` + base64.StdEncoding.EncodeToString(digest) +
		`</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>`)
	valueAt := sig.Len()
	sig.WriteString(`</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + s.certB64 +
		`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>`)

	// The Signature goes before the root's end tag (a self-closing root is
	// opened for it).
	root := doc.Node(doc.Root)
	var out []byte
	end := int(root.End)
	var closeAt int
	if bytes.HasSuffix(document[:end], []byte("/>")) {
		out = append(out, document[:end-2]...)
		out = append(out, '>')
		closeAt = len(out)
		out = append(out, "</"+doc.Name(doc.Root)+">"...)
	} else {
		closeAt = bytes.LastIndex(document[:end], []byte("</"))
		out = append(out, document[:closeAt]...)
		closeAt = len(out)
		out = append(out, document[closeAt:end]...)
	}
	out = append(out, document[end:]...)
	signed := make([]byte, 0, len(out)+sig.Len()+512)
	signed = append(signed, out[:closeAt]...)
	sigAt := len(signed)
	signed = append(signed, sig.String()...)
	signed = append(signed, out[closeAt:]...)

	// SignedInfo is canonicalized where it now stands: C14N 1.0 writes
	// the bindings in scope there (a default namespace of the payload's,
	// say), so the form signed is the one any verifier computes.
	placed, err := parse(signed, xmldoc.Options{Limits: s.limits})
	if err != nil {
		return nil, err
	}
	si := xmldoc.None
	placed.Children(placed.Root, func(c int32) bool {
		if placed.Is(c, NSDS, "Signature") && int(placed.Node(c).Start) == sigAt {
			si = first(placed, c, NSDS, "SignedInfo")
			return false
		}
		return true
	})
	if si == xmldoc.None {
		return nil, refuse(ReasonMalformed, "the Signature was not where it was put")
	}
	h = s.alg.NewHash()
	h.Write(placed.AppendC14N(nil, si, false))
	value, err := s.signDigest(ctx, h.Sum(nil))
	if err != nil {
		return nil, err
	}
	at := sigAt + valueAt
	return append(signed[:at:at], append([]byte(base64.StdEncoding.EncodeToString(value)), signed[at:]...)...), nil
}

// VerifyEnveloped checks every enveloped signature a document's root
// carries (Kalkan's co-signed documents carry several) against the policy,
// as of its clock (an enveloped signature has no Timestamp), and returns
// one Result each, in document order, whose Body is the document's
// canonical form without its signatures: the only bytes to trust.
//
// Each signature must have one Reference, URI="", with the
// enveloped-signature transform and Canonical XML 1.0 (with or without
// comments); nothing else — no XPath, no XSLT, no id — is accepted, so no
// part of the document can be left out of what is signed.
func (v *Verifier) VerifyEnveloped(document []byte) ([]*Result, error) {
	doc, err := parse(document, xmldoc.Options{Limits: v.p.Limits})
	if err != nil {
		return nil, err
	}
	var sigs []int32
	doc.Children(doc.Root, func(c int32) bool {
		if doc.Is(c, NSDS, "Signature") {
			sigs = append(sigs, c)
		}
		return true
	})
	if len(sigs) == 0 {
		return nil, refuse(ReasonUnsigned, "the root element carries no ds:Signature")
	}
	plain := doc.AppendC14N(nil, doc.Root, false, sigs...)
	var out []*Result
	for i, sig := range sigs {
		res, err := v.enveloped(doc, sig, sigs[i:], sigs)
		if err != nil {
			return nil, err
		}
		res.Body = plain
		out = append(out, res)
	}
	return out, nil
}

// enveloped checks one signature. A co-signer signs the document as the
// earlier signers left it, or (Kalkan) the document alone: the digest is
// taken leaving out this signature and the later ones, then all of them.
func (v *Verifier) enveloped(doc *xmldoc.Document, sig int32, later, all []int32) (*Result, error) {
	si, err := only(doc, sig, NSDS, "SignedInfo", ReasonMalformed, "no SignedInfo")
	if err != nil {
		return nil, err
	}
	var method, sigMethod, ref int32 = xmldoc.None, xmldoc.None, xmldoc.None
	refs := 0
	doc.Children(si, func(c int32) bool {
		switch {
		case doc.Is(c, NSDS, "CanonicalizationMethod") && method == xmldoc.None:
			method = c
		case doc.Is(c, NSDS, "SignatureMethod") && sigMethod == xmldoc.None:
			sigMethod = c
		case doc.Is(c, NSDS, "Reference"):
			ref = c
			refs++
		}
		return true
	})
	if method == xmldoc.None || sigMethod == xmldoc.None || refs != 1 {
		return nil, refuse(ReasonMalformed, "SignedInfo needs a CanonicalizationMethod, a SignatureMethod and one Reference")
	}
	siComments, err := c14n10(doc, method)
	if err != nil {
		return nil, err
	}
	alg, err := v.algorithm(attr(doc, sigMethod, "Algorithm"))
	if err != nil {
		return nil, err
	}
	if uri, ok := doc.Attr(ref, "", "URI"); !ok || uri != "" {
		return nil, refuse(ReasonBadReference, "an enveloped signature must reference the whole document (URI=\"\")")
	}
	transforms, err := only(doc, ref, NSDS, "Transforms", ReasonTransform, "the Reference has no Transforms")
	if err != nil {
		return nil, err
	}
	var steps []int32
	doc.Children(transforms, func(c int32) bool { steps = append(steps, c); return true })
	if len(steps) == 0 || len(steps) > 2 || !doc.Is(steps[0], NSDS, "Transform") || attr(doc, steps[0], "Algorithm") != TransformEnveloped {
		return nil, refuse(ReasonTransform, "the transforms must be enveloped-signature, then Canonical XML 1.0")
	}
	if len(steps) == 2 {
		if !doc.Is(steps[1], NSDS, "Transform") {
			return nil, refuse(ReasonTransform, "unexpected %s in Transforms", doc.Name(steps[1]))
		}
		// With or without comments alike: URI="" has already dropped them
		// (XMLDSig §4.3.3.3), as xmlsec1 and Santuario do.
		if _, err = c14n10(doc, steps[1]); err != nil {
			return nil, err
		}
	}
	dm, err := only(doc, ref, NSDS, "DigestMethod", ReasonTransform, "the Reference has no DigestMethod")
	if err != nil {
		return nil, err
	}
	dig, err := v.digest(attr(doc, dm, "Algorithm"))
	if err != nil {
		return nil, err
	}
	want, err := base64Text(doc, ref, "DigestValue")
	if err != nil {
		return nil, err
	}
	matched := false
	for _, omit := range [][]int32{later, all} {
		h := dig.NewHash()
		h.Write(doc.AppendC14N(nil, doc.Root, false, omit...))
		if subtle.ConstantTimeCompare(h.Sum(nil), want) == 1 {
			matched = true
			break
		}
	}
	if !matched {
		return nil, refuse(ReasonDigestMismatch, "the document's digest does not match the Reference")
	}
	cert, err := v.certificate(doc, sig, xmldoc.None, nil)
	if err != nil {
		return nil, err
	}
	value, err := base64Text(doc, sig, "SignatureValue")
	if err != nil {
		return nil, err
	}
	pub, err := publicKey(cert)
	if err != nil {
		return nil, &Error{Reason: ReasonKeyInfo, Msg: "the certificate's key", Err: err}
	}
	h := alg.NewHash()
	h.Write(doc.AppendC14N(nil, si, siComments))
	if err := alg.Verify(pub, h.Sum(nil), value); err != nil {
		return nil, &Error{Reason: ReasonBadSignature, Msg: "SignatureValue", Err: err}
	}
	if err := v.trust(cert, v.p.Now()); err != nil {
		return nil, err
	}
	return &Result{Certificate: cert, Identity: IdentityOf(cert), Algorithm: alg.URI}, nil
}

// c14n10 checks a method is Canonical XML 1.0 and says whether with
// comments.
func c14n10(doc *xmldoc.Document, n int32) (comments bool, err error) {
	switch a := attr(doc, n, "Algorithm"); a {
	case xmldoc.C14N10:
		return false, nil
	case xmldoc.C14N10Comments:
		return true, nil
	default:
		return false, refuse(ReasonTransform, "canonicalization %q: an enveloped signature here uses Canonical XML 1.0", a)
	}
}

func attr(doc *xmldoc.Document, n int32, name string) string {
	v, _ := doc.Attr(n, "", name)
	return v
}

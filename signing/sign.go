package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kopir/kopir/signing/xmldoc"
)

// SignerOptions tune a Signer. The zero value is ready to use.
type SignerOptions struct {
	// TTL is how long the Timestamp says the message is fresh.
	// Default: 5m.
	TTL time.Duration
	// Layout is how the signature is laid out in the Security header.
	// Default ("" as well): LayoutWSS4J.
	Layout Layout
	// Algorithm overrides the signature method chosen from the key type
	// (RSA-SHA256 for RSA, ECDSA-SHA256/384/512 for ECDSA). A GOST signer
	// sets it, with Digest.
	Algorithm *Algorithm
	// Digest overrides the reference digest method. Default: SHA-256.
	Digest *Digest
	// Limits bound the envelopes accepted for signing.
	Limits xmldoc.Limits
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Rand is the source of ids and of randomness for the key.
	// Default: crypto/rand.
	Rand io.Reader
}

// DefaultTTL is the Timestamp lifetime a Signer writes by default.
const DefaultTTL = 5 * time.Minute

// ContextSigner is a crypto.Signer whose signing is I/O (a hardware module,
// a remote signing service) and honours a context. A Signer uses it when
// its key provides it.
type ContextSigner interface {
	crypto.Signer
	SignContext(ctx context.Context, rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error)
}

// Signer adds WS-Security transport signatures to SOAP envelopes. It is safe
// for concurrent use.
type Signer struct {
	key     crypto.Signer
	cert    *x509.Certificate
	certB64 string
	alg     Algorithm
	digest  Digest
	ttl     time.Duration
	layout  Layout
	limits  xmldoc.Limits
	now     func() time.Time
	rand    io.Reader
}

// Layout is a way of laying out a transport signature (protocol.md §5).
type Layout string

// Layouts.
const (
	// LayoutWSS4J (the default, WSS4J's): a signed Timestamp, the
	// certificate as a BinarySecurityToken, references to the Body and the
	// Timestamp.
	LayoutWSS4J Layout = "wss4j"
	// LayoutSmartBridge (what Kalkan, NCANode and SHEP's public clients
	// send): one reference, to the Body; no Timestamp, no token; the
	// certificate in a KeyIdentifier.
	LayoutSmartBridge Layout = "smart-bridge"
	// LayoutSHEP (what SHEP answers with): one reference, to the Body; no
	// Timestamp, no token; KeyInfo names the certificate by issuer and
	// serial number, so a verifier must have it pinned.
	LayoutSHEP Layout = "shep"
)

// NewSigner returns a Signer that signs with key and presents chain[0] as
// the BinarySecurityToken. The certificate's key must be key's public key.
func NewSigner(key crypto.Signer, chain []*x509.Certificate, opts SignerOptions) (*Signer, error) {
	if key == nil || len(chain) == 0 || chain[0] == nil {
		return nil, errors.New("signing: a key and its certificate are required")
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	certKey, err := publicKey(chain[0])
	if err != nil {
		return nil, fmt.Errorf("signing: the certificate's key: %w", err)
	}
	if pub, ok := key.Public().(equaler); !ok || !pub.Equal(certKey) {
		return nil, errors.New("signing: the certificate is not for this key")
	}
	if opts.Layout == "" {
		opts.Layout = LayoutWSS4J
	}
	switch opts.Layout {
	case LayoutWSS4J, LayoutSmartBridge, LayoutSHEP:
	default:
		return nil, fmt.Errorf("signing: layout %q is not wss4j, smart-bridge or shep", opts.Layout)
	}
	s := &Signer{key: key, cert: chain[0], ttl: opts.TTL, layout: opts.Layout, limits: opts.Limits, now: opts.Now, rand: opts.Rand,
		certB64: base64.StdEncoding.EncodeToString(chain[0].Raw)}
	if opts.Algorithm != nil {
		s.alg = *opts.Algorithm
	} else {
		a, err := defaultAlgorithm(key.Public())
		if err != nil {
			return nil, err
		}
		s.alg = a
	}
	s.digest = defaultDigest(key.Public())
	if opts.Digest != nil {
		s.digest = *opts.Digest
	}
	if s.ttl <= 0 {
		s.ttl = DefaultTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	return s, nil
}

// Certificate returns the certificate the Signer presents.
func (s *Signer) Certificate() *x509.Certificate { return s.cert }

// Sign returns envelope with a wsse:Security header added to its Header
// (created when absent) and the Body given a wsu:Id when it has none. The
// rest of the envelope is left byte for byte as it was.
func (s *Signer) Sign(ctx context.Context, envelope []byte) ([]byte, error) {
	ids, err := s.newIDs(3)
	if err != nil {
		return nil, err
	}
	tsID, tokenID, sigID := "TS-"+ids[0], "X509-"+ids[1], "SIG-"+ids[2]

	// The Body is given its id as soon as its start tag is read, and then
	// canonicalized while the rest of it is: one read of the envelope.
	var (
		bodyID, bodyAttrs string
		bodyErr           error
		seen              bool
		h                 = s.digest.NewHash()
	)
	// In place: what is taken from the document is copied into the
	// output, which is built anew.
	doc, err := parse(envelope, xmldoc.Options{Limits: s.limits, InPlace: true, Canonicalize: func(d *xmldoc.Document, n int32) (xmldoc.C14N, bool) {
		if seen || !isEnvelopeBody(d, n) {
			return xmldoc.C14N{}, false
		}
		seen = true
		bodyID, bodyAttrs, bodyErr = s.identify(d, n)
		// Prefixes declared around and inside the Body go in the
		// PrefixList, so that QName-valued content (xsi:type="ns2:rows")
		// keeps its bindings in what is signed, as WSS4J does.
		return xmldoc.C14N{AllDeclared: true, To: h}, bodyErr == nil
	}})
	if err != nil {
		return nil, err
	}
	env, err := soapParts(doc)
	if err != nil {
		return nil, err
	}
	if env.header != xmldoc.None {
		var found bool
		doc.Children(env.header, func(c int32) bool {
			found = doc.Is(c, NSWSSE, "Security")
			return !found
		})
		if found {
			return nil, refuse(ReasonDuplicateSecurity, "the envelope already has a wsse:Security header")
		}
	}
	if bodyErr != nil {
		return nil, bodyErr
	}
	body := doc.Canonical()
	if body == nil || body.Node != env.body {
		return nil, errors.New("signing: the Body was not canonicalized") // soapParts and isEnvelopeBody disagree
	}
	prefixes := body.Inclusive
	bodyDigest := h.Sum(nil)

	wss4j := s.layout == LayoutWSS4J
	var timestamp string
	var tsDigest []byte
	if wss4j {
		now := s.now().UTC()
		timestamp = `<wsu:Timestamp xmlns:wsu="` + NSWSU + `" wsu:Id="` + tsID + `"><wsu:Created>` +
			now.Format(timeLayout) + `</wsu:Created><wsu:Expires>` + now.Add(s.ttl).Format(timeLayout) +
			`</wsu:Expires></wsu:Timestamp>`
		h.Reset()
		h.Write([]byte(timestamp))
		tsDigest = h.Sum(nil)
	}

	// SignedInfo and the Timestamp are written in canonical form, with
	// their prefixes declared on themselves, so that the bytes signed are
	// the bytes sent, wherever a peer's canonicalizer finds them.
	var si strings.Builder
	si.WriteString(`<ds:SignedInfo xmlns:ds="` + NSDS + `"><ds:CanonicalizationMethod Algorithm="` + NSExcC14N +
		`"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="` + s.alg.URI + `"></ds:SignatureMethod>`)
	s.writeReference(&si, bodyID, prefixes, bodyDigest)
	if wss4j {
		s.writeReference(&si, tsID, nil, tsDigest)
	}
	si.WriteString(`</ds:SignedInfo>`)
	signedInfo := si.String()

	h = s.alg.NewHash()
	h.Write([]byte(signedInfo))
	sigValue, err := s.signDigest(ctx, h.Sum(nil))
	if err != nil {
		return nil, err
	}

	soapPrefix, soapDecl := doc.Prefix(env.root), ""
	if uri, _ := doc.Lookup(env.root, soapPrefix); soapPrefix == "" || uri != doc.NS(env.root) {
		soapPrefix = "soapenv"
		soapDecl = ` xmlns:soapenv="` + doc.NS(env.root) + `"`
	}
	mustUnderstand := "1"
	if doc.NS(env.root) == NSSOAP12 {
		mustUnderstand = "true"
	}
	var sec strings.Builder
	sec.Grow(len(signedInfo) + len(s.certB64) + 1024)
	sec.WriteString(`<wsse:Security xmlns:wsse="` + NSWSSE + `" xmlns:wsu="` + NSWSU + `"` + soapDecl + " " +
		soapPrefix + `:mustUnderstand="` + mustUnderstand + `">`)
	if wss4j {
		sec.WriteString(timestamp)
		sec.WriteString(`<wsse:BinarySecurityToken EncodingType="` + EncodingBase64Binary + `" ValueType="` +
			ValueTypeX509v3 + `" wsu:Id="` + tokenID + `">` + s.certB64 + `</wsse:BinarySecurityToken>`)
	}
	sec.WriteString(`<ds:Signature xmlns:ds="` + NSDS + `" Id="` + sigID + `">`)
	sec.WriteString(signedInfo)
	sec.WriteString(`<ds:SignatureValue>` + base64.StdEncoding.EncodeToString(sigValue) + `</ds:SignatureValue>`)
	if wss4j {
		sec.WriteString(`<ds:KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI="#` + tokenID + `" ValueType="` +
			ValueTypeX509v3 + `"/></wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature></wsse:Security>`)
	} else if s.layout == LayoutSHEP {
		sec.WriteString(`<ds:KeyInfo><wsse:SecurityTokenReference><ds:X509Data><ds:X509IssuerSerial><ds:X509IssuerName>` +
			escapeText(s.cert.Issuer.String()) + `</ds:X509IssuerName><ds:X509SerialNumber>` + s.cert.SerialNumber.String() +
			`</ds:X509SerialNumber></ds:X509IssuerSerial></ds:X509Data></wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature></wsse:Security>`)
	} else {
		// The Smart Bridge layout: the certificate itself in a KeyIdentifier.
		sec.WriteString(`<ds:KeyInfo><wsse:SecurityTokenReference><wsse:KeyIdentifier EncodingType="` + EncodingBase64Binary +
			`" ValueType="` + ValueTypeX509v3 + `">` + s.certB64 + `</wsse:KeyIdentifier></wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature></wsse:Security>`)
	}

	return splice(envelope, doc, env, sec.String(), bodyAttrs), nil
}

const timeLayout = "2006-01-02T15:04:05.000Z"

// identify returns the Body's id: its own when it has one, else one it
// adds, declaring the wsu prefix on the Body unless it is bound there
// already; attrs is what to splice into the Body's start tag.
func (s *Signer) identify(doc *xmldoc.Document, body int32) (id, attrs string, err error) {
	id, ok := doc.Attr(body, NSWSU, "Id")
	if !ok {
		id, ok = doc.Attr(body, "", "Id")
	}
	if ok {
		if !isNCName(id) {
			return "", "", refuse(ReasonMalformed, "the Body's id %q is not an XML name", id)
		}
		return id, "", nil
	}
	more, err := s.newIDs(1)
	if err != nil {
		return "", "", err
	}
	id = "id-" + more[0]
	prefix := "wsu"
	for i := 1; ; i++ {
		uri, bound := doc.Lookup(body, prefix)
		if !bound || uri == NSWSU {
			if !bound {
				doc.Declare(body, prefix, NSWSU)
				attrs = " xmlns:" + prefix + `="` + NSWSU + `"`
			}
			break
		}
		prefix = "wsu" + strconv.Itoa(i)
	}
	doc.AddAttr(body, prefix, "Id", NSWSU, id)
	return id, attrs + " " + prefix + `:Id="` + id + `"`, nil
}

// isEnvelopeBody reports whether element n, whose start tag was just read,
// is a Body child of a SOAP Envelope: the element soapParts will find, if
// the envelope turns out well-formed.
func isEnvelopeBody(doc *xmldoc.Document, n int32) bool {
	root := doc.Root
	if doc.Node(n).Parent != root || root == xmldoc.None || doc.Local(root) != "Envelope" {
		return false
	}
	ns := doc.NS(root)
	return (ns == NSSOAP11 || ns == NSSOAP12) && doc.Is(n, ns, "Body")
}

func (s *Signer) writeReference(b *strings.Builder, id string, prefixes []string, digest []byte) {
	b.WriteString(`<ds:Reference URI="#` + id + `"><ds:Transforms><ds:Transform Algorithm="` + NSExcC14N + `">`)
	if len(prefixes) > 0 {
		b.WriteString(`<ec:InclusiveNamespaces xmlns:ec="` + NSExcC14N + `" PrefixList="` + strings.Join(prefixes, " ") +
			`"></ec:InclusiveNamespaces>`)
	}
	b.WriteString(`</ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="` + s.digest.URI + `"></ds:DigestMethod><ds:DigestValue>` +
		base64.StdEncoding.EncodeToString(digest) + `</ds:DigestValue></ds:Reference>`)
}

func (s *Signer) signDigest(ctx context.Context, digest []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var sig []byte
	var err error
	if cs, ok := s.key.(ContextSigner); ok {
		sig, err = cs.SignContext(ctx, s.rand, digest, s.alg.SignerOpts)
	} else {
		sig, err = s.key.Sign(s.rand, digest, s.alg.SignerOpts)
	}
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	if s.alg.Encode != nil {
		return s.alg.Encode(s.key.Public(), sig)
	}
	return sig, nil
}

func (s *Signer) newIDs(n int) ([]string, error) {
	buf := make([]byte, 16*n)
	if _, err := io.ReadFull(s.rand, buf); err != nil {
		return nil, fmt.Errorf("signing: ids: %w", err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = hex.EncodeToString(buf[16*i : 16*(i+1)])
	}
	return ids, nil
}

// splice writes the signed envelope: the input with the Security header at
// the front of the Header (a Header created when absent) and bodyAttrs
// added to the Body's start tag.
func splice(envelope []byte, doc *xmldoc.Document, env envelopeParts, security, bodyAttrs string) []byte {
	src := doc.Src
	var head string // up to where the Security header goes, and the Header's start if created
	var at int
	if env.header == xmldoc.None {
		root := doc.Node(env.root)
		header := "Header"
		if p := doc.Prefix(env.root); p != "" {
			header = p + ":Header"
		}
		head = src[:root.TagEnd+1] + "<" + header + ">" + security + "</" + header + ">"
		at = root.TagEnd + 1
	} else {
		hn := doc.Node(env.header)
		if src[hn.TagEnd] == '/' { // <Header/>
			head = src[:hn.TagEnd] + ">" + security + "</" + doc.Name(env.header) + ">"
			at = hn.End
		} else {
			head = src[:hn.TagEnd+1] + security
			at = hn.TagEnd + 1
		}
	}
	bn := doc.Node(env.body)
	// bytes.Join copies into memory it does not zero first: the output is
	// as big as the envelope.
	return bytes.Join([][]byte{[]byte(head), envelope[at:bn.TagEnd], []byte(bodyAttrs), envelope[bn.TagEnd:]}, nil)
}

// envelopeParts locates the parts of a SOAP envelope.
type envelopeParts struct {
	root, header, body int32
}

// soapParts checks the envelope's shape: a SOAP 1.1 or 1.2 Envelope with at
// most one Header, before exactly one Body.
func soapParts(doc *xmldoc.Document) (envelopeParts, error) {
	p := envelopeParts{root: doc.Root, header: xmldoc.None, body: xmldoc.None}
	ns := doc.NS(doc.Root)
	if doc.Local(doc.Root) != "Envelope" || (ns != NSSOAP11 && ns != NSSOAP12) {
		return p, refuse(ReasonNotSOAP, "the root element is {%s}%s", ns, doc.Local(doc.Root))
	}
	var err error
	doc.Children(doc.Root, func(c int32) bool {
		switch {
		case doc.Is(c, ns, "Header"):
			if p.header != xmldoc.None {
				err = refuse(ReasonDuplicateBody, "more than one Header")
			} else if p.body != xmldoc.None {
				err = refuse(ReasonMalformed, "the Header comes after the Body")
			}
			p.header = c
		case doc.Is(c, ns, "Body"):
			if p.body != xmldoc.None {
				err = refuse(ReasonDuplicateBody, "more than one Body")
			}
			p.body = c
		}
		return err == nil
	})
	if err != nil {
		return p, err
	}
	if p.body == xmldoc.None {
		return p, refuse(ReasonMalformed, "no Body")
	}
	return p, nil
}

func parse(envelope []byte, o xmldoc.Options) (*xmldoc.Document, error) {
	doc, err := xmldoc.ParseWith(envelope, o)
	switch {
	case err == nil:
		return doc, nil
	case errors.Is(err, xmldoc.ErrDTD):
		return nil, &Error{Reason: ReasonDTD, Msg: "refused", Err: err}
	case errors.Is(err, xmldoc.ErrTooLarge), errors.Is(err, xmldoc.ErrLimit):
		return nil, &Error{Reason: ReasonTooLarge, Msg: "refused", Err: err}
	case errors.Is(err, xmldoc.ErrTooDeep):
		return nil, &Error{Reason: ReasonTooDeep, Msg: "refused", Err: err}
	}
	return nil, &Error{Reason: ReasonMalformed, Msg: "not well-formed XML", Err: err}
}

func isNCName(s string) bool {
	if s == "" || strings.ContainsAny(s, ":&<>\"' \t\r\n") {
		return false
	}
	c := s[0]
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}

// UnmarshalText reads a layout as configuration writes it: wss4j,
// smart-bridge or shep; empty leaves it to the default.
func (l *Layout) UnmarshalText(b []byte) error {
	switch string(b) {
	case "":
		*l = ""
	case string(LayoutWSS4J):
		*l = LayoutWSS4J
	case string(LayoutSmartBridge):
		*l = LayoutSmartBridge
	case string(LayoutSHEP):
		*l = LayoutSHEP
	default:
		return fmt.Errorf("%q is not wss4j, smart-bridge or shep", b)
	}
	return nil
}

// MarshalText writes a layout as configuration reads it.
func (l Layout) MarshalText() ([]byte, error) { return []byte(l), nil }

// escapeText escapes character data; a distinguished name may hold & or <.
var escapeText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

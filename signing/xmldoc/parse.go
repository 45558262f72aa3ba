// Package xmldoc reads XML into a compact tree that remembers where every
// node sits in the input, and writes exclusive canonical XML from it, or,
// for one element picked as it is read (Options.Canonicalize), while
// reading it.
//
// It exists for the transport signature: a signer must splice a header into
// the bytes it was given, and a verifier must canonicalize exactly what it
// checks, both on messages of hundreds of thousands of elements, faster than
// a general-purpose DOM allows. A SOAP Body is canonicalized in the same
// pass that checks it, without a node per descendant; the tree
// canonicalizer is the reference it is tested against. It is deliberately strict: UTF-8 only, no DTD,
// no entity declarations, namespaces required to be well-formed, size and
// depth limited while reading. It is not a general XML library: callers that
// want to navigate a payload should parse the canonical bytes it produces
// with etree.
package xmldoc

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// XMLNamespace is the namespace bound to the reserved prefix "xml".
const XMLNamespace = "http://www.w3.org/XML/1998/namespace"

// Kind says what a Node is.
type Kind uint8

// Node kinds.
const (
	Element Kind = iota + 1
	Text
	Comment
	ProcInst
)

// None marks the absence of a node in parent/child/sibling links.
const None int32 = -1

// Node is one node of a Document. Links are indexes into Document.Nodes.
// It holds no pointers, so that a tree of a hundred thousand nodes costs the
// garbage collector nothing to scan; names and text are offsets into the
// source, read through the Document's accessors.
type Node struct {
	Kind       Kind
	CDATA      bool // a text node that was a CDATA section
	Parent     int32
	FirstChild int32
	LastChild  int32
	Next       int32
	Depth      int32

	name  qname // element: the qualified name as written
	ns    int32 // element: index into Document.uris
	attrs span  // element: into Document.attrs
	decls span  // element: into Document.decls
	raw   pos   // text, comment, PI: the content between the delimiters

	// Start and End are the byte offsets of the node in the input: for an
	// element, from its '<' to just past its end tag (or "/>").
	Start, End int
	// TagEnd is the offset of the start tag's closing '>' or "/>": where a
	// signer inserts attributes.
	TagEnd int
}

type span struct{ from, to int32 }

// pos is a range of the source, or, with extraBit set, of the extra
// strings a signer added.
type pos struct{ from, to int32 }

// noColon marks an unprefixed qname. It is -1, never a valid position,
// not even one carrying extraBit.
const noColon = -1

// qname is a qualified name; colon is the offset of ':' in it, or noColon.
type qname struct {
	pos
	colon int32
}

type attr struct {
	name qname
	ns   int32
	raw  pos
}

// Attr is an attribute other than a namespace declaration.
type Attr struct {
	Name, Prefix, Local, NS string
	// Raw is the value as written, between the quotes.
	Raw string
}

// Value returns the attribute's value after entity and white-space
// normalization.
func (a Attr) Value() string { return decodeAttr(a.Raw) }

// NSDecl is a namespace declaration; Prefix is "" for the default namespace.
type NSDecl struct{ Prefix, URI string }

// Limits bound what Parse accepts. Zero fields take the defaults.
type Limits struct {
	// MaxBytes is the largest input accepted. Default: 32 MiB.
	MaxBytes int
	// MaxDepth is the deepest element nesting accepted. Default: 128.
	MaxDepth int
	// MaxAttrs is the most attributes (namespace declarations included)
	// one element may carry. Default: 256.
	MaxAttrs int
	// MaxNamespaces is the most namespace declarations in scope at once.
	// Default: 512.
	MaxNamespaces int
}

// Default limits.
const (
	DefaultMaxBytes = 32 << 20
	DefaultMaxDepth = 128
	DefaultMaxAttrs = 256
	DefaultMaxNS    = 512
)

// Errors returned by Parse, besides *SyntaxError.
var (
	ErrDTD      = errors.New("xmldoc: document type declarations and entities are not accepted")
	ErrTooLarge = errors.New("xmldoc: document exceeds the size limit")
	ErrTooDeep  = errors.New("xmldoc: document exceeds the depth limit")
	// ErrLimit bounds what would otherwise cost quadratic time: attributes
	// on one element, namespace declarations in scope.
	ErrLimit = errors.New("xmldoc: document exceeds the attribute or namespace limit")
)

// SyntaxError is a document that is not well-formed namespace-aware XML.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("xmldoc: offset %d: %s", e.Offset, e.Msg)
}

// Document is a parsed XML document. It is read-only but for the additions a
// signer makes with AddAttr and Declare.
type Document struct {
	Src   string
	Nodes []Node
	Root  int32

	attrs []attr
	decls []NSDecl
	uris  []string // interned namespace names; uris[0] is ""
	extra string   // strings added by AddAttr
	canon *Canonical
}

const extraBit = -1 << 31

func (d *Document) str(p pos) string {
	if p.from < 0 {
		return d.extra[p.from&^extraBit : p.to&^extraBit]
	}
	return d.Src[p.from:p.to]
}

func (d *Document) prefix(q qname) string {
	if q.colon == noColon {
		return ""
	}
	return d.str(pos{q.from, q.colon})
}

func (d *Document) local(q qname) string {
	if q.colon == noColon {
		return d.str(q.pos)
	}
	return d.str(pos{q.colon + 1, q.to})
}

// Name returns element n's qualified name as written.
func (d *Document) Name(n int32) string { return d.str(d.Nodes[n].name.pos) }

// Prefix returns element n's namespace prefix, "" when it has none.
func (d *Document) Prefix(n int32) string { return d.prefix(d.Nodes[n].name) }

// Local returns element n's local name.
func (d *Document) Local(n int32) string { return d.local(d.Nodes[n].name) }

// NS returns element n's namespace name.
func (d *Document) NS(n int32) string { return d.uris[d.Nodes[n].ns] }

// Is reports whether element n has namespace ns and local name local.
func (d *Document) Is(n int32, ns, local string) bool {
	node := &d.Nodes[n]
	return node.Kind == Element && d.uris[node.ns] == ns && d.local(node.name) == local
}

// Raw returns a text, comment or PI node's content as written.
func (d *Document) Raw(n int32) string { return d.str(d.Nodes[n].raw) }

// Attrs returns the element's attributes (namespace declarations excluded).
func (d *Document) Attrs(n int32) []Attr {
	s := d.Nodes[n].attrs
	out := make([]Attr, 0, s.to-s.from)
	for _, a := range d.attrs[s.from:s.to] {
		out = append(out, Attr{Name: d.str(a.name.pos), Prefix: d.prefix(a.name), Local: d.local(a.name), NS: d.uris[a.ns], Raw: d.str(a.raw)})
	}
	return out
}

func (d *Document) intern(uri string) int32 {
	for i, u := range d.uris {
		if u == uri {
			return int32(i)
		}
	}
	d.uris = append(d.uris, uri)
	return int32(len(d.uris) - 1)
}

// Decls returns the namespace declarations made on the element.
func (d *Document) Decls(n int32) []NSDecl {
	s := d.Nodes[n].decls
	return d.decls[s.from:s.to]
}

// Attr returns the value of the element's attribute with namespace ns and
// local name local.
func (d *Document) Attr(n int32, ns, local string) (string, bool) {
	s := d.Nodes[n].attrs
	for _, a := range d.attrs[s.from:s.to] {
		if d.local(a.name) == local && d.uris[a.ns] == ns {
			return decodeAttr(d.str(a.raw)), true
		}
	}
	return "", false
}

// AddAttr adds an attribute to element n as if it had been written there.
// The value must need no escaping. It is for signers that splice the same
// attribute into the bytes; the caller keeps the two in step.
func (d *Document) AddAttr(n int32, prefix, local, ns, value string) {
	name := qname{pos: d.addExtra(prefix + ":" + local), colon: noColon}
	if prefix == "" {
		name.pos = d.addExtra(local)
	} else {
		name.colon = name.from + int32(len(prefix))
	}
	node := &d.Nodes[n]
	node.attrs = appendSpan(&d.attrs, node.attrs, attr{name: name, ns: d.intern(ns), raw: d.addExtra(value)})
}

// addExtra stores a string a signer added; positions in it carry extraBit.
func (d *Document) addExtra(s string) pos {
	from := int32(len(d.extra))
	d.extra += s
	return pos{from | extraBit, int32(len(d.extra)) | extraBit}
}

// Declare adds a namespace declaration to element n; see AddAttr.
func (d *Document) Declare(n int32, prefix, uri string) {
	node := &d.Nodes[n]
	node.decls = appendSpan(&d.decls, node.decls, NSDecl{Prefix: prefix, URI: uri})
}

// appendSpan moves s to the end of *all* (unless it is there already) and
// appends v, so that every node's items stay contiguous.
func appendSpan[T any](all *[]T, s span, v T) span {
	if int(s.to) != len(*all) {
		from := int32(len(*all))
		*all = append(*all, (*all)[s.from:s.to]...)
		s = span{from, int32(len(*all))}
	}
	*all = append(*all, v)
	s.to++
	return s
}

// Lookup returns the namespace bound to prefix in the scope of element n.
func (d *Document) Lookup(n int32, prefix string) (string, bool) {
	if prefix == "xml" {
		return XMLNamespace, true
	}
	for ; n != None; n = d.Nodes[n].Parent {
		for _, decl := range d.Decls(n) {
			if decl.Prefix == prefix {
				return decl.URI, true
			}
		}
	}
	return "", false
}

// Children calls fn for each child element of n, in document order; for
// None, never.
func (d *Document) Children(n int32, fn func(c int32) bool) {
	if n == None {
		return
	}
	for c := d.Nodes[n].FirstChild; c != None; c = d.Nodes[c].Next {
		if d.Nodes[c].Kind == Element && !fn(c) {
			return
		}
	}
}

// Text returns the concatenated, decoded text of n's text children.
func (d *Document) Text(n int32) string {
	var b strings.Builder
	for c := d.Nodes[n].FirstChild; c != None; c = d.Nodes[c].Next {
		if node := &d.Nodes[c]; node.Kind == Text {
			if node.CDATA {
				b.WriteString(normalizeEOL(d.str(node.raw)))
			} else {
				b.WriteString(decodeText(d.str(node.raw)))
			}
		}
	}
	return b.String()
}

// Parse reads a whole document.
func Parse(src []byte, lim Limits) (*Document, error) {
	return ParseWith(src, Options{Limits: lim})
}

// Options are what ParseWith takes: limits, and optionally one element to
// canonicalize as it is read.
type Options struct {
	Limits
	// Canonicalize, when set, is asked about each element as its start tag
	// is read, with the element and its ancestors in the tree (and what it
	// adds to them with AddAttr and Declare counted). The first element it
	// returns true for is canonicalized while it is read, as C14N says:
	// the bytes are in Document.Canonical, its descendants are checked as
	// strictly as the rest but left out of the tree, and it is
	// canonicalized without one Node per descendant or a second pass.
	// This is how a transport signature's Body of 100,000 elements is
	// signed and verified in one read.
	Canonicalize func(d *Document, n int32) (C14N, bool)
	// IDAttrs name the attributes whose values are collected, in
	// Canonical.IDs, from the descendants left out of the tree.
	IDAttrs []Name
	// InPlace reads src where it is instead of copying it: src must not
	// change while the Document, or any string taken from it, is in use.
	// It is for a caller that is done with the Document when it returns
	// and keeps nothing of it but copies: a 100 KB envelope is then not
	// copied, nor its copy read from cold memory.
	InPlace bool
}

// C14N says how Parse canonicalizes the element Options.Canonicalize picks.
type C14N struct {
	// Inclusive is the InclusiveNamespaces PrefixList, "#default" standing
	// for the default namespace.
	Inclusive []string
	// AllDeclared, instead, takes for PrefixList every prefix declared
	// around and inside the element, as DeclaredPrefixes lists it; that
	// list is known only once the element is read, and is returned in
	// Canonical.Inclusive.
	AllDeclared bool
	// To, when set, receives the canonical form in pieces as it is made
	// (a digest, say) instead of Canonical.Bytes. An error it returns
	// fails the parse.
	To io.Writer
}

// Canonical is the exclusive canonical form of the element Parse
// canonicalized as it read it.
type Canonical struct {
	Node      int32
	Bytes     []byte   // nil when written to C14N.To
	Inclusive []string // the PrefixList used
	IDs       []ID     // id attributes of the descendants, in document order
}

// Name is an expanded name.
type Name struct{ NS, Local string }

// ID is an id-carrying attribute (Options.IDAttrs) of an element left out of
// the tree.
type ID struct {
	Value   string
	Attr    Name
	Element Name
	QName   string // the element's name as written
	Offset  int    // where the element starts in the input
}

// Canonical returns the element canonicalized while parsing, or nil.
func (d *Document) Canonical() *Canonical { return d.canon }

// ParseWith reads a whole document with options.
func ParseWith(src []byte, o Options) (*Document, error) {
	lim := &o.Limits
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultMaxBytes
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = DefaultMaxDepth
	}
	if lim.MaxAttrs <= 0 {
		lim.MaxAttrs = DefaultMaxAttrs
	}
	if lim.MaxNamespaces <= 0 {
		lim.MaxNamespaces = DefaultMaxNS
	}
	if len(src) > lim.MaxBytes {
		return nil, ErrTooLarge
	}
	p := parser{b: src, lim: o.Limits, opts: o, lastURI: -1}
	if o.InPlace {
		p.s = unsafe.String(unsafe.SliceData(src), len(src))
	} else {
		p.s = string(src)
	}
	p.cached.gen = ^uint64(0)
	// A cheap estimate keeps the big slices from regrowing: each '<' opens
	// a start tag, an end tag or a comment, and nearly each is followed by
	// a text node. Where one element is canonicalized instead, the tree is
	// what surrounds it, and small.
	est := 64
	if o.Canonicalize == nil {
		est = strings.Count(p.s, "<")
	}
	p.d = &Document{Src: p.s, Root: None, Nodes: make([]Node, 0, est+4), attrs: make([]attr, 0, est/2+4), uris: []string{""}}
	if err := p.document(); err != nil {
		return nil, err
	}
	return p.d, nil
}

type parser struct {
	s     string
	b     []byte // s, as given: what long runs are written from
	i     int
	lim   Limits
	opts  Options
	d     *Document
	stack []open   // open elements
	scope []NSDecl // namespace declarations made by the open elements, outermost first

	lastURI int32
	seen    map[dupKey]struct{} // scratch for duplicate checks on crowded elements

	// colon and colons describe the last name read: where its first colon
	// is (-1: none) and how many it has.
	colon, colons int
	// gen counts changes to scope; an element declaring nothing resolves
	// its prefix from the last resolution made in the same scope.
	gen    uint64
	cached struct {
		gen    uint64
		prefix string
		ns     int32
	}

	// While an element is canonicalized as it is read: the canonicalizer,
	// where the source not yet copied begins (a run of source already in
	// canonical form is copied once, when something breaks it), and the
	// ids met.
	c   *canonicalizer
	run int
	ids []ID
}

func (p *parser) pushScope(decls []NSDecl) {
	if len(decls) > 0 {
		p.scope = append(p.scope, decls...)
		p.gen++
	}
}

// open is an element whose end tag is still to come.
type open struct {
	node  int32 // None for an element left out of the tree
	name  qname
	scope int32 // len(parser.scope) before the element's declarations
	quick bool  // read by quickStart: not pushed on the canonicalizer
}

func (p *parser) errf(format string, args ...any) error {
	return &SyntaxError{Offset: p.i, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) document() error {
	s := p.s
	if strings.HasPrefix(s, "\xef\xbb\xbf") {
		p.i = 3
	}
	if strings.HasPrefix(s[p.i:], "<?xml") && len(s) > p.i+5 && isSpace(s[p.i+5]) {
		if err := p.xmlDecl(); err != nil {
			return err
		}
	}
	for p.i < len(s) {
		switch {
		case isSpace(s[p.i]):
			p.i++
		case s[p.i] != '<':
			if p.d.Root == None {
				return p.errf("text before the root element")
			}
			return p.errf("text after the root element")
		case strings.HasPrefix(s[p.i:], "<!--"):
			if _, err := p.comment(); err != nil {
				return err
			}
		case strings.HasPrefix(s[p.i:], "<?"):
			if _, err := p.procInst(); err != nil {
				return err
			}
		case strings.HasPrefix(s[p.i:], "<!"):
			return p.bang()
		default:
			if p.d.Root != None {
				return p.errf("a second root element")
			}
			if err := p.element(); err != nil {
				return err
			}
		}
	}
	if p.d.Root == None {
		return p.errf("no root element")
	}
	return nil
}

func (p *parser) bang() error {
	rest := p.s[p.i:]
	if strings.HasPrefix(rest, "<!DOCTYPE") || strings.HasPrefix(rest, "<!ENTITY") {
		return ErrDTD
	}
	return p.errf("unexpected markup declaration")
}

func (p *parser) xmlDecl() error {
	end := strings.Index(p.s[p.i:], "?>")
	if end < 0 {
		return p.errf("unterminated XML declaration")
	}
	decl := p.s[p.i+5 : p.i+end]
	if k := strings.Index(decl, "encoding"); k >= 0 {
		v := strings.TrimLeft(decl[k+len("encoding"):], " \t\r\n=")
		if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
			q := v[0]
			v = v[1:]
			if e := strings.IndexByte(v, q); e >= 0 {
				v = v[:e]
			}
		}
		if !strings.EqualFold(v, "utf-8") && !strings.EqualFold(v, "utf8") {
			return p.errf("encoding %q is not accepted; only UTF-8", v)
		}
	}
	p.i += end + 2
	return nil
}

func (p *parser) add(n Node) int32 {
	d := p.d
	idx := int32(len(d.Nodes))
	n.FirstChild, n.LastChild, n.Next = None, None, None
	if len(p.stack) > 0 {
		parent := p.stack[len(p.stack)-1].node
		n.Parent = parent
		n.Depth = int32(len(p.stack))
		if last := d.Nodes[parent].LastChild; last != None {
			d.Nodes[last].Next = idx
		} else {
			d.Nodes[parent].FirstChild = idx
		}
		d.Nodes[parent].LastChild = idx
	} else {
		n.Parent = None
	}
	d.Nodes = append(d.Nodes, n)
	return idx
}

// element reads the root element and everything in it, without recursion.
func (p *parser) element() error {
	s := p.s
	if err := p.startTag(); err != nil {
		return err
	}
	for len(p.stack) > 0 {
		if p.c != nil {
			p.quick()
		}
		if p.i >= len(s) {
			return p.errf("unexpected end of input inside <%s>", p.d.str(p.stack[len(p.stack)-1].name.pos))
		}
		if s[p.i] != '<' {
			if err := p.text(); err != nil {
				return err
			}
			continue
		}
		rest := s[p.i:]
		if len(rest) > 1 && rest[1] != '/' && rest[1] != '!' && rest[1] != '?' {
			if p.c != nil && p.quickStart() {
				continue
			}
			if err := p.startTag(); err != nil {
				return err
			}
			continue
		}
		switch {
		case strings.HasPrefix(rest, "</"):
			if err := p.endTag(); err != nil {
				return err
			}
		case strings.HasPrefix(rest, "<!--"):
			start := p.i
			raw, err := p.comment()
			if err != nil {
				return err
			}
			if p.c != nil {
				p.flush(start) // comments are not canonical
				continue
			}
			p.add(Node{Kind: Comment, raw: raw, Start: start, End: p.i})
		case strings.HasPrefix(rest, "<![CDATA["):
			start := p.i
			end := strings.Index(rest, "]]>")
			if end < 0 {
				return p.errf("unterminated CDATA section")
			}
			if err := p.checkChars(rest[9:end], start+9); err != nil {
				return err
			}
			p.i += end + 3
			if p.c != nil {
				p.flush(start)
				p.c.dst = appendCanonicalText(p.c.dst, rest[9:end], true)
				continue
			}
			p.add(Node{Kind: Text, raw: pos{int32(start + 9), int32(start + end)}, CDATA: true, Start: start, End: p.i})
		case strings.HasPrefix(rest, "<?"):
			start := p.i
			raw, err := p.procInst()
			if err != nil {
				return err
			}
			if p.c != nil {
				p.flush(start)
				p.c.dst = appendPI(p.c.dst, p.d.str(raw))
				continue
			}
			p.add(Node{Kind: ProcInst, raw: raw, Start: start, End: p.i})
		case strings.HasPrefix(rest, "<!"):
			return p.bang()
		default:
			if err := p.startTag(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush copies the run of source already in canonical form up to at, and
// starts the next run where the reader is: what lies between is written in
// canonical form by the caller, or dropped.
func (p *parser) flush(at int) {
	c := p.c
	switch {
	case c.w == nil:
		c.dst = append(c.dst, p.s[p.run:at]...)
	case at-p.run >= directRun:
		c.drain()
		c.write(p.b[p.run:at])
	default:
		c.dst = append(c.dst, p.s[p.run:at]...)
		if len(c.dst) >= drainAt {
			c.drain()
		}
	}
	p.run = p.i
}

// With C14N.To, runs of source this long are written as they are, and
// what the canonicalizer writes itself is passed on in pieces this big.
const directRun, drainAt = 512, 8 << 10

func (p *parser) text() error {
	start := p.i
	canonical, err := p.scanText()
	if err != nil {
		return err
	}
	if p.c != nil {
		if !canonical {
			end := p.i
			p.flush(start)
			p.c.dst = appendCanonicalText(p.c.dst, p.s[start:end], false)
		}
		return nil
	}
	p.add(Node{Kind: Text, raw: pos{int32(start), int32(p.i)}, Start: start, End: p.i})
	return nil
}

// scanText reads text up to the next '<' in one pass, checking what
// checkText checks and reporting whether the text is already in canonical
// form (no reference, '>' or CR). Anything amiss is handed to checkText,
// so that the error is the one it words.
func (p *parser) scanText() (canonical bool, err error) {
	s := p.s
	start := p.i
	canonical = true
	for i := plainText(s, start); i < len(s); i = plainText(s, i) {
		c := s[i]
		if c >= utf8.RuneSelf {
			size := charSize(s, i)
			if size == 0 {
				return false, p.checkText(start)
			}
			i += size
			continue
		}
		switch c {
		case '<':
			p.i = i
			return canonical, nil
		case '&':
			_, n := decodeRef(s[i:])
			if n == 0 {
				return false, p.checkText(start)
			}
			canonical = false
			i += n - 1
		case '>':
			if i-start >= 2 && s[i-1] == ']' && s[i-2] == ']' {
				return false, p.checkText(start)
			}
			canonical = false
		case '\r':
			canonical = false
		default:
			return false, p.checkText(start)
		}
		i++
	}
	p.i = len(s)
	return canonical, nil
}

// charSize returns the length of the non-ASCII character at s[i], or 0 when
// it is not valid UTF-8 or not a character XML allows.
func charSize(s string, i int) int {
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size <= 1 || r == 0xFFFE || r == 0xFFFF {
		return 0
	}
	return size
}

// scanValue checks an attribute value in one pass, as the '<' check,
// checkChars and checkRefs would, and reports whether canonical form would
// write it as it is.
func scanValue(s string) (ok, plain bool) {
	plain = true
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !valueByte[c] {
				i++
				continue
			}
			switch c {
			case '&':
				_, n := decodeRef(s[i:])
				if n == 0 {
					return false, false
				}
				plain = false
				i += n
				continue
			case '"', '\t', '\n', '\r':
				plain = false
			default: // '<' and control characters
				return false, false
			}
			i++
			continue
		}
		if c <= 0xDF && c >= 0xC2 && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			i += 2
		} else if size := charSize(s, i); size > 0 {
			i += size
		} else {
			return false, false
		}
	}
	return true, plain
}

// valueByte marks the ASCII bytes scanValue looks at twice.
var valueByte = func() (t [utf8.RuneSelf]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['<'], t['&'], t['"'] = true, true, true
	return t
}()

// textByte marks the ASCII bytes scanText looks at twice: markup, references,
// what canonical form rewrites, and control characters.
var textByte = func() (t [utf8.RuneSelf]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = c != '\t' && c != '\n'
	}
	t['<'], t['&'], t['>'] = true, true, true
	return t
}()

// checkText finds what is wrong with the text starting at start: a "]]>",
// a character XML does not allow, a bad or undeclared reference.
func (p *parser) checkText(start int) error {
	s := p.s
	end := strings.IndexByte(s[start:], '<')
	if end < 0 {
		end = len(s)
	} else {
		end += start
	}
	raw := s[start:end]
	if k := strings.Index(raw, "]]>"); k >= 0 {
		p.i = start + k
		return p.errf("']]>' in text")
	}
	if err := p.checkChars(raw, start); err != nil {
		return err
	}
	if err := p.checkRefs(raw, start); err != nil {
		return err
	}
	return &SyntaxError{Offset: start, Msg: "text not accepted"}
}

func (p *parser) comment() (pos, error) {
	start := p.i + 4
	end := strings.Index(p.s[start:], "--")
	if end < 0 {
		return pos{}, p.errf("unterminated comment")
	}
	end += start
	if !strings.HasPrefix(p.s[end:], "-->") {
		p.i = end
		return pos{}, p.errf("'--' inside a comment")
	}
	if err := p.checkChars(p.s[start:end], start); err != nil {
		return pos{}, err
	}
	p.i = end + 3
	return pos{int32(start), int32(end)}, nil
}

func (p *parser) procInst() (pos, error) {
	start := p.i + 2
	end := strings.Index(p.s[start:], "?>")
	if end < 0 {
		return pos{}, p.errf("unterminated processing instruction")
	}
	raw := p.s[start : start+end]
	target := raw
	if k := strings.IndexAny(raw, " \t\r\n"); k >= 0 {
		target = raw[:k]
	}
	if !isName(target) || strings.Contains(target, ":") {
		return pos{}, p.errf("bad processing instruction target %q", target)
	}
	if strings.EqualFold(target, "xml") {
		return pos{}, p.errf("XML declaration not at the start of the document")
	}
	if err := p.checkChars(raw, start); err != nil {
		return pos{}, err
	}
	p.i = start + end + 2
	return pos{int32(start), int32(start + end)}, nil
}

// name reads a name, checking its characters as it goes.
func (p *parser) name() (string, error) {
	s := p.s
	start := p.i
	p.colon, p.colons = -1, 0
	if p.i < len(s) {
		if c := s[p.i]; c < utf8.RuneSelf && isNameByte(c) && c != '-' && c != '.' && (c < '0' || c > '9') {
			p.i++
			if c == ':' {
				p.colon, p.colons = start, 1
			}
		} else if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[p.i:])
			if r != utf8.RuneError && isNameRune(r) && r != 0xB7 && (r < 0x300 || r > 0x36F) && r != 0x203F && r != 0x2040 {
				p.i += size
			}
		}
	}
	if p.i == start {
		return "", p.errf("expected a name")
	}
	for p.i < len(s) {
		c := s[p.i]
		if c < utf8.RuneSelf {
			if !nameByte[c] {
				break
			}
			if c == ':' {
				if p.colons == 0 {
					p.colon = p.i
				}
				p.colons++
			}
			p.i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[p.i:])
		if r == utf8.RuneError || !isNameRune(r) {
			break
		}
		p.i += size
	}
	return s[start:p.i], nil
}

// nameByte marks the ASCII bytes a name may hold.
var nameByte = func() (t [256]bool) {
	for c := 0; c < utf8.RuneSelf; c++ {
		t[c] = isNameByte(byte(c))
	}
	return t
}()

// qname checks the qualified name the last call to name read, from offset
// start, and returns it as a qname.
func (p *parser) qname(n string, start int) (qname, bool) {
	q := qname{pos: pos{int32(start), int32(start + len(n))}, colon: noColon}
	switch {
	case p.colons == 0:
		return q, true
	case p.colons > 1 || p.colon == start || p.colon == start+len(n)-1:
		return q, false
	}
	q.colon = int32(p.colon)
	return q, true
}

func (p *parser) skipSpace() bool {
	start := p.i
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
	return p.i > start
}

// tag is a start tag just read; its attributes and declarations are at the
// ends of Document.attrs and Document.decls.
type tag struct {
	start, tagEnd      int
	name               qname
	ns                 int32
	attrFrom, declFrom int32
	selfClosing        bool
	// canonical: written as exclusive canonicalization would write it,
	// provided it needs no namespace declaration rendered: no declarations
	// of its own, unprefixed attributes in order, single spaces, double
	// quotes, values without references or white space to normalize.
	canonical bool
}

func (p *parser) startTag() error {
	t, err := p.readStartTag()
	if err != nil {
		return err
	}
	if p.c != nil {
		p.canonicalStart(t)
		return nil
	}
	d := p.d
	idx := p.add(Node{Kind: Element, name: t.name, ns: t.ns,
		attrs: span{t.attrFrom, int32(len(d.attrs))}, decls: span{t.declFrom, int32(len(d.decls))},
		Start: t.start, TagEnd: t.tagEnd})
	if len(p.stack) == 0 {
		d.Root = idx
	}
	if t.selfClosing {
		d.Nodes[idx].End = p.i
	} else {
		p.stack = append(p.stack, open{node: idx, name: t.name, scope: int32(len(p.scope))})
		p.pushScope(d.decls[t.declFrom:])
	}
	if p.opts.Canonicalize != nil && d.canon == nil {
		if how, ok := p.opts.Canonicalize(d, idx); ok {
			return p.beginCanonical(idx, how, t.selfClosing)
		}
	}
	return nil
}

// beginCanonical starts canonicalizing element n, whose start tag was just
// read; a self-closing one is done at once.
func (p *parser) beginCanonical(n int32, how C14N, selfClosing bool) error {
	d := p.d
	// Small: appending the first long run grows it to size, and growing
	// copies without first zeroing what it copies over.
	c := newCanonicalizer(d, n, how, make([]byte, 0, drainAt+directRun))
	t := d.startTag(n)
	c.push(t, true)
	c.writeStart(t)
	p.c, p.run = c, p.i
	if selfClosing {
		return p.endCanonical(n, true)
	}
	return nil
}

// endCanonical ends canonicalizing n, after its end tag.
func (p *parser) endCanonical(n int32, selfClosing bool) error {
	c := p.c
	p.flush(p.i)
	if selfClosing {
		c.writeEnd(p.d.Name(n))
	}
	c.pop()
	canon := &Canonical{Node: n, Inclusive: c.prefixList(), IDs: p.ids}
	if c.w == nil {
		canon.Bytes = c.dst
	} else if c.drain(); c.werr != nil {
		return fmt.Errorf("xmldoc: writing the canonical form: %w", c.werr)
	}
	p.d.canon = canon
	p.c, p.ids = nil, nil
	return nil
}

// quick reads, inside the element being canonicalized, the commonest
// tokens in a tight loop: text with nothing to check closely or rewrite,
// start tags quickStart takes, and the end tags of the elements it opened.
// It stops before anything else, for the general reader to read.
func (p *parser) quick() {
	s := p.s
	i := p.i
	for i < len(s) {
		if s[i] != '<' {
			j := plainText(s, i)
			if j >= len(s) || s[j] != '<' {
				break
			}
			i = j
		}
		if i+1 >= len(s) {
			break
		}
		if s[i+1] == '/' {
			top := &p.stack[len(p.stack)-1]
			name := s[top.name.from:top.name.to]
			end := i + 2 + len(name)
			if !top.quick || end >= len(s) || s[end] != '>' || s[i+2:end] != name {
				break
			}
			p.stack = p.stack[:len(p.stack)-1]
			i = end + 1
			continue
		}
		p.i = i
		if !p.quickStart() {
			break
		}
		i = p.i
	}
	p.i = i
}

// plainText returns where the text starting at s[i] stops being plain: at
// '<', or at anything scanText must look at closely.
func plainText(s string, i int) int {
	for i < len(s) {
		c := s[i]
		switch {
		case c < utf8.RuneSelf:
			if textByte[c] {
				return i
			}
			i++
		case c <= 0xDF && c >= 0xC2 && i+1 < len(s) && s[i+1]&0xC0 == 0x80:
			i += 2 // Cyrillic and Kazakh, the short way
		default:
			return i
		}
	}
	return i
}

// quickStart reads, inside the element being canonicalized, a start tag of
// the commonest kind: already in canonical form and changing nothing in
// scope (its parent's prefix, ASCII names, unprefixed attributes in order,
// values with nothing to normalize, within the limits). It reports false,
// having changed nothing, for any other tag, which the general reader then
// reads, checks and words the errors of. Everything it accepts, the
// general reader would accept and write the same way (FuzzCanonicalize).
func (p *parser) quickStart() bool {
	s := p.s
	start := p.i
	top := &p.stack[len(p.stack)-1]
	if len(p.stack) >= p.lim.MaxDepth {
		return false
	}
	i := start + 1
	if i >= len(s) || !nameStart[s[i]] {
		return false
	}
	colon := -1
	for i < len(s) && nameByte[s[i]] {
		if s[i] == ':' {
			if colon >= 0 {
				return false
			}
			colon = i
		}
		i++
	}
	if i >= len(s) || s[i] >= utf8.RuneSelf {
		return false
	}
	name := qname{pos: pos{int32(start + 1), int32(i)}, colon: noColon}
	if colon >= 0 {
		if colon == start+1 || colon == i-1 {
			return false
		}
		name.colon = int32(colon)
	}
	if p.prefixOf(name) != p.prefixOf(top.name) {
		return false
	}
	// Ids met are kept only if the whole tag is.
	ids := len(p.ids)
	fail := func() bool {
		p.ids = p.ids[:ids]
		return false
	}
	var last string
	attrs := 0
	selfClosing := false
	for {
		if i >= len(s) {
			return fail()
		}
		if c := s[i]; c == '>' {
			i++
			break
		} else if c == '/' && i+1 < len(s) && s[i+1] == '>' {
			selfClosing = true
			i += 2
			break
		} else if c != ' ' || attrs >= p.lim.MaxAttrs {
			return fail()
		}
		i++
		from := i
		if i >= len(s) || !nameStart[s[i]] || s[i] == ':' {
			return fail()
		}
		for i < len(s) && nameByte[s[i]] && s[i] != ':' {
			i++
		}
		local := s[from:i]
		if i+1 >= len(s) || s[i] != '=' || s[i+1] != '"' || local <= last || local == "xmlns" {
			return fail()
		}
		end := plainValue(s, i+2)
		if end < 0 {
			return fail()
		}
		value := s[i+2 : end]
		end -= i + 2
		for _, want := range p.opts.IDAttrs {
			if want.NS == "" && want.Local == local {
				ns, _ := p.resolve(nil, p.d.prefix(name))
				p.ids = append(p.ids, ID{Value: value, Attr: want, Element: Name{NS: ns, Local: p.d.local(name)},
					QName: p.d.str(name.pos), Offset: start})
			}
		}
		last = local
		attrs++
		i += 2 + end + 1
	}
	p.i = i
	if selfClosing {
		p.flush(i - 2) // the tag but its "/>"
		p.c.dst = append(p.c.dst, '>')
		p.c.writeEnd(p.d.str(name.pos))
		return true
	}
	// Nothing to push on the canonicalizer: the element changes nothing
	// it keeps.
	p.stack = append(p.stack, open{node: None, name: name, scope: int32(len(p.scope)), quick: true})
	return true
}

// plainValue returns the offset of the '"' that ends the attribute value
// starting at s[from], or -1 when the value is not plain: it holds
// anything canonical form rewrites, or anything that needs a closer look.
func plainValue(s string, from int) int {
	for i := from; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			return i
		case c < utf8.RuneSelf:
			if valueByte[c] {
				return -1
			}
			i++
		case c <= 0xDF && c >= 0xC2 && i+1 < len(s) && s[i+1]&0xC0 == 0x80:
			i += 2
		default:
			size := charSize(s, i)
			if size == 0 {
				return -1
			}
			i += size
		}
	}
	return -1
}

// prefixOf returns an element's prefix. Element names are always in the
// source (AddAttr adds attributes only).
func (p *parser) prefixOf(q qname) string {
	if q.colon == noColon {
		return ""
	}
	return p.s[q.from:q.colon]
}

// nameStart marks the ASCII bytes a name may start with.
var nameStart = func() (t [256]bool) {
	for c := 0; c < utf8.RuneSelf; c++ {
		t[c] = isNameByte(byte(c)) && c != '-' && c != '.' && (c < '0' || c > '9')
	}
	return t
}()

// canonicalStart writes a start tag read inside the element being
// canonicalized: as the source has it when that is already canonical.
func (p *parser) canonicalStart(t tag) {
	d := p.d
	st := startTag{name: t.name, attrs: d.attrs[t.attrFrom:], decls: d.decls[t.declFrom:]}
	for _, a := range st.attrs {
		p.collectID(t, a)
	}
	// An element in its parent's namespace, declaring nothing and with
	// unprefixed attributes, renders no declaration and changes no
	// binding: the canonicalizer need not hear of it, and the source
	// already has its canonical start tag.
	quick := t.canonical && p.prefixOf(t.name) == p.prefixOf(p.stack[len(p.stack)-1].name)
	if !quick {
		if none := p.c.push(st, false); !none || !t.canonical {
			p.flush(t.start)
			p.c.writeStart(st)
		}
	}
	if t.selfClosing {
		p.c.writeEnd(d.str(t.name.pos))
		p.c.pop() // a self-closing tag is never quick
	} else {
		p.stack = append(p.stack, open{node: None, name: t.name, scope: int32(len(p.scope)), quick: quick})
		p.pushScope(st.decls)
	}
	// The scope and the canonicalizer hold copies: the tree keeps nothing
	// of an element left out of it.
	d.attrs, d.decls = d.attrs[:t.attrFrom], d.decls[:t.declFrom]
}

func (p *parser) collectID(t tag, a attr) {
	d := p.d
	for _, want := range p.opts.IDAttrs {
		if d.local(a.name) == want.Local && d.uris[a.ns] == want.NS {
			p.ids = append(p.ids, ID{Value: decodeAttr(d.str(a.raw)), Attr: want,
				Element: Name{NS: d.uris[t.ns], Local: d.local(t.name)}, QName: d.str(t.name.pos), Offset: t.start})
		}
	}
}

// readStartTag reads a start tag and checks it: names, attributes,
// declarations, limits, namespaces.
func (p *parser) readStartTag() (tag, error) {
	s := p.s
	d := p.d
	t := tag{start: p.i, canonical: true}
	p.i++
	name, err := p.name()
	if err != nil {
		return t, err
	}
	q, qok := p.qname(name, t.start+1) // reported after the attributes, as always
	if len(p.stack) >= p.lim.MaxDepth {
		return t, ErrTooDeep
	}
	t.attrFrom, t.declFrom = int32(len(d.attrs)), int32(len(d.decls))
	var lastLocal string
	for {
		sep := p.i
		spaced := p.skipSpace()
		if p.i >= len(s) {
			return t, p.errf("unexpected end of input in <%s>", name)
		}
		if c := s[p.i]; c == '>' || c == '/' {
			if spaced {
				t.canonical = false
			}
			break
		}
		if !spaced {
			return t, p.errf("attributes must be separated by white space")
		}
		if p.i != sep+1 || s[sep] != ' ' {
			t.canonical = false
		}
		if int32(len(d.attrs))-t.attrFrom+int32(len(d.decls))-t.declFrom >= int32(p.lim.MaxAttrs) {
			return t, ErrLimit
		}
		astart := p.i
		aname, err := p.name()
		if err != nil {
			return t, err
		}
		eq := p.i
		p.skipSpace()
		if p.i >= len(s) || s[p.i] != '=' {
			return t, p.errf("attribute %s without a value", aname)
		}
		p.i++
		p.skipSpace()
		if p.i >= len(s) || (s[p.i] != '"' && s[p.i] != '\'') {
			return t, p.errf("attribute %s value not quoted", aname)
		}
		q := s[p.i]
		if p.i != eq+1 || q != '"' {
			t.canonical = false
		}
		vstart := p.i + 1
		end := strings.IndexByte(s[vstart:], q)
		if end < 0 {
			return t, p.errf("unterminated attribute value")
		}
		raw := s[vstart : vstart+end]
		ok, plainValue := scanValue(raw)
		if !ok {
			if strings.IndexByte(raw, '<') >= 0 {
				return t, p.errf("'<' in attribute value")
			}
			if err := p.checkChars(raw, vstart); err != nil {
				return t, err
			}
			if err := p.checkRefs(raw, vstart); err != nil {
				return t, err
			}
			return t, &SyntaxError{Offset: vstart, Msg: "attribute value not accepted"}
		}
		p.i = vstart + end + 1
		switch {
		case aname == "xmlns":
			t.canonical = false
			uri := decodeAttr(raw)
			if uri == XMLNamespace || uri == "http://www.w3.org/2000/xmlns/" {
				return t, p.errf("reserved namespace %q as the default namespace", uri)
			}
			d.decls = append(d.decls, NSDecl{Prefix: "", URI: uri})
		case strings.HasPrefix(aname, "xmlns:"):
			t.canonical = false
			prefix := aname[6:]
			uri := decodeAttr(raw)
			if prefix == "xmlns" || (prefix == "xml") != (uri == XMLNamespace) || uri == "http://www.w3.org/2000/xmlns/" {
				return t, p.errf("reserved prefix or namespace in %s", aname)
			}
			if uri == "" {
				return t, p.errf("prefix %s bound to the empty namespace", prefix)
			}
			if prefix == "xml" {
				continue // allowed and meaningless; never rendered
			}
			d.decls = append(d.decls, NSDecl{Prefix: prefix, URI: uri})
		default:
			q, ok := p.qname(aname, astart)
			if !ok {
				return t, p.errf("bad qualified name %q", aname)
			}
			if q.colon != noColon || aname <= lastLocal || !plainValue {
				t.canonical = false
			}
			lastLocal = aname
			d.attrs = append(d.attrs, attr{name: q, raw: pos{int32(vstart), int32(vstart + end)}})
		}
	}
	if decls := d.decls[t.declFrom:]; len(decls) > 0 {
		if len(p.scope)+len(decls) > p.lim.MaxNamespaces {
			return t, ErrLimit
		}
		if dup := p.firstDuplicate(len(decls), func(i int) dupKey { return dupKey{local: decls[i].Prefix} }); dup >= 0 {
			return t, p.errf("namespace prefix %q declared twice on <%s>", decls[dup].Prefix, name)
		}
	}
	if !qok {
		return t, p.errf("bad qualified name %q", name)
	}
	t.name = q
	t.tagEnd = p.i
	t.selfClosing = s[p.i] == '/'
	if t.selfClosing {
		if p.i+1 >= len(s) || s[p.i+1] != '>' {
			return t, p.errf("expected '/>'")
		}
		p.i += 2
		t.canonical = false
	} else {
		p.i++
	}
	// Namespaces resolve against the scope that includes this element's own
	// declarations.
	own := d.decls[t.declFrom:]
	if prefix := d.prefix(q); len(own) == 0 && p.cached.gen == p.gen && p.cached.prefix == prefix {
		t.ns = p.cached.ns
	} else {
		ns, ok := p.resolve(own, prefix)
		if !ok {
			return t, &SyntaxError{Offset: t.start, Msg: fmt.Sprintf("undeclared namespace prefix %q", prefix)}
		}
		t.ns = p.intern(ns)
		if len(own) == 0 {
			p.cached.gen, p.cached.prefix, p.cached.ns = p.gen, prefix, t.ns
		}
	}
	attrs := d.attrs[t.attrFrom:]
	for i := range attrs {
		if attrs[i].name.colon == noColon {
			continue
		}
		prefix := d.prefix(attrs[i].name)
		ns, ok := p.resolve(own, prefix)
		if !ok {
			return t, &SyntaxError{Offset: t.start, Msg: fmt.Sprintf("undeclared namespace prefix %q", prefix)}
		}
		attrs[i].ns = p.intern(ns)
	}
	if len(attrs) < 2 {
		return t, nil
	}
	if dup := p.firstDuplicate(len(attrs), func(i int) dupKey { return dupKey{attrs[i].ns, d.local(attrs[i].name)} }); dup >= 0 {
		return t, &SyntaxError{Offset: t.start, Msg: fmt.Sprintf("attribute %s repeated on <%s>", d.str(attrs[dup].name.pos), name)}
	}
	return t, nil
}

// firstDuplicate returns the index of the first of n keys equal to an
// earlier one, or -1: pairwise for the usual handful, a set beyond.
// dupKey names an attribute by namespace and local name, or a declaration
// by prefix, without building a string per comparison.
type dupKey struct {
	ns    int32
	local string
}

func (p *parser) firstDuplicate(n int, key func(int) dupKey) int {
	if n <= 16 {
		for i := 1; i < n; i++ {
			for j := 0; j < i; j++ {
				if key(i) == key(j) {
					return i
				}
			}
		}
		return -1
	}
	if p.seen == nil {
		p.seen = make(map[dupKey]struct{}, n)
	}
	defer clear(p.seen)
	for i := 0; i < n; i++ {
		k := key(i)
		if _, ok := p.seen[k]; ok {
			return i
		}
		p.seen[k] = struct{}{}
	}
	return -1
}

// intern remembers the last namespace interned: most elements share their
// parent's.
func (p *parser) intern(uri string) int32 {
	if p.lastURI >= 0 && p.d.uris[p.lastURI] == uri {
		return p.lastURI
	}
	p.lastURI = p.d.intern(uri)
	return p.lastURI
}

// lookup resolves a prefix while parsing, walking the open elements.
// resolve finds the namespace bound to prefix for an element declaring
// own, from the parser's scope rather than by walking the tree: each
// element pays for the declarations in scope, not for its depth.
func (p *parser) resolve(own []NSDecl, prefix string) (string, bool) {
	if prefix == "xml" {
		return XMLNamespace, true
	}
	for i := len(own) - 1; i >= 0; i-- {
		if own[i].Prefix == prefix {
			return own[i].URI, true
		}
	}
	for i := len(p.scope) - 1; i >= 0; i-- {
		if p.scope[i].Prefix == prefix {
			return p.scope[i].URI, true
		}
	}
	return "", prefix == "" // no default namespace declared: none
}

func (p *parser) endTag() error {
	start := p.i
	top := p.stack[len(p.stack)-1]
	// The usual end tag is the open element's name and '>': nothing to
	// check that its start tag did not.
	if open := p.s[top.name.from:top.name.to]; len(p.s)-start > len(open)+2 && p.s[start+2+len(open)] == '>' && p.s[start+2:start+2+len(open)] == open {
		p.i = start + len(open) + 3
		if top.quick {
			p.stack = p.stack[:len(p.stack)-1]
			return nil
		}
		return p.closed(top)
	}
	p.i += 2
	name, err := p.name()
	if err != nil {
		return err
	}
	p.skipSpace()
	if p.i >= len(p.s) || p.s[p.i] != '>' {
		return p.errf("expected '>' after </%s", name)
	}
	p.i++
	if open := p.d.str(top.name.pos); open != name {
		return p.errf("</%s> closes <%s>", name, open)
	}
	if p.c != nil { // white space before '>'
		p.flush(start)
		p.c.writeEnd(name)
	}
	return p.closed(top)
}

// closed ends the open element top, whose end tag was just read.
func (p *parser) closed(top open) error {
	if top.node != None {
		p.d.Nodes[top.node].End = p.i
	}
	if int(top.scope) != len(p.scope) {
		p.scope = p.scope[:top.scope]
		p.gen++
	}
	p.stack = p.stack[:len(p.stack)-1]
	switch {
	case p.c == nil, top.quick:
	case top.node != None:
		return p.endCanonical(top.node, false)
	default:
		p.c.pop()
	}
	return nil
}

// checkChars refuses characters XML 1.0 does not allow and invalid UTF-8.
// UTF-8 validity is checked by the standard library's fast path; what is
// left is a byte loop for control characters and U+FFFE/U+FFFF (EF BF BE/BF).
func (p *parser) checkChars(s string, off int) error {
	if !utf8.ValidString(s) {
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 {
				return &SyntaxError{Offset: off + i, Msg: "invalid UTF-8"}
			}
			i += size
		}
	}
	// One table look-up a byte: only control characters and the lead
	// byte of U+FFFE/U+FFFF need a closer look.
	for i := 0; i < len(s); i++ {
		if !suspect[s[i]] {
			continue
		}
		switch c := s[i]; {
		case c < 0x20:
			return &SyntaxError{Offset: off + i, Msg: fmt.Sprintf("character %#x not allowed", c)}
		case i+2 < len(s) && s[i+1] == 0xBF && (s[i+2] == 0xBE || s[i+2] == 0xBF):
			return &SyntaxError{Offset: off + i, Msg: "non-character U+FFFE or U+FFFF"}
		}
	}
	return nil
}

// suspect marks the bytes checkChars looks at twice.
var suspect = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = c != '\t' && c != '\n' && c != '\r'
	}
	t[0xEF] = true
	return t
}()

// checkRefs checks that every '&' starts a predefined entity or a valid
// character reference.
func (p *parser) checkRefs(s string, off int) error {
	for i := 0; i < len(s); {
		k := strings.IndexByte(s[i:], '&')
		if k < 0 {
			return nil
		}
		i += k
		_, n := decodeRef(s[i:])
		if n == 0 {
			if end := strings.IndexByte(s[i:], ';'); end > 0 && isName(s[i+1:i+end]) {
				return ErrDTD // a named entity only a DTD could define
			}
			return &SyntaxError{Offset: off + i, Msg: "bad entity or character reference"}
		}
		i += n
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '-' || c == '.'
}

func isNameRune(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return isNameByte(byte(r))
	case r == 0xB7, 0xC0 <= r && r <= 0x2FF && r != 0xD7 && r != 0xF7,
		0x300 <= r && r <= 0x37D, 0x37F <= r && r <= 0x1FFF, r == 0x200C, r == 0x200D,
		0x203F <= r && r <= 0x2040, 0x2070 <= r && r <= 0x218F, 0x2C00 <= r && r <= 0x2FEF,
		0x3001 <= r && r <= 0xD7FF, 0xF900 <= r && r <= 0xFDCF, 0xFDF0 <= r && r <= 0xFFFD,
		0x10000 <= r && r <= 0xEFFFF:
		return true
	}
	return false
}

func isName(n string) bool {
	if n == "" {
		return false
	}
	c := n[0]
	if c < utf8.RuneSelf {
		if c == '-' || c == '.' || '0' <= c && c <= '9' || !isNameByte(c) {
			return false
		}
	} else {
		r, _ := utf8.DecodeRuneInString(n)
		if r == 0xB7 || 0x300 <= r && r <= 0x36F || r == 0x203F || r == 0x2040 || !isNameRune(r) {
			return false
		}
	}
	for _, r := range n {
		if !isNameRune(r) {
			return false
		}
	}
	return true
}

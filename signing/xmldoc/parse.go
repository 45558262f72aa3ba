// Package xmldoc reads XML into a compact tree that remembers where every
// node sits in the input, and writes exclusive canonical XML from it.
//
// It exists for the transport signature: a signer must splice a header into
// the bytes it was given, and a verifier must canonicalize exactly what it
// checks, both on messages of hundreds of thousands of elements, faster than
// a general-purpose DOM allows. It is deliberately strict: UTF-8 only, no DTD,
// no entity declarations, namespaces required to be well-formed, size and
// depth limited while reading. It is not a general XML library: callers that
// want to navigate a payload should parse the canonical bytes it produces
// with etree.
package xmldoc

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
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
	p := parser{s: string(src), lim: lim, lastURI: -1}
	// A cheap estimate keeps the big slices from regrowing.
	est := strings.Count(p.s, "<")
	// Each '<' opens a start tag, an end tag or a comment, and nearly each
	// is followed by a text node: est nodes in all, near enough.
	p.d = &Document{Src: p.s, Root: None, Nodes: make([]Node, 0, est+4), attrs: make([]attr, 0, est/2+4), uris: []string{""}}
	if err := p.document(); err != nil {
		return nil, err
	}
	return p.d, nil
}

type parser struct {
	s     string
	i     int
	lim   Limits
	d     *Document
	stack []int32  // open elements
	scope []NSDecl // namespace declarations made by the open elements, outermost first

	lastURI int32
	seen    map[dupKey]struct{} // scratch for duplicate checks on crowded elements
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
		parent := p.stack[len(p.stack)-1]
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
		if p.i >= len(s) {
			return p.errf("unexpected end of input inside <%s>", p.d.Name(p.stack[len(p.stack)-1]))
		}
		if s[p.i] != '<' {
			if err := p.text(); err != nil {
				return err
			}
			continue
		}
		rest := s[p.i:]
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
			p.add(Node{Kind: Text, raw: pos{int32(start + 9), int32(start + end)}, CDATA: true, Start: start, End: p.i})
		case strings.HasPrefix(rest, "<?"):
			start := p.i
			raw, err := p.procInst()
			if err != nil {
				return err
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

func (p *parser) text() error {
	s := p.s
	start := p.i
	end := strings.IndexByte(s[start:], '<')
	if end < 0 {
		end = len(s)
	} else {
		end += start
	}
	raw := s[start:end]
	if strings.Contains(raw, "]]>") {
		p.i = start + strings.Index(raw, "]]>")
		return p.errf("']]>' in text")
	}
	if err := p.checkChars(raw, start); err != nil {
		return err
	}
	if err := p.checkRefs(raw, start); err != nil {
		return err
	}
	p.i = end
	p.add(Node{Kind: Text, raw: pos{int32(start), int32(end)}, Start: start, End: end})
	return nil
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
	if p.i < len(s) {
		if c := s[p.i]; c < utf8.RuneSelf && isNameByte(c) && c != '-' && c != '.' && (c < '0' || c > '9') {
			p.i++
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
			if !isNameByte(c) {
				break
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

// splitName checks a qualified name read at offset start and returns it as
// a qname.
func splitName(n string, start int) (qname, bool) {
	q := qname{pos: pos{int32(start), int32(start + len(n))}, colon: noColon}
	k := strings.IndexByte(n, ':')
	if k < 0 {
		return q, true
	}
	if k == 0 || k == len(n)-1 || strings.IndexByte(n[k+1:], ':') >= 0 {
		return q, false
	}
	q.colon = int32(start + k)
	return q, true
}

func (p *parser) skipSpace() bool {
	start := p.i
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
	return p.i > start
}

func (p *parser) startTag() error {
	s := p.s
	d := p.d
	start := p.i
	p.i++
	name, err := p.name()
	if err != nil {
		return err
	}
	if len(p.stack) >= p.lim.MaxDepth {
		return ErrTooDeep
	}
	attrFrom, declFrom := int32(len(d.attrs)), int32(len(d.decls))
	for {
		spaced := p.skipSpace()
		if p.i >= len(s) {
			return p.errf("unexpected end of input in <%s>", name)
		}
		if c := s[p.i]; c == '>' || c == '/' {
			break
		}
		if !spaced {
			return p.errf("attributes must be separated by white space")
		}
		if int32(len(d.attrs))-attrFrom+int32(len(d.decls))-declFrom >= int32(p.lim.MaxAttrs) {
			return ErrLimit
		}
		astart := p.i
		aname, err := p.name()
		if err != nil {
			return err
		}
		p.skipSpace()
		if p.i >= len(s) || s[p.i] != '=' {
			return p.errf("attribute %s without a value", aname)
		}
		p.i++
		p.skipSpace()
		if p.i >= len(s) || (s[p.i] != '"' && s[p.i] != '\'') {
			return p.errf("attribute %s value not quoted", aname)
		}
		q := s[p.i]
		vstart := p.i + 1
		end := strings.IndexByte(s[vstart:], q)
		if end < 0 {
			return p.errf("unterminated attribute value")
		}
		raw := s[vstart : vstart+end]
		if strings.IndexByte(raw, '<') >= 0 {
			return p.errf("'<' in attribute value")
		}
		if err := p.checkChars(raw, vstart); err != nil {
			return err
		}
		if err := p.checkRefs(raw, vstart); err != nil {
			return err
		}
		p.i = vstart + end + 1
		switch {
		case aname == "xmlns":
			uri := decodeAttr(raw)
			if uri == XMLNamespace || uri == "http://www.w3.org/2000/xmlns/" {
				return p.errf("reserved namespace %q as the default namespace", uri)
			}
			d.decls = append(d.decls, NSDecl{Prefix: "", URI: uri})
		case strings.HasPrefix(aname, "xmlns:"):
			prefix := aname[6:]
			uri := decodeAttr(raw)
			if prefix == "xmlns" || (prefix == "xml") != (uri == XMLNamespace) || uri == "http://www.w3.org/2000/xmlns/" {
				return p.errf("reserved prefix or namespace in %s", aname)
			}
			if uri == "" {
				return p.errf("prefix %s bound to the empty namespace", prefix)
			}
			if prefix == "xml" {
				continue // allowed and meaningless; never rendered
			}
			d.decls = append(d.decls, NSDecl{Prefix: prefix, URI: uri})
		default:
			q, ok := splitName(aname, astart)
			if !ok {
				return p.errf("bad qualified name %q", aname)
			}
			d.attrs = append(d.attrs, attr{name: q, raw: pos{int32(vstart), int32(vstart + end)}})
		}
	}
	if decls := d.decls[declFrom:]; len(decls) > 0 {
		if len(p.scope)+len(decls) > p.lim.MaxNamespaces {
			return ErrLimit
		}
		if dup := p.firstDuplicate(len(decls), func(i int) dupKey { return dupKey{local: decls[i].Prefix} }); dup >= 0 {
			return p.errf("namespace prefix %q declared twice on <%s>", decls[dup].Prefix, name)
		}
	}
	q, ok := splitName(name, start+1)
	if !ok {
		return p.errf("bad qualified name %q", name)
	}
	tagEnd := p.i
	selfClosing := s[p.i] == '/'
	if selfClosing {
		if p.i+1 >= len(s) || s[p.i+1] != '>' {
			return p.errf("expected '/>'")
		}
		p.i += 2
	} else {
		p.i++
	}
	idx := p.add(Node{Kind: Element, name: q,
		attrs: span{attrFrom, int32(len(d.attrs))}, decls: span{declFrom, int32(len(d.decls))},
		Start: start, TagEnd: tagEnd})
	if len(p.stack) == 0 {
		d.Root = idx
	}
	// Namespaces resolve against the scope that includes this element's own
	// declarations.
	prefix := d.prefix(q)
	own := d.decls[declFrom:]
	ns, ok := p.resolve(own, prefix)
	if !ok {
		return &SyntaxError{Offset: start, Msg: fmt.Sprintf("undeclared namespace prefix %q", prefix)}
	}
	d.Nodes[idx].ns = p.intern(ns)
	attrs := d.attrs[attrFrom:]
	for i := range attrs {
		if attrs[i].name.colon == noColon {
			continue
		}
		prefix := d.prefix(attrs[i].name)
		ns, ok := p.resolve(own, prefix)
		if !ok {
			return &SyntaxError{Offset: start, Msg: fmt.Sprintf("undeclared namespace prefix %q", prefix)}
		}
		attrs[i].ns = p.intern(ns)
	}
	if dup := p.firstDuplicate(len(attrs), func(i int) dupKey { return dupKey{attrs[i].ns, d.local(attrs[i].name)} }); dup >= 0 {
		return &SyntaxError{Offset: start, Msg: fmt.Sprintf("attribute %s repeated on <%s>", d.str(attrs[dup].name.pos), name)}
	}
	if selfClosing {
		d.Nodes[idx].End = p.i
		return nil
	}
	p.scope = append(p.scope, own...)
	p.stack = append(p.stack, idx)
	return nil
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
	top := p.stack[len(p.stack)-1]
	if open := p.d.Name(top); open != name {
		return p.errf("</%s> closes <%s>", name, open)
	}
	p.d.Nodes[top].End = p.i
	p.scope = p.scope[:len(p.scope)-int(p.d.Nodes[top].decls.to-p.d.Nodes[top].decls.from)]
	p.stack = p.stack[:len(p.stack)-1]
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

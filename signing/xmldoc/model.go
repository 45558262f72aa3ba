// The tree: nodes, attributes, namespace declarations, and the Document
// that holds them, with the accessors callers read it through.

package xmldoc

import (
	"errors"
	"fmt"
	"strings"
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

// Node is one node of a Document. Links are indexes of other nodes (Document.Node).
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
	nodes []Node
	Root  int32

	attrs []attr
	decls []NSDecl
	uris  []string // interned namespace names; uris[0] is ""
	extra string   // strings added by AddAttr
	canon *Canonical
	// outside are the comments and processing instructions before and
	// after the root element, which only document-level canonical forms
	// write.
	outside []Node
}

const extraBit = -1 << 31

// Node returns node n. It is a copy: the tree changes only through AddAttr
// and Declare.
func (d *Document) Node(n int32) Node { return d.nodes[n] }

// Len is the number of nodes; they are numbered 0..Len()-1 in document
// order.
func (d *Document) Len() int32 { return int32(len(d.nodes)) }

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

// Name returns element n's qualified name as written ("" for other nodes).
func (d *Document) Name(n int32) string {
	if d.nodes[n].Kind != Element {
		return ""
	}
	return d.str(d.nodes[n].name.pos)
}

// Prefix returns element n's namespace prefix, "" when it has none (or is
// not an element).
func (d *Document) Prefix(n int32) string {
	if d.nodes[n].Kind != Element {
		return ""
	}
	return d.prefix(d.nodes[n].name)
}

// Local returns element n's local name ("" for other nodes).
func (d *Document) Local(n int32) string {
	if d.nodes[n].Kind != Element {
		return ""
	}
	return d.local(d.nodes[n].name)
}

// NS returns element n's namespace name ("" for other nodes).
func (d *Document) NS(n int32) string {
	if d.nodes[n].Kind != Element {
		return ""
	}
	return d.uris[d.nodes[n].ns]
}

// Is reports whether element n has namespace ns and local name local.
func (d *Document) Is(n int32, ns, local string) bool {
	node := &d.nodes[n]
	return node.Kind == Element && d.uris[node.ns] == ns && d.local(node.name) == local
}

// Raw returns a text, comment or PI node's content as written.
func (d *Document) Raw(n int32) string { return d.str(d.nodes[n].raw) }

// Attrs returns the element's attributes (namespace declarations excluded).
func (d *Document) Attrs(n int32) []Attr {
	s := d.nodes[n].attrs
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
	s := d.nodes[n].decls
	return d.decls[s.from:s.to]
}

// Attr returns the value of the element's attribute with namespace ns and
// local name local.
func (d *Document) Attr(n int32, ns, local string) (string, bool) {
	s := d.nodes[n].attrs
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
	node := &d.nodes[n]
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
	node := &d.nodes[n]
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
	for ; n != None; n = d.nodes[n].Parent {
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
	for c := d.nodes[n].FirstChild; c != None; c = d.nodes[c].Next {
		if d.nodes[c].Kind == Element && !fn(c) {
			return
		}
	}
}

// Text returns the concatenated, decoded text of n's text children.
func (d *Document) Text(n int32) string {
	var b strings.Builder
	for c := d.nodes[n].FirstChild; c != None; c = d.nodes[c].Next {
		if node := &d.nodes[c]; node.Kind == Text {
			if node.CDATA {
				b.WriteString(normalizeEOL(d.str(node.raw)))
			} else {
				b.WriteString(decodeText(d.str(node.raw)))
			}
		}
	}
	return b.String()
}

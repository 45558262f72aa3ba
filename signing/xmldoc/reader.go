// The reader: Parse and ParseWith, and the parser that checks every
// construct as strictly as the package promises and builds the tree.

package xmldoc

import (
	"fmt"
	"strings"
	"unicode/utf8"
	"unsafe"
)

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
	// copied, nor its copy read from cold memory. It is part of the
	// reader's one optimization (fast.go): -tags xmldoc_plain copies.
	InPlace bool
}

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
	if fast && o.InPlace {
		// Worth 5.4 % of a 100 KB Sign+Verify (BENCHMARKS.md), over the
		// 5 % that justifies a Document aliasing its caller's bytes.
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
	p.d = &Document{Src: p.s, Root: None, nodes: make([]Node, 0, est+4), attrs: make([]attr, 0, est/2+4), uris: []string{""}}
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
			start := p.i
			raw, err := p.comment()
			if err != nil {
				return err
			}
			p.d.outside = append(p.d.outside, Node{Kind: Comment, raw: raw, Start: start, End: p.i, Parent: None})
		case strings.HasPrefix(s[p.i:], "<?"):
			start := p.i
			raw, err := p.procInst()
			if err != nil {
				return err
			}
			p.d.outside = append(p.d.outside, Node{Kind: ProcInst, raw: raw, Start: start, End: p.i, Parent: None})
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
	idx := int32(len(d.nodes))
	n.FirstChild, n.LastChild, n.Next = None, None, None
	if len(p.stack) > 0 {
		parent := p.stack[len(p.stack)-1].node
		n.Parent = parent
		n.Depth = int32(len(p.stack))
		if last := d.nodes[parent].LastChild; last != None {
			d.nodes[last].Next = idx
		} else {
			d.nodes[parent].FirstChild = idx
		}
		d.nodes[parent].LastChild = idx
	} else {
		n.Parent = None
	}
	d.nodes = append(d.nodes, n)
	return idx
}

// element reads the root element and everything in it, without recursion.
func (p *parser) element() error {
	s := p.s
	if err := p.startTag(); err != nil {
		return err
	}
	for len(p.stack) > 0 {
		if fast && p.c != nil {
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
			if fast && p.c != nil && p.quickStart() {
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
		d.nodes[idx].End = p.i
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

// prefixOf returns an element's prefix. Element names are always in the
// source (AddAttr adds attributes only).
func (p *parser) prefixOf(q qname) string {
	if q.colon == noColon {
		return ""
	}
	return p.s[q.from:q.colon]
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
		p.d.nodes[top.node].End = p.i
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

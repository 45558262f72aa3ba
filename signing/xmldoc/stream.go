// Canonicalizing while reading: the element Options.Canonicalize picks is
// written in canonical form as it is read, its descendants checked but not
// kept, with a quick path for the commonest tokens (see fast.go).

package xmldoc

import (
	"fmt"
	"io"
	"unicode/utf8"
)

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

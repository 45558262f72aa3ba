package xmldoc

import (
	"io"
	"slices"
	"strings"
)

// ExcC14N is the algorithm identifier of exclusive XML canonicalization
// without comments, the one canonicalization this package writes.
const ExcC14N = "http://www.w3.org/2001/10/xml-exc-c14n#"

// AppendExcC14N appends the exclusive canonical form (without comments) of
// the subtree rooted at element n to dst. inclusive is the transform's
// InclusiveNamespaces PrefixList, "#default" standing for the default
// namespace.
//
// The walk is over the read-only tree with a stack of bindings, so it has no
// element budget and copies nothing per element; its depth is bounded by the
// depth limit Parse enforced. An element Parse canonicalized as it read it
// (Options.Canonicalize) has no descendants in the tree: use its Canonical.
func (d *Document) AppendExcC14N(dst []byte, n int32, inclusive []string) []byte {
	c := newCanonicalizer(d, n, C14N{Inclusive: inclusive}, dst)
	c.element(n)
	return c.dst
}

// canonicalizer writes exclusive canonical XML one element at a time: from
// the tree (element), or from start and end tags as Parse reads them.
type canonicalizer struct {
	d         *Document
	apex      int32
	dst       []byte
	inclusive []string
	// all makes every non-default prefix inclusive, recording them in
	// declared: the PrefixList DeclaredPrefixes would give, found in one
	// pass.
	all      bool
	declared map[string]struct{}
	// w, when set, takes dst's bytes as they pile up (drain).
	w        io.Writer
	werr     error
	scope    []NSDecl // in-scope bindings, innermost last
	rendered []NSDecl // bindings rendered by output ancestors, innermost last
	marks    []mark   // per open element, the stacks' lengths before it
	out      []NSDecl // declarations to render on the element being started
	attrs    []attr   // scratch: one element's attributes, sorted
	// inclusiveAll writes Canonical XML 1.0 (inclusive) instead, keeping
	// comments when comments, leaving out the subtrees in omit.
	inclusiveAll bool
	comments     bool
	omit         []int32
}

type mark struct{ scope, rendered int }

// startTag is what rendering a start tag needs, from the tree or from the
// reader.
type startTag struct {
	name  qname
	attrs []attr
	decls []NSDecl
}

func (d *Document) startTag(n int32) startTag {
	node := &d.nodes[n]
	return startTag{name: node.name, attrs: d.attrs[node.attrs.from:node.attrs.to], decls: d.Decls(n)}
}

// newCanonicalizer prepares to canonicalize apex, with the bindings declared
// above it in scope but not yet rendered.
func newCanonicalizer(d *Document, apex int32, how C14N, dst []byte) *canonicalizer {
	c := &canonicalizer{d: d, dst: dst, apex: apex, all: how.AllDeclared, w: how.To}
	if c.all {
		c.declared = map[string]struct{}{}
	}
	for _, p := range how.Inclusive {
		if p == "#default" {
			p = ""
		}
		c.inclusive = append(c.inclusive, p)
	}
	var chain []int32
	for a := d.nodes[apex].Parent; a != None; a = d.nodes[a].Parent {
		chain = append(chain, a)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		c.scope = append(c.scope, d.Decls(chain[i])...)
	}
	return c
}

// drain passes what dst holds on to w.
func (c *canonicalizer) drain() {
	c.write(c.dst)
	c.dst = c.dst[:0]
}

func (c *canonicalizer) write(b []byte) {
	if c.werr == nil && len(b) > 0 {
		_, c.werr = c.w.Write(b)
	}
}

func lookupIn(stack []NSDecl, prefix string) (string, bool) {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].Prefix == prefix {
			return stack[i].URI, true
		}
	}
	return "", false
}

// utilize records that prefix must be in scope in the output, rendering its
// declaration when no output ancestor rendered the same binding.
func (c *canonicalizer) utilize(prefix string, onlyIfDeclared bool) {
	if prefix == "xml" {
		return
	}
	for _, o := range c.out {
		if o.Prefix == prefix {
			return
		}
	}
	uri, declared := lookupIn(c.scope, prefix)
	if onlyIfDeclared && !declared && prefix != "" {
		return
	}
	r, rendered := lookupIn(c.rendered, prefix)
	if rendered && r == uri || !rendered && prefix == "" && uri == "" {
		return
	}
	c.out = append(c.out, NSDecl{Prefix: prefix, URI: uri})
}

// inclusiveHere utilizes a prefix of the PrefixList declared (again) on an
// element below the apex: only there can its rendering change.
func (c *canonicalizer) inclusiveHere(prefix string) {
	if c.all {
		if prefix == "" {
			return
		}
		c.declared[prefix] = struct{}{}
		c.utilize(prefix, true)
		return
	}
	for _, p := range c.inclusive {
		if p == prefix {
			c.utilize(p, true)
		}
	}
}

// push opens an element: its bindings enter the scope and the declarations
// it must render are worked out into c.out. It reports whether there are
// none.
func (c *canonicalizer) push(t startTag, apex bool) bool {
	c.marks = append(c.marks, mark{len(c.scope), len(c.rendered)})
	if len(t.decls) > 0 {
		c.scope = append(c.scope, t.decls...)
	}
	c.out = c.out[:0]
	if c.inclusiveAll {
		c.pushInclusive()
		c.rendered = append(c.rendered, c.out...)
		return len(c.out) == 0
	}
	c.utilize(c.d.prefix(t.name), false)
	for _, a := range t.attrs {
		if a.name.colon != noColon {
			c.utilize(c.d.prefix(a.name), false)
		}
	}
	// An inclusive prefix is rendered at the apex when in scope there; below
	// it, its rendering can only change where it is declared again.
	switch {
	case apex && c.all:
		for _, decl := range c.scope {
			if decl.Prefix != "" {
				c.declared[decl.Prefix] = struct{}{}
				c.utilize(decl.Prefix, true)
			}
		}
	case apex:
		for _, p := range c.inclusive {
			c.utilize(p, true)
		}
	case c.all || len(c.inclusive) > 0:
		for _, decl := range t.decls {
			c.inclusiveHere(decl.Prefix)
		}
	}
	if len(c.out) > 1 {
		slices.SortFunc(c.out, func(a, b NSDecl) int { return strings.Compare(a.Prefix, b.Prefix) })
	}
	c.rendered = append(c.rendered, c.out...)
	return len(c.out) == 0
}

// writeStart writes the start tag of the element just pushed.
func (c *canonicalizer) writeStart(t startTag) {
	d := c.d
	dst := append(c.dst, '<')
	dst = append(dst, d.str(t.name.pos)...)
	for _, o := range c.out {
		if o.Prefix == "" {
			dst = append(dst, " xmlns=\""...)
		} else {
			dst = append(dst, " xmlns:"...)
			dst = append(dst, o.Prefix...)
			dst = append(dst, "=\""...)
		}
		dst = appendCanonicalAttr(dst, escapeValue(o.URI))
		dst = append(dst, '"')
	}
	attrs := t.attrs
	if len(attrs) > 1 {
		c.attrs = append(c.attrs[:0], attrs...)
		slices.SortFunc(c.attrs, func(a, b attr) int {
			if a.ns != b.ns {
				return strings.Compare(d.uris[a.ns], d.uris[b.ns])
			}
			return strings.Compare(d.local(a.name), d.local(b.name))
		})
		attrs = c.attrs
	}
	for _, a := range attrs {
		dst = append(dst, ' ')
		dst = append(dst, d.str(a.name.pos)...)
		dst = append(dst, "=\""...)
		dst = appendCanonicalAttr(dst, d.str(a.raw))
		dst = append(dst, '"')
	}
	c.dst = append(dst, '>')
}

// writeEnd writes an end tag.
func (c *canonicalizer) writeEnd(name string) {
	c.dst = append(c.dst, "</"...)
	c.dst = append(c.dst, name...)
	c.dst = append(c.dst, '>')
}

// pop closes the element last pushed.
func (c *canonicalizer) pop() {
	m := c.marks[len(c.marks)-1]
	c.marks = c.marks[:len(c.marks)-1]
	c.scope = c.scope[:m.scope]
	c.rendered = c.rendered[:m.rendered]
}

// prefixList is the PrefixList canonicalization used: the one given, or
// with all, every prefix declared around and inside the apex, sorted.
func (c *canonicalizer) prefixList() []string {
	if !c.all {
		return c.inclusive
	}
	out := make([]string, 0, len(c.declared))
	for p := range c.declared {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// element writes the subtree at n from the tree.
func (c *canonicalizer) element(n int32) {
	d := c.d
	t := d.startTag(n)
	c.push(t, n == c.apex)
	c.writeStart(t)
	for ch := d.nodes[n].FirstChild; ch != None; ch = d.nodes[ch].Next {
		child := &d.nodes[ch]
		switch child.Kind {
		case Element:
			if len(c.omit) > 0 && slices.Contains(c.omit, ch) {
				continue
			}
			c.element(ch)
		case Comment:
			if c.comments {
				c.appendLeaf(*child)
			}
		case Text:
			c.dst = appendCanonicalText(c.dst, d.str(child.raw), child.CDATA)
		case ProcInst:
			c.dst = appendPI(c.dst, d.str(child.raw))
		}
	}
	c.writeEnd(d.str(t.name.pos))
	c.pop()
}

// escapeValue turns a decoded namespace URI back into raw attribute text, so
// that appendCanonicalAttr escapes it like any other value.
func escapeValue(v string) string {
	if !strings.ContainsAny(v, "&<\"\t\n\r") {
		return v
	}
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", "\"", "&quot;", "\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;")
	return r.Replace(v)
}

func appendPI(dst []byte, raw string) []byte {
	target, data := raw, ""
	if k := strings.IndexAny(raw, " \t\r\n"); k >= 0 {
		target, data = raw[:k], strings.TrimLeft(raw[k:], " \t\r\n")
	}
	dst = append(dst, "<?"...)
	dst = append(dst, target...)
	if data != "" {
		dst = append(dst, ' ')
		dst = append(dst, normalizeEOL(data)...)
	}
	return append(dst, "?>"...)
}

// DeclaredPrefixes lists, sorted, the non-default prefixes declared on n's
// ancestors, on n and anywhere inside n: as an InclusiveNamespaces
// PrefixList it makes n's canonical form keep every binding QName-valued
// content (xsi:type="ns2:getPerson") may need.
func (d *Document) DeclaredPrefixes(n int32) []string {
	var out []string
	add := func(e int32) {
		for _, decl := range d.Decls(e) {
			if decl.Prefix != "" && !slices.Contains(out, decl.Prefix) {
				out = append(out, decl.Prefix)
			}
		}
	}
	for a := d.nodes[n].Parent; a != None; a = d.nodes[a].Parent {
		add(a)
	}
	end := d.nodes[n].End
	for e := n; e < int32(len(d.nodes)) && d.nodes[e].Start < end; e++ {
		if d.nodes[e].Kind == Element {
			add(e)
		}
	}
	slices.Sort(out)
	return out
}

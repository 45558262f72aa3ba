package xmldoc

import (
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
// depth limit Parse enforced.
func (d *Document) AppendExcC14N(dst []byte, n int32, inclusive []string) []byte {
	c := canonicalizer{d: d, dst: dst}
	for _, p := range inclusive {
		if p == "#default" {
			p = ""
		}
		c.inclusive = append(c.inclusive, p)
	}
	// Bindings declared above the apex are in scope but not yet rendered.
	var chain []int32
	for a := d.Nodes[n].Parent; a != None; a = d.Nodes[a].Parent {
		chain = append(chain, a)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		c.scope = append(c.scope, d.Decls(chain[i])...)
	}
	c.apex = n
	c.element(n)
	return c.dst
}

type canonicalizer struct {
	d         *Document
	apex      int32
	dst       []byte
	inclusive []string
	scope     []NSDecl // in-scope bindings, innermost last
	rendered  []NSDecl // bindings rendered by output ancestors, innermost last
	out       []NSDecl // scratch: declarations to render on one element
	attrs     []attr   // scratch: one element's attributes, sorted
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

func (c *canonicalizer) element(n int32) {
	d := c.d
	node := &d.Nodes[n]
	scopeMark, renderedMark := len(c.scope), len(c.rendered)
	c.scope = append(c.scope, d.Decls(n)...)

	c.out = c.out[:0]
	c.utilize(d.prefix(node.name), false)
	attrs := d.attrs[node.attrs.from:node.attrs.to]
	for _, a := range attrs {
		if a.name.colon != noColon {
			c.utilize(d.prefix(a.name), false)
		}
	}
	// An inclusive prefix is rendered at the apex when in scope there; below
	// it, its rendering can only change where it is declared again.
	if n == c.apex {
		for _, p := range c.inclusive {
			c.utilize(p, true)
		}
	} else if len(c.inclusive) > 0 {
		for _, decl := range d.Decls(n) {
			for _, p := range c.inclusive {
				if p == decl.Prefix {
					c.utilize(p, true)
				}
			}
		}
	}
	if len(c.out) > 1 {
		slices.SortFunc(c.out, func(a, b NSDecl) int { return strings.Compare(a.Prefix, b.Prefix) })
	}
	c.rendered = append(c.rendered, c.out...)

	name := d.str(node.name.pos)
	dst := append(c.dst, '<')
	dst = append(dst, name...)
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
	dst = append(dst, '>')
	c.dst = dst

	for ch := node.FirstChild; ch != None; ch = d.Nodes[ch].Next {
		child := &d.Nodes[ch]
		switch child.Kind {
		case Element:
			c.element(ch)
		case Text:
			c.dst = appendCanonicalText(c.dst, d.str(child.raw), child.CDATA)
		case ProcInst:
			c.dst = appendPI(c.dst, d.str(child.raw))
		}
	}

	c.dst = append(c.dst, "</"...)
	c.dst = append(c.dst, name...)
	c.dst = append(c.dst, '>')
	c.scope = c.scope[:scopeMark]
	c.rendered = c.rendered[:renderedMark]
}

// escapeValue turns a decoded namespace URI back into raw attribute text, so
// that appendCanonicalAttr escapes it like any other value.
func escapeValue(v string) string {
	if strings.IndexAny(v, "&<\"\t\n\r") < 0 {
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
	for a := d.Nodes[n].Parent; a != None; a = d.Nodes[a].Parent {
		add(a)
	}
	end := d.Nodes[n].End
	for e := n; e < int32(len(d.Nodes)) && d.Nodes[e].Start < end; e++ {
		if d.Nodes[e].Kind == Element {
			add(e)
		}
	}
	slices.Sort(out)
	return out
}

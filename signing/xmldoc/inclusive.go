package xmldoc

import (
	"slices"
	"strings"
)

// Identifiers of canonical XML 1.0 (inclusive), which enveloped payload
// signatures use (GBD UL requests, GBD FL answers: protocol.md §7).
const (
	C14N10         = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
	C14N10Comments = C14N10 + "#WithComments"
)

// AppendC14N appends the inclusive canonical form (Canonical XML 1.0) of
// element n's subtree — of the whole document, with what stands outside
// the root element, when n is the root — leaving out the subtrees rooted
// at omit (the enveloped-signature transform). With comments, comments are
// kept.
//
// For a subtree below the root, the namespace bindings in scope are written
// on n as C14N 1.0 asks; the xml:* attributes n would inherit from its
// ancestors are not (the signatures Kopir handles never carry any).
func (d *Document) AppendC14N(dst []byte, n int32, comments bool, omit ...int32) []byte {
	c := newCanonicalizer(d, n, C14N{}, dst)
	c.inclusiveAll, c.comments, c.omit = true, comments, omit
	whole := n == d.Root
	if whole {
		for _, o := range d.outside {
			if o.Start < d.nodes[n].Start {
				c.outsideNode(o, true)
			}
		}
	}
	c.element(n)
	if whole {
		for _, o := range d.outside {
			if o.Start > d.nodes[n].Start {
				c.outsideNode(o, false)
			}
		}
	}
	return c.dst
}

// outsideNode writes a comment or PI before (a newline after it) or after
// (a newline before it) the root element.
func (c *canonicalizer) outsideNode(o Node, before bool) {
	if o.Kind == Comment && !c.comments {
		return
	}
	if !before {
		c.dst = append(c.dst, '\n')
	}
	c.appendLeaf(o)
	if before {
		c.dst = append(c.dst, '\n')
	}
}

// appendLeaf writes a comment or a processing instruction.
func (c *canonicalizer) appendLeaf(o Node) {
	if o.Kind == ProcInst {
		c.dst = appendPI(c.dst, c.d.str(o.raw))
		return
	}
	c.dst = append(c.dst, "<!--"...)
	c.dst = append(c.dst, normalizeEOL(c.d.str(o.raw))...)
	c.dst = append(c.dst, "-->"...)
}

// pushInclusive works out, for Canonical XML 1.0, the declarations an
// element renders: every binding in scope that the nearest output ancestor
// does not already have (the empty default only to undo a rendered one).
func (c *canonicalizer) pushInclusive() {
	for i := len(c.scope) - 1; i >= 0; i-- {
		b := c.scope[i]
		if b.Prefix == "xml" || slices.ContainsFunc(c.out, func(o NSDecl) bool { return o.Prefix == b.Prefix }) {
			continue
		}
		if slices.ContainsFunc(c.scope[i+1:], func(o NSDecl) bool { return o.Prefix == b.Prefix }) {
			continue // shadowed by an inner binding
		}
		r, rendered := lookupIn(c.rendered, b.Prefix)
		if rendered && r == b.URI || !rendered && b.Prefix == "" && b.URI == "" {
			continue
		}
		c.out = append(c.out, b)
	}
	slices.SortFunc(c.out, func(a, b NSDecl) int { return strings.Compare(a.Prefix, b.Prefix) })
}

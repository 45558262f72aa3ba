package pkcs12

import (
	"errors"
	"fmt"
)

// node is one BER element: Kalkan writes PKCS#12 in BER — indefinite
// lengths, and strings split into constructed pieces — which DER readers
// refuse. Only what PKCS#12 uses is supported: one-byte tags, definite
// lengths up to 2^31 and indefinite ones.
type node struct {
	class       byte // 0 universal, 1 application, 2 context, 3 private
	tag         byte
	constructed bool
	content     []byte // primitive
	children    []*node
}

// Limits a stranger's file could push: nesting and element count.
const (
	maxDepth = 64
	maxNodes = 100_000
)

var errMalformed = errors.New("malformed BER")

type berReader struct {
	nodes int
}

// parseBER reads exactly one element from b.
func parseBER(b []byte) (*node, error) {
	r := &berReader{}
	n, rest, err := r.element(b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the element", errMalformed, len(rest))
	}
	return n, nil
}

func (r *berReader) element(b []byte, depth int) (*node, []byte, error) {
	if depth > maxDepth {
		return nil, nil, fmt.Errorf("%w: nested deeper than %d", errMalformed, maxDepth)
	}
	if r.nodes++; r.nodes > maxNodes {
		return nil, nil, fmt.Errorf("%w: more than %d elements", errMalformed, maxNodes)
	}
	if len(b) < 2 {
		return nil, nil, fmt.Errorf("%w: truncated header", errMalformed)
	}
	n := &node{class: b[0] >> 6, constructed: b[0]&0x20 != 0, tag: b[0] & 0x1f}
	if n.tag == 0x1f {
		return nil, nil, fmt.Errorf("%w: multi-byte tags are not used by PKCS#12", errMalformed)
	}
	l := int(b[1])
	b = b[2:]
	if l == 0x80 {
		if !n.constructed {
			return nil, nil, fmt.Errorf("%w: indefinite length on a primitive element", errMalformed)
		}
		for {
			if len(b) >= 2 && b[0] == 0 && b[1] == 0 {
				return n, b[2:], nil
			}
			if len(b) == 0 {
				return nil, nil, fmt.Errorf("%w: no end-of-contents", errMalformed)
			}
			c, rest, err := r.element(b, depth+1)
			if err != nil {
				return nil, nil, err
			}
			n.children = append(n.children, c)
			b = rest
		}
	}
	if l > 0x80 {
		k := l & 0x7f
		if k > 4 || len(b) < k {
			return nil, nil, fmt.Errorf("%w: bad length", errMalformed)
		}
		l = 0
		for _, v := range b[:k] {
			l = l<<8 | int(v)
		}
		b = b[k:]
		if l < 0 || l > 1<<31-1 {
			return nil, nil, fmt.Errorf("%w: bad length", errMalformed)
		}
	}
	if len(b) < l {
		return nil, nil, fmt.Errorf("%w: an element of %d bytes in %d", errMalformed, l, len(b))
	}
	body, rest := b[:l], b[l:]
	if !n.constructed {
		n.content = body
		return n, rest, nil
	}
	for len(body) > 0 {
		c, more, err := r.element(body, depth+1)
		if err != nil {
			return nil, nil, err
		}
		n.children = append(n.children, c)
		body = more
	}
	return n, rest, nil
}

// is reports whether n is the universal (class 0) or context (class 2)
// element tag.
func (n *node) is(class, tag byte) bool { return n != nil && n.class == class && n.tag == tag }

// Universal tags PKCS#12 uses.
const (
	tagInteger     = 2
	tagBitString   = 3
	tagOctetString = 4
	tagNull        = 5
	tagOID         = 6
	tagBMPString   = 30
	tagSequence    = 16
	tagSet         = 17
	classUniversal = 0
	classContext   = 2
)

// bytes is a string element's value: its content, or for a constructed
// one (BER's chunked strings) its pieces' values joined.
func (n *node) bytes() ([]byte, error) {
	if !n.constructed {
		return n.content, nil
	}
	var out []byte
	for _, c := range n.children {
		b, err := c.bytes()
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// der writes n in DER: definite lengths, strings in one piece. A
// certificate or a key read from a Kalkan file is handed on in DER.
func (n *node) der() []byte {
	var body []byte
	constructed := n.constructed
	if n.constructed && (n.class != classUniversal || n.tag == tagSequence || n.tag == tagSet) {
		for _, c := range n.children {
			body = append(body, c.der()...)
		}
	} else {
		body, _ = n.bytes()
		constructed = false
	}
	id := n.class<<6 | n.tag
	if constructed {
		id |= 0x20
	}
	return appendTLV([]byte{id}, body)
}

func appendTLV(out, body []byte) []byte {
	l := len(body)
	switch {
	case l < 0x80:
		out = append(out, byte(l))
	case l < 0x100:
		out = append(out, 0x81, byte(l))
	case l < 0x10000:
		out = append(out, 0x82, byte(l>>8), byte(l))
	case l < 0x1000000:
		out = append(out, 0x83, byte(l>>16), byte(l>>8), byte(l))
	default:
		out = append(out, 0x84, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
	}
	return append(out, body...)
}

// child is the i-th child, or nil.
func (n *node) child(i int) *node {
	if n == nil || i >= len(n.children) {
		return nil
	}
	return n.children[i]
}

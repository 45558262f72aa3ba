package xmldoc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The modes checkCanonicalize tries: how the picked element is
// canonicalized, and whether the hook adds to it first, as a signer does.
const (
	modeNone = iota
	modeAll
	modeDefault
	modeDeclared // the prefixes DeclaredPrefixes lists, given as a list
	modeSigner   // AllDeclared, after declaring a prefix and adding an id
	modeWriter   // as modeSigner, written to C14N.To in pieces
	modes
)

var testIDAttrs = []Name{{"", "Id"}, {"urn:wsu", "Id"}}

// errClass names the kind of error a caller can branch on.
func errClass(err error) string {
	var se *SyntaxError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrDTD):
		return "dtd"
	case errors.Is(err, ErrTooDeep):
		return "deep"
	case errors.Is(err, ErrLimit):
		return "limit"
	case errors.Is(err, ErrTooLarge):
		return "large"
	case errors.As(err, &se):
		return "syntax"
	}
	return fmt.Sprintf("%T", err)
}

// checkCanonicalize reads in twice: into a tree, canonicalized afterwards
// (the oracle), and with the k-th element canonicalized while reading.
// Both must accept or refuse alike, and agree on the bytes, the PrefixList
// and the ids.
func checkCanonicalize(t *testing.T, in []byte, k, mode int, lim Limits) {
	t.Helper()
	tree, treeErr := Parse(in, lim)
	var picked int32 = None
	var how C14N
	var written bytes.Buffer
	calls := 0
	adjust := func(d *Document, n int32) {
		if mode != modeSigner && mode != modeWriter {
			return
		}
		if _, bound := d.Lookup(n, "wsu"); !bound {
			d.Declare(n, "wsu", "urn:wsu")
		}
		if uri, _ := d.Lookup(n, "wsu"); uri == "urn:wsu" {
			if _, has := d.Attr(n, "urn:wsu", "Id"); !has {
				d.AddAttr(n, "wsu", "Id", "urn:wsu", "added")
			}
		}
	}
	opts := Options{Limits: lim, IDAttrs: testIDAttrs, Canonicalize: func(d *Document, n int32) (C14N, bool) {
		calls++
		if calls-1 != k {
			return C14N{}, false
		}
		picked = n
		adjust(d, n)
		switch mode {
		case modeAll, modeSigner:
			how = C14N{AllDeclared: true}
		case modeWriter:
			how = C14N{AllDeclared: true, To: &written}
		case modeDefault:
			how = C14N{Inclusive: []string{"#default"}}
		case modeDeclared:
			how = C14N{Inclusive: d.DeclaredPrefixes(n)}
		}
		return how, true
	}}
	stream, streamErr := ParseWith(in, opts)
	if errClass(treeErr) != errClass(streamErr) {
		t.Fatalf("tree: %v\nwhile reading: %v\ninput: %q", treeErr, streamErr, in)
	}
	if treeErr != nil {
		if treeErr.Error() != streamErr.Error() {
			t.Fatalf("errors worded apart:\ntree: %v\nwhile reading: %v\ninput: %q", treeErr, streamErr, in)
		}
		return
	}
	canon := stream.Canonical()
	if picked == None {
		if canon != nil {
			t.Fatal("canonicalized an element nobody picked")
		}
		if len(stream.nodes) != len(tree.nodes) {
			t.Fatalf("%d nodes, the tree has %d", len(stream.nodes), len(tree.nodes))
		}
		return
	}
	if canon == nil || canon.Node != picked {
		t.Fatalf("picked %d, canonical %+v", picked, canon)
	}
	adjust(tree, picked)
	inclusive := how.Inclusive
	if how.AllDeclared {
		inclusive = tree.DeclaredPrefixes(picked)
		if !slices.Equal(canon.Inclusive, inclusive) && len(canon.Inclusive)+len(inclusive) > 0 {
			t.Fatalf("PrefixList %q, DeclaredPrefixes %q", canon.Inclusive, inclusive)
		}
	}
	want := tree.AppendExcC14N(nil, picked, inclusive)
	got := canon.Bytes
	if how.To != nil {
		if got != nil {
			t.Fatal("written to C14N.To and kept too")
		}
		got = written.Bytes()
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("canonical form differs (mode %d)\nwhile reading: %s\n        tree: %s\ninput: %q", mode, got, want, in)
	}
	node, treeNode := stream.nodes[picked], tree.nodes[picked]
	if node.Start != treeNode.Start || node.End != treeNode.End || node.TagEnd != treeNode.TagEnd || node.FirstChild != None {
		t.Fatalf("picked node %+v, in the tree %+v", node, treeNode)
	}
	var ids []ID
	for e := picked + 1; e < int32(len(tree.nodes)) && tree.nodes[e].Start < treeNode.End; e++ {
		if tree.nodes[e].Kind != Element {
			continue
		}
		for _, a := range tree.Attrs(e) {
			for _, want := range testIDAttrs {
				if a.NS == want.NS && a.Local == want.Local {
					ids = append(ids, ID{Value: a.Value(), Attr: want, Element: Name{tree.NS(e), tree.Local(e)}, QName: tree.Name(e), Offset: tree.nodes[e].Start})
				}
			}
		}
	}
	if !slices.Equal(canon.IDs, ids) {
		t.Fatalf("ids %+v, the tree has %+v", canon.IDs, ids)
	}
	if got, want := len(stream.nodes), len(tree.nodes)-descendants(tree, picked); got != want {
		t.Fatalf("%d nodes kept, want %d", got, want)
	}
}

func descendants(d *Document, n int32) int {
	end, count := d.nodes[n].End, 0
	for e := n + 1; e < int32(len(d.nodes)) && d.nodes[e].Start < end; e++ {
		count++
	}
	return count
}

// TestCanonicalizeWhileReading picks every element of every golden and of
// cases written to break a reader that copies what looks canonical, in
// every mode, and compares with the tree.
func TestCanonicalizeWhileReading(t *testing.T) {
	inputs := map[string]string{
		"rows":          string(rowsDoc(4 << 10)),
		"comments":      `<r><!-- c --><a x="1"><!--x-->t</a><?pi data?><?pi?></r>`,
		"cdata":         `<r><a><![CDATA[a<b>&]]>x<![CDATA[]]></a></r>`,
		"separators":    "<r><a\tx=\"1\"></a><a\nx=\"1\" y=\"2\"></a><a x=\"1\"\ty=\"2\"></a></r>",
		"space in tags": "<r ><a  x='1' y = \"2\" ></a ><b\n/></r\t>",
		"attr order":    `<r><a y="1" x="2"/><a x="1" y="2"/><a x='1'></a><a y="1" x="2"></a><a x="1" y="2"></a><a b="1" ab="2"></a></r>`,
		"attr values":   "<r><a x=\"a&amp;b\" y=\"\t\" z=\"&#10;\" w=\"&quot;>\"/><a x=\"a&amp;b\"></a><a y=\"\t\"></a><a x=\"\r\n\"></a><a x='\"'></a><a x=\"'>\"></a></r>",
		"text rewrite":  "<r>a&gt;b&amp;c&#xD;\r\nd\re>f&#x4A3;</r>",
		"namespaces": `<S:E xmlns:S="urn:s" xmlns:wsu="urn:wsu"><S:B wsu:Id="b" xmlns:ns2="urn:n" xmlns:xsi="urn:xsi">` +
			`<d xmlns="urn:d" xsi:type="ns2:t"><e xmlns=""><ns2:f xmlns:ns2="urn:other" Id="i1"/><g wsu:Id="i2" xml:lang="kk"/></e></d></S:B></S:E>`,
		"rebound":             `<r xmlns:p="urn:1"><p:a><p:b xmlns:p="urn:2"><p:c xmlns:p="urn:1" p:x="1"/></p:b></p:a></r>`,
		"default dance":       `<r xmlns="urn:d"><a xmlns=""><b xmlns="urn:d"><c/></b></a><d/></r>`,
		"self-closing":        `<S:E xmlns:S="urn:s"><S:H/><S:B/></S:E>`,
		"quick ids":           `<p:r xmlns:p="urn:p"><p:a Id="x" b="1"></p:a><p:c Id="y"/><d Id="z"><e Id="w" a="1" b="2" c="&#34;"/></d></p:r>`,
		"kazakh":              `<r><жол н="1">Әбділ Ғани Қасым Ңң Өө Ұұ Үү Һһ Іі</жол></r>`,
		"four-byte":           "<r><a>\U0001F600 \u20ac</a></r>",
		"prefixed sort":       `<r xmlns:b="urn:a" xmlns:a="urn:b"><e a:x="1" b:x="2" x="3"/></r>`,
		"prefix on attr only": `<r><e xmlns:q="urn:q" q:a="1"><f q:a="2"/></e></r>`,
	}
	files, _ := filepath.Glob("testdata/c14n/*.xml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(f)] = string(b)
	}
	for name, in := range inputs {
		elements := strings.Count(in, "<") + 1
		for k := 0; k <= elements; k++ {
			for mode := 0; mode < modes; mode++ {
				t.Run(fmt.Sprintf("%s/%d/%d", name, k, mode), func(t *testing.T) {
					checkCanonicalize(t, []byte(in), k, mode, Limits{})
				})
			}
		}
	}
}

// TestCanonicalizeWhileReadingRefuses: what the tree refuses, reading
// refuses with the same words, wherever the fault is in the picked element.
func TestCanonicalizeWhileReadingRefuses(t *testing.T) {
	bad := []string{
		`<r><a>&x;</a></r>`, `<r><a><!DOCTYPE x></a></r>`, `<r><a></b></r>`, `<r><a>`, `<r><a>]]></a></r>`,
		"<r><a>\x01</a></r>", "<r><a>\xff</a></r>", "<r><a>\xef\xbf\xbe</a></r>", `<r><a><p:b/></a></r>`,
		`<r><a x="1" x="2"/></r>`, `<r><a x="<"/></r>`, `<r><a>&#0;</a></r>`, `<r><a><!-- -- --></a></r>`,
		`<r><a><?xml x?></a></r>`, `<r><a xmlns:p=""/></r>`, `<r><a><b x="1"y="2"/></a></r>`, `<r><a>&amp</a></r>`,
		"<r><a>" + strings.Repeat("<b>", 40) + strings.Repeat("</b>", 40) + "</a></r>",
		`<r><a><![CDATA[x</a></r>`, `<r><:a></:a></r>`, `<r><a:></a:></r>`, `<r><a b="1" b="2"></a></r>`, `<r><a b="1"c="2"></a></r>`,
		`<r><a b="1" b="2"/></r>`, `<r><a b='1"></a></r>`, `<r><a b="1></a></r>`, `<r><a b="1"</a></r>`, `<r><a:b:c></a:b:c></r>`, `<r><a>x</a></r>trailing`, "<r><a>\xed\xa0\x80</a></r>",
	}
	for i, in := range bad {
		for k := 0; k < 3; k++ {
			t.Run(fmt.Sprint(i, "/", k), func(t *testing.T) {
				if _, err := Parse([]byte(in), Limits{MaxDepth: 32}); err == nil {
					t.Fatalf("the tree accepts %q", in)
				}
				checkCanonicalize(t, []byte(in), k, modeAll, Limits{MaxDepth: 32})
			})
		}
	}
}

// FuzzCanonicalize is the differential check on any input: reading while
// canonicalizing must agree with the tree on acceptance, errors, bytes,
// PrefixList and ids.
func FuzzCanonicalize(f *testing.F) {
	files, _ := filepath.Glob("testdata/c14n/*.xml")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b, uint8(1), uint8(modeAll))
	}
	f.Add(rowsDoc(1<<10), uint8(1), uint8(modeSigner))
	f.Add([]byte(`<S:E xmlns:S="urn:s"><S:B Id="b"><d xmlns="u" a="1"><e xmlns="">t&amp;<![CDATA[<]]></e></d></S:B></S:E>`), uint8(1), uint8(modeDeclared))
	f.Add([]byte("<r><a  y='1' x=\"2\" >a\r\nb&gt;<!--c--><?p d?></a ></r>"), uint8(1), uint8(modeNone))
	f.Fuzz(func(t *testing.T, in []byte, k, mode uint8) {
		checkCanonicalize(t, in, int(k%16), int(mode%modes), Limits{MaxBytes: 1 << 16, MaxDepth: 32, MaxAttrs: 64, MaxNamespaces: 64})
	})
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(b []byte) (int, error) {
	if w.after -= len(b); w.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(b), nil
}

// TestCanonicalWriterFails: a C14N.To that refuses fails the parse, with
// its error wrapped, however much was written before.
func TestCanonicalWriterFails(t *testing.T) {
	src := rowsDoc(64 << 10)
	for _, after := range []int{0, 1000, 30000} {
		w := &failingWriter{after: after}
		_, err := ParseWith(src, Options{Canonicalize: func(d *Document, n int32) (C14N, bool) {
			return C14N{AllDeclared: true, To: w}, d.Local(n) == "Body"
		}})
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("after %d bytes: err = %v", after, err)
		}
	}
}

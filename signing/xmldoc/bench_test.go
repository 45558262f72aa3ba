package xmldoc

import (
	"fmt"
	"strings"
	"testing"
)

func benchDoc(size int) []byte {
	var b strings.Builder
	b.WriteString(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x:data xmlns:x="urn:x">`)
	for b.Len() < size {
		fmt.Fprintf(&b, `<x:item id="%d" kind="a">value &amp; text %d</x:item>`, b.Len(), b.Len())
	}
	b.WriteString(`</x:data></s:Body></s:Envelope>`)
	return []byte(b.String())
}

func BenchmarkParseC14N100K(b *testing.B) {
	src := benchDoc(100 << 10)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		d, err := Parse(src, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		buf = d.AppendExcC14N(buf[:0], d.Root, nil)
	}
}

// rowsDoc is shaped like the signing benchmarks' SHEP payload: dense
// markup and Kazakh text.
func rowsDoc(size int) []byte {
	var b strings.Builder
	b.WriteString(`<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><data xmlns:ns2="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="ns2:rows">`)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `<row n="%d"><name>Жеке кәсіпкер %d</name></row>`, i, i)
	}
	b.WriteString(`</data></S:Body></S:Envelope>`)
	return []byte(b.String())
}

func BenchmarkParseRows100K(b *testing.B) {
	src := rowsDoc(100 << 10)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkC14NRows100K(b *testing.B) {
	src := rowsDoc(100 << 10)
	d, err := Parse(src, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = d.AppendExcC14N(buf[:0], d.Root, nil)
	}
}

// BenchmarkReadCanonicalRows100K reads the rows document canonicalizing its
// Body while reading, as signing does: the one-pass counterpart of
// ParseRows100K plus C14NRows100K.
func BenchmarkReadCanonicalRows100K(b *testing.B) {
	src := rowsDoc(100 << 10)
	opts := Options{Canonicalize: func(d *Document, n int32) (C14N, bool) {
		return C14N{AllDeclared: true}, d.Local(n) == "Body"
	}}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := ParseWith(src, opts)
		if err != nil {
			b.Fatal(err)
		}
		if d.Canonical() == nil {
			b.Fatal("the Body was not canonicalized")
		}
	}
}

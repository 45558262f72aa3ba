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

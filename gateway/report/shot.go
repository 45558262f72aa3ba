package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/kopir/kopir/gateway/shep/exchange"
)

// Screenshot geometry. A step is a fixed-width page of monospaced text so
// that a desk operator can read it like a terminal capture.
const (
	shotColumns  = 110
	shotMaxLines = 70 // per body: the excerpt, not the whole message
	shotFontSize = 13
	shotMargin   = 12
)

// monoTTF is DejaVu Sans Mono (font/LICENSE): unlike Go Mono it has the
// Kazakh letters (Ә Ғ Қ Ң Ө Ұ Ү Һ І), which a desk in Kazakhstan reads.
//
//go:embed font/DejaVuSansMono.ttf
var monoTTF []byte

var (
	fontOnce sync.Once
	monoFont *opentype.Font
	fontErr  error
)

// monoFace returns a new face: faces keep glyph buffers and are not safe
// for concurrent use, the parsed font is.
func monoFace() (font.Face, error) {
	fontOnce.Do(func() { monoFont, fontErr = opentype.Parse(monoTTF) })
	if fontErr != nil {
		return nil, fontErr
	}
	return opentype.NewFace(monoFont, &opentype.FaceOptions{Size: shotFontSize, DPI: 72, Hinting: font.HintingFull})
}

var (
	colPaper  = color.RGBA{0xfb, 0xfb, 0xf8, 0xff}
	colInk    = color.RGBA{0x1a, 0x1a, 0x1a, 0xff}
	colHeadOK = color.RGBA{0x1f, 0x6f, 0x3b, 0xff}
	colHeadKO = color.RGBA{0xa3, 0x1d, 0x1d, 0xff}
	colRule   = color.RGBA{0xc8, 0xc8, 0xc0, 0xff}
)

// line is one row of a screenshot.
type line struct {
	text string
	head bool // the title bar
	rule bool // a separator
}

// StepLines is a step's screenshot as text: the same lines the PNG shows.
func StepLines(s exchange.Step, n, total int, zone *time.Location) []string {
	var out []string
	for _, l := range stepLines(s, n, total, zone) {
		if !l.rule {
			out = append(out, l.text)
		}
	}
	return out
}

func stepLines(s exchange.Step, n, total int, zone *time.Location) []line {
	if zone == nil {
		zone = time.UTC
	}
	ls := []line{{text: fmt.Sprintf("Kopir · step %d of %d · %s", n, total, s.Outcome), head: true}}
	add := func(format string, args ...any) {
		for _, w := range wrap(fmt.Sprintf(format, args...), shotColumns) {
			ls = append(ls, line{text: w})
		}
	}
	add("time      %s", s.Time.In(zone).Format("2006-01-02 15:04:05.000 -07:00"))
	add("upstream  %s", s.Upstream)
	add("service   %s", s.ServiceID)
	add("messageId %s", s.MessageID)
	add("attempt   %d", s.Attempt)
	if s.HTTPStatus != 0 {
		add("HTTP      %d", s.HTTPStatus)
	}
	add("duration  %s", s.Duration.Round(time.Millisecond))
	add("outcome   %s", s.Outcome)
	if s.Error != "" {
		add("error     %s", s.Error)
	}
	for _, body := range []struct{ name, text string }{{"request", s.Request}, {"response", s.Response}} {
		ls = append(ls, line{rule: true})
		if body.text == "" {
			add("%s: (none)", body.name)
			continue
		}
		add("%s (personal data masked):", body.name)
		rows := bodyLines(body.text)
		cut := len(rows) > shotMaxLines
		if cut {
			rows = rows[:shotMaxLines]
		}
		for _, r := range rows {
			ls = append(ls, line{text: r})
		}
		if cut {
			add("… (excerpt; the whole body is attached as XML)")
		}
	}
	return ls
}

// bodyLines indents XML for reading and wraps it to the page.
func bodyLines(text string) []string {
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = true
	if err := doc.ReadFromString(text); err == nil && doc.Root() != nil {
		foldSecurity(doc.Root())
		doc.Indent(2)
		if s, err := doc.WriteToString(); err == nil {
			text = s
		}
	}
	var out []string
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		out = append(out, wrap(strings.TrimRight(l, "\r"), shotColumns)...)
	}
	return out
}

// nsWSSE is the WS-Security namespace.
const nsWSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"

// foldSecurity empties each wsse:Security header: its Timestamp, token and
// signature fill a screen and tell the desk nothing the step's outcome
// does not, and would push the Body out of the excerpt. The attached XML
// keeps them.
func foldSecurity(el *etree.Element) {
	if el.Tag == "Security" && el.NamespaceURI() == nsWSSE {
		for len(el.Child) > 0 {
			el.RemoveChildAt(len(el.Child) - 1)
		}
		el.SetText("… transport signature (Timestamp, BinarySecurityToken, Signature): see the attached XML …")
		return
	}
	for _, c := range el.ChildElements() {
		foldSecurity(c)
	}
}

// wrap cuts s into rows of at most cols runes.
func wrap(s string, cols int) []string {
	s = strings.ReplaceAll(s, "\t", "  ")
	if utf8.RuneCountInString(s) <= cols {
		return []string{s}
	}
	var out []string
	r := []rune(s)
	for len(r) > cols {
		out = append(out, string(r[:cols]))
		r = r[cols:]
	}
	return append(out, string(r))
}

// Screenshot renders a step as a PNG image: the "screenshot" of a step of
// an exchange that has no screen. n counts from 1 of total.
func Screenshot(s exchange.Step, n, total int, zone *time.Location) ([]byte, error) {
	f, err := monoFace()
	if err != nil {
		return nil, fmt.Errorf("report: font: %w", err)
	}
	defer f.Close()
	ls := stepLines(s, n, total, zone)
	m := f.Metrics()
	lineH := (m.Height + fixed.I(3)).Ceil()
	adv, _ := f.GlyphAdvance('M')
	width := shotMargin*2 + adv.Ceil()*shotColumns
	height := shotMargin*2 + lineH*len(ls)
	img := image.NewPaletted(image.Rect(0, 0, width, height), color.Palette{colPaper, colInk, colHeadOK, colHeadKO, colRule, color.White})
	draw.Draw(img, img.Bounds(), image.NewUniform(colPaper), image.Point{}, draw.Src)
	head := colHeadKO
	if s.Outcome == exchange.OutcomeOK {
		head = colHeadOK
	}
	d := font.Drawer{Dst: img, Face: f}
	for i, l := range ls {
		top := shotMargin + i*lineH
		switch {
		case l.head:
			draw.Draw(img, image.Rect(0, top-shotMargin/2, width, top+lineH), image.NewUniform(head), image.Point{}, draw.Src)
			d.Src = image.NewUniform(color.White)
		case l.rule:
			draw.Draw(img, image.Rect(shotMargin, top+lineH/2, width-shotMargin, top+lineH/2+1), image.NewUniform(colRule), image.Point{}, draw.Src)
			continue
		default:
			d.Src = image.NewUniform(colInk)
		}
		d.Dot = fixed.P(shotMargin, top+m.Ascent.Ceil())
		d.DrawString(l.text)
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("report: png: %w", err)
	}
	return buf.Bytes(), nil
}

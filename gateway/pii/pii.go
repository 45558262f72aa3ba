// Package pii masks personal data — IINs, BINs, names, document numbers,
// addresses — and credentials before anything reaches a log, a metric, an
// exchange record or a failure report. Masking is by shape (any run of
// exactly twelve digits is an IIN or a BIN) and by element name (the text
// of <lastName>, <password>, <documentNumber>…), so it needs no schema and
// errs on the side of masking too much.
//
// Room gateway/pii: personal data — masking (this package) and identity
// numbers (gateway/pii/iin). It imports nothing of Kopir's, so every room
// may use it.
package pii

import (
	"html"
	"strings"
)

// ID masks an IIN or BIN, or any identifier, keeping its last four
// characters: enough for a person to match a report to a case.
func ID(s string) string {
	if len(s) <= 4 {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", len(s)-4) + s[len(s)-4:]
}

// DefaultElements are the lower-cased fragments of element local names
// whose text is masked: personal names (and so organisations' names too),
// birth dates, document and telephone numbers, addresses, e-mail and
// credentials.
var DefaultElements = []string{
	"name", "fio", "birth", "document", "number", "passport", "address", "phone", "email", "mail",
	"password", "secret", "token", "patronymic", "street", "building", "flat",
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Masker masks XML and text. The zero value is not usable; use New.
type Masker struct {
	fragments []string
}

// New returns a Masker for element names containing any of fragments
// (case-insensitive); nil means DefaultElements.
func New(fragments []string) *Masker {
	if fragments == nil {
		fragments = DefaultElements
	}
	m := &Masker{}
	for _, f := range fragments {
		m.fragments = append(m.fragments, strings.ToLower(f))
	}
	return m
}

func (m *Masker) sensitive(local string) bool {
	l := strings.ToLower(local)
	for _, f := range m.fragments {
		if strings.Contains(l, f) {
			return true
		}
	}
	return false
}

// Text masks every run of exactly twelve digits in s.
func Text(s string) string {
	return string(appendDigitsMasked(nil, s))
}

func appendDigitsMasked(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			dst = append(dst, s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j-i == 12 && !inHexToken(s, i, j) {
			dst = append(dst, "********"...)
			dst = append(dst, s[j-4:j]...)
		} else {
			dst = append(dst, s[i:j]...)
		}
		i = j
	}
	return dst
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHexLetter(c byte) bool { return 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// inHexToken says whether the digits s[i:j] belong to a hexadecimal token
// rather than stand alone as an IIN: a message or element id, a UUID's
// last group, a digest. A letter a–f touches it, or it ends a UUID. (An
// IIN in a certificate's subject, "IIN880101300010", is touched by N: it
// is masked.)
func inHexToken(s string, i, j int) bool {
	if i > 0 && isHexLetter(s[i-1]) || j < len(s) && isHexLetter(s[j]) {
		return true
	}
	// 8-4-4-4- before the run: a UUID's last group.
	if i < 24 {
		return false
	}
	u := s[i-24 : i]
	for k := range len(u) {
		switch k {
		case 8, 13, 18, 23:
			if u[k] != '-' {
				return false
			}
		default:
			if !isDigit(u[k]) && !isHexLetter(u[k]) {
				return false
			}
		}
	}
	return true
}

// XML masks a document or fragment in one pass without parsing it: twelve-
// digit runs everywhere, and the whole text of elements with sensitive
// names. An XML document escaped as text (GBD UL's payloads travel so) is
// unescaped, masked the same way and escaped again. Malformed input is
// masked as well as it can be, never refused: this runs on whatever a
// peer sent.
func (m *Masker) XML(b []byte) []byte { return m.xml(b, 0) }

func (m *Masker) xml(b []byte, depth int) []byte {
	s := string(b)
	out := make([]byte, 0, len(s))
	var open string // local name of the start tag just read, "" after anything else
	for i := 0; i < len(s); {
		if s[i] != '<' {
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				j = len(s)
			} else {
				j += i
			}
			text := s[i:j]
			if open != "" && m.sensitive(open) && strings.TrimSpace(text) != "" {
				out = append(out, "***"...)
			} else if depth < 2 && strings.Contains(text, "&lt;") {
				inner := m.xml([]byte(html.UnescapeString(text)), depth+1)
				out = append(out, escaper.Replace(string(inner))...)
			} else {
				out = appendDigitsMasked(out, text)
			}
			i = j
			continue
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			j = len(s) - 1
		} else {
			j += i
		}
		tag := s[i : j+1]
		open = ""
		if len(tag) > 1 && tag[1] != '/' && tag[1] != '!' && tag[1] != '?' && !strings.HasSuffix(tag, "/>") {
			name := tag[1:]
			if k := strings.IndexAny(name, " \t\r\n/>"); k >= 0 {
				name = name[:k]
			}
			if k := strings.IndexByte(name, ':'); k >= 0 {
				name = name[k+1:]
			}
			open = name
		}
		if strings.HasPrefix(tag, "<![CDATA[") {
			end := strings.Index(s[i:], "]]>")
			if end < 0 {
				end = len(s) - i - 3
			}
			out = appendDigitsMasked(out, s[i:i+end+3])
			i += end + 3
			continue
		}
		out = appendDigitsMasked(out, tag) // attribute values
		i = j + 1
	}
	return out
}

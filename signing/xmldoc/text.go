package xmldoc

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// decodeRef decodes the entity or character reference at the start of s
// ("&amp;", "&#x41;"…), returning the character and the reference's length,
// or 0 when s does not start with a valid one.
func decodeRef(s string) (rune, int) {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 12 {
		return 0, 0
	}
	body := s[1:end]
	switch body {
	case "amp":
		return '&', end + 1
	case "lt":
		return '<', end + 1
	case "gt":
		return '>', end + 1
	case "quot":
		return '"', end + 1
	case "apos":
		return '\'', end + 1
	}
	if body[0] != '#' {
		return 0, 0
	}
	num, base := body[1:], 10
	if strings.HasPrefix(num, "x") {
		num, base = num[1:], 16
	}
	if num == "" || num[0] == '+' || num[0] == '-' {
		return 0, 0
	}
	v, err := strconv.ParseUint(num, base, 32)
	if err != nil {
		return 0, 0
	}
	r := rune(v)
	if !isChar(r) {
		return 0, 0
	}
	return r, end + 1
}

func isChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || 0x20 <= r && r <= 0xD7FF ||
		0xE000 <= r && r <= 0xFFFD || 0x10000 <= r && r <= 0x10FFFF
}

// normalizeEOL applies XML's end-of-line handling: CR LF and lone CR become LF.
func normalizeEOL(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// decodeText returns the character data a raw text node stands for.
func decodeText(raw string) string {
	if strings.IndexByte(raw, '&') < 0 {
		return normalizeEOL(raw)
	}
	return string(appendDecoded(nil, raw, false))
}

// decodeAttr returns an attribute's normalized value.
func decodeAttr(raw string) string {
	if !strings.ContainsAny(raw, "&\t\n\r") {
		return raw
	}
	return string(appendDecoded(nil, raw, true))
}

func appendDecoded(dst []byte, raw string, attr bool) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '&':
			r, n := decodeRef(raw[i:])
			dst = utf8.AppendRune(dst, r)
			i += n - 1
		case c == '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			if attr {
				dst = append(dst, ' ')
			} else {
				dst = append(dst, '\n')
			}
		case attr && (c == '\t' || c == '\n'):
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendCanonicalText appends a text node in canonical form: references
// decoded, line ends normalized, then &, <, > and CR escaped.
func appendCanonicalText(dst []byte, raw string, cdata bool) []byte {
	if plain(raw, &textSpecial) && !(cdata && strings.IndexByte(raw, '<') >= 0) {
		return append(dst, raw...)
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '&':
			if cdata {
				dst = append(dst, "&amp;"...)
				continue
			}
			r, n := decodeRef(raw[i:])
			i += n - 1
			dst = appendEscapedTextRune(dst, r)
		case '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			dst = append(dst, '\n')
		case '<':
			dst = append(dst, "&lt;"...) // only in CDATA
		case '>':
			dst = append(dst, "&gt;"...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendEscapedTextRune escapes one decoded character of text content.
func appendEscapedTextRune(dst []byte, r rune) []byte {
	switch r {
	case '&':
		return append(dst, "&amp;"...)
	case '<':
		return append(dst, "&lt;"...)
	case '>':
		return append(dst, "&gt;"...)
	case '\r':
		return append(dst, "&#xD;"...)
	}
	return utf8.AppendRune(dst, r)
}

// appendCanonicalAttr appends an attribute value in canonical form.
func appendCanonicalAttr(dst []byte, raw string) []byte {
	if plain(raw, &attrSpecial) {
		return append(dst, raw...)
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '&':
			r, n := decodeRef(raw[i:])
			i += n - 1
			switch r {
			case '&':
				dst = append(dst, "&amp;"...)
			case '<':
				dst = append(dst, "&lt;"...)
			case '"':
				dst = append(dst, "&quot;"...)
			case '\t':
				dst = append(dst, "&#x9;"...)
			case '\n':
				dst = append(dst, "&#xA;"...)
			case '\r':
				dst = append(dst, "&#xD;"...)
			default:
				dst = utf8.AppendRune(dst, r)
			}
		case '"':
			dst = append(dst, "&quot;"...)
		case '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			dst = append(dst, ' ')
		case '\t', '\n':
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// The bytes canonical text and attribute values rewrite. A table look-up a
// byte beats strings.IndexAny, which builds its set on every call.
var textSpecial, attrSpecial = byteSet("&>\r"), byteSet("&\"\t\n\r")

func byteSet(chars string) (t [256]bool) {
	for i := 0; i < len(chars); i++ {
		t[chars[i]] = true
	}
	return t
}

// plain reports whether s holds none of the bytes in set.
func plain(s string, set *[256]bool) bool {
	for i := 0; i < len(s); i++ {
		if set[s[i]] {
			return false
		}
	}
	return true
}

// Character classes: the byte tables and checks shared by the reader and
// the quick path, so that both judge every character alike.

package xmldoc

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// charSize returns the length of the non-ASCII character at s[i], or 0 when
// it is not valid UTF-8 or not a character XML allows.
func charSize(s string, i int) int {
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size <= 1 || r == 0xFFFE || r == 0xFFFF {
		return 0
	}
	return size
}

// scanValue checks an attribute value in one pass, as the '<' check,
// checkChars and checkRefs would, and reports whether canonical form would
// write it as it is.
func scanValue(s string) (ok, plain bool) {
	plain = true
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !valueByte[c] {
				i++
				continue
			}
			switch c {
			case '&':
				_, n := decodeRef(s[i:])
				if n == 0 {
					return false, false
				}
				plain = false
				i += n
				continue
			case '"', '\t', '\n', '\r':
				plain = false
			default: // '<' and control characters
				return false, false
			}
			i++
			continue
		}
		if c <= 0xDF && c >= 0xC2 && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			i += 2
		} else if size := charSize(s, i); size > 0 {
			i += size
		} else {
			return false, false
		}
	}
	return true, plain
}

// valueByte marks the ASCII bytes scanValue looks at twice.
var valueByte = func() (t [utf8.RuneSelf]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['<'], t['&'], t['"'] = true, true, true
	return t
}()

// textByte marks the ASCII bytes scanText looks at twice: markup, references,
// what canonical form rewrites, and control characters.
var textByte = func() (t [utf8.RuneSelf]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = c != '\t' && c != '\n'
	}
	t['<'], t['&'], t['>'] = true, true, true
	return t
}()

// nameByte marks the ASCII bytes a name may hold.
var nameByte = func() (t [256]bool) {
	for c := 0; c < utf8.RuneSelf; c++ {
		t[c] = isNameByte(byte(c))
	}
	return t
}()

// nameStart marks the ASCII bytes a name may start with.
var nameStart = func() (t [256]bool) {
	for c := 0; c < utf8.RuneSelf; c++ {
		t[c] = isNameByte(byte(c)) && c != '-' && c != '.' && (c < '0' || c > '9')
	}
	return t
}()

// checkChars refuses characters XML 1.0 does not allow and invalid UTF-8.
// UTF-8 validity is checked by the standard library's fast path; what is
// left is a byte loop for control characters and U+FFFE/U+FFFF (EF BF BE/BF).
func (p *parser) checkChars(s string, off int) error {
	if !utf8.ValidString(s) {
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 {
				return &SyntaxError{Offset: off + i, Msg: "invalid UTF-8"}
			}
			i += size
		}
	}
	// One table look-up a byte: only control characters and the lead
	// byte of U+FFFE/U+FFFF need a closer look.
	for i := 0; i < len(s); i++ {
		if !suspect[s[i]] {
			continue
		}
		switch c := s[i]; {
		case c < 0x20:
			return &SyntaxError{Offset: off + i, Msg: fmt.Sprintf("character %#x not allowed", c)}
		case i+2 < len(s) && s[i+1] == 0xBF && (s[i+2] == 0xBE || s[i+2] == 0xBF):
			return &SyntaxError{Offset: off + i, Msg: "non-character U+FFFE or U+FFFF"}
		}
	}
	return nil
}

// suspect marks the bytes checkChars looks at twice.
var suspect = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = c != '\t' && c != '\n' && c != '\r'
	}
	t[0xEF] = true
	return t
}()

// checkRefs checks that every '&' starts a predefined entity or a valid
// character reference.
func (p *parser) checkRefs(s string, off int) error {
	for i := 0; i < len(s); {
		k := strings.IndexByte(s[i:], '&')
		if k < 0 {
			return nil
		}
		i += k
		_, n := decodeRef(s[i:])
		if n == 0 {
			if end := strings.IndexByte(s[i:], ';'); end > 0 && isName(s[i+1:i+end]) {
				return ErrDTD // a named entity only a DTD could define
			}
			return &SyntaxError{Offset: off + i, Msg: "bad entity or character reference"}
		}
		i += n
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '-' || c == '.'
}

func isNameRune(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return isNameByte(byte(r))
	case r == 0xB7, 0xC0 <= r && r <= 0x2FF && r != 0xD7 && r != 0xF7,
		0x300 <= r && r <= 0x37D, 0x37F <= r && r <= 0x1FFF, r == 0x200C, r == 0x200D,
		0x203F <= r && r <= 0x2040, 0x2070 <= r && r <= 0x218F, 0x2C00 <= r && r <= 0x2FEF,
		0x3001 <= r && r <= 0xD7FF, 0xF900 <= r && r <= 0xFDCF, 0xFDF0 <= r && r <= 0xFFFD,
		0x10000 <= r && r <= 0xEFFFF:
		return true
	}
	return false
}

func isName(n string) bool {
	if n == "" {
		return false
	}
	c := n[0]
	if c < utf8.RuneSelf {
		if c == '-' || c == '.' || '0' <= c && c <= '9' || !isNameByte(c) {
			return false
		}
	} else {
		r, _ := utf8.DecodeRuneInString(n)
		if r == 0xB7 || 0x300 <= r && r <= 0x36F || r == 0x203F || r == 0x2040 || !isNameRune(r) {
			return false
		}
	}
	for _, r := range n {
		if !isNameRune(r) {
			return false
		}
	}
	return true
}

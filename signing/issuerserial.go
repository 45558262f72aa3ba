package signing

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/kopir/kopir/signing/xmldoc"
)

// byIssuerSerial finds the pinned certificate a ds:X509IssuerSerial names.
func (v *Verifier) byIssuerSerial(doc *xmldoc.Document, is int32) (*x509.Certificate, error) {
	name, err := only(doc, is, NSDS, "X509IssuerName", ReasonKeyInfo, "X509IssuerSerial has no X509IssuerName")
	if err != nil {
		return nil, err
	}
	num, err := only(doc, is, NSDS, "X509SerialNumber", ReasonKeyInfo, "X509IssuerSerial has no X509SerialNumber")
	if err != nil {
		return nil, err
	}
	serial, ok := new(big.Int).SetString(strings.TrimSpace(doc.Text(num)), 10)
	if !ok {
		return nil, refuse(ReasonKeyInfo, "X509SerialNumber is not a decimal number")
	}
	issuer, err := parseDN(doc.Text(name))
	if err != nil {
		return nil, &Error{Reason: ReasonKeyInfo, Msg: "X509IssuerName", Err: err}
	}
	for _, c := range v.p.Pinned {
		if c.SerialNumber.Cmp(serial) == 0 && sameName(issuer, c.Issuer.Names) {
			return c, nil
		}
	}
	return nil, refuse(ReasonUntrusted, "no pinned certificate has issuer %q and serial number %s", doc.Text(name), serial)
}

// Attribute types of distinguished names as RFC 4514 and Java (Kalkan)
// write them.
var dnTypes = map[string]asn1.ObjectIdentifier{
	"CN": {2, 5, 4, 3}, "SN": {2, 5, 4, 4}, "SURNAME": {2, 5, 4, 4}, "SERIALNUMBER": {2, 5, 4, 5},
	"C": {2, 5, 4, 6}, "L": {2, 5, 4, 7}, "ST": {2, 5, 4, 8}, "S": {2, 5, 4, 8}, "STREET": {2, 5, 4, 9},
	"O": {2, 5, 4, 10}, "OU": {2, 5, 4, 11}, "T": {2, 5, 4, 12}, "TITLE": {2, 5, 4, 12},
	"G": {2, 5, 4, 42}, "GIVENNAME": {2, 5, 4, 42}, "E": {1, 2, 840, 113549, 1, 9, 1},
	"EMAILADDRESS": {1, 2, 840, 113549, 1, 9, 1}, "DC": {0, 9, 2342, 19200300, 100, 1, 25},
	"UID": {0, 9, 2342, 19200300, 100, 1, 1},
}

// parseDN reads an RFC 4514 distinguished name (as ds:X509IssuerName
// holds it) into its attributes, in any order.
func parseDN(s string) ([]pkix.AttributeTypeAndValue, error) {
	var out []pkix.AttributeTypeAndValue
	for _, part := range splitUnescaped(s, ",;+") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		typ, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not type=value", part)
		}
		typ = strings.TrimSpace(typ)
		oid, known := dnTypes[strings.ToUpper(typ)]
		if !known {
			var err error
			if oid, err = parseOID(strings.TrimPrefix(strings.TrimPrefix(typ, "OID."), "oid.")); err != nil {
				return nil, fmt.Errorf("attribute type %q", typ)
			}
		}
		v, err := unescapeDN(strings.TrimSpace(val))
		if err != nil {
			return nil, err
		}
		out = append(out, pkix.AttributeTypeAndValue{Type: oid, Value: v})
	}
	return out, nil
}

func parseOID(s string) (asn1.ObjectIdentifier, error) {
	var oid asn1.ObjectIdentifier
	for _, p := range strings.Split(s, ".") {
		n, ok := new(big.Int).SetString(p, 10)
		if !ok || !n.IsInt64() || n.Int64() > 1<<31 {
			return nil, fmt.Errorf("%q is not an OID", s)
		}
		oid = append(oid, int(n.Int64()))
	}
	if len(oid) < 2 {
		return nil, fmt.Errorf("%q is not an OID", s)
	}
	return oid, nil
}

// splitUnescaped splits s at the separators not escaped with a backslash
// nor inside quotes.
func splitUnescaped(s, seps string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && strings.IndexByte(seps, c) >= 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unescapeDN decodes a value: backslash escapes (\, and \XX), quotes; a
// value in #hex form is kept as written, to be compared as such.
func unescapeDN(v string) (string, error) {
	if strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) && len(v) >= 2 {
		v = v[1 : len(v)-1]
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' {
			b.WriteByte(v[i])
			continue
		}
		if i+1 >= len(v) {
			return "", fmt.Errorf("a value ends with a backslash")
		}
		if i+2 < len(v) {
			if x, err := hex.DecodeString(v[i+1 : i+3]); err == nil {
				b.Write(x)
				i += 2
				continue
			}
		}
		b.WriteByte(v[i+1])
		i++
	}
	return b.String(), nil
}

// sameName reports whether two names hold the same attributes, in any
// order, their values compared case-insensitively as X.500 compares most
// of them.
func sameName(a []pkix.AttributeTypeAndValue, b []pkix.AttributeTypeAndValue) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && x.Type.Equal(y.Type) && strings.EqualFold(fmt.Sprint(x.Value), strings.TrimSpace(fmt.Sprint(y.Value))) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

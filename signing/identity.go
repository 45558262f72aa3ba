package signing

import (
	"crypto/x509"
	"strings"
)

// Identity is who a certificate names, read the way Kazakhstan's National
// Certification Authority writes it: the holder's IIN in the subject's
// serialNumber ("IIN" + 12 digits), the organisation's BIN in an OU
// ("BIN" + 12 digits).
type Identity struct {
	CommonName   string
	Organization string
	IIN          string // empty when the certificate names none
	BIN          string // empty when the certificate names none
	Serial       string // the certificate's serial number, hexadecimal
}

// IdentityOf reads the identity a certificate names.
func IdentityOf(c *x509.Certificate) Identity {
	id := Identity{CommonName: c.Subject.CommonName, Serial: c.SerialNumber.Text(16)}
	if len(c.Subject.Organization) > 0 {
		id.Organization = c.Subject.Organization[0]
	}
	if v, ok := strings.CutPrefix(c.Subject.SerialNumber, "IIN"); ok && isTwelveDigits(v) {
		id.IIN = v
	}
	for _, ou := range c.Subject.OrganizationalUnit {
		if v, ok := strings.CutPrefix(ou, "BIN"); ok && isTwelveDigits(v) {
			id.BIN = v
		}
	}
	return id
}

// String describes the identity with the IIN masked: an identity ends up in
// logs, and an IIN is personal data. A BIN identifies an organisation and is
// public.
func (id Identity) String() string {
	var b strings.Builder
	b.WriteString("CN=" + id.CommonName)
	if id.Organization != "" {
		b.WriteString(", O=" + id.Organization)
	}
	if id.BIN != "" {
		b.WriteString(", BIN=" + id.BIN)
	}
	if id.IIN != "" {
		b.WriteString(", IIN=********" + id.IIN[8:])
	}
	b.WriteString(", serial=" + id.Serial)
	return b.String()
}

func isTwelveDigits(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Package reporttest reads failure-report mails back with the standard
// library alone, so tests check what a desk's mail client would see, not
// what the composing library believes it wrote.
package reporttest

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
)

// Read parses a raw mail into its header, its text (CRLF made LF) and its
// attachments by file name, decoded.
func Read(t testing.TB, raw []byte) (*mail.Message, string, map[string][]byte) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	if !strings.HasPrefix(mt, "multipart/") {
		return msg, decode(t, msg.Body, msg.Header.Get("Content-Transfer-Encoding")), files
	}
	var text string
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body := decode(t, p, p.Header.Get("Content-Transfer-Encoding"))
		if _, dp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition")); dp["filename"] != "" {
			files[dp["filename"]] = []byte(body)
		} else {
			text = body
		}
	}
	return msg, text, files
}

func decode(t testing.TB, r io.Reader, encoding string) string {
	switch strings.ToLower(encoding) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ToLower(encoding) == "base64" {
		return string(b)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

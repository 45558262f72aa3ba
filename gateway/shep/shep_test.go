package shep

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kopir/kopir/signing/xmldoc"
)

var update = flag.Bool("update", false, "rewrite golden files")

// bodyOf returns an envelope's Body in canonical form, as a verifier would.
func bodyOf(t testing.TB, envelope []byte) []byte {
	t.Helper()
	d, err := xmldoc.Parse(envelope, xmldoc.Limits{})
	if err != nil {
		t.Fatalf("envelope: %v\n%s", err, envelope)
	}
	for i := range d.Len() {
		if d.Is(int32(i), NSSOAP, "Body") {
			return d.AppendExcC14N(nil, int32(i), nil)
		}
	}
	t.Fatal("no Body")
	return nil
}

var date = time.Date(2026, 11, 25, 10, 15, 30, 0, kazakhstan)

const personQuery = `<ns2:getPerson xmlns:ns2="http://data.gbd.chdb.scb.kz/"><iin>880101300010</iin><consentConfirmed>true</consentConfirmed></ns2:getPerson>`

func TestRequestGolden(t *testing.T) {
	r := &Request{MessageID: "m-1", CorrelationID: "c-1", ServiceID: "GBDFL_UniversalServiceSync", MessageDate: date,
		SenderID: "kopir", Password: "p&<", Properties: []Property{{"k", "v"}}, Data: []byte(personQuery)}
	got, err := r.Envelope()
	if err != nil {
		t.Fatal(err)
	}
	golden := "testdata/request.xml"
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	want, _ := os.ReadFile(golden)
	if !bytes.Equal(got, want) {
		t.Errorf("request envelope differs from %s:\n%s", golden, got)
	}
}

func TestRequestRoundTrip(t *testing.T) {
	for _, mode := range []DataMode{DataChildren, DataEscaped, DataCDATA} {
		t.Run(string(mode), func(t *testing.T) {
			in := &Request{MessageID: "m-1", ServiceID: "S", MessageDate: date, SenderID: "kopir", Password: "p",
				Properties: []Property{{"a", "1"}, {"b", "2"}}, SessionID: "s", RouteID: "r", Data: []byte(personQuery), DataMode: mode}
			env, err := in.Envelope()
			if err != nil {
				t.Fatal(err)
			}
			out, err := ParseRequest(bodyOf(t, env), xmldoc.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if out.MessageID != "m-1" || out.ServiceID != "S" || out.SenderID != "kopir" || out.Password != "p" ||
				len(out.Properties) != 2 || out.Properties[1] != (Property{"b", "2"}) || !out.MessageDate.Equal(date) ||
				out.SessionID != "s" || out.RouteID != "r" {
				t.Errorf("request %+v", out)
			}
			want := `<data><ns2:getPerson xmlns:ns2="http://data.gbd.chdb.scb.kz/"><iin>880101300010</iin><consentConfirmed>true</consentConfirmed></ns2:getPerson></data>`
			if string(out.Data) != want {
				t.Errorf("payload\n got %s\nwant %s", out.Data, want)
			}
		})
	}
}

func TestResponseRoundTrip(t *testing.T) {
	in := &Response{MessageID: "r-1", CorrelationID: "m-1", ResponseDate: date, Status: Status{SuccessCode, "OK"},
		Data: []byte(`<p:Person xmlns:p="http://gbd.chdb.scb.kz/xml/person" xmlns:xsi="` + NSXSI + `" xsi:type="p:PersonType"><p:iin>880101300010</p:iin></p:Person>`)}
	out, err := ParseBody(bodyOf(t, in.Envelope()), xmldoc.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if out.MessageID != "r-1" || out.CorrelationID != "m-1" || out.Status != (Status{SuccessCode, "OK"}) || !out.ResponseDate.Equal(date) {
		t.Errorf("response %+v", out)
	}
	// The payload is standalone: re-parsed alone, its QName content still
	// has its prefix bound.
	d, err := xmldoc.Parse(out.Data, xmldoc.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Local(d.Root) != "data" || !bytes.Contains(out.Data, []byte(`xmlns:p="http://gbd.chdb.scb.kz/xml/person"`)) {
		t.Errorf("payload %s", out.Data)
	}
	// And it goes back into a response unchanged.
	again, err := ParseBody(bodyOf(t, (&Response{MessageID: "x", Status: Status{Code: "S"}, Data: out.Data}).Envelope()), xmldoc.Limits{})
	if err != nil || !bytes.Equal(again.Data, out.Data) {
		t.Errorf("payload did not survive a second trip: %v\n%s\n%s", err, again.Data, out.Data)
	}
}

func TestFaultRoundTrip(t *testing.T) {
	in := &Fault{Code: "Server", String: "Internal error", Info: &ErrorInfo{Code: "E500", Message: "Ішкі қате", Data: "d", Date: date,
		Sub: &ErrorInfo{Code: "DB_TIMEOUT", Message: "timeout"}}}
	_, err := ParseBody(bodyOf(t, in.Envelope()), xmldoc.Limits{})
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("err = %v, want *Fault", err)
	}
	if f.Code != "Server" || f.String != "Internal error" || f.Info == nil || f.Info.Code != "E500" || f.Info.Message != "Ішкі қате" ||
		!f.Info.Date.Equal(date) || f.Info.Sub == nil || f.Info.Sub.Code != "DB_TIMEOUT" {
		t.Fatalf("fault %+v / %+v", f, f.Info)
	}
	if f.ErrorCode() != "DB_TIMEOUT" {
		t.Errorf("ErrorCode = %s", f.ErrorCode())
	}
	if !strings.Contains(f.Error(), "Ішкі қате") {
		t.Errorf("Error() = %s", f.Error())
	}
	bare := &Fault{Code: "Client", String: "bad"}
	_, err = ParseBody(bodyOf(t, bare.Envelope()), xmldoc.Limits{})
	if !errors.As(err, &f) || f.Info != nil || f.ErrorCode() != "Client" {
		t.Fatalf("bare fault: %v", err)
	}
}

func TestParseRefuses(t *testing.T) {
	soap := func(inner string) string {
		return `<soap:Body xmlns:soap="` + NSSOAP + `">` + inner + `</soap:Body>`
	}
	resp := func(data string) string {
		return soap(`<t:SendMessageResponse xmlns:t="` + NSTypes + `"><response><responseInfo><messageId>1</messageId><status><code>SCSS001</code></status></responseInfo><responseData><data>` + data + `</data></responseData></response></t:SendMessageResponse>`)
	}
	tests := []struct{ name, in string }{
		{"not a body", `<x/>`},
		{"empty body", soap(``)},
		{"two children", soap(`<a/><b/>`)},
		{"other operation", soap(`<t:Other xmlns:t="` + NSTypes + `"/>`)},
		{"wrong namespace", soap(`<t:SendMessageResponse xmlns:t="urn:other"/>`)},
		{"no responseInfo", soap(`<t:SendMessageResponse xmlns:t="` + NSTypes + `"><response/></t:SendMessageResponse>`)},
		{"no status", soap(`<t:SendMessageResponse xmlns:t="` + NSTypes + `"><response><responseInfo><messageId>1</messageId></responseInfo></response></t:SendMessageResponse>`)},
		{"escaped payload with a DTD", resp(`&lt;!DOCTYPE x [&lt;!ENTITY a "b"&gt;]&gt;&lt;x&gt;&amp;a;&lt;/x&gt;`)},
		{"escaped payload not well-formed", resp(`&lt;x&gt;&lt;y&gt;&lt;/x&gt;`)},
		{"escaped payload too deep", resp(strings.Repeat("&lt;a&gt;", 200) + strings.Repeat("&lt;/a&gt;", 200))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBody([]byte(tt.in), xmldoc.Limits{})
			var m *MalformedError
			if !errors.As(err, &m) {
				t.Fatalf("err = %v, want *MalformedError", err)
			}
		})
	}
}

func TestRequestEnvelopeRefuses(t *testing.T) {
	ok := Request{MessageID: "m", ServiceID: "s", SenderID: "k", MessageDate: date}
	for name, r := range map[string]Request{
		"no message id": {ServiceID: "s", SenderID: "k", MessageDate: date},
		"no date":       {MessageID: "m", ServiceID: "s", SenderID: "k"},
		"bad payload":   func() Request { r := ok; r.Data = []byte("<a>"); return r }(),
		"cdata end": func() Request {
			r := ok
			r.Data = []byte("<a>]]&gt;</a>")
			r.DataMode = DataCDATA
			r.Data = []byte("<a><![CDATA[x]]></a>")
			return r
		}(),
		"unknown mode": func() Request { r := ok; r.DataMode = "xml-rpc"; return r }(),
	} {
		if _, err := r.Envelope(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseBody(f *testing.F) {
	f.Add(bodyOf(f, (&Response{MessageID: "r", Status: Status{Code: SuccessCode}, Data: []byte(personQuery)}).Envelope()))
	f.Add(bodyOf(f, (&Fault{Code: "Server", Info: &ErrorInfo{Code: "E", Sub: &ErrorInfo{Code: "S"}}}).Envelope()))
	env, _ := (&Request{MessageID: "m", ServiceID: "s", SenderID: "k", MessageDate: date, Data: []byte(personQuery), DataMode: DataEscaped}).Envelope()
	f.Add(bodyOf(f, env))
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := xmldoc.Limits{MaxBytes: 1 << 16, MaxDepth: 32}
		if r, err := ParseBody(b, lim); err == nil && r.Data != nil {
			if _, err := xmldoc.Parse(r.Data, xmldoc.Limits{}); err != nil {
				t.Fatalf("payload does not parse: %v", err)
			}
		}
		ParseRequest(b, lim)
	})
}

package shep

import (
	"slices"
	"strings"
	"time"

	"github.com/kopir/kopir/signing/xmldoc"
)

// kazakhstan is the zone of dates written without one: the whole country
// keeps UTC+5 since 2024.
var kazakhstan = time.FixedZone("KZ", 5*60*60)

func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02T15:04:05.999999999", s, kazakhstan)
}

// child finds the first child element of parent with the local name. SHEP's
// inner elements are unqualified; some peers qualify them, so the namespace
// is not checked below the SendMessage wrapper.
func child(d *xmldoc.Document, parent int32, local string) int32 {
	found := xmldoc.None
	if parent == xmldoc.None {
		return found
	}
	d.Children(parent, func(c int32) bool {
		if d.Local(c) == local {
			found = c
			return false
		}
		return true
	})
	return found
}

func text(d *xmldoc.Document, parent int32, local string) string {
	if c := child(d, parent, local); c != xmldoc.None {
		return strings.TrimSpace(d.Text(c))
	}
	return ""
}

// body parses a Body element and returns its one child.
func body(b []byte, lim xmldoc.Limits) (*xmldoc.Document, int32, error) {
	d, err := xmldoc.Parse(b, lim)
	if err != nil {
		return nil, xmldoc.None, malformed("%v", err)
	}
	if d.Local(d.Root) != "Body" {
		return nil, xmldoc.None, malformed("the root is %s, not a Body", d.Name(d.Root))
	}
	var first int32 = xmldoc.None
	var n int
	d.Children(d.Root, func(c int32) bool {
		if n == 0 {
			first = c
		}
		n++
		return true
	})
	if n != 1 {
		return nil, xmldoc.None, malformed("the Body holds %d elements, not one", n)
	}
	return d, first, nil
}

// ParseBody reads the verified Body of a SendMessage response. A fault is
// returned as a *Fault error, anything else unexpected as a
// *MalformedError. Payloads, escaped ones included, are read with lim.
func ParseBody(b []byte, lim xmldoc.Limits) (*Response, error) {
	d, top, err := body(b, lim)
	if err != nil {
		return nil, err
	}
	if d.Is(top, NSSOAP, "Fault") {
		return nil, parseFault(d, top)
	}
	if !d.Is(top, NSTypes, "SendMessageResponse") {
		return nil, malformed("the Body holds {%s}%s, not a SendMessageResponse", d.NS(top), d.Local(top))
	}
	resp := child(d, top, "response")
	info := child(d, resp, "responseInfo")
	if info == xmldoc.None {
		return nil, malformed("no responseInfo")
	}
	r := &Response{
		MessageID:     text(d, info, "messageId"),
		CorrelationID: text(d, info, "correlationId"),
		SessionID:     text(d, info, "sessionId"),
	}
	status := child(d, info, "status")
	r.Status = Status{Code: text(d, status, "code"), Message: text(d, status, "message")}
	if r.Status.Code == "" {
		return nil, malformed("no status code")
	}
	if s := text(d, info, "responseDate"); s != "" {
		if r.ResponseDate, err = parseDate(s); err != nil {
			return nil, malformed("responseDate %q", s)
		}
	}
	if data := child(d, child(d, resp, "responseData"), "data"); data != xmldoc.None {
		if r.Data, r.DataMode, err = payload(d, data, lim); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// payload returns data as a standalone document whose root is data,
// unescaping a document carried as text.
// The mode says how it came: children, or escaped (CDATA included).
func payload(d *xmldoc.Document, data int32, lim xmldoc.Limits) ([]byte, DataMode, error) {
	var hasElements bool
	d.Children(data, func(int32) bool { hasElements = true; return false })
	inner := strings.TrimSpace(d.Text(data))
	if hasElements || !strings.HasPrefix(inner, "<") {
		return d.AppendExcC14N(nil, data, payloadPrefixes(d, data)), DataChildren, nil
	}
	// A whole document escaped as text or CDATA: held to the same limits
	// as the envelope it came in.
	doc, err := xmldoc.Parse([]byte(inner), lim)
	if err != nil {
		return nil, "", malformed("the escaped payload: %v", err)
	}
	out := append([]byte(nil), "<data>"...)
	out = doc.AppendExcC14N(out, doc.Root, payloadPrefixes(doc, doc.Root))
	return append(out, "</data>"...), DataEscaped, nil
}

// payloadPrefixes are the prefixes a standalone payload must keep beyond
// those its elements use: those declared inside it (QName content such as
// xsi:type="ns2:T" may use them) and those declared above it that an
// attribute value inside uses as a QName prefix. The envelope's own
// prefixes stay behind.
func payloadPrefixes(d *xmldoc.Document, n int32) []string {
	var out []string
	add := func(p string) {
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	end := d.Node(n).End
	var qnamePrefixes []string
	for e := n; e < d.Len() && d.Node(e).Start < end; e++ {
		if d.Node(e).Kind != xmldoc.Element {
			continue
		}
		for _, decl := range d.Decls(e) {
			add(decl.Prefix)
		}
		for _, a := range d.Attrs(e) {
			if p, _, ok := strings.Cut(a.Value(), ":"); ok && !strings.ContainsAny(p, " /") {
				qnamePrefixes = append(qnamePrefixes, p)
			}
		}
	}
	for _, p := range qnamePrefixes {
		if _, declared := d.Lookup(n, p); declared {
			add(p)
		}
	}
	slices.Sort(out)
	return out
}

func parseFault(d *xmldoc.Document, f int32) *Fault {
	fault := &Fault{Code: text(d, f, "faultcode"), String: text(d, f, "faultstring")}
	if i := strings.LastIndexByte(fault.Code, ':'); i >= 0 {
		fault.Code = fault.Code[i+1:]
	}
	detail := child(d, f, "detail")
	var info int32 = xmldoc.None
	d.Children(detail, func(c int32) bool { info = c; return false })
	if info != xmldoc.None {
		fault.Info = parseErrorInfo(d, info, 0)
	}
	return fault
}

// parseErrorInfo reads error information under the names SHEP's WSDL and
// public clients use for it; sub-errors nest at most 8 deep.
func parseErrorInfo(d *xmldoc.Document, n int32, depth int) *ErrorInfo {
	pick := func(names ...string) string {
		for _, name := range names {
			if v := text(d, n, name); v != "" {
				return v
			}
		}
		return ""
	}
	e := &ErrorInfo{
		Code:      pick("errorCode", "code"),
		Message:   pick("errorMessage", "message"),
		Data:      pick("errorData", "data"),
		SessionID: pick("sessionId"),
	}
	if s := pick("errorDate", "date"); s != "" {
		e.Date, _ = parseDate(s)
	}
	if sub := child(d, n, "subError"); sub != xmldoc.None && depth < 8 {
		e.Sub = parseErrorInfo(d, sub, depth+1)
	}
	if e.Code == "" && e.Message == "" && e.Data == "" && e.Sub == nil {
		return nil
	}
	return e
}

// ParseRequest reads the verified Body of a SendMessage request, for the
// mock SHEP. The payload comes back as ParseBody returns a response's.
func ParseRequest(b []byte, lim xmldoc.Limits) (*Request, error) {
	d, top, err := body(b, lim)
	if err != nil {
		return nil, err
	}
	if !d.Is(top, NSTypes, "SendMessage") {
		return nil, malformed("the Body holds {%s}%s, not a SendMessage", d.NS(top), d.Local(top))
	}
	req := child(d, top, "request")
	info := child(d, req, "requestInfo")
	if info == xmldoc.None {
		return nil, malformed("no requestInfo")
	}
	sender := child(d, info, "sender")
	r := &Request{
		MessageID:     text(d, info, "messageId"),
		CorrelationID: text(d, info, "correlationId"),
		ServiceID:     text(d, info, "serviceId"),
		RouteID:       text(d, info, "routeId"),
		SessionID:     text(d, info, "sessionId"),
		SenderID:      text(d, sender, "senderId"),
		Password:      text(d, sender, "password"),
	}
	d.Children(info, func(c int32) bool {
		if d.Local(c) == "properties" {
			r.Properties = append(r.Properties, Property{Key: text(d, c, "key"), Value: text(d, c, "value")})
		}
		return true
	})
	if r.MessageID == "" || r.ServiceID == "" {
		return nil, malformed("requestInfo lacks messageId or serviceId")
	}
	if s := text(d, info, "messageDate"); s != "" {
		if r.MessageDate, err = parseDate(s); err != nil {
			return nil, malformed("messageDate %q", s)
		}
	}
	if data := child(d, child(d, req, "requestData"), "data"); data != xmldoc.None {
		if r.Data, r.DataMode, err = payload(d, data, lim); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// nsDS is XML Signature's namespace.
const nsDS = "http://www.w3.org/2000/09/xmldsig#"

// PayloadDocument is the document a payload (as ParseBody and
// ParseRequest return it: a standalone document whose root is data)
// carries with its enveloped signature: data itself when a ds:Signature
// is its child (GBD FL signs data and its children) or it holds several
// elements; else data's one element (an escaped document, as GBD UL's).
func PayloadDocument(data []byte) ([]byte, error) {
	if data == nil {
		return nil, malformed("no payload")
	}
	d, err := xmldoc.Parse(data, xmldoc.Limits{})
	if err != nil {
		return nil, malformed("the payload: %v", err)
	}
	var elems []int32
	signed := false
	d.Children(d.Root, func(c int32) bool {
		elems = append(elems, c)
		signed = signed || d.Is(c, nsDS, "Signature")
		return true
	})
	if signed || len(elems) != 1 {
		return data, nil
	}
	n := d.Node(elems[0])
	return data[n.Start:n.End], nil
}

// Package shep is the wire format of the digital-government gateway's (SHEP)
// synchronous channel: the SendMessage request, its response and its fault,
// as SOAP 1.1 document/literal. It builds unsigned envelopes and reads
// verified Bodies; signing, transport and retries are the exchange's.
//
// The request and response children are unqualified (<request xmlns="">)
// as in SHEP's schema. The service payload travels in data, either as child
// elements or as a whole XML document escaped as text or CDATA: both are
// read, and an escaped document is parsed with the same limits as the
// envelope.
//
// Room gateway/shep: the SHEP client with its wire format. This package
// (the wire) may import signing/xmldoc only; gateway/shep/exchange (the
// client) may import the wire, signing and gateway/pii. Adapters, the API,
// reports and operations sit above it; the mocks import the wire, never
// the client.
package shep

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kopir/kopir/signing/xmldoc"
)

// Namespaces of the synchronous channel.
const (
	NSTypes      = "http://bip.bee.kz/SyncChannel/v10/Types"
	NSInterfaces = "http://bip.bee.kz/SyncChannel/v10/Interfaces"
	NSSOAP       = "http://schemas.xmlsoap.org/soap/envelope/"
	NSXSI        = "http://www.w3.org/2001/XMLSchema-instance"
)

// SuccessCode is the status code SHEP answers a successful call with.
const SuccessCode = "SCSS001"

// DateLayout is xs:dateTime with milliseconds and an offset, as SHEP
// clients write messageDate.
const DateLayout = "2006-01-02T15:04:05.000-07:00"

// DataMode is how a request carries its payload in data.
type DataMode string

// Payload modes.
const (
	DataChildren DataMode = "children" // the payload's elements are data's children (default)
	DataEscaped  DataMode = "escaped"  // the payload document is data's text, escaped
	DataCDATA    DataMode = "cdata"    // the payload document is data's text, in CDATA
)

// Property is one key/value of requestInfo's properties.
type Property struct{ Key, Value string }

// Request is a SendMessage request.
type Request struct {
	MessageID     string
	CorrelationID string
	ServiceID     string
	MessageDate   time.Time
	RouteID       string
	SenderID      string
	Password      string
	Properties    []Property
	SessionID     string
	// Data is the service payload: one or more XML elements.
	Data     []byte
	DataMode DataMode
	// DataType, when set, is data's xsi:type, a QName written in Clark
	// notation ({namespace}local; "xs:string" for XML Schema's string):
	// services that declare data as anyType expect one.
	DataType string
}

// NSXS is XML Schema's namespace, where xsi:type="xs:string" points.
const NSXS = "http://www.w3.org/2001/XMLSchema"

// ParseQName reads a QName in Clark notation ({namespace}local) or the
// shorthand xs:local for XML Schema's types.
func ParseQName(s string) (ns, local string, err error) {
	switch {
	case strings.HasPrefix(s, "xs:"):
		ns, local = NSXS, s[3:]
	case strings.HasPrefix(s, "{"):
		var ok bool
		if ns, local, ok = strings.Cut(s[1:], "}"); !ok || ns == "" {
			return "", "", fmt.Errorf("%q: a QName is {namespace}local or xs:local", s)
		}
	default:
		return "", "", fmt.Errorf("%q: a QName is {namespace}local or xs:local", s)
	}
	if local == "" || strings.ContainsAny(local, ":{}<>&\"' \t\r\n") {
		return "", "", fmt.Errorf("%q: %q is not a local name", s, local)
	}
	return ns, local, nil
}

// Response is a SendMessage response.
type Response struct {
	MessageID     string
	CorrelationID string
	ResponseDate  time.Time
	Status        Status
	SessionID     string
	// Data is the payload as a standalone XML document whose root is the
	// data element; an escaped document is unescaped into its child. Nil
	// when the response had no responseData.
	Data []byte
	// DataMode is how Data travelled (escaped for CDATA too); Envelope
	// writes an escaped payload as xsi:type="xs:string" text, Data then
	// being the document alone.
	DataMode DataMode
}

// Status is responseInfo's status.
type Status struct{ Code, Message string }

// ErrorInfo is SHEP's error information in a fault's detail.
type ErrorInfo struct {
	Code      string
	Message   string
	Data      string
	Date      time.Time
	Sub       *ErrorInfo
	SessionID string
}

// Fault is a SOAP fault from SHEP. It is an error.
type Fault struct {
	// Code is faultcode's local part: "Server" or "Client" for SOAP 1.1.
	Code   string
	String string
	// Info is SHEP's error information, nil when the detail has none.
	Info *ErrorInfo
}

func (f *Fault) Error() string {
	s := "shep fault " + f.Code
	if f.Info != nil && f.Info.Code != "" {
		s += "/" + f.Info.Code
	}
	msg := f.String
	if f.Info != nil && f.Info.Message != "" {
		msg = f.Info.Message
	}
	if msg != "" {
		s += ": " + msg
	}
	return s
}

// ErrorCode is the most specific code in the fault: SHEP's innermost
// sub-error code, else its error code, else the faultcode.
func (f *Fault) ErrorCode() string {
	code := f.Code
	for e := f.Info; e != nil; e = e.Sub {
		if e.Code != "" {
			code = e.Code
		}
	}
	return code
}

// MalformedError is a Body that is not a SendMessage request, response or
// fault.
type MalformedError struct{ Msg string }

func (e *MalformedError) Error() string { return "shep: malformed message: " + e.Msg }

func malformed(format string, args ...any) error {
	return &MalformedError{Msg: fmt.Sprintf(format, args...)}
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func elem(b *strings.Builder, name, value string) {
	if value == "" {
		return
	}
	b.WriteString("<" + name + ">" + esc(value) + "</" + name + ">")
}

// Envelope writes the request as an unsigned SOAP 1.1 envelope.
func (r *Request) Envelope() ([]byte, error) {
	if r.MessageID == "" || r.ServiceID == "" || r.SenderID == "" {
		return nil, errors.New("shep: a request needs messageId, serviceId and senderId")
	}
	if r.MessageDate.IsZero() {
		return nil, errors.New("shep: a request needs messageDate")
	}
	if len(r.Data) > 0 {
		if _, err := xmldoc.Parse(append(append([]byte("<data>"), r.Data...), "</data>"...), xmldoc.Limits{}); err != nil {
			return nil, fmt.Errorf("shep: the payload is not well-formed XML: %w", err)
		}
	}
	var b strings.Builder
	b.Grow(len(r.Data) + 1024)
	b.WriteString(`<soap:Envelope xmlns:soap="` + NSSOAP + `"><soap:Body><typ:SendMessage xmlns:typ="` + NSTypes +
		`"><request xmlns=""><requestInfo>`)
	elem(&b, "messageId", r.MessageID)
	elem(&b, "correlationId", r.CorrelationID)
	elem(&b, "serviceId", r.ServiceID)
	elem(&b, "messageDate", r.MessageDate.Format(DateLayout))
	elem(&b, "routeId", r.RouteID)
	b.WriteString("<sender>")
	elem(&b, "senderId", r.SenderID)
	elem(&b, "password", r.Password)
	b.WriteString("</sender>")
	for _, p := range r.Properties {
		b.WriteString("<properties>")
		elem(&b, "key", p.Key)
		elem(&b, "value", p.Value)
		b.WriteString("</properties>")
	}
	elem(&b, "sessionId", r.SessionID)
	b.WriteString("</requestInfo><requestData>")
	if r.DataType == "" {
		b.WriteString("<data>")
	} else {
		ns, local, err := ParseQName(r.DataType)
		if err != nil {
			return nil, fmt.Errorf("shep: data's xsi:type: %w", err)
		}
		prefix := "dt"
		if ns == NSXS {
			prefix = "xs" // as clients write xsi:type="xs:string"
		}
		b.WriteString(`<data xmlns:xsi="` + NSXSI + `" xmlns:` + prefix + `="` + esc(ns) + `" xsi:type="` + prefix + `:` + local + `">`)
	}
	switch r.DataMode {
	case DataChildren, "":
		b.Write(r.Data)
	case DataEscaped:
		b.WriteString(esc(string(r.Data)))
	case DataCDATA:
		if bytes.Contains(r.Data, []byte("]]>")) {
			return nil, errors.New("shep: a CDATA payload cannot contain ']]>'")
		}
		b.WriteString("<![CDATA[" + string(r.Data) + "]]>")
	default:
		return nil, fmt.Errorf("shep: unknown data mode %q", r.DataMode)
	}
	b.WriteString("</data></requestData></request></typ:SendMessage></soap:Body></soap:Envelope>")
	return []byte(b.String()), nil
}

// Envelope writes the response as an unsigned SOAP 1.1 envelope. Data, when
// set, is a document whose root is data (as ParseBody returns it) or any
// fragment, which becomes data's content.
func (r *Response) Envelope() []byte {
	var b strings.Builder
	b.WriteString(`<soap:Envelope xmlns:soap="` + NSSOAP + `"><soap:Body><typ:SendMessageResponse xmlns:typ="` + NSTypes +
		`"><response xmlns=""><responseInfo>`)
	elem(&b, "messageId", r.MessageID)
	elem(&b, "correlationId", r.CorrelationID)
	elem(&b, "responseDate", r.ResponseDate.Format(DateLayout))
	b.WriteString("<status>")
	elem(&b, "code", r.Status.Code)
	elem(&b, "message", r.Status.Message)
	b.WriteString("</status>")
	elem(&b, "sessionId", r.SessionID)
	b.WriteString("</responseInfo>")
	if r.Data != nil {
		b.WriteString("<responseData>")
		if r.DataMode == DataEscaped {
			b.WriteString(`<data xmlns:xsi="` + NSXSI + `" xmlns:xs="` + NSXS + `" xsi:type="xs:string">` + esc(string(r.Data)) + `</data>`)
		} else if bytes.HasPrefix(r.Data, []byte("<data")) {
			b.Write(r.Data)
		} else {
			b.WriteString("<data>")
			b.Write(r.Data)
			b.WriteString("</data>")
		}
		b.WriteString("</responseData>")
	}
	b.WriteString("</response></typ:SendMessageResponse></soap:Body></soap:Envelope>")
	return []byte(b.String())
}

// Envelope writes the fault as an unsigned SOAP 1.1 envelope.
func (f *Fault) Envelope() []byte {
	var b strings.Builder
	b.WriteString(`<soap:Envelope xmlns:soap="` + NSSOAP + `"><soap:Body><soap:Fault><faultcode>soap:` + esc(f.Code) +
		`</faultcode><faultstring>` + esc(f.String) + `</faultstring>`)
	if f.Info != nil {
		// The detail element is SendMessageFault1_SendMessageFault, of type
		// ErrorInfo (protocol.md §4); SendMessageSendMessageFaultMsg is
		// only the WSDL's message name.
		b.WriteString(`<detail><typ:SendMessageFault1_SendMessageFault xmlns:typ="` + NSTypes + `">`)
		writeErrorInfo(&b, f.Info)
		b.WriteString(`</typ:SendMessageFault1_SendMessageFault></detail>`)
	}
	b.WriteString(`</soap:Fault></soap:Body></soap:Envelope>`)
	return []byte(b.String())
}

func writeErrorInfo(b *strings.Builder, e *ErrorInfo) {
	elem(b, "errorCode", e.Code)
	elem(b, "errorMessage", e.Message)
	elem(b, "errorData", e.Data)
	if !e.Date.IsZero() {
		elem(b, "errorDate", e.Date.Format(DateLayout))
	}
	if e.Sub != nil {
		b.WriteString("<subError>")
		writeErrorInfo(b, e.Sub)
		b.WriteString("</subError>")
	}
	elem(b, "sessionId", e.SessionID)
}

// Package adapters is the contract Kopir's adapters share: one package per
// external system (legalentities, soleproprietors, persons, payments), each
// a thin typed layer over the one SHEP exchange. It holds what they have in
// common: the Exchanger they call, the errors they answer with, how a
// service's payload travels (Payload), the payload signatures of
// protocol.md §7 (Sign, Verified), and the reading of payloads by path.
//
// A field is read where the service's schema puts it, never found by a
// descendant search: a nested record carrying the same element names (a
// founder's address inside an entity's) must not leak into the outer one.
package adapters

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/kopir/kopir/config/field"
	"github.com/kopir/kopir/gateway/pii/iin"
	"github.com/kopir/kopir/gateway/shep"
	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/signing"
)

// ErrNotFound is an answer, not a failure: the state database holds no
// record for the number asked about.
var ErrNotFound = errors.New("not found")

// Exchanger is the exchange an adapter calls; *exchange.Client is one.
type Exchanger interface {
	Do(ctx context.Context, call exchange.Call) (*exchange.Result, error)
}

// MalformedError is a verified response whose payload an adapter cannot
// read: a failure of the upstream, reported as such.
type MalformedError struct {
	System string
	Msg    string
}

func (e *MalformedError) Error() string { return e.System + ": malformed payload: " + e.Msg }

// ResultError is a payload whose own result code (GBD UL's Status/Code,
// GBD FL's messageResult/code) says the request was not processed, for a
// reason other than "no such record".
type ResultError struct {
	System string
	Code   string
	Name   string
}

func (e *ResultError) Error() string {
	return fmt.Sprintf("%s: result %s (%s)", e.System, e.Code, e.Name)
}

// PayloadSignatureError is an answer whose payload signature is missing or
// does not verify against the service's trust: the transport signature
// only says SHEP passed it on.
type PayloadSignatureError struct {
	System string
	Err    error
}

func (e *PayloadSignatureError) Error() string {
	return e.System + ": the payload signature: " + e.Err.Error()
}

func (e *PayloadSignatureError) Unwrap() error { return e.Err }

// Code is a state dictionary's entry, as state databases give them: a code
// and its names in Russian and Kazakh.
type Code struct {
	Code   string `json:"code"`
	NameRU string `json:"name_ru,omitempty"`
	NameKK string `json:"name_kk,omitempty"`
}

// Ptr is c, or nil when c is empty: an absent dictionary entry is absent
// from the JSON, not an object of empty strings.
func (c Code) Ptr() *Code {
	if c == (Code{}) {
		return nil
	}
	return &c
}

// Payload is how a service's payload travels in data (protocol.md §3): the
// mode is per service, on the same channel.
type Payload struct {
	// Mode is children (the payload's elements are data's children),
	// escaped (the payload document is data's text) or cdata.
	Mode shep.DataMode `yaml:"mode"`
	// XSIType is data's xsi:type, as {namespace}local or xs:local
	// (xs:string for an escaped document). Default: none.
	XSIType string `yaml:"xsi_type"`
}

// Validate reports every problem, each named by its field.
func (p Payload) Validate() error {
	var e field.Errors
	switch p.Mode {
	case shep.DataChildren, shep.DataEscaped, shep.DataCDATA:
	default:
		e.Add("mode", "%q is not children, escaped or cdata", p.Mode)
	}
	if p.XSIType != "" {
		if _, _, err := shep.ParseQName(p.XSIType); err != nil {
			e.Add("xsi_type", "%v", err)
		}
	}
	return e.Err()
}

// Call is the exchange call carrying payload to service this way.
func (p Payload) Call(service string, payload []byte) exchange.Call {
	return exchange.Call{ServiceID: service, Payload: payload, DataMode: p.Mode, DataType: p.XSIType}
}

// Signer signs a payload document with an enveloped signature: the
// organisation's signing key, apart from the transport key (protocol.md
// §7). *signing.Signer is one.
type Signer interface {
	SignEnveloped(ctx context.Context, document []byte) ([]byte, error)
	Certificate() *x509.Certificate
}

// Verifier checks a payload document's enveloped signatures.
// *signing.Verifier is one.
type Verifier interface {
	VerifyEnveloped(document []byte) ([]*signing.Result, error)
}

// Verified returns the document an answer's data carries, checked against
// its enveloped signature: data itself when the signature is its child
// (GBD FL), or data's one element, an escaped document (GBD UL). What
// comes back is the signed content alone, in canonical form, without its
// signatures: the only bytes to read.
func Verified(v Verifier, system string, data []byte) ([]byte, signing.Identity, error) {
	doc, err := shep.PayloadDocument(data)
	if err != nil {
		return nil, signing.Identity{}, &MalformedError{System: system, Msg: err.Error()}
	}
	res, err := v.VerifyEnveloped(doc)
	if err != nil {
		return nil, signing.Identity{}, &PayloadSignatureError{System: system, Err: err}
	}
	return res[0].Body, res[0].Identity, nil
}

// Request describes the request payload of a service whose schema is
// Kopir's own (unconfirmed): a root element in a namespace holding the
// key element (and fixed extra elements).
type Request struct {
	// Element and Namespace name the payload's root.
	Element   string `yaml:"element"`
	Namespace string `yaml:"namespace"`
	// Key is the element carrying the IIN, BIN or id asked about.
	Key string `yaml:"key"`
	// Extra are elements sent as they are, after the key, in order.
	Extra []Field `yaml:"extra"`
}

// Field is an element name and its text.
type Field struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// Payload builds the request payload for key value v.
func (r Request) Payload(v string) []byte {
	var b strings.Builder
	b.WriteString("<ns:" + r.Element + ` xmlns:ns="` + Escape(r.Namespace) + `">`)
	for _, f := range append([]Field{{r.Key, v}}, r.Extra...) {
		b.WriteString("<" + f.Name + ">" + Escape(f.Value) + "</" + f.Name + ">")
	}
	b.WriteString("</ns:" + r.Element + ">")
	return []byte(b.String())
}

// Escape escapes s for element text and attribute values.
func Escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Lookup asks service for the record keyed by id, an IIN or BIN checked
// before any call, and returns the answer's root element, which must be
// named root: ErrNotFound when the answer holds none, *MalformedError when
// it cannot be read, the exchange's error when it failed.
func Lookup(ctx context.Context, ex Exchanger, service string, req Request, id, root string) (*etree.Element, error) {
	if err := iin.Validate(id); err != nil {
		return nil, err
	}
	res, err := ex.Do(ctx, exchange.Call{ServiceID: service, Payload: req.Payload(id)})
	if err != nil {
		return nil, err
	}
	p, err := ReadPayload(res.Response.Data)
	if err != nil {
		return nil, &MalformedError{System: service, Msg: err.Error()}
	}
	el := p.Root(root)
	if el == nil {
		return nil, ErrNotFound
	}
	return el, nil
}

// PayloadDoc is a response payload of Kopir's own schemas, read by path.
type PayloadDoc struct {
	data *etree.Element
}

// ReadPayload reads a response's data (as exchange returns it: a standalone
// document whose root is data). Nil data reads as an empty payload.
func ReadPayload(data []byte) (*PayloadDoc, error) {
	if data == nil {
		return &PayloadDoc{}, nil
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, err
	}
	return &PayloadDoc{data: doc.Root()}, nil
}

// Data is the data element itself, or nil.
func (p *PayloadDoc) Data() *etree.Element { return p.data }

// Root returns data's child element named name (a local name: any
// namespace), or nil.
func (p *PayloadDoc) Root(name string) *etree.Element {
	if p.data == nil || name == "" {
		return nil
	}
	for _, c := range p.data.ChildElements() {
		if c.Tag == name {
			return c
		}
	}
	return nil
}

// Each returns the elements at path below data's root element (a path of
// local names, as Text reads them; the last step may repeat).
func (p *PayloadDoc) Each(path string) []*etree.Element {
	if p.data == nil {
		return nil
	}
	roots := p.data.ChildElements()
	if len(roots) != 1 {
		return nil
	}
	return Each(roots[0], path)
}

// Text returns the trimmed text of the element at path below el: local
// names separated by "/", each a child of the one before.
func Text(el *etree.Element, path string) string {
	if c := At(el, path); c != nil {
		return strings.TrimSpace(c.Text())
	}
	return ""
}

// At returns the element at path below el (see Text), or nil.
func At(el *etree.Element, path string) *etree.Element {
	if el == nil || path == "" {
		return nil
	}
	for _, name := range strings.Split(path, "/") {
		var next *etree.Element
		for _, c := range el.ChildElements() {
			if c.Tag == name {
				next = c
				break
			}
		}
		if next == nil {
			return nil
		}
		el = next
	}
	return el
}

// Each returns the children of el's element at path's parent named as
// path's last step: every repeated element at that place.
func Each(el *etree.Element, path string) []*etree.Element {
	parent, name := el, path
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		parent, name = At(el, path[:i]), path[i+1:]
	}
	if parent == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range parent.ChildElements() {
		if c.Tag == name {
			out = append(out, c)
		}
	}
	return out
}

// Date is a calendar date, written 2006-01-02.
type Date string

// ParseDate reads an xs:date, with or without an offset (2020-01-15,
// 2020-01-15+06:00, 2020-01-15Z), or an xs:dateTime, whose date it keeps
// as written; empty reads as empty.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) >= 10 {
		if _, err := time.Parse(time.DateOnly, s[:10]); err == nil {
			rest := s[10:]
			switch {
			case rest == "", rest == "Z":
				return Date(s[:10]), nil
			case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-'):
				if _, err := time.Parse("-07:00", rest); err == nil {
					return Date(s[:10]), nil
				}
			case rest[0] == 'T':
				if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
					return Date(s[:10]), nil
				}
				if _, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
					return Date(s[:10]), nil
				}
			}
		}
	}
	return "", fmt.Errorf("%q is not a date", s)
}

// Time is the date at midnight UTC; zero for an empty date.
func (d Date) Time() time.Time {
	t, _ := time.Parse(time.DateOnly, string(d))
	return t
}

// Kazakhstan is the time zone dates of state records are in (a single
// zone, UTC+5, since 1 March 2024).
var Kazakhstan = time.FixedZone("KZ", 5*60*60)

// Today is the date in Kazakhstan at t.
func Today(t time.Time) Date { return Date(t.In(Kazakhstan).Format(time.DateOnly)) }

// ParseTime reads a date (2006-01-02) or a date-time; empty reads as zero.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// Fill sets every empty string field of *names to the same field of def:
// configuration names only what differs from the defaults.
func Fill[T any](names *T, def T) {
	v, d := reflect.ValueOf(names).Elem(), reflect.ValueOf(def)
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.String && f.String() == "" && f.CanSet() {
			f.SetString(d.Field(i).String())
		}
	}
}

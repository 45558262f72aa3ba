// Package adapters is the contract Kopir's adapters share: one package per
// external system (legalentities, soleproprietors, persons, payments), each
// a thin typed layer over the one SHEP exchange. It holds what they have in
// common: the Exchanger they call, the ErrNotFound they answer with, and
// the building and reading of service payloads by configurable element
// names — the real schemas of most services are unconfirmed, so names are
// configuration, with defaults matching the mock SHEP's fixtures.
package adapters

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/kopir/kopir/gateway/pii/iin"
	"github.com/kopir/kopir/gateway/shep/exchange"
)

// ErrNotFound is an answer, not a failure: the state database holds no
// record for the number asked about.
var ErrNotFound = errors.New("not found")

// Exchanger is the exchange an adapter calls; *exchange.Client is one.
type Exchanger interface {
	Do(ctx context.Context, call exchange.Call) (*exchange.Result, error)
}

// Request describes a service's request payload: a root element in a
// namespace holding the key element (and fixed extra elements).
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
	b.WriteString("<ns:" + r.Element + ` xmlns:ns="` + escape(r.Namespace) + `">`)
	for _, f := range append([]Field{{r.Key, v}}, r.Extra...) {
		b.WriteString("<" + f.Name + ">" + escape(f.Value) + "</" + f.Name + ">")
	}
	b.WriteString("</ns:" + r.Element + ">")
	return []byte(b.String())
}

func escape(s string) string {
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

// MalformedError is a verified response whose payload an adapter cannot
// read: a failure of the upstream, reported as such.
type MalformedError struct {
	System string
	Msg    string
}

func (e *MalformedError) Error() string { return e.System + ": malformed payload: " + e.Msg }

// Lookup asks service for the record keyed by id, an IIN or BIN checked
// before any call, and returns the answer's element named root:
// ErrNotFound when the answer holds none, *MalformedError when it cannot be
// read, the exchange's error when it failed.
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
	el := p.Find(root)
	if el == nil {
		return nil, ErrNotFound
	}
	return el, nil
}

// Payload is a response payload, read by element local names: a name
// without a prefix matches the element in any namespace.
type Payload struct {
	root *etree.Element
}

// ReadPayload reads a response's data (as exchange returns it: a standalone
// document whose root is data). Nil data reads as an empty payload.
func ReadPayload(data []byte) (*Payload, error) {
	if data == nil {
		return &Payload{}, nil
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, err
	}
	return &Payload{root: doc.Root()}, nil
}

// Find returns the first element named name anywhere in the payload, or
// nil.
func (p *Payload) Find(name string) *etree.Element {
	if p.root == nil || name == "" {
		return nil
	}
	return p.root.FindElement(".//" + name)
}

// Text returns the trimmed text of el's first descendant named name.
func Text(el *etree.Element, name string) string {
	if el == nil || name == "" {
		return ""
	}
	if c := el.FindElement(".//" + name); c != nil {
		return strings.TrimSpace(c.Text())
	}
	return ""
}

// All returns the trimmed texts of el's descendants named name.
func All(el *etree.Element, name string) []string {
	if el == nil || name == "" {
		return nil
	}
	var out []string
	for _, c := range el.FindElements(".//" + name) {
		if t := strings.TrimSpace(c.Text()); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// Date reads a date (2006-01-02) or a date-time; empty reads as zero.
func Date(s string) (time.Time, error) {
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

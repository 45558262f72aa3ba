// Package persons reads a person's identity documents from the state
// database of individuals (GBD FL) through SHEP, by IIN, as the licensing
// rules require (flag-and-emblem rules, paragraph 7).
package persons

import (
	"context"
	"strings"
	"time"

	"github.com/kopir/kopir/adapters"
)

// Document is an identity document.
type Document struct {
	Type      string    `json:"type"`
	Number    string    `json:"number"`
	IssuedOn  time.Time `json:"issued_on,omitzero"`
	ExpiresOn time.Time `json:"expires_on,omitzero"`
	Issuer    string    `json:"issuer,omitempty"`
	// Status is the upstream's, lower-cased: valid, expired, lost…
	Status string `json:"status"`
	// Valid says the document can prove identity today: its status is
	// valid and it has not expired.
	Valid bool `json:"valid"`
}

// Names are the response payload's element local names.
type Names struct {
	Root, IIN, Document, Type, Number, Issued, Expires, Issuer, Status string
}

// Config says how to ask; zero fields take defaults following GBD FL's
// public getPerson shape, as the mock SHEP answers.
type Config struct {
	// ServiceID default: GBDFL_UniversalServiceSync.
	ServiceID string
	// Request default: <ns:getPerson xmlns:ns="http://data.gbd.chdb.scb.kz/"><iin>…</iin>
	// <consentConfirmed>true</consentConfirmed>.
	Request adapters.Request
	Names   Names
	// Now is the clock validity is judged by. Default: time.Now.
	Now func() time.Time
}

// Client reads persons.
type Client struct {
	ex  adapters.Exchanger
	cfg Config
}

// New returns a Client calling ex.
func New(ex adapters.Exchanger, cfg Config) *Client {
	if cfg.ServiceID == "" {
		cfg.ServiceID = "GBDFL_UniversalServiceSync"
	}
	if cfg.Request.Element == "" {
		cfg.Request = adapters.Request{Element: "getPerson", Namespace: "http://data.gbd.chdb.scb.kz/", Key: "iin",
			Extra: []adapters.Field{{Name: "consentConfirmed", Value: "true"}}}
	}
	adapters.Fill(&cfg.Names, Names{Root: "Person", IIN: "iin", Document: "document", Type: "type", Number: "number",
		Issued: "issueDate", Expires: "expiryDate", Issuer: "issuer", Status: "status"})
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Client{ex: ex, cfg: cfg}
}

// IdentityDocuments returns the identity documents of the person with the
// IIN. An invalid IIN is an *iin.Error, found before any call; an unknown
// person is adapters.ErrNotFound; a known person may have none.
func (c *Client) IdentityDocuments(ctx context.Context, number string) ([]Document, error) {
	n := c.cfg.Names
	root, err := adapters.Lookup(ctx, c.ex, c.cfg.ServiceID, c.cfg.Request, number, n.Root)
	if err != nil {
		return nil, err
	}
	if adapters.Text(root, n.IIN) != number {
		return nil, &adapters.MalformedError{System: c.cfg.ServiceID, Msg: "the answer is about another IIN"}
	}
	today := c.cfg.Now()
	docs := []Document{}
	for _, el := range root.FindElements(".//" + n.Document) {
		d := Document{Type: adapters.Text(el, n.Type), Number: adapters.Text(el, n.Number), Issuer: adapters.Text(el, n.Issuer),
			Status: strings.ToLower(adapters.Text(el, n.Status))}
		if d.Type == "" || d.Number == "" {
			return nil, &adapters.MalformedError{System: c.cfg.ServiceID, Msg: "a document without a type or number"}
		}
		if d.IssuedOn, err = adapters.Date(adapters.Text(el, n.Issued)); err == nil {
			d.ExpiresOn, err = adapters.Date(adapters.Text(el, n.Expires))
		}
		if err != nil {
			return nil, &adapters.MalformedError{System: c.cfg.ServiceID, Msg: err.Error()}
		}
		d.Valid = d.Status == "valid" && (d.ExpiresOn.IsZero() || !today.After(d.ExpiresOn.AddDate(0, 0, 1)))
		docs = append(docs, d)
	}
	return docs, nil
}

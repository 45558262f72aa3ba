// Package legalentities reads legal-entity registration data from the
// state database of legal entities through SHEP, by BIN: what the
// licensing rules require the provider to obtain itself rather than ask
// the applicant for.
package legalentities

import (
	"context"
	"strings"
	"time"

	"github.com/kopir/kopir/adapters"
)

// LegalEntity is a registered legal entity.
type LegalEntity struct {
	BIN            string    `json:"bin"`
	NameKK         string    `json:"name_kk,omitempty"`
	NameRU         string    `json:"name_ru,omitempty"`
	LegalForm      string    `json:"legal_form,omitempty"`
	RegisteredOn   time.Time `json:"registered_on,omitzero"`
	ReregisteredOn time.Time `json:"reregistered_on,omitzero"`
	// Status is the upstream's, lower-cased: active, liquidated,
	// suspended…
	Status     string    `json:"status"`
	Address    string    `json:"address,omitempty"`
	Head       *Person   `json:"head,omitempty"`
	Founders   []Founder `json:"founders,omitempty"`
	Activities []string  `json:"activities,omitempty"` // OKED codes
}

// Person is the entity's head.
type Person struct {
	IIN      string `json:"iin,omitempty"`
	FullName string `json:"full_name,omitempty"`
	Position string `json:"position,omitempty"`
}

// Founder is a founder or participant, a person (IIN) or an entity (BIN).
type Founder struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Share string `json:"share,omitempty"`
}

// Names are the response payload's element local names.
type Names struct {
	Root, BIN, NameKK, NameRU, LegalForm, Registered, Reregistered, Status, Address string
	Head, HeadIIN, HeadName, HeadPosition                                           string
	Founder, FounderID, FounderName, FounderShare, Activity                         string
}

// Config says how to ask. Zero fields take the defaults, which match the
// mock SHEP's fixtures; the real service's schema is unconfirmed.
type Config struct {
	// ServiceID default: GBDUL_UniversalServiceSync.
	ServiceID string
	// Request default: <ns:getLegalEntity xmlns:ns="urn:kopir:gbdul:v1"><bin>…</bin>.
	Request adapters.Request
	Names   Names
}

func (c *Config) defaults() {
	if c.ServiceID == "" {
		c.ServiceID = "GBDUL_UniversalServiceSync"
	}
	if c.Request.Element == "" {
		c.Request = adapters.Request{Element: "getLegalEntity", Namespace: "urn:kopir:gbdul:v1", Key: "bin"}
	}
	def := Names{Root: "LegalEntity", BIN: "bin", NameKK: "nameKk", NameRU: "nameRu", LegalForm: "legalForm",
		Registered: "registrationDate", Reregistered: "reregistrationDate", Status: "status", Address: "address",
		Head: "head", HeadIIN: "iin", HeadName: "fullName", HeadPosition: "position",
		Founder: "founder", FounderID: "id", FounderName: "name", FounderShare: "share", Activity: "oked"}
	adapters.Fill(&c.Names, def)
}

// Client reads legal entities.
type Client struct {
	ex  adapters.Exchanger
	cfg Config
}

// New returns a Client calling ex.
func New(ex adapters.Exchanger, cfg Config) *Client {
	cfg.defaults()
	return &Client{ex: ex, cfg: cfg}
}

// LegalEntity returns the entity registered under bin. An invalid BIN is an
// *iin.Error, found before any call; an unknown one is adapters.ErrNotFound;
// failures are *exchange.Error or *adapters.MalformedError.
func (c *Client) LegalEntity(ctx context.Context, bin string) (*LegalEntity, error) {
	n := c.cfg.Names
	root, err := adapters.Lookup(ctx, c.ex, c.cfg.ServiceID, c.cfg.Request, bin, n.Root)
	if err != nil {
		return nil, err
	}
	e := &LegalEntity{
		BIN: adapters.Text(root, n.BIN), NameKK: adapters.Text(root, n.NameKK), NameRU: adapters.Text(root, n.NameRU),
		LegalForm: adapters.Text(root, n.LegalForm), Status: strings.ToLower(adapters.Text(root, n.Status)),
		Address: adapters.Text(root, n.Address), Activities: adapters.All(root, n.Activity),
	}
	if e.BIN != bin {
		return nil, &adapters.MalformedError{System: c.cfg.ServiceID, Msg: "the answer is about another BIN"}
	}
	if e.Status == "" {
		return nil, &adapters.MalformedError{System: c.cfg.ServiceID, Msg: "no status"}
	}
	for _, d := range []struct {
		name string
		to   *time.Time
	}{{n.Registered, &e.RegisteredOn}, {n.Reregistered, &e.ReregisteredOn}} {
		if *d.to, err = adapters.Date(adapters.Text(root, d.name)); err != nil {
			return nil, &adapters.MalformedError{System: c.cfg.ServiceID, Msg: d.name + ": " + err.Error()}
		}
	}
	if h := root.FindElement(".//" + n.Head); h != nil {
		e.Head = &Person{IIN: adapters.Text(h, n.HeadIIN), FullName: adapters.Text(h, n.HeadName), Position: adapters.Text(h, n.HeadPosition)}
	}
	for _, f := range root.FindElements(".//" + n.Founder) {
		e.Founders = append(e.Founders, Founder{ID: adapters.Text(f, n.FounderID), Name: adapters.Text(f, n.FounderName), Share: adapters.Text(f, n.FounderShare)})
	}
	return e, nil
}

// Package soleproprietors reads the state registration of an individual
// entrepreneur (sole proprietor), or the notice that one started activity,
// through SHEP, by IIN.
package soleproprietors

import (
	"context"
	"strings"
	"time"

	"github.com/kopir/kopir/adapters"
)

// SoleProprietor is a registered individual entrepreneur.
type SoleProprietor struct {
	IIN          string    `json:"iin"`
	FullName     string    `json:"full_name,omitempty"`
	TradeName    string    `json:"trade_name,omitempty"`
	RegisteredOn time.Time `json:"registered_on,omitzero"`
	// NoticeOn is the date of the notice of starting activity, for those
	// who started by notice rather than registration.
	NoticeOn time.Time `json:"notice_on,omitzero"`
	// Status is the upstream's, lower-cased: active, ceased, suspended…
	Status    string `json:"status"`
	Activity  string `json:"activity,omitempty"`
	TaxOffice string `json:"tax_office,omitempty"`
}

// Names are the response payload's element local names.
type Names struct {
	Root, IIN, FullName, TradeName, Registered, Notice, Status, Activity, TaxOffice string
}

// Config says how to ask; zero fields take defaults matching the mock
// SHEP (the real schema is unconfirmed).
type Config struct {
	// ServiceID default: GBDIP_UniversalServiceSync.
	ServiceID string
	// Request default: <ns:getSoleProprietor xmlns:ns="urn:kopir:ip:v1"><iin>…</iin>.
	Request adapters.Request
	Names   Names
}

// Client reads sole proprietors.
type Client struct {
	ex  adapters.Exchanger
	cfg Config
}

// New returns a Client calling ex.
func New(ex adapters.Exchanger, cfg Config) *Client {
	if cfg.ServiceID == "" {
		cfg.ServiceID = "GBDIP_UniversalServiceSync"
	}
	if cfg.Request.Element == "" {
		cfg.Request = adapters.Request{Element: "getSoleProprietor", Namespace: "urn:kopir:ip:v1", Key: "iin"}
	}
	adapters.Fill(&cfg.Names, Names{Root: "SoleProprietor", IIN: "iin", FullName: "fullName", TradeName: "tradeName",
		Registered: "registrationDate", Notice: "noticeDate", Status: "status", Activity: "activity", TaxOffice: "taxOffice"})
	return &Client{ex: ex, cfg: cfg}
}

// SoleProprietor returns the entrepreneur registered under iin. An invalid
// IIN is an *iin.Error, found before any call; an unknown one is
// adapters.ErrNotFound.
func (c *Client) SoleProprietor(ctx context.Context, number string) (*SoleProprietor, error) {
	n := c.cfg.Names
	root, err := adapters.Lookup(ctx, c.ex, c.cfg.ServiceID, c.cfg.Request, number, n.Root)
	if err != nil {
		return nil, err
	}
	sp := &SoleProprietor{IIN: adapters.Text(root, n.IIN), FullName: adapters.Text(root, n.FullName),
		TradeName: adapters.Text(root, n.TradeName), Status: strings.ToLower(adapters.Text(root, n.Status)),
		Activity: adapters.Text(root, n.Activity), TaxOffice: adapters.Text(root, n.TaxOffice)}
	if sp.IIN != number || sp.Status == "" {
		return nil, &adapters.MalformedError{System: c.cfg.ServiceID, Msg: "the answer lacks the IIN asked about or a status"}
	}
	if sp.RegisteredOn, err = adapters.ParseTime(adapters.Text(root, n.Registered)); err == nil {
		sp.NoticeOn, err = adapters.ParseTime(adapters.Text(root, n.Notice))
	}
	if err != nil {
		return nil, &adapters.MalformedError{System: c.cfg.ServiceID, Msg: err.Error()}
	}
	if sp.RegisteredOn.IsZero() && sp.NoticeOn.IsZero() {
		return nil, &adapters.MalformedError{System: c.cfg.ServiceID, Msg: "neither a registration nor a notice date"}
	}
	return sp, nil
}

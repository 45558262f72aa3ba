// Package persons reads a person's identity documents from the state
// database of individuals (GBD FL) through SHEP, by IIN, as the licensing
// rules require (flag-and-emblem rules, paragraph 7).
//
// It speaks GBD FL's GBDFL_UniversalServiceSync as protocol.md §8
// describes it (request children messageId, messageDate, senderCode, iin;
// the answer's persons/person and documents/document, signed enveloped),
// or, by configuration, the consent variant GBDFLUniversal_token, whose
// token the personal-data access service (KDP_SERVICE) gives once the
// person has consented.
package persons

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kopir/kopir/adapters"
	"github.com/kopir/kopir/config/field"
	"github.com/kopir/kopir/gateway/pii/iin"
	"github.com/kopir/kopir/gateway/shep"
)

// Processed is the messageResult code of an answer GBD FL processed.
const Processed = "00000"

// ValidStatus is the status code of a document that is in force.
const ValidStatus = "00"

// Document is an identity document.
type Document struct {
	Type      adapters.Code  `json:"type"`
	Number    string         `json:"number"`
	IssuedOn  adapters.Date  `json:"issued_on,omitempty"`
	ExpiresOn adapters.Date  `json:"expires_on,omitempty"`
	Issuer    *adapters.Code `json:"issuer,omitempty"`
	// Status is GBD FL's: 00 valid, 07 unusable, 17 a new document
	// issued…
	Status        adapters.Code `json:"status"`
	InvalidatedOn adapters.Date `json:"invalidated_on,omitempty"`
	// Valid says the document proves identity today: its status is 00 and
	// its end date has not passed.
	Valid bool `json:"valid"`
}

// Person is what GBD FL says of a person (the API gives out only the
// documents).
type Person struct {
	IIN         string         `json:"iin"`
	Surname     string         `json:"surname,omitempty"`
	Name        string         `json:"name,omitempty"`
	Patronymic  string         `json:"patronymic,omitempty"`
	BirthDate   adapters.Date  `json:"birth_date,omitempty"`
	Gender      *adapters.Code `json:"gender,omitempty"`
	Citizenship *adapters.Code `json:"citizenship,omitempty"`
	LifeStatus  *adapters.Code `json:"life_status,omitempty"`
	Documents   []Document     `json:"documents"`
}

// Config is the services.persons section.
type Config struct {
	// ServiceID default: GBDFL_UniversalServiceSync.
	ServiceID string `yaml:"service_id"`
	// SenderCode is the requester's code in GBD FL's requests. Required.
	SenderCode string `yaml:"sender_code"`
	// Payload default: children.
	Payload adapters.Payload `yaml:"payload"`
	// Consent, when its service_id is set, asks through the consent
	// variant instead: a token from the personal-data access service
	// first, then the token service.
	Consent Consent `yaml:"consent"`
	// NotFoundCodes are messageResult codes meaning "no such person"
	// (unconfirmed). A processed answer without the person is "not found"
	// too. Default: none.
	NotFoundCodes []string `yaml:"not_found_codes"`
	// Trust and Pinned are PEM files of the CAs, or leaf certificates,
	// whose signatures on GBD FL's answers are accepted. Default: the shep
	// section's.
	Trust  []string `yaml:"trust"`
	Pinned []string `yaml:"pinned"`
}

// Consent is the consent variant (GBDFLUniversal_token). The shape of the
// token service's exchange is unconfirmed: Kopir sends it messageId,
// messageDate, senderCode and iin as children and reads data/kdpToken.
type Consent struct {
	// ServiceID is the token variant's service, e.g. GBDFLUniversal_token.
	// Default: none (the plain service is used).
	ServiceID string `yaml:"service_id"`
	// TokenService gives the token. Default: KDP_SERVICE.
	TokenService string `yaml:"token_service"`
}

// SetDefaults fills the defaults.
func (c *Config) SetDefaults() {
	if c.ServiceID == "" {
		c.ServiceID = "GBDFL_UniversalServiceSync"
	}
	if c.Payload.Mode == "" {
		c.Payload.Mode = shep.DataChildren
	}
	if c.Consent.ServiceID != "" && c.Consent.TokenService == "" {
		c.Consent.TokenService = "KDP_SERVICE"
	}
}

// Validate reports every problem, each named by its field.
func (c *Config) Validate() error {
	var e field.Errors
	if c.SenderCode == "" {
		e.Add("sender_code", "required: the requester's code GBD FL knows")
	} else if strings.ContainsAny(c.SenderCode, "<>&") {
		e.Add("sender_code", "must not contain <, > or &")
	}
	e.Nest("payload", c.Payload.Validate())
	for i, p := range c.Trust {
		e.Exists(fmt.Sprintf("trust[%d]", i), p)
	}
	for i, p := range c.Pinned {
		e.Exists(fmt.Sprintf("pinned[%d]", i), p)
	}
	return e.Err()
}

// Client reads persons.
type Client struct {
	ex     adapters.Exchanger
	verify adapters.Verifier
	cert   adapters.Signer
	cfg    Config
	now    func() time.Time
}

// Options are a Client's collaborators.
type Options struct {
	// Verifier checks GBD FL's signature on its answers; nil leaves it
	// unchecked (for tests of other things only).
	Verifier adapters.Verifier
	// Signer's certificate is the publicKey of the consent variant.
	Signer adapters.Signer
	// Now is the clock validity is judged by. Default: time.Now.
	Now func() time.Time
}

// New returns a Client calling ex.
func New(ex adapters.Exchanger, cfg Config, o Options) *Client {
	cfg.SetDefaults()
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Client{ex: ex, verify: o.Verifier, cert: o.Signer, cfg: cfg, now: o.Now}
}

// Request is the request payload for number: data's children.
func (c *Client) Request(number, messageID string, at time.Time, extra ...string) []byte {
	var b strings.Builder
	b.WriteString("<messageId>" + messageID + "</messageId><messageDate>" + at.Format(shep.DateLayout) +
		"</messageDate><senderCode>" + adapters.Escape(c.cfg.SenderCode) + "</senderCode><iin>" + number + "</iin>")
	for i := 0; i+1 < len(extra); i += 2 {
		b.WriteString("<" + extra[i] + ">" + adapters.Escape(extra[i+1]) + "</" + extra[i] + ">")
	}
	return []byte(b.String())
}

// IdentityDocuments returns the identity documents of the person with the
// IIN. An invalid IIN is an *iin.Error, found before any call; an unknown
// person is adapters.ErrNotFound; a known person may have none.
func (c *Client) IdentityDocuments(ctx context.Context, number string) ([]Document, error) {
	p, err := c.Person(ctx, number)
	if err != nil {
		return nil, err
	}
	return p.Documents, nil
}

// Person returns what GBD FL says of the person with the IIN.
func (c *Client) Person(ctx context.Context, number string) (*Person, error) {
	if err := iin.Validate(number); err != nil {
		return nil, err
	}
	service := c.cfg.ServiceID
	var extra []string
	if c.cfg.Consent.ServiceID != "" {
		token, err := c.token(ctx, number)
		if err != nil {
			return nil, err
		}
		if c.cert == nil || c.cert.Certificate() == nil {
			return nil, &adapters.MalformedError{System: c.cfg.Consent.ServiceID, Msg: "no certificate for publicKey"}
		}
		service = c.cfg.Consent.ServiceID
		extra = []string{"kdpToken", token, "publicKey", base64.StdEncoding.EncodeToString(c.cert.Certificate().Raw)}
	}
	res, err := c.ex.Do(ctx, c.cfg.Payload.Call(service, c.Request(number, newID(), c.now(), extra...)))
	if err != nil {
		return nil, err
	}
	doc := res.Response.Data
	if c.verify != nil {
		if doc, _, err = adapters.Verified(c.verify, service, doc); err != nil {
			return nil, err
		}
	}
	return c.read(service, doc, number)
}

// token asks the personal-data access service for the person's consent
// token.
func (c *Client) token(ctx context.Context, number string) (string, error) {
	svc := c.cfg.Consent.TokenService
	res, err := c.ex.Do(ctx, c.cfg.Payload.Call(svc, c.Request(number, newID(), c.now())))
	if err != nil {
		return "", err
	}
	p, err := adapters.ReadPayload(res.Response.Data)
	if err != nil {
		return "", &adapters.MalformedError{System: svc, Msg: err.Error()}
	}
	token := adapters.Text(p.Data(), "kdpToken")
	if token == "" {
		return "", &adapters.ResultError{System: svc, Code: "no_token", Name: "no consent token for this person"}
	}
	return token, nil
}

func (c *Client) read(service string, doc []byte, number string) (*Person, error) {
	bad := func(format string, args ...any) error {
		return &adapters.MalformedError{System: service, Msg: fmt.Sprintf(format, args...)}
	}
	var a answer
	if err := xml.NewDecoder(bytes.NewReader(doc)).Decode(&a); err != nil {
		return nil, bad("%v", err)
	}
	code := strings.TrimSpace(a.Result.Code)
	switch {
	case code == "":
		return nil, bad("no messageResult/code")
	case slices.Contains(c.cfg.NotFoundCodes, code):
		return nil, adapters.ErrNotFound
	case code != Processed:
		return nil, &adapters.ResultError{System: service, Code: code, Name: a.Result.NameRu}
	}
	var found *person
	for i := range a.Persons {
		if strings.TrimSpace(a.Persons[i].IIN) == number {
			found = &a.Persons[i]
			break
		}
	}
	if found == nil {
		if len(a.Persons) > 0 {
			return nil, bad("the answer is about another IIN")
		}
		return nil, adapters.ErrNotFound
	}
	t := strings.TrimSpace
	p := &Person{IIN: number, Surname: t(found.Surname), Name: t(found.Name), Patronymic: t(found.Patronymic),
		Gender: found.Gender.ptr(), Citizenship: found.Citizenship.ptr(), LifeStatus: found.LifeStatus.ptr(), Documents: []Document{}}
	var err error
	if p.BirthDate, err = adapters.ParseDate(found.BirthDate); err != nil {
		return nil, bad("birthDate: %v", err)
	}
	today := adapters.Today(c.now())
	for _, d := range found.Documents {
		doc := Document{Type: d.Type.value(), Number: t(d.Number), Issuer: d.IssueOrganization.ptr(), Status: d.Status.value()}
		if doc.Type.Code == "" || doc.Number == "" {
			return nil, bad("a document without a type or number")
		}
		for _, f := range []struct {
			name, in string
			to       *adapters.Date
		}{{"beginDate", d.BeginDate, &doc.IssuedOn}, {"endDate", d.EndDate, &doc.ExpiresOn}, {"invalidityDate", d.InvalidityDate, &doc.InvalidatedOn}} {
			if *f.to, err = adapters.ParseDate(f.in); err != nil {
				return nil, bad("document %s: %v", f.name, err)
			}
		}
		doc.Valid = doc.Status.Code == ValidStatus && (doc.ExpiresOn == "" || doc.ExpiresOn >= today)
		p.Documents = append(p.Documents, doc)
	}
	return p, nil
}

// The answer's schema, by path (encoding/xml matches direct children
// only).
type answer struct {
	Result  code     `xml:"messageResult"`
	Persons []person `xml:"persons>person"`
}

type code struct {
	Code   string `xml:"code"`
	NameRu string `xml:"nameRu"`
	NameKz string `xml:"nameKz"`
}

func (c code) value() adapters.Code {
	return adapters.Code{Code: strings.TrimSpace(c.Code), NameRU: strings.TrimSpace(c.NameRu), NameKK: strings.TrimSpace(c.NameKz)}
}

func (c *code) ptr() *adapters.Code {
	if c == nil {
		return nil
	}
	return c.value().Ptr()
}

type person struct {
	IIN         string `xml:"iin"`
	Surname     string `xml:"surname"`
	Name        string `xml:"name"`
	Patronymic  string `xml:"patronymic"`
	BirthDate   string `xml:"birthDate"`
	Gender      *code  `xml:"gender"`
	Citizenship *code  `xml:"citizenship"`
	LifeStatus  *code  `xml:"lifeStatus"`
	Documents   []struct {
		Type              code   `xml:"type"`
		Number            string `xml:"number"`
		BeginDate         string `xml:"beginDate"`
		EndDate           string `xml:"endDate"`
		IssueOrganization *code  `xml:"issueOrganization"`
		Status            code   `xml:"status"`
		InvalidityDate    string `xml:"invalidityDate"`
	} `xml:"documents>document"`
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

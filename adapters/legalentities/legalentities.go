// Package legalentities reads legal-entity registration data from the
// state database of legal entities (GBD UL) through SHEP, by BIN: what the
// licensing rules require the provider to obtain itself rather than ask
// the applicant for.
//
// It speaks GBD UL's GbdulInfoByBin_v2 as protocol.md §7–8 describes it:
// the request (RequestorBIN, then BIN) signed enveloped with the
// organisation's signing key and sent as an escaped document; the answer's
// own signature checked; the answer read by path into a typed LegalEntity;
// Status/Code deciding whether the entity was found.
package legalentities

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kopir/kopir/adapters"
	"github.com/kopir/kopir/config/field"
	"github.com/kopir/kopir/gateway/pii/iin"
	"github.com/kopir/kopir/gateway/shep"
)

// Namespace is GBD UL's payload namespace; the children are unqualified.
const Namespace = "http://gbdulinfobybin_v2.egp.gbdul.tamur.kz"

// Processed is the Status/Code of an answer GBD UL processed.
const Processed = "002"

// LegalEntity is a registered legal entity, as GBD UL describes it.
type LegalEntity struct {
	BIN string `json:"bin"`
	// RegistrationStatus is the registration's state (registered,
	// liquidated, suspended…) as GBD UL's dictionary names it.
	RegistrationStatus     *adapters.Code `json:"registration_status,omitempty"`
	RegistrationDepartment *adapters.Code `json:"registration_department,omitempty"`
	Names                  Names          `json:"names"`
	LegalForm              *adapters.Code `json:"legal_form,omitempty"`
	FormOfLaw              *adapters.Code `json:"form_of_law,omitempty"`
	PrivateEnterpriseType  *adapters.Code `json:"private_enterprise_type,omitempty"`
	TaxStatus              *adapters.Code `json:"tax_status,omitempty"`
	RegisteredOn           adapters.Date  `json:"registered_on,omitempty"`
	// LastRegisteredOn is the last (re-)registration.
	LastRegisteredOn adapters.Date `json:"last_registered_on,omitempty"`
	LiquidatedOn     adapters.Date `json:"liquidated_on,omitempty"`
	Leader           *Leader       `json:"leader,omitempty"`
	// MainActivity is the main OKED code, when one activity is marked
	// main.
	MainActivity      string     `json:"main_activity,omitempty"`
	Activities        []Activity `json:"activities"`
	Address           *Address   `json:"address,omitempty"`
	AuthorizedCapital string     `json:"authorized_capital,omitempty"`
	Founders          Founders   `json:"founders"`
	// NonResident is the answer's IpsNerezident block, when it has one:
	// for a sole proprietor's IIN, all GBD UL knows.
	NonResident *NonResident `json:"non_resident,omitempty"`
}

// Names are the entity's full and short names in three languages.
type Names struct {
	FullRU  string `json:"full_ru,omitempty"`
	FullKK  string `json:"full_kk,omitempty"`
	FullEN  string `json:"full_en,omitempty"`
	ShortRU string `json:"short_ru,omitempty"`
	ShortKK string `json:"short_kk,omitempty"`
	ShortEN string `json:"short_en,omitempty"`
}

// Leader is the entity's head.
type Leader struct {
	IIN        string         `json:"iin,omitempty"`
	Surname    string         `json:"surname,omitempty"`
	Name       string         `json:"name,omitempty"`
	MiddleName string         `json:"middle_name,omitempty"`
	Position   *adapters.Code `json:"position,omitempty"`
}

// Activity is a declared activity by its OKED code.
type Activity struct {
	OKED   string `json:"oked"`
	Main   bool   `json:"main"`
	NameRU string `json:"name_ru,omitempty"`
	NameKK string `json:"name_kk,omitempty"`
}

// Address is the registered address.
type Address struct {
	// KATO is the administrative-territorial unit's code.
	KATO       string `json:"kato,omitempty"`
	ZIPCode    string `json:"zip_code,omitempty"`
	RegionRU   string `json:"region_ru,omitempty"`
	RegionKK   string `json:"region_kk,omitempty"`
	DistrictRU string `json:"district_ru,omitempty"`
	DistrictKK string `json:"district_kk,omitempty"`
	CityRU     string `json:"city_ru,omitempty"`
	CityKK     string `json:"city_kk,omitempty"`
	StreetRU   string `json:"street_ru,omitempty"`
	StreetKK   string `json:"street_kk,omitempty"`
	Building   string `json:"building,omitempty"`
	Flat       string `json:"flat,omitempty"`
}

// Founders are the founders or participants: legal entities and persons.
type Founders struct {
	Entities []EntityFounder `json:"entities"`
	Persons  []PersonFounder `json:"persons"`
	// Count is how many founders GBD UL says there are, which may exceed
	// those listed.
	Count int `json:"count"`
}

// EntityFounder is a founder that is a legal entity.
type EntityFounder struct {
	BIN     string `json:"bin,omitempty"`
	NameRU  string `json:"name_ru,omitempty"`
	NameKK  string `json:"name_kk,omitempty"`
	Value   string `json:"value,omitempty"`
	Percent string `json:"percent,omitempty"`
}

// PersonFounder is a founder that is a person.
type PersonFounder struct {
	IIN        string `json:"iin,omitempty"`
	Surname    string `json:"surname,omitempty"`
	Name       string `json:"name,omitempty"`
	MiddleName string `json:"middle_name,omitempty"`
	Value      string `json:"value,omitempty"`
	Percent    string `json:"percent,omitempty"`
}

// NonResident is the IpsNerezident block GBD UL answers may carry: a
// non-resident's (or sole proprietor's) registration. Its fields are
// unconfirmed; those read are the ones GBD UL's other records use.
type NonResident struct {
	IIN                string         `json:"iin,omitempty"`
	BIN                string         `json:"bin,omitempty"`
	Surname            string         `json:"surname,omitempty"`
	Name               string         `json:"name,omitempty"`
	MiddleName         string         `json:"middle_name,omitempty"`
	NameRU             string         `json:"name_ru,omitempty"`
	NameKK             string         `json:"name_kk,omitempty"`
	RegistrationStatus *adapters.Code `json:"registration_status,omitempty"`
	RegisteredOn       adapters.Date  `json:"registered_on,omitempty"`
}

// Config is the services.legal_entities section.
type Config struct {
	// ServiceID default: GbdulInfoByBin_v2.
	ServiceID string `yaml:"service_id"`
	// RequestorBIN is the requesting body's BIN, sent in every request.
	// Default: the BIN in the payload signing certificate (an NCA
	// certificate carries it in OU).
	RequestorBIN string `yaml:"requestor_bin"`
	// Payload default: escaped, xsi_type xs:string (protocol.md §3).
	Payload adapters.Payload `yaml:"payload"`
	// NotFoundCodes are Status codes meaning "no such entity" (GBD UL's
	// are unconfirmed). A processed answer (002) without an Organization
	// is "not found" too. Default: none.
	NotFoundCodes []string `yaml:"not_found_codes"`
	// Trust and Pinned are PEM files of the CAs, or leaf certificates,
	// whose signatures on GBD UL's answers are accepted. Default: the shep
	// section's.
	Trust  []string `yaml:"trust"`
	Pinned []string `yaml:"pinned"`
}

// SetDefaults fills the defaults.
func (c *Config) SetDefaults() {
	if c.ServiceID == "" {
		c.ServiceID = "GbdulInfoByBin_v2"
	}
	if c.Payload.Mode == "" {
		c.Payload = adapters.Payload{Mode: shep.DataEscaped, XSIType: "xs:string"}
	}
}

// Validate reports every problem, each named by its field.
func (c *Config) Validate() error {
	var e field.Errors
	if c.RequestorBIN == "" {
	} else if err := iin.Validate(c.RequestorBIN); err != nil {
		e.Add("requestor_bin", "%v", err)
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

// Client reads legal entities.
type Client struct {
	ex     adapters.Exchanger
	sign   adapters.Signer
	verify adapters.Verifier
	cfg    Config
}

// New returns a Client calling ex, signing requests with sign (the
// organisation's signing key) and checking answers with verify (nil: GBD
// UL's signature is not checked, for tests of other things only).
func New(ex adapters.Exchanger, sign adapters.Signer, verify adapters.Verifier, cfg Config) *Client {
	cfg.SetDefaults()
	return &Client{ex: ex, sign: sign, verify: verify, cfg: cfg}
}

// Request is the unsigned request document for bin.
func (c *Client) Request(bin string) []byte {
	return []byte(`<ns2:Request xmlns:ns2="` + Namespace + `"><RequestorBIN>` + adapters.Escape(c.cfg.RequestorBIN) +
		`</RequestorBIN><BIN>` + adapters.Escape(bin) + `</BIN></ns2:Request>`)
}

// Result is a whole GBD UL answer: the entity, or the non-resident block,
// or neither.
type Result struct {
	Entity      *LegalEntity
	NonResident *NonResident
}

// LegalEntity returns the entity registered under bin. An invalid BIN is an
// *iin.Error, found before any call; an unknown one is adapters.ErrNotFound;
// failures are *exchange.Error, *adapters.MalformedError,
// *adapters.PayloadSignatureError or *adapters.ResultError.
func (c *Client) LegalEntity(ctx context.Context, bin string) (*LegalEntity, error) {
	r, err := c.Lookup(ctx, bin)
	if err != nil {
		return nil, err
	}
	switch {
	case r.Entity != nil:
		r.Entity.NonResident = r.NonResident
		return r.Entity, nil
	case r.NonResident != nil:
		return &LegalEntity{BIN: bin, Activities: []Activity{}, Founders: Founders{Entities: []EntityFounder{}, Persons: []PersonFounder{}},
			NonResident: r.NonResident}, nil
	}
	return nil, adapters.ErrNotFound
}

// Lookup asks GBD UL about bin and returns all it answered.
func (c *Client) Lookup(ctx context.Context, bin string) (*Result, error) {
	if err := iin.Validate(bin); err != nil {
		return nil, err
	}
	if c.sign == nil {
		return nil, &adapters.MalformedError{System: c.cfg.ServiceID, Msg: "no signing key for GBD UL requests"}
	}
	signed, err := c.sign.SignEnveloped(ctx, c.Request(bin))
	if err != nil {
		return nil, fmt.Errorf("legalentities: signing the request: %w", err)
	}
	res, err := c.ex.Do(ctx, c.cfg.Payload.Call(c.cfg.ServiceID, signed))
	if err != nil {
		return nil, err
	}
	doc, err := shep.PayloadDocument(res.Response.Data)
	if err != nil {
		return nil, &adapters.MalformedError{System: c.cfg.ServiceID, Msg: err.Error()}
	}
	if c.verify != nil {
		if doc, _, err = adapters.Verified(c.verify, c.cfg.ServiceID, res.Response.Data); err != nil {
			return nil, err
		}
	}
	return c.read(doc, bin)
}

// read maps a verified answer document.
func (c *Client) read(doc []byte, bin string) (*Result, error) {
	bad := func(format string, args ...any) error {
		return &adapters.MalformedError{System: c.cfg.ServiceID, Msg: fmt.Sprintf(format, args...)}
	}
	var a answer
	if err := xml.NewDecoder(bytes.NewReader(doc)).Decode(&a); err != nil {
		return nil, bad("%v", err)
	}
	if a.XMLName.Space != Namespace {
		return nil, bad("the answer's root is {%s}%s, not in GBD UL's namespace", a.XMLName.Space, a.XMLName.Local)
	}
	code := strings.TrimSpace(a.Status.Code)
	switch {
	case code == "":
		return nil, bad("no Status/Code")
	case slices.Contains(c.cfg.NotFoundCodes, code):
		return &Result{}, nil
	case code != Processed:
		return nil, &adapters.ResultError{System: c.cfg.ServiceID, Code: code, Name: a.Status.NameRu}
	}
	r := &Result{}
	if o := a.Organization; o != nil {
		e, err := o.entity()
		if err != nil {
			return nil, bad("%v", err)
		}
		if e.BIN != bin {
			return nil, bad("the answer is about another BIN")
		}
		r.Entity = e
	}
	if n := a.NonResident; n != nil {
		nr, err := n.nonResident()
		if err != nil {
			return nil, bad("IpsNerezident: %v", err)
		}
		r.NonResident = nr
	}
	return r, nil
}

// The answer's schema, by path: encoding/xml matches a field to a direct
// child only, so nothing nested is picked up from elsewhere.
type answer struct {
	XMLName      xml.Name
	Status       code          `xml:"Status"`
	Organization *organization `xml:"Organization"`
	NonResident  *nonResident  `xml:"IpsNerezident"`
}

type code struct {
	Code   string `xml:"Code"`
	NameRu string `xml:"NameRu"`
	NameKz string `xml:"NameKz"`
}

func (c *code) ptr() *adapters.Code {
	if c == nil {
		return nil
	}
	return adapters.Code{Code: strings.TrimSpace(c.Code), NameRU: strings.TrimSpace(c.NameRu), NameKK: strings.TrimSpace(c.NameKz)}.Ptr()
}

type organization struct {
	BIN                    string  `xml:"BIN"`
	RegStatus              *code   `xml:"RegStatus"`
	RegistrationDepartment *code   `xml:"RegistrationDepartment"`
	RegistrationDate       string  `xml:"RegistrationDate"`
	RegistrationLastDate   string  `xml:"RegistrationLastDate"`
	LiquidationDate        string  `xml:"LiquidationDate"`
	FullNameRu             string  `xml:"FullNameRu"`
	FullNameKz             string  `xml:"FullNameKz"`
	FullNameEn             string  `xml:"FullNameEn"`
	ShortNameRu            string  `xml:"ShortNameRu"`
	ShortNameKz            string  `xml:"ShortNameKz"`
	ShortNameEn            string  `xml:"ShortNameEn"`
	OrgForm                *code   `xml:"OrgForm"`
	FormOfLaw              *code   `xml:"FormOfLaw"`
	PrivateEnterpriseType  *code   `xml:"PrivateEnterpriseType"`
	TaxOrgStatus           *code   `xml:"TaxOrgStatus"`
	Leader                 *leader `xml:"OrganizationLeader"`
	Activity               []struct {
		Main           string `xml:"Main"`
		OKED           string `xml:"OKED"`
		ActivityNameRu string `xml:"ActivityNameRu"`
		ActivityNameKz string `xml:"ActivityNameKz"`
	} `xml:"Activity"`
	Address     *address `xml:"Address"`
	AuthCapital string   `xml:"AuthCapital"`
	FoundersUL  []struct {
		BIN                string `xml:"BIN"`
		OrganizationNameRu string `xml:"OrganizationNameRu"`
		OrganizationNameKz string `xml:"OrganizationNameKz"`
		Value              string `xml:"Value"`
		Percent            string `xml:"Percent"`
	} `xml:"FoundersUL"`
	FoundersFL []struct {
		person
		Value   string `xml:"Value"`
		Percent string `xml:"Percent"`
	} `xml:"FoundersFL"`
	FoundersCount   string `xml:"FoundersCount"`
	FoundersCountUL string `xml:"FoundersCountUL"`
	FoundersCountFL string `xml:"FoundersCountFL"`
}

type person struct {
	IIN        string `xml:"IIN"`
	SurName    string `xml:"SurName"`
	Name       string `xml:"Name"`
	MiddleName string `xml:"MiddleName"`
}

type leader struct {
	person
	Position struct {
		PositionType *code `xml:"PositionType"`
	} `xml:"Position"`
}

type address struct {
	KATO           string `xml:"KATO"`
	ZIPCode        string `xml:"ZIPCode"`
	RegionRu       string `xml:"RegionRu"`
	RegionKz       string `xml:"RegionKz"`
	DistrictRu     string `xml:"DistrictRu"`
	DistrictKz     string `xml:"DistrictKz"`
	CityRu         string `xml:"CityRu"`
	CityKz         string `xml:"CityKz"`
	StreetRu       string `xml:"StreetRu"`
	StreetKz       string `xml:"StreetKz"`
	BuildingNumber string `xml:"BuildingNumber"`
	Flat           string `xml:"Flat"`
}

type nonResident struct {
	person
	BIN              string `xml:"BIN"`
	NameRu           string `xml:"NameRu"`
	NameKz           string `xml:"NameKz"`
	RegStatus        *code  `xml:"RegStatus"`
	RegistrationDate string `xml:"RegistrationDate"`
}

func (o *organization) entity() (*LegalEntity, error) {
	t := strings.TrimSpace
	e := &LegalEntity{BIN: t(o.BIN), RegistrationStatus: o.RegStatus.ptr(), RegistrationDepartment: o.RegistrationDepartment.ptr(),
		Names: Names{FullRU: t(o.FullNameRu), FullKK: t(o.FullNameKz), FullEN: t(o.FullNameEn),
			ShortRU: t(o.ShortNameRu), ShortKK: t(o.ShortNameKz), ShortEN: t(o.ShortNameEn)},
		LegalForm: o.OrgForm.ptr(), FormOfLaw: o.FormOfLaw.ptr(), PrivateEnterpriseType: o.PrivateEnterpriseType.ptr(),
		TaxStatus: o.TaxOrgStatus.ptr(), AuthorizedCapital: t(o.AuthCapital), Activities: []Activity{},
		Founders: Founders{Entities: []EntityFounder{}, Persons: []PersonFounder{}}}
	if e.BIN == "" {
		return nil, fmt.Errorf("an Organization without a BIN")
	}
	for _, d := range []struct {
		name string
		in   string
		to   *adapters.Date
	}{{"RegistrationDate", o.RegistrationDate, &e.RegisteredOn}, {"RegistrationLastDate", o.RegistrationLastDate, &e.LastRegisteredOn},
		{"LiquidationDate", o.LiquidationDate, &e.LiquidatedOn}} {
		var err error
		if *d.to, err = adapters.ParseDate(d.in); err != nil {
			return nil, fmt.Errorf("%s: %w", d.name, err)
		}
	}
	if l := o.Leader; l != nil {
		e.Leader = &Leader{IIN: t(l.IIN), Surname: t(l.SurName), Name: t(l.Name), MiddleName: t(l.MiddleName),
			Position: l.Position.PositionType.ptr()}
	}
	for _, a := range o.Activity {
		act := Activity{OKED: t(a.OKED), Main: isTrue(a.Main), NameRU: t(a.ActivityNameRu), NameKK: t(a.ActivityNameKz)}
		if act.Main && e.MainActivity == "" {
			e.MainActivity = act.OKED
		}
		e.Activities = append(e.Activities, act)
	}
	if a := o.Address; a != nil {
		e.Address = &Address{KATO: t(a.KATO), ZIPCode: t(a.ZIPCode), RegionRU: t(a.RegionRu), RegionKK: t(a.RegionKz),
			DistrictRU: t(a.DistrictRu), DistrictKK: t(a.DistrictKz), CityRU: t(a.CityRu), CityKK: t(a.CityKz),
			StreetRU: t(a.StreetRu), StreetKK: t(a.StreetKz), Building: t(a.BuildingNumber), Flat: t(a.Flat)}
	}
	for _, f := range o.FoundersUL {
		e.Founders.Entities = append(e.Founders.Entities, EntityFounder{BIN: t(f.BIN), NameRU: t(f.OrganizationNameRu),
			NameKK: t(f.OrganizationNameKz), Value: t(f.Value), Percent: t(f.Percent)})
	}
	for _, f := range o.FoundersFL {
		e.Founders.Persons = append(e.Founders.Persons, PersonFounder{IIN: t(f.IIN), Surname: t(f.SurName), Name: t(f.Name),
			MiddleName: t(f.MiddleName), Value: t(f.Value), Percent: t(f.Percent)})
	}
	// The count GBD UL gives (the total, or its two parts) wins over
	// the founders listed, which are at most that many.
	listed := len(e.Founders.Entities) + len(e.Founders.Persons)
	counts := []string{o.FoundersCount}
	if t(o.FoundersCount) == "" {
		counts = []string{o.FoundersCountUL, o.FoundersCountFL}
	}
	for _, s := range counts {
		if s = t(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("a founders' count %q is not a number", s)
		}
		e.Founders.Count += n
	}
	e.Founders.Count = max(e.Founders.Count, listed)
	return e, nil
}

func (n *nonResident) nonResident() (*NonResident, error) {
	t := strings.TrimSpace
	r := &NonResident{IIN: t(n.IIN), BIN: t(n.BIN), Surname: t(n.SurName), Name: t(n.Name), MiddleName: t(n.MiddleName),
		NameRU: t(n.NameRu), NameKK: t(n.NameKz), RegistrationStatus: n.RegStatus.ptr()}
	var err error
	if r.RegisteredOn, err = adapters.ParseDate(n.RegistrationDate); err != nil {
		return nil, fmt.Errorf("RegistrationDate: %w", err)
	}
	return r, nil
}

func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "да", "иә":
		return true
	}
	return false
}

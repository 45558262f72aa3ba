// Package access decides which licensing back end is calling the API and
// what it may do: API keys (kept only as SHA-256 hashes) or TLS client
// certificates (by SHA-256 fingerprint) name a client; each client holds a
// list of rights and a rate limit.
//
// Keys are 256-bit random values, so one SHA-256 pass is enough to keep
// them unusable if the configuration leaks; a slow password hash would buy
// nothing and cost every request.
package access

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Rights a client may hold; "*" holds them all.
const (
	RightLegalEntities   = "legal_entities"
	RightSoleProprietors = "sole_proprietors"
	RightPersons         = "persons"
	RightPayments        = "payments"
	RightReport          = "report"       // submit a failure report
	RightReportsRead     = "reports_read" // list and read failure reports (their mails hold IINs)
	RightAll             = "*"
)

// Rights are all the rights there are.
var Rights = []string{RightLegalEntities, RightSoleProprietors, RightPersons, RightPayments, RightReport, RightReportsRead}

// Client is one back end and what it may do: an entry of the clients
// list in Kopir's configuration file, decoded into this struct as it is.
type Client struct {
	// Name names it in logs. Required, unique.
	Name string `yaml:"name"`
	// KeySHA256 are hex SHA-256 hashes of its API keys ('kopir api-key'
	// makes a key and its hash); several, so a key can be rotated without
	// downtime. Keys themselves never go here.
	KeySHA256 []string `yaml:"api_key_sha256"`
	// CertSHA256 are hex SHA-256 fingerprints of its TLS client
	// certificates (they need the API's tls.client_ca).
	CertSHA256 []string `yaml:"cert_sha256"`
	// Allow are its rights: legal_entities, sole_proprietors, persons,
	// payments, report, reports_read, or * for all. Default: none.
	Allow []string `yaml:"allow"`
	// Services are the state services it acts for, as its calls name them
	// in Kopir-Service-Name (and failure reports in service_name); a call
	// naming another, or none, gets 403. Default: any.
	Services []string `yaml:"services"`
	// Rate is its requests per second; 0 is no limit. Default: 0.
	Rate float64 `yaml:"rate"`
	// Burst is the most requests at once. Default: 2 × rate, at least 1.
	Burst int `yaml:"burst"`
}

// SetDefaults fills what is unset with the defaults documented on Client.
func (c *Client) SetDefaults() {
	if c.Burst == 0 {
		c.Burst = max(1, int(2*c.Rate))
	}
}

// Error is a refused request. Status is 401, 403 or 429.
type Error struct {
	Status     int
	Client     string // "" when nobody was recognised
	Msg        string
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Msg }

type client struct {
	Client
	limiter *rate.Limiter
}

// Access is the set of clients.
type Access struct {
	byName map[string]*client
	byKey  map[[32]byte]*client
	byCert map[[32]byte]*client
	now    func() time.Time
}

// New checks clients and indexes their credentials.
func New(clients []Client, now func() time.Time) (*Access, error) {
	if now == nil {
		now = time.Now
	}
	a := &Access{byName: map[string]*client{}, byKey: map[[32]byte]*client{}, byCert: map[[32]byte]*client{}, now: now}
	names := map[string]bool{}
	for i, c := range clients {
		if c.Name == "" || names[c.Name] {
			return nil, fmt.Errorf("clients[%d]: a unique name is required", i)
		}
		names[c.Name] = true
		if len(c.KeySHA256)+len(c.CertSHA256) == 0 {
			return nil, fmt.Errorf("clients[%d] (%s): no api_key_sha256 or cert_sha256", i, c.Name)
		}
		for _, r := range c.Allow {
			if r != RightAll && !slices.Contains(Rights, r) {
				return nil, fmt.Errorf("clients[%d] (%s): unknown right %q (rights: %s, *)", i, c.Name, r, strings.Join(Rights, ", "))
			}
		}
		c.SetDefaults()
		cl := &client{Client: c}
		a.byName[c.Name] = cl
		if c.Rate > 0 {
			cl.limiter = rate.NewLimiter(rate.Limit(c.Rate), c.Burst)
		}
		for _, set := range []struct {
			field  string
			hashes []string
			into   map[[32]byte]*client
		}{{"api_key_sha256", c.KeySHA256, a.byKey}, {"cert_sha256", c.CertSHA256, a.byCert}} {
			for _, h := range set.hashes {
				sum, err := parseSum(h)
				if err != nil {
					return nil, fmt.Errorf("clients[%d] (%s).%s: %w", i, c.Name, set.field, err)
				}
				if set.into[sum] != nil {
					return nil, fmt.Errorf("clients[%d] (%s).%s: the same credential is given to %s", i, c.Name, set.field, set.into[sum].Name)
				}
				set.into[sum] = cl
			}
		}
	}
	return a, nil
}

func parseSum(h string) ([32]byte, error) {
	var sum [32]byte
	b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(h), ":", ""))
	if err != nil || len(b) != 32 {
		return sum, fmt.Errorf("%q is not a hex SHA-256", h)
	}
	copy(sum[:], b)
	return sum, nil
}

// Admit names the client behind r and checks it may use right now.
// A request is refused with *Error: 401 without valid credentials, 403
// outside the client's rights, 429 over its rate.
func (a *Access) Admit(r *http.Request, right string) (string, error) {
	c := a.identify(r)
	if c == nil {
		msg := "an API key (Authorization: Bearer …) or a client certificate is required"
		if auth := r.Header.Get("Authorization"); auth != "" {
			// Said apart, so that a back end with a revoked or mistyped
			// key is not told to send one.
			msg = "the credentials given are not accepted: Authorization must be Bearer and a key this gateway knows"
		}
		return "", &Error{Status: http.StatusUnauthorized, Msg: msg}
	}
	if !slices.Contains(c.Allow, right) && !slices.Contains(c.Allow, RightAll) {
		return c.Name, &Error{Status: http.StatusForbidden, Client: c.Name, Msg: fmt.Sprintf("client %s does not hold the right %q", c.Name, right)}
	}
	if c.limiter != nil {
		res := c.limiter.ReserveN(a.now(), 1)
		if d := res.DelayFrom(a.now()); d > 0 {
			res.CancelAt(a.now())
			return c.Name, &Error{Status: http.StatusTooManyRequests, Client: c.Name, RetryAfter: d,
				Msg: fmt.Sprintf("client %s is over its rate of %g requests a second", c.Name, c.Rate)}
		}
	}
	return c.Name, nil
}

// Serves checks that client may act for the state service a call names:
// 403 when the client is limited to other services, or names none.
func (a *Access) Serves(client, service string) error {
	c := a.byName[client]
	if c == nil || len(c.Services) == 0 {
		return nil
	}
	if service = strings.TrimSpace(service); slices.Contains(c.Services, service) {
		return nil
	}
	if service == "" {
		return &Error{Status: http.StatusForbidden, Client: client,
			Msg: fmt.Sprintf("client %s must name its state service (Kopir-Service-Name): %s", client, strings.Join(c.Services, ", "))}
	}
	return &Error{Status: http.StatusForbidden, Client: client,
		Msg: fmt.Sprintf("client %s does not act for the service %q", client, service)}
}

// Scope is the state services client acts for, nil when it may act for
// any: what bounds the failure reports it may read.
func (a *Access) Scope(client string) []string {
	if c := a.byName[client]; c != nil {
		return c.Services
	}
	return nil
}

// identify finds the client by key, then by certificate. A wrong key is
// not retried as a certificate: a caller that sends a key means it.
func (a *Access) identify(r *http.Request) *client {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, key, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return nil
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(key)))
		// The map finds the entry; compare once more in constant time so
		// the lookup's timing says nothing about near misses.
		if c := a.byKey[sum]; c != nil {
			for _, h := range c.KeySHA256 {
				want, _ := parseSum(h)
				if subtle.ConstantTimeCompare(want[:], sum[:]) == 1 {
					return c
				}
			}
		}
		return nil
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return a.byCert[sha256.Sum256(r.TLS.VerifiedChains[0][0].Raw)]
	}
	return nil
}

// NewKey makes an API key and its hash for the configuration.
func NewKey() (key, sum string) {
	var b [32]byte
	rand.Read(b[:])
	key = "kopir_" + base64.RawURLEncoding.EncodeToString(b[:])
	s := sha256.Sum256([]byte(key))
	return key, hex.EncodeToString(s[:])
}

// RetryAfterSeconds is the Retry-After header's value for d.
func RetryAfterSeconds(d time.Duration) string {
	return fmt.Sprint(int(math.Ceil(d.Seconds())))
}

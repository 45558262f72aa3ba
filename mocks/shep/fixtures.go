package shepmock

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kopir/kopir/gateway/shep"
	"github.com/kopir/kopir/signing/xmldoc"
)

//go:embed fixtures/default.yaml
var defaultFixtures []byte

// Fixtures are the mock's data: what each service answers, and the faults
// injected from the start.
type Fixtures struct {
	Services map[string]*Service `yaml:"services"`
	Faults   []FaultRule         `yaml:"faults"`
}

// Service is one serviceId's data.
type Service struct {
	// Key is the local name of the request payload element whose text
	// selects a record (iin, bin…).
	Key string `yaml:"key"`
	// Records are response payloads by key: a document, or data's
	// children.
	Records map[string]string `yaml:"records"`
	// NotFound is the answer when no record matches. Default: status
	// SCSS001 with no responseData.
	NotFound *Answer `yaml:"not_found"`
	// AnswerMode is how records travel in data: children (default) or
	// escaped (as GBD UL's do).
	AnswerMode shep.DataMode `yaml:"answer_mode"`
	// SignAnswers signs each answer's payload enveloped, as GBD UL and
	// GBD FL sign theirs: the escaped document, or data and its children.
	SignAnswers bool `yaml:"sign_answers"`
	// RequestMode, when set, refuses a payload travelling another way.
	RequestMode shep.DataMode `yaml:"request_mode"`
	// SignedRequests refuses a request payload without a valid enveloped
	// signature (GBD UL's rule).
	SignedRequests bool `yaml:"signed_requests"`
	// Require are elements a request payload must carry, non-empty.
	Require []string `yaml:"require"`
}

// Answer is a status and an optional payload.
type Answer struct {
	Code    string `yaml:"code"`
	Message string `yaml:"message"`
	Payload string `yaml:"payload"`
}

// DefaultFixtures returns the embedded realistic data set.
func DefaultFixtures() (*Fixtures, error) { return ParseFixtures(defaultFixtures) }

// LoadFixtures reads a fixtures file.
func LoadFixtures(path string) (*Fixtures, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fixtures: %w", err)
	}
	f, err := ParseFixtures(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// ParseFixtures reads fixtures YAML, refusing unknown keys, payloads that
// are not well-formed XML and invalid fault rules.
func ParseFixtures(b []byte) (*Fixtures, error) {
	var f Fixtures
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("fixtures: %w", err)
	}
	for id, svc := range f.Services {
		if svc == nil || svc.Key == "" {
			return nil, fmt.Errorf("fixtures: services.%s.key is required", id)
		}
		for name, m := range map[string]shep.DataMode{"answer_mode": svc.AnswerMode, "request_mode": svc.RequestMode} {
			if m != "" && m != shep.DataChildren && m != shep.DataEscaped {
				return nil, fmt.Errorf("fixtures: services.%s.%s: %q is not children or escaped", id, name, m)
			}
		}
		for k, payload := range svc.Records {
			if _, err := xmldoc.Parse([]byte("<data>"+payload+"</data>"), xmldoc.Limits{}); err != nil {
				return nil, fmt.Errorf("fixtures: services.%s.records.%s: %w", id, k, err)
			}
		}
		if svc.NotFound != nil && svc.NotFound.Payload != "" {
			if _, err := xmldoc.Parse([]byte("<data>"+svc.NotFound.Payload+"</data>"), xmldoc.Limits{}); err != nil {
				return nil, fmt.Errorf("fixtures: services.%s.not_found.payload: %w", id, err)
			}
		}
	}
	for i := range f.Faults {
		if err := f.Faults[i].Validate(); err != nil {
			return nil, fmt.Errorf("fixtures: faults[%d]: %w", i, err)
		}
	}
	return &f, nil
}

// keyOf finds the text of the first element named local in a payload.
func keyOf(payload []byte, local string) string {
	d, err := xmldoc.Parse(payload, xmldoc.Limits{})
	if err != nil {
		return ""
	}
	for i := range d.Len() {
		if d.Node(int32(i)).Kind == xmldoc.Element && d.Local(int32(i)) == local {
			return strings.TrimSpace(d.Text(int32(i)))
		}
	}
	return ""
}

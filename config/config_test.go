package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kopir/kopir/config"
	"github.com/kopir/kopir/signing/devpki"
)

// inDevDir runs the test in a folder holding data/pki, as the example
// configuration expects.
func inDevDir(t *testing.T) {
	dir := t.TempDir()
	if _, err := devpki.Ensure(filepath.Join(dir, "data", "pki"), devpki.ECDSAP256); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
}

func noenv(string) string { return "" }

func TestExampleIsValid(t *testing.T) {
	example, err := os.ReadFile("kopir.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inDevDir(t)
	c, err := config.Parse(example, noenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.SHEP.Attempts != 3 || c.SHEP.Timeout != 10*time.Second || c.SHEP.Deadline != 15*time.Second || c.SHEP.HangAfter != 5*time.Second || c.MCI[2026] != 4325 ||
		c.Payments.Breaker.Failures != 5 || c.Services.Persons.ServiceID != "GBDFL_UniversalServiceSync" ||
		c.Services.Persons.SenderCode != "kopir-dev" || c.Services.LegalEntities.ServiceID != "GbdulInfoByBin_v2" ||
		c.Services.LegalEntities.Payload.Mode != "escaped" || !c.PayloadSigningSet() {
		t.Fatalf("%+v", c)
	}
}

const minimal = `
identity: {key: data/pki/gateway-key.pem, cert: data/pki/gateway.pem}
shep: {url: "http://127.0.0.1:1/", sender_id: k, trust: [data/pki/ca.pem]}
payments: {url: "http://127.0.0.1:2/", sender_id: k, trust: [data/pki/ca.pem]}
reports: {from: kopir@example.kz, smtp: {host: relay.example.kz}}
clients: [{name: importer, api_key_sha256: [8c6976e5b5410415bde908bd4dee15dfb167a9c873fc4bb8a81f6f2ab448a918], allow: [persons], rate: 5}]
`

func TestDefaults(t *testing.T) {
	inDevDir(t)
	c, err := config.Parse([]byte(minimal), noenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Log != "info" || c.Payments.Attempts != 3 || time.Duration(c.Payments.BackoffMax) != 5*time.Second ||
		c.SHEP.DataMode != "children" || c.Payments.Deadline != 15*time.Second || c.Payments.Timeout != 10*time.Second || c.MCI[2025] != 3932 || c.Reports.To[0] != "sd@nitec.kz" || c.Reports.SMTP.Port != 587 ||
		c.Ops.Listen != "127.0.0.1:9464" || c.Clients[0].Burst != 10 || time.Duration(c.Ops.CertificateMinValidity) != 24*time.Hour ||
		c.Reports.SMTP.TLS != "starttls" || time.Duration(c.Reports.Window) != 10*time.Minute || c.Reports.Database != "kopir-outbox.db" {
		t.Fatalf("%+v", c)
	}
	// GBD FL's senderCode is SHEP's sender id unless set; GBD UL's payload
	// travels escaped as xs:string, GBD FL's as children (protocol.md §3).
	s := c.Services
	if s.Persons.SenderCode != "k" || s.Persons.Payload.Mode != "children" || s.LegalEntities.Payload.Mode != "escaped" ||
		s.LegalEntities.Payload.XSIType != "xs:string" || s.Persons.Consent.TokenService != "" || c.PayloadSigningSet() {
		t.Fatalf("services %+v", s)
	}
}

// TestErrorsNameTheField: every problem is reported, each by its path.
func TestErrorsNameTheField(t *testing.T) {
	inDevDir(t)
	tests := []struct {
		name, yaml string
		env        map[string]string
		fields     []string
	}{
		{"empty file", ``, nil, []string{"identity", "shep.url", "shep.sender_id", "shep.trust", "payments.url", "reports.from",
			"reports.smtp.host", "clients"}},
		// Addresses a listener would refuse only at start: all reported, each by its field.
		{"listen addresses", minimal + "listen: 127.0.0.1:80800\nops: {listen: nonsense}\n", nil, []string{"listen", "80800", "ops.listen", "nonsense"}},
		{"listen without a port", minimal + "listen: 127.0.0.1\n", nil, []string{"listen", "host:port"}},
		{"bad clients", strings.Replace(minimal, "allow: [persons]", "allow: [everything]", 1) +
			"tls: {cert: c.pem}\nops: {listen: \"127.0.0.1:8080\"}\n", nil, []string{"unknown right", "tls", "ops.listen"}},
		{"bad postgres", strings.Replace(minimal, "smtp: {host: relay.example.kz}}", "smtp: {host: relay.example.kz}, postgres: {env: PG}}", 1),
			map[string]string{"PG": "mysql://x"}, []string{"reports.postgres", "not a postgres:// URL"}},
		{"bad key hash", strings.Replace(minimal, "8c6976e5", "zz", 1), nil, []string{"api_key_sha256", "not a hex SHA-256"}},
		{"anonymous", minimal[:strings.Index(minimal, "clients:")] + "allow_anonymous: true\n", nil, nil},
		{"no clients", minimal[:strings.Index(minimal, "clients:")], nil, []string{"clients: required"}},
		{"bad reports", strings.Replace(minimal, "reports: {from: kopir@example.kz, smtp: {host: relay.example.kz}}",
			"reports: {from: kopir@example.kz, to: [nobody], smtp: {host: relay, tls: maybe, username: kopir}, hold: 1h}", 1), nil, []string{"reports.to[0]", "reports.smtp.tls", "reports.smtp.password", "reports.hold"}},
		{"unknown key", minimal + "colour: blue\n", nil, []string{"colour"}},
		{"bad values", minimal + `log: loud
mci: {1999: 100}
`, nil, []string{"log", "mci.1999"}},
		{"bad upstream", strings.Replace(minimal, `shep: {url: "http://127.0.0.1:1/", sender_id: k, trust: [data/pki/ca.pem]}`,
			`shep: {url: "ftp://x", sender_id: k, trust: [nope.pem], attempts: 11, data_mode: xml, tls: {client_cert: a.pem}}`, 1), nil,
			[]string{"shep.url", "shep.trust[0]", "shep.attempts", "shep.data_mode", "shep.tls"}},
		{"bad profile", strings.Replace(minimal, `shep: {url: "http://127.0.0.1:1/", sender_id: k, trust: [data/pki/ca.pem]}`,
			`shep: {url: "http://127.0.0.1:1/", sender_id: k, trust: [data/pki/ca.pem], content_type: application/json, binding: loose, `+
				`timeout: 20s, deadline: 15s, layout: shep}`, 1), nil,
			[]string{"shep.content_type", "shep.binding", "shep.timeout", "shep.layout"}},
		{"bad key_info", strings.Replace(minimal, `trust: [data/pki/ca.pem]}`, `trust: [data/pki/ca.pem], key_info: [thumbprint]}`, 1), nil,
			[]string{"thumbprint"}},
		{"secret unset", minimal + "", map[string]string{}, nil},
		{"p12 without password", `identity: {p12: data/pki/gateway.p12}` + minimal[strings.Index(minimal, "\nshep"):], nil, []string{"identity.p12_password"}},
		{"p12 password env unset", `identity: {p12: data/pki/gateway.p12, p12_password: {env: P12}}` + minimal[strings.Index(minimal, "\nshep"):], nil,
			[]string{"identity.p12_password", "P12"}},
		{"bad duration", minimal + "", map[string]string{"KOPIR_SHEP_TIMEOUT": "soon"}, []string{"KOPIR_SHEP_TIMEOUT"}},
		{"ops token short", minimal + "ops: {maintenance_token: {env: OPS}}\n", map[string]string{"OPS": "secret"},
			[]string{"ops.maintenance_token", "shorter than 16"}},
		{"ops token unset", minimal + "ops: {maintenance_token: {env: OPS}}\n", nil, []string{"ops.maintenance_token", "OPS"}},
		// Four problems of shape at once, each by its path, in words: no
		// line numbers, no Go types.
		{"shape", minimal + "ops: {readiness_cache: soon, breakers_affect_readiness: maybe}\nreports: {from: a@b.kz, smtp: {host: h, port: x}}\nlgo: debug\n",
			nil, []string{"ops.readiness_cache", `"soon" is not a duration`, "ops.breakers_affect_readiness", "not true or false",
				"reports.smtp.port", "not a whole number", "lgo", "did you mean log?"}},
		{"port 0", minimal + "reports: {from: a@b.kz, smtp: {host: h, port: 0}}\n", nil, []string{"reports.smtp.port", "0 is not a port"}},
		{"a typo in a nested key", strings.Replace(minimal, "sender_id: k, trust", "sendr_id: k, trust", 1), nil,
			[]string{"shep.sendr_id", "did you mean sender_id?"}},
		{"payload modes", minimal + "services: {legal_entities: {payload: {mode: base64, xsi_type: string}, requestor_bin: \"050340000109\"}, persons: {payload: {mode: children, xsi_type: \"{urn:x\"}}}\n", nil,
			[]string{"services.legal_entities.payload.mode", "services.legal_entities.payload.xsi_type", "services.legal_entities.requestor_bin", "services.persons.payload.xsi_type"}},
		{"payload signing key missing", minimal + "payload_signing: {key: nowhere.pem, cert: nowhere.pem}\n", nil, []string{"payload_signing.key", "payload_signing.cert"}},
		{"ops token", minimal + "ops: {maintenance_token: {env: OPS}}\n", map[string]string{"OPS": "0123456789abcdef"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.yaml), func(k string) string { return tt.env[k] })
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, f := range tt.fields {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("the error does not name %s:\n%v", f, err)
				}
			}
		})
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	inDevDir(t)
	os.WriteFile("pw", []byte("s3cret\n"), 0o600)
	env := map[string]string{"KOPIR_LISTEN": "0.0.0.0:9090", "KOPIR_SHEP_TIMEOUT": "5s", "KOPIR_SHEP_ATTEMPTS": "2",
		"KOPIR_PAYMENTS_TRUST": "data/pki/ca.pem, data/pki/gateway.pem", "KOPIR_SHEP_BREAKER_FAILURES": "9",
		"KOPIR_SHEP_PASSWORD_FILE": "pw"}
	c, err := config.Parse([]byte(minimal), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:9090" || time.Duration(c.SHEP.Timeout) != 5*time.Second || c.SHEP.Attempts != 2 ||
		len(c.Payments.Trust) != 2 || c.SHEP.Breaker.Failures != 9 {
		t.Fatalf("%+v", c)
	}
	if pw, err := c.SHEP.Password.Resolve(noenv); err != nil || pw != "s3cret" {
		t.Fatalf("password from file: %q %v", pw, err)
	}
	var fe *config.FieldError
	if _, err := config.Parse([]byte(minimal), func(k string) string {
		return map[string]string{"KOPIR_SHEP_ATTEMPTS": "many"}[k]
	}); !errors.As(err, &fe) || fe.Field != "KOPIR_SHEP_ATTEMPTS" {
		t.Fatalf("bad override: %v", err)
	}
}

// TestNoSecretsInFile: a password cannot be written as a plain value.
func TestNoSecretsInFile(t *testing.T) {
	inDevDir(t)
	_, err := config.Parse([]byte(minimal+"\n"+`identity: {}`), noenv)
	if err == nil {
		t.Fatal("a duplicate key was accepted")
	}
	y := strings.Replace(minimal, "sender_id: k, trust", "sender_id: k, password: hunter2, trust", 1)
	if _, err := config.Parse([]byte(y), noenv); err == nil {
		t.Fatal("a plain password in the file was accepted")
	}
}

// FuzzParse: no configuration text panics the parser.
func FuzzParse(f *testing.F) {
	example, _ := os.ReadFile("kopir.example.yaml")
	f.Add(example)
	f.Add([]byte(minimal))
	f.Add([]byte("shep: [1, 2]\nmci: {x: y}\nclients: {a: b}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		config.Parse(b, noenv)
	})
}

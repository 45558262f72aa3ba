// Package paymentsmock is a mock of the digital-government payment gateway
// for testers: the mock SHEP's server (signed answers, verified requests,
// fixtures, fault injection, control API) with the payment gateway's
// fixtures — a payer's payments, and a payment by id.
package paymentsmock

import (
	_ "embed"

	shepmock "github.com/kopir/kopir/mocks/shep"
)

//go:embed fixtures.yaml
var fixtures []byte

// DefaultFixtures returns the embedded payments.
func DefaultFixtures() (*shepmock.Fixtures, error) { return shepmock.ParseFixtures(fixtures) }

// New returns a mock payment gateway; cfg.Fixtures nil means the embedded
// set.
func New(cfg shepmock.Config) (*shepmock.Server, error) {
	if cfg.Fixtures == nil {
		f, err := DefaultFixtures()
		if err != nil {
			return nil, err
		}
		cfg.Fixtures = f
	}
	return shepmock.New(cfg)
}

package soleproprietors_test

import (
	"context"
	"errors"
	"testing"

	"github.com/kopir/kopir/adapters"
	"github.com/kopir/kopir/adapters/soleproprietors"
	"github.com/kopir/kopir/gateway/pii/iin"
	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/internal/mocktest"
	shepmock "github.com/kopir/kopir/mocks/shep"
)

func TestSoleProprietor(t *testing.T) {
	env := mocktest.New(t, nil, nil)
	c := soleproprietors.New(env.Client, soleproprietors.Config{})
	sp, err := c.SoleProprietor(context.Background(), "850721400012")
	if err != nil || sp.Status != "active" || sp.TradeName != "ЖК «Гүлнар Текстиль»" || sp.RegisteredOn.Year() != 2015 || sp.TaxOffice == "" {
		t.Fatalf("%v %+v", err, sp)
	}
	sp, err = c.SoleProprietor(context.Background(), "751230400015")
	if err != nil || sp.Status != "ceased" || sp.NoticeOn.Year() != 2010 || !sp.RegisteredOn.IsZero() {
		t.Fatalf("notice-based: %v %+v", err, sp)
	}
	if _, err := c.SoleProprietor(context.Background(), "880101300010"); !errors.Is(err, adapters.ErrNotFound) {
		t.Fatalf("not a sole proprietor: %v", err)
	}
	var ie *iin.Error
	if _, err := c.SoleProprietor(context.Background(), "850721400013"); !errors.As(err, &ie) {
		t.Fatalf("bad IIN: %v", err)
	}
}

func TestMalformed(t *testing.T) {
	fixtures, _ := shepmock.ParseFixtures([]byte(`services:
  GBDIP_UniversalServiceSync:
    key: iin
    records:
      "850721400012": "<SoleProprietor><iin>850721400012</iin><status>ACTIVE</status></SoleProprietor>"
`))
	var me *adapters.MalformedError
	_, err := soleproprietors.New(mocktest.New(t, fixtures, nil).Client, soleproprietors.Config{}).SoleProprietor(context.Background(), "850721400012")
	if !errors.As(err, &me) {
		t.Fatalf("no dates: %v", err)
	}
}

func TestFaults(t *testing.T) {
	mocktest.CheckFaults(t, nil, func(ctx context.Context, c *exchange.Client) error {
		_, err := soleproprietors.New(c, soleproprietors.Config{}).SoleProprietor(ctx, "850721400012")
		return err
	})
}

package persons_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kopir/kopir/adapters"
	"github.com/kopir/kopir/adapters/persons"
	"github.com/kopir/kopir/gateway/pii/iin"
	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/internal/mocktest"
	shepmock "github.com/kopir/kopir/mocks/shep"
)

var today = func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }

func TestIdentityDocuments(t *testing.T) {
	env := mocktest.New(t, nil, nil)
	c := persons.New(env.Client, persons.Config{Now: today})
	docs, err := c.IdentityDocuments(context.Background(), "880101300010")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Type != "IDENTITY_CARD" || docs[0].Number != "045678912" || !docs[0].Valid ||
		docs[1].Type != "PASSPORT" || docs[1].Valid || docs[1].Status != "expired" {
		t.Fatalf("%+v", docs)
	}
	lost, err := c.IdentityDocuments(context.Background(), "020315500019")
	if err != nil || len(lost) != 1 || lost[0].Valid || lost[0].Status != "lost" {
		t.Fatalf("lost card: %v %+v", err, lost)
	}
	// A valid status past the expiry date is not valid.
	late := persons.New(env.Client, persons.Config{Now: func() time.Time { return time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC) }})
	docs, err = late.IdentityDocuments(context.Background(), "900515400014")
	if err != nil || len(docs) != 1 || !docs[0].Valid {
		t.Fatalf("2031, expires 2033: %v %+v", err, docs)
	}
	docs, _ = late.IdentityDocuments(context.Background(), "751230400015")
	if docs[0].Valid {
		t.Fatal("a card that expired in 2028 is valid in 2031")
	}
	if _, err := c.IdentityDocuments(context.Background(), "871212550034"); !errors.Is(err, adapters.ErrNotFound) {
		t.Fatalf("unknown person: %v", err)
	}
	var ie *iin.Error
	if _, err := c.IdentityDocuments(context.Background(), "88010130001"); !errors.As(err, &ie) || ie.Reason != iin.ReasonLength {
		t.Fatalf("short IIN: %v", err)
	}
}

func TestMalformed(t *testing.T) {
	fixtures, _ := shepmock.ParseFixtures([]byte(`services:
  GBDFL_UniversalServiceSync:
    key: iin
    records:
      "880101300010": "<Person><iin>880101300010</iin><documents><document><type>X</type></document></documents></Person>"
      "900515400014": "<Person><iin>880101300010</iin></Person>"
`))
	c := persons.New(mocktest.New(t, fixtures, nil).Client, persons.Config{})
	for _, n := range []string{"880101300010", "900515400014"} {
		var me *adapters.MalformedError
		if _, err := c.IdentityDocuments(context.Background(), n); !errors.As(err, &me) {
			t.Errorf("%s: %v", n, err)
		}
	}
}

func TestFaults(t *testing.T) {
	mocktest.CheckFaults(t, nil, func(ctx context.Context, c *exchange.Client) error {
		_, err := persons.New(c, persons.Config{}).IdentityDocuments(ctx, "880101300010")
		return err
	})
}

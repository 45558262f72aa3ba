package legalentities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kopir/kopir/adapters"
	"github.com/kopir/kopir/adapters/legalentities"
	"github.com/kopir/kopir/gateway/pii/iin"
	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/internal/mocktest"
	shepmock "github.com/kopir/kopir/mocks/shep"
)

const service = "GBDUL_UniversalServiceSync"

func TestFound(t *testing.T) {
	env := mocktest.New(t, nil, nil)
	c := legalentities.New(env.Client, legalentities.Config{})
	e, err := c.LegalEntity(context.Background(), "050340000108")
	if err != nil {
		t.Fatal(err)
	}
	if e.BIN != "050340000108" || e.NameRU != "ТОО «Астана Экспорт Трейд»" || e.NameKK == "" || e.LegalForm != "LLP" ||
		e.Status != "active" || !e.RegisteredOn.Equal(time.Date(2005, 3, 10, 0, 0, 0, 0, time.UTC)) ||
		e.ReregisteredOn.IsZero() || e.Head == nil || e.Head.IIN != "880101300010" ||
		len(e.Founders) != 1 || e.Founders[0].Share != "100" || len(e.Activities) != 2 || e.Activities[0] != "46900" {
		t.Fatalf("%+v %+v", e, e.Head)
	}
	for bin, status := range map[string]string{"190740000100": "liquidated", "980440000105": "suspended", "121140000109": "active"} {
		e, err := c.LegalEntity(context.Background(), bin)
		if err != nil || e.Status != status {
			t.Errorf("%s: %v %+v", bin, err, e)
		}
	}
}

func TestNotFoundAndBadInput(t *testing.T) {
	env := mocktest.New(t, nil, nil)
	c := legalentities.New(env.Client, legalentities.Config{})
	if _, err := c.LegalEntity(context.Background(), "260110000120"); !errors.Is(err, adapters.ErrNotFound) {
		t.Fatalf("unknown BIN: %v", err)
	}
	for _, bad := range []string{"050340000109", "05034000010", "BIN050340000", ""} {
		var ie *iin.Error
		if _, err := c.LegalEntity(context.Background(), bad); !errors.As(err, &ie) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if env.Mock.Calls(service) != 1 {
		t.Fatalf("%d calls: an invalid BIN reached the upstream", env.Mock.Calls(service))
	}
}

func TestMalformed(t *testing.T) {
	fixtures, err := shepmock.ParseFixtures([]byte(`services:
  GBDUL_UniversalServiceSync:
    key: bin
    records:
      "050340000108": "<LegalEntity><bin>050340000108</bin></LegalEntity>"
      "121140000109": "<LegalEntity><bin>050340000108</bin><status>ACTIVE</status></LegalEntity>"
      "190740000100": "<LegalEntity><bin>190740000100</bin><status>ACTIVE</status><registrationDate>last year</registrationDate></LegalEntity>"
`))
	if err != nil {
		t.Fatal(err)
	}
	c := legalentities.New(mocktest.New(t, fixtures, nil).Client, legalentities.Config{})
	for _, bin := range []string{"050340000108", "121140000109", "190740000100"} {
		var me *adapters.MalformedError
		if _, err := c.LegalEntity(context.Background(), bin); !errors.As(err, &me) {
			t.Errorf("%s: %v", bin, err)
		}
	}
}

func TestFaults(t *testing.T) {
	mocktest.CheckFaults(t, nil, func(ctx context.Context, c *exchange.Client) error {
		_, err := legalentities.New(c, legalentities.Config{}).LegalEntity(ctx, "050340000108")
		return err
	})
}

// TestConfiguredNames: a schema with other element names is read by
// configuration alone.
func TestConfiguredNames(t *testing.T) {
	fixtures, _ := shepmock.ParseFixtures([]byte(`services:
  UL_REPORT_7:
    key: BIN
    records:
      "050340000108": "<r:Org xmlns:r='urn:r'><r:BIN>050340000108</r:BIN><r:State>Active</r:State><r:FullNameRu>ТОО</r:FullNameRu></r:Org>"
`))
	c := legalentities.New(mocktest.New(t, fixtures, nil).Client, legalentities.Config{ServiceID: "UL_REPORT_7",
		Request: adapters.Request{Element: "Report7", Namespace: "urn:r", Key: "BIN"},
		Names:   legalentities.Names{Root: "Org", BIN: "BIN", Status: "State", NameRU: "FullNameRu"}})
	e, err := c.LegalEntity(context.Background(), "050340000108")
	if err != nil || e.Status != "active" || e.NameRU != "ТОО" {
		t.Fatalf("%v %+v", err, e)
	}
}

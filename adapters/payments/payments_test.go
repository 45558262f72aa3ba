package payments_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kopir/kopir/adapters"
	"github.com/kopir/kopir/adapters/payments"
	"github.com/kopir/kopir/gateway/pii/iin"
	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/internal/mocktest"
	paymentsmock "github.com/kopir/kopir/mocks/payments"
)

var now = func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }

func TestFeeFor(t *testing.T) {
	tests := []struct {
		kind payments.Kind
		year int
		want string
	}{
		{payments.Issue, 2026, "43250.00"}, {payments.Reissue, 2026, "4325.00"},
		{payments.Issue, 2025, "39320.00"}, {payments.Reissue, 2024, "3692.00"},
	}
	for _, tt := range tests {
		got, err := payments.DefaultMCI.FeeFor(tt.kind, time.Date(tt.year, 6, 1, 0, 0, 0, 0, time.UTC))
		if err != nil || got.String() != tt.want {
			t.Errorf("%s %d: %v %v", tt.kind, tt.year, got, err)
		}
	}
	var me *payments.MCIMissingError
	if _, err := payments.DefaultMCI.FeeFor(payments.Issue, time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.As(err, &me) || me.Year != 2023 {
		t.Errorf("a year without an MCI: %v", err)
	}
	var ie *payments.InputError
	// Fees stop on the first 1 January without a value, Kazakhstan time.
	for at, want := range map[time.Time]string{
		time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC): "2027-01-01T00:00:00+05:00",
		time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC):  "2027-01-01T00:00:00+05:00",
		time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC):  "2023-01-01T00:00:00+05:00",
	} {
		if got := payments.DefaultMCI.ConfiguredUntil(at).Format(time.RFC3339); got != want {
			t.Errorf("from %s: %s, want %s", at, got, want)
		}
	}
	if _, err := payments.DefaultMCI.FeeFor("fine", now()); !errors.As(err, &ie) {
		t.Errorf("an unknown kind: %v", err)
	}
	// A new year is one line of configuration.
	if got, _ := (payments.MCITable{2027: 4500}).FeeFor(payments.Issue, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)); got.String() != "45000.00" {
		t.Errorf("2027: %v", got)
	}
}

func TestParseMoney(t *testing.T) {
	for in, want := range map[string]payments.Money{"43250": 4325000, "43250.5": 4325050, "0.07": 7, " 1.00 ": 100} {
		if got, err := payments.ParseMoney(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "-1", "1.234", "1,00", "abc", "1.x"} {
		if _, err := payments.ParseMoney(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func newClient(t *testing.T, tune func(*exchange.Config)) (*payments.Client, *mocktest.Env) {
	fixtures, err := paymentsmock.DefaultFixtures()
	if err != nil {
		t.Fatal(err)
	}
	env := mocktest.New(t, fixtures, tune)
	return payments.New(env.Client, payments.Config{Now: now}), env
}

func TestCheckFee(t *testing.T) {
	c, env := newClient(t, nil)
	tests := []struct {
		payer, application string
		kind               payments.Kind
		status             payments.FeeStatus
		paid               string
		count              int
	}{
		{"050340000108", "KZ-LIC-2026-00017", payments.Issue, payments.Paid, "43250.00", 1},
		{"050340000108", "", payments.Issue, payments.Paid, "43250.00", 1},
		{"050340000108", "KZ-LIC-2026-99999", payments.Issue, payments.NotPaid, "0.00", 0},
		{"050340000108", "", payments.Reissue, payments.NotPaid, "0.00", 0},
		{"121140000109", "", payments.Issue, payments.PartlyPaid, "20000.00", 1},
		{"850721400012", "", payments.Reissue, payments.Paid, "4325.00", 1},
		// Two payments add up; a refunded one does not count.
		{"900515400014", "KZ-LIC-2026-00021", payments.Issue, payments.Paid, "43250.00", 2},
		{"900515400014", "KZ-LIC-2026-00020", payments.Issue, payments.NotPaid, "0.00", 0},
		// No payments at all is an answer.
		{"880101300010", "", payments.Issue, payments.NotPaid, "0.00", 0},
	}
	for _, tt := range tests {
		got, err := c.CheckFee(context.Background(), tt.payer, tt.application, tt.kind)
		if err != nil {
			t.Fatalf("%+v: %v", tt, err)
		}
		if got.Status != tt.status || got.Paid.String() != tt.paid || len(got.Payments) != tt.count {
			t.Errorf("%s %s %s: %+v", tt.payer, tt.application, tt.kind, got)
		}
	}
	calls := env.Mock.Calls("PSHEP_PaymentInfoSync")
	var ie *iin.Error
	if _, err := c.CheckFee(context.Background(), "050340000100", "", payments.Issue); !errors.As(err, &ie) {
		t.Fatalf("bad BIN: %v", err)
	}
	var pe *payments.InputError
	if _, err := c.CheckFee(context.Background(), "050340000108", "", "fine"); !errors.As(err, &pe) {
		t.Fatalf("bad kind: %v", err)
	}
	if env.Mock.Calls("PSHEP_PaymentInfoSync") != calls {
		t.Fatal("bad input reached the gateway")
	}
}

func TestPayment(t *testing.T) {
	c, _ := newClient(t, nil)
	p, err := c.Payment(context.Background(), "PAY-2026-000101")
	if err != nil || p.Amount.String() != "43250.00" || p.Status != "paid" || p.Payer != "050340000108" || p.Date.IsZero() {
		t.Fatalf("%v %+v", err, p)
	}
	if _, err := c.Payment(context.Background(), "PAY-2026-999999"); !errors.Is(err, adapters.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	var pe *payments.InputError
	for _, bad := range []string{"", "x y", "<id>", string(make([]byte, 65))} {
		if _, err := c.Payment(context.Background(), bad); !errors.As(err, &pe) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestFaults(t *testing.T) {
	fixtures, err := paymentsmock.DefaultFixtures()
	if err != nil {
		t.Fatal(err)
	}
	mocktest.CheckFaults(t, fixtures, func(ctx context.Context, c *exchange.Client) error {
		_, err := payments.New(c, payments.Config{Now: now}).CheckFee(ctx, "050340000108", "", payments.Issue)
		return err
	})
}

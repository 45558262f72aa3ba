package iin

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		in   string
		want Reason // "" means valid
	}{
		{"880101300010", ""}, // first pass
		{"900515400014", ""},
		{"050340000108", ""}, // a BIN
		{"121140000109", ""},
		{"880101300011", ReasonChecksum},
		{"88010130001", ReasonLength},
		{"8801013000100", ReasonLength},
		{"", ReasonLength},
		{"88010130001A", ReasonDigits},
		{"８８０１０１３０００１０", ReasonLength}, // full-width digits are not digits
		{"-88010130001", ReasonDigits},
	}
	for _, tt := range tests {
		err := Validate(tt.in)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.in, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Reason != tt.want {
			t.Errorf("%q: err = %v, want %s", tt.in, err, tt.want)
			continue
		}
		if len(tt.in) >= 12 && strings.Contains(e.Error(), tt.in[:8]) {
			t.Errorf("%q: the error shows the number: %s", tt.in, e.Error())
		}
	}
}

// TestSecondPass finds numbers whose first weighted sum is 10, so the
// second weights decide, and numbers for which both passes give 10, which
// no control digit can make valid.
func TestSecondPass(t *testing.T) {
	var second, none int
	for n := 0; n < 200000 && (second < 3 || none < 3); n++ {
		base := "8801013" + leftPad(strconv.Itoa(n), 4)
		sum := 0
		for i := 0; i < 11; i++ {
			sum += int(base[i]-'0') * weights1[i]
		}
		if sum%11 != 10 {
			continue
		}
		d, ok := ControlDigit(base)
		if !ok {
			none++
			for c := 0; c <= 9; c++ {
				if Validate(base+strconv.Itoa(c)) == nil {
					t.Fatalf("%s%d accepted although no control digit exists", base, c)
				}
			}
			continue
		}
		second++
		sum2 := 0
		for i := 0; i < 11; i++ {
			sum2 += int(base[i]-'0') * weights2[i]
		}
		if d != sum2%11 {
			t.Fatalf("%s: control digit %d, second pass gives %d", base, d, sum2%11)
		}
		if err := Validate(base + strconv.Itoa(d)); err != nil {
			t.Fatalf("%s%d: %v", base, d, err)
		}
		if err := Validate(base + strconv.Itoa((d+1)%10)); err == nil {
			t.Fatalf("%s with a wrong control digit accepted", base)
		}
	}
	if second < 3 || none < 3 {
		t.Fatalf("found %d second-pass and %d invalid numbers", second, none)
	}
}

func leftPad(s string, n int) string { return strings.Repeat("0", n-len(s)) + s }

func FuzzValidate(f *testing.F) {
	f.Add("880101300010")
	f.Add("880101300011")
	f.Add("abc")
	f.Fuzz(func(t *testing.T, s string) {
		err := Validate(s)
		if err == nil {
			d, ok := ControlDigit(s[:11])
			if !ok || int(s[11]-'0') != d || len(s) != 12 {
				t.Fatalf("%q accepted", s)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

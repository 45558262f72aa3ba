// Package iin validates Kazakhstan's twelve-digit identification numbers:
// the IIN of a person and the BIN of a business. Both end in a control
// digit computed by the official two-pass algorithm. A number that fails it
// is an input error, caught before any call to a state system.
package iin

import "fmt"

// Reason says why a number is not valid.
type Reason string

// Reasons.
const (
	ReasonLength   Reason = "length"   // not twelve characters
	ReasonDigits   Reason = "digits"   // not all digits
	ReasonChecksum Reason = "checksum" // the control digit does not match, or cannot be computed
)

// Error is an invalid IIN or BIN.
type Error struct {
	Reason Reason
	// Masked is the number with all but its last four characters masked:
	// the number itself is personal data.
	Masked string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid IIN/BIN %s: %s", e.Masked, e.Reason)
}

var (
	weights1 = [11]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	weights2 = [11]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2}
)

// ControlDigit computes the control digit of the first eleven digits: the
// weighted sum with weights 1..11, mod 11; when that is 10, the sum with
// weights 3..11, 1, 2, mod 11; when that is 10 too, there is none.
func ControlDigit(first11 string) (int, bool) {
	if len(first11) != 11 {
		return 0, false
	}
	for _, w := range [][11]int{weights1, weights2} {
		sum := 0
		for i := 0; i < 11; i++ {
			c := first11[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			sum += int(c-'0') * w[i]
		}
		if d := sum % 11; d != 10 {
			return d, true
		}
	}
	return 0, false
}

// Validate checks an IIN or BIN.
func Validate(s string) error {
	masked := mask(s)
	if len(s) != 12 {
		return &Error{Reason: ReasonLength, Masked: masked}
	}
	for i := 0; i < 12; i++ {
		if s[i] < '0' || s[i] > '9' {
			return &Error{Reason: ReasonDigits, Masked: masked}
		}
	}
	d, ok := ControlDigit(s[:11])
	if !ok || d != int(s[11]-'0') {
		return &Error{Reason: ReasonChecksum, Masked: masked}
	}
	return nil
}

func mask(s string) string {
	r := []rune(s)
	if len(r) > 32 {
		r = r[:32]
	}
	for i := 0; i < len(r)-4; i++ {
		r[i] = '*'
	}
	if len(r) <= 4 {
		for i := range r {
			r[i] = '*'
		}
	}
	return string(r)
}

//go:build xmldoc_plain

package xmldoc

// fast is off: every token goes through the general reader (see fast.go).
const fast = false

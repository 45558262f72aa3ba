//go:build xmldoc_plain

package xmldoc

// fast is off: every token goes through the general reader, and the input
// is always copied (see fast.go).
const fast = false

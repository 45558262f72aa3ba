//go:build !xmldoc_plain

package xmldoc

// fast turns on the reader's one optimization, which has two parts: the
// quick path, where quick and quickStart read the commonest tokens of a
// canonicalized element (plain text, a start tag that is already canonical
// and changes nothing in scope, its end tag) in a tight loop and hand
// everything else to the general reader, which also words every error; and
// in-place reading (Options.InPlace: the input read where it is, through
// unsafe.String, instead of copied). Building with -tags xmldoc_plain turns
// both off, leaving the general reader alone; CI runs the attack
// catalogue, the interop tests and the fuzz targets both ways, so that
// neither can drift from the other unseen.
const fast = true

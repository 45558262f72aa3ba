// Package xmldoc reads XML into a compact tree that remembers where every
// node sits in the input, and writes exclusive canonical XML from it, or,
// for one element picked as it is read (Options.Canonicalize), while
// reading it.
//
// It exists for the transport signature: a signer must splice a header into
// the bytes it was given, and a verifier must canonicalize exactly what it
// checks, both on messages of hundreds of thousands of elements, faster than
// a general-purpose DOM allows. A SOAP Body is canonicalized in the same
// pass that checks it, without a node per descendant; the tree
// canonicalizer is the reference it is tested against. It is deliberately strict: UTF-8 only, no DTD,
// no entity declarations, namespaces required to be well-formed, size and
// depth limited while reading. It is not a general XML library: callers that
// want to navigate a payload should parse the canonical bytes it produces
// with etree.
package xmldoc

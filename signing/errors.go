package signing

import "fmt"

// Reason says why an envelope was refused. Reasons are stable: they are
// metric label values and API error codes.
type Reason string

// Reasons for refusing an envelope.
const (
	ReasonMalformed         Reason = "malformed"          // not well-formed XML, or not the SOAP/WSS shape
	ReasonTooLarge          Reason = "too_large"          // over the size limit
	ReasonTooDeep           Reason = "too_deep"           // over the depth limit
	ReasonDTD               Reason = "dtd"                // a DTD or entity declaration
	ReasonNotSOAP           Reason = "not_soap"           // the root is not a SOAP 1.1 or 1.2 Envelope
	ReasonDuplicateBody     Reason = "duplicate_body"     // more than one Body or Header
	ReasonDuplicateSecurity Reason = "duplicate_security" // more than one Security header, Signature or Timestamp
	ReasonDuplicateID       Reason = "duplicate_id"       // two elements carry the same id
	ReasonUnsigned          Reason = "unsigned"           // no Security header or no Signature
	ReasonPartNotSigned     Reason = "part_not_signed"    // a required part (Body, Timestamp) is not referenced
	ReasonBadReference      Reason = "bad_reference"      // a reference that is not to the Body or the Timestamp
	ReasonWrapped           Reason = "wrapped"            // a reference to a Body or Timestamp moved out of place
	ReasonTransform         Reason = "transform"          // a transform other than exclusive C14N
	ReasonAlgorithm         Reason = "algorithm"          // a signature or digest algorithm not allowed
	ReasonDigestMismatch    Reason = "digest_mismatch"    // a signed part was changed
	ReasonBadSignature      Reason = "bad_signature"      // the signature value does not verify
	ReasonKeyInfo           Reason = "key_info"           // no usable signing certificate
	ReasonTimestampMissing  Reason = "timestamp_missing"  // no Timestamp, or no Created or Expires in it
	ReasonTimestampExpired  Reason = "timestamp_expired"  // Expires is past
	ReasonTimestampFuture   Reason = "timestamp_future"   // Created is in the future
	ReasonTimestampTTL      Reason = "timestamp_ttl"      // Expires - Created is over the policy's maximum
	ReasonUntrusted         Reason = "untrusted"          // the certificate does not chain to a trust anchor
	ReasonCertExpired       Reason = "cert_expired"       // the certificate was not valid when the message was signed
)

// Error is a refused envelope, or an envelope that could not be signed.
type Error struct {
	Reason Reason
	Msg    string
	Err    error
}

func (e *Error) Error() string {
	s := "signing: " + string(e.Reason) + ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func refuse(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Msg: fmt.Sprintf(format, args...)}
}

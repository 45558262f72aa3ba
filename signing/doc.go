// Package signing applies and checks WS-Security transport signatures on
// SOAP envelopes: the X.509 token profile with exclusive canonicalization,
// as the digital-government gateway (SHEP) expects.
//
// A Signer adds to an envelope's Header a wsse:Security header holding a
// Timestamp, the signing certificate as a BinarySecurityToken, and a
// signature over the Body and the Timestamp. It splices that header into the
// bytes it was given, so the rest of the message reaches the peer exactly as
// the caller wrote it.
//
// A Verifier checks an envelope against a Policy and returns only what was
// signed: the canonical bytes of the Body and the signer's certificate. A
// valid signature is not a safe message, so the verifier also refuses
// signature wrapping, duplicate ids, references to anything but the one Body
// and the one Timestamp, weak or unknown algorithms, stale or future
// Timestamps and untrusted certificates, each with a Reason callers can
// branch on.
//
// Both read an envelope once: the header into a tree, the Body canonicalized
// as it is read (xmldoc.Options.Canonicalize), so that a Body of 100,000
// elements costs one pass and no node per element.
//
// Keys are crypto.Signer values, so a hardware module or a GOST signer can
// stand in for the RSA and ECDSA keys this package loads from PEM and
// PKCS#12 files.
package signing

// Namespaces and identifiers of the WS-Security and XML-DSig specifications.
const (
	NSSOAP11  = "http://schemas.xmlsoap.org/soap/envelope/"
	NSSOAP12  = "http://www.w3.org/2003/05/soap-envelope"
	NSWSSE    = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	NSWSU     = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	NSDS      = "http://www.w3.org/2000/09/xmldsig#"
	NSExcC14N = "http://www.w3.org/2001/10/xml-exc-c14n#"

	ValueTypeX509v3      = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
	EncodingBase64Binary = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
	TransformEnveloped   = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
)

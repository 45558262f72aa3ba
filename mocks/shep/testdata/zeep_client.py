"""A SOAP client nobody at Kopir wrote (zeep, with xmlsec) calling the mock SHEP.

zeep builds its client from the mock's WSDL, signs its request its own way
(BinarySecurityToken, RSA-SHA256, Body referenced by wsu:Id), and checks the
answer's signature with its own code against the mock's certificate, pinned:
SHEP names its key by issuer and serial and does not send it.

usage: zeep_client.py WSDL_URL KEY.pem CERT.pem PEER_CERT.pem SERVICE_ID BIN

The payload is GBD UL's request for BIN, signed enveloped with the same key.
prints one JSON object: the answer's fields, or the fault's.
"""
import datetime
import json
import sys
import uuid

import xmlsec
from lxml import etree
from zeep import Client
from zeep.exceptions import Fault, SignatureVerificationFailed
from zeep.wsse.signature import BinarySignature, _make_verify_key, _verify_envelope_with_key

wsdl, key, cert, peer_cert, service, iin = sys.argv[1:7]


class PinnedPeer:
    """Signs as zeep signs; verifies answers with the peer's certificate."""

    def __init__(self):
        self.signer = BinarySignature(
            key, cert,
            signature_method=xmlsec.constants.TransformRsaSha256,
            digest_method=xmlsec.constants.TransformSha256)
        with open(peer_cert, "rb") as f:
            self.peer = f.read()

    def apply(self, envelope, headers):
        return self.signer.apply(envelope, headers)

    def verify(self, envelope):
        _verify_envelope_with_key(envelope, _make_verify_key(self.peer))
        return envelope


def gbdul_request(bin_):
    """GBD UL's request (protocol.md §7-8), signed enveloped by xmlsec:
    C14N 1.0, Reference URI="" with the enveloped-signature and
    C14N-with-comments transforms, the certificate in X509Data."""
    root = etree.fromstring(
        '<ns2:Request xmlns:ns2="http://gbdulinfobybin_v2.egp.gbdul.tamur.kz">'
        '<RequestorBIN>260110000120</RequestorBIN><BIN>%s</BIN></ns2:Request>' % bin_)
    sig = xmlsec.template.create(root, xmlsec.constants.TransformInclC14N,
                                 xmlsec.constants.TransformRsaSha256, ns="ds")
    root.append(sig)
    ref = xmlsec.template.add_reference(sig, xmlsec.constants.TransformSha256, uri="")
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformEnveloped)
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformInclC14NWithComments)
    xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(sig))
    ctx = xmlsec.SignatureContext()
    k = xmlsec.Key.from_file(key, xmlsec.constants.KeyDataFormatPem)
    k.load_cert_from_file(cert, xmlsec.constants.KeyDataFormatPem)
    ctx.key = k
    ctx.sign(sig)
    return etree.tostring(root, encoding="unicode")


client = Client(wsdl, wsse=PinnedPeer())
# data is xs:anyType: zeep writes a value as text, so the payload travels
# escaped, as GBD UL's requests do (protocol.md §3).
payload = gbdul_request(iin)
message_id = str(uuid.uuid4())
request = {
    "requestInfo": {
        "messageId": message_id,
        "serviceId": service,
        "messageDate": datetime.datetime.now(datetime.timezone.utc),
        "sender": {"senderId": "tester", "password": "x"},
    },
    "requestData": {"data": payload},
}
try:
    response = client.service.SendMessage(request=request)
except Fault as fault:
    detail = fault.detail
    info = detail.find(".//{http://bip.bee.kz/SyncChannel/v10/Types}SendMessageFault1_SendMessageFault") if detail is not None else None
    print(json.dumps({
        "fault": fault.code or "",
        "errorCode": info.findtext("errorCode") if info is not None else None,
        "errorMessage": info.findtext("errorMessage") if info is not None else None,
    }))
    sys.exit(0)
except SignatureVerificationFailed:
    print(json.dumps({"signature": "refused"}))
    sys.exit(0)

info = response.responseInfo
data = response.responseData.data if response.responseData is not None else None
if data is not None and not isinstance(data, (str, bytes)):
    data = "".join(etree.tostring(e, encoding="unicode") for e in (data if isinstance(data, list) else [data]) if hasattr(e, "tag"))
print(json.dumps({
    "messageId": message_id,
    "correlationId": info.correlationId,
    "status": info.status.code,
    "data": data or "",
}))

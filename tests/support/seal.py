"""A test CA, the company's seal certificate (as a PKCS#12 file, the way an operator gets one), a
timestamp authority on loopback, and pyHanko's validation of a sealed PDF against that CA."""

from __future__ import annotations

import datetime as dt
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

P12_PASSWORD = "seal-test-passord"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fjordnett AS"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, issuer, key, issuer_key, *, ca=False, eku=None):
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=365))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    else:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class TestPki:
    ca_cert: x509.Certificate
    ca_pem: Path
    p12: Path
    seal_cert: x509.Certificate
    tsa_cert: x509.Certificate
    tsa_key: rsa.RSAPrivateKey


def make_pki(directory: Path) -> TestPki:
    """A CA, a seal certificate issued by it (exported with its key as a password-protected PKCS#12 file)
    and a timestamping certificate from the same CA."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _cert(_name("Fjordnett Test CA"), _name("Fjordnett Test CA"), ca_key, ca_key, ca=True)
    seal_key = ec.generate_private_key(ec.SECP256R1())
    seal_cert = _cert(_name("Fjordnett AS kvitteringssegl"), ca_cert.subject, seal_key, ca_key)
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's dummy TSA: RSA only
    tsa_cert = _cert(_name("Fjordnett Test TSA"), ca_cert.subject, tsa_key, ca_key,
                     eku=[ExtendedKeyUsageOID.TIME_STAMPING])
    directory.mkdir(parents=True, exist_ok=True)
    p12 = directory / "segl.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"segl", seal_key, seal_cert, [ca_cert],
        serialization.BestAvailableEncryption(P12_PASSWORD.encode())))
    ca_pem = directory / "ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return TestPki(ca_cert, ca_pem, p12, seal_cert, tsa_cert, tsa_key)


def _asn1(cert: x509.Certificate):
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def validate(content: bytes, ca_cert: x509.Certificate):
    """pyHanko's status of the (one) signature in `content`, validated against `ca_cert` only. Run in a
    thread of its own: pyHanko's synchronous API starts an event loop, and Playwright's sync API already
    runs one in the test's thread."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    def run():
        reader = PdfFileReader(io.BytesIO(content), strict=False)
        [signature] = reader.embedded_signatures
        context = ValidationContext(trust_roots=[_asn1(ca_cert)], allow_fetching=False)
        return validate_pdf_signature(signature, context)

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


class TimestampAuthority:
    """An RFC 3161 timestamp authority on loopback: pyHanko's in-process DummyTimeStamper answering
    HTTP POSTs of timestamp requests, so the seal is made through the real HTTP timestamp client."""

    def __init__(self, pki: TestPki):
        from asn1crypto import keys
        from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

        key = keys.PrivateKeyInfo.load(pki.tsa_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        self.stamper = DummyTimeStamper(tsa_cert=_asn1(pki.tsa_cert), tsa_key=key)
        self.requests = 0
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                from asn1crypto import tsp

                body = self.rfile.read(int(self.headers["Content-Length"]))
                response = authority.stamper.request_tsa_response(tsp.TimeStampReq.load(body))
                authority.requests += 1
                data = response.dump()
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/tsa"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

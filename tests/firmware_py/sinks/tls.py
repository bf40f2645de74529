"""A test certificate authority (``cryptography``'s x509 builder) and a mosquitto broker with a TLS
listener, for the MQTT sink's TLS and credentials tests.

:func:`make_pki` writes PEM files: a CA, a server certificate for ``localhost`` and
``127.0.0.1`` (subjectAltName, which Python's hostname check reads), a client certificate signed
by the same CA, and a second, unrelated CA (a client that trusts only it must refuse the
server). :class:`TlsBroker` is :class:`~tests.firmware_py.sinks.broker.Broker` with its sink
port behind TLS (``require_certificate`` and a ``password_file`` on request) and the
subscriber's port in the clear."""

from __future__ import annotations

import datetime
import ipaddress
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.firmware_py.sinks.broker import Broker
from tests.required import required_tool


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write(folder: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
           ) -> None:
    (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{stem}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
                 issuer_key: ec.EllipticCurvePrivateKey, ca: bool,
                 extensions: list[tuple[x509.ExtensionType, bool]] = ()) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _ca(folder: Path, stem: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(f"Specks test {stem}", key, _name(f"Specks test {stem}"), key, ca=True)
    _write(folder, stem, cert, key)
    return cert, key


def _leaf(folder: Path, stem: str, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey,
          usage: x509.ObjectIdentifier, names: list[x509.GeneralName] | None = None) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.ExtendedKeyUsage([usage]), False)]
    if names:
        extensions.append((x509.SubjectAlternativeName(names), False))
    _write(folder, stem, _certificate(stem, key, ca.subject, ca_key, False, extensions), key)


def make_pki(folder: Path) -> Path:
    """``ca.pem``, ``server.pem/.key``, ``client.pem/.key`` and ``other-ca.pem`` in
    ``folder``; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = _ca(folder, "ca")
    _leaf(folder, "server", ca, ca_key, ExtendedKeyUsageOID.SERVER_AUTH,
          [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    _leaf(folder, "client", ca, ca_key, ExtendedKeyUsageOID.CLIENT_AUTH)
    _ca(folder, "other-ca")
    return folder


def password_file(path: Path, user: str, password: str) -> Path:
    """A mosquitto password file made by the broker's own ``mosquitto_passwd``."""
    tool = required_tool("mosquitto_passwd", "apt-get install mosquitto")
    subprocess.run([tool, "-b", "-c", str(path), user, password], check=True,
                   capture_output=True, timeout=30)
    return path


class TlsBroker(Broker):
    """``port``: TLS with the test server certificate (client certificates verified against
    ``ca.pem`` and required with ``require_certificate``; a ``passwords`` file makes it refuse
    anonymous clients); ``sub_port``: plain, anonymous, for the collector."""

    def __init__(self, binary: str, folder: Path, pki: Path, require_certificate: bool = False,
                 passwords: Path | None = None) -> None:
        super().__init__(binary, folder)
        self.pki, self.require_certificate, self.passwords = pki, require_certificate, passwords

    def sink_listener(self, admit_sink: bool) -> str:
        auth = (f"allow_anonymous false\npassword_file {self.passwords}\n" if self.passwords
                else f"allow_anonymous {str(admit_sink).lower()}\n")
        return (f"listener {self.port} 127.0.0.1\n{auth}cafile {self.pki / 'ca.pem'}\n"
                f"certfile {self.pki / 'server.pem'}\nkeyfile {self.pki / 'server.key'}\n"
                f"require_certificate {str(self.require_certificate).lower()}\n")

"""A private certificate authority and a CONNECT proxy on loopback, as a corporate network has them (tests only).

``PrivateCA(tmp_path)`` makes a CA certificate (written to ``ca.pem``) and issues server contexts for given
names (``ca.server_context("127.0.0.1", "api.test")``). ``ConnectProxy(hosts)`` is a
:class:`tests.hostile.HostileServer` that tunnels ``CONNECT host:port`` to ``hosts[host]`` (default 127.0.0.1),
recording each CONNECT and its Proxy-Authorization header; it never sees what goes through the tunnel.
"""

from __future__ import annotations

import datetime
import ipaddress
import select
import socket
import ssl
from pathlib import Path
from typing import Any

from tests.hostile import HostileServer, Request


class PrivateCA:
    def __init__(self, folder: Path):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        self._x509, self._hashes, self._ser, self._ec, self._oid = x509, hashes, serialization, ec, NameOID
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Corp TLS Inspection CA")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False, encipher_only=False,
                                                  decipher_only=False), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.pem = folder / "ca.pem"
        self.pem.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def server_context(self, *names: str) -> ssl.SSLContext:
        x509 = self._x509
        key = self._ec.generate_private_key(self._ec.SECP256R1())
        alt: list[Any] = []
        for n in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                alt.append(x509.DNSName(n))
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(self._oid.COMMON_NAME, names[0])]))
                .issuer_name(self.name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(alt), critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(self.key, self._hashes.SHA256()))
        stem = names[0].replace(":", "_")
        cert_file, key_file = self.folder / f"{stem}.pem", self.folder / f"{stem}.key"
        cert_file.write_bytes(cert.public_bytes(self._ser.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(self._ser.Encoding.PEM, self._ser.PrivateFormat.PKCS8,
                                               self._ser.NoEncryption()))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_file, key_file)
        return ctx


class ConnectProxy(HostileServer):
    """A HostileServer whose script tunnels ``CONNECT host:port`` to ``hosts[host]`` (default 127.0.0.1):
    ``requests`` records each CONNECT (method, target, headers: Proxy-Authorization among them)."""

    def __init__(self, hosts: dict[str, str] | None = None):
        self.hosts = hosts or {}
        super().__init__(script=ConnectProxy._tunnel)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def authorizations(self) -> list[str | None]:
        return [r.headers.get("proxy-authorization") for r in self.requests]

    @staticmethod
    def _tunnel(server: HostileServer, conn: socket.socket, request: Request) -> None:
        assert isinstance(server, ConnectProxy)
        if request.method != "CONNECT":
            conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, port = request.path.rsplit(":", 1)
        try:
            upstream = socket.create_connection((server.hosts.get(host, "127.0.0.1"), int(port)), timeout=5)
        except OSError:
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with upstream:
            pair = [conn, upstream]
            try:
                while True:
                    ready, _, _ = select.select(pair, [], [], 0.5)
                    for s in ready:
                        data = s.recv(65536)
                        if not data:
                            return
                        (upstream if s is conn else conn).sendall(data)
            except (OSError, ValueError):  # stop() closed the client side
                return

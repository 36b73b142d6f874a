"""A throwaway certificate authority for serving the reference server over TLS.

Real SSE endpoints sit behind TLS, and browsers and most HTTP/2 clients speak HTTP/2 only there,
so the reference server must be reachable over https:// to grade the suite over HTTP/2. A CA made
at start (trustme) keeps that free of system state: clients trust exactly the printed CA file,
nothing is installed, and the key never outlives the folder it was written to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["TlsFiles", "make_tls_files"]

#: Names the leaf certificate is valid for: the loopback addresses the server binds.
LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True, slots=True)
class TlsFiles:
    #: The CA certificate clients pass as ``--cafile`` (``sse-harness check --cafile``).
    ca: Path
    #: The server's certificate chain and its private key (PEM).
    cert: Path
    key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """A new CA and a loopback certificate it signs, written into ``directory``."""
    import trustme

    directory.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA(organization_name="sse-harness throwaway CA")
    leaf = authority.issue_cert(*LOOPBACK_NAMES)
    files = TlsFiles(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    authority.cert_pem.write_to_path(str(files.ca))
    files.cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(files.key))
    files.key.chmod(0o600)
    return files

"""What of a run is a secret, and how it shows: ``<redacted N chars>``, its length, never its value.

A run carries the user's credentials to the target (an ``Authorization`` header, an API key, a
``user:pass@`` URL, a ``?token=`` parameter, the scripting contract's token); its reports are
build artifacts, often public. So every report, page, log line and message passes through one
:class:`Redactor` built from the run's request before it is written or printed, while the wire
keeps the real values.

A secret is masked where it is recorded (a ``headers`` mapping, a URL's credentials and query)
whatever its length, and wherever else it appears in text (an error that quotes it) when it is
at least :data:`MIN_SEARCHED` characters long: searching every string for a 2-character value
would mangle the report and hide nothing worth hiding. Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["MIN_SEARCHED", "Redactor", "is_secret_name", "mask"]

#: Header names that carry credentials whatever they are called in full.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
#: A header or query parameter whose name contains one of these carries a credential.
SECRET_WORDS = ("key", "token", "secret", "password")
#: Secrets shorter than this are masked only where they are recorded, not searched in free text.
MIN_SEARCHED = 4

#: A URL in free text (an error message, a page title): up to a quote, bracket or space, and
#: without the punctuation that ends a sentence or a clause ("cannot reach URL: ...").
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]*[^\s'\"<>.,:;)\]}]")


def mask(value: str) -> str:
    """How a secret shows: its length, so a reader can tell an empty token from a real one."""
    return f"<redacted {len(value)} chars>"


def is_secret_name(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether a header (or query parameter) named ``name`` carries a credential: the usual
    names, a name that says key, token, secret or password, or one of ``extra`` (the user's
    ``--redact-header``), all compared without case."""
    lowered = name.strip().lower()
    return (
        lowered in SECRET_HEADERS
        or any(word in lowered for word in SECRET_WORDS)
        or lowered in {n.strip().lower() for n in extra}
    )


class Redactor:
    """Masks one run's secrets in anything it is about to write or print."""

    def __init__(self, secrets: Iterable[str] = (), names: Iterable[str] = ()) -> None:
        #: The user's extra secret header names (``--redact-header``), lower case.
        self.names = frozenset(n.strip().lower() for n in names if n.strip())
        searched = {s for s in secrets if len(s) >= MIN_SEARCHED}
        #: Longest first, so a value that contains another is masked whole, in one pass.
        self._pattern = (
            re.compile("|".join(re.escape(s) for s in sorted(searched, key=len, reverse=True)))
            if searched
            else None
        )

    @classmethod
    def for_request(
        cls,
        url: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        *,
        names: Iterable[str] = (),
        secrets: Iterable[str | None] = (),
    ) -> Redactor:
        """The redactor of a request: the secret headers' values (and an ``Authorization``'s
        credentials without their scheme word), the URL's password and secret query values,
        and ``secrets`` given as such (the contract token)."""
        extra = frozenset(n.strip().lower() for n in names if n.strip())
        found = [s for s in secrets if s]
        for name, value in headers:
            if is_secret_name(name, extra) and value:
                found.append(value)
                scheme, _, credentials = value.partition(" ")
                if credentials.strip() and scheme.isalpha():
                    found.append(credentials.strip())
        if url:
            found += _url_secrets(url, extra)
        return cls(found, extra)

    def is_secret(self, name: str) -> bool:
        return is_secret_name(name, self.names)

    def url(self, url: str) -> str:
        """``url`` with its ``user:pass@`` and its secret query values masked."""
        try:
            parts = urlsplit(url)
        except ValueError:  # not a URL after all (an unbalanced "["): left to the search
            return url
        netloc = parts.netloc
        userinfo, at, hostport = netloc.rpartition("@")
        if at:
            netloc = f"{mask(unquote(userinfo))}@{hostport}"
        query = "&".join(self._query_pair(pair) for pair in parts.query.split("&"))
        if netloc == parts.netloc and query == parts.query:
            return url
        return urlunsplit(parts._replace(netloc=netloc, query=query))

    def _query_pair(self, pair: str) -> str:
        name, eq, value = pair.partition("=")
        if eq and value and self.is_secret(unquote(name.replace("+", " "))):
            return f"{name}={mask(unquote(value.replace('+', ' ')))}"
        return pair

    def text(self, text: str) -> str:
        """Free text with every URL's credentials and every searched secret masked."""
        text = _URL_IN_TEXT.sub(lambda m: self.url(m.group(0)), text)
        if self._pattern is not None:
            text = self._pattern.sub(lambda m: mask(m.group(0)), text)
        return text

    def headers(self, headers: Mapping[str, Any]) -> dict[str, Any]:
        """A header mapping with the secret names' values masked (strings only)."""
        return {
            name: mask(value) if isinstance(value, str) and self.is_secret(name) else value
            for name, value in headers.items()
        }

    def report(self, data: Any) -> Any:
        """A copy of a JSON-like document (dicts, lists, strings) with the secrets masked: a
        ``headers`` mapping by name, every string as :meth:`text`."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, Mapping):
            return {
                key: self.report(self.headers(value) if _is_headers(key, value) else value)
                for key, value in data.items()
            }
        if isinstance(data, Sequence) and not isinstance(data, bytes | bytearray):
            return [self.report(item) for item in data]
        return data


def _is_headers(key: Any, value: Any) -> bool:
    return isinstance(key, str) and key.endswith("headers") and isinstance(value, Mapping)


def _url_secrets(url: str, names: frozenset[str]) -> list[str]:
    """The values a URL carries that must not be searched out of reports: its password and its
    secret query values, raw and decoded (an error may quote either)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        _, colon, password = userinfo.partition(":")
        if colon and password:
            found += [password, unquote(password)]
    for pair in parts.query.split("&"):
        name, eq, value = pair.partition("=")
        if eq and value and is_secret_name(unquote(name.replace("+", " ")), names):
            found += [value, unquote(value.replace("+", " "))]
    return found

"""The one place that keeps database credentials out of messages, logs and reprs.

A SQLAlchemy URL can carry a secret in two places: the password of its user part
(``postgresql://bob:secret@host/db``) and its query string (``?password=secret``, which
asyncpg and aiomysql accept, or ``sslpassword=``, ``token=`` ...). :func:`mask_url` renders a
URL with both masked; :class:`Scrubber` removes the secrets of known URLs (and any
``scheme://user:password@`` it meets) from free text such as a driver's error message.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from sqlalchemy.engine import URL, make_url

__all__ = ["MASK", "Scrubber", "is_secret_key", "mask_url", "repair_url", "scrub", "secrets_of"]

#: What a secret is replaced with.
MASK = "***"

#: Query keys whose values are credentials (matched anywhere in the key, any case).
_SECRET_KEY = re.compile(r"pass|pwd|secret|token|key|auth|credential", re.IGNORECASE)

# "scheme://user:password@": the password runs to the last "@" before the path, so an
# unencoded "@" inside it is masked too.
_USER_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*):(?P<password>[^\s/?#]+)@", re.IGNORECASE
)
# "?password=..." or "&token=..." in a URL's query string.
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&;](?P<key>[a-z0-9_.-]*(?:pass|pwd|secret|token|key|auth|credential)"
    r"[a-z0-9_.-]*)=)(?P<value>[^&;\s'\"]*)",
    re.I,
)


def repair_url(text: str) -> str:
    """``text`` with an unencoded ``@`` inside the password percent-encoded.

    ``postgresql://u:p@ss@host/db`` means the password ``p@ss``; SQLAlchemy would read the
    password ``p`` and the host ``ss@host``, and so show most of the password as a host.
    """
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    if netloc.count("@") < 2:
        return text
    userinfo, host = netloc.rsplit("@", 1)
    user, colon, password = userinfo.partition(":")
    return f"{scheme}://{user}{colon}{password.replace('@', '%40')}@{host}{tail}"


def _parse(url: str | URL) -> URL | None:
    if isinstance(url, URL):
        return url
    try:
        return make_url(repair_url(url.strip()))
    except Exception:
        return None


def is_secret_key(name: str) -> bool:
    """Whether a query or option key names a credential (``password``, ``auth_token`` ...)."""
    return bool(_SECRET_KEY.search(name))


def secrets_of(url: str | URL | None) -> set[str]:
    """Every credential ``url`` carries (password, secret query values), plain and encoded."""
    if url is None:
        return set()
    found: set[str] = set()
    parsed = _parse(url)
    if parsed is not None:
        if parsed.password:
            found.add(str(parsed.password))
        if parsed.host and "@" in parsed.host:  # an URL object made from an unrepaired string
            found.add(parsed.host.rsplit("@", 1)[0])
        for key, value in parsed.query.items():
            if _SECRET_KEY.search(key):
                values = value if isinstance(value, tuple) else (value,)
                found.update(v for v in values if v)
    if isinstance(url, str):
        for match in _USER_PASSWORD.finditer(repair_url(url)):
            found.add(unquote(match.group("password")))
        for match in _QUERY_SECRET.finditer(url):
            if match.group("value"):
                found.add(unquote(match.group("value")))
    encoded = {quote(s, safe="") for s in found} | {s.replace("@", "%40") for s in found}
    return {s for s in found | encoded if s and s != MASK}


def mask_url(url: str | URL) -> str:
    """``url`` rendered with its password and secret query values replaced by ``***``."""
    parsed = _parse(url)
    if parsed is None:
        return "<unparseable database URL>"
    if parsed.host and "@" in parsed.host:
        parsed = parsed.set(password=MASK, host=parsed.host.rsplit("@", 1)[1])
    query = {
        key: (MASK if _SECRET_KEY.search(key) else value) for key, value in parsed.query.items()
    }
    text = parsed.set(query=query).render_as_string(hide_password=True)
    return text.replace("%2A%2A%2A", MASK)


class Scrubber:
    """Removes the credentials of the URLs it was given from any text.

    Besides the known secrets it masks every ``scheme://user:password@`` and every
    ``?password=...`` it sees, so a URL it was never told about is masked as well.
    """

    def __init__(self, *urls: str | URL | None) -> None:
        self._secrets: set[str] = set()
        for url in urls:
            self.add(url)

    def add(self, url: str | URL | None) -> None:
        """Also mask the credentials of ``url``."""
        self._secrets |= secrets_of(url)

    def __call__(self, text: str) -> str:
        text = _USER_PASSWORD.sub(lambda m: f"{m.group('head')}:{MASK}@", text)
        text = _QUERY_SECRET.sub(lambda m: f"{m.group('head')}{MASK}", text)
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text


def scrub(text: str, *urls: str | URL | None) -> str:
    """``text`` without the credentials of ``urls`` (nor of any URL written in it)."""
    return Scrubber(*urls)(text)

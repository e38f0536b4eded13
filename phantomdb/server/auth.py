"""HTTP Basic and Bearer authentication against salted hashes.

Only scrypt hashes of passwords and tokens are kept. Checking a hash costs tens
of milliseconds on purpose, so an accepted ``Authorization`` header is
remembered as an HMAC digest under a key that lives only in this process: a
repeated call costs one HMAC, and the remembered digests are worthless outside.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from phantomdb.server.errors import ApiError

# scrypt with N=2**14, r=8, p=1: 16 MiB and a few tens of milliseconds per check.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}
_REMEMBERED_LIMIT = 4096

UNAUTHORIZED_MESSAGE = "Unauthorized access"
CHALLENGES = (
    (b"www-authenticate", b'Basic realm="PhantomDB"'),
    (b"www-authenticate", b'Bearer realm="PhantomDB"'),
)


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, **_SCRYPT)


@dataclass(frozen=True)
class Credentials:
    """The hashed users and tokens a server accepts; empty means no authentication."""

    users: Mapping[str, tuple[bytes, bytes]] = field(default_factory=dict)  # name -> (salt, hash)
    token_salt: bytes = b""
    tokens: frozenset[bytes] = frozenset()

    @classmethod
    def from_plain(cls, users: Mapping[str, str], tokens: Iterable[str]) -> Credentials:
        """Hash the given passwords and tokens; the plain text is not kept."""
        hashed_users = {}
        for name, password in users.items():
            salt = secrets.token_bytes(16)
            hashed_users[name] = (salt, _hash(password, salt))
        token_salt = secrets.token_bytes(16)
        return cls(hashed_users, token_salt, frozenset(_hash(token, token_salt) for token in tokens))

    @property
    def enabled(self) -> bool:
        return bool(self.users or self.tokens)

    def verify(self, authorization: bytes) -> bool:
        """Check an ``Authorization`` header value the slow way (runs off the event loop)."""
        scheme, _, value = authorization.decode("latin-1").strip().partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "bearer" and value:
            return _hash(value, self.token_salt) in self.tokens
        if scheme != "basic":
            return False
        try:
            name, separator, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if not separator:
            return False
        salt, expected = self.users.get(name, (b"\0" * 16, b""))
        # Hash even for an unknown user, so that timing does not tell which users exist.
        return hmac.compare_digest(_hash(password, salt), expected) and bool(expected)


class Authenticator:
    """Decides whether a request's ``Authorization`` header may pass."""

    def __init__(self, credentials: Credentials):
        self.credentials = credentials
        self.enabled = credentials.enabled
        self._key = secrets.token_bytes(32)
        self._remembered: set[bytes] = set()

    async def authenticate(self, authorization: bytes | None) -> None:
        """Return if the header names a known user or token, else raise ``unauthorized``."""
        if not self.enabled:
            return
        if authorization:
            digest = hmac.new(self._key, authorization, hashlib.sha256).digest()
            if digest in self._remembered:
                return
            loop = asyncio.get_running_loop()
            if await loop.run_in_executor(None, self.credentials.verify, authorization):
                if len(self._remembered) >= _REMEMBERED_LIMIT:
                    self._remembered.clear()
                self._remembered.add(digest)
                return
        raise ApiError("unauthorized", UNAUTHORIZED_MESSAGE)

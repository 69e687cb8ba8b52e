"""HTTP Digest access authentication (RFC 7616) for the stores that speak only Digest.

Virtuoso's authenticated Graph Store endpoint (``/sparql-graph-crud-auth``) answers every
request without valid Digest credentials with ``401`` and a ``WWW-Authenticate: Digest``
challenge, and never takes Basic. kgraph answers such a challenge with the user and
password it would send as Basic (``KGRAPH_STORE_USER``/``KGRAPH_STORE_PASSWORD`` or
``~/.netrc``), once per challenge: MD5 or SHA-256 (and their ``-sess`` variants), ``qop=auth``
(or no qop, RFC 2069). The challenge is kept per host and port for the process, so that the
next requests (a push's further chunks, the counts) authenticate at once instead of sending
each body twice; a stale nonce gets a fresh challenge and one retry.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*,?')


@dataclass
class DigestChallenge:
    """One ``Digest`` challenge of a ``WWW-Authenticate`` header, and its nonce count."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: str | None = None
    opaque: str | None = None
    count: int = field(default=0)

    def authorization(
        self, method: str, uri: str, user: str, password: str, *, cnonce: str | None = None
    ) -> str:
        """The ``Authorization`` header value for one request (RFC 7616 §3.4)."""
        base = self.algorithm.upper().removesuffix("-SESS")
        digest = _HASHES[base]

        def h(text: str) -> str:
            return digest(text.encode()).hexdigest()

        self.count += 1
        nc = f"{self.count:08x}"
        cnonce = cnonce or secrets.token_hex(16)
        ha1 = h(f"{user}:{self.realm}:{password}")
        if self.algorithm.upper().endswith("-SESS"):
            ha1 = h(f"{ha1}:{self.nonce}:{cnonce}")
        ha2 = h(f"{method}:{uri}")
        if self.qop:
            response = h(f"{ha1}:{self.nonce}:{nc}:{cnonce}:{self.qop}:{ha2}")
        else:
            response = h(f"{ha1}:{self.nonce}:{ha2}")
        fields = [
            f'username="{_quote(user)}"',
            f'realm="{_quote(self.realm)}"',
            f'nonce="{_quote(self.nonce)}"',
            f'uri="{_quote(uri)}"',
            f"algorithm={self.algorithm}",
            f'response="{response}"',
        ]
        if self.qop:
            fields += [f"qop={self.qop}", f"nc={nc}", f'cnonce="{cnonce}"']
        if self.opaque is not None:
            fields.append(f'opaque="{_quote(self.opaque)}"')
        return "Digest " + ", ".join(fields)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def parse_challenge(header: str) -> DigestChallenge | None:
    """The first usable Digest challenge of a ``WWW-Authenticate`` value, or None (no Digest
    challenge, an algorithm other than MD5/SHA-256, or a qop without ``auth``)."""
    for match in re.finditer(r"(?i)\bdigest\s+", header):
        params: dict[str, str] = {}
        rest = header[match.end() :]
        for item in _PARAM.finditer(rest):
            if item.start() != 0 and not params:
                break
            key, value = item.group(1).lower(), item.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params.setdefault(key, value)
            rest_after = rest[item.end() :]
            if re.match(r"\s*[A-Za-z]+\s+[A-Za-z0-9_-]+\s*=", rest_after):
                break  # the next challenge starts (another scheme)
        if "nonce" not in params or "realm" not in params:
            continue
        algorithm = params.get("algorithm", "MD5")
        if algorithm.upper().removesuffix("-SESS") not in _HASHES:
            continue
        qop = None
        if "qop" in params:
            offered = [q.strip().lower() for q in params["qop"].split(",")]
            if "auth" not in offered:
                continue  # auth-int only: kgraph does not hash bodies into the digest
            qop = "auth"
        return DigestChallenge(
            params["realm"], params["nonce"], algorithm, qop, params.get("opaque")
        )
    return None


_CHALLENGES: dict[str, DigestChallenge] = {}


def remembered(where: str) -> DigestChallenge | None:
    return _CHALLENGES.get(where)


def remember(where: str, challenge: DigestChallenge) -> None:
    _CHALLENGES[where] = challenge

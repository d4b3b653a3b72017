"""Ed25519 signatures over certificate data, and the published list of public keys."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from elearn.certificates.data import CertificateData, canonical_bytes, from_canonical

PRIVATE_KEY_PREFIX = "ed25519:"
ALGORITHM = "Ed25519"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


class SignatureProblem(Exception):
    """The signed data cannot be trusted; the message says why, in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Signed:
    """Canonical certificate bytes with their signature and the id of the signing key."""

    payload: bytes
    signature: bytes
    key_id: str

    def to_json(self) -> bytes:
        """The form embedded in a PDF as certificate.json."""
        document = {
            "key_id": self.key_id,
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")

    @classmethod
    def from_json(cls, raw: bytes) -> Signed:
        """Read the embedded form back; ValueError if it is damaged."""
        try:
            document = json.loads(raw)
            key, payload, signature = (document[k] for k in ("key_id", "payload", "signature"))
            if not all(isinstance(v, str) for v in (key, payload, signature)):
                raise ValueError("fields should be text")
            return cls(
                payload=base64.b64decode(payload, validate=True),
                signature=base64.b64decode(signature, validate=True),
                key_id=key,
            )
        except (ValueError, TypeError, KeyError, binascii.Error) as exc:
            raise ValueError(f"the signed certificate data is damaged ({exc})") from None


@dataclass(frozen=True, slots=True)
class PublishedKey:
    """A partnership's public key as listed in the published keys document.

    A key signs only the certificates of its own partnership: `partnership` is that
    partnership's id and `name` its name as certificates print it. A key listed without a
    partnership (as in documents from before keys named one) vouches for no certificate; a key
    whose name is not known is held to the partnership id alone.
    """

    partnership: str | None
    name: str | None
    public_key: Ed25519PublicKey


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _from_b64url(text: str) -> bytes:
    if not _BASE64URL.fullmatch(text):
        raise ValueError("not base64url text")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def generate_private_key_text() -> str:
    """A new private key as one line of text, for an environment variable."""
    key = Ed25519PrivateKey.generate()
    return PRIVATE_KEY_PREFIX + _b64url(key.private_bytes_raw())


def load_private_key(text: str) -> Ed25519PrivateKey:
    """Read a private key written by generate_private_key_text; ValueError if it is not one."""
    text = text.strip()
    if not text.startswith(PRIVATE_KEY_PREFIX):
        raise ValueError(f"a signing key should start with {PRIVATE_KEY_PREFIX!r}")
    try:
        raw = _from_b64url(text.removeprefix(PRIVATE_KEY_PREFIX))
    except (ValueError, binascii.Error):
        raise ValueError("a signing key should be base64url text after 'ed25519:'") from None
    if len(raw) != 32:
        raise ValueError(f"a signing key should hold 32 bytes, this one holds {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: 16 hex digits of its SHA-256."""
    return hashlib.sha256(_raw_public(public_key)).hexdigest()[:16]


def public_key_text(public_key: Ed25519PublicKey) -> str:
    """A public key as base64url text, as published."""
    return _b64url(_raw_public(public_key))


def load_public_key(text: str) -> Ed25519PublicKey:
    """Read a public key written by public_key_text; ValueError if it is not one."""
    try:
        raw = _from_b64url(text.strip())
    except (ValueError, binascii.Error):
        raise ValueError("a public key should be base64url text") from None
    if len(raw) != 32:
        raise ValueError(f"a public key should hold 32 bytes, this one holds {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def sign(data: CertificateData, private_key: Ed25519PrivateKey) -> Signed:
    """Sign the canonical bytes of a certificate."""
    payload = canonical_bytes(data)
    return Signed(
        payload=payload,
        signature=private_key.sign(payload),
        key_id=key_id(private_key.public_key()),
    )


def _tidy(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


def _require_issuer(key: PublishedKey, key_id: str, data: CertificateData) -> None:
    """SignatureProblem unless the key belongs to the partnership the certificate names."""
    if key.partnership is None:
        raise SignatureProblem(
            f"This certificate was signed with a key ({key_id}) that the published keys do "
            f"not assign to any partnership, so it cannot vouch for a certificate issued by "
            f"{data.issuer_name}."
        )
    same_name = key.name is None or _tidy(key.name) == _tidy(data.issuer_name)
    if key.partnership != data.issuer_id or not same_name:
        raise SignatureProblem(
            f"This certificate names {data.issuer_name} as its issuer, but it was signed with "
            f"the key of {key.name or key.partnership} ({key_id}): a partnership's key signs "
            "only its own certificates."
        )


def verify(signed: Signed, public_keys: Mapping[str, PublishedKey]) -> CertificateData:
    """The certified data, if the signature is genuine and made with the key of the
    partnership the certificate names as its issuer; SignatureProblem saying why if not."""
    key = public_keys.get(signed.key_id)
    if key is None:
        raise SignatureProblem(
            f"This certificate was signed with a key ({signed.key_id}) that is not one of "
            "the partnerships' published keys."
        )
    try:
        key.public_key.verify(signed.signature, signed.payload)
    except InvalidSignature:
        raise SignatureProblem(
            "The signature does not match the certificate data: the data or the signature "
            "has been changed since it was issued."
        ) from None
    try:
        data = from_canonical(signed.payload)
    except ValueError as exc:
        raise SignatureProblem(
            f"The signed data is not a certificate this service reads: {exc}."
        ) from None
    _require_issuer(key, signed.key_id, data)
    return data


def published_keys_document(entries: Iterable[PublishedKey]) -> dict[str, Any]:
    """The JSON document that lists the partnerships' public keys."""
    return {
        "keys": [
            {
                "id": key_id(entry.public_key),
                "partnership": entry.partnership,
                "name": entry.name,
                "algorithm": ALGORITHM,
                "public_key": public_key_text(entry.public_key),
            }
            for entry in entries
        ]
    }


def trusted_keys(entries: Iterable[PublishedKey]) -> dict[str, PublishedKey]:
    """Keys by id, for `verify`; ValueError if one key is given to two partnerships."""
    keys: dict[str, PublishedKey] = {}
    for entry in entries:
        found = key_id(entry.public_key)
        earlier = keys.get(found)
        if earlier is not None and earlier.partnership != entry.partnership:
            raise ValueError(
                f"the key {found} is given to both {earlier.partnership} and "
                f"{entry.partnership}; each partnership needs a key of its own"
            )
        keys[found] = entry
    return keys


def _optional_text(entry: Mapping[str, Any], name: str, number: int) -> str | None:
    value = entry.get(name)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError(f"key {number} has a {name} that is empty or not text")
    return value


def parse_published_keys(document: Mapping[str, Any]) -> dict[str, PublishedKey]:
    """Public keys by id from a published keys document; ValueError saying what is wrong.

    Each key names the partnership it signs for ("partnership": its id, "name": its name).
    A key listed without a partnership is read, but vouches for no certificate.
    """
    entries = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise ValueError('a published keys document needs a "keys" list')
    keys: list[PublishedKey] = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping):
            raise ValueError(f"key {number} should be an object")
        if entry.get("algorithm") != ALGORITHM:
            raise ValueError(f"key {number} is not an {ALGORITHM} key")
        text = entry.get("public_key")
        if not isinstance(text, str):
            raise ValueError(f"key {number} has no public_key")
        try:
            public_key = load_public_key(text)
        except ValueError as exc:
            raise ValueError(f"key {number}: {exc}") from None
        if entry.get("id") != key_id(public_key):
            raise ValueError(f"key {number} has an id that does not match its public key")
        partnership = _optional_text(entry, "partnership", number)
        name = _optional_text(entry, "name", number) if partnership else None
        keys.append(PublishedKey(partnership, name, public_key))
    return trusted_keys(keys)

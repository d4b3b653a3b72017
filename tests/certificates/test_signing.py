"""Signing keys, signatures and the published list of public keys."""

from __future__ import annotations

import dataclasses
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from elearn.certificates import signing
from elearn.certificates.data import CertificateData, canonical_bytes
from elearn.certificates.signing import PublishedKey, SignatureProblem, Signed

from .conftest import LEICS, NOTTS, make_data

Keys = dict[str, PublishedKey]


@pytest.fixture(scope="session")
def public_keys(private_key: Ed25519PrivateKey) -> Keys:
    """The issuing partnership's published key, bound to it."""
    return signing.trusted_keys([PublishedKey("leicestershire", LEICS, private_key.public_key())])


def test_a_private_key_is_one_line_of_text_that_loads_back() -> None:
    text = signing.generate_private_key_text()
    assert text.startswith("ed25519:") and "\n" not in text and " " not in text
    key = signing.load_private_key(text)
    assert signing.load_private_key(text + "\n").public_key() == key.public_key()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "should start with 'ed25519:'"),
        ("rsa:abcd", "should start with 'ed25519:'"),
        ("ed25519:not base64!", "base64url"),
        ("ed25519:AAAA", "32 bytes, this one holds 3"),
    ],
)
def test_a_bad_private_key_is_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        signing.load_private_key(text)


def test_key_ids_are_short_and_stable(private_key: Ed25519PrivateKey) -> None:
    public_key = private_key.public_key()
    again = signing.load_public_key(signing.public_key_text(public_key))
    assert signing.key_id(public_key) == signing.key_id(again)
    assert len(signing.key_id(public_key)) == 16
    other = Ed25519PrivateKey.generate().public_key()
    assert signing.key_id(other) != signing.key_id(public_key)


def test_signing_then_verifying_gives_back_the_data(
    data: CertificateData, signed: Signed, public_keys: Keys
) -> None:
    assert signed.payload == canonical_bytes(data)
    assert signing.verify(signed, public_keys) == data
    assert signing.verify(Signed.from_json(signed.to_json()), public_keys) == data


def test_a_payload_changed_after_signing_does_not_verify(signed: Signed, public_keys: Keys) -> None:
    forged = signed.payload.replace(b"Siobh\xc3\xa1n", b"Sinead")
    with pytest.raises(SignatureProblem, match="signature does not match the certificate data"):
        signing.verify(dataclasses.replace(signed, payload=forged), public_keys)


def test_a_changed_signature_does_not_verify(signed: Signed, public_keys: Keys) -> None:
    changed = bytes([signed.signature[0] ^ 1]) + signed.signature[1:]
    with pytest.raises(SignatureProblem, match="signature does not match"):
        signing.verify(dataclasses.replace(signed, signature=changed), public_keys)


def test_an_unknown_key_is_named(data: CertificateData) -> None:
    stranger = signing.sign(data, Ed25519PrivateKey.generate())
    with pytest.raises(SignatureProblem, match=f"key \\({stranger.key_id}\\) that is not one"):
        signing.verify(stranger, {})


def test_published_keys_document_round_trips(private_key: Ed25519PrivateKey) -> None:
    public_key = private_key.public_key()
    document = signing.published_keys_document([PublishedKey("leicestershire", LEICS, public_key)])
    document = json.loads(json.dumps(document))
    [entry] = document["keys"]
    assert entry == {
        "id": signing.key_id(public_key),
        "partnership": "leicestershire",
        "name": "Leicestershire Violence Reduction Network",
        "algorithm": "Ed25519",
        "public_key": signing.public_key_text(public_key),
    }
    assert signing.parse_published_keys(document) == {
        signing.key_id(public_key): PublishedKey(
            "leicestershire", "Leicestershire Violence Reduction Network", public_key
        )
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"algorithm": "RSA"}, "not an Ed25519 key"),
        ({"id": "0000000000000000"}, "id that does not match"),
        ({"public_key": "c2hvcnQ"}, "key 1: a public key should hold 32 bytes"),
        ({"partnership": ""}, "key 1 has a partnership that is empty or not text"),
        ({"name": 7}, "key 1 has a name that is empty or not text"),
    ],
)
def test_a_bad_published_key_is_refused(
    private_key: Ed25519PrivateKey, change: dict[str, str], message: str
) -> None:
    document = signing.published_keys_document(
        [PublishedKey("nottinghamshire", "Nottingham", private_key.public_key())]
    )
    document["keys"][0].update(change)
    with pytest.raises(ValueError, match=message):
        signing.parse_published_keys(document)


def test_a_bad_key_in_the_settings_is_named_without_repeating_it() -> None:
    from elearn.config import SettingsError, load_settings

    good = signing.generate_private_key_text()
    assert load_settings(signing_keys={"nottinghamshire": good}).signing_keys
    secret = "ed25519:" + "A" * 50
    with pytest.raises(SettingsError) as caught:
        load_settings(signing_keys={"nottinghamshire": good, "leicestershire": secret})
    assert "ELEARN_SIGNING_KEYS" in str(caught.value) and "leicestershire" in str(caught.value)
    assert "AAAA" not in str(caught.value)


# A key signs only for its own partnership ------------------------------------------------


def test_a_key_does_not_vouch_for_another_partnerships_certificate(
    private_key: Ed25519PrivateKey,
) -> None:
    notts = Ed25519PrivateKey.generate()
    keys = signing.trusted_keys(
        [
            PublishedKey("leicestershire", LEICS, private_key.public_key()),
            PublishedKey("nottinghamshire", NOTTS, notts.public_key()),
        ]
    )
    says_notts = make_data(issuer_id="nottinghamshire", issuer_name=NOTTS)
    assert signing.verify(signing.sign(says_notts, notts), keys) == says_notts
    with pytest.raises(
        SignatureProblem, match=f"names {NOTTS} as its issuer, but .* key of {LEICS}"
    ):
        signing.verify(signing.sign(says_notts, private_key), keys)
    # The id alone is not enough: the printed issuer must be the key's partnership too.
    notts_name_only = make_data(issuer_name=NOTTS)
    with pytest.raises(SignatureProblem, match=f"names {NOTTS} as its issuer"):
        signing.verify(signing.sign(notts_name_only, private_key), keys)


def test_the_issuer_name_is_compared_as_a_reader_sees_it(private_key: Ed25519PrivateKey) -> None:
    keys = signing.trusted_keys(
        [
            PublishedKey(
                "leicestershire",
                "leicestershire  violence reduction network",
                private_key.public_key(),
            )
        ]
    )
    data = make_data()
    assert signing.verify(signing.sign(data, private_key), keys) == data


def test_a_key_known_only_by_its_partnership_id_is_held_to_that_id(
    private_key: Ed25519PrivateKey,
) -> None:
    keys = signing.trusted_keys([PublishedKey("leicestershire", None, private_key.public_key())])
    data = make_data()
    assert signing.verify(signing.sign(data, private_key), keys) == data
    with pytest.raises(SignatureProblem, match="key of leicestershire"):
        signing.verify(signing.sign(make_data(issuer_id="nottinghamshire"), private_key), keys)


def test_an_older_keys_document_without_partnerships_is_read_but_vouches_for_nothing(
    private_key: Ed25519PrivateKey, signed: Signed
) -> None:
    public_key = private_key.public_key()
    old = {
        "keys": [
            {
                "id": signing.key_id(public_key),
                "algorithm": "Ed25519",
                "public_key": signing.public_key_text(public_key),
            }
        ]
    }
    keys = signing.parse_published_keys(old)
    assert keys == {signing.key_id(public_key): PublishedKey(None, None, public_key)}
    with pytest.raises(SignatureProblem, match="do not assign to any partnership"):
        signing.verify(signed, keys)


def test_one_key_given_to_two_partnerships_is_refused(private_key: Ed25519PrivateKey) -> None:
    document = signing.published_keys_document(
        [
            PublishedKey("leicestershire", LEICS, private_key.public_key()),
            PublishedKey("nottinghamshire", NOTTS, private_key.public_key()),
        ]
    )
    with pytest.raises(ValueError, match="given to both leicestershire and nottinghamshire"):
        signing.parse_published_keys(document)

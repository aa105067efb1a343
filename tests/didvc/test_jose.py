from __future__ import annotations

import json
from typing import Any

import pytest

from didvc.encoding import b64url_encode
from didvc.errors import (
    InvalidSignatureError,
    InvalidTokenHeaderError,
    ParsingError,
    UnsupportedAlgorithmError,
)
from didvc.jose import parse_jws, sign_jws, verify_jws
from didvc.keys import KeyPair, KeySigner, KeyType
from resolvers import default_resolver, did_key_from_public_key

PAYLOAD = {"iss": "did:example:holder", "vp": {"type": ["VerifiablePresentation"]}}


def _signer(key_type: KeyType = KeyType.ED25519) -> KeySigner:
    pair = KeyPair.generate(key_type)
    did = did_key_from_public_key(pair.public_key)
    return KeySigner(pair, f"{did}#{did.removeprefix('did:key:')}")


def _token(header: dict[str, Any], payload: dict[str, Any] | None = None, signature: bytes = b"sig") -> str:
    return ".".join(
        [
            b64url_encode(json.dumps(header).encode()),
            b64url_encode(json.dumps(payload or PAYLOAD).encode()),
            b64url_encode(signature),
        ]
    )


@pytest.mark.parametrize(
    ("key_type", "alg"),
    [
        (KeyType.ED25519, "EdDSA"),
        (KeyType.P256, "ES256"),
        (KeyType.P384, "ES384"),
        (KeyType.SECP256K1, "ES256K"),
    ],
)
async def test_sign_and_verify_through_the_resolved_did(key_type: KeyType, alg: str) -> None:
    signer = _signer(key_type)
    token = await sign_jws(PAYLOAD, signer, typ="vp+jwt")
    parsed = parse_jws(token, typ="vp+jwt")
    assert parsed.alg == alg
    assert parsed.payload == PAYLOAD
    assert parsed.kid == signer.key_id
    document = await default_resolver().resolve(parsed.kid.split("#")[0])
    method = document.verification_method(parsed.kid, "authentication")
    verify_jws(parsed, method.public_key)


async def test_tampered_payload_fails() -> None:
    signer = _signer()
    token = await sign_jws(PAYLOAD, signer, typ="vc+jwt")
    head, _, sig = token.split(".")
    forged = f"{head}.{b64url_encode(json.dumps({**PAYLOAD, 'iss': 'did:example:evil'}).encode())}.{sig}"
    with pytest.raises(InvalidSignatureError) as info:
        verify_jws(parse_jws(forged, typ="vc+jwt"), signer.public_key)
    assert info.value.code == "CRYPTOGRAPHIC_SECURITY_ERROR"


async def test_wrong_key_fails() -> None:
    token = await sign_jws(PAYLOAD, _signer(), typ="vp+jwt")
    with pytest.raises(InvalidSignatureError):
        verify_jws(parse_jws(token, typ="vp+jwt"), _signer().public_key)


async def test_alg_must_match_the_resolved_key_type() -> None:
    token = await sign_jws(PAYLOAD, _signer(KeyType.P256), typ="vp+jwt")
    with pytest.raises(UnsupportedAlgorithmError):
        verify_jws(parse_jws(token, typ="vp+jwt"), _signer(KeyType.SECP256K1).public_key)


@pytest.mark.parametrize("alg", ["none", "None", "HS256", "HS512", "RS256", "PS256", "ES512", "", None, 1])
def test_disallowed_algorithms_rejected_before_signature_work(alg: object) -> None:
    token = _token({"alg": alg, "typ": "vp+jwt", "kid": "did:example:1#k"}, signature=b"x")
    with pytest.raises(UnsupportedAlgorithmError) as info:
        parse_jws(token, typ="vp+jwt")
    assert info.value.code == "UNSUPPORTED_ALGORITHM_ERROR"


def test_unsigned_none_token_rejected() -> None:
    token = _token({"alg": "none", "typ": "vp+jwt"}, signature=b"")
    with pytest.raises(UnsupportedAlgorithmError):
        parse_jws(token, typ="vp+jwt")


@pytest.mark.parametrize(
    "extra",
    [
        {"crit": ["exp"], "exp": 1},
        {"crit": ["b64"], "b64": False},
        {"b64": False},
        {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}},
        {"jku": "https://attacker.example/keys"},
        {"x5u": "https://attacker.example/cert"},
        {"x5c": ["MIIB"]},
        {"x5t": "abc"},
        {"enc": "A256GCM"},
        {"zip": "DEF"},
    ],
    ids=lambda e: next(iter(e)),
)
def test_dangerous_header_members_rejected(extra: dict[str, Any]) -> None:
    token = _token({"alg": "EdDSA", "typ": "vp+jwt", "kid": "did:example:1#k", **extra})
    with pytest.raises(InvalidTokenHeaderError) as info:
        parse_jws(token, typ="vp+jwt")
    assert info.value.code == "INVALID_TOKEN_HEADER_ERROR"


async def test_embedded_jwk_with_a_valid_signature_still_rejected() -> None:
    attacker = KeyPair.generate()
    signer = KeySigner(attacker, "did:example:victim#key-1")
    token = await sign_jws(PAYLOAD, signer, typ="vp+jwt", header={"jwk": attacker.public_key.to_jwk()})
    with pytest.raises(InvalidTokenHeaderError):
        parse_jws(token, typ="vp+jwt")


@pytest.mark.parametrize("typ", ["vc+jwt", "JWT", "jwt", None, "vp+jwt+x", 3])
def test_wrong_typ_rejected(typ: object) -> None:
    token = _token({"alg": "EdDSA", "typ": typ, "kid": "did:example:1#k"})
    with pytest.raises(InvalidTokenHeaderError):
        parse_jws(token, typ="vp+jwt")


def test_media_type_form_of_typ_accepted() -> None:
    token = _token({"alg": "EdDSA", "typ": "application/vp+jwt", "kid": "did:example:1#k"})
    assert parse_jws(token, typ="vp+jwt").kid == "did:example:1#k"


@pytest.mark.parametrize("kid", [None, 3, ["did:example:1#k"]])
def test_a_kid_that_is_not_a_string_is_refused(kid: object) -> None:
    with pytest.raises(InvalidTokenHeaderError):
        parse_jws(_token({"alg": "EdDSA", "typ": "vp+jwt", "kid": kid}), typ="vp+jwt")


def test_a_checked_header_is_shared_and_read_only() -> None:
    # one holder's tokens share a header: checked once, and no caller can change it for the next
    header = {"alg": "EdDSA", "typ": "vp+jwt", "kid": "did:example:1#k"}
    first, second = parse_jws(_token(header), typ="vp+jwt"), parse_jws(_token(header), typ="vp+jwt")
    assert first.header is second.header
    assert dict(first.header) == header
    with pytest.raises(TypeError):
        first.header["kid"] = "did:example:attacker#k"  # type: ignore[index]
    assert (first.alg, first.kid) == ("EdDSA", "did:example:1#k")


def test_jwe_rejected() -> None:
    with pytest.raises(InvalidTokenHeaderError):
        parse_jws("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", typ="vp+jwt")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "!!!.e30.AA",
        b64url_encode(b"[1]") + ".e30.AA",
        b64url_encode(b'{"alg":"EdDSA","alg":"none","typ":"vp+jwt"}') + ".e30.AA",
        b64url_encode(b'{"alg":"EdDSA","typ":"vp+jwt"}') + "." + b64url_encode(b"[" * 100_000) + ".AA",
        b64url_encode(b'{"alg":"EdDSA","typ":"vp+jwt"}') + "." + b64url_encode(b'{"a":NaN}') + ".AA",
        b64url_encode(b'{"alg":"EdDSA","typ":"vp+jwt"}') + "." + b64url_encode(b"[]") + ".AA",
        "\u00e9.e30.AA",
    ],
)
def test_malformed_tokens_are_parsing_errors(token: str) -> None:
    with pytest.raises(ParsingError) as info:
        parse_jws(token, typ="vp+jwt")
    assert info.value.code == "PARSING_ERROR"


def test_oversized_token_refused_unread() -> None:
    with pytest.raises(ParsingError) as info:
        parse_jws("x" * 300_000, typ="vp+jwt")
    assert info.value.code == "INPUT_TOO_LARGE_ERROR"


def test_missing_signature_rejected() -> None:
    token = _token({"alg": "EdDSA", "typ": "vp+jwt"}, signature=b"")
    with pytest.raises(InvalidTokenHeaderError):
        parse_jws(token, typ="vp+jwt")


@pytest.mark.parametrize("key_type", [KeyType.ED25519, KeyType.P256, KeyType.P384, KeyType.SECP256K1])
async def test_interoperates_with_jwcrypto_both_ways(key_type: KeyType) -> None:
    from jwcrypto import jwk, jws

    signer = _signer(key_type)
    pair = signer._pair
    ours = await sign_jws(PAYLOAD, signer, typ="vp+jwt")
    theirs_view = jws.JWS()
    theirs_view.deserialize(ours)
    theirs_view.verify(jwk.JWK(**pair.public_key.to_jwk()))  # raises if jwcrypto disagrees

    alg = {"Ed25519": "EdDSA", "P-256": "ES256", "P-384": "ES384", "secp256k1": "ES256K"}[key_type]
    theirs = jws.JWS(json.dumps(PAYLOAD).encode())
    theirs.add_signature(
        jwk.JWK(**pair.private_jwk()), None, json.dumps({"alg": alg, "typ": "vp+jwt", "kid": signer.key_id})
    )
    verify_jws(parse_jws(theirs.serialize(compact=True), typ="vp+jwt"), pair.public_key)


@pytest.mark.parametrize(
    "payload",
    [b'{"a": "\xff"}', '{"a": 1}'.encode("utf-16"), b"[1, 2]", b'{"a": 1, "a": 2}', b'{"a": NaN}'],
    ids=["not UTF-8", "UTF-16", "not an object", "duplicate member", "NaN"],
)
def test_payload_must_be_one_utf8_json_object(payload: bytes) -> None:
    header = b64url_encode(json.dumps({"alg": "EdDSA", "typ": "vp+jwt"}).encode())
    token = f"{header}.{b64url_encode(payload)}.{b64url_encode(b'sig')}"
    with pytest.raises(ParsingError):
        parse_jws(token, typ="vp+jwt")

"""The wallet against real SQLite files, real keys and the real verifier."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from didvc.encoding import b64url_encode
from didvc.errors import InvalidKeyError, MalformedValueError
from didvc.jose import parse_jws
from resolvers import default_resolver
from tests.helpers import NOW, Party, agent_credential, lasting_agent_credential, signed, trusting
from verifier import Verifier
from wallet import (
    KdfParams,
    Wallet,
    WalletCorruptedError,
    WalletError,
    WalletLockedError,
    WrongPassphraseError,
)

FAST = KdfParams.new(memory_kib=8192, iterations=1, lanes=1)
API = "https://api.example"


async def _open(path: Path, passphrase: str = "correct horse") -> Wallet:
    return await Wallet.open(path, passphrase=passphrase, kdf=FAST, resolver=default_resolver())


ISSUER = Party()  # the issuer of the stored credentials, trusted by the verifier


def _verifier() -> Verifier:
    return Verifier(resolver=default_resolver(), policy=trusting(ISSUER))


async def _stored(
    wallet: Wallet, scopes: list[str] | None = None, *, issuer: Party = ISSUER, **extra: Any
) -> tuple[Party, dict[str, Any]]:
    did = await wallet.default_did()
    vc = await lasting_agent_credential(issuer, did, scopes, **extra)
    await wallet.store_credential(vc)
    return issuer, vc


async def test_private_keys_never_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "agent.wallet"
    wallet = await _open(path)
    secrets = []
    for method, key_type in [("key", "Ed25519"), ("key", "P-256"), ("jwk", "secp256k1"), ("key", "P-384")]:
        did = await wallet.create_did(method, key_type)
        pair = wallet.signer(did)._pair
        secrets += [
            pair.private_bytes(),
            pair.secret_multikey().encode(),
            b64url_encode(pair.private_bytes()).encode(),
        ]
    await wallet.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert raw  # the file exists and has content
    for secret in secrets:
        assert secret not in raw


async def test_wrong_passphrase_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "agent.wallet"
    async with await _open(path) as wallet:
        await wallet.create_did()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(WrongPassphraseError) as info:
        await _open(path, "wrong")
    assert info.value.code == "WRONG_PASSPHRASE_ERROR"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    async with await _open(path) as wallet:
        assert len(await wallet.list_dids()) == 1


@pytest.mark.parametrize(
    "tamper",
    [
        {"memory_kib": 64 * 1024 * 1024},
        {"iterations": 10_000},
        {"lanes": 1000},
        {"algorithm": "md5"},
        {"salt": "AA"},
    ],
)
async def test_tampered_kdf_parameters_refused_before_any_work(
    tmp_path: Path, tamper: dict[str, Any]
) -> None:
    path = tmp_path / "agent.wallet"
    async with await _open(path) as wallet:
        await wallet.create_did()
    with sqlite3.connect(path) as db:
        params = json.loads(db.execute("SELECT value FROM meta WHERE name = 'kdf'").fetchone()[0])
        params.update(tamper)
        db.execute("UPDATE meta SET value = ? WHERE name = 'kdf'", (json.dumps(params),))
    started = time.perf_counter()
    with pytest.raises(MalformedValueError):
        await _open(path)
    assert time.perf_counter() - started < 1.0


async def test_corrupted_and_foreign_files(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.wallet"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(WalletCorruptedError):
        await _open(garbage)
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(WalletCorruptedError):
        await _open(foreign)
    with pytest.raises(WalletError):
        await Wallet.open(tmp_path / "missing.wallet", passphrase="x", create=False)


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE meta SET value = 'not json' WHERE name = 'kdf'",
        "UPDATE meta SET value = '!!!' WHERE name = 'check'",
        "DELETE FROM meta WHERE name = 'check'",
    ],
)
async def test_damaged_passphrase_metadata_is_a_corrupted_wallet(tmp_path: Path, tamper: str) -> None:
    path = tmp_path / "agent.wallet"
    async with await _open(path) as wallet:
        await wallet.create_did()
    with sqlite3.connect(path) as db:
        db.execute(tamper)
    with pytest.raises(WalletCorruptedError):
        await _open(path)


async def test_locked_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "agent.wallet"
    wallet = await Wallet.open(path, passphrase="pw", kdf=FAST, timeout=0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(WalletLockedError):
            await wallet.create_did()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await wallet.create_did()  # and it works again once released
    await wallet.close()


WRITER = """
import asyncio, sys
sys.path.insert(0, {root!r})
from wallet import Wallet, KdfParams
async def main():
    kdf = KdfParams.new(memory_kib=8192, iterations=1, lanes=1)
    wallet = await Wallet.open({path!r}, passphrase="pw", kdf=kdf)
    print("ready", flush=True)
    while True:
        await wallet.create_did()
asyncio.run(main())
"""


async def test_kill_9_during_writes_then_reopen(tmp_path: Path) -> None:
    path = tmp_path / "agent.wallet"
    code = WRITER.format(root=str(Path(__file__).resolve().parents[2]), path=str(path))
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == b"ready"
    await asyncio.sleep(0.8)
    process.kill()  # SIGKILL, mid-write
    process.wait()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    async with await Wallet.open(path, passphrase="pw") as wallet:
        dids = await wallet.list_dids()
        assert len(dids) > 5
        for record in dids:  # every committed key decrypts: no half-written row
            wallet.signer(record.did)


async def test_credentials_store_find_and_refuse(tmp_path: Path) -> None:
    async with await _open(tmp_path / "w") as wallet:
        did = await wallet.create_did()
        issuer, vc = await _stored(
            wallet, ["orders:read"], id="urn:uuid:aaaaaaaa-0000-4000-8000-000000000001"
        )
        await _stored(
            wallet, ["billing:read"], issuer=Party(), id="urn:uuid:aaaaaaaa-0000-4000-8000-000000000002"
        )
        assert len(await wallet.list_credentials()) == 2
        assert [c.id for c in await wallet.list_credentials(scope="billing:read")] == [
            "urn:uuid:aaaaaaaa-0000-4000-8000-000000000002"
        ]
        assert len(await wallet.list_credentials(issuer=issuer.did)) == 1
        assert len(await wallet.list_credentials(type="AgentCredential")) == 2
        assert (await wallet.list_credentials(subject=did))[0].subject == did

        someone_else = await signed(agent_credential(issuer, Party().did, ["x"]), issuer)
        with pytest.raises(WalletError, match="not issued to any DID"):
            await wallet.store_credential(someone_else)
        tampered = json.loads(json.dumps(vc))
        tampered["credentialSubject"]["scope"] = ["admin"]
        with pytest.raises(WalletError) as info:
            await wallet.store_credential(tampered)
        assert info.value.code == "PROOF_VERIFICATION_ERROR"
        await wallet.delete_credential("urn:uuid:aaaaaaaa-0000-4000-8000-000000000001")
        with pytest.raises(WalletError):
            await wallet.delete_credential("urn:uuid:aaaaaaaa-0000-4000-8000-000000000001")


async def test_unresolvable_issuer_warns_or_is_refused_when_strict(tmp_path: Path) -> None:
    from didvc.keys import KeySigner
    from tests.helpers import credential

    resolver = default_resolver(allow_http=True, allow_loopback=True)
    async with await Wallet.open(tmp_path / "w", passphrase="pw", kdf=FAST, resolver=resolver) as wallet:
        did = await wallet.create_did()
        issuer = Party()
        issuer.did = "did:web:127.0.0.1%3A9"  # nothing listens on the discard port
        issuer.signer = KeySigner(issuer.pair, f"{issuer.did}#key-1")
        vc = await signed(credential(issuer, did), issuer)
        record = await wallet.store_credential(vc)
        assert record.warnings and "internalError" in record.warnings[0]
        with pytest.raises(WalletError):
            await wallet.store_credential(vc, strict=True)
    await resolver.close()


async def test_request_headers_verify_and_bind(tmp_path: Path) -> None:
    async with await _open(tmp_path / "w") as wallet:
        await wallet.create_did()
        await _stored(wallet)
        verifier = _verifier()
        url = f"{API}/orders"
        headers = await wallet.request_headers("POST", url, body=b'{"q":1}')
        token = headers["Authorization"].removeprefix("VP ")
        result = await verifier.verify_presentation(
            token, audience=API, method="POST", url=url, body=b'{"q":1}'
        )
        assert result.verified, result.problems
        for change in [
            {"method": "PUT"},
            {"url": f"{API}/admin"},
            {"body": b'{"q":2}'},
            {"audience": "https://other.example"},
        ]:
            token = (await wallet.request_headers("POST", url, body=b'{"q":1}'))["Authorization"][3:]
            args = {"audience": API, "method": "POST", "url": url, "body": b'{"q":1}', **change}
            assert not (await _verifier().verify_presentation(token, **args)).verified, change


async def test_a_thousand_headers_a_thousand_jtis(tmp_path: Path) -> None:
    async with await _open(tmp_path / "w") as wallet:
        await wallet.create_did()
        jtis = set()
        for _ in range(1000):
            token = (await wallet.request_headers("GET", f"{API}/x"))["Authorization"][3:]
            jtis.add(parse_jws(token, typ="vp+jwt").payload["jti"])
        assert len(jtis) == 1000


async def test_least_disclosure_and_expired_skipped(tmp_path: Path) -> None:
    async with await _open(tmp_path / "w") as wallet:
        did = await wallet.create_did()
        await _stored(wallet, ["orders:read"], id="urn:uuid:bbbbbbbb-0000-4000-8000-000000000001")
        await _stored(wallet, ["billing:read"], id="urn:uuid:bbbbbbbb-0000-4000-8000-000000000002")
        issuer = Party()
        expired = await signed(
            agent_credential(
                issuer,
                did,
                ["orders:read"],
                id="urn:uuid:bbbbbbbb-0000-4000-8000-000000000003",
                validFrom="2020-01-01T00:00:00Z",
                validUntil="2021-01-01T00:00:00Z",
            ),
            issuer,
        )
        record = await wallet.store_credential(expired)
        assert record.expired() and record.warnings
        token = await wallet.request_token("GET", f"{API}/orders", scopes=["orders:read"])
        sent = parse_jws(token, typ="vp+jwt").payload["verifiableCredential"]
        assert [c["id"] for c in sent] == ["urn:uuid:bbbbbbbb-0000-4000-8000-000000000001"]
        token = await wallet.request_token(
            "GET", f"{API}/orders", credential_ids=["urn:uuid:bbbbbbbb-0000-4000-8000-000000000002"]
        )
        assert [c["id"] for c in parse_jws(token, typ="vp+jwt").payload["verifiableCredential"]] == [
            "urn:uuid:bbbbbbbb-0000-4000-8000-000000000002"
        ]


async def test_headers_follow_changes_made_by_another_process(tmp_path: Path) -> None:
    """Decoded credentials are kept between headers, never past a change to the file."""

    def sent(token: str) -> list[str]:
        return [c["id"] for c in parse_jws(token, typ="vp+jwt").payload["verifiableCredential"]]

    async with await _open(tmp_path / "w") as agent:
        await agent.create_did()
        await _stored(agent, id="urn:uuid:cccccccc-0000-4000-8000-000000000001")
        assert sent(await agent.request_token("GET", f"{API}/orders")) == [
            "urn:uuid:cccccccc-0000-4000-8000-000000000001"
        ]
        async with await _open(tmp_path / "w") as operator:  # e.g. `didvc wallet import`, meanwhile
            await _stored(operator, id="urn:uuid:cccccccc-0000-4000-8000-000000000002")
            assert len(sent(await agent.request_token("GET", f"{API}/orders"))) == 2
            await operator.delete_credential("urn:uuid:cccccccc-0000-4000-8000-000000000001")
        assert sent(await agent.request_token("GET", f"{API}/orders")) == [
            "urn:uuid:cccccccc-0000-4000-8000-000000000002"
        ]
        await agent.delete_credential("urn:uuid:cccccccc-0000-4000-8000-000000000002")  # its own change
        assert sent(await agent.request_token("GET", f"{API}/orders")) == []
        listed = await agent.list_credentials()
        assert listed == []


async def test_listed_credentials_are_the_callers_to_change(tmp_path: Path) -> None:
    async with await _open(tmp_path / "w") as wallet:
        await wallet.create_did()
        _, vc = await _stored(wallet)
        (record,) = await wallet.list_credentials()
        assert isinstance(record.credential, dict)
        record.credential["credentialSubject"]["scope"] = ["orders:delete"]
        token = await wallet.request_token("GET", f"{API}/orders")
        assert parse_jws(token, typ="vp+jwt").payload["verifiableCredential"] == [vc]


@pytest.mark.parametrize(
    ("key_type", "suite"), [("Ed25519", "eddsa-rdfc-2022"), ("P-256", "ecdsa-rdfc-2019")]
)
async def test_data_integrity_presentation(tmp_path: Path, key_type: str, suite: str) -> None:
    """Signed with the suite of the holder's key (a P-256 DID with ecdsa-rdfc-2019)."""
    async with await _open(tmp_path / "w") as wallet:
        await wallet.create_did("key", key_type)
        await _stored(wallet)
        vp = await wallet.data_integrity_presentation(challenge="c-7", domain=API)
        assert vp["proof"]["cryptosuite"] == suite
        result = await _verifier().verify_presentation(
            vp, challenge="c-7", audience=API, method="GET", url=f"{API}/orders"
        )
        assert result.verified, result.problems
        result = await _verifier().verify_presentation(
            b64url_encode(json.dumps(vp).encode()), challenge="c-8", audience=API
        )
        assert [c for c, _ in result.problems] == ["INVALID_CHALLENGE_ERROR"]


async def test_data_integrity_header_carries_the_presentation(tmp_path: Path) -> None:
    async with await _open(tmp_path / "w") as wallet:
        await wallet.create_did()
        await _stored(wallet)
        header = await wallet.data_integrity_header(challenge="c-9", domain=API)
    scheme, _, value = header["Authorization"].partition(" ")
    assert scheme == "VP"
    result = await _verifier().verify_presentation(
        value, challenge="c-9", audience=API, method="GET", url=f"{API}/orders"
    )
    assert result.verified, result.problems


async def test_credentials_are_checked_by_the_verifier_passed_in(tmp_path: Path) -> None:
    from datetime import timedelta

    later = NOW + timedelta(days=365 * 200)  # the verifier's clock is past every validUntil
    verifier = Verifier(resolver=default_resolver(), clock=lambda: later, isolate_canonicalization=False)
    wallet = await Wallet.open(tmp_path / "w", passphrase="pw", kdf=FAST, verifier=verifier)
    async with wallet:
        did = await wallet.create_did()
        vc = await signed(agent_credential(ISSUER, did, ["a"]), ISSUER)
        first = await wallet.store_credential(vc)
        second = await wallet.store_credential(vc)
    for record in (first, second):
        assert [w.split(":")[0] for w in record.warnings] == ["CREDENTIAL_EXPIRED_ERROR"]
    # the wallet closed; the verifier is still the caller's, and still works
    result = await verifier.check_credential(vc)
    assert [p.code for p in result.problems] == ["CREDENTIAL_EXPIRED_ERROR"]
    await verifier.close()


async def test_backup_round_trip(tmp_path: Path) -> None:
    async with await _open(tmp_path / "w") as wallet:
        did = await wallet.create_did()
        await wallet.create_did("jwk", "P-256", default=False)
        await _stored(wallet)
        await wallet.export_backup(tmp_path / "backup.json", passphrase="backup pass")
        original = wallet.signer(did)._pair.private_bytes()
    backup_text = (tmp_path / "backup.json").read_text()
    assert b64url_encode(original) not in backup_text
    with pytest.raises(WrongPassphraseError):
        await Wallet.import_backup(
            tmp_path / "backup.json", tmp_path / "w2", backup_passphrase="nope", passphrase="new"
        )
    restored = await Wallet.import_backup(
        tmp_path / "backup.json",
        tmp_path / "w3",
        backup_passphrase="backup pass",
        passphrase="new",
        resolver=default_resolver(),
    )
    async with restored:
        assert await restored.default_did() == did
        assert len(await restored.list_dids()) == 2
        assert len(await restored.list_credentials()) == 1
        assert restored.signer(did)._pair.private_bytes() == original


async def test_did_web_import_and_rotation(tmp_path: Path) -> None:
    from didvc.keys import KeyPair

    did = "did:web:agents.example.com:bot-7"
    first, second = KeyPair.generate(), KeyPair.generate()

    def document(pairs: list[tuple[str, KeyPair]]) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": did,
            "verificationMethod": [
                {
                    "id": f"{did}#{name}",
                    "type": "Multikey",
                    "controller": did,
                    "publicKeyMultibase": p.public_key.to_multikey(),
                }
                for name, p in pairs
            ],
            "authentication": [f"{did}#{name}" for name, _ in pairs],
        }

    async with await _open(tmp_path / "w") as wallet:
        assert await wallet.import_did_web(document([("k1", first)]), first.secret_multikey()) == did
        assert wallet.signer(did).key_id == f"{did}#k1"
        with pytest.raises(InvalidKeyError):
            await wallet.import_did_web(document([("k1", first)]), KeyPair.generate().secret_multikey())
        await wallet.rotate_did_web_key(
            did, document([("k1", first), ("k2", second)]), second.secret_multikey(), f"{did}#k2"
        )
        assert wallet.signer(did).key_id == f"{did}#k2"
    assert NOW  # the module's clock is not used here


async def test_wallet_files_and_backups_are_private_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)  # the usual default: files readable by every local user
    try:
        async with await _open(tmp_path / "agent.wallet") as wallet:
            await wallet.create_did()
            await wallet.export_backup(tmp_path / "backup.json", passphrase="backup pass")
            created = [p for p in tmp_path.iterdir() if p.name.startswith("agent.wallet")]
            assert {p.name for p in created} >= {"agent.wallet", "agent.wallet-wal", "agent.wallet-shm"}
            for path in [*created, tmp_path / "backup.json"]:
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    finally:
        os.umask(previous)

"""Test keys for WeChat Pay in development: the merchant's API key pair, the APIv3 key and the
simulator's platform key pair, generated once into instance/ (never committed, never production)."""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEV_MCHID = "1900000109"
_ALNUM = string.ascii_letters + string.digits


def new_private_key_pem() -> str:
    """A fresh RSA-2048 private key (PKCS#8 PEM), as WeChat Pay's API keys are."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_key_pem(private_pem: str) -> str:
    """The public half of a PEM private key."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass(frozen=True)
class TestKeys:
    """A merchant and a platform, as a WeChat Pay merchant account and WeChat Pay hold them."""

    __test__ = False  # a fixture's value, not a pytest test class

    mchid: str
    merchant_serial: str
    merchant_private_key: str
    apiv3_key: str
    platform_private_key: str
    platform_key_id: str

    @classmethod
    def generate(cls, mchid: str = DEV_MCHID) -> TestKeys:
        return cls(
            mchid=mchid,
            merchant_serial=secrets.token_hex(20).upper(),
            merchant_private_key=new_private_key_pem(),
            apiv3_key="".join(secrets.choice(_ALNUM) for _ in range(32)),
            platform_private_key=new_private_key_pem(),
            platform_key_id="PUB_KEY_ID_" + secrets.token_hex(12).upper(),
        )

    def site_settings(self, appid: str, api_base_url: str) -> dict[str, str]:
        """The site's WECHATPAY_* settings for this merchant, pointed at a simulator."""
        return {
            "WECHATPAY_MCHID": self.mchid,
            "WECHATPAY_APPID": appid,
            "WECHATPAY_MERCHANT_SERIAL": self.merchant_serial,
            "WECHATPAY_PRIVATE_KEY": self.merchant_private_key,
            "WECHATPAY_APIV3_KEY": self.apiv3_key,
            "WECHATPAY_PUBLIC_KEY": public_key_pem(self.platform_private_key),
            "WECHATPAY_PUBLIC_KEY_ID": self.platform_key_id,
            "WECHATPAY_API_BASE_URL": api_base_url,
        }


def load_or_create(instance_path: str) -> TestKeys:
    """instance/wechatpay-dev-keys.json, created (mode 0600) on first use."""
    path = Path(instance_path) / "wechatpay-dev-keys.json"
    if path.exists():
        stored = json.loads(path.read_text("utf-8"))
        stored.pop("development", None)
        return TestKeys(**stored)
    keys = TestKeys.generate()
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({**asdict(keys), "development": True}, handle)
    os.replace(temporary, path)
    return keys

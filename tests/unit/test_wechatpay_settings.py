"""WeChat Pay settings: a platform certificate stands for the public key and its id, and the
library's callback accepts what that platform signs; unusable settings are named."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from xometry_site.devtools.wechatpay_keys import TestKeys
from xometry_site.services.payments.wechatpay_api import WeChatPayApi
from xometry_site.services.payments.wechatpay_settings import SettingsProblem, read_settings


@pytest.fixture(scope="module")
def keys() -> TestKeys:
    return TestKeys.generate()


def platform_certificate(keys: TestKeys) -> x509.Certificate:
    key = serialization.load_pem_private_key(keys.platform_private_key.encode(), password=None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (test)")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x5157F04E7A2B7C6D1E8F90A1B2C3D4E5F6071829)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def test_a_platform_certificate_gives_the_key_and_its_serial_as_the_id(keys, tmp_path):
    cert = platform_certificate(keys)
    path = tmp_path / "wechatpay_platform.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    config = keys.site_settings("wx-app", "https://api.mch.weixin.qq.com")
    del config["WECHATPAY_PUBLIC_KEY"], config["WECHATPAY_PUBLIC_KEY_ID"]
    config.update(WECHATPAY_PLATFORM_CERT_PATH=str(path), SERVER_NAME_FOR_MAIL="https://x.test")
    settings = read_settings(config)
    assert settings.platform_key_id == "5157F04E7A2B7C6D1E8F90A1B2C3D4E5F6071829"
    assert settings.notify_url == "https://x.test/payments/wechat/notify"

    # what the platform signs under the certificate's serial is verified and decrypted
    # (the library checks no timestamp: the notify service does that before calling it)
    api = WeChatPayApi(settings)
    resource = {"out_trade_no": "XA-2026-000001-0a1b2c3d", "trade_state": "SUCCESS"}
    body = _notification(keys, resource)
    headers = _signed(keys, body, settings.platform_key_id)
    event = api.callback(headers, body)
    assert event["resource"] == resource
    assert api.callback({**headers, "Wechatpay-Nonce": "other"}, body) is None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"WECHATPAY_APIV3_KEY": "x" * 31}, "WECHATPAY_APIV3_KEY"),
        (
            {"WECHATPAY_PRIVATE_KEY": None, "WECHATPAY_PRIVATE_KEY_PATH": "/nowhere.pem"},
            "cannot be read",
        ),
        ({"WECHATPAY_PUBLIC_KEY": "not a key"}, "not a PEM public key"),
        ({"WECHATPAY_MCHID": None}, "WECHATPAY_MCHID"),
    ],
)
def test_unusable_settings_are_named(keys, change, named):
    config = {**keys.site_settings("wx-app", "https://api.mch.weixin.qq.com"), **change}
    with pytest.raises(SettingsProblem, match=named):
        read_settings(config)


def _notification(keys: TestKeys, resource: dict) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = "n0nce1234567"
    sealed = AESGCM(keys.apiv3_key.encode()).encrypt(
        nonce.encode(), json.dumps(resource).encode(), b"transaction"
    )
    return json.dumps(
        {
            "id": "1",
            "event_type": "TRANSACTION.SUCCESS",
            "resource_type": "encrypt-resource",
            "resource": {
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(sealed).decode(),
                "associated_data": "transaction",
                "nonce": nonce,
            },
        }
    )


def _signed(keys: TestKeys, body: str, serial: str) -> dict[str, str]:
    from cryptography.hazmat.primitives.asymmetric import padding

    key = serialization.load_pem_private_key(keys.platform_private_key.encode(), password=None)
    stamp, nonce = "1700000000", "abc"
    signature = key.sign(
        f"{stamp}\n{nonce}\n{body}\n".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": base64.b64encode(signature).decode(),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }

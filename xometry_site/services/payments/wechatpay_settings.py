"""WeChat Pay's settings read once from the configuration: keys as PEM text or mounted files,
the platform's public key (or a platform certificate, whose serial is then the key id)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_API_BASE_URL = "https://api.mch.weixin.qq.com"
NOTIFY_PATH = "/payments/wechat/notify"
SIMULATOR_MARK = "__wechatpay__"


class SettingsProblem(ValueError):
    """A WeChat Pay setting is missing or unusable; the message names it."""


@dataclass(frozen=True)
class WeChatPaySettings:
    """Everything a call to WeChat Pay or the check of a notification needs."""

    mchid: str
    appid: str
    miniprogram_appid: str | None  # the Mini Program's AppID, bound to the merchant too
    merchant_serial: str
    private_key: str  # PEM of the merchant's API key
    apiv3_key: str
    platform_public_key: str  # PEM
    platform_key_id: str  # PUB_KEY_ID_… or the platform certificate's serial (hex)
    api_base_url: str
    notify_url: str
    timeout: float
    notify_max_age: int

    @property
    def appids(self) -> frozenset[str]:
        """The AppIDs payments are made under: the merchant's, and the Mini Program's."""
        return frozenset(a for a in (self.appid, self.miniprogram_appid) if a)


def _text(config: Mapping[str, Any], name: str) -> str | None:
    """A PEM setting given inline (NAME) or as a mounted secret file (NAME_PATH)."""
    value = config.get(name)
    if value:
        return str(value).replace("\\n", "\n")
    path = config.get(f"{name}_PATH")
    if not path:
        return None
    try:
        return Path(path).read_text("utf-8")
    except OSError:
        raise SettingsProblem(f"{name}_PATH {path} cannot be read") from None


def _platform_key(config: Mapping[str, Any]) -> tuple[str, str]:
    """(public key PEM, its id): WECHATPAY_PUBLIC_KEY + _ID, or a platform certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem, key_id = _text(config, "WECHATPAY_PUBLIC_KEY"), config.get("WECHATPAY_PUBLIC_KEY_ID")
    if pem and key_id:
        return pem, str(key_id)
    certificate = _text(config, "WECHATPAY_PLATFORM_CERT")
    if certificate:
        try:
            cert = x509.load_pem_x509_certificate(certificate.encode())
        except ValueError:
            raise SettingsProblem("WECHATPAY_PLATFORM_CERT_PATH is not a PEM certificate") from None
        public = cert.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return public.decode(), format(cert.serial_number, "X")
    raise SettingsProblem(
        "WECHATPAY_PUBLIC_KEY and WECHATPAY_PUBLIC_KEY_ID (or WECHATPAY_PLATFORM_CERT_PATH) must be set"
    )


def notify_url(config: Mapping[str, Any]) -> str:
    """WECHATPAY_NOTIFY_URL, else SITE_URL + /payments/wechat/notify (never the Host header)."""
    explicit = config.get("WECHATPAY_NOTIFY_URL")
    if explicit:
        return str(explicit)
    return (config.get("SERVER_NAME_FOR_MAIL") or "").rstrip("/") + NOTIFY_PATH


def is_configured(config: Mapping[str, Any]) -> bool:
    """Whether the site offers WeChat Pay (a merchant id is set, or the simulator gave one)."""
    return bool(config.get("WECHATPAY_MCHID"))


def read_settings(config: Mapping[str, Any]) -> WeChatPaySettings:
    """The settings, checked: SettingsProblem names what is missing or unusable."""
    from wechatpayv3.utils import load_private_key, load_public_key

    missing = [
        name
        for name in ("WECHATPAY_MCHID", "WECHATPAY_APPID", "WECHATPAY_MERCHANT_SERIAL")
        if not config.get(name)
    ]
    if missing:
        raise SettingsProblem(", ".join(missing) + " must be set")
    apiv3_key = str(config.get("WECHATPAY_APIV3_KEY") or "")
    if len(apiv3_key.encode()) != 32:
        raise SettingsProblem("WECHATPAY_APIV3_KEY must be the 32-character APIv3 key")
    private_key = _text(config, "WECHATPAY_PRIVATE_KEY")
    if not private_key:
        raise SettingsProblem("WECHATPAY_PRIVATE_KEY (or WECHATPAY_PRIVATE_KEY_PATH) must be set")
    public_key, key_id = _platform_key(config)
    try:
        load_private_key(private_key)
    except Exception:  # the library raises a bare Exception for a key it cannot load
        raise SettingsProblem("WECHATPAY_PRIVATE_KEY is not a PEM private key") from None
    try:
        load_public_key(public_key)
    except Exception:
        raise SettingsProblem("WECHATPAY_PUBLIC_KEY is not a PEM public key") from None
    return WeChatPaySettings(
        mchid=str(config["WECHATPAY_MCHID"]),
        appid=str(config["WECHATPAY_APPID"]),
        miniprogram_appid=str(config.get("WECHAT_MINIPROGRAM_APP_ID") or "") or None,
        merchant_serial=str(config["WECHATPAY_MERCHANT_SERIAL"]),
        private_key=private_key,
        apiv3_key=apiv3_key,
        platform_public_key=public_key,
        platform_key_id=key_id,
        api_base_url=str(config.get("WECHATPAY_API_BASE_URL") or DEFAULT_API_BASE_URL).rstrip("/"),
        notify_url=notify_url(config),
        timeout=float(config.get("WECHATPAY_TIMEOUT") or 2),
        notify_max_age=int(config.get("WECHATPAY_NOTIFY_MAX_AGE") or 300),
    )


def production_problem(config: Mapping[str, Any]) -> str | None:
    """Why production must not start with these WeChat Pay settings, or None."""
    base = str(config.get("WECHATPAY_API_BASE_URL") or DEFAULT_API_BASE_URL)
    if config.get("WECHATPAY_SIMULATOR") or SIMULATOR_MARK in base:
        return (
            "WECHATPAY_* must point at WeChat Pay, not at the simulator (the simulator is dev-only)"
        )
    try:
        settings = read_settings(config)
    except SettingsProblem as problem:
        return str(problem)
    if not settings.api_base_url.startswith("https://"):
        return "WECHATPAY_API_BASE_URL must be https://"
    # a notify URL derived from an http SITE_URL is named by the SITE_URL check
    if config.get("WECHATPAY_NOTIFY_URL") and not settings.notify_url.startswith("https://"):
        return "WECHATPAY_NOTIFY_URL must be https:// (WeChat Pay notifies only https)"
    return None

"""Configuration classes: development has safe defaults, production refuses unsafe ones."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-secret-key-not-for-production"  # noqa: S105 - refused in production


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    return int(_env(name) or default)


def _env_float(name: str, default: float) -> float:
    return float(_env(name) or default)


def _env_bool(name: str, default: bool = False) -> bool:
    value = _env(name)
    return default if value is None else value.lower() in {"1", "true", "yes", "on"}


def development_site_url() -> str:
    """SITE_URL when set, else the address `make run PORT=…` serves: mail links and the WeChat
    simulator's URLs follow the port the development server listens on."""
    return _env("SITE_URL") or f"http://127.0.0.1:{_env_int('PORT', 5000)}"


class Config:
    """Settings shared by every environment; each can be overridden by an environment variable."""

    SECRET_KEY = _env("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL")  # None → SQLite file in instance/
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    SITE_NAME = "Xometry Asia"
    CONTACT_EMAIL = _env("CONTACT_EMAIL", "info@xometry.asia")
    POLICY_EFFECTIVE_DATE = _env("POLICY_EFFECTIVE_DATE", "2024-07-01")
    POLICY_CURRENT_EDITION = _env("POLICY_CURRENT_EDITION")
    # who issues quotes: the header of the quote PDF (address and phone are left out when unset)
    COMPANY_NAME = _env("COMPANY_NAME", "Xometry Asia")
    COMPANY_ADDRESS = _env("COMPANY_ADDRESS")
    COMPANY_PHONE = _env("COMPANY_PHONE")
    COMPANY_EMAIL = _env("COMPANY_EMAIL", CONTACT_EMAIL)
    COMPANY_WEBSITE = _env("COMPANY_WEBSITE", "https://xometry.asia")
    # the quote PDF costs CPU (per account); share links: made per account, opened per address
    QUOTE_PDF_LIMIT = _env("QUOTE_PDF_LIMIT", "10 per minute; 100 per day")
    QUOTE_SHARE_LIMIT = _env("QUOTE_SHARE_LIMIT", "10 per hour; 30 per day")
    SHARED_QUOTE_LIMIT = _env("SHARED_QUOTE_LIMIT", "30 per minute; 300 per day")
    # filings shown in the footer when set: ICP 备案号 (linked to MIIT's site) and 公安备案号
    ICP_LICENSE = _env("ICP_LICENSE")
    PSB_LICENSE = _env("PSB_LICENSE")
    # a part's live price per customer: typing a quantity sends a few a second
    PART_PRICE_LIMIT = _env("PART_PRICE_LIMIT", "240 per minute")
    # the operator's account for corporate transfers (对公转账), shown on every unpaid order
    BANK_ACCOUNT_NAME = _env("BANK_ACCOUNT_NAME", "示例制造服务（上海）有限公司 (development)")
    BANK_NAME = _env("BANK_NAME", "中国工商银行上海张江支行 (development)")
    BANK_ACCOUNT_NUMBER = _env("BANK_ACCOUNT_NUMBER", "0000 0000 0000 0000 000")
    # privacy (policy 3.1, 5): deregistration cooling-off and how long each kind of record is kept
    DEREGISTRATION_COOLING_OFF_DAYS = _env_int("DEREGISTRATION_COOLING_OFF_DAYS", 7)
    PRIVACY_REQUEST_WORKING_DAYS = 15  # policy 5.7: we answer within 15 working days
    RETENTION_UNVERIFIED_ACCOUNT_DAYS = _env_int("RETENTION_UNVERIFIED_ACCOUNT_DAYS", 30)
    RETENTION_ABANDONED_QUOTE_DAYS = _env_int("RETENTION_ABANDONED_QUOTE_DAYS", 180)
    RETENTION_EXPORT_DAYS = _env_int("RETENTION_EXPORT_DAYS", 7)
    RETENTION_SIGN_IN_EVENT_DAYS = _env_int("RETENTION_SIGN_IN_EVENT_DAYS", 180)
    RETENTION_UNVERIFIED_REQUEST_HOURS = _env_int("RETENTION_UNVERIFIED_REQUEST_HOURS", 24)
    RETENTION_PHONE_CODE_HOURS = _env_int("RETENTION_PHONE_CODE_HOURS", 24)
    RETENTION_EVIDENCE_DAYS = _env_int("RETENTION_EVIDENCE_DAYS", 3 * 365)  # civil claims: 3 years
    RETENTION_AUDIT_DAYS = _env_int("RETENTION_AUDIT_DAYS", 3 * 365)  # ≥ 6 months (CSL art. 21)
    RETENTION_ORDER_YEARS = _env_int("RETENTION_ORDER_YEARS", 3)  # E-Commerce Law art. 31

    # Public pages (pages/cache.py) change only with a deploy: browsers, nginx and each worker's
    # HTTP cache (http_cache.py, at most HTTP_CACHE_ENTRIES answers; 0 turns it off) keep them.
    PUBLIC_PAGE_SECONDS = _env_int("PUBLIC_PAGE_SECONDS", 300)
    HTTP_CACHE_ENTRIES = _env_int("HTTP_CACHE_ENTRIES", 512)

    LANGUAGES = ("zh_CN", "en")
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")

    SESSION_COOKIE_NAME = "session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_NAME = "remember_token"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 24 * 14
    COOKIE_CONSENT_MAX_AGE = 60 * 60 * 24 * 365
    LANGUAGE_COOKIE_MAX_AGE = 60 * 60 * 24 * 365
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session that holds it
    REAUTH_MAX_AGE = _env_int("REAUTH_MAX_AGE", 300)
    # accounts: mail link lifetimes (seconds) and throttles ("N per period; …"), per IP and per account
    VERIFY_EMAIL_MAX_AGE = _env_int("VERIFY_EMAIL_MAX_AGE", 48 * 3600)
    PASSWORD_RESET_MAX_AGE = _env_int("PASSWORD_RESET_MAX_AGE", 3600)
    LOGIN_LIMIT = _env("LOGIN_LIMIT", "10 per minute; 50 per hour")
    LOGIN_ACCOUNT_LIMIT = _env("LOGIN_ACCOUNT_LIMIT", "10 per minute; 30 per hour")
    REGISTER_LIMIT = _env("REGISTER_LIMIT", "10 per minute; 30 per hour")
    REGISTER_ACCOUNT_LIMIT = _env("REGISTER_ACCOUNT_LIMIT", "5 per hour; 10 per day")
    FORGOT_LIMIT = _env("FORGOT_LIMIT", "5 per minute; 20 per hour")
    FORGOT_ACCOUNT_LIMIT = _env("FORGOT_ACCOUNT_LIMIT", "3 per 15 minutes; 10 per day")
    RESET_LIMIT = _env("RESET_LIMIT", "10 per minute; 30 per hour")
    RESET_ACCOUNT_LIMIT = _env("RESET_ACCOUNT_LIMIT", "10 per hour")
    RESEND_LIMIT = _env("RESEND_LIMIT", "3 per minute; 10 per hour")
    RESEND_ACCOUNT_LIMIT = _env("RESEND_ACCOUNT_LIMIT", "3 per 10 minutes; 10 per day")
    # SMS codes, shared by every page that sends one: texts per number and sends per IP, code
    # tries per IP and wrong codes per number (on top of each code's five tries)
    SMS_LIMIT_PER_PHONE = _env("SMS_LIMIT_PER_PHONE", "1 per minute; 5 per hour; 10 per day")
    SMS_LIMIT_PER_IP = _env("SMS_LIMIT_PER_IP", "10 per hour; 30 per day")
    SMS_CODE_LIMIT = _env("SMS_CODE_LIMIT", "20 per 10 minutes; 60 per day")
    SMS_CODE_PHONE_LIMIT = _env("SMS_CODE_PHONE_LIMIT", "10 per hour; 20 per day")

    UPLOAD_MAX_FILE_SIZE = _env_int("UPLOAD_MAX_FILE_SIZE", 100 * 1024 * 1024)
    UPLOAD_MAX_FILES = _env_int("UPLOAD_MAX_FILES", 20)
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 20 * 100 * 1024 * 1024 + 1024 * 1024)
    MAX_FORM_MEMORY_SIZE = _env_int("MAX_FORM_MEMORY_SIZE", 512 * 1024)
    MAX_FORM_PARTS = _env_int("MAX_FORM_PARTS", 200)
    UPLOAD_READ_AHEAD = _env_bool("UPLOAD_READ_AHEAD", True)  # read the body in a helper thread
    STEP_TIMEOUT = float(_env("STEP_TIMEOUT") or 60)  # seconds for OpenCascade on one STEP/IGES
    # STEP/IGES children forked by a process that has OpenCascade imported (services/quotes/
    # warm_step.py) rather than a new interpreter per drawing; off: the cold path only.
    STEP_WARM_WORKER = _env_bool("STEP_WARM_WORKER", True)
    # Seconds a drawing may stay "measuring" before its worker counts as dead (SIGKILL, out of
    # memory, host lost), or "pending" before its job counts as lost: `flask quotes recover`
    # (every 10 min from the scheduler) queues it again,
    # or after ANALYSIS_MAX_ATTEMPTS starts sends it to an engineer. A live worker holds one
    # drawing's claim for STEP_TIMEOUT plus decryption and the preview (a minute or two at worst),
    # so 15 min (10 × STEP_TIMEOUT if that is longer) never takes a live claim. The RQ job timeout
    # (3600 s, services/jobs.py) bounds a whole quote of up to 20 drawings, not one claim.
    ANALYSIS_CLAIM_TIMEOUT = _env_int("ANALYSIS_CLAIM_TIMEOUT", max(900, int(10 * STEP_TIMEOUT)))
    ANALYSIS_MAX_ATTEMPTS = _env_int("ANALYSIS_MAX_ATTEMPTS", 3)
    STAFF_NOTIFY_EMAIL = _env("STAFF_NOTIFY_EMAIL")  # comma-separated; unset → every staff account

    REDIS_URL = _env("REDIS_URL")
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI") or _env("REDIS_URL") or "memory://"
    # Deadlines (seconds) of every call that leaves the process (SECURITY.md "Dependencies"): a
    # hung dependency must not hold a request thread for more than a second or two.
    # The limiter's Redis: well under a second, then Flask-Limiter's in-memory fallback takes over
    # (RATELIMIT_STORAGE_OPTIONS is built from it in extensions.limiter_storage_options).
    RATELIMIT_REDIS_TIMEOUT = _env_float("RATELIMIT_REDIS_TIMEOUT", 0.25)
    # The job queue's Redis as the web uses it (enqueue): past it the job runs inline.
    JOBS_REDIS_TIMEOUT = _env_float("JOBS_REDIS_TIMEOUT", 1.0)
    # PostgreSQL statements of a web request (SET LOCAL per transaction); jobs and commands keep
    # the connection's DB_STATEMENT_TIMEOUT_MS. 0 = no limit. PostgreSQL only.
    DB_REQUEST_STATEMENT_TIMEOUT_MS = _env_int("DB_REQUEST_STATEMENT_TIMEOUT_MS", 5000)
    # /healthz: how long all its checks together may take before a dependency counts as down.
    HEALTH_CHECK_TIMEOUT = _env_float("HEALTH_CHECK_TIMEOUT", 0.5)
    # ...and which dependencies make it answer 503 when down (health.py says why only these)
    HEALTH_REQUIRED = _env("HEALTH_REQUIRED", "database")
    # What a 503 (a dependency is down) asks browsers and proxies to wait before trying again.
    RETRY_AFTER_SECONDS = _env_int("RETRY_AFTER_SECONDS", 30)
    RATELIMIT_ENABLED = True
    # No X-RateLimit-* headers on every limited answer: Flask-Limiter reads the window back from
    # Redis for them (two round trips more per request, a quarter of a live price). A refused
    # request still says when to come back: errors.py adds Retry-After to the 429.
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_KEY_PREFIX = "xometry-limits"

    MAIL_BACKEND = _env("MAIL_BACKEND", "file")  # "file" (instance/outbox) or "smtp"
    MAIL_OUTBOX_DIR = _env("MAIL_OUTBOX_DIR")  # default: instance/outbox
    MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "Xometry Asia <no-reply@xometry.asia>")
    SMTP_HOST = _env("SMTP_HOST", "127.0.0.1")
    SMTP_PORT = _env_int("SMTP_PORT", 25)
    SMTP_USERNAME = _env("SMTP_USERNAME")
    SMTP_PASSWORD = _env("SMTP_PASSWORD")
    SMTP_STARTTLS = _env_bool("SMTP_STARTTLS")
    SMTP_SSL = _env_bool("SMTP_SSL")
    SMTP_TIMEOUT = _env_float("SMTP_TIMEOUT", 10)  # per socket operation; mail is sent by jobs
    SMTP_HELO_NAME = _env("SMTP_HELO_NAME")  # default: SITE_URL's host name
    SMS_BACKEND = _env("SMS_BACKEND", "console")
    SMS_TIMEOUT = _env_float("SMS_TIMEOUT", 3)  # the whole send, whatever the provider does
    # The outbox (services/outbox.py): attempts before a message is failed and staff alerted,
    # backoff (doubling from OUTBOX_RETRY_SECONDS up to OUTBOX_RETRY_MAX_SECONDS), how long a
    # "sending" claim may stay before its deliverer counts as dead, and how long sent rows are kept.
    OUTBOX_MAX_ATTEMPTS = _env_int("OUTBOX_MAX_ATTEMPTS", 8)
    OUTBOX_RETRY_SECONDS = _env_int("OUTBOX_RETRY_SECONDS", 60)
    OUTBOX_RETRY_MAX_SECONDS = _env_int("OUTBOX_RETRY_MAX_SECONDS", 3600)
    OUTBOX_CLAIM_TIMEOUT = _env_int("OUTBOX_CLAIM_TIMEOUT", 600)
    OUTBOX_RETENTION_DAYS = _env_int("OUTBOX_RETENTION_DAYS", 30)
    ALERT_MAIL_PERIOD = _env_int(
        "ALERT_MAIL_PERIOD", 86400
    )  # at most one mail per alert per period

    WECHAT_APP_ID = _env("WECHAT_APP_ID")
    WECHAT_APP_SECRET = _env("WECHAT_APP_SECRET")
    WECHAT_MP_APP_ID = _env("WECHAT_MP_APP_ID")
    WECHAT_MP_APP_SECRET = _env("WECHAT_MP_APP_SECRET")
    WECHAT_OPEN_BASE_URL = _env("WECHAT_OPEN_BASE_URL", "https://open.weixin.qq.com")
    WECHAT_API_BASE_URL = _env("WECHAT_API_BASE_URL", "https://api.weixin.qq.com")
    WECHAT_REDIRECT_URI = _env("WECHAT_REDIRECT_URI")
    WECHAT_TIMEOUT = float(_env("WECHAT_TIMEOUT") or 5)
    WECHAT_SIMULATOR = False
    # the Mini Program (小程序): wx.login codes and phone-number codes; its access token is kept
    # in Redis when REDIS_URL is set (every call to Redis within WECHAT_REDIS_TIMEOUT)
    WECHAT_MINIPROGRAM_APP_ID = _env("WECHAT_MINIPROGRAM_APP_ID")
    WECHAT_MINIPROGRAM_APP_SECRET = _env("WECHAT_MINIPROGRAM_APP_SECRET")
    WECHAT_REDIS_TIMEOUT = _env_float("WECHAT_REDIS_TIMEOUT", 1.0)

    # The Mini Program's API (xometry_site/api): its OpenAPI document (flask-smorest) and tokens.
    API_TITLE = "Xometry Asia Mini Program API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/mp/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    API_ACCESS_TOKEN_SECONDS = _env_int("API_ACCESS_TOKEN_SECONDS", 900)
    API_REFRESH_TOKEN_DAYS = _env_int("API_REFRESH_TOKEN_DAYS", 30)
    API_REGISTRATION_SECONDS = _env_int("API_REGISTRATION_SECONDS", 1800)
    API_SIGN_IN_LIMIT = _env("API_SIGN_IN_LIMIT", "10 per minute; 50 per hour")
    API_REFRESH_LIMIT = _env("API_REFRESH_LIMIT", "30 per minute; 300 per hour")
    API_UPLOAD_LIMIT = _env("API_UPLOAD_LIMIT", "30 per minute; 300 per day")

    # WeChat Pay, API v3 (services/payments). Unset WECHATPAY_MCHID in development → the built-in
    # simulator under /__wechatpay__ with test keys in instance/. Keys as PEM text or *_PATH files.
    WECHATPAY_MCHID = _env("WECHATPAY_MCHID")
    WECHATPAY_APPID = _env("WECHATPAY_APPID")  # bound to the merchant; JSAPI: the Official Account
    WECHATPAY_MERCHANT_SERIAL = _env("WECHATPAY_MERCHANT_SERIAL")  # merchant API certificate serial
    WECHATPAY_PRIVATE_KEY = _env("WECHATPAY_PRIVATE_KEY")  # merchant API private key (PEM)
    WECHATPAY_PRIVATE_KEY_PATH = _env("WECHATPAY_PRIVATE_KEY_PATH")
    WECHATPAY_APIV3_KEY = _env("WECHATPAY_APIV3_KEY")
    WECHATPAY_PUBLIC_KEY = _env("WECHATPAY_PUBLIC_KEY")  # WeChat Pay platform public key (PEM)
    WECHATPAY_PUBLIC_KEY_PATH = _env("WECHATPAY_PUBLIC_KEY_PATH")
    WECHATPAY_PUBLIC_KEY_ID = _env("WECHATPAY_PUBLIC_KEY_ID")  # PUB_KEY_ID_…
    WECHATPAY_PLATFORM_CERT_PATH = _env("WECHATPAY_PLATFORM_CERT_PATH")  # or a platform certificate
    WECHATPAY_API_BASE_URL = _env("WECHATPAY_API_BASE_URL", "https://api.mch.weixin.qq.com")
    WECHATPAY_NOTIFY_URL = _env(
        "WECHATPAY_NOTIFY_URL"
    )  # default SITE_URL + /payments/wechat/notify
    WECHATPAY_TIMEOUT = _env_float("WECHATPAY_TIMEOUT", 2)  # connect and each read, every call
    WECHATPAY_NOTIFY_MAX_AGE = _env_int("WECHATPAY_NOTIFY_MAX_AGE", 300)  # signature timestamp
    WECHATPAY_PAY_LIMIT = _env("WECHATPAY_PAY_LIMIT", "10 per minute; 60 per hour")
    WECHATPAY_SIMULATOR = False

    KEYRING = _env("KEYRING")
    KEYRING_PATH = _env("KEYRING_PATH")  # default: instance/keyring.json
    KEYRING_AUTOCREATE = False
    STORAGE_BACKEND = _env("STORAGE_BACKEND", "local")
    STORAGE_LOCAL_ROOT = _env("STORAGE_LOCAL_ROOT")  # default: instance/blobs
    S3_ENDPOINT_URL = _env("S3_ENDPOINT_URL")
    S3_BUCKET = _env("S3_BUCKET")
    S3_REGION = _env("S3_REGION", "cn-north-1")
    S3_ACCESS_KEY_ID = _env("S3_ACCESS_KEY_ID")
    S3_SECRET_ACCESS_KEY = _env("S3_SECRET_ACCESS_KEY")
    S3_PREFIX = _env("S3_PREFIX", "")
    # botocore: connecting, each socket read, and attempts in all (the first included).
    S3_CONNECT_TIMEOUT = _env_float("S3_CONNECT_TIMEOUT", 1)
    S3_READ_TIMEOUT = _env_float("S3_READ_TIMEOUT", 5)
    S3_MAX_ATTEMPTS = _env_int("S3_MAX_ATTEMPTS", 2)
    # policy 3.1: personal information is stored in mainland China. Production recognises AWS
    # China (cn-*, *.amazonaws.com.cn) and Aliyun OSS (oss-cn-*) by region and endpoint; other
    # storage (MinIO, a shared directory …) is declared with STORAGE_LOCATION=CN.
    STORAGE_LOCATION = _env("STORAGE_LOCATION")
    # "off" skips the check, for tests against an S3 server on loopback (moto) only
    STORAGE_LOCATION_CHECK = _env("STORAGE_LOCATION_CHECK", "on")

    PREFERRED_URL_SCHEME = "http"
    SERVER_NAME_FOR_MAIL = _env("SITE_URL")  # production refuses to start without an https one
    PROXY_FIX = _env_int("PROXY_FIX", 0)
    LOG_JSON = _env_bool("LOG_JSON")
    HSTS_SECONDS = 0

    @classmethod
    def validate(cls, config: dict) -> None:
        """Hook for environments that must refuse unsafe settings."""


class DevelopmentConfig(Config):
    """`make run`: SQLite, file outbox, WeChat simulator, generated key ring."""

    DEBUG = False
    SECRET_KEY = _env("SECRET_KEY", DEV_SECRET_KEY)
    SERVER_NAME_FOR_MAIL = development_site_url()
    KEYRING_AUTOCREATE = True
    WECHAT_SIMULATOR = not _env("WECHAT_APP_ID")
    WECHATPAY_SIMULATOR = not _env("WECHATPAY_MCHID")


class TestingConfig(Config):
    """Tests: everything in memory or in a temporary instance folder; no environment leaks in."""

    TESTING = True
    SECRET_KEY = "testing-secret-key"  # noqa: S105 - tests only
    SQLALCHEMY_DATABASE_URI = None
    KEYRING = None
    KEYRING_AUTOCREATE = True
    REDIS_URL = None
    RATELIMIT_STORAGE_URI = "memory://"
    MAIL_BACKEND = "file"
    WECHAT_SIMULATOR = True
    PASSWORD_HASH_FAST = True
    WECHAT_APP_ID = "wx-test-website-app"
    WECHAT_APP_SECRET = "wx-test-website-secret"  # noqa: S105 - simulator credentials
    WECHAT_MINIPROGRAM_APP_ID = "wx-test-miniprogram"
    WECHAT_MINIPROGRAM_APP_SECRET = "wx-test-miniprogram-secret"  # noqa: S105 - simulator
    STORAGE_BACKEND = "local"
    SERVER_NAME_FOR_MAIL = "http://localhost"


class ProductionConfig(Config):
    """Several gunicorn instances behind a proxy; refuses to start on any development default."""

    SESSION_COOKIE_NAME = "__Host-session"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_NAME = "__Host-remember_token"
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    POLICY_EFFECTIVE_DATE = _env("POLICY_EFFECTIVE_DATE")  # no default: required (policy 7)
    HSTS_SECONDS = _env_int("HSTS_SECONDS", 31536000)
    LOG_JSON = True
    PROXY_FIX = _env_int("PROXY_FIX", 1)
    MAIL_BACKEND = _env("MAIL_BACKEND", "smtp")
    STORAGE_BACKEND = _env("STORAGE_BACKEND", "s3")
    # One pool per gunicorn worker process: size it to the worker's threads (GUNICORN_THREADS).
    SQLALCHEMY_ENGINE_OPTIONS = {
        "pool_pre_ping": True,  # a connection killed by a restart or failover is replaced
        "pool_size": _env_int("DB_POOL_SIZE", 5),
        "max_overflow": _env_int("DB_MAX_OVERFLOW", 5),
        "pool_recycle": _env_int("DB_POOL_RECYCLE", 1800),
        "pool_timeout": _env_int("DB_POOL_TIMEOUT", 10),
        "connect_args": {
            # libpq: the whole connection set-up (it accepts no less than 2 s)
            "connect_timeout": _env_int("DB_CONNECT_TIMEOUT", 2),
            # jobs and commands; a web request's statements get DB_REQUEST_STATEMENT_TIMEOUT_MS
            "options": f"-c statement_timeout={_env_int('DB_STATEMENT_TIMEOUT_MS', 30000)}",
            # an established connection whose packets go unacknowledged (host or network lost)
            "tcp_user_timeout": _env_int("DB_TCP_USER_TIMEOUT_MS", 10000),
        },
    }

    @classmethod
    def validate(cls, config: dict) -> None:
        """Refuse to start with a setting that is only safe on a developer's machine, saying which."""
        from .production_checks import PRODUCTION_CHECKS

        problems = [problem for check in PRODUCTION_CHECKS if (problem := check(config))]
        if problems:
            raise RuntimeError("Refusing to start in production: " + "; ".join(problems))


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}

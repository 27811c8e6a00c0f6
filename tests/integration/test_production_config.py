"""Production refuses every development default, saying which; its logs and headers are as documented."""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from production_support import wechatpay_env, wechatpay_production_settings

from xometry_site import create_app
from xometry_site.config import DEV_SECRET_KEY, ProductionConfig

ROOT = Path(__file__).resolve().parents[2]


def real_keyring(development: bool = False) -> str:
    ring = {"primary": "k1", "keys": {"k1": base64.b64encode(secrets.token_bytes(32)).decode()}}
    if development:
        ring["development"] = True
    return json.dumps(ring)


def good_settings(tmp_path: Path) -> dict:
    """Settings a real deployment would have (nothing is contacted while the app is built)."""
    return {
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SQLALCHEMY_DATABASE_URI": "postgresql://app@db.internal:5432/xometry",
        "WECHAT_APP_ID": "wx0123456789abcdef",
        "WECHAT_APP_SECRET": secrets.token_hex(16),
        "WECHAT_OPEN_BASE_URL": "https://open.weixin.qq.com",
        "WECHAT_API_BASE_URL": "https://api.weixin.qq.com",
        "MAIL_BACKEND": "smtp",
        "SMS_BACKEND": "provider.sms:AliyunSms",
        "KEYRING": real_keyring(),
        "KEYRING_PATH": None,
        "REDIS_URL": "redis://cache.internal:6379/0",
        "RATELIMIT_STORAGE_URI": "redis://cache.internal:6379/0",
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": "xometry-drawings",
        "S3_REGION": "cn-north-1",
        "S3_ENDPOINT_URL": None,
        "STORAGE_LOCATION": None,
        "STORAGE_LOCATION_CHECK": "on",
        "SERVER_NAME_FOR_MAIL": "https://www.xometry.asia",
        "ICP_LICENSE": "沪ICP备12345678号-1",
        "BANK_ACCOUNT_NAME": "上海测试制造有限公司",
        "BANK_NAME": "中国工商银行上海分行",
        "BANK_ACCOUNT_NUMBER": "1001 2345 6789 0123 456",
        "POLICY_EFFECTIVE_DATE": "2024-07-01",
        **wechatpay_production_settings(),
    }


@pytest.fixture
def restore_logging():
    """A production app adds its JSON handler to the root logger and turns logging's per-record
    caller, thread and process lookups off: undo both."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("urllib3", "requests", "botocore")}
    switches = ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing")
    saved = {name: getattr(logging, name) for name in switches}
    yield
    for name, value in saved.items():
        setattr(logging, name, value)
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


def test_real_settings_are_accepted(tmp_path, restore_logging):
    app = create_app(good_settings(tmp_path), env="production")
    assert app.config["APP_ENV"] == "production"
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"SECRET_KEY": DEV_SECRET_KEY}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SQLALCHEMY_DATABASE_URI": "sqlite:///instance/x.sqlite3"}, "DATABASE_URL"),
        ({"WECHAT_SIMULATOR": True}, "simulator"),
        ({"WECHAT_API_BASE_URL": "http://127.0.0.1:5000/__wechat__/api"}, "simulator"),
        ({"WECHAT_APP_ID": None}, "WECHAT_APP_ID"),
        ({"WECHAT_APP_SECRET": ""}, "WECHAT_APP_SECRET"),
        (
            {"WECHATPAY_SIMULATOR": True},
            "WECHATPAY_* must point at WeChat Pay, not at the simulator",
        ),
        (
            {"WECHATPAY_API_BASE_URL": "http://127.0.0.1:5000/__wechatpay__"},
            "not at the simulator",
        ),
        ({"WECHATPAY_API_BASE_URL": "http://api.mch.weixin.qq.com"}, "must be https"),
        ({"WECHATPAY_MCHID": None}, "WECHATPAY_MCHID must be set"),
        ({"WECHATPAY_APPID": ""}, "WECHATPAY_APPID must be set"),
        ({"WECHATPAY_MERCHANT_SERIAL": None}, "WECHATPAY_MERCHANT_SERIAL must be set"),
        ({"WECHATPAY_PRIVATE_KEY": None}, "WECHATPAY_PRIVATE_KEY"),
        ({"WECHATPAY_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nnope"}, "not a PEM private key"),
        ({"WECHATPAY_APIV3_KEY": "short"}, "WECHATPAY_APIV3_KEY"),
        ({"WECHATPAY_PUBLIC_KEY": None}, "WECHATPAY_PUBLIC_KEY and WECHATPAY_PUBLIC_KEY_ID"),
        ({"WECHATPAY_PUBLIC_KEY_ID": None}, "WECHATPAY_PUBLIC_KEY_ID"),
        ({"WECHATPAY_NOTIFY_URL": "http://www.xometry.asia/payments/wechat/notify"}, "https"),
        ({"MAIL_BACKEND": "file"}, "MAIL_BACKEND must be smtp"),
        ({"SMS_BACKEND": "console"}, "SMS_BACKEND"),
        ({"KEYRING": None}, "KEYRING must be set"),
        ({"KEYRING": real_keyring(development=True)}, "development key ring"),
        ({"KEYRING": '{"primary": "k9", "keys": {}}'}, "KEYRING is malformed"),
        ({"REDIS_URL": None}, "REDIS_URL"),
        ({"RATELIMIT_STORAGE_URI": "memory://"}, "RATELIMIT_STORAGE_URI"),
        (
            {"STORAGE_BACKEND": "local", "STORAGE_LOCAL_ROOT": None, "STORAGE_LOCATION": "CN"},
            "STORAGE_LOCAL_ROOT",
        ),
        ({"S3_BUCKET": None}, "S3_BUCKET"),
        ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND"),
        ({"DEBUG": True}, "DEBUG"),
        ({"SERVER_NAME_FOR_MAIL": "http://www.xometry.asia"}, "SITE_URL"),
        ({"ICP_LICENSE": None}, "ICP_LICENSE"),
        ({"BANK_ACCOUNT_NUMBER": None}, "BANK_ACCOUNT_NUMBER"),
        ({"BANK_NAME": "中国工商银行上海张江支行 (development)"}, "BANK_ACCOUNT_NUMBER"),
        ({"ICP_LICENSE": "  "}, "ICP_LICENSE"),
        ({"POLICY_EFFECTIVE_DATE": None}, "POLICY_EFFECTIVE_DATE must be set"),
        (
            {"POLICY_EFFECTIVE_DATE": "1 July 2024"},
            "POLICY_EFFECTIVE_DATE '1 July 2024' is not a date",
        ),
    ],
)
def test_each_development_default_is_refused_by_name(tmp_path, override, complaint):
    settings = {**good_settings(tmp_path), **override}
    with pytest.raises(RuntimeError, match="Refusing to start in production") as refused:
        create_app(settings, env="production")
    assert complaint in str(refused.value)
    assert str(refused.value).count(";") == 0, "only the one bad setting is named"


def test_production_never_serves_the_wechat_pay_simulator(tmp_path, restore_logging):
    app = create_app(good_settings(tmp_path), env="production")
    client = app.test_client()
    for path in ("/__wechatpay__/pay/anything", "/__wechatpay__/v3/pay/transactions/native"):
        assert client.get(path).status_code == 404
        assert client.post(path).status_code in (404, 405)
    assert app.config["WECHATPAY_API_BASE_URL"] == "https://api.mch.weixin.qq.com"


def test_every_problem_is_named_at_once():
    with pytest.raises(RuntimeError) as refused:
        ProductionConfig.validate({"MAIL_BACKEND": "file", "STORAGE_BACKEND": "s3"})
    message = str(refused.value)
    for name in ("SECRET_KEY", "DATABASE_URL", "WECHAT_APP_ID", "MAIL_BACKEND", "SMS_BACKEND"):
        assert name in message
    for name in ("KEYRING", "REDIS_URL", "S3_BUCKET", "SITE_URL", "ICP_LICENSE"):
        assert name in message


def test_local_storage_needs_an_explicit_shared_root(tmp_path, restore_logging):
    settings = {**good_settings(tmp_path), "STORAGE_BACKEND": "local", "STORAGE_LOCATION": "CN"}
    settings["STORAGE_LOCAL_ROOT"] = str(tmp_path / "shared-blobs")
    assert create_app(settings, env="production").config["STORAGE_LOCAL_ROOT"]


@pytest.mark.parametrize(
    "place",
    [
        {"S3_REGION": "cn-north-1"},  # AWS China, boto3's own endpoint
        {
            "S3_REGION": "cn-northwest-1",
            "S3_ENDPOINT_URL": "https://s3.cn-northwest-1.amazonaws.com.cn",
        },
        {"S3_REGION": "cn-shanghai", "S3_ENDPOINT_URL": "https://oss-cn-shanghai.aliyuncs.com"},
        {
            "S3_REGION": "oss-cn-beijing",
            "S3_ENDPOINT_URL": "https://s3.oss-cn-beijing.aliyuncs.com",
        },
        {
            "S3_REGION": "cn-hangzhou",
            "S3_ENDPOINT_URL": "https://oss-cn-hangzhou-internal.aliyuncs.com",
        },
        {
            "S3_REGION": "us-east-1",
            "S3_ENDPOINT_URL": "https://minio.sh.internal",
            "STORAGE_LOCATION": "CN",
        },
        {"STORAGE_BACKEND": "local", "STORAGE_LOCAL_ROOT": "/mnt/blobs", "STORAGE_LOCATION": "cn"},
    ],
)
def test_storage_in_mainland_china_is_accepted(tmp_path, restore_logging, place):
    create_app({**good_settings(tmp_path), **place}, env="production")


@pytest.mark.parametrize(
    ("place", "complaint"),
    [
        ({"S3_REGION": "us-east-1"}, "S3_REGION us-east-1 is AWS outside mainland China"),
        (
            {"S3_REGION": "cn-north-1", "S3_ENDPOINT_URL": "https://s3.us-west-2.amazonaws.com"},
            "S3_ENDPOINT_URL s3.us-west-2.amazonaws.com is AWS outside mainland China",
        ),
        (
            {"S3_REGION": "cn-hongkong", "S3_ENDPOINT_URL": "https://oss-cn-hongkong.aliyuncs.com"},
            "oss-cn-hongkong.aliyuncs.com is Aliyun OSS outside mainland China",
        ),
        (
            {
                "S3_REGION": "ap-southeast-1",
                "S3_ENDPOINT_URL": "https://oss-ap-southeast-1.aliyuncs.com",
            },
            "Aliyun OSS outside mainland China",
        ),
        (
            {
                "S3_REGION": "ap-southeast-1",
                "S3_ENDPOINT_URL": "https://oss-cn-shanghai.aliyuncs.com",
            },
            "S3_REGION ap-southeast-1 is outside mainland China",
        ),
        (
            {"S3_ENDPOINT_URL": "https://minio.example.com"},
            "S3_ENDPOINT_URL minio.example.com is not AWS China or Aliyun OSS",
        ),
        (
            {"S3_ENDPOINT_URL": "https://oss-us-west-1.aliyuncs.com", "STORAGE_LOCATION": "CN"},
            "Aliyun OSS outside mainland China",  # a known endpoint outranks a declaration
        ),
        ({"STORAGE_LOCATION": "HK"}, "STORAGE_LOCATION=HK is outside mainland China"),
        (
            {"STORAGE_BACKEND": "local", "STORAGE_LOCAL_ROOT": "/mnt/blobs"},
            "STORAGE_LOCATION=CN must declare",
        ),
        (
            {"STORAGE_LOCATION_CHECK": "off", "S3_ENDPOINT_URL": "https://s3.amazonaws.com"},
            "STORAGE_LOCATION_CHECK=off is only for tests against S3 on loopback",
        ),
    ],
)
def test_storage_outside_mainland_china_is_refused_by_name(tmp_path, place, complaint):
    with pytest.raises(RuntimeError, match="Refusing to start in production") as refused:
        create_app({**good_settings(tmp_path), **place}, env="production")
    assert complaint in str(refused.value)
    assert str(refused.value).count(";") == 0


def test_the_location_check_may_be_turned_off_only_for_s3_on_loopback(tmp_path, restore_logging):
    settings = {**good_settings(tmp_path), "S3_REGION": "us-east-1"}
    settings.update(STORAGE_LOCATION_CHECK="off", S3_ENDPOINT_URL="http://127.0.0.1:9000")
    create_app(settings, env="production")


def test_keyring_may_come_from_a_secret_file_but_not_a_generated_one(tmp_path, restore_logging):
    ring_file = tmp_path / "keyring.json"
    ring_file.write_text(real_keyring())
    settings = {**good_settings(tmp_path), "KEYRING": None, "KEYRING_PATH": str(ring_file)}
    create_app(settings, env="production")
    ring_file.write_text(real_keyring(development=True))
    with pytest.raises(RuntimeError, match="development key ring"):
        create_app(settings, env="production")
    settings["KEYRING_PATH"] = str(tmp_path / "missing.json")
    with pytest.raises(RuntimeError, match="cannot be read"):
        create_app(settings, env="production")


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "S3_", "DB_"))}
    env.update(
        APP_ENV="production",
        INSTANCE_PATH=str(tmp_path / "instance"),
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL="postgresql://app@db.internal:5432/xometry",
        REDIS_URL="redis://cache.internal:6379/0",
        WECHAT_APP_ID="wx0123456789abcdef",
        WECHAT_APP_SECRET=secrets.token_hex(16),
        SMS_BACKEND="provider.sms:AliyunSms",
        KEYRING=real_keyring(),
        S3_BUCKET="xometry-drawings",
        SITE_URL="https://www.xometry.asia",
        ICP_LICENSE="沪ICP备12345678号-1",
        BANK_ACCOUNT_NAME="上海测试制造有限公司",
        BANK_NAME="中国工商银行上海分行",
        BANK_ACCOUNT_NUMBER="1001 2345 6789 0123 456",
        POLICY_EFFECTIVE_DATE="2024-07-01",
        FLASK_APP="app",
        **wechatpay_env(tmp_path),
    )
    env.pop("RATELIMIT_STORAGE_URI", None)
    env.update(extra)
    return env


def _run(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_environment_variables_configure_the_pool_and_the_shared_stores(tmp_path):
    env = _production_env(
        tmp_path, DB_POOL_SIZE="7", DB_MAX_OVERFLOW="3", DB_POOL_RECYCLE="600", DB_POOL_TIMEOUT="4"
    )
    code = (
        "import json; from app import app; from xometry_site.extensions import db\n"
        "with app.app_context():\n"
        "    pool = db.engine.pool\n"
        "    print(json.dumps({'size': pool.size(), 'overflow': pool._max_overflow,\n"
        "        'recycle': pool._recycle, 'timeout': pool._timeout,\n"
        "        'pre_ping': pool._pre_ping, 'limits': app.config['RATELIMIT_STORAGE_URI'],\n"
        "        'proxies': app.config['PROXY_FIX'], 'storage': app.config['STORAGE_BACKEND']}))\n"
    )
    done = _run(env, code)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {
        "size": 7,
        "overflow": 3,
        "recycle": 600,
        "timeout": 4,
        "pre_ping": True,
        "limits": "redis://cache.internal:6379/0",
        "proxies": 1,
        "storage": "s3",
    }


def test_starting_from_the_environment_with_dev_defaults_says_what_is_wrong(tmp_path):
    env = _production_env(tmp_path, SECRET_KEY=DEV_SECRET_KEY, DATABASE_URL="", SMS_BACKEND="")
    done = _run(env, "import app")
    assert done.returncode != 0
    assert "Refusing to start in production" in done.stderr
    assert "SECRET_KEY" in done.stderr and "DATABASE_URL" in done.stderr
    assert "SMS_BACKEND" in done.stderr
    assert "WECHAT" not in done.stderr  # only what is wrong is named


@pytest.fixture
def production_app(tmp_path, restore_logging, capsys):
    """Built inside capsys, so its log handler writes where the test can read."""
    app = create_app(good_settings(tmp_path), env="production")

    @app.get("/__test__/echo")
    def echo():
        from flask import request

        return {"remote": request.remote_addr, "scheme": request.scheme, "host": request.host}

    @app.get("/__test__/boom")
    def boom():
        raise ValueError("line one\nline two")

    return app


def test_one_trusted_proxy_supplies_client_address_and_scheme(production_app):
    client = production_app.test_client()
    answer = client.get(
        "/__test__/echo",
        headers={
            "X-Forwarded-For": "203.0.113.9, 198.51.100.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "www.xometry.asia",
        },
    ).get_json()
    # only the last hop (added by our proxy) is trusted; the client could have forged the first
    assert answer == {"remote": "198.51.100.7", "scheme": "https", "host": "www.xometry.asia"}


def test_hsts_and_host_prefixed_secure_cookies(production_app):
    client = production_app.test_client()
    response = client.get("/login?lang=en", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookies = response.headers.getlist("Set-Cookie")
    session = [c for c in cookies if c.startswith("__Host-session=")]
    assert session, cookies
    flags = session[0].lower()
    assert "; secure" in flags and "; httponly" in flags and "samesite=lax" in flags
    assert "path=/" in flags and "domain=" not in flags


def _json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_logs_are_json_lines_with_request_id_and_no_query_or_token(production_app, capsys):
    client = production_app.test_client()
    with client.get("/policy?lang=en&code=WECHATCODE123", headers={"X-Request-ID": "req-42"}):
        pass
    token = "ImVtYWlsQGV4YW1wbGUuY29tIg.SECRETTOKEN"
    with client.get(f"/verify-email/{token}"):
        pass
    with client.get("/__test__/boom"):
        pass
    err = capsys.readouterr().err
    events = _json_lines(err)
    access = [e for e in events if e["name"] == "xometry_site.access"]
    assert len(access) == 3
    first = access[0]
    assert first["request_id"] == "req-42"
    assert first["method"] == "GET" and first["path"] == "/policy"
    assert first["status"] == "200" and first["user"] == "-"
    assert isinstance(first["duration_ms"], float)
    logged_at = datetime.strptime(first["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - logged_at) < timedelta(minutes=1)  # UTC, whatever TZ says
    assert access[1]["path"] == "/verify-email/[redacted]"
    assert access[2]["status"] == "500"
    crash = [e for e in events if e["name"] == "xometry_site.errors"]
    assert crash and crash[0]["request_id"] == access[2]["request_id"]
    for forbidden in ("WECHATCODE123", "SECRETTOKEN", "code="):
        assert forbidden not in err


def test_libraries_that_log_urls_are_quiet_in_production(production_app):
    for name in ("urllib3", "requests", "botocore"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING


# --- deployment files agree with the code ----------------------------------------------------------


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def test_every_variable_in_env_example_is_read_by_the_code():
    sources = [ROOT / "gunicorn.conf.py", *(ROOT / "deploy").glob("*.*")]
    sources += list((ROOT / "xometry_site").rglob("*.py"))
    text = "\n".join(path.read_text(errors="replace") for path in sources)
    unread = [name for name in _env_example() if f'"{name}"' not in text and name not in text]
    assert unread == []


def test_env_example_with_its_blanks_filled_starts_in_production(tmp_path):
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(_env_example())
    blanks = {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "KEYRING": real_keyring(),
        "S3_ACCESS_KEY_ID": "id",
        "S3_SECRET_ACCESS_KEY": "secret",
        "SMTP_USERNAME": "mailer",
        "SMTP_PASSWORD": "secret",
        "SMS_BACKEND": "provider.sms:AliyunSms",
        "WECHAT_APP_ID": "wx0123456789abcdef",
        "WECHAT_APP_SECRET": secrets.token_hex(16),
        "ICP_LICENSE": "沪ICP备12345678号-1",
        "BANK_ACCOUNT_NAME": "上海测试制造有限公司",
        "BANK_NAME": "中国工商银行上海分行",
        "BANK_ACCOUNT_NUMBER": "1001 2345 6789 0123 456",
        "POLICY_EFFECTIVE_DATE": "2024-07-01",
        **wechatpay_env(tmp_path),
    }
    assert {k for k, v in env.items() if v == ""} - set(blanks) <= {
        "WECHATPAY_NOTIFY_URL",
        "S3_PREFIX",
        "WEB_CONCURRENCY",
        "WECHAT_MP_APP_ID",
        "WECHAT_MP_APP_SECRET",
        "WECHAT_MINIPROGRAM_APP_ID",
        "WECHAT_MINIPROGRAM_APP_SECRET",
        "PSB_LICENSE",
    }
    env.update(blanks, INSTANCE_PATH=str(tmp_path / "instance"))
    done = _run(env, "from app import app; print(app.config['APP_ENV'])")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "production"


def _gunicorn_settings(**env: str) -> dict:
    code = (
        "import json, runpy, multiprocessing; s = runpy.run_path('gunicorn.conf.py');"
        "print(json.dumps({k: s[k] for k in ('workers', 'worker_class', 'threads', 'timeout',"
        " 'graceful_timeout', 'preload_app', 'accesslog', 'max_requests', 'max_requests_jitter',"
        " 'forwarded_allow_ips', 'bind', 'wsgi_app', 'reuse_port')}"
        " | {'cpus': multiprocessing.cpu_count()}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_gunicorn_settings_follow_the_environment():
    default = _gunicorn_settings()
    assert default["workers"] == default["cpus"]  # one Python process per core
    assert default["worker_class"] == "gthread"
    assert default["threads"] >= 2
    assert default["timeout"] >= 120 and default["graceful_timeout"] > 0
    assert default["preload_app"] is False and default["accesslog"] is None
    assert (
        default["max_requests"] > 0 and 0 < default["max_requests_jitter"] < default["max_requests"]
    )
    assert default["wsgi_app"] == "app:app" and default["bind"] == ["127.0.0.1:8000"]
    chosen = _gunicorn_settings(WEB_CONCURRENCY="3", FORWARDED_ALLOW_IPS="10.0.0.5")
    assert chosen["workers"] == 3  # gunicorn's own meaning of WEB_CONCURRENCY
    assert chosen["forwarded_allow_ips"] == "10.0.0.5"


def test_each_worker_listens_alone_only_where_a_stopping_worker_loses_no_connection():
    """A worker's own socket, closed when it stops, would reset the connections queued on it
    unless the kernel hands them to a sibling; without that, all workers share one socket
    (test_gunicorn_listeners.py shows what a socket each changes)."""
    setting = Path("/proc/sys/net/ipv4/tcp_migrate_req")
    hands_over = setting.exists() and setting.read_text().strip() == "1"
    assert _gunicorn_settings()["reuse_port"] is hands_over
    assert _gunicorn_settings(GUNICORN_REUSE_PORT="1")["reuse_port"] is True
    assert _gunicorn_settings(GUNICORN_REUSE_PORT="0")["reuse_port"] is False


def _directive(conf: str, name: str) -> str:
    import re

    match = re.search(rf"^\s*{name}\s+([^;]+);", conf, re.MULTILINE)
    assert match, name
    return match.group(1).strip()


def test_nginx_block_fits_the_app_limits_and_timeouts():
    from xometry_site.config import Config

    conf = (ROOT / "deploy" / "nginx" / "xometry.conf").read_text()
    body = _directive(conf, "client_max_body_size")  # the server's, before any location
    assert body.endswith("m") and int(body[:-1]) * 1024 * 1024 >= Config.MAX_FORM_MEMORY_SIZE
    upload = _directive(conf.split("location = /quotes/new {", 1)[1], "client_max_body_size")
    assert upload.endswith("m") and int(upload[:-1]) * 1024 * 1024 >= Config.MAX_CONTENT_LENGTH
    assert _directive(conf, "proxy_request_buffering") == "on"
    read_timeout = int(_directive(conf, "proxy_read_timeout").rstrip("s"))
    assert read_timeout > _gunicorn_settings()["timeout"]
    assert _directive(conf, "proxy_set_header X-Forwarded-For") == "$remote_addr"
    assert "max-age=31536000" in _directive(conf, "add_header Strict-Transport-Security")
    assert "$args" not in conf and "$request_uri" not in _directive(conf, "log_format xometry")


def test_systemd_units_run_commands_that_exist(tmp_path):
    units = {p.name: p.read_text() for p in (ROOT / "deploy" / "systemd").glob("*.service")}
    assert {"xometry-web.service", "xometry-worker@.service", "xometry-scheduler.service"} <= set(
        units
    )
    starts = {
        name: next(
            line.split("=", 1)[1] for line in text.splitlines() if line.startswith("ExecStart=")
        )
        for name, text in units.items()
    }
    assert starts["xometry-web.service"].endswith("gunicorn -c gunicorn.conf.py")
    assert starts["xometry-worker@.service"].endswith("flask --app app worker")
    assert starts["xometry-scheduler.service"].endswith("flask --app app scheduler")
    assert starts["xometry-backup.service"].endswith("deploy/backup.sh")
    assert os.access(ROOT / "deploy" / "backup.sh", os.X_OK)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert {"worker", "scheduler"} <= set(app.cli.list_commands(None))
    for name, text in units.items():
        assert "EnvironmentFile=/etc/xometry/env" in text, name
        assert "User=xometry" in text and "NoNewPrivileges=yes" in text, name


def _pinned(lock: str) -> set[str]:
    import re

    text = (ROOT / lock).read_text()
    return {m.lower().replace("_", "-") for m in re.findall(r"^([A-Za-z0-9_.-]+)==", text, re.M)}


def test_locks_pin_every_dependency_of_pyproject():
    """A dependency added to pyproject.toml without `make lock` would install unpinned."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(requirements: list[str]) -> set[str]:
        return {
            re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower().replace("_", "-")
            for r in requirements
        }

    production = names(project["dependencies"]) | names(project["optional-dependencies"]["cad"])
    development = production | names(project["optional-dependencies"]["dev"])
    assert production - _pinned("requirements.lock") == set(), "run make lock"
    assert development - _pinned("requirements-dev.lock") == set(), "run make lock"
    for lock in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / lock).read_text()
        assert all("--hash=sha256:" in pin for pin in text.split("==")[1:]), f"{lock} unhashed"

"""Throttling: per IP and per account on sign-in, registration, reset and resend → 429 pages."""

from __future__ import annotations

import uuid

import pytest
from auth_support import register
from conftest import PASSWORD

from xometry_site.services.accounts.password_reset import reset_token

LIMITED = {"RATELIMIT_ENABLED": True}


def _fail_login(client, email="user1@example.com", ip="192.0.2.10", lang="en"):
    return client.post(
        f"/login?lang={lang}",
        data={"email": email, "password": "not the password"},
        environ_base={"REMOTE_ADDR": ip},
    )


@pytest.mark.parametrize("app_config", [LIMITED])
@pytest.mark.parametrize(("lang", "text"), [("en", "Too many attempts"), ("zh_CN", "尝试次数过多")])
def test_the_eleventh_failed_sign_in_is_refused(client, user, lang, text):
    for _ in range(10):
        assert _fail_login(client, lang=lang).status_code == 200
    response = _fail_login(client, lang=lang)
    assert response.status_code == 429
    assert text in response.get_data(as_text=True)
    # when to come back (the minute's window), without X-RateLimit-* on every answer
    assert 1 <= int(response.headers["Retry-After"]) <= 61  # rounded up
    assert not any(name.startswith("X-RateLimit") for name, _value in response.headers.items())
    # even the right password waits now: the throttle comes before the check
    right = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "192.0.2.10"},
    )
    assert right.status_code == 429


@pytest.mark.parametrize(
    "app_config",
    [{**LIMITED, "LOGIN_LIMIT": "1000 per minute", "LOGIN_ACCOUNT_LIMIT": "4 per minute"}],
)
def test_the_account_limit_holds_across_addresses(client, make_user):
    target = make_user(email="target@example.com")
    make_user(email="bystander@example.com")
    for i in range(4):
        assert _fail_login(client, email=target.email, ip=f"198.51.100.{i + 1}").status_code == 200
    # another address, another spelling of the same account: still blocked
    blocked = _fail_login(client, email=" TARGET@example.com", ip="198.51.100.200")
    assert blocked.status_code == 429
    # the limit is the account's, not the addresses': others still get their normal answer
    assert _fail_login(client, email="bystander@example.com", ip="198.51.100.1").status_code == 200


@pytest.mark.parametrize("app_config", [{**LIMITED, "LOGIN_LIMIT": "3 per minute"}])
def test_successful_sign_ins_do_not_use_up_the_limit(app, user):
    for _ in range(5):  # colleagues behind one company address
        client = app.test_client()
        response = client.post(
            "/login",
            data={"email": user.email, "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "192.0.2.50"},
        )
        assert response.status_code == 302


@pytest.mark.parametrize("app_config", [{**LIMITED, "REGISTER_LIMIT": "3 per minute"}])
def test_registration_is_limited_per_ip(client):
    for i in range(3):
        response = register(client, email=f"r{i}@example.com", phone=f"1390000000{i}")
        assert response.status_code == 302
    assert register(client, email="r9@example.com", phone="13900000009").status_code == 429


@pytest.mark.parametrize(
    "app_config",
    [{**LIMITED, "REGISTER_LIMIT": "1000 per minute", "REGISTER_ACCOUNT_LIMIT": "2 per hour"}],
)
def test_registration_is_limited_per_address(client, mailbox):
    for i in range(2):
        register(client, phone=f"1390000000{i}", environ_base={"REMOTE_ADDR": f"203.0.113.{i + 1}"})
    again = register(client, phone="13900000005", environ_base={"REMOTE_ADDR": "203.0.113.99"})
    assert again.status_code == 429
    assert len(mailbox) == 2  # the address's owner is not flooded


@pytest.mark.parametrize("app_config", [{**LIMITED, "FORGOT_LIMIT": "1000 per minute"}])
def test_forgotten_password_is_limited_per_address_known_or_not(client, user, mailbox):
    for address in (user.email, "nobody@example.com"):
        codes = [
            client.post(
                "/password/forgot",
                data={"email": address},
                environ_base={"REMOTE_ADDR": f"10.0.0.{i}"},
            ).status_code
            for i in range(4)
        ]
        assert codes == [200, 200, 200, 429], address  # the same for both: nothing to learn
    assert len(mailbox) == 3


@pytest.mark.parametrize("app_config", [{**LIMITED, "FORGOT_LIMIT": "2 per minute"}])
def test_forgotten_password_is_limited_per_ip(client):
    codes = [
        client.post("/password/forgot", data={"email": f"a{i}@example.com"}).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]


@pytest.mark.parametrize(
    "app_config",
    [{**LIMITED, "RESET_LIMIT": "1000 per minute", "RESET_ACCOUNT_LIMIT": "3 per hour"}],
)
def test_reset_link_attempts_are_limited(client, user):
    path = f"/password/reset/{reset_token(user)}"
    for i in range(3):
        response = client.post(
            path,
            data={"password": "short", "password_confirm": "short"},
            environ_base={"REMOTE_ADDR": f"10.1.0.{i}"},
        )
        assert response.status_code == 200
    assert (
        client.post(
            path, data={"password": "x"}, environ_base={"REMOTE_ADDR": "10.1.0.9"}
        ).status_code
        == 429
    )


@pytest.mark.parametrize("app_config", [{**LIMITED, "RESET_LIMIT": "2 per minute"}])
def test_reset_is_limited_per_ip_whatever_the_token(client):
    codes = [client.post(f"/password/reset/forged{i}", data={}).status_code for i in range(3)]
    assert codes == [400, 400, 429]


@pytest.mark.parametrize("app_config", [{**LIMITED, "RESEND_LIMIT": "1000 per minute"}])
def test_resend_is_limited_per_account(client, make_user, login_as, mailbox):
    login_as(make_user(email="late@example.com", email_verified_at=None))
    codes = [
        client.post("/verify-email/resend", environ_base={"REMOTE_ADDR": f"10.2.0.{i}"}).status_code
        for i in range(4)
    ]
    assert codes == [302, 302, 302, 429]
    assert len(mailbox) == 3


@pytest.mark.parametrize("app_config", [{**LIMITED, "RESEND_LIMIT": "2 per minute"}])
def test_resend_is_limited_per_ip(app, make_user):
    codes = []
    for i in range(3):
        client = app.test_client()
        from conftest import sign_in

        sign_in(client, make_user(email=f"late{i}@example.com", email_verified_at=None))
        codes.append(client.post("/verify-email/resend").status_code)
    assert codes == [302, 302, 429]


@pytest.mark.parametrize("app_config", [{**LIMITED, "LOGIN_ACCOUNT_LIMIT": "3 per minute"}])
def test_reauthentication_is_limited(client, user, login_as):
    login_as(user, fresh=False)
    codes = [
        client.post("/reauthenticate", data={"password": "wrong"}).status_code for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]


@pytest.mark.parametrize(
    "app_config",
    [
        {
            **LIMITED,
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
            "LOGIN_LIMIT": "4 per minute",
        }
    ],
)
def test_limits_are_kept_in_redis_when_configured(app, make_user):
    """With Redis as the store, every app instance reads and writes the same counters."""
    from redis import Redis

    from xometry_site.auth.limits import _pseudonym

    redis = Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=2)
    try:
        redis.ping()
    except Exception as error:  # pragma: no cover - depends on the machine
        from conftest import cannot_run

        cannot_run(f"Redis is not running: {error}")
    run = uuid.uuid4()  # counters outlive the test in Redis: this run's own address and account
    ip, email = f"10.{run.bytes[0]}.{run.bytes[1]}.{run.bytes[2]}", f"{run.hex}@example.com"
    make_user(email=email)
    first, second = app.test_client(), app.test_client()
    try:
        for _ in range(2):
            assert _fail_login(first, email=email, ip=ip).status_code == 200
        for _ in range(2):
            assert _fail_login(second, email=email, ip=ip).status_code == 200
        assert _fail_login(first, email=email, ip=ip).status_code == 429
        ip_keys = list(redis.scan_iter(match=f"*/{ip}/auth.login/*"))
        account_keys = list(redis.scan_iter(match=f"*/account:{_pseudonym(email)}/auth.login/*"))
        assert ip_keys and account_keys, "the counters live in Redis"
        assert not list(redis.scan_iter(match=f"*{run.hex}*"))  # a pseudonym, never the address
    finally:
        for key in [
            *redis.scan_iter(match=f"*/{ip}/*"),
            *redis.scan_iter(match=f"*/account:{_pseudonym(email)}/*"),
        ]:
            redis.delete(key)

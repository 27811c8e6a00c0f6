"""Password rules and hashing, and the signed tokens behind mail links."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xometry_site import create_app
from xometry_site.services.accounts import passwords
from xometry_site.services.accounts.passwords import PasswordRejected, check_password_policy
from xometry_site.services.tokens import TokenExpired, TokenInvalid, make_token, read_token


def reason(password: str, **personal) -> str | None:
    try:
        check_password_policy(password, **personal)
    except PasswordRejected as error:
        return error.reason
    return None


def test_hashes_are_argon2id_salted_and_verify():
    first, second = (
        passwords.hash_password("a long passphrase"),
        passwords.hash_password("a long passphrase"),
    )
    assert first.startswith("$argon2id$") and first != second  # a fresh salt each time
    assert passwords.verify_password(first, "a long passphrase")
    assert not passwords.verify_password(first, "a long passphrasf")
    assert not passwords.verify_password("not a hash", "anything")


def test_long_passwords_are_taken_whole():
    long = "字" * 1023 + "a"
    hashed = passwords.hash_password(long)
    assert passwords.verify_password(hashed, long)
    assert not passwords.verify_password(hashed, long[:-1] + "b")  # the last character counts
    assert reason(long) is None
    assert reason(long + "b") == "too_long"


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("1234567", "too_short"),
        ("abcdefg", "too_short"),
        ("password", "common"),
        ("PASSWORD1", "common"),  # compared without case
        ("  qwerty123  ", "common"),
        ("woaini1314", "common"),  # common among Chinese users too
        ("1qaz2wsx", "common"),
        ("all lowercase words", None),  # no composition rules
        ("12345678901234567890x", None),
        ("zqxjkvbw", None),
    ],
)
def test_length_and_the_common_list(password, expected):
    assert reason(password) == expected


def test_the_list_is_local_and_large():
    common = passwords.common_passwords()
    assert len(common) >= 10_000
    assert {"123456", "password", "iloveyou"} <= common
    assert passwords.COMMON_PASSWORDS_FILE.exists()
    assert passwords.COMMON_PASSWORDS_FILE.with_name("common_passwords.LICENSE.txt").exists()


@pytest.mark.parametrize(
    ("password", "personal"),
    [
        ("li.hua@example.cn", {"email": "Li.Hua@example.cn"}),
        ("lihua.works", {"email": "LiHua.Works@example.cn"}),  # the mailbox name
        ("Zhang San Feng", {"name": "zhang sanfeng"}),
        ("张三丰张三丰张三丰", {"name": "张三丰张三丰张三丰"}),
    ],
)
def test_the_address_or_name_is_refused(password, personal):
    assert reason(password, **personal) == "personal"


def test_similar_but_different_is_fine():
    assert reason("li.hua@example.cn and more", email="li.hua@example.cn") is None


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=1100))
def test_policy_never_crashes_and_respects_the_bounds(password):
    outcome = reason(password, email="a@example.com", name="A")
    if len(password) < passwords.MIN_LENGTH:
        assert outcome == "too_short"
    elif len(password) > passwords.MAX_LENGTH:
        assert outcome == "too_long"
    else:
        assert outcome in (None, "common", "personal")


# --- tokens ---------------------------------------------------------------------------------


@pytest.fixture
def app_context(tmp_path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "SECRET_KEY": "k" * 40,
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    with app.app_context():
        yield app


def test_tokens_round_trip_for_their_purpose_only(app_context):
    token = make_token("verify-email", {"uid": 7, "email": "a@example.com"})
    assert read_token("verify-email", token, 60) == {"uid": 7, "email": "a@example.com"}
    with pytest.raises(TokenInvalid):
        read_token("reset-password", token, 60)
    # a changed signature character (not the last one: its low bits are padding in base64)
    damaged = token[:-5] + ("A" if token[-5] != "A" else "Q") + token[-4:]
    with pytest.raises(TokenInvalid):
        read_token("verify-email", damaged, 60)


def test_tokens_expire(app_context):
    token = make_token("verify-email", 1)
    with pytest.raises(TokenExpired):
        read_token("verify-email", token, -1)


def test_tokens_depend_on_the_secret_key(app_context):
    token = make_token("verify-email", 1)
    app_context.config["SECRET_KEY"] = "another-secret-key-" * 3
    with pytest.raises(TokenInvalid):
        read_token("verify-email", token, 60)


def test_production_hashes_are_full_strength_argon2id(app):
    import pytest
    from argon2 import PasswordHasher

    from xometry_site.config import ProductionConfig
    from xometry_site.services.accounts import passwords

    app.config["PASSWORD_HASH_FAST"] = False
    strong = passwords.hash_password("a long enough passphrase")
    defaults = PasswordHasher()
    assert strong.startswith("$argon2id$")
    assert f"m={defaults.memory_cost},t={defaults.time_cost}" in strong
    assert passwords.verify_password(strong, "a long enough passphrase")
    with pytest.raises(RuntimeError, match="PASSWORD_HASH_FAST"):
        ProductionConfig.validate({"PASSWORD_HASH_FAST": True})

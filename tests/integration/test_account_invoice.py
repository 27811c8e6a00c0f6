"""Invoice information (policy 1.5 / 5.3 A(4)): credit code check, encryption, masking, ID consent."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from xometry_site.extensions import db
from xometry_site.models import Consent, InvoiceProfile
from xometry_site.services.validators import uscc_check_character

USCC = "91310000MA1FL3LK1" + uscc_check_character("91310000MA1FL3LK1")
WRONG_USCC = USCC[:-1] + ("0" if USCC[-1] != "0" else "1")
ID_17 = "11010519491231002"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_NUMBER = (
    ID_17 + "10X98765432"[sum(int(d) * w for d, w in zip(ID_17, _WEIGHTS, strict=True)) % 11]
)
BANK = "6222020200112233445"

CORPORATE = {
    "kind": "corporate",
    "company_name": "上海某某机械有限公司",
    "tax_number": USCC,
    "province": "310000",
    "city": "310100",
    "district": "310109",
    "address": "虹口区黎阳路735号",
    "postal_code": "200080",
    "bank_name": "中国银行上海虹口支行",
    "bank_account": "6222 0202 0011 2233 445",
    "invoice_email": "fapiao@example.com",
}
PERSONAL = {
    "kind": "personal",
    "name": "王小明",
    "tax_number": "",
    "province": "310000",
    "city": "310100",
    "district": "310109",
    "address": "黎阳路1号",
    "postal_code": "200080",
    "invoice_email": "me@example.com",
}


def profile_of(user):
    db.session.expire_all()
    return db.session.scalar(db.select(InvoiceProfile).filter_by(user_id=user.id))


def sensitive_consents(user):
    db.session.expire_all()
    return list(
        db.session.scalars(db.select(Consent).filter_by(user_id=user.id, kind="sensitive_tax_id"))
    )


def test_corporate_profile_is_saved_encrypted_and_shown_masked(client, user, login_as):
    login_as(user)
    response = client.post("/account/invoice", data=CORPORATE)
    assert response.status_code == 302
    profile = profile_of(user)
    assert profile.kind == "corporate" and profile.tax_number == USCC
    assert profile.bank_account == BANK  # spaces removed
    raw = db.session.execute(text("SELECT * FROM invoice_profiles")).mappings().one()
    dump = " ".join(str(value) for value in raw.values())
    assert USCC not in dump and BANK not in dump and BANK[-8:] not in dump
    assert "上海某某机械有限公司" in dump  # only the two secrets are encrypted
    overview = client.get("/account").get_data(as_text=True)
    assert USCC not in overview and BANK not in overview
    assert "*" * 15 + BANK[-4:] in overview
    # the owner sees the full values in the edit form (after a recent sign-in)
    form = client.get("/account/invoice").get_data(as_text=True)
    assert f'value="{USCC}"' in form and f'value="{BANK}"' in form


def test_a_wrong_credit_code_is_refused_in_chinese_keeping_typed_values(client, user, login_as):
    login_as(user)
    response = client.post("/account/invoice", data={**CORPORATE, "tax_number": WRONG_USCC})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "这不是有效的统一社会信用代码" in page
    assert 'id="tax_number-errors"' in page
    assert 'value="上海某某机械有限公司"' in page and f'value="{WRONG_USCC}"' in page
    assert profile_of(user) is None


def test_the_refusal_speaks_english_on_an_english_page(client, user, login_as):
    login_as(user)
    client.get("/?lang=en")
    page = client.post("/account/invoice", data={**CORPORATE, "tax_number": "123"}).get_data(
        as_text=True
    )
    assert "This is not a valid unified social credit code" in page


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"bank_account": "12ab"}, "bank_account", "银行账号应为 8 至 30 位数字"),
        ({"bank_account": "1234567"}, "bank_account", "银行账号应为 8 至 30 位数字"),
        ({"company_name": ""}, "company_name", "请填写公司名称"),
        ({"tax_number": ""}, "tax_number", "请填写统一社会信用代码"),
        ({"postal_code": "2000"}, "postal_code", "邮政编码为 6 位数字"),
        ({"city": "440300"}, "city", "请选择所选省份下的城市"),
        ({"district": "440305"}, "district", "请选择所选城市下的区县"),  # 南山区 is in 深圳
        ({"invoice_email": "nope"}, "invoice_email", "请填写有效的电子邮箱地址"),
    ],
)
def test_corporate_rules(client, user, login_as, overrides, field, message):
    login_as(user)
    response = client.post("/account/invoice", data={**CORPORATE, **overrides})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and f'id="{field}-errors"' in page
    assert profile_of(user) is None


SPECIAL = {
    **CORPORATE,
    "fapiao_type": "special",
    "company_address": "上海市虹口区黎阳路735号",
    "company_phone": "021-62345678",
}


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("company_name", "请填写公司名称"),
        ("tax_number", "请填写统一社会信用代码"),
        ("company_address", "增值税专用发票需要填写公司注册地址"),
        ("company_phone", "增值税专用发票需要填写公司注册电话"),
        ("bank_name", "增值税专用发票需要填写开户银行"),
        ("bank_account", "增值税专用发票需要填写银行账号"),
    ],
)
def test_special_fapiao_requires_every_registered_detail(client, user, login_as, field, message):
    login_as(user)
    response = client.post("/account/invoice", data={**SPECIAL, field: ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and f'id="{field}-errors"' in page
    assert profile_of(user) is None


def test_special_fapiao_errors_speak_english_on_an_english_page(client, user, login_as):
    login_as(user)
    client.get("/?lang=en")
    page = client.post("/account/invoice", data={**SPECIAL, "company_phone": ""}).get_data(
        as_text=True
    )
    assert "A special VAT invoice needs the company's registered phone number." in page


def test_special_fapiao_is_saved_with_its_details_and_secrets_encrypted(client, user, login_as):
    login_as(user)
    assert client.post("/account/invoice", data=SPECIAL).status_code == 302
    profile = profile_of(user)
    assert profile.fapiao_type == "special"
    assert profile.company_address == "上海市虹口区黎阳路735号"
    assert profile.company_phone == "+862162345678"
    assert profile.district == "310109"
    raw = db.session.execute(text("SELECT * FROM invoice_profiles")).mappings().one()
    dump = " ".join(str(value) for value in raw.values())
    assert USCC not in dump and BANK not in dump  # still encrypted at rest
    overview = client.get("/account").get_data(as_text=True)
    assert "增值税专用发票" in overview and "上海市虹口区黎阳路735号" in overview
    assert "+86 21 6234 5678" in overview


def test_normal_fapiao_needs_only_the_company_name_and_credit_code(client, user, login_as):
    login_as(user)
    data = {"kind": "corporate", "fapiao_type": "normal", "company_name": "上海某某机械有限公司"}
    response = client.post("/account/invoice", data={**data, "tax_number": USCC})
    assert response.status_code == 302
    profile = profile_of(user)
    assert profile.fapiao_type == "normal" and profile.bank_account is None
    assert profile.province is None and profile.district is None  # the mailing address is optional


def test_a_personal_invoice_is_always_a_normal_one(client, user, login_as):
    login_as(user)
    response = client.post("/account/invoice", data={**PERSONAL, "fapiao_type": "special"})
    assert response.status_code == 302
    assert profile_of(user).fapiao_type == "normal"
    assert profile_of(user).company_address is None


def test_personal_invoice_without_tax_number_needs_no_bank(client, user, login_as):
    login_as(user)
    data = {**PERSONAL, "bank_name": "某银行", "bank_account": "12345678"}
    assert client.post("/account/invoice", data=data).status_code == 302
    profile = profile_of(user)
    assert profile.kind == "personal" and profile.name == "王小明"
    assert profile.bank_account is None and profile.bank_name is None  # not kept for personal
    assert sensitive_consents(user) == []


def test_id_number_as_tax_number_needs_separate_consent(client, user, login_as):
    login_as(user)
    page = client.post("/account/invoice", data={**PERSONAL, "tax_number": ID_NUMBER}).get_data(
        as_text=True
    )
    assert "敏感个人信息" in page and 'id="consent_sensitive-errors"' in page
    assert f'value="{ID_NUMBER}"' in page  # kept for the owner to tick the box and resend
    assert profile_of(user) is None and sensitive_consents(user) == []

    data = {**PERSONAL, "tax_number": ID_NUMBER, "consent_sensitive": "y"}
    assert client.post("/account/invoice", data=data).status_code == 302
    assert profile_of(user).tax_number == ID_NUMBER
    [consent] = sensitive_consents(user)
    assert consent.is_active and consent.confirmed_at is not None and consent.source == "invoice"
    raw = db.session.execute(text("SELECT tax_number FROM invoice_profiles")).scalar_one()
    assert ID_NUMBER not in raw

    # removing the number ends the consent with it
    assert client.post("/account/invoice", data=PERSONAL).status_code == 302
    assert profile_of(user).tax_number is None
    assert all(not c.is_active for c in sensitive_consents(user))


def test_consent_box_is_unticked(client, user, login_as):
    login_as(user)
    page = client.get("/account/invoice").get_data(as_text=True)
    assert 'name="consent_sensitive"' in page
    assert 'name="consent_sensitive" type="checkbox" value="y">' in page


def test_invalid_personal_tax_numbers_are_refused(client, user, login_as):
    login_as(user)
    page = client.post("/account/invoice", data={**PERSONAL, "tax_number": ID_17 + "0"}).get_data(
        as_text=True
    )
    assert "居民身份证号码无效" in page or "请填写居民身份证号码或统一社会信用代码" in page
    assert profile_of(user) is None


def test_editing_the_page_needs_a_recent_sign_in(client, user, login_as):
    login_as(user, fresh=False)
    for response in (
        client.get("/account/invoice"),
        client.post("/account/invoice", data=CORPORATE),
    ):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/reauthenticate")
    assert profile_of(user) is None


def test_deleting_the_invoice_profile(client, user, login_as):
    login_as(user)
    client.post(
        "/account/invoice", data={**PERSONAL, "tax_number": ID_NUMBER, "consent_sensitive": "y"}
    )
    assert client.post("/account/invoice/delete").status_code == 302
    assert profile_of(user) is None
    assert all(not c.is_active for c in sensitive_consents(user))


def test_update_cities_without_javascript_keeps_the_invoice_form(client, user, login_as):
    login_as(user)
    data = {**CORPORATE, "province": "440000", "city": "", "update_cities": "1"}
    page = client.post("/account/invoice", data=data).get_data(as_text=True)
    assert '<option value="440300">深圳市</option>' in page
    assert f'value="{USCC}"' in page and 'class="errors"' not in page
    assert profile_of(user) is None


def test_secrets_never_reach_the_log(client, user, login_as, caplog):
    login_as(user)
    with caplog.at_level("DEBUG"):
        client.post("/account/invoice", data=CORPORATE)
        client.get("/account")
        client.get("/account/invoice")
    assert USCC not in caplog.text and BANK not in caplog.text

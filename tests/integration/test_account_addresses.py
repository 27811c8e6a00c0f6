"""Shipping addresses (policy 1.4 / 5.3 A(3)): several, exactly one default, owner-only, dependent menus."""

from __future__ import annotations

import pytest

from xometry_site.extensions import db
from xometry_site.models import ShippingAddress

SHANGHAI, SHANGHAI_CITY, HONGKOU = "310000", "310100", "310109"
GUANGDONG, SHENZHEN, NANSHAN = "440000", "440300", "440305"

VALID = {
    "organization": "上海某某机械有限公司",
    "recipient": "王小明",
    "address": "虹口区黎阳路735号4号楼",
    "phone": "138 1234 5678",
    "province": SHANGHAI,
    "city": SHANGHAI_CITY,
    "district": HONGKOU,
    "postal_code": "２０００８０",  # full-width digits from a Chinese input method
}


def rows(user):
    db.session.expire_all()
    return list(
        db.session.scalars(
            db.select(ShippingAddress).filter_by(user_id=user.id).order_by(ShippingAddress.id)
        )
    )


def add(client, **overrides):
    return client.post("/account/addresses/new", data={**VALID, **overrides})


def test_first_address_is_the_default_and_values_are_normalised(client, user, login_as):
    login_as(user)
    response = add(client)
    assert response.status_code == 302 and response.headers["Location"] == "/account/addresses"
    [address] = rows(user)
    assert address.is_default
    assert address.phone == "+8613812345678"
    assert address.postal_code == "200080"
    page = client.get("/account/addresses").get_data(as_text=True)
    assert "王小明" in page and "上海市" in page and "默认" in page
    assert "+86 138 1234 5678" in page  # stored in E.164, shown as people write it


def test_landline_numbers_are_accepted(client, user, login_as):
    login_as(user)
    assert add(client, phone="021-62345678").status_code == 302
    assert rows(user)[0].phone == "+862162345678"


def test_second_address_can_become_the_default_and_only_one_is(client, user, login_as):
    login_as(user)
    add(client)
    add(
        client,
        recipient="李雷",
        province=GUANGDONG,
        city=SHENZHEN,
        district=NANSHAN,
        postal_code="518000",
    )
    first, second = rows(user)
    assert first.is_default and not second.is_default
    response = client.post(f"/account/addresses/{second.id}/default")
    assert response.status_code == 302
    first, second = rows(user)
    assert second.is_default and not first.is_default
    add(client, recipient="韩梅梅", is_default="y")
    assert [a.recipient for a in rows(user) if a.is_default] == ["韩梅梅"]


def test_deleting_the_default_promotes_another(client, user, login_as):
    login_as(user)
    add(client)
    add(client, recipient="李雷")
    first, second = rows(user)
    confirm = client.get(f"/account/addresses/{first.id}/delete")
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert f'action="/account/addresses/{first.id}/delete"' in page and 'method="post"' in page
    assert len(rows(user)) == 2  # the confirmation page deletes nothing
    assert client.post(f"/account/addresses/{first.id}/delete").status_code == 302
    [left] = rows(user)
    assert left.id == second.id and left.is_default


def test_editing_keeps_one_default(client, user, login_as):
    login_as(user)
    add(client)
    add(client, recipient="李雷")
    first, second = rows(user)
    form = client.get(f"/account/addresses/{second.id}/edit").get_data(as_text=True)
    assert 'value="李雷"' in form and 'value="+8613812345678"' in form
    response = client.post(
        f"/account/addresses/{second.id}/edit",
        data={**VALID, "recipient": "李雷雷", "is_default": "y"},
    )
    assert response.status_code == 302
    first, second = rows(user)
    assert second.recipient == "李雷雷" and second.is_default and not first.is_default


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("postal_code", "20008", "邮政编码为 6 位数字"),
        ("postal_code", "2000８0a", "邮政编码为 6 位数字"),
        ("phone", "12345", "请填写中国大陆手机号码，或带区号的固定电话号码"),
        ("phone", "+1 212 555 0100", "请填写中国大陆手机号码，或带区号的固定电话号码"),
        ("recipient", "", "请填写收件人姓名"),
        ("address", "", "请填写详细地址"),
        ("city", SHENZHEN, "请选择所选省份下的城市"),  # a city of another province
        ("province", "999999", "请选择省份"),
        ("city", "", "请选择所选省份下的城市"),
        ("district", "", "请选择区县"),
        ("district", NANSHAN, "请选择所选城市下的区县"),  # a district of another city
        ("district", "999999", "请选择所选城市下的区县"),
    ],
)
def test_bad_input_is_refused_beside_the_field_keeping_typed_values(
    client, user, login_as, field, value, message
):
    login_as(user)
    response = add(client, **{field: value})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert f'id="{field}-errors"' in page
    assert 'value="虹口区黎阳路735号4号楼"' in page or field == "address"
    assert 'value="上海某某机械有限公司"' in page
    assert rows(user) == []


def test_update_cities_without_javascript_keeps_typed_values(client, user, login_as):
    login_as(user)
    response = add(client, province=GUANGDONG, city="", update_cities="更新城市列表")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<option value="{SHENZHEN}">深圳市</option>' in page
    assert (
        f'<option selected value="{GUANGDONG}">' in page or f'value="{GUANGDONG}" selected' in page
    )
    assert 'value="王小明"' in page and 'value="138 1234 5678"' in page
    assert 'class="errors"' not in page  # a refresh, not a failed save
    assert rows(user) == []


def test_update_without_javascript_lists_the_chosen_citys_districts(client, user, login_as):
    login_as(user)
    response = add(client, province=GUANGDONG, city=SHENZHEN, district="", update_cities="1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<option value="{NANSHAN}">南山区</option>' in page
    assert f'<option value="{HONGKOU}">' not in page  # only Shenzhen's
    assert 'class="errors"' not in page and rows(user) == []
    # saving without choosing one asks for it, the list already there
    response = add(client, province=GUANGDONG, city=SHENZHEN, district="")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "请选择区县" in page and f'<option value="{NANSHAN}">南山区</option>' in page


def test_a_city_without_districts_needs_none(client, user, login_as):
    login_as(user)
    response = add(client, province=GUANGDONG, city="441900", district="", postal_code="523000")
    assert response.status_code == 302  # 东莞市 has towns, not districts
    assert rows(user)[0].district is None
    form = client.get(f"/account/addresses/{rows(user)[0].id}/edit").get_data(as_text=True)
    assert "data-district-row hidden" in form


def test_the_district_is_shown_by_name_in_both_languages(client, user, login_as):
    login_as(user)
    add(client, province=SHANGHAI, city=SHANGHAI_CITY, district="310115")
    assert rows(user)[0].district == "310115"  # the code is stored
    page = client.get("/account/addresses").get_data(as_text=True)
    assert "浦东新区" in page and "310115" not in page
    page = client.get("/account/addresses?lang=en").get_data(as_text=True)
    assert "Pudong New Area" in page and "310115" not in page
    assert "Pudong New Area" in client.get("/account?lang=en").get_data(as_text=True)


def test_an_old_address_without_district_stays_listed_and_asks_for_it(client, user, login_as):
    login_as(user)
    old = ShippingAddress(
        user_id=user.id,
        recipient="王老地址",
        address="黎阳路1号",
        phone="+8613812345678",
        province=SHANGHAI,
        city=SHANGHAI_CITY,
        postal_code="200080",
        is_default=True,
    )
    db.session.add(old)
    db.session.commit()
    page = client.get("/account/addresses").get_data(as_text=True)
    assert "王老地址" in page and "缺少区县" in page
    form = client.get(f"/account/addresses/{old.id}/edit").get_data(as_text=True)
    assert "此地址尚未填写区县" in form
    assert f'<option value="{HONGKOU}">虹口区</option>' in form  # the city's districts, listed
    data = {**VALID, "recipient": "王老地址", "district": HONGKOU}
    assert client.post(f"/account/addresses/{old.id}/edit", data=data).status_code == 302
    assert rows(user)[0].district == HONGKOU
    assert "缺少区县" not in client.get("/account/addresses").get_data(as_text=True)


def test_district_menu_json_lists_a_citys_districts_and_may_be_kept(client, user, login_as):
    login_as(user)
    response = client.get(f"/account/divisions.json?city={SHENZHEN}&lang=zh_CN")
    assert response.status_code == 200
    data = response.get_json()
    assert data["city"] == SHENZHEN and {"code": NANSHAN, "name": "南山区"} in data["districts"]
    assert all(d["code"].startswith("4403") for d in data["districts"])
    assert len(response.get_data()) < 2000  # one city's districts, not the country's
    assert "private" in response.headers["Cache-Control"]
    assert "max-age=86400" in response.headers["Cache-Control"]
    again = client.get(
        f"/account/divisions.json?city={SHENZHEN}&lang=zh_CN",
        headers={"If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304
    english = client.get(f"/account/divisions.json?city={SHANGHAI_CITY}&lang=en").get_json()
    assert {"code": "310115", "name": "Pudong New Area"} in english["districts"]
    assert client.get("/account/divisions.json?city=441900").get_json()["districts"] == []
    assert client.get(f"/account/divisions.json?city={GUANGDONG}").status_code == 404
    assert client.get(f"/account/divisions.json?city={NANSHAN}").status_code == 404


def test_city_menu_lists_only_the_chosen_provinces_cities_in_the_page_language(
    client, user, login_as
):
    login_as(user)
    page = client.get("/account/addresses/new").get_data(as_text=True)
    assert "广东省" in page and "深圳市" not in page
    assert 'data-cities-url="/account/divisions.json?lang=zh_CN"' in page
    assert "/static/js/divisions.js" in page
    data = client.get(f"/account/divisions.json?province={GUANGDONG}").get_json()
    assert {"code": SHENZHEN, "name": "深圳市"} in data["cities"]
    data = client.get(f"/account/divisions.json?province={GUANGDONG}&lang=en").get_json()
    assert {"code": SHENZHEN, "name": "Shenzhen"} in data["cities"]
    assert client.get("/account/divisions.json?province=440300").status_code == 404


def test_another_users_address_is_404_on_every_verb_and_unchanged(client, make_user, login_as):
    owner, intruder = make_user(), make_user()
    login_as(owner)
    add(client)
    add(client, recipient="李雷")
    first, second = rows(owner)
    login_as(intruder)
    for method, path, data in (
        ("get", f"/account/addresses/{first.id}/edit", None),
        ("post", f"/account/addresses/{first.id}/edit", {**VALID, "recipient": "黑客"}),
        ("get", f"/account/addresses/{first.id}/delete", None),
        ("post", f"/account/addresses/{first.id}/delete", None),
        ("post", f"/account/addresses/{second.id}/default", None),
    ):
        response = getattr(client, method)(path, data=data)
        assert response.status_code == 404, (method, path)
    after = rows(owner)
    assert [(a.recipient, a.is_default) for a in after] == [("王小明", True), ("李雷", False)]
    assert "王小明" not in client.get("/account/addresses").get_data(as_text=True)


def test_missing_address_is_404(client, user, login_as):
    login_as(user)
    assert client.get("/account/addresses/999999/edit").status_code == 404

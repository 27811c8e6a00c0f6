"""A buyer on a phone in Chinese takes a copy of their data, opens the ZIP, closes the account,
and cannot sign in again."""

from __future__ import annotations

import json
import zipfile

import pytest
from conftest import browser_sign_in, fits_the_phone
from integration.privacy_support import DRAWING, fill_everything

from xometry_site.extensions import db
from xometry_site.models import User

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_copy_my_data_then_close_my_account(phone_page, live_server, user, tmp_path):
    fill_everything(user)
    email = user.email
    page = phone_page
    browser_sign_in(page, email)

    # My data: every appendix category, in Chinese, on a phone screen
    page.get_by_role("link", name="我的数据").first.click()
    page.wait_for_url("**/privacy")
    assert page.locator("h1").inner_text() == "我的数据"
    for title in ("注册", "申请报价", "个人中心 – 收货信息", "个人中心 – 发票信息", "账户运行"):
        assert page.get_by_role("heading", name=title).is_visible()
    assert page.get_by_text("李四收货").is_visible()
    assert fits_the_phone(page)

    # a copy: built by a job, then downloaded and opened
    page.get_by_role("button", name="获取我的数据副本").click()
    page.wait_for_load_state()
    assert page.get_by_text("我们正在准备您的数据副本").is_visible()
    page.reload()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载（ZIP）").click()
    archive_path = tmp_path / "copy.zip"
    download_info.value.save_as(archive_path)
    with zipfile.ZipFile(archive_path) as archive:
        data = json.loads(archive.read("data.json"))
        drawing = data["files"][0]
        assert archive.read(drawing["path"]) == DRAWING
        assert "本压缩包内容" in archive.read("README.txt").decode("utf-8")
    shipping = data["categories"]["shipping"]["records"][0]["fields"]
    assert shipping["recipient"]["value"] == "李四收货"

    # close the account: what goes, what stays, then confirm
    page.goto("/privacy/deregister")
    assert page.get_by_role("heading", name="我们会删除的信息").is_visible()
    assert page.get_by_role("heading", name="法律要求我们保留的信息及保留期限").is_visible()
    assert fits_the_phone(page)
    page.get_by_label("我知道我的账户将被注销").check()
    page.get_by_role("button", name="注销我的账户").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "您的账户已注销"

    # the old session is over and signing in again is refused
    page.goto("/privacy")
    assert "/login" in page.url
    browser_sign_in(page, email)
    assert "/login" in page.url
    assert page.get_by_role("link", name="我的数据").count() == 0
    db.session.expire_all()
    assert db.session.scalar(db.select(User).filter_by(email=email)).deregistered_at is not None

"""A buyer on a phone in Chinese requests a quote in real Chromium: files first with per-file
progress, an instant price and 3D view for the STL, "in review" for the lone PDF; they change the
STL's material and quantity and watch the price follow without a reload, see a custom tolerance's
review reason before saving, a staff price for the PDF, then the order with an address and
invoice details. Also without JavaScript, every amount visible at 375 px, and a refused file
named while the browser is still sending it."""

from __future__ import annotations

import re
import struct

import pytest
from conftest import browser_sign_in, fits_the_phone

from xometry_site.extensions import db
from xometry_site.models import InvoiceProfile, Quote, ShippingAddress

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def grid_cube_stl(size: float = 20.0, n: int = 40) -> bytes:
    """A closed cube whose faces are n×n grids: many small triangles, like a real export."""
    triangles = []
    step = size / n
    for axis in range(3):
        for side in (0.0, size):
            for i in range(n):
                for j in range(n):
                    quad = []
                    for di, dj in ((0, 0), (1, 0), (1, 1), (0, 1)):
                        p = [0.0, 0.0, 0.0]
                        p[axis] = side
                        p[(axis + 1) % 3] = (i + di) * step
                        p[(axis + 2) % 3] = (j + dj) * step
                        quad.append(p)
                    a, b, c, d = quad
                    if side == 0.0:
                        triangles += [(a, c, b), (a, d, c)]
                    else:
                        triangles += [(a, b, c), (a, c, d)]
    out = bytearray(b"grid cube".ljust(80)) + struct.pack("<I", len(triangles))
    for tri in triangles:
        out += struct.pack("<3f", 0, 0, 0)
        for p in tri:
            out += struct.pack("<3f", *p)
        out += b"\0\0"
    return bytes(out)


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

# Remember every progress value the page shows, across the navigation that follows the upload.
RECORD_PROGRESS = """
() => {
  const list = document.getElementById('upload-list');
  new MutationObserver(() => {
    list.querySelectorAll('progress').forEach((bar) => {
      const key = 'progress:' + bar.getAttribute('aria-label');
      const best = Math.max(Number(sessionStorage.getItem(key) || 0), Number(bar.value));
      sessionStorage.setItem(key, String(best));
    });
  }).observe(list, { subtree: true, attributes: true, childList: true });
}
"""


def add_order_details(user) -> None:
    db.session.add_all(
        [
            ShippingAddress(
                user_id=user.id, recipient="王工", address="张江路 100 号",
                phone="+8613800000001", province="310000", city="310100", district="310115",
                postal_code="201203", is_default=True,
            ),
            InvoiceProfile(
                user_id=user.id, kind="corporate", company_name="上海测试机械有限公司",
                tax_number="91310000MA1FL0000X",
            ),
        ]
    )  # fmt: skip
    db.session.commit()


def test_phone_buyer_gets_a_quote_and_orders_it(
    phone_page, browser, live_server, make_user, mailbox
):
    page = phone_page
    customer = make_user(preferred_language="zh_CN")
    staff = make_user(is_staff=True)
    add_order_details(customer)
    browser_sign_in(page, customer.email)

    page.goto("/quotes/new")
    assert page.locator("h1").inner_text() == "申请报价"
    assert page.locator("#files").is_visible()  # files first; the options wait, folded
    assert not page.locator("select[name=process]").is_visible()
    page.evaluate(RECORD_PROGRESS)
    stl = grid_cube_stl()
    page.set_input_files(
        "#files",
        [
            {"name": "支架.stl", "mimeType": "model/stl", "buffer": stl},
            {"name": "图纸.pdf", "mimeType": "application/pdf", "buffer": PDF},
        ],
    )
    items = page.locator("#upload-list .upload-item")
    assert items.count() == 2
    assert page.locator("#upload-list progress").count() == 2
    assert fits_the_phone(page)
    page.get_by_role("button", name="获取报价").click()
    page.wait_for_url(re.compile(r".*/quotes/Q-[A-Z2-7]{10}$"), timeout=60000)

    # every file's bar went all the way
    progress = page.evaluate(
        "() => Object.fromEntries(Object.keys(sessionStorage)"
        ".filter(k => k.startsWith('progress:')).map(k => [k, sessionStorage.getItem(k)]))"
    )
    assert progress == {"progress:支架.stl": "100", "progress:图纸.pdf": "100"}

    ref = page.url.rsplit("/", 1)[1]
    stl_part = page.locator("article.part", has=page.locator("h3", has_text="支架.stl"))
    pdf_part = page.locator("article.part", has=page.locator("h3", has_text="图纸.pdf"))
    assert "即时报价" in stl_part.inner_text()
    assert re.search(r"¥[\d,]+\.\d\d 每件", stl_part.inner_text())
    stl_part.locator("figure[data-part-viewer]").scroll_into_view_if_needed()
    stl_part.locator("figure[data-viewer-state=ready] canvas").wait_for()  # the 3D view
    preview = stl_part.locator("img.part-preview")  # its fallback, loaded behind it
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 480", arg=preview.element_handle()
    )
    assert "人工审核中" in pdf_part.inner_text()
    assert "人工审核中" in page.locator("#quote-state").inner_text()
    assert fits_the_phone(page)

    # configure the STL: the price follows without a reload
    unit = stl_part.locator("[data-price=unit]")
    before = unit.inner_text()
    total_before = page.locator("#quote-total").inner_text()
    page.evaluate("window.__same_page = true")
    with page.expect_request(re.compile(r".*/parts/\d+/price\?.*")) as asked:
        stl_part.locator("select[name=material]").select_option("ss304")
    assert asked.value.headers.get("x-price-ticket")  # the page's ticket: priced without SQL
    page.wait_for_function(
        "([el, old]) => el.textContent !== old", arg=[unit.element_handle(), before]
    )
    stl_part.locator("input[name=quantity]").fill("20")
    page.wait_for_function(
        "el => el.querySelector('tr.chosen td') && el.querySelector('tr.chosen td').textContent === '20'",
        arg=stl_part.locator(".price-breaks").element_handle(),
    )
    assert page.evaluate("window.__same_page") is True  # no reload happened
    assert page.locator("#quote-total").inner_text() != total_before
    # a custom tolerance names its cost before anything is saved
    stl_part.locator("select[name=tolerance]").select_option("custom")
    hint = stl_part.locator("[data-hint-for=tolerance]")
    hint.wait_for(state="visible")
    assert "工程师" in hint.inner_text()
    stl_part.locator("select[name=tolerance]").select_option("iso2768m")
    hint.wait_for(state="hidden")
    stl_part.get_by_role("button", name="保存此零件").click()
    page.wait_for_url(re.compile(r".*/quotes/Q-[A-Z2-7]{10}(#part-\d+)?$"))
    quote = db.session.scalar(db.select(Quote).filter_by(ref=ref))
    db.session.refresh(quote)
    stl_row = next(d for d in quote.drawings if d.extension == "stl")
    db.session.refresh(stl_row)
    assert (stl_row.material, stl_row.quantity) == ("ss304", 20)
    assert fits_the_phone(page)

    # an engineer prices the PDF in another browser
    staff_context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    staff_page = staff_context.new_page()
    browser_sign_in(staff_page, staff.email)
    staff_page.goto("/admin/quotes")
    staff_page.get_by_role("link", name=ref).click()
    pdf_id = next(d.id for d in quote.drawings if d.extension == "pdf")
    staff_page.fill(f"input[name=price_{pdf_id}]", "120.00")
    staff_page.fill("textarea[name=note]", "按图纸加工。")
    staff_page.locator("#send-price").click()
    staff_page.wait_for_url("**/admin/quotes")
    staff_context.close()
    assert [m["X-Envelope-To"] for m in mailbox] == [customer.email]

    # the buyer sees the reviewed price and orders it
    page.reload()
    assert "工程师审核" in page.locator("#price").inner_text()
    assert fits_the_phone(page)
    for amount in page.locator("#price td[data-label]").all():  # every amount on screen
        box = amount.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375
    page.locator("#accept-link").click()
    page.wait_for_url(f"**/quotes/{ref}/accept")
    assert page.locator("input[name=shipping_address_id]").first.is_checked()
    page.locator("input[name=invoice_profile_id]").check()
    page.locator("#place-order").click()
    page.wait_for_url(re.compile(r".*/orders/XA-\d{4}-\d{6}$"))
    assert "待付款" in page.locator("h1").inner_text()  # the order, waiting for payment
    assert page.locator("#remittance-reference").is_visible()
    assert fits_the_phone(page)
    db.session.expire_all()
    assert db.session.scalar(db.select(Quote).filter_by(ref=ref)).status == "ordered"

    # the list fits the phone: one card per quote, the status badge on one line
    page.goto("/quotes/")
    assert fits_the_phone(page)
    badge = page.locator(".quotes-table .status").first
    assert badge.inner_text() == "已下单"
    assert badge.bounding_box()["height"] < 2 * badge.evaluate(
        "el => parseFloat(getComputedStyle(el).fontSize)"
    )


def test_the_upload_works_without_javascript(browser, live_server, make_user):
    customer = make_user()
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", java_script_enabled=False
    )
    page = context.new_page()
    browser_sign_in(page, customer.email)
    page.goto("/quotes/new")
    page.set_input_files(
        "#files", {"name": "cube.stl", "mimeType": "model/stl", "buffer": grid_cube_stl(n=4)}
    )
    page.get_by_role("button", name="获取报价").click()
    page.wait_for_url(re.compile(r".*/quotes/Q-[A-Z2-7]{10}$"))
    assert "即时报价" in page.locator("#price").inner_text()
    context.close()


class CountingInput:
    """A request body as the app reads it, counting the bytes it takes."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.taken = 0

    def read(self, *args) -> bytes:
        data = self.stream.read(*args)
        self.taken += len(data)
        return data

    def readline(self, *args) -> bytes:
        data = self.stream.readline(*args)
        self.taken += len(data)
        return data

    def readinto(self, buffer):
        n = self.stream.readinto(buffer)
        self.taken += n or 0
        return n

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


@pytest.fixture
def upload_bodies(app):
    """The bodies of POST /quotes/new as the live app reads them (a WSGI wrapper, tests only)."""
    inner, bodies = app.wsgi_app, []

    def counting(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/quotes/new":
            environ["wsgi.input"] = CountingInput(environ["wsgi.input"])
            bodies.append(environ["wsgi.input"])
        return inner(environ, start_response)

    app.wsgi_app = counting
    yield bodies
    app.wsgi_app = inner


def test_a_file_refused_by_its_first_bytes_is_named_while_the_browser_is_still_sending(
    phone_page, make_user, upload_bodies, tmp_path
):
    """A 40 MB "PDF" that begins like a Windows program: the server answers after its first
    bytes and ends the connection while Chromium is still sending; the page names the file."""
    page = phone_page
    customer = make_user(preferred_language="zh_CN")
    browser_sign_in(page, customer.email)
    fake = tmp_path / "图纸.pdf"
    fake.write_bytes(b"MZ" + b"\0" * (40 * 1024 * 1024))
    page.goto("/quotes/new")
    page.set_input_files("#files", str(fake))
    page.get_by_role("button", name="获取报价").click()
    errors = page.locator("#upload-errors")
    errors.wait_for(state="visible", timeout=30000)
    assert errors.inner_text() == "图纸.pdf：文件内容与其文件类型不符。本次上传的文件均未保存。"
    assert page.url.endswith("/quotes/new")
    assert page.get_by_role("button", name="获取报价").is_enabled()  # ready to try again
    assert [body.taken < 10 * 1024 * 1024 for body in upload_bodies] == [True]
    assert db.session.query(Quote).count() == 0


def test_the_page_says_so_when_the_connection_closes_with_no_answer(phone_page, make_user):
    """Some browsers report only the closed connection, not the early answer before it."""
    page = phone_page
    customer = make_user(preferred_language="zh_CN")
    browser_sign_in(page, customer.email)
    page.goto("/quotes/new")
    page.route(
        "**/quotes/new",
        lambda route: (
            route.abort("connectionreset") if route.request.method == "POST" else route.continue_()
        ),
    )
    stl = {"name": "支架.stl", "mimeType": "model/stl", "buffer": grid_cube_stl(n=4)}
    page.set_input_files("#files", stl)
    page.get_by_role("button", name="获取报价").click()
    errors = page.locator("#upload-errors")
    errors.wait_for(state="visible")
    assert errors.inner_text() == (
        "发送文件时连接被关闭，文件均未保存。请确认每个文件都是可接受类型的图纸且不超过 100 MB，然后重试。"
    )
    assert page.get_by_role("button", name="获取报价").is_enabled()


def test_the_page_shows_the_price_while_checking_then_lets_the_buyer_order(
    phone_page, live_server, make_user
):
    """The page asks the quote's state by itself: it reloads when the price is in (the order
    button still disabled while manufacturability is checked) and again when it may be ordered."""
    page = phone_page
    customer = make_user(preferred_language="zh_CN")
    browser_sign_in(page, customer.email)
    page.goto("/quotes/new")
    page.set_input_files(
        "#files", {"name": "cube.stl", "mimeType": "model/stl", "buffer": grid_cube_stl(n=4)}
    )
    page.get_by_role("button", name="获取报价").click()
    page.wait_for_url(re.compile(r".*/quotes/Q-[A-Z2-7]{10}$"), timeout=60000)
    quote = db.session.scalar(db.select(Quote).filter_by(user_id=customer.id))
    priced = {k: getattr(quote, k) for k in ("subtotal", "vat", "total")}
    quote.status = "analysing"  # as the job leaves it before its first stage
    for key in priced:
        setattr(quote, key, None)
    db.session.commit()
    page.reload()
    assert page.locator("#quote-total").count() == 0
    assert page.locator("#quote-state[data-priced='0']").is_visible()

    for key, value in priced.items():  # the first stage's price, still analysing
        setattr(quote, key, value)
    db.session.commit()
    page.locator("#quote-total").wait_for(timeout=10000)
    assert "正在检查可制造性" in page.locator("#quote-state").inner_text()
    assert page.locator("#accept-pending").is_disabled()
    assert page.locator("#accept-link").count() == 0

    quote.status = "quoted"  # the checks are done
    db.session.commit()
    page.locator("#accept-link").wait_for(timeout=10000)
    assert page.locator("#quote-state").count() == 0
    assert page.locator("#accept-pending").count() == 0

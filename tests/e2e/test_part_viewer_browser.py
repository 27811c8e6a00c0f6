"""The 3D part viewer in real Chromium on a 375 px phone: the canvas draws the part, turns, zooms
and resets, shows the part's lengths; the preview image stays without JavaScript, WebGL or mesh."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import browser_sign_in, cannot_run, fits_the_phone
from PIL import Image

from xometry_site.services.keyring import get_keyring
from xometry_site.services.quotes.creation import QuoteRequest, create_quote
from xometry_site.services.quotes.uploads import ReceivedFile
from xometry_site.services.storage import get_storage
from xometry_site.services.vault import store_encrypted

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWER_JS = Path(__file__).parents[2] / "xometry_site/static/build/part_viewer.js"
BACKGROUND = np.array([246, 247, 249])  # the canvas's clear colour, the preview image's
SHOTS = os.environ.get("VIEWER_SHOTS")  # a folder to keep the screenshots in, to look at them


@pytest.fixture(autouse=True)
def built_viewer():
    """The bundle `make test` builds (npm ci + esbuild): missing, the test cannot run."""
    if not VIEWER_JS.exists():
        cannot_run(f"{VIEWER_JS} is not built: run `make assets` (npm ci, then the bundle)")


def box_stl(dx: float, dy: float, dz: float) -> bytes:
    """A closed binary STL box of dx × dy × dz mm with one corner at the origin."""
    v = [(x, y, z) for z in (0, dz) for y in (0, dy) for x in (0, dx)]
    faces = [(0, 2, 3), (0, 3, 1), (4, 5, 7), (4, 7, 6), (0, 1, 5), (0, 5, 4),
             (1, 3, 7), (1, 7, 5), (3, 2, 6), (3, 6, 7), (2, 0, 4), (2, 4, 6)]  # fmt: skip
    out = bytearray(b"box".ljust(80)) + struct.pack("<I", len(faces))
    for face in faces:
        out += struct.pack("<3f", 0, 0, 0)
        for i in face:
            out += struct.pack("<3f", *v[i])
        out += b"\0\0"
    return bytes(out)


def analysed_quote(app, user, stl: bytes, name: str = "支架.stl", parts: int = 1):
    """A quote whose STLs are stored, analysed and priced, as after an upload; (quote, the
    first drawing's id)."""
    files = [
        ReceivedFile(name, "stl", store_encrypted(get_storage(app), get_keyring(app), [stl]))
        for _ in range(parts)
    ]
    quote = create_quote(user, QuoteRequest("cnc_machining", "al6061", None, 1, None), files)
    assert all(d.has_mesh and d.has_preview for d in quote.drawings)
    return quote, quote.drawings[0].id


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def part_share(image: np.ndarray) -> float:
    """The share of the picture that is not background (the part, its box and labels)."""
    return float((np.abs(image - BACKGROUND).max(axis=2) > 24).mean())


def changed_share(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a - b).max(axis=2) > 24).mean())


def keep(name: str, png: bytes) -> None:
    if SHOTS:
        Path(SHOTS, name).write_bytes(png)


def drag(page, box, dx: float, dy: float) -> None:
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=8)
    page.mouse.up()


def pinch(page, box, spread: float) -> None:
    """Two fingers moving apart on the canvas, as the phone's touch screen reports them."""
    cdp = page.context.new_cdp_session(page)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def fingers(apart: float) -> list[dict]:
        return [{"x": x - apart, "y": y, "id": 0}, {"x": x + apart, "y": y, "id": 1}]

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": fingers(20)})
    for step in range(1, 9):
        apart = 20 + spread * step / 8
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": fingers(apart)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_the_canvas_draws_the_part_turns_zooms_and_resets(app, phone_page, make_user):
    page = phone_page
    customer = make_user(preferred_language="zh_CN")
    quote, drawing_id = analysed_quote(app, customer, box_stl(40, 20, 10))
    complaints = []
    page.on(
        "console",
        lambda message: message.type in ("error", "warning") and complaints.append(message.text),
    )
    browser_sign_in(page, customer.email)
    page.goto(f"/quotes/{quote.ref}")

    figure = page.locator(f"#part-viewer-{drawing_id}")
    figure.scroll_into_view_if_needed()
    page.wait_for_selector(f"#part-viewer-{drawing_id}[data-viewer-state=ready]")
    canvas = figure.locator("canvas")
    assert canvas.count() == 1
    assert figure.locator("img.part-preview").is_hidden()  # the canvas took the image's place
    assert fits_the_phone(page)
    box = canvas.bounding_box()
    assert 300 <= box["width"] <= 375 and abs(box["height"] - box["width"] * 3 / 4) <= 1

    first = canvas.screenshot()
    keep("first.png", first)
    shown = pixels(first)
    assert 0.15 < part_share(shown) < 0.9, part_share(shown)  # the part fills much of the view
    h, w = shown.shape[:2]
    centre = shown[h // 2 - 5 : h // 2 + 5, w // 2 - 5 : w // 2 + 5].reshape(-1, 3).mean(axis=0)
    assert centre[2] > centre[0] + 30, centre  # the part's steel blue, lit, in the middle

    # the lengths, in the page's language, on the box and under it
    labels = figure.locator(".part-viewer-dim")
    assert [labels.nth(i).inner_text() for i in range(3)] == [
        "X 40.0 毫米",
        "Y 20.0 毫米",
        "Z 10.0 毫米",
    ]
    assert all(labels.nth(i).is_visible() for i in range(3))
    assert figure.locator(".part-viewer-size").inner_text() == "尺寸：40.0 × 20.0 × 10.0 毫米"
    assert canvas.get_attribute("aria-label") == "支架.stl 的三维视图"

    drag(page, box, 90, 30)  # turn it
    turned = pixels(canvas.screenshot())
    keep("turned.png", canvas.screenshot())
    assert changed_share(shown, turned) > 0.05
    assert part_share(turned) > 0.1

    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(4):
        page.mouse.wheel(0, -200)  # zoom in
    page.wait_for_timeout(200)
    zoomed = canvas.screenshot()
    keep("zoomed.png", zoomed)
    assert part_share(pixels(zoomed)) > part_share(turned) + 0.05

    reset = figure.get_by_role("button", name="重置视图")
    assert reset.is_visible()
    reset.click()
    page.wait_for_timeout(100)
    again = pixels(canvas.screenshot())
    assert changed_share(shown, again) < 0.005  # the first view, as it was

    pinch(page, box, 30)  # two fingers apart: closer
    page.wait_for_timeout(200)
    pinched = canvas.screenshot()
    keep("pinched.png", pinched)
    assert part_share(pixels(pinched)) > part_share(shown) + 0.05
    # nothing refused by the CSP, nothing the viewer or three.js had to say
    words = ("Content Security Policy", "part viewer", "THREE.")
    assert not [c for c in complaints if any(word in c for word in words)], complaints


def test_without_javascript_the_preview_image_shows(app, browser, live_server, make_user):
    customer = make_user(preferred_language="zh_CN")
    quote, drawing_id = analysed_quote(app, customer, box_stl(40, 20, 10))
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", java_script_enabled=False
    )
    page = context.new_page()
    browser_sign_in(page, customer.email)
    page.goto(f"/quotes/{quote.ref}")
    figure = page.locator(f"#part-viewer-{drawing_id}")
    image = figure.locator("img.part-preview")
    assert image.is_visible() and image.bounding_box()["width"] > 300
    assert figure.locator("canvas").count() == 0
    assert figure.get_attribute("data-viewer-state") is None
    assert figure.locator(".part-viewer-size").inner_text() == "尺寸：40.0 × 20.0 × 10.0 毫米"
    assert figure.locator(".part-viewer-reset").is_hidden()  # nothing to reset without a view
    context.close()


@pytest.mark.parametrize(
    "breakage, state",
    [
        ("no_webgl", "no-webgl"),  # a browser without WebGL (old phone, WebGL turned off)
        ("mesh_missing", "failed"),  # the mesh does not load
    ],
)
def test_the_preview_image_stays_when_3d_cannot_be_shown(
    app, phone_page, make_user, breakage, state
):
    page = phone_page
    customer = make_user(preferred_language="zh_CN")
    quote, drawing_id = analysed_quote(app, customer, box_stl(40, 20, 10))
    if breakage == "no_webgl":
        page.add_init_script("HTMLCanvasElement.prototype.getContext = () => null;")
    else:
        page.route("**/mesh.bin", lambda route: route.fulfill(status=404, body=""))
    browser_sign_in(page, customer.email)
    page.goto(f"/quotes/{quote.ref}")
    figure = page.locator(f"#part-viewer-{drawing_id}")
    figure.scroll_into_view_if_needed()
    page.wait_for_selector(f"#part-viewer-{drawing_id}[data-viewer-state={state}]")
    image = figure.locator("img.part-preview")
    assert image.is_visible()
    assert page.evaluate("img => img.complete && img.naturalWidth === 480", image.element_handle())
    assert figure.locator("canvas").count() == 0
    assert figure.locator(".part-viewer-reset").is_hidden()


def test_a_quote_of_many_parts_keeps_few_webgl_contexts(app, phone_page, make_user):
    """Parts are drawn when scrolled to; past four canvases the one out of sight gives its
    context back and shows its image until it is seen again."""
    page = phone_page
    customer = make_user(preferred_language="zh_CN")
    quote, _first = analysed_quote(app, customer, box_stl(40, 20, 10), parts=6)
    ids = [d.id for d in quote.drawings]
    browser_sign_in(page, customer.email)
    page.goto(f"/quotes/{quote.ref}")
    for drawing_id in ids:
        page.locator(f"#part-viewer-{drawing_id}").scroll_into_view_if_needed()
        page.wait_for_selector(f"#part-viewer-{drawing_id}[data-viewer-state=ready]")
        assert page.locator("figure[data-part-viewer] canvas").count() <= 4
    first = page.locator(f"#part-viewer-{ids[0]}")
    assert first.get_attribute("data-viewer-state") == "idle"  # gave its canvas away
    assert first.locator("img.part-preview").is_visible()
    first.scroll_into_view_if_needed()
    page.wait_for_selector(f"#part-viewer-{ids[0]}[data-viewer-state=ready]")
    assert part_share(pixels(first.locator("canvas").screenshot())) > 0.15
    assert page.locator("figure[data-part-viewer] canvas").count() <= 4

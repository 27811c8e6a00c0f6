"""HTML and CSS of the WeChat simulator's sign-in page (bilingual, no script, autoescaped)."""

from __future__ import annotations

import hashlib

PAGE = """{% macro hidden() -%}
{% for name, value in params.items() -%}
<input type="hidden" name="{{ name }}" value="{{ value }}">
{%- endfor %}
{%- endmacro %}<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>微信登录 · WeChat sign-in (simulator)</title>
<link rel="stylesheet" href="{{ css_url }}">
</head>
<body>
<main class="card">
<p class="banner">开发模拟器，不是真正的微信 · Development simulator, not the real WeChat</p>
{% if flow == "qrconnect" %}
<h1>微信登录 <span>WeChat sign-in</span></h1>
<svg class="qr" viewBox="0 0 {{ qr|length }} {{ qr|length }}" aria-hidden="true">
{%- for row in qr %}{% set y = loop.index0 %}{% for dark in row %}{% if dark %}
<rect x="{{ loop.index0 }}" y="{{ y }}" width="1" height="1"/>{% endif %}{% endfor %}{% endfor %}
</svg>
<p>请使用微信扫描二维码登录「{{ app.appid }}」<br>Scan the QR code with WeChat to sign in</p>
{% else %}
<h1>微信网页授权 <span>WeChat authorisation</span></h1>
<p>该网页将获取你的身份标识（公众号，{{ scope }}）<br>
This page will receive your WeChat identity (Official Account, {{ scope }})</p>
{% endif %}
<p class="meta">AppID <code>{{ app.appid }}</code> · scope <code>{{ scope }}</code></p>

<h2>选择扫码身份 <span>Scan as</span></h2>
<ul class="users">
{% for u in users %}
<li>
<form method="post" action="{{ confirm_url }}">{{ hidden() }}
<input type="hidden" name="user" value="{{ u.key }}">
<button type="submit" name="action" value="scan" data-user="{{ u.key }}">
以「{{ u.nickname }}」身份确认登录 · Sign in as {{ u.nickname }}</button>
<button type="submit" name="action" value="expired" class="secondary"
 data-user="{{ u.key }}" data-expired="1">过期的 code · expired code</button>
</form>
<small>OpenID <code>{{ u.openid }}</code> · UnionID <code>{{ u.unionid or "—" }}</code></small>
</li>
{% endfor %}
</ul>

<h2>新用户 <span>New user</span></h2>
<form method="post" action="{{ confirm_url }}">{{ hidden() }}
<label>昵称 Nickname <input name="nickname" maxlength="32"></label>
<button type="submit" name="action" value="new" data-user="new">
以新的随机用户扫码 · Scan as a new random user</button>
</form>

<form method="post" action="{{ confirm_url }}" class="refuse">{{ hidden() }}
<button type="submit" name="action" value="refuse" class="secondary" data-refuse="1">
拒绝 / 取消 · Refuse / cancel</button>
</form>
</main>
</body>
</html>
"""

ERROR_PAGE = """<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>微信登录 · WeChat sign-in (simulator)</title>
<link rel="stylesheet" href="{{ css_url }}"></head>
<body><main class="card">
<p class="banner">开发模拟器，不是真正的微信 · Development simulator, not the real WeChat</p>
<h1>参数错误 <span>Invalid request</span></h1>
<p class="error">{{ reason }}</p>
</main></body></html>
"""

AVATAR = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 132 132" width="132" height="132">
<rect width="132" height="132" fill="#{{ colour }}"/>
<text x="66" y="84" font-size="56" text-anchor="middle" fill="#fff">{{ initial }}</text>
</svg>
"""

CSS = """
body { font-family: -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif;
  background: #f2f2f2; margin: 0; color: #222; }
.card { max-width: 34rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem;
  border-radius: 8px; box-shadow: 0 1px 4px rgba(0, 0, 0, .1); }
.banner { background: #fff7e0; border: 1px solid #f0c36d; padding: .4rem .6rem; font-size: .85rem; }
h1 span, h2 span { color: #888; font-weight: normal; font-size: .8em; }
.qr { width: 12rem; height: 12rem; display: block; margin: 1rem auto; }
.users { list-style: none; padding: 0; }
.users li { margin: .6rem 0; }
button { background: #07c160; color: #fff; border: 0; border-radius: 4px; padding: .5rem .8rem;
  margin: .2rem 0; font-size: 1rem; cursor: pointer; }
button.secondary { background: #e5e5e5; color: #333; font-size: .85rem; }
small, .meta { color: #666; font-size: .8rem; word-break: break-all; }
.error { color: #b00020; }
"""


def qr_pattern(seed: str, size: int = 21) -> list[list[bool]]:
    """A decorative, QR-looking grid (with the three finder squares) derived from a seed."""
    bits = "".join(
        f"{byte:08b}"
        for i in range(size * size // 256 + 1)
        for byte in hashlib.sha256(f"{seed}:{i}".encode()).digest()
    )
    grid = [[bits[r * size + c] == "1" for c in range(size)] for r in range(size)]
    for top, left in ((0, 0), (0, size - 7), (size - 7, 0)):
        for r in range(7):
            for c in range(7):
                ring = max(abs(r - 3), abs(c - 3))
                grid[top + r][left + c] = ring != 2
    return grid

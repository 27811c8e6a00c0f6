"""HTML of the WeChat Pay simulator's pay page (bilingual, no script, autoescaped)."""

from __future__ import annotations

PAY_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>微信支付 · WeChat Pay (simulator)</title>
<link rel="stylesheet" href="{{ css_url }}">
</head>
<body>
<main class="card">
<p class="banner">开发模拟器，不是真正的微信支付 · Development simulator, not the real WeChat Pay</p>
<h1>微信支付 <span>WeChat Pay</span></h1>
<p class="merchant">商户号 {{ t.mchid }} · {{ t.description }}</p>
<p class="amount" id="amount">¥{{ "%.2f"|format(t.total / 100) }}</p>
{% if t.trade_state == "NOTPAY" %}
<form method="post" action="{{ confirm_url }}">
<input type="hidden" name="confirm_token" value="{{ t.confirm_token }}">
<button type="submit" id="confirm-payment">确认支付 · Confirm payment</button>
</form>
{% elif t.trade_state in ("SUCCESS", "REFUND") %}
<p class="done" id="result">支付成功 · Paid{% if answer is not none %} — 商户回应 HTTP {{ answer }} · the merchant answered HTTP {{ answer }}{% endif %}</p>
{% else %}
<p class="error" id="result">订单已关闭 · This payment code is closed</p>
{% endif %}
<p class="meta">out_trade_no <code>{{ t.out_trade_no }}</code></p>
</main>
</body>
</html>
"""

ERROR_PAGE = """<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>微信支付 · WeChat Pay (simulator)</title>
<link rel="stylesheet" href="{{ css_url }}"></head>
<body><main class="card">
<p class="banner">开发模拟器，不是真正的微信支付 · Development simulator, not the real WeChat Pay</p>
<h1>无法支付 <span>Cannot pay</span></h1>
<p class="error">{{ reason }}</p>
</main></body></html>
"""

CSS = """
body { font-family: -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif;
  background: #ededed; margin: 0; color: #222; }
.card { max-width: 30rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem;
  border-radius: 8px; box-shadow: 0 1px 4px rgba(0, 0, 0, .1); text-align: center; }
.banner { background: #fff7e0; border: 1px solid #f0c36d; padding: .4rem .6rem; font-size: .85rem; }
h1 span { color: #888; font-weight: normal; font-size: .8em; }
.amount { font-size: 2.4rem; font-weight: 600; margin: 1rem 0; }
button { background: #07c160; color: #fff; border: 0; border-radius: 4px; padding: .7rem 2rem;
  font-size: 1.1rem; cursor: pointer; }
.done { color: #07c160; font-weight: 600; }
.error { color: #b00020; }
.merchant, .meta { color: #666; font-size: .85rem; word-break: break-all; }
"""

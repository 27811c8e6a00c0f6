"""In development, serve the WeChat simulator from the same server under /__wechat__."""

from __future__ import annotations

from flask import Flask

PREFIX = "/__wechat__"


def mount_simulator(app: Flask) -> None:
    """Point the WeChat settings at the simulator and dispatch its path prefix to it."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from .wechat_simulator import create_simulator_app

    base = app.config["SERVER_NAME_FOR_MAIL"].rstrip("/") + PREFIX
    app.config.setdefault("WECHAT_APP_ID", None)
    app.config["WECHAT_APP_ID"] = app.config.get("WECHAT_APP_ID") or "wx-dev-website-app"
    app.config["WECHAT_APP_SECRET"] = app.config.get("WECHAT_APP_SECRET") or "wx-dev-secret"
    app.config["WECHAT_OPEN_BASE_URL"] = base
    app.config["WECHAT_API_BASE_URL"] = base
    mini_id = app.config.get("WECHAT_MINIPROGRAM_APP_ID") or "wx-dev-miniprogram"
    mini_secret = app.config.get("WECHAT_MINIPROGRAM_APP_SECRET") or "wx-dev-miniprogram-secret"
    app.config["WECHAT_MINIPROGRAM_APP_ID"] = mini_id
    app.config["WECHAT_MINIPROGRAM_APP_SECRET"] = mini_secret
    simulator = create_simulator_app(
        appid=app.config["WECHAT_APP_ID"],
        secret=app.config["WECHAT_APP_SECRET"],
        miniprogram_appid=mini_id,
        miniprogram_secret=mini_secret,
    )
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {PREFIX: simulator})


PAY_PREFIX = "/__wechatpay__"


def mount_wechatpay_simulator(app: Flask) -> None:
    """Point the WeChat Pay settings at the simulator (test keys kept in instance/) and dispatch
    /__wechatpay__ to it."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from .wechatpay_keys import load_or_create
    from .wechatpay_simulator import create_simulator_app

    keys = load_or_create(app.instance_path)
    appid = (
        app.config.get("WECHATPAY_APPID")
        or app.config.get("WECHAT_MP_APP_ID")
        or app.config.get("WECHAT_APP_ID")
        or "wx-dev-website-app"
    )
    base = app.config["SERVER_NAME_FOR_MAIL"].rstrip("/") + PAY_PREFIX
    app.config.update(keys.site_settings(appid, base))
    mini = app.config.get("WECHAT_MINIPROGRAM_APP_ID")  # pays with wx.requestPayment
    simulator = create_simulator_app(keys, {appid, *([mini] if mini else [])})
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {PAY_PREFIX: simulator})

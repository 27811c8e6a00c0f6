// Inside WeChat's browser: open WeChat's own payment with the signed parameters on the page.
// What WeChat answers here is not proof of payment: the page waits for the order's status.
(function () {
  "use strict";
  var box = document.getElementById("wechat-jsapi");
  var button = document.getElementById("wechat-jsapi-pay");
  var message = document.getElementById("wechat-jsapi-message");
  if (!box || !button) { return; }
  function say(text) { if (message) { message.textContent = text; } }
  function pay() {
    var params = {
      appId: box.getAttribute("data-app-id"),
      timeStamp: box.getAttribute("data-time-stamp"),
      nonceStr: box.getAttribute("data-nonce-str"),
      "package": box.getAttribute("data-package"),
      signType: box.getAttribute("data-sign-type"),
      paySign: box.getAttribute("data-pay-sign")
    };
    window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function (res) {
      var result = (res && res.err_msg) || "";
      if (result === "get_brand_wcpay_request:ok") {
        say(box.getAttribute("data-done-text"));
        button.disabled = true;
      } else if (result === "get_brand_wcpay_request:cancel") {
        say(box.getAttribute("data-cancelled-text"));
      } else {
        say(box.getAttribute("data-failed-text"));
      }
    });
  }
  function ready() {
    button.disabled = false;
    button.addEventListener("click", pay);
    pay();
  }
  if (typeof window.WeixinJSBridge === "undefined") {
    document.addEventListener("WeixinJSBridgeReady", ready, false);
  } else {
    ready();
  }
})();

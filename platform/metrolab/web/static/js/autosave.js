/* A draft is kept as typed: the page's #autosave element posts the form on every change (a field left),
   and when the person leaves the page or the tab (pagehide / hidden) whatever changed since the last
   save goes with fetch keepalive, which outlives the page, carrying the CSRF token. */
(function () {
  "use strict";
  function setup() {
    var mark = document.querySelector("[data-autosave-url]");
    var form = mark && document.getElementById(mark.dataset.autosaveForm);
    if (!form) { return; }
    var last = new URLSearchParams(new FormData(form)).toString();
    /* This page's saves are numbered: a field left then the page left at once sends two saves that can
       arrive out of order, and the server keeps the later one (getRandomValues: also on plain http). */
    var pageId = Array.prototype.map.call(crypto.getRandomValues(new Uint8Array(8)),
      function (b) { return (b + 256).toString(16).slice(1); }).join("");
    var seq = 0;
    function flush() {
      var body = new URLSearchParams(new FormData(form)).toString();
      if (body === last) { return; }
      last = body;
      seq += 1;
      var token = (form.querySelector("input[name=_csrf_token]") || {}).value || "";  /* as csrf_input writes it */
      fetch(mark.dataset.autosaveUrl, {
        method: "POST", keepalive: true, credentials: "same-origin", body: body,
        headers: {
          "content-type": "application/x-www-form-urlencoded", "x-csrftoken": token, "hx-request": "true",
          "x-autosave-page": pageId, "x-autosave-seq": String(seq),
        },
      }).then(function (r) { return r.text(); }).then(function (html) { mark.innerHTML = html; })
        .catch(function () { last = null; });  /* not saved: try again at the next change */
    }
    form.addEventListener("change", flush);
    form.addEventListener("focusout", flush);
    window.addEventListener("pagehide", flush);
    document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") { flush(); } });
    form.addEventListener("submit", function () { last = null; window.removeEventListener("pagehide", flush); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setup); } else { setup(); }
})();

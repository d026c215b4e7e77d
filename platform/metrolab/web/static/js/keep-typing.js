/* Nothing typed is lost while the server computes a form (engine forms: #form-body, swapped by htmx).
   Before the answer is swapped in, every input whose value changed since the request left (the person
   kept typing) is noted; after the swap its value, the focus and the caret are put back, and the field
   is posted again so computed outputs follow. A field the server changed itself (row added/removed)
   is left as the server drew it. Requests are serialised on #form-body (hx-sync replace). */
(function () {
  "use strict";
  var pending = null;
  function state(el) {
    if (el.type === "checkbox" || el.type === "radio") { return String(el.checked); }
    if (el.multiple) { return Array.from(el.selectedOptions).map(function (o) { return o.value; }).join("\u0001"); }
    return el.value;
  }
  function drawn(el) {  /* the value the server wrote into the HTML */
    if (el.type === "checkbox" || el.type === "radio") { return String(el.defaultChecked); }
    if (el.tagName === "SELECT") {
      return Array.from(el.options).filter(function (o) { return o.defaultSelected; })
        .map(function (o) { return o.value; }).join("\u0001");
    }
    return el.defaultValue;
  }
  function put(el, value) {
    if (el.type === "checkbox" || el.type === "radio") { el.checked = value === "true"; return; }
    if (el.tagName === "SELECT") {
      var want = value.split("\u0001");
      Array.from(el.options).forEach(function (o) { o.selected = want.indexOf(o.value) >= 0; });
      return;
    }
    el.value = value;
  }
  function controls(root) {
    return root.querySelectorAll("input[id], select[id], textarea[id]");
  }
  function snapshot(root) {
    var out = {};
    controls(root).forEach(function (el) { out[el.id] = state(el); });
    return out;
  }
  function isBody(el) { return el && el.id === "form-body"; }
  document.addEventListener("htmx:beforeRequest", function (e) {
    if (isBody(e.detail.target) && e.detail.xhr) { e.detail.xhr.mlSent = snapshot(e.detail.target); }
  });
  document.addEventListener("htmx:beforeSwap", function (e) {
    var sent = e.detail.xhr && e.detail.xhr.mlSent;
    if (!sent || !isBody(e.detail.target)) { return; }
    var kept = [];
    controls(e.detail.target).forEach(function (el) {
      var now = state(el);
      if (el.id in sent && now !== sent[el.id]) { kept.push([el.id, sent[el.id], now]); }
    });
    var active = document.activeElement;
    pending = {
      kept: kept,
      focus: active && active.id && e.detail.target.contains(active) ? active.id : null,
      start: active && "selectionStart" in active ? active.selectionStart : null,
      end: active && "selectionEnd" in active ? active.selectionEnd : null,
    };
  });
  /* Values are put back at swap time (nothing flickers), but the new inputs carry htmx's handlers only
     once the swap settles (htmx.config.defaultSettleDelay later): a change fired in between is lost by
     htmx. So the repost, and any field the person changed during that window, waits for afterSettle. */
  var settling = null;
  document.addEventListener("htmx:afterSwap", function () {
    var p = pending;
    pending = null;
    if (!p) { return; }
    p.kept.forEach(function (k) {
      var el = document.getElementById(k[0]);
      if (!el || drawn(el) !== k[1]) { return; }  /* gone, or changed by the server: its answer wins */
      put(el, k[2]);
      el.dataset.mlKept = "1";
    });
    var focused = p.focus && document.getElementById(p.focus);
    if (focused && document.activeElement !== focused) { focused.focus(); }
    if (focused && p.start !== null && typeof focused.setSelectionRange === "function") {
      try { focused.setSelectionRange(p.start, p.end); } catch (err) { /* not a text field */ }
    }
    settling = true;
  });
  function differs(el) { return el.id && !el.disabled && state(el) !== drawn(el); }
  document.addEventListener("htmx:afterSettle", function (e) {
    if (!settling || !isBody(e.target)) { return; }
    settling = null;
    var active = document.activeElement, body = e.target, left = null, typing = null;
    controls(body).forEach(function (el) {
      if (!differs(el)) { return; }
      if (el === active) { typing = el; } else if (!left) { left = el; }
    });
    if (left) { htmx.trigger(left, "change"); return; }  /* one post carries the whole form */
    if (typing) {  /* still being typed in: post when the person leaves it, even without a keystroke */
      typing.addEventListener("blur", function once() {
        typing.removeEventListener("blur", once);
        if (differs(typing)) { htmx.trigger(typing, "change"); }
      });
    }
  });
})();

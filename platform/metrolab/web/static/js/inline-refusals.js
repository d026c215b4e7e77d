/* Refusals stay on the page they came from, with everything typed kept:
   - a signing form (its password input has data-sign) is sent in the background; if the server
     refuses (wrong or missing password, a rule), its message appears beside the password field;
   - an empty password is not sent at all (unless the form needs it only sometimes: data-sign="optional",
     then the server says whether it was needed);
   - other pages with their own sending (batch approval) use window.mlInlineRefusal.say / .clear;
   - a file larger than the upload limit is refused beside its input before anything is sent. */
(function () {
  "use strict";
  var body = document.body;
  function say(anchor, text) {
    var box = anchor.parentElement.querySelector(".ml-inline-refusal");
    if (!box) {
      box = document.createElement("em");
      box.className = "ml-error ml-inline-refusal";
      box.setAttribute("role", "alert");
      anchor.insertAdjacentElement("afterend", box);
    }
    box.textContent = text;
    anchor.setAttribute("aria-invalid", "true");
  }
  function clear(form) {
    form.querySelectorAll(".ml-inline-refusal").forEach(function (b) { b.remove(); });
  }
  function tooLarge(form) {
    var max = Number(body.dataset.uploadMax || 0), bad = null;
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.from(input.files || []).forEach(function (f) { if (max && f.size > max) { bad = input; } });
    });
    return bad;
  }
  function refusalText(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var inline = doc.querySelector(".ml-error-page p:not(.ml-error-code)") || doc.querySelector("[role=alert]");
    return inline ? inline.textContent.trim() : "";
  }
  window.mlInlineRefusal = { say: say, clear: clear };
  document.addEventListener("change", function (e) {
    var input = e.target;
    if (input.type !== "file" || !input.form) { return; }
    clear(input.form);
    if (tooLarge(input.form) === input) { say(input, body.dataset.msgTooLarge); }
  });
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.hasAttribute("hx-post") || form.action.endsWith("/login")) { return; }
    var big = tooLarge(form);
    if (big) { e.preventDefault(); clear(form); say(big, body.dataset.msgTooLarge); big.focus(); return; }
    var password = form.querySelector("input[type=password][data-sign]");  /* signing forms opt in */
    if (!password || form.method.toLowerCase() !== "post") { return; }
    e.preventDefault();
    clear(form);
    if (!password.value && password.dataset.sign !== "optional") { say(password, body.dataset.msgPasswordEmpty); password.focus(); return; }
    var data = new FormData(form);
    if (e.submitter && e.submitter.name) { data.append(e.submitter.name, e.submitter.value); }
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin", headers: { accept: "text/html" } })
      .then(function (r) {
        if (r.ok && r.redirected) { window.location.assign(r.url); return null; }
        return r.text().then(function (html) {
          if (r.ok || html.indexOf("ml-error-page") < 0) {  /* the page answered itself (its form again, its message) */
            document.open(); document.write(html); document.close(); return;
          }
          say(password, refusalText(html) || body.dataset.msgFailed);  /* a bare refusal page: said here instead */
          password.value = "";
          password.focus();
        });
      })
      .catch(function () { say(password, body.dataset.msgFailed); });
  });
})();

// The API docs page: Swagger UI over the app's own OpenAPI document, nothing fetched from elsewhere.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") return;
  var csrf = root.dataset.csrf;
  window.SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    domNode: root,
    deepLinking: true,
    docExpansion: "none", // ~150 operations: one line per feature (tag), opened on click
    validatorUrl: null, // no badge from an online validator: labs run offline
    tryItOutEnabled: false,
    requestInterceptor: function (request) {
      // "Try it out" runs in this browser session: unsafe requests need the CSRF header, as htmx sends it.
      if (csrf && !/^(GET|HEAD|OPTIONS)$/i.test(request.method || "GET")) {
        request.headers["x-csrftoken"] = csrf;
      }
      return request;
    },
  });
})();

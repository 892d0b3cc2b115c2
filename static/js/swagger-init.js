(function () {
  var url = document.currentScript.getAttribute("data-openapi-url");
  function csrfToken() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  window.ui = SwaggerUIBundle({
    url: url,
    dom_id: "#swagger-ui",
    deepLinking: true,
    // "Try it out" runs with the browser session, so unsafe methods need the CSRF token.
    requestInterceptor: function (request) {
      var token = csrfToken();
      if (token) { request.headers["X-CSRFToken"] = token; }
      return request;
    },
  });
})();

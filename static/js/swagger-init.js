(function () {
  var url = document.currentScript.getAttribute("data-openapi-url");
  window.ui = SwaggerUIBundle({ url: url, dom_id: "#swagger-ui", deepLinking: true });
})();

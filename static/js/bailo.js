// Progressive enhancements only: every page works without this file.

// The banner's configured colours: set through the style object, which the Content-Security-Policy
// allows, rather than a style attribute in the page, which it refuses.
document.querySelectorAll(".bailo-banner[data-background]").forEach(function (banner) {
  banner.style.background = banner.getAttribute("data-background");
  banner.style.color = banner.getAttribute("data-color");
});

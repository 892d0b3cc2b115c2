// Progressive enhancement: a copy button beside each snippet (pre > code.copyable). Without
// JavaScript the snippets are plain text and can be selected by hand.
(function () {
  document.querySelectorAll("pre > code.copyable").forEach(function (code) {
    if (!navigator.clipboard) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "outline secondary small";
    button.textContent = "Copy";
    var heading = document.getElementById(code.parentElement.getAttribute("aria-labelledby"));
    button.setAttribute("aria-label", "Copy the " + (heading ? heading.textContent : "") + " snippet");
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(code.textContent).then(function () { button.textContent = "Copied"; });
    });
    code.parentElement.insertAdjacentElement("afterend", button);
  });
})();

// Progressive enhancement: a copy button beside each snippet (pre > code.copyable) and each key
// (code.copyable-inline). Without JavaScript they are plain text and can be selected by hand.
// Where the clipboard API is unavailable (a page served over plain HTTP from another host), the
// button selects the text and says to press Ctrl+C.
(function () {
  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function addButton(code, label, after) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "outline secondary small copy-button";
    button.textContent = "Copy";
    button.setAttribute("aria-label", label);
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(code.textContent).then(
          function () { button.textContent = "Copied"; },
          function () { selectText(code); button.textContent = "Selected: press Ctrl+C"; }
        );
      } else {
        selectText(code);
        button.textContent = "Selected: press Ctrl+C";
      }
    });
    after.insertAdjacentElement("afterend", button);
  }

  document.querySelectorAll("pre > code.copyable").forEach(function (code) {
    var heading = document.getElementById(code.parentElement.getAttribute("aria-labelledby"));
    addButton(code, "Copy the " + (heading ? heading.textContent : "") + " snippet", code.parentElement);
  });
  document.querySelectorAll("code.copyable-inline").forEach(function (code) {
    var label = document.getElementById(code.getAttribute("aria-labelledby"));
    addButton(code, "Copy the " + (label ? label.textContent.toLowerCase() : "value"), code);
  });
})();

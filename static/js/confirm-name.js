// Confirming a deletion by typing the exact name, and the dialog that asks for it.
//
// Progressive enhancement only: without this file the "Delete Model" link opens a confirmation
// page with the same form, and the server checks the name either way.
//
// - form[data-confirm-name]: its submit button is disabled until the text typed into
//   input[name=confirm_name] is exactly the expected name (no trimming, no case folding), and
//   pressing Enter before that does nothing.
// - [data-opens-dialog="<id>"]: opens the <dialog> with that id instead of following the link,
//   and loads the "what will be deleted" list from the dialog's [data-deletion-preview] URL.
// - [data-closes-dialog]: closes the dialog it sits in.
(function () {
  "use strict";

  function guard(form) {
    const expected = form.getAttribute("data-confirm-name");
    const input = form.querySelector('input[name="confirm_name"]');
    const button = form.querySelector('button[type="submit"]');
    if (expected === null || !input || !button) {
      return;
    }
    const matches = () => input.value === expected;
    const update = () => {
      button.disabled = !matches();
    };
    input.addEventListener("input", update);
    // A disabled default button already blocks implicit submission; these make sure of it.
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !matches()) {
        event.preventDefault();
      }
    });
    form.addEventListener("submit", (event) => {
      if (!matches()) {
        event.preventDefault();
        update();
        return;
      }
      // One deletion per confirmation: a second Enter while the page loads sends nothing.
      window.setTimeout(() => {
        button.disabled = true;
      }, 0);
    });
    form.confirmNameReset = () => {
      input.value = "";
      update();
    };
    update();
  }

  function loadPreview(dialog) {
    const holder = dialog.querySelector("[data-deletion-preview]");
    if (!holder || holder.dataset.loaded === "true") {
      return;
    }
    holder.setAttribute("aria-busy", "true");
    fetch(holder.getAttribute("data-deletion-preview"), {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    })
      .then((response) => {
        if (!response.ok) {
          throw new Error(`status ${response.status}`);
        }
        return response.text();
      })
      .then((html) => {
        holder.innerHTML = html;
        holder.dataset.loaded = "true";
      })
      .catch(() => {
        // Keep the link to the confirmation page, which lists the same things.
      })
      .finally(() => {
        holder.removeAttribute("aria-busy");
      });
  }

  function enhanceOpener(opener) {
    const dialog = document.getElementById(opener.getAttribute("data-opens-dialog"));
    if (!dialog || typeof dialog.showModal !== "function") {
      return; // No <dialog> support: the link leads to the confirmation page.
    }
    const open = (event) => {
      event.preventDefault();
      loadPreview(dialog);
      dialog.showModal();
      const input = dialog.querySelector('input[name="confirm_name"]');
      if (input) {
        input.focus();
      }
    };
    opener.addEventListener("click", open);
    // It looks like a button, so Space works like one.
    opener.addEventListener("keydown", (event) => {
      if (event.key === " ") {
        open(event);
      }
    });
    dialog.querySelectorAll("[data-closes-dialog]").forEach((closer) => {
      closer.addEventListener("click", () => dialog.close());
    });
    dialog.addEventListener("close", () => {
      dialog.querySelectorAll("form[data-confirm-name]").forEach((form) => {
        if (typeof form.confirmNameReset === "function") {
          form.confirmNameReset();
        }
      });
      opener.focus();
    });
  }

  function init() {
    document.querySelectorAll("form[data-confirm-name]").forEach(guard);
    document.querySelectorAll("[data-opens-dialog]").forEach(enhanceOpener);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

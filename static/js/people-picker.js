// The person/group picker: suggestions under a text field that names users and groups.
//
// Progressive enhancement only: without this file the field is a plain text field that takes
// `user:alice`, `group:data-team` or (where the form says so) a bare name, and the server checks it.
//
// - input[data-people-picker="one"]: one person or group. A chosen suggestion writes its name;
//   if the input has data-people-kind="<id of a select>", that select gets the kind (user/group),
//   otherwise the input gets the full code (`user:alice`).
// - input[data-people-picker="list"]: a comma-separated list of codes; a chosen suggestion
//   replaces the entry being typed (the text after the last comma).
//
// Suggestions come from GET /api/v2/entities?q=... (Bailo's route; three letters at least).
// The input follows the ARIA 1.2 combobox pattern: Down/Up move through the suggestions, Enter
// chooses, Escape closes; a status region says how many suggestions there are.
(function () {
  "use strict";

  const SOURCE = "/api/v2/entities";
  const MIN_LENGTH = 3;
  const DELAY_MS = 150;
  let counter = 0;

  function currentTerm(input, mode) {
    if (mode === "list") {
      const parts = input.value.split(",");
      return parts[parts.length - 1].trim();
    }
    return input.value.trim().replace(/^(user|group):/, "");
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function initials(name) {
    // As core/people.py: words of the name; a one-word name splits at - _ and . instead.
    let words = name.split(/\s+/).filter(Boolean);
    if (words.length === 1) {
      words = words[0].split(/[-_.]+/).filter(Boolean);
    }
    if (!words.length) {
      return "?";
    }
    const first = words[0][0];
    const last = words.length > 1 ? words[words.length - 1][0] : "";
    return (first + last).toUpperCase();
  }

  function enhance(input) {
    const mode = input.getAttribute("data-people-picker") === "list" ? "list" : "one";
    const id = input.id || "people-picker-" + ++counter;
    input.id = id;

    const wrapper = element("div", "people-picker");
    input.parentNode.insertBefore(wrapper, input);
    wrapper.appendChild(input);
    const listbox = element("ul", "people-picker-list");
    listbox.id = id + "-suggestions";
    listbox.setAttribute("role", "listbox");
    listbox.setAttribute("aria-label", "Suggestions");
    listbox.hidden = true;
    wrapper.appendChild(listbox);
    const status = element("div", "visually-hidden");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    wrapper.appendChild(status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listbox.id);
    input.setAttribute("autocomplete", "off");

    let results = [];
    let active = -1;
    let timer = null;
    let asked = 0;

    function close() {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      const options = listbox.querySelectorAll('[role="option"]');
      options.forEach((option, i) => option.setAttribute("aria-selected", String(i === index)));
      active = index;
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function show(found) {
      results = found;
      listbox.replaceChildren();
      found.forEach((item, i) => {
        const option = element("li", "people-picker-option");
        option.id = listbox.id + "-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        const avatar = element("span", "avatar" + (item.kind === "group" ? " avatar-group" : ""), initials(item.name));
        avatar.setAttribute("aria-hidden", "true");
        option.appendChild(avatar);
        option.appendChild(element("span", "person-name", item.name));
        option.appendChild(document.createTextNode(" "));
        option.appendChild(element("small", "person-code", item.kind + ":" + item.id));
        option.addEventListener("mousedown", (event) => {
          // Keep focus in the input; choose on press so the blur does not close the list first.
          event.preventDefault();
          choose(i);
        });
        listbox.appendChild(option);
      });
      active = -1;
      input.removeAttribute("aria-activedescendant");
      const open = found.length > 0;
      listbox.hidden = !open;
      input.setAttribute("aria-expanded", String(open));
      status.textContent = open
        ? found.length + (found.length === 1 ? " suggestion" : " suggestions") + ", use the arrow keys to choose"
        : "No suggestions";
    }

    function choose(index) {
      const item = results[index];
      if (!item) {
        return;
      }
      const code = item.kind + ":" + item.id;
      if (mode === "list") {
        const parts = input.value.split(",").map((p) => p.trim());
        parts[parts.length - 1] = code;
        input.value = parts.filter(Boolean).join(", ") + ", ";
      } else {
        const kindSelect = document.getElementById(input.getAttribute("data-people-kind") || "");
        if (kindSelect) {
          kindSelect.value = item.kind;
          input.value = item.id;
        } else {
          input.value = code;
        }
      }
      close();
      status.textContent = item.name + " chosen";
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function lookup() {
      const term = currentTerm(input, mode);
      if (term.length < MIN_LENGTH) {
        close();
        return;
      }
      const ticket = ++asked;
      fetch(SOURCE + "?q=" + encodeURIComponent(term), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then((response) => (response.ok ? response.json() : { results: [] }))
        .then((body) => {
          if (ticket !== asked || document.activeElement !== input) {
            return; // an older answer, or the user has moved on
          }
          const found = (body.results || []).map((r) => ({ kind: r.kind, id: r.id, name: r.name || r.id }));
          show(found);
        })
        .catch(() => close());
    }

    input.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(lookup, DELAY_MS);
    });
    input.addEventListener("keydown", (event) => {
      const open = !listbox.hidden;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open) {
          lookup();
        } else {
          highlight(active + 1 >= results.length ? 0 : active + 1);
        }
      } else if (event.key === "ArrowUp") {
        if (open) {
          event.preventDefault();
          highlight(active <= 0 ? results.length - 1 : active - 1);
        }
      } else if (event.key === "Enter") {
        if (open && active >= 0) {
          event.preventDefault(); // choose, do not submit the form
          choose(active);
        }
      } else if (event.key === "Escape") {
        if (open) {
          event.preventDefault();
          close();
        }
      } else if (event.key === "Tab") {
        close();
      }
    });
    input.addEventListener("blur", close);
  }

  document.querySelectorAll("input[data-people-picker]").forEach(enhance);
})();

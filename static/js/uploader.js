// Resumable uploads for the Files tab and the release form. Progressive enhancement: without
// this script the Files tab's upload form posts the files to the server in one request, and the
// release form's upload box stays hidden (files are uploaded on the Files tab and ticked after).
//
// Each chosen file is uploaded through the multipart API: the server plans the parts
// (multipart/start), each part is sent with XMLHttpRequest (for byte-level progress) and retried
// up to three times with back-off, then multipart/finish joins them. The file id, upload id and
// part plan are kept in localStorage under the entry, file name, size and modification time, so
// choosing the same file again after a reload or a failure asks the server which parts it already
// has (multipart/parts) and sends only the others.
(function () {
  "use strict";

  var RETRIES = 3;
  var PARALLEL_PARTS = 3;
  var STORE_PREFIX = "bailo-upload:";

  function ApiError(message, status) {
    this.message = message;
    this.status = status;
  }

  function csrfToken(form) {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) {
      return decodeURIComponent(match[1]);
    }
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function messageFrom(status, text) {
    try {
      var body = JSON.parse(text);
      if (body && body.error && body.error.message) {
        return body.error.message;
      }
    } catch (ignored) {
      // not JSON: fall through to a generic message
    }
    return status ? "The server answered " + status : "The connection failed";
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  function retryable(error) {
    return !error.status || error.status >= 500 || error.status === 408 || error.status === 429;
  }

  function api(method, url, token, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, Accept: "application/json" },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(
      function (response) {
        return response.text().then(function (text) {
          if (!response.ok) {
            throw new ApiError(messageFrom(response.status, text), response.status);
          }
          return JSON.parse(text);
        });
      },
      function () {
        throw new ApiError("The connection failed", 0);
      }
    );
  }

  function sendPart(url, token, blob, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRFToken", token);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (event) {
        onProgress(event.loaded);
      };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          try {
            resolve(JSON.parse(xhr.responseText).ETag);
          } catch (error) {
            reject(new ApiError("The server's answer was not understood", xhr.status));
          }
        } else {
          reject(new ApiError(messageFrom(xhr.status, xhr.responseText), xhr.status));
        }
      };
      xhr.onerror = function () {
        reject(new ApiError("The connection failed", 0));
      };
      xhr.send(blob);
    });
  }

  function withRetries(attempt, onRetry) {
    var tries = 0;
    function run() {
      return attempt().catch(function (error) {
        if (tries >= RETRIES || !retryable(error)) {
          throw error;
        }
        tries += 1;
        onRetry(tries);
        return sleep(1000 * Math.pow(2, tries - 1)).then(run);
      });
    }
    return run();
  }

  function loadState(key) {
    try {
      return JSON.parse(window.localStorage.getItem(key) || "null");
    } catch (ignored) {
      return null;
    }
  }

  function saveState(key, state) {
    try {
      window.localStorage.setItem(key, JSON.stringify(state));
    } catch (ignored) {
      // storage full or disabled: the upload still works, it just cannot resume
    }
  }

  function forgetState(key) {
    try {
      window.localStorage.removeItem(key);
    } catch (ignored) {
      // nothing to forget
    }
  }

  function formatBytes(bytes) {
    var units = ["bytes", "KB", "MB", "GB", "TB"];
    var value = bytes;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return (unit ? value.toFixed(1) : value) + " " + units[unit];
  }

  // One line of progress: the name, a <progress> bar and a status text read out politely.
  function ProgressItem(container, file) {
    this.file = file;
    this.element = document.createElement("div");
    this.element.className = "upload-item";
    var name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    this.bar = document.createElement("progress");
    this.bar.max = Math.max(file.size, 1);
    this.bar.value = 0;
    this.bar.setAttribute("aria-label", "Upload progress of " + file.name);
    this.status = document.createElement("span");
    this.status.className = "upload-status";
    this.status.textContent = "Waiting";
    this.element.appendChild(name);
    this.element.appendChild(this.bar);
    this.element.appendChild(this.status);
    container.appendChild(this.element);
  }

  ProgressItem.prototype.progress = function (sent) {
    var size = this.file.size;
    this.bar.value = Math.min(sent, size);
    var percent = size ? Math.floor((100 * Math.min(sent, size)) / size) : 100;
    this.bar.setAttribute("aria-valuetext", percent + "%");
    this.status.textContent =
      "Uploading: " + percent + "% (" + formatBytes(Math.min(sent, size)) + " of " + formatBytes(size) + ")";
  };

  ProgressItem.prototype.say = function (text) {
    this.status.textContent = text;
  };

  ProgressItem.prototype.done = function () {
    this.bar.value = this.bar.max;
    this.bar.setAttribute("aria-valuetext", "100%");
    this.element.classList.add("upload-done");
    this.status.textContent = "Uploaded";
  };

  ProgressItem.prototype.fail = function (message) {
    this.element.classList.add("upload-failed");
    this.status.textContent =
      "Failed: " + message.replace(/\.?$/, ".") + " Choose the same file again to resume where it stopped.";
  };

  // `form` is the Files tab's upload form, or the release form's upload box (a div).
  function Uploader(form) {
    this.form = form;
    this.input = form.querySelector("input[type=file]");
    this.tagsInput = form.querySelector("input[name=tags]");
    this.button = form.querySelector("button[type=submit], button[data-upload-button]");
    this.progress = form.querySelector("[data-upload-progress]");
    this.data = form.dataset;
    this.onUploaded = null;
  }

  Uploader.prototype.tags = function () {
    if (!this.tagsInput) {
      return [];
    }
    return this.tagsInput.value
      .split(",")
      .map(function (tag) {
        return tag.trim();
      })
      .filter(function (tag) {
        return tag.length > 0;
      });
  };

  Uploader.prototype.resume = function (key, token) {
    var state = loadState(key);
    if (!state || !state.fileId || !state.uploadId) {
      return Promise.resolve(null);
    }
    var query = new URLSearchParams({ fileId: state.fileId, uploadId: state.uploadId });
    return api("GET", this.data.partsUrl + "?" + query.toString(), token).then(
      function (answer) {
        state.chunks = answer.chunks;
        state.done = {};
        answer.parts.forEach(function (part) {
          state.done[part.PartNumber] = part.ETag;
        });
        return state;
      },
      function () {
        // The server no longer knows this upload (finished, aborted or swept): start again.
        forgetState(key);
        return null;
      }
    );
  };

  Uploader.prototype.start = function (key, token, file, tags) {
    return api("POST", this.data.startUrl, token, {
      name: file.name,
      size: file.size,
      mime: file.type || "application/octet-stream",
      tags: tags,
    }).then(function (answer) {
      var state = { fileId: answer.file.id, uploadId: answer.uploadId, chunks: answer.chunks, done: {} };
      saveState(key, { fileId: state.fileId, uploadId: state.uploadId });
      return state;
    });
  };

  Uploader.prototype.sendParts = function (state, token, file, item) {
    var partUrl = this.data.partUrl;
    var chunks = state.chunks;
    var confirmed = 0;
    var inFlight = {};
    var queue = [];
    var failed = false;
    chunks.forEach(function (chunk, index) {
      var number = index + 1;
      if (state.done[number]) {
        confirmed += chunk.endByte - chunk.startByte + 1;
      } else {
        queue.push(number);
      }
    });

    function update() {
      var sent = confirmed;
      Object.keys(inFlight).forEach(function (number) {
        sent += inFlight[number];
      });
      item.progress(sent);
    }
    update();

    function worker() {
      if (failed || queue.length === 0) {
        return Promise.resolve();
      }
      var number = queue.shift();
      var chunk = chunks[number - 1];
      var blob = file.slice(chunk.startByte, chunk.endByte + 1);
      var query = new URLSearchParams({
        fileId: state.fileId,
        uploadId: state.uploadId,
        partNumber: String(number),
      });
      return withRetries(
        function () {
          inFlight[number] = 0;
          return sendPart(partUrl + "?" + query.toString(), token, blob, function (loaded) {
            inFlight[number] = loaded;
            update();
          });
        },
        function (attempt) {
          inFlight[number] = 0;
          item.say("Part " + number + " failed; retrying (" + attempt + " of " + RETRIES + ")");
        }
      ).then(
        function (etag) {
          delete inFlight[number];
          state.done[number] = etag;
          confirmed += blob.size;
          update();
          return worker();
        },
        function (error) {
          failed = true;
          throw error;
        }
      );
    }

    var workers = [];
    for (var i = 0; i < Math.min(PARALLEL_PARTS, queue.length); i += 1) {
      workers.push(worker());
    }
    return Promise.all(workers);
  };

  Uploader.prototype.uploadOne = function (file, tags, item, token) {
    var self = this;
    var key = STORE_PREFIX + [this.data.modelId, file.name, file.size, file.lastModified].join(":");
    return this.resume(key, token)
      .then(function (state) {
        if (state) {
          var have = Object.keys(state.done).length;
          item.say("Resuming: " + have + " of " + state.chunks.length + " parts already stored");
          return state;
        }
        item.say("Starting");
        return self.start(key, token, file, tags);
      })
      .then(function (state) {
        return self.sendParts(state, token, file, item).then(function () {
          return state;
        });
      })
      .then(function (state) {
        item.say("Finishing");
        var parts = state.chunks.map(function (chunk, index) {
          return { PartNumber: index + 1, ETag: state.done[index + 1] };
        });
        return api("POST", self.data.finishUrl, token, {
          fileId: state.fileId,
          uploadId: state.uploadId,
          parts: parts,
          tags: tags,
        });
      })
      .then(function (answer) {
        forgetState(key);
        item.done();
        if (self.onUploaded && answer && answer.file) {
          self.onUploaded(answer.file);
        }
      });
  };

  Uploader.prototype.refreshList = function () {
    if (!this.data.listUrl) {
      return Promise.resolve();
    }
    return fetch(this.data.listUrl, { credentials: "same-origin" })
      .then(function (response) {
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("files-list");
        var current = document.getElementById("files-list");
        if (fresh && current) {
          current.replaceWith(fresh);
        }
      })
      .catch(function () {
        // the list refreshes on the next page load
      });
  };

  Uploader.prototype.run = function () {
    var self = this;
    var files = Array.prototype.slice.call(this.input.files);
    if (files.length === 0) {
      return;
    }
    var token = csrfToken(this.form.closest("form") || this.form);
    var tags = this.tags();
    this.button.disabled = true;
    this.button.setAttribute("aria-busy", "true");
    this.progress.textContent = "";
    var items = files.map(function (file) {
      return new ProgressItem(self.progress, file);
    });
    var failures = 0;
    // Files go one after another; the parts of each file go in parallel.
    var chain = Promise.resolve();
    files.forEach(function (file, index) {
      chain = chain.then(function () {
        return self.uploadOne(file, tags, items[index], token).catch(function (error) {
          failures += 1;
          items[index].fail(error && error.message ? error.message : "Unknown error.");
        });
      });
    });
    return chain
      .then(function () {
        return self.refreshList();
      })
      .then(function () {
        self.button.disabled = false;
        self.button.removeAttribute("aria-busy");
        if (failures === 0) {
          self.input.value = "";
        }
      });
  };

  function enhance(form) {
    var uploader = new Uploader(form);
    if (!uploader.input || !uploader.progress || !window.fetch || !window.Promise) {
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      uploader.run();
    });
  }

  // The release form: each uploaded file becomes a ticked box in the form's Files list.
  function tickFile(box, file) {
    var group = document.getElementById("release-files");
    var fieldset = group && group.querySelector("fieldset");
    if (!fieldset) {
      return;
    }
    var empty = fieldset.querySelector("[data-no-files]");
    if (empty) {
      empty.remove();
    }
    var existing = fieldset.querySelector('input[value="' + CSS.escape(file.id) + '"]');
    if (existing) {
      existing.checked = true;
      return;
    }
    var count = fieldset.querySelectorAll("input[type=checkbox]").length;
    var id = fieldset.id + "_up" + count;
    var label = document.createElement("label");
    label.setAttribute("for", id);
    var input = document.createElement("input");
    input.type = "checkbox";
    input.name = box.dataset.fieldName;
    input.value = file.id;
    input.id = id;
    input.checked = true;
    label.appendChild(input);
    label.appendChild(document.createTextNode(" " + file.name + " (" + formatBytes(file.size) + ", just uploaded)"));
    fieldset.appendChild(label);
  }

  function enhanceReleaseForm(box) {
    var uploader = new Uploader(box);
    if (!uploader.input || !uploader.progress || !uploader.button || !window.fetch || !window.Promise) {
      return;
    }
    uploader.onUploaded = function (file) {
      tickFile(box, file);
    };
    box.hidden = false;
    var hint = box.parentElement.querySelector("[data-files-page-hint]");
    if (hint) {
      hint.hidden = true;
    }
    uploader.button.addEventListener("click", function () {
      uploader.run();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-uploader]"), enhance);
    Array.prototype.forEach.call(document.querySelectorAll("[data-release-uploader]"), enhanceReleaseForm);
  });
})();

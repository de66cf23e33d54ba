// Uploads into a dataset: photos dropped or chosen for a class (files, a chosen folder, or
// dropped folders) and zips go up in batches with a progress bar for files and bytes; each
// batch's report appears as it comes back, and a batch cut off by the network can be sent
// again (the server knows photos by their content, so nothing is added twice). Everything
// else in the datasets region is htmx.
(function () {
  "use strict";

  var BATCH_FILES = 25;
  var BATCH_BYTES = 24 * 1024 * 1024;
  var RETRIES = 3;
  var upload = null; // the upload in progress

  function byId(id) { return document.getElementById(id); }

  function sizeOf(items) {
    return items.reduce(function (sum, item) { return sum + item.file.size; }, 0);
  }

  function megabytes(bytes) {
    if (bytes < 1024 * 1024) return Math.ceil(bytes / 1024) + " KB";
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  // A dropped folder arrives as an entry to walk; files keep their path inside it.
  function walk(entry) {
    if (entry.isFile) {
      return new Promise(function (resolve) {
        entry.file(
          function (file) { resolve([{ file: file, name: entry.fullPath.replace(/^\//, "") }]); },
          function () { resolve([]); }
        );
      });
    }
    if (!entry.isDirectory) return Promise.resolve([]);
    var reader = entry.createReader();
    var children = [];
    return new Promise(function (resolve) {
      (function readMore() {
        reader.readEntries(function (batch) {
          if (!batch.length) {
            Promise.all(children.map(walk)).then(function (lists) { resolve([].concat.apply([], lists)); });
            return;
          }
          children = children.concat(Array.prototype.slice.call(batch));
          readMore();
        }, function () { resolve([]); });
      })();
    });
  }

  function droppedItems(transfer) {
    var entries = Array.prototype.map.call(transfer.items || [], function (item) {
      return item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    }).filter(Boolean);
    if (!entries.length) return Promise.resolve(chosenItems(transfer.files));
    return Promise.all(entries.map(walk)).then(function (lists) { return [].concat.apply([], lists); });
  }

  function chosenItems(files) {
    return Array.prototype.map.call(files || [], function (file) {
      return { file: file, name: file.webkitRelativePath || file.name };
    });
  }

  function inBatches(items) {
    var batches = [];
    var current = [];
    var bytes = 0;
    items.forEach(function (item) {
      if (current.length && (current.length >= BATCH_FILES || bytes + item.file.size > BATCH_BYTES)) {
        batches.push(current);
        current = [];
        bytes = 0;
      }
      current.push(item);
      bytes += item.file.size;
    });
    if (current.length) batches.push(current);
    return batches;
  }

  function show(text, fraction) {
    var status = byId("upload-status");
    status.hidden = false;
    byId("upload-text").textContent = text;
    var percent = Math.round(Math.min(1, fraction) * 100);
    byId("upload-fill").value = percent;
  }

  function progress(sentOfBatch) {
    var bytes = upload.doneBytes + (sentOfBatch || 0);
    show(
      "Sent " + upload.doneFiles + " of " + upload.files + " files, " + megabytes(bytes) +
        " of " + megabytes(upload.bytes) + (upload.label ? " (" + upload.label + ")" : ""),
      upload.bytes ? bytes / upload.bytes : 1
    );
  }

  function addReport(html) {
    var box = document.createElement("div");
    box.innerHTML = html; // a server-rendered, escaped fragment
    var report = byId("upload-report");
    report.insertBefore(box, report.firstChild);
  }

  function refreshPanel() {
    if (window.htmx) {
      htmx.ajax("GET", "/datasets/" + encodeURIComponent(upload.dataset), {
        target: "#datasets-panel", swap: "outerHTML",
      });
    }
  }

  function start(form, items) {
    if (!items.length) return;
    if (upload && upload.sending) {
      show("Wait until the upload in progress ends.", 0);
      return;
    }
    var detail = byId("dataset-detail");
    upload = {
      url: form.dataset.url,
      label: form.dataset.label || null,
      field: form.dataset.label ? "files" : "file",
      dataset: detail ? detail.dataset.dataset : "",
      batches: form.dataset.label ? inBatches(items) : [items.slice(0, 1)],
      next: 0, attempt: 0, sending: true,
      files: items.length, bytes: sizeOf(items), doneFiles: 0, doneBytes: 0,
    };
    byId("upload-retry").hidden = true;
    progress(0);
    sendNext();
  }

  function sendNext() {
    if (upload.next >= upload.batches.length) {
      upload.sending = false;
      show("Done: " + upload.files + " files sent, " + megabytes(upload.bytes) + ".", 1);
      return;
    }
    var batch = upload.batches[upload.next];
    var data = new FormData();
    if (upload.label) data.append("label", upload.label);
    batch.forEach(function (item) { data.append(upload.field, item.file, item.name); });
    var request = new XMLHttpRequest();
    request.open("POST", upload.url);
    request.setRequestHeader("HX-Request", "true");
    request.upload.onprogress = function (event) { progress(event.loaded); };
    request.onload = function () {
      if (request.status >= 200 && request.status < 300) {
        addReport(request.responseText);
        upload.doneFiles += batch.length;
        upload.doneBytes += sizeOf(batch);
        upload.next += 1;
        upload.attempt = 0;
        refreshPanel();
        progress(0);
        sendNext();
      } else if (request.status >= 400 && request.status < 500) {
        addReport(request.responseText); // refused with a reason: sending again would not help
        upload.sending = false;
        show("Stopped: the server refused batch " + (upload.next + 1) + " (see below).", upload.doneBytes / (upload.bytes || 1));
      } else {
        retry();
      }
    };
    request.onerror = retry;
    request.send(data);
  }

  function retry() {
    upload.attempt += 1;
    if (upload.attempt <= RETRIES) {
      setTimeout(sendNext, 1000 * upload.attempt);
      return;
    }
    upload.sending = false;
    show("The connection failed at batch " + (upload.next + 1) + " of " + upload.batches.length +
      ": what was sent before is kept.", upload.doneBytes / (upload.bytes || 1));
    byId("upload-retry").hidden = false;
  }

  function setup() {
    document.addEventListener("change", function (event) {
      var input = event.target;
      var form = input.closest && input.closest("form.ds-drop");
      if (!form || input.type !== "file") return;
      start(form, chosenItems(input.files));
      input.value = "";
    });
    ["dragenter", "dragover"].forEach(function (name) {
      document.addEventListener(name, function (event) {
        var zone = event.target.closest && event.target.closest("form.ds-drop");
        if (!zone) return;
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      document.addEventListener(name, function (event) {
        var zone = event.target.closest && event.target.closest("form.ds-drop");
        if (zone) zone.classList.remove("dragging");
      });
    });
    document.addEventListener("drop", function (event) {
      var form = event.target.closest && event.target.closest("form.ds-drop");
      if (!form || !event.dataTransfer) return;
      event.preventDefault();
      droppedItems(event.dataTransfer).then(function (items) { start(form, items); });
    });
    document.addEventListener("click", function (event) {
      if (event.target.id !== "upload-retry" || !upload) return;
      event.target.hidden = true;
      upload.attempt = 0;
      upload.sending = true;
      sendNext();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();

// The Copy button next to a value shown once (a new token). Without this
// script the value is still in a read-only field to select and copy; the
// button only appears when the script runs.
"use strict";

function copyFrom(field) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(field.value).then(() => true, () => copyBySelecting(field));
  }
  return Promise.resolve(copyBySelecting(field));
}

function copyBySelecting(field) {
  field.focus();
  field.select();
  try {
    return document.execCommand("copy");
  } catch (_) {
    return false;
  }
}

for (const button of document.querySelectorAll("button[data-copy]")) {
  const field = document.getElementById(button.dataset.copy);
  const status = document.getElementById(button.dataset.copyStatus);
  if (!field) continue;
  button.hidden = false;
  button.addEventListener("click", () => {
    copyFrom(field).then((copied) => {
      button.textContent = copied ? "Copied" : "Copy";
      if (status) status.textContent = copied ? "Copied to the clipboard." : "Could not copy: select the token and copy it.";
    });
  });
}

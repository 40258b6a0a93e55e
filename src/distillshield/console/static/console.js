// DistillShield console: small progressive enhancements; every page works without this script.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // a window selector changes the page as soon as it is changed
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  // a change of level asks for confirmation when it blocks
  for (const form of document.querySelectorAll("form.action")) {
    form.addEventListener("submit", (event) => {
      const policy = form.querySelector("select[name=policy]");
      if (policy && policy.value === "block" && form.dataset.confirmed !== "yes" &&
          !window.confirm("Block every request of the account(s)?")) {
        event.preventDefault();
      }
    });
  }
});

// EdgeDesk's small progressive enhancements. Pages work without this file; it is served from
// 'self' because the Content-Security-Policy forbids inline script.
/** Resend OTP: count down the 30 seconds the server enforces, then enable the button. */
function startResendCountdown(root) {
  const resend = root.querySelector("button[data-wait-seconds]");
  const countdown = root.querySelector(".resend [aria-live]");
  if (resend && countdown) {
    let left = Number(resend.dataset.waitSeconds || "0");
    const tick = () => {
      if (left <= 0) {
        resend.disabled = false;
        countdown.textContent = "";
        return;
      }
      resend.disabled = true;
      countdown.textContent = `You can resend in ${left} s.`;
      left -= 1;
      setTimeout(tick, 1000);
    };
    tick();
  }
}

/**
 * Popups where the help article describes one (issue 17.10): a form marked
 * `data-dialog="<selector>"` is sent by fetch, exactly as the browser would send it, and the part
 * of the server's answer that matches the selector opens in a modal dialog. The server stays the
 * one source of what is asked; without JavaScript the same answer is simply a page.
 */
function enhanceDialogForms(root) {
  for (const form of root.querySelectorAll("form[data-dialog]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const response = await fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" }).catch(() => null);
      if (!response) return form.submit();
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const content = page.querySelector(form.dataset.dialog);
      // Anything else (a refusal page, a redirect elsewhere) is shown as the page it is.
      if (!content) return response.redirected ? void (window.location.href = response.url) : form.submit();
      const dialog = document.createElement("dialog");
      dialog.className = "popup";
      const copy = document.importNode(content, true);
      // The page behind keeps its ids: the popup's own get a prefix, and its labels follow them.
      for (const element of copy.querySelectorAll("[id]")) element.id = `popup-${element.id}`;
      for (const label of copy.querySelectorAll("label[for]")) label.htmlFor = `popup-${label.htmlFor}`;
      for (const element of copy.querySelectorAll("[aria-describedby]")) {
        element.setAttribute("aria-describedby", element.getAttribute("aria-describedby").split(" ").map((id) => `popup-${id}`).join(" "));
      }
      const heading = copy.querySelector("h1, h2");
      if (heading) {
        heading.id = "popup-title";
        dialog.setAttribute("aria-labelledby", heading.id);
      }
      dialog.append(copy);
      for (const close of dialog.querySelectorAll("[data-close-dialog]")) {
        close.addEventListener("click", (click) => {
          click.preventDefault();
          dialog.close();
        });
      }
      dialog.addEventListener("close", () => dialog.remove());
      document.body.append(dialog);
      startResendCountdown(dialog);
      dialog.showModal();
      (dialog.querySelector("input:not([type=hidden])") || dialog.querySelector("button"))?.focus();
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  startResendCountdown(document);
  enhanceDialogForms(document);

  // Asset and software lists: "select all rows on this page".
  const selectPage = document.getElementById("select-page");
  if (selectPage) {
    selectPage.addEventListener("change", () => {
      for (const box of document.querySelectorAll("input.row-select")) box.checked = selectPage.checked;
    });
  }

  // Copy buttons (recovery codes, an invitation link): data-copy holds the text, and the element
  // named by data-copy-status (default #copy-status) says what happened.
  for (const copy of document.querySelectorAll("button[data-copy]")) {
    const status = document.getElementById(copy.dataset.copyStatus || "copy-status");
    if (!status) continue;
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(copy.dataset.copy || "");
        status.textContent = "Copied.";
      } catch {
        status.textContent = copy.dataset.copyBlocked || "Copying is blocked here: select the codes and copy them, or use Download.";
      }
    });
  }
});

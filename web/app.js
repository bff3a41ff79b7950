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
 * Popups where the help article describes one: a form marked
 * `data-dialog="<selector>"` is sent by fetch, exactly as the browser would send it, and the part
 * of the server's answer that matches the selector opens in a modal dialog. The server stays the
 * one source of what is asked; without JavaScript the same answer is simply a page.
 */
function enhanceDialogForms(root) {
  for (const form of root.querySelectorAll("form[data-dialog]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
      }).catch(() => null);
      if (!response) return form.submit();
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const content = page.querySelector(form.dataset.dialog);
      // Anything else (a refusal page, a redirect elsewhere) is shown as the page it is.
      if (!content) {
        if (!response.redirected) return form.submit();
        window.location.href = response.url;
        return;
      }
      const dialog = document.createElement("dialog");
      dialog.className = "popup";
      const copy = document.importNode(content, true);
      // The page behind keeps its ids: the popup's own get a prefix, and its labels follow them.
      for (const element of copy.querySelectorAll("[id]")) element.id = `popup-${element.id}`;
      for (const label of copy.querySelectorAll("label[for]")) label.htmlFor = `popup-${label.htmlFor}`;
      for (const element of copy.querySelectorAll("[aria-describedby]")) {
        element.setAttribute(
          "aria-describedby",
          element
            .getAttribute("aria-describedby")
            .split(" ")
            .map((id) => `popup-${id}`)
            .join(" "),
        );
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

/**
 * Asset and software lists: the bulk bar shows once rows are selected ("3 selected",
 * Clear), or after "change every record that matches"; only the chosen action's field shows; a row
 * saved inline keeps its checkbox. Without this file the bar is always there, with every field.
 */
function enhanceBulkBar() {
  const bar = document.querySelector("form[data-bulk-bar]");
  if (!bar) return;
  const summary = bar.querySelector("[data-bulk-summary]");
  const count = bar.querySelector("[data-bulk-count]");
  const idle = document.querySelector("[data-bulk-idle]");
  const action = bar.querySelector("#bulk-action");
  const scopeAll = bar.querySelector("#scope-all");
  const scopeSelected = bar.querySelector("#scope-selected");
  const selectPage = document.getElementById("select-page");
  const boxes = () => [...document.querySelectorAll("input.row-select")];
  const kept = () => [...bar.querySelectorAll("input[data-kept-selection]")];
  let allMatching = false;

  const showChosenField = () => {
    for (const field of bar.querySelectorAll("[data-bulk-value]")) field.hidden = field.dataset.bulkValue !== action.value;
  };
  const update = () => {
    const onPage = boxes();
    const selected = onPage.filter((box) => box.checked).length + kept().length;
    if (selected > 0 && !allMatching) scopeSelected.checked = true;
    const open = selected > 0 || allMatching;
    bar.hidden = !open;
    if (idle) idle.hidden = open;
    summary.hidden = selected === 0;
    count.textContent = `${selected} selected`;
    if (selectPage) selectPage.checked = onPage.length > 0 && onPage.every((box) => box.checked);
  };

  action.addEventListener("change", showChosenField);
  scopeAll.addEventListener("change", () => (allMatching = scopeAll.checked));
  scopeSelected.addEventListener("change", () => {
    allMatching = false;
    update();
  });
  document.addEventListener("change", (event) => {
    if (event.target === selectPage) for (const box of boxes()) box.checked = selectPage.checked;
    if (event.target === selectPage || event.target.matches?.("input.row-select")) update();
  });
  bar.querySelector("[data-bulk-clear]").addEventListener("click", () => {
    for (const box of boxes()) box.checked = false;
    for (const input of kept()) input.remove();
    allMatching = false;
    update();
    idle?.querySelector("button")?.focus();
  });
  idle?.querySelector("[data-bulk-all]")?.addEventListener("click", () => {
    allMatching = true;
    scopeAll.checked = true;
    update();
    action.focus();
  });
  // An inline save replaces its row (htmx): the new row keeps the old one's checkbox.
  const checkedRows = new Set();
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const box = event.detail.target?.querySelector?.("input.row-select");
    if (box?.checked) checkedRows.add(box.value);
  });
  document.body.addEventListener("htmx:afterSwap", () => {
    for (const box of boxes()) if (checkedRows.delete(box.value)) box.checked = true;
    update();
  });
  showChosenField();
  update();
}

/**
 * Lean dropdowns of the asset lists: a list page sends each row's dropdown with only the
 * option it shows closed, and each list of choices once, in the <template> its data-choices names.
 * This fills every such dropdown as the page loads, the chosen option still chosen; a browser
 * without JavaScript is given whole dropdowns instead (the page's <noscript>).
 */
function fillLeanDropdowns(root) {
  for (const select of root.querySelectorAll("select[data-choices]")) {
    const list = document.getElementById(`choices-${select.dataset.choices}`);
    if (!(list instanceof HTMLTemplateElement)) continue;
    const chosen = select.value;
    select.replaceChildren(list.content.cloneNode(true));
    for (const option of select.options) option.defaultSelected = option.value === chosen;
    select.removeAttribute("data-choices");
  }
}

/**
 * Inline dropdowns of the asset lists: each belongs to its row's form, which htmx
 * posts. A mouse choice saves at once, but arrowing through a dropdown on the keyboard changes its
 * value on every key press, so a keyboard change is held until Enter or until the person leaves
 * the field, then saved once. The row the save replaces keeps the keyboard focus where it was.
 */
function enhanceInlineDropdowns() {
  const table = document.querySelector("table.inventory-table");
  if (!table) return;
  const inline = (target) => target instanceof HTMLSelectElement && target.form?.hasAttribute("hx-post") && table.contains(target);
  let byKeyboard = null;
  const held = new Set();
  // Each field's value when the person came to it: leaving it unchanged saves nothing.
  const before = new WeakMap();
  table.addEventListener("focusin", (event) => {
    if (inline(event.target)) before.set(event.target, event.target.value);
  });
  table.addEventListener(
    "pointerdown",
    (event) => {
      if (inline(event.target)) byKeyboard = null;
    },
    true,
  );
  table.addEventListener(
    "keydown",
    (event) => {
      if (!inline(event.target)) return;
      if (event.key === "Enter" && held.has(event.target)) {
        event.preventDefault();
        commit(event.target);
      } else if (event.key !== "Tab") {
        byKeyboard = event.target;
      }
    },
    true,
  );
  table.addEventListener("change", (event) => {
    if (!inline(event.target)) return;
    if (byKeyboard === event.target) held.add(event.target);
    else save(event.target);
  });
  table.addEventListener(
    "focusout",
    (event) => {
      if (held.has(event.target)) commit(event.target);
    },
    true,
  );
  function commit(select) {
    held.delete(select);
    byKeyboard = null;
    if (before.get(select) !== select.value) save(select);
  }
  function save(select) {
    before.set(select, select.value);
    select.form.requestSubmit();
  }
  // The saved row replaces the old one: focus goes back to the same field of the new row.
  let refocus = null;
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const active = document.activeElement;
    const row = event.detail.target;
    refocus = row?.contains?.(active) && active.name ? { id: row.id, name: active.name } : null;
  });
  document.body.addEventListener("htmx:afterSettle", () => {
    if (!refocus) return;
    document
      .getElementById(refocus.id)
      ?.querySelector(`[name="${CSS.escape(refocus.name)}"]`)
      ?.focus();
    refocus = null;
  });
}

/** A page that answers a step (a bulk change, its Undo, an import) puts the focus on its answer. */
function focusTheAnswer() {
  document.querySelector("[data-focus-on-load]")?.focus();
}

document.addEventListener("DOMContentLoaded", () => {
  fillLeanDropdowns(document);
  enhanceInlineDropdowns();
  focusTheAnswer();
  startResendCountdown(document);
  enhanceDialogForms(document);

  enhanceBulkBar();

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

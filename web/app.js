// EdgeDesk's small progressive enhancements. Pages work without this file; it is served from
// 'self' because the Content-Security-Policy forbids inline script.
document.addEventListener("DOMContentLoaded", () => {
  // Resend OTP: count down the 30 seconds the server enforces, then enable the button.
  const resend = document.getElementById("resend-otp");
  const countdown = document.getElementById("resend-countdown");
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

  // Asset and software lists: "select all rows on this page".
  const selectPage = document.getElementById("select-page");
  if (selectPage) {
    selectPage.addEventListener("change", () => {
      for (const box of document.querySelectorAll("input.row-select")) box.checked = selectPage.checked;
    });
  }

  // Copy recovery codes to the clipboard.
  const copy = document.getElementById("copy-recovery-codes");
  const status = document.getElementById("copy-status");
  if (copy && status) {
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(copy.dataset.copy || "");
        status.textContent = "Copied.";
      } catch {
        status.textContent = "Copying is blocked here: select the codes and copy them, or use Download.";
      }
    });
  }
});

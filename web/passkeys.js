// Passkeys in the browser, with @simplewebauthn/browser (web/vendor). Buttons carry their URLs in
// data attributes; the server does every check. Served from 'self' (the CSP forbids inline script).
document.addEventListener("DOMContentLoaded", () => {
  const { startAuthentication, startRegistration, browserSupportsWebAuthn } = window.SimpleWebAuthnBrowser || {};
  const post = (url, body) =>
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body ?? {}),
    });
  const show = (id, text) => {
    const el = document.getElementById(id);
    if (el) el.textContent = text;
  };
  const explain = (error) =>
    error && error.name === "NotAllowedError"
      ? "The passkey prompt was closed or timed out. Try again."
      : "This browser could not use a passkey here. Try again, or use another way.";

  const signInButton = document.getElementById("passkey-sign-in");
  if (signInButton) {
    if (!browserSupportsWebAuthn?.()) show("passkey-error", "This browser does not support passkeys. Use another way below.");
    signInButton.addEventListener("click", async () => {
      show("passkey-error", "");
      try {
        const options = await (await post(signInButton.dataset.options)).json();
        if (options.error) return show("passkey-error", options.error);
        const response = await startAuthentication({ optionsJSON: options });
        const remember = document.getElementById("field-remember");
        const answer = await (await post(signInButton.dataset.verify, { response, remember: !!remember?.checked })).json();
        if (answer.redirect) window.location.assign(answer.redirect);
        else show("passkey-error", answer.error || "The passkey could not be verified. Try again.");
      } catch (error) {
        show("passkey-error", explain(error));
      }
    });
  }

  // A passkey alone, from the button or from the Email field's autofill (conditional
  // mediation, where the browser offers it). Starting one cancels the other's waiting request.
  const aloneButton = document.getElementById("passkey-sign-in-alone");
  if (aloneButton) {
    const signIn = async (autofill) => {
      const options = await (await post(aloneButton.dataset.options)).json();
      if (options.error) return show("passkey-error", options.error);
      const response = await startAuthentication({ optionsJSON: options, useBrowserAutofill: autofill });
      const answer = await (await post(aloneButton.dataset.verify, { response, next: aloneButton.dataset.next || undefined })).json();
      if (answer.redirect) window.location.assign(answer.redirect);
      else show("passkey-error", answer.error || "The passkey could not be verified. Try again.");
    };
    if (!browserSupportsWebAuthn?.()) {
      aloneButton.hidden = true;
    } else {
      aloneButton.addEventListener("click", () => {
        show("passkey-error", "");
        signIn(false).catch((error) => show("passkey-error", explain(error)));
      });
      const { browserSupportsWebAuthnAutofill } = window.SimpleWebAuthnBrowser;
      // Autofill waits quietly; it is cancelled (AbortError) when the button starts its own request.
      browserSupportsWebAuthnAutofill()
        .then((supported) => supported && signIn(true))
        .catch((error) => {
          if (error && error.name !== "AbortError") show("passkey-error", explain(error));
        });
    }
  }

  const addButton = document.getElementById("passkey-add");
  if (addButton) {
    addButton.addEventListener("click", async () => {
      show("passkey-add-status", "");
      const name = document.getElementById("field-passkeyName")?.value || "";
      try {
        const options = await (await post(addButton.dataset.options)).json();
        if (options.error) return show("passkey-add-status", options.error);
        const response = await startRegistration({ optionsJSON: options });
        const answer = await (await post(addButton.dataset.verify, { name, response })).json();
        if (answer.ok) window.location.assign(addButton.dataset.done);
        else show("passkey-add-status", answer.error || "The passkey could not be added. Try again.");
      } catch (error) {
        show("passkey-add-status", explain(error));
      }
    });
  }
});

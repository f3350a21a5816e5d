/*
 * The WebAuthn ceremony of a form marked data-webauthn="create" (add a passkey)
 * or data-webauthn="get" (confirm with a passkey). The server's options are in
 * <script id="webauthn-options" type="application/json"> ({"publicKey": ...},
 * binary fields in base64url). On submit the browser asks for the passkey, the
 * answer goes in the hidden "credential" field as JSON, then the form is posted;
 * the server checks it (allauth's WebAuthn internals).
 */
(function () {
  "use strict";

  function toBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var padded = base64 + "===".slice((base64.length + 3) % 4);
    var text = atob(padded);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: toBytes(item.id) });
    });
  }

  function creationOptions(options) {
    var publicKey = Object.assign({}, options.publicKey);
    publicKey.challenge = toBytes(publicKey.challenge);
    publicKey.user = Object.assign({}, publicKey.user, { id: toBytes(publicKey.user.id) });
    publicKey.excludeCredentials = withIds(publicKey.excludeCredentials);
    return { publicKey: publicKey };
  }

  function requestOptions(options) {
    var publicKey = Object.assign({}, options.publicKey);
    publicKey.challenge = toBytes(publicKey.challenge);
    publicKey.allowCredentials = withIds(publicKey.allowCredentials);
    return { publicKey: publicKey };
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      out.response.attestationObject = toBase64url(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toBase64url(response.authenticatorData);
      out.response.signature = toBase64url(response.signature);
      out.response.userHandle = response.userHandle ? toBase64url(response.userHandle) : null;
    }
    return JSON.stringify(out);
  }

  function init() {
    var form = document.querySelector("form[data-webauthn]");
    var source = document.getElementById("webauthn-options");
    var status = document.getElementById("webauthn-status");
    if (!form || !source) return;
    var field = form.querySelector("input[name='credential']");
    var mode = form.getAttribute("data-webauthn");
    var options = JSON.parse(source.textContent);

    function fail(key) {
      if (!status) return;
      status.textContent = status.getAttribute(key);
      status.hidden = false;
    }

    form.addEventListener("submit", function (event) {
      if (field.value) return; // the ceremony is done: post it
      event.preventDefault();
      if (!window.PublicKeyCredential || !navigator.credentials) {
        fail("data-unsupported");
        return;
      }
      if (status) status.hidden = true;
      var ceremony =
        mode === "create"
          ? navigator.credentials.create(creationOptions(options))
          : navigator.credentials.get(requestOptions(options));
      ceremony.then(
        function (credential) {
          field.value = credentialJSON(credential);
          form.submit();
        },
        function () {
          fail("data-failed");
        }
      );
    });
    form.setAttribute("data-webauthn-ready", ""); // tests wait for this before submitting
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

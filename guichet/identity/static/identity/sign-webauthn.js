// Signing with a passkey: asks the browser for an assertion over the
// challenge the server derived from the operation's digest, then posts it in
// the form's "credential" field (a normal form post). The server verifies it.
(function () {
  'use strict'
  function start () {
    const form = document.getElementById('sign-webauthn-form')
    const options = document.getElementById('sign-webauthn-options')
    if (!form || !options || !window.webauthnJSON || !window.PublicKeyCredential) return
    const button = document.getElementById('sign-webauthn-button')
    const error = document.getElementById('sign-webauthn-error')
    const hint = document.getElementById('sign-webauthn-nojs')
    if (hint) hint.hidden = true
    button.hidden = false
    button.addEventListener('click', async function () {
      error.hidden = true
      button.disabled = true
      try {
        const credential = await window.webauthnJSON.get(JSON.parse(options.textContent))
        document.getElementById('sign-webauthn-credential').value = JSON.stringify(credential)
        form.submit()
      } catch (e) {
        error.hidden = false
        button.disabled = false
        button.focus()
      }
    })
    form.setAttribute('data-webauthn-ready', '') // tests wait for this before clicking
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start)
  } else {
    start()
  }
})()

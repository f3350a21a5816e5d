// Second step of a login with a passkey: asks the browser for an assertion over
// the server's challenge (#webauthn-login-options), puts it in the hidden
// "credential" field and posts the form. The server verifies it.
(function () {
  'use strict'
  function start () {
    const form = document.getElementById('webauthn-login-form')
    const options = document.getElementById('webauthn-login-options')
    if (!form || !options || !window.webauthnJSON || !window.PublicKeyCredential) return
    const button = document.getElementById('webauthn-login-button')
    const error = document.getElementById('webauthn-login-error')
    button.hidden = false
    button.addEventListener('click', async function () {
      error.hidden = true
      button.disabled = true
      try {
        const credential = await window.webauthnJSON.get(JSON.parse(options.textContent))
        document.getElementById('webauthn-login-credential').value = JSON.stringify(credential)
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

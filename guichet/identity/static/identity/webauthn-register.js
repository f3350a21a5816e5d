// Passkey enrolment: on submit, asks the browser to create a credential with the
// options the server sent (#webauthn-register-options), puts the answer in the
// hidden "credential" field and posts the form. The server verifies it.
// Without JavaScript the post carries no credential and the page says so.
(function () {
  'use strict'
  function start () {
    const form = document.getElementById('webauthn-register-form')
    const options = document.getElementById('webauthn-register-options')
    if (!form || !options) return
    const button = document.getElementById('webauthn-register-button')
    const error = document.getElementById('webauthn-register-error')
    const credential = document.getElementById('webauthn-register-credential')
    form.addEventListener('submit', async function (event) {
      if (credential.value) return // the ceremony is done: post it
      event.preventDefault()
      if (!window.webauthnJSON || !window.PublicKeyCredential) {
        error.hidden = false
        return
      }
      error.hidden = true
      button.disabled = true
      try {
        const created = await window.webauthnJSON.create(JSON.parse(options.textContent))
        credential.value = JSON.stringify(created)
        form.submit()
      } catch (e) {
        error.hidden = false
        button.disabled = false
        button.focus()
      }
    })
    form.setAttribute('data-webauthn-ready', '') // tests wait for this before submitting
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start)
  } else {
    start()
  }
})()

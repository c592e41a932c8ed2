// The password page (password.html): sends the phone, the password in use and the
// new one to POST /api/auth/password, and says what happened in plain words.
// Plain script, no inline code, so it runs under the server's Content-Security-Policy.
'use strict';
(function () {
  let en = false;
  try { en = JSON.parse(localStorage.getItem('daohu:v1:lang') || '""') === 'en'; } catch (e) { /* Chinese */ }
  if (en) {
    document.documentElement.lang = 'en';
    document.title = 'Change password · Daohu';
    for (const el of document.querySelectorAll('[data-en]')) el.textContent = el.dataset.en;
  }
  const say = (zh, english) => (en ? english : zh);
  // The server's own words are Chinese; English for the codes it answers with.
  const ENGLISH = {
    weak_password: 'This password is too short, too common or too easy to guess: choose another.',
    bad_credentials: 'The phone number or the password you have now is wrong.',
    account_disabled: 'This account is disabled. Please contact your village.',
    too_many_attempts: 'Too many wrong attempts. Please wait a while and try again.',
  };
  const form = document.getElementById('change');
  const message = document.getElementById('message');
  const phone = document.getElementById('phone');
  // The app sends members here with their phone after the hash (never to the server).
  if (location.hash.length > 1) phone.value = decodeURIComponent(location.hash.slice(1));
  (phone.value ? document.getElementById('current') : phone).focus();
  const show = (text) => { message.textContent = text; message.hidden = false; };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const v = (id) => document.getElementById(id).value;
    if (!v('phone').trim() || !v('current') || !v('new')) {
      return show(say('请把每一项都填上。', 'Please fill in every field.'));
    }
    if (v('new') !== v('again')) {
      return show(say('两次输入的新密码不一样。', 'The two new passwords differ.'));
    }
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const res = await fetch('/api/auth/password', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ phone: v('phone'), current_password: v('current'), new_password: v('new') }),
      });
      if (res.ok) {
        form.hidden = true;
        document.getElementById('why').hidden = true;
        document.getElementById('done').hidden = false;
        return;
      }
      let body = {};
      try { body = await res.json(); } catch (e) { /* not JSON */ }
      show(en ? (ENGLISH[body.error] || 'The server could not change the password. Please try again.')
              : (body.message || '服务器没能改密码，请再试一次。'));
    } catch (e) {
      show(say('没有网络，连不上服务器。改密码要有网。', 'No network: changing the password needs the server.'));
    } finally {
      button.disabled = false;
    }
  });
})();

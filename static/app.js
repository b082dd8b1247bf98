// IntroEval pages: upload with a progress bar, and live status on the
// result page. Pages work without this script for reading.
'use strict';

function csrfToken() {
  const m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.content : '';
}

function setupUpload() {
  const form = document.getElementById('upload-form');
  if (!form) return;
  const input = document.getElementById('video');
  const button = document.getElementById('upload-btn');
  const bar = document.getElementById('upload-progress');
  const msg = document.getElementById('upload-message');
  const maxBytes = Number(form.dataset.maxMb) * 1024 * 1024;

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const file = input.files[0];
    if (!file) { msg.textContent = 'Choose a video first.'; return; }
    if (file.size === 0) { msg.textContent = 'This file is empty.'; return; }
    if (file.size > maxBytes) {
      msg.textContent = `This file is ${(file.size / 1048576).toFixed(0)} MB; the limit is ${form.dataset.maxMb} MB.`;
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/submissions');
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.setRequestHeader('X-CSRF-Token', csrfToken());
    xhr.setRequestHeader('X-Filename', encodeURIComponent(file.name));
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) return;
      bar.value = Math.round((e.loaded / e.total) * 100);
      msg.textContent = `Uploading… ${bar.value}%`;
    });
    xhr.addEventListener('load', () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 201 && body.url) {
        msg.textContent = 'Uploaded. Opening your result page…';
        window.location.assign(body.url);
      } else {
        msg.textContent = body.error || `The upload failed (HTTP ${xhr.status}).`;
        button.disabled = false;
      }
    });
    xhr.addEventListener('error', () => {
      msg.textContent = 'The connection dropped during the upload. Please try again.';
      button.disabled = false;
    });
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    msg.textContent = 'Uploading… 0%';
    xhr.send(file);
  });
}

function setupLiveStatus() {
  const card = document.getElementById('submission');
  if (!card || card.dataset.finished === '1') return;
  const seen = card.dataset.phase + '/' + card.dataset.status;
  const poll = async () => {
    try {
      const res = await fetch(`/api/v1/submissions/${card.dataset.id}`,
                              { headers: { Accept: 'application/json' } });
      if (res.ok) {
        const s = await res.json();
        if (`${s.phase}/${s.status}` !== seen) { window.location.reload(); return; }
      }
    } catch (e) { /* server restarting: try again */ }
    setTimeout(poll, 2000);
  };
  setTimeout(poll, 2000);
}

// Times arrive as ISO 8601 UTC; show them in the reader's own zone.
function localTimes() {
  const fmt = new Intl.DateTimeFormat(undefined,
    { dateStyle: 'medium', timeStyle: 'short' });
  for (const el of document.querySelectorAll('time[datetime]')) {
    const d = new Date(el.getAttribute('datetime'));
    if (!Number.isNaN(d.getTime())) {
      el.title = el.getAttribute('datetime');
      el.textContent = fmt.format(d);
    }
  }
}

document.addEventListener('DOMContentLoaded', () => {
  localTimes();
  setupUpload();
  setupLiveStatus();
});

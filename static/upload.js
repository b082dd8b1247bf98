// IntroEval upload page: resumable uploads (tus 1.0) with a progress bar,
// and recording from the camera in the page.
//
// An upload is created once (POST /api/v1/uploads) and its address kept in
// localStorage under the file's name, size and modification time, so the
// same file chosen again after a dropped connection or a closed tab goes
// on from the offset the server reports (HEAD) instead of starting over.
// Bytes go in PATCH requests of at most CHUNK bytes; on a network error or
// a 5xx/408/409/423 answer the client waits (1, 2, 4 … 30 s), asks the server
// how much it has, and continues from there. When the last byte is in,
// the answer names the new submission (X-Submission-Url) and the page
// opens it. The recorder (MediaRecorder, webm) hands its recording to the
// same upload; without getUserMedia the page offers only the file chooser.
'use strict';

(() => {
  const TUS = '1.0.0';
  const ENDPOINT = '/api/v1/uploads';
  const CHUNK = 8 * 1024 * 1024;
  const BACKOFF_S = [1, 2, 4, 8, 15, 30];
  const MAX_RETRIES = 12;
  const KEY_PREFIX = 'introeval-upload:';

  function csrfToken() {
    const m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : '';
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // A failure: `retry` when waiting and asking again may help.
  class UploadError extends Error {
    constructor(message, { retry = false, status = 0, gone = false } = {}) {
      super(message);
      this.retry = retry;
      this.status = status;
      this.gone = gone;
    }
  }

  function base64(text) {
    const bytes = new TextEncoder().encode(text);
    let bin = '';
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin);
  }

  // One request; resolves to the XHR whatever its status, rejects with a
  // retryable UploadError when the network failed.
  function request(method, url, headers, body, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader('Tus-Resumable', TUS);
      for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
      if (onProgress) {
        xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded));
      }
      xhr.addEventListener('load', () => resolve(xhr));
      const dropped = () => reject(new UploadError('the connection dropped', { retry: true }));
      xhr.addEventListener('error', dropped);
      xhr.addEventListener('timeout', dropped);
      xhr.addEventListener('abort', dropped);
      xhr.send(body === undefined ? null : body);
    });
  }

  // The server's words for a failed answer, as an UploadError.
  function failure(xhr) {
    let msg = '';
    // API errors are {"error": {"code", "message", "field"}}.
    try { msg = JSON.parse(xhr.responseText).error.message || ''; } catch (e) { /* not JSON */ }
    const s = xhr.status;
    return new UploadError(msg || `the upload failed (HTTP ${s})`, {
      status: s,
      // 408: the server stopped waiting for a stalled PATCH's bytes.
      retry: s >= 500 || s === 408 || s === 409 || s === 423 || s === 0,
      gone: s === 404 || s === 410,
    });
  }

  // The assignment the page's form names ("" when none is chosen).
  function assignmentId() {
    const el = document.getElementById('assignment');
    return el ? el.value : '';
  }

  function resumeKey(file) {
    return `${KEY_PREFIX}${assignmentId()}:${file.name}:${file.size}:${file.lastModified}`;
  }

  // The submission a finished upload became, or throws its refusal.
  function outcome(xhr) {
    const url = xhr.getResponseHeader('X-Submission-Url');
    if (url) return url;
    const err = xhr.getResponseHeader('X-Upload-Error');
    throw new UploadError(err || 'the upload finished without a submission', { status: 422 });
  }

  async function create(file) {
    let meta = `filename ${base64(file.name)},filetype ${base64(file.type || '')}`;
    if (assignmentId()) meta += `,assignment_id ${base64(assignmentId())}`;
    const xhr = await request('POST', ENDPOINT, {
      'Upload-Length': String(file.size),
      'Upload-Metadata': meta,
      'X-CSRF-Token': csrfToken(),
    });
    if (xhr.status !== 201) throw failure(xhr);
    return xhr.getResponseHeader('Location');
  }

  // { offset, done: submission URL or null }; throws when it is gone.
  async function head(url) {
    const xhr = await request('HEAD', url, {});
    if (xhr.status !== 200) throw failure(xhr);
    const offset = Number(xhr.getResponseHeader('Upload-Offset'));
    const length = Number(xhr.getResponseHeader('Upload-Length'));
    return { offset, done: offset === length ? outcome(xhr) : null };
  }

  // Sends file[offset, offset+CHUNK); resolves to { offset, done }.
  async function patch(url, file, offset, onProgress) {
    const end = Math.min(offset + CHUNK, file.size);
    const xhr = await request('PATCH', url, {
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
      'X-CSRF-Token': csrfToken(),
    }, file.slice(offset, end), (sent) => onProgress(offset + sent));
    if (xhr.status !== 204) throw failure(xhr);
    const now = Number(xhr.getResponseHeader('Upload-Offset'));
    return { offset: now, done: now === file.size ? outcome(xhr) : null };
  }

  // Where to start: a kept upload of this file, or a new one.
  async function start(file, key) {
    const kept = localStorage.getItem(key);
    if (kept) {
      try {
        return { url: kept, ...(await head(kept)) };
      } catch (e) {
        if (!e.gone) throw e;
        localStorage.removeItem(key); // expired or removed: start over
      }
    }
    const url = await create(file);
    localStorage.setItem(key, url);
    return { url, offset: 0, done: null };
  }

  // Uploads file; resolves to the submission's URL. report(fraction,
  // text) tells the page how it goes.
  async function upload(file, report) {
    const key = resumeKey(file);
    let retries = 0;
    let state = null;
    for (;;) {
      try {
        if (!state) {
          state = await start(file, key);
          if (state.offset > 0 && !state.done) {
            report(state.offset / file.size, `Resuming at ${Math.round(100 * state.offset / file.size)}%…`);
          }
        }
        while (!state.done) {
          state = { url: state.url, ...(await patch(state.url, file, state.offset,
            (sent) => report(sent / file.size, null))) };
          retries = 0;
        }
        localStorage.removeItem(key);
        return state.done;
      } catch (e) {
        if (e.gone && state) {
          localStorage.removeItem(key);
          state = null; // the server lost it: start over once more
        } else if (!e.retry) {
          if (e.status === 422 || e.status === 413) localStorage.removeItem(key);
          throw e;
        }
        if (++retries > MAX_RETRIES) {
          throw new UploadError('The connection keeps dropping. Choose the file and press Upload again to continue where it stopped.');
        }
        const wait = BACKOFF_S[Math.min(retries - 1, BACKOFF_S.length - 1)];
        report(null, `The connection dropped; trying again in ${wait} s…`);
        await sleep(wait * 1000);
        if (state) {
          try {
            state = { url: state.url, ...(await head(state.url)) };
          } catch (e2) {
            if (e2.gone) state = null; else if (!e2.retry) throw e2;
          }
        }
      }
    }
  }

  // The page: form#upload-form, progress#upload-progress, #upload-message.
  function setupUpload() {
    const form = document.getElementById('upload-form');
    if (!form) return null;
    const input = document.getElementById('video');
    const button = document.getElementById('upload-btn');
    const bar = document.getElementById('upload-progress');
    const msg = document.getElementById('upload-message');
    const maxBytes = Number(form.dataset.maxMb) * 1024 * 1024;
    let busy = false;

    // A refusal reads as an error, not as a finished upload: no full
    // bar under it, the alert style, and what to do next.
    const fail = (text) => {
      bar.hidden = true;
      msg.className = 'alert';
      msg.setAttribute('role', 'alert');
      msg.textContent = text;
    };
    const calm = (text) => {
      msg.className = 'hint';
      msg.setAttribute('role', 'status');
      msg.textContent = text;
    };

    const send = async (file) => {
      if (busy) return;
      if (!assignmentId()) { fail('Choose the assignment this recording is for.'); return; }
      if (!file) { fail('Choose a video first.'); return; }
      if (file.size === 0) { fail('This file is empty. Choose another recording.'); return; }
      if (file.size > maxBytes) {
        fail(`This file is ${(file.size / 1048576).toFixed(0)} MB; the limit is ${form.dataset.maxMb} MB. Choose a shorter or smaller recording.`);
        return;
      }
      busy = true;
      button.disabled = true;
      bar.hidden = false;
      bar.value = 0;
      calm('Uploading… 0%');
      const report = (fraction, text) => {
        if (fraction !== null) {
          bar.value = Math.round(fraction * 100);
          if (text === null) msg.textContent = `Uploading… ${bar.value}%`;
        }
        if (text) msg.textContent = text;
      };
      try {
        const url = await upload(file, report);
        bar.value = 100;
        msg.textContent = 'Uploaded. Opening your result page…';
        window.location.assign(url);
      } catch (e) {
        const words = e.message.charAt(0).toUpperCase() + e.message.slice(1);
        const next = e.status === 422 || e.status === 413
          ? 'This recording was not accepted: choose another one and upload it.'
          : 'Press Upload again: it goes on from where it stopped.';
        fail(`${words.replace(/[.\s]*$/, '.')} ${next}`);
        button.disabled = false;
        busy = false;
      }
    };
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      send(input.files[0]);
    });
    return send;
  }

  function pickMimeType() {
    const types = ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9,opus', 'video/webm'];
    return types.find((t) => MediaRecorder.isTypeSupported(t)) || '';
  }

  // The recorder: section#recorder with video#record-preview and its
  // buttons; shown only where the browser can record.
  function setupRecorder(send) {
    const box = document.getElementById('recorder');
    if (!box || !send) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia ||
        typeof MediaRecorder === 'undefined') {
      return; // the file chooser is the fallback
    }
    const preview = document.getElementById('record-preview');
    const startBtn = document.getElementById('record-start');
    const stopBtn = document.getElementById('record-stop');
    const sendBtn = document.getElementById('record-upload');
    const clock = document.getElementById('record-time');
    const note = document.getElementById('record-message');
    const maxS = Number(box.dataset.maxS) || 600;
    let stream = null;
    let recorder = null;
    let recording = null;
    let timer = null;

    const stopStream = () => {
      if (stream) stream.getTracks().forEach((t) => t.stop());
      stream = null;
    };
    const finish = () => {
      clearInterval(timer);
      if (recorder && recorder.state !== 'inactive') recorder.stop();
    };
    box.hidden = false;

    startBtn.addEventListener('click', async () => {
      note.textContent = '';
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      } catch (e) {
        note.textContent = 'The browser did not let us use the camera and microphone. You can still choose a file above.';
        return;
      }
      const chunks = [];
      const mimeType = pickMimeType();
      recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
      recorder.addEventListener('dataavailable', (e) => { if (e.data.size) chunks.push(e.data); });
      recorder.addEventListener('stop', () => {
        stopStream();
        const blob = new Blob(chunks, { type: recorder.mimeType || 'video/webm' });
        const now = new Date();
        recording = new File([blob], `recording-${now.toISOString().replace(/[:.]/g, '-')}.webm`,
          { type: blob.type, lastModified: now.getTime() });
        preview.srcObject = null;
        preview.src = URL.createObjectURL(blob);
        preview.muted = false;
        preview.controls = true;
        startBtn.disabled = false;
        startBtn.textContent = 'Record again';
        stopBtn.disabled = true;
        sendBtn.disabled = false;
        note.textContent = `Recorded ${clock.textContent}. Watch it back, then upload it or record again.`;
      });
      // The preview has nothing to show before the camera starts.
      preview.hidden = false;
      preview.srcObject = stream;
      preview.muted = true;
      preview.controls = false;
      preview.play().catch(() => {});
      const began = Date.now();
      clock.textContent = '0:00';
      timer = setInterval(() => {
        const s = Math.floor((Date.now() - began) / 1000);
        clock.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
        if (s >= maxS) finish();
      }, 250);
      recorder.start(1000);
      startBtn.disabled = true;
      stopBtn.disabled = false;
      sendBtn.disabled = true;
      recording = null;
    });
    stopBtn.addEventListener('click', finish);
    sendBtn.addEventListener('click', () => {
      if (!recording) return;
      sendBtn.disabled = true;
      send(recording).finally(() => { sendBtn.disabled = false; });
    });
  }

  document.addEventListener('DOMContentLoaded', () => {
    setupRecorder(setupUpload());
  });
})();

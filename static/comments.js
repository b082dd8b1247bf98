// IntroEval time-coded comments on the result page (issue 12).
//
// The page is complete without this script: comments are listed, a
// teacher's form and a student's reply forms post and come back. With it:
// markers on the timeline (#markers) and the comments' times seek the
// player; a teacher comments at the current moment with the button or
// the C key; forms post to the JSON API and the page updates at once.
// Everyone else's open page follows through the WebSocket (live.js
// refreshes #results and #markers when review_seq grows), so every
// handler here is delegated from document and survives those refreshes.
'use strict';

(() => {
  const player = () => document.getElementById('player');
  const drafts = new Map(); // comment id -> unsent reply text
  let lastFocus = null; // the id of the element that last took the focus

  // "1:05", as the server writes it (floor of the seconds).
  function clock(s) {
    const t = Math.max(0, Math.floor(s));
    const h = Math.floor(t / 3600);
    const mm = Math.floor((t % 3600) / 60);
    const ss = String(t % 60).padStart(2, '0');
    return h > 0 ? `${h}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
  }

  // Seconds from "75", "75.5", "1:15" or "1:15.5"; null for anything else.
  function parseClock(text) {
    const m = /^\s*(?:(\d+):)?(\d+(?:\.\d*)?)\s*$/.exec(text || '');
    if (!m) return null;
    const sec = Number(m[2]);
    if (m[1] !== undefined && sec >= 60) return null;
    return (m[1] !== undefined ? Number(m[1]) * 60 : 0) + sec;
  }

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : '';
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text != null) e.textContent = text;
    return e;
  }

  // The words of a failed answer: API errors are {"error": {"code", "message", "field"}}.
  function errorText(res) {
    const e = res.data && res.data.error;
    return (e && e.message) || '';
  }

  async function post(url, body, method = 'POST') {
    try {
      const res = await fetch(url, {
        method,
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf() },
        body: body ? JSON.stringify(body) : undefined,
      });
      const data = await res.json().catch(() => ({}));
      return { ok: res.ok, status: res.status, data };
    } catch (e) {
      return { ok: false, status: 0, data: { error: { code: 'offline', message: 'The server did not answer; try again.' } } };
    }
  }

  // ------------------------------------------------------------ timeline

  // The server gives each marker its share of the recording (data-pct);
  // the page's Content-Security-Policy refuses inline style attributes,
  // so the place is set here (style.css also reads it with attr() where
  // the browser can).
  function placeMarkers() {
    for (const m of document.querySelectorAll('#markers .marker[data-pct]')) {
      m.style.left = `${Number(m.dataset.pct)}%`;
    }
    showPlayhead();
  }

  function showPlayhead() {
    const p = player();
    const track = document.querySelector('#markers .timeline-track');
    if (!p || !track || !(p.duration > 0)) return;
    let head = track.querySelector('.timeline-playhead');
    if (!head) {
      head = el('span', { class: 'timeline-playhead', 'aria-hidden': 'true' });
      track.prepend(head);
    }
    head.style.left = `${Math.min(100, (p.currentTime / p.duration) * 100)}%`;
  }

  function seek(s) {
    const p = player();
    if (!p || !Number.isFinite(s)) return;
    p.currentTime = s;
    p.play().catch(() => { /* the reader may still press play */ });
    const r = p.getBoundingClientRect();
    if (r.bottom < 0 || r.top > window.innerHeight) p.scrollIntoView({ block: 'center', behavior: 'smooth' });
  }

  // -------------------------------------------------- a teacher comments

  const form = () => document.getElementById('comment-form');

  function setupForm() {
    const f = form();
    if (!f) return;
    document.getElementById('comment-bar').hidden = false;
    document.getElementById('comment-cancel').hidden = false;
    document.getElementById('comment-fields').hidden = true;
  }

  function openForm() {
    const f = form();
    if (!f) return;
    const p = player();
    const at = document.getElementById('comment-at');
    const t = p ? p.currentTime : 0;
    if (p && !p.paused) p.pause();
    at.value = clock(t);
    at.dataset.exact = String(t); // the box shows m:ss; keep the moment itself
    document.getElementById('comment-fields').hidden = false;
    document.getElementById('comment-btn').setAttribute('aria-expanded', 'true');
    document.getElementById('comment-msg').textContent = '';
    document.getElementById('comment-body').focus();
  }

  function closeForm() {
    document.getElementById('comment-fields').hidden = true;
    document.getElementById('comment-btn').setAttribute('aria-expanded', 'false');
  }

  function typing(target) {
    return target instanceof Element &&
      (target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]') !== null);
  }

  async function saveComment(f) {
    const at = document.getElementById('comment-at');
    const body = document.getElementById('comment-body');
    const msg = document.getElementById('comment-msg');
    const exact = Number(at.dataset.exact);
    const atS = at.dataset.exact !== undefined && at.value === clock(exact) ? exact : parseClock(at.value);
    if (atS === null) {
      msg.textContent = 'Write the moment as m:ss (1:15) or as seconds (75).';
      at.focus();
      return;
    }
    const save = document.getElementById('comment-save');
    save.disabled = true;
    const res = await post(`/api/v1/submissions/${f.dataset.submission}/comments`,
      { at_s: Math.round(atS * 100) / 100, body: body.value });
    save.disabled = false;
    if (!res.ok) {
      msg.textContent = errorText(res) || `The server answered ${res.status}.`;
      return;
    }
    body.value = '';
    msg.textContent = '';
    delete at.dataset.exact;
    closeForm();
    addComment(res.data);
    // The fieldset is hidden again: say it beside the button.
    const bar = document.getElementById('comment-bar');
    let note = bar.querySelector('.comment-saved');
    if (!note) {
      note = el('span', { class: 'comment-saved ok-text', role: 'status' });
      bar.append(note);
    }
    note.textContent = `Saved at ${clock(res.data.at_s)}.`;
  }

  // Shows a new comment at once; the live refresh redraws it from the server.
  function addComment(c) {
    const markers = document.getElementById('markers');
    const p = player();
    const dur = p && p.duration > 0 ? p.duration : 0;
    if (markers && dur > 0) {
      let track = markers.querySelector('.timeline-track');
      if (!track) {
        markers.classList.add('has-markers');
        markers.append(el('span', { class: 'timeline-end timeline-start', 'aria-hidden': 'true' }, '0:00'));
        track = el('div', { class: 'timeline-track' });
        markers.append(track, el('span', { class: 'timeline-end', 'aria-hidden': 'true' }, clock(dur)));
      }
      const b = el('button', {
        type: 'button', class: 'marker', 'data-id': String(c.id), 'data-s': String(c.at_s),
        'data-pct': String(Math.min(100, (c.at_s / dur) * 100)),
        title: `${clock(c.at_s)} — ${c.author_name}: ${c.body.replace(/\s+/g, ' ').slice(0, 60)}`,
        'aria-label': `Play from ${clock(c.at_s)}: comment by ${c.author_name}`,
      });
      b.append(el('span', { class: 'marker-time' }, clock(c.at_s)));
      track.append(b);
      placeMarkers();
    }
    const card = document.getElementById('comments');
    if (!card) return;
    document.getElementById('comments-empty')?.remove();
    let list = document.getElementById('comment-list');
    if (!list) {
      list = el('ol', { class: 'comments', id: 'comment-list' });
      card.append(list);
    }
    const li = el('li', { class: 'comment', id: `comment-${c.id}`, 'data-id': String(c.id), 'data-s': String(c.at_s) });
    const head = el('p', { class: 'comment-head' });
    head.append(el('button', { type: 'button', class: 'comment-seek', 'data-s': String(c.at_s) }, clock(c.at_s)), ' ',
      el('strong', { class: 'comment-author' }, c.author_name), ' ',
      el('time', { datetime: c.created_at }, c.created_at));
    li.append(head, el('p', { class: 'comment-body' }, c.body));
    const after = [...list.children].find((x) => Number(x.dataset.s) > c.at_s);
    list.insertBefore(li, after || null);
    if (typeof localTimes === 'function') localTimes(); // app.js
  }

  // -------------------------------------------------- a student replies

  async function sendReply(f) {
    const id = f.dataset.comment;
    const box = f.querySelector('textarea');
    const msg = f.querySelector('.reply-msg');
    const button = f.querySelector('button[type=submit]');
    button.disabled = true;
    const res = await post(`/api/v1/comments/${id}/reply`, { body: box.value });
    button.disabled = false;
    if (!res.ok && res.status !== 409) {
      msg.textContent = errorText(res) || `The server answered ${res.status}.`;
      return;
    }
    drafts.delete(id);
    const r = res.data.reply;
    if (res.ok && r) {
      const div = el('div', { class: 'reply', id: `reply-${r.id}` });
      const head = el('p', { class: 'comment-head' });
      head.append(el('strong', { class: 'comment-author' }, r.author_name), ' replied ',
        el('time', { datetime: r.created_at }, r.created_at));
      div.append(head, el('p', { class: 'comment-body' }, r.body));
      f.replaceWith(div);
      if (typeof localTimes === 'function') localTimes();
    } else {
      // Already answered (another tab): the refresh brings that reply.
      f.replaceWith(el('p', { class: 'hint' }, errorText(res) || 'You have already replied to this comment.'));
    }
  }

  async function deleteComment(f) {
    if (!window.confirm('Delete this comment (and its reply, if any)?')) return;
    const id = f.dataset.comment;
    const res = await post(`/api/v1/comments/${id}`, null, 'DELETE');
    if (!res.ok) {
      window.alert(errorText(res) || `The server answered ${res.status}.`);
      return;
    }
    document.getElementById(`comment-${id}`)?.remove();
    document.querySelector(`#markers .marker[data-id="${id}"]`)?.remove();
  }

  // A refresh replaces the reply forms: put back what was being written,
  // and the focus if it was lost with the old form.
  function restoreDrafts() {
    for (const [id, text] of drafts) {
      const box = document.getElementById(`reply-body-${id}`);
      if (box) box.value = text;
    }
    const active = document.activeElement;
    if (lastFocus && (!active || active === document.body)) {
      document.getElementById(lastFocus)?.focus();
    }
  }

  // ------------------------------------------------------------ wiring

  document.addEventListener('click', (ev) => {
    const t = ev.target instanceof Element ? ev.target : null;
    const seekEl = t && t.closest('#markers .marker, .comment-seek');
    if (seekEl) {
      seek(Number(seekEl.dataset.s));
      return;
    }
    if (t && t.closest('#comment-btn')) openForm();
    else if (t && t.closest('#comment-cancel')) closeForm();
  });

  document.addEventListener('keydown', (ev) => {
    if (!form()) return;
    if (ev.key === 'Escape' && ev.target instanceof Element && ev.target.closest('#comment-fields')) {
      closeForm();
      document.getElementById('comment-btn').focus();
      return;
    }
    if ((ev.key !== 'c' && ev.key !== 'C') || ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat) return;
    if (typing(ev.target)) return;
    ev.preventDefault(); // else the C lands in the box just focused
    openForm();
  });

  document.addEventListener('submit', (ev) => {
    const f = ev.target;
    if (!(f instanceof HTMLFormElement)) return;
    if (f.id === 'comment-form') {
      ev.preventDefault();
      saveComment(f);
    } else if (f.classList.contains('reply-form')) {
      ev.preventDefault();
      sendReply(f);
    } else if (f.classList.contains('comment-delete')) {
      ev.preventDefault();
      deleteComment(f);
    }
  });

  document.addEventListener('input', (ev) => {
    const box = ev.target;
    const f = box instanceof Element ? box.closest('.reply-form') : null;
    if (f) drafts.set(f.dataset.comment, box.value);
    if (box instanceof Element && box.id === 'comment-at') delete box.dataset.exact;
  });

  document.addEventListener('focusin', (ev) => {
    lastFocus = ev.target instanceof Element && ev.target.id ? ev.target.id : null;
  });
  // Leaving a field on purpose forgets it; a field taken away by a refresh
  // is remembered. Chromium sends focusout before taking the node away, so
  // whether it is still on the page is asked once the refresh is done.
  document.addEventListener('focusout', (ev) => {
    const gone = ev.target;
    if (ev.relatedTarget || !(gone instanceof Element)) return;
    setTimeout(() => {
      if (gone.isConnected && lastFocus === gone.id) lastFocus = null;
    }, 0);
  });

  document.addEventListener('introeval:refreshed', () => {
    placeMarkers();
    restoreDrafts();
  });

  function start() {
    setupForm();
    placeMarkers();
    const p = player();
    if (p) {
      for (const name of ['timeupdate', 'loadedmetadata', 'seeked']) p.addEventListener(name, showPlayhead);
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();

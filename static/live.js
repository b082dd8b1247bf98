// IntroEval live pages: one WebSocket to /ws keeps the course progress
// page, the health page and a submission's page current without
// reloading. Every page is complete without this script; it only keeps
// it fresh. The protocol is described in README.md ("Live pages").
'use strict';

// app.js polls a submission page and reloads it; this script does better
// where WebSockets exist, so it tells app.js to stand down.
if ('WebSocket' in window) window.IntroEvalLive = true;

const Live = (() => {
  // ---------------------------------------------------------------- socket

  // LiveSocket(topics, handlers): subscribes to every topic on each
  // (re)connection, asking for what changed since the newest version it
  // has seen, and hands each new event to handlers.submission/system.
  // Events can repeat or arrive late; one whose version is not newer than
  // what this page holds for that submission is dropped.
  class LiveSocket {
    constructor(topics, handlers, since, versions) {
      this.topics = topics;
      this.handlers = handlers;
      this.since = since || 0;
      this.versions = versions || new Map();
      this.backoff = 1000;
      this.everOpen = false;
      this.connect();
    }

    connect() {
      const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
      let ws;
      try {
        ws = new WebSocket(url);
      } catch (e) {
        this.retry();
        return;
      }
      this.ws = ws;
      ws.onopen = () => {
        this.backoff = 1000;
        this.everOpen = true;
        setStatus('live');
        for (const topic of this.topics) {
          ws.send(JSON.stringify({ type: 'subscribe', topic, since: this.since }));
        }
        if (this.handlers.open) this.handlers.open();
      };
      ws.onmessage = (ev) => {
        let m;
        try { m = JSON.parse(ev.data); } catch (e) { return; }
        this.dispatch(m);
      };
      ws.onclose = (ev) => {
        if (ev.code === 4001) {
          setStatus('off', 'Your session ended: sign in again to see changes.');
          return;
        }
        // 1012: the server is restarting (a deploy or a rolling restart);
        // its reason says to reconnect, so the first try comes soon.
        if (ev.code === 1012) this.backoff = 1000;
        // 4008: this account opened more live pages than the server
        // allows and this one, the oldest, was closed. Reconnecting would
        // close another of them in turn, so it stays off and says why.
        if (ev.code === 4008) {
          const why = ev.reason || 'too many open pages for this account; this one was closed';
          setStatus('off', `Live updates stopped: ${why}. Reload the page to see changes.`);
          return;
        }
        setStatus('reconnecting');
        if (this.handlers.lost) this.handlers.lost(this.everOpen);
        this.retry();
      };
    }

    retry() {
      const delay = this.backoff * (0.5 + Math.random());
      this.backoff = Math.min(this.backoff * 2, 30000);
      setTimeout(() => this.connect(), delay);
    }

    dispatch(m) {
      if (m.type === 'submission') {
        if (m.version <= (this.versions.get(m.id) || 0)) return;
        this.versions.set(m.id, m.version);
        if (m.version > this.since) this.since = m.version;
        if (this.handlers.submission) this.handlers.submission(m);
      } else if (m.type === 'system') {
        if (this.handlers.system) this.handlers.system(m);
      } else if (m.type === 'error') {
        console.warn(`live updates: ${m.topic || ''} ${m.error}`);
      }
    }
  }

  const STATUS_TEXT = {
    live: 'Live: this page updates by itself.',
    reconnecting: 'Reconnecting… changes will appear when the connection is back.',
  };

  function setStatus(state, text) {
    const el = document.getElementById('live-status');
    if (!el) return;
    el.dataset.state = state;
    el.textContent = text || STATUS_TEXT[state] || el.textContent;
  }

  // ---------------------------------------------------------------- helpers

  function duration(s) {
    const t = Math.max(0, Math.round(s));
    if (t < 60) return `${t} s`;
    if (t < 3600) return `${Math.floor(t / 60)} min ${t % 60} s`;
    return `${Math.floor(t / 3600)} h ${Math.floor((t % 3600) / 60)} min`;
  }

  // The same states as dash_chip() in server/dash.c.
  function chip(s) {
    const p = s.phase;
    const st = s.status;
    const prog = s.stt_progress || 0;
    if (!p) return { state: 'none', group: 'none', text: 'Not submitted' };
    if (p === 'prep') {
      if (st === 'retry') return { state: 'retry', group: 'queued', text: 'Preparing the sound will be tried again' };
      return { state: 'uploaded', group: 'queued', text: 'Uploaded' };
    }
    if (p === 'stt') {
      if (st === 'retry') return { state: 'retry', group: 'queued', text: 'Transcription will be tried again' };
      if (st === 'processing' && prog > 0) {
        return { state: 'transcribing', group: 'transcribing', text: `Transcribing ${Math.floor(prog * 100)}%` };
      }
      if (st === 'processing' || s.batch_id != null) return { state: 'queued', group: 'queued', text: 'Queued for transcription' };
      return { state: 'uploaded', group: 'queued', text: 'Uploaded' };
    }
    if (p === 'llm') {
      if (st === 'retry') return { state: 'retry', group: 'evaluating', text: 'Evaluation will be tried again' };
      if (st === 'processing') {
        return { state: 'evaluating', group: 'evaluating', text: s.running_on ? `Evaluating on ${s.running_on}` : 'Evaluating' };
      }
      return { state: 'waiting', group: 'evaluating', text: 'Waiting for evaluation' };
    }
    if (p === 'completed') {
      return { state: 'done', group: 'done', text: s.overall != null ? `Done · ${Number(s.overall).toFixed(1)}` : 'Done' };
    }
    // queue_cancel() writes "cancelled by NAME" (QUEUE_CANCELLED_PREFIX).
    const cancelled = typeof s.error === 'string' && s.error.startsWith('cancelled by ');
    return { state: 'failed', group: 'failed', text: cancelled ? 'Cancelled' : 'Failed' };
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text != null) e.textContent = text;
    return e;
  }

  function csrfToken() {
    const m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : '';
  }

  // Runs fn at most once per ms, at the end of a burst.
  function debounce(fn, ms) {
    let timer = null;
    return () => {
      if (timer) return;
      timer = setTimeout(() => { timer = null; fn(); }, ms);
    };
  }

  // Fetches this page again and swaps the named parts in place.
  async function refreshParts(url, selectors) {
    try {
      const res = await fetch(url, { headers: { Accept: 'text/html' }, credentials: 'same-origin' });
      if (!res.ok) return false;
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      for (const sel of selectors) {
        const now = document.querySelector(sel);
        const next = doc.querySelector(sel);
        if (now && next) now.replaceWith(document.importNode(next, true));
      }
      if (typeof localTimes === 'function') localTimes(); // app.js
      startClocks();
      return true;
    } catch (e) {
      return false;
    }
  }

  // "for 1 min 20 s" keeps counting between events.
  function startClocks() {
    const t0 = Date.now();
    for (const e of document.querySelectorAll('.phase-for[data-phase-s]')) {
      e.dataset.base = e.dataset.phaseS;
      e.dataset.t0 = String(t0);
    }
  }

  function tickClocks() {
    for (const e of document.querySelectorAll('.phase-for[data-t0]')) {
      const s = Number(e.dataset.base) + (Date.now() - Number(e.dataset.t0)) / 1000;
      e.textContent = duration(s);
    }
  }

  return { LiveSocket, setStatus, duration, chip, el, csrfToken, debounce, refreshParts, startClocks, tickClocks };
})();

// ------------------------------------------------------------ course page

function setupCourse() {
  const root = document.getElementById('course-live');
  if (!root || !window.IntroEvalLive) return;
  const course = root.dataset.course;
  const assignment = root.dataset.assignment && root.dataset.assignment !== '0' ? root.dataset.assignment : '';
  const aq = assignment ? `?assignment=${assignment}` : '';
  const table = document.getElementById('progress');
  const versions = new Map();
  for (const tr of table.querySelectorAll('tbody tr[data-id]')) {
    if (tr.dataset.id) versions.set(Number(tr.dataset.id), Number(tr.dataset.version || 0));
  }

  const filters = () => ({
    section: document.getElementById('f-section')?.value || '',
    group: document.getElementById('f-status')?.value || '',
  });

  function applyFilters() {
    const f = filters();
    for (const tr of table.querySelectorAll('tbody tr')) {
      tr.hidden = (f.section && tr.dataset.section !== f.section) || (f.group && tr.dataset.group !== f.group);
    }
  }

  // The same definitions as count_view() in server/web/dash.c: not
  // submitted, in progress and failed by each student's newest upload;
  // done = the students the results table shows a score for. The
  // pipeline box's count is the in-progress tile's.
  function counts() {
    const n = { none: 0, working: 0, failed: 0, done: 0 };
    const rows = table.querySelectorAll('tbody tr');
    for (const tr of rows) {
      const g = tr.dataset.group;
      if (g === 'none' || g === 'failed') n[g]++;
      else if (g !== 'done') n.working++;
    }
    for (const tr of document.querySelectorAll('#results-table tbody tr')) {
      if (!Number.isNaN(parseFloat(tr.cells[2]?.textContent))) n.done++;
    }
    document.getElementById('n-students').textContent = rows.length;
    for (const k of Object.keys(n)) document.getElementById(`n-${k}`).textContent = n[k];
    const etaCount = document.getElementById('eta-count');
    if (etaCount && n.working > 0) etaCount.textContent = n.working;
    else if (n.working === 0) document.getElementById('eta').textContent = 'Nothing of this course is in progress.';
  }

  // Cancelling takes two steps, as in the server's page: a summary that
  // reveals the confirming form (it works without this script too).
  function cancelConfirm(id, name) {
    const d = Live.el('details', { class: 'confirm' });
    const sum = Live.el('summary', { class: 'button secondary danger', 'aria-label': `Cancel ${name}'s upload…` });
    sum.append(Live.el('span', { class: 'when-closed' }, 'Cancel…'), Live.el('span', { class: 'when-open' }, "Don't cancel"));
    const box = Live.el('div', { class: 'confirm-box' });
    const f = actionForm(id, 'cancel', 'Cancel', name);
    f.append(Live.el('input', { type: 'hidden', name: 'confirm', value: '1' }));
    const b = f.querySelector('button');
    b.textContent = 'Yes, cancel it';
    b.removeAttribute('aria-label');
    box.append(Live.el('p', {}, `Stop processing ${name}'s upload? It will not be scored.`), f);
    d.append(sum, box);
    return d;
  }

  function actionForm(id, action, label, name, extra) {
    const f = Live.el('form', { method: 'post', action: `/submissions/${id}/action` });
    f.append(Live.el('input', { type: 'hidden', name: 'csrf', value: Live.csrfToken() }));
    f.append(Live.el('input', { type: 'hidden', name: 'action', value: action }));
    if (extra != null) f.append(Live.el('input', { type: 'hidden', name: 'priority', value: String(extra) }));
    const b = Live.el('button', {
      type: 'submit', class: `secondary${action === 'cancel' ? ' danger' : ''}`,
      'data-action': action, 'aria-label': `${label} ${name}'s upload`,
    }, action === 'priority' ? 'Raise priority' : label);
    f.append(b);
    return f;
  }

  // Shows the event in its student's row; true when it is a new upload
  // for the row (which then, being the latest, is the one that counts).
  function updateRow(s) {
    // The page shows one assignment; others' uploads are not its rows.
    if (assignment && Number(s.assignment_id) !== Number(assignment)) return false;
    const tr = table.querySelector(`tbody tr[data-student="${Number(s.student_id)}"]`);
    if (!tr) return false;
    if (tr.dataset.id && Number(tr.dataset.id) > s.id) return false; // an older upload
    const fresh = tr.dataset.id !== String(s.id);
    const c = Live.chip(s);
    const name = tr.dataset.name;
    tr.dataset.id = s.id;
    tr.dataset.version = s.version;
    tr.dataset.group = c.group;
    tr.dataset.priority = s.priority;
    const cell = tr.querySelector('.status-cell');
    const chipEl = Live.el('span', { class: `chip state-${c.state}`, 'data-state': c.state }, c.text);
    cell.replaceChildren(chipEl);
    if (c.state === 'transcribing') {
      const pct = Math.floor((s.stt_progress || 0) * 100);
      cell.append(' ', Live.el('progress', { class: 'mini', max: '100', value: String(pct), 'aria-label': 'Transcription progress' }, `${pct}%`));
    }
    if (s.error) cell.append(Live.el('small', { class: 'reason' }, s.error));
    const sub = tr.querySelector('.sub-cell');
    sub.replaceChildren(Live.el('a', { href: `/submissions/${s.id}` }, `#${s.id}`));
    if (s.late) sub.append(' ', Live.el('span', { class: 'chip chip-late' }, 'late'));
    const acts = tr.querySelector('.row-actions');
    acts.replaceChildren();
    if (c.state === 'failed' || c.state === 'retry') acts.append(actionForm(s.id, 'retry', 'Retry', name));
    if (!['none', 'done', 'failed'].includes(c.group)) {
      acts.append(actionForm(s.id, 'priority', 'Raise the priority of', name, (s.priority || 0) + 10));
      acts.append(cancelConfirm(s.id, name));
    }
    tr.classList.remove('changed');
    void tr.offsetWidth; // restart the highlight
    tr.classList.add('changed');
    return fresh;
  }

  function updateNodes(m) {
    const box = document.getElementById('nodes');
    box.replaceChildren();
    const labels = {
      stt: 'Transcribing (STT phase)', llm: 'Evaluating (LLM phase)',
      switching: 'Switching to transcription', idle: 'Idle', concurrent: 'Transcribing and evaluating',
    };
    if (!m.nodes.length) box.append(Live.el('p', { class: 'hint' }, 'No processing node has reported yet.'));
    for (const n of m.nodes) {
      const d = Live.el('div', { class: `node${n.updated_s > 120 ? ' stale' : ''}`, 'data-node': n.node });
      const p = Live.el('p');
      p.append(Live.el('strong', {}, n.node), ': ',
        Live.el('span', { class: `phase phase-${n.phase}` }, labels[n.phase] || n.phase), ' for ',
        Live.el('span', { class: 'phase-for', 'data-phase-s': String(n.phase_s) }, Live.duration(n.phase_s)));
      d.append(p);
      if (n.batch_size > 0) {
        const b = Live.el('p', { class: 'batch' });
        b.append(Live.el('span', {}, `Batch #${n.batch_id}: ${n.batch_done} of ${n.batch_size} transcribed`),
          Live.el('progress', { max: String(n.batch_size), value: String(n.batch_done), 'aria-label': `Batch ${n.batch_id} progress` }));
        d.append(b);
      }
      box.append(d);
    }
    if (m.queue) {
      document.getElementById('lab-stt').textContent = m.queue.stt;
      document.getElementById('lab-llm').textContent = m.queue.llm;
    }
    Live.startClocks();
  }

  const refreshEta = Live.debounce(async () => {
    try {
      const res = await fetch(`/api/v1/courses/${course}/progress${aq}`, { headers: { Accept: 'application/json' } });
      if (!res.ok) return;
      const p = await res.json();
      const eta = document.getElementById('eta');
      if (!p.eta) return;
      if (!p.eta.has_unfinished) {
        eta.textContent = 'Nothing of this course is in progress.';
      } else if (p.eta.blocked) {
        eta.replaceChildren('In progress: ', Live.el('strong', { id: 'eta-count' }, String(p.eta.unfinished)),
          ` of this course's students; some wait for ${p.eta.waiting_for}, ` +
          'which cannot be reached right now, so no finish time can be given.');
      } else {
        const at = new Date(p.eta.eta_at);
        eta.replaceChildren('In progress: ', Live.el('strong', { id: 'eta-count' }, String(p.eta.unfinished)),
          " of this course's students; all expected done in about ",
          Live.el('strong', { id: 'eta-text' }, p.eta.eta_text),
          ` (by ${at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}).`);
      }
    } catch (e) { /* the next event tries again */ }
  }, 3000);

  const refreshResults = Live.debounce(async () => {
    await Live.refreshParts(`/courses/${course}${aq}`, ['#results-table tbody']);
    sortResults();
    counts();
  }, 1500);

  // Results: sortable headings (buttons, so the keyboard reaches them).
  let sortCol = -1;
  let sortDir = 'ascending';
  function sortResults() {
    const t = document.getElementById('results-table');
    if (!t || sortCol < 0) return;
    const kind = t.tHead.rows[0].cells[sortCol].dataset.sort;
    const body = t.tBodies[0];
    const key = (tr) => {
      const text = tr.cells[sortCol].textContent.trim();
      if (kind !== 'num') return text.toLowerCase();
      const v = parseFloat(text);
      return Number.isNaN(v) ? -Infinity : v;
    };
    const rows = [...body.rows].sort((a, b) => {
      const x = key(a);
      const y = key(b);
      const c = x < y ? -1 : x > y ? 1 : 0;
      return sortDir === 'ascending' ? c : -c;
    });
    body.append(...rows);
  }
  const ths = document.querySelectorAll('#results-table thead th[data-sort]');
  ths.forEach((th, i) => {
    const b = Live.el('button', { type: 'button' }, th.textContent.trim());
    th.replaceChildren(b);
    th.setAttribute('aria-sort', 'none');
    b.addEventListener('click', () => {
      sortDir = sortCol === i && sortDir === 'ascending' ? 'descending' : 'ascending';
      sortCol = i;
      ths.forEach((h) => h.setAttribute('aria-sort', 'none'));
      th.setAttribute('aria-sort', sortDir);
      sortResults();
    });
  });

  // Filters apply at once; the address keeps them for a reload.
  for (const id of ['f-section', 'f-status']) {
    document.getElementById(id)?.addEventListener('change', () => {
      applyFilters();
      const f = filters();
      const q = new URLSearchParams();
      if (assignment) q.set('assignment', assignment);
      if (f.section) q.set('section', f.section);
      if (f.group) q.set('status', f.group);
      // The course's own address: after a form post the page may be at
      // /courses/ID/members, which answers POST only.
      history.replaceState(null, '', `/courses/${course}${q.toString() ? `?${q}` : ''}`);
    });
  }

  // Actions go through the JSON API; the row changes when the event comes.
  const msg = document.getElementById('action-message');
  table.addEventListener('submit', async (ev) => {
    const form = ev.target;
    const action = form.querySelector('input[name=action]')?.value;
    const id = Number((form.getAttribute('action') || '').split('/')[2]);
    if (!action || !id) return;
    ev.preventDefault();
    const prio = form.querySelector('input[name=priority]');
    try {
      const res = await fetch(`/api/v1/submissions/${id}/${action}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': Live.csrfToken(), Accept: 'application/json' },
        body: prio ? JSON.stringify({ priority: Number(prio.value) }) : '{}',
      });
      const body = await res.json().catch(() => ({}));
      msg.textContent = res.ok ? `#${id}: ${action === 'priority' ? 'priority raised' : action === 'cancel' ? 'cancelled' : 'queued again'}.`
        : ((body.error && body.error.message) || `The server answered ${res.status}.`);
      const open = form.closest('details[open]');
      if (open) open.open = false;
    } catch (e) {
      msg.textContent = 'The server did not answer; try again.';
    }
  });

  new Live.LiveSocket([`course:${course}`, 'system'], {
    submission: (s) => {
      const fresh = updateRow(s);
      applyFilters();
      counts();
      refreshEta();
      // Which upload counts changes with a new one and with a
      // cancellation (the one before counts again), and its score with
      // completion.
      if (fresh || s.phase === 'completed' || s.phase === 'failed') refreshResults();
    },
    system: (m) => { updateNodes(m); refreshEta(); },
  }, Number(root.dataset.version || 0), versions);
  Live.startClocks();
  setInterval(Live.tickClocks, 1000);
}

// ------------------------------------------------------------ submission page

function setupSubmission() {
  const card = document.getElementById('submission');
  if (!card || !window.IntroEvalLive) return;
  const id = card.dataset.id;
  let shown = `${card.dataset.phase}/${card.dataset.status}`;
  let review = Number(card.dataset.review || 0);
  let polling = null;

  // Everything but the recording is replaced, so playback goes on while
  // the status, the scores, the transcript or the comments change.
  const refresh = Live.debounce(async () => {
    // A cancel confirmation being read stays open through a refresh.
    const confirming = document.getElementById('cancel-confirm')?.open;
    if (await Live.refreshParts(location.pathname, ['#submission', '#results', '#markers'])) {
      const open = document.getElementById('cancel-confirm');
      if (open && confirming) open.open = true;
      const c = document.getElementById('submission');
      if (c) {
        shown = `${c.dataset.phase}/${c.dataset.status}`;
        review = Number(c.dataset.review || 0);
      }
      document.dispatchEvent(new CustomEvent('introeval:refreshed'));
    }
  }, 300);

  function onEvent(s) {
    const c = document.getElementById('submission');
    // A teacher's adjustment, comment or a reply bumps review_seq.
    if (`${s.phase}/${s.status}` !== shown || Number(s.review_seq || 0) > review) {
      refresh();
      return;
    }
    // Same step: transcription progress is shown in place.
    const status = c && c.querySelector('#status');
    if (status && s.phase === 'stt' && s.status === 'processing' && s.stt_progress > 0) {
      status.textContent = `Transcribing ${Math.floor(s.stt_progress * 100)}%`;
    }
  }

  // Without a socket for 15 s, fall back to asking now and then.
  function startPolling() {
    if (polling) return;
    polling = setInterval(async () => {
      try {
        const res = await fetch(`/api/v1/submissions/${id}`, { headers: { Accept: 'application/json' } });
        if (res.ok) onEvent(await res.json());
      } catch (e) { /* still away */ }
    }, 4000);
  }

  let lostSince = null;
  new Live.LiveSocket([`submission:${id}`], {
    submission: onEvent,
    open: () => {
      lostSince = null;
      if (polling) { clearInterval(polling); polling = null; }
    },
    lost: () => {
      lostSince = lostSince || Date.now();
      if (Date.now() - lostSince > 15000) startPolling();
      else setTimeout(() => { if (lostSince && Date.now() - lostSince >= 15000) startPolling(); }, 15500);
    },
  }, 0);
  // The estimate depends on everyone ahead in the queue: refresh it.
  setInterval(() => {
    const c = document.getElementById('submission');
    if (c && c.dataset.finished !== '1' && document.visibilityState === 'visible') refresh();
  }, 20000);
}

// ------------------------------------------------------------ health page

function setupHealth() {
  const root = document.getElementById('health-live');
  if (!root || !window.IntroEvalLive) return;
  const parts = ['#health-summary', '#nodes-card', '#backends-card', '#timeline-card', '#charts', '#queue-card'];
  const refresh = Live.debounce(() => Live.refreshParts(location.pathname, parts), 5000);
  new Live.LiveSocket(['system'], { system: refresh }, 0);
  setInterval(() => { if (document.visibilityState === 'visible') refresh(); }, 30000);
  Live.startClocks();
  setInterval(Live.tickClocks, 1000);
}

document.addEventListener('DOMContentLoaded', () => {
  setupCourse();
  setupSubmission();
  setupHealth();
});

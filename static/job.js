// IntroEval job page: keeps a job's progress current over the WebSocket
// hub (/ws). It subscribes to job:ID (the job's own progress, announced
// whenever an item finishes) and course:ID (its submissions' changes on
// the way), and on either reads the job again from /api/v1/jobs/ID. The
// page is complete without this script.
'use strict';

(() => {
  const root = document.getElementById('job');
  if (!root || !('WebSocket' in window)) return;
  const id = root.dataset.job;
  const course = root.dataset.course;
  const status = document.getElementById('live-status');
  let timer = null;
  let backoff = 1000;

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function text(elId, v) {
    const el = document.getElementById(elId);
    if (el) el.textContent = String(v);
  }

  function render(job) {
    root.dataset.state = job.state;
    const chip = document.getElementById('job-state');
    chip.textContent = job.state;
    chip.className = 'chip job-' + job.state;
    for (const k of ['matched', 'queued', 'done', 'failed', 'skipped', 'cancelled']) {
      text('job-' + k, job[k]);
    }
    if (job.state !== 'running') {
      const form = document.getElementById('job-cancel-form');
      if (form) form.remove();
    }
    for (const item of job.items || []) {
      const row = document.querySelector(`#job-items tr[data-submission="${item.submission_id}"]`);
      if (!row) continue;
      const st = row.querySelector('[data-field="status"]');
      st.textContent = item.status;
      st.className = 'chip chip-' + item.status;
      const it = row.querySelector('[data-field="item"]');
      it.textContent = item.state + (item.detail ? ' ' : '');
      if (item.detail) {
        const small = document.createElement('small');
        small.className = 'hint';
        small.textContent = item.detail;
        it.appendChild(small);
      }
    }
  }

  function refresh() {
    if (timer) return;
    timer = setTimeout(async () => {
      timer = null;
      try {
        const r = await fetch(`/api/v1/jobs/${id}`, { credentials: 'same-origin' });
        if (r.ok) render(await r.json());
      } catch (e) { /* the next event tries again */ }
    }, 200);
  }

  function connect() {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    ws.onopen = () => {
      backoff = 1000;
      setStatus('live', 'Live: this page updates by itself.');
      ws.send(JSON.stringify({ type: 'subscribe', topic: `job:${id}` }));
      if (course) ws.send(JSON.stringify({ type: 'subscribe', topic: `course:${course}` }));
      refresh();
    };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === 'subscribed' || m.type === 'pong') return;
      if (m.type === 'error') return;
      refresh();
    };
    ws.onclose = (ev) => {
      if (ev.code === 4001) {
        setStatus('off', 'Your session ended: sign in again to see changes.');
        return;
      }
      setStatus('reconnecting', 'Reconnecting…');
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }
  connect();
})();

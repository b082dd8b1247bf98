// IntroEval pages: live status on the result page and local times. Pages
// work without this script for reading; the upload page's own script is
// upload.js.
'use strict';

function csrfToken() {
  const m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.content : '';
}

function setupLiveStatus() {
  const card = document.getElementById('submission');
  if (!card || card.dataset.finished === '1') return;
  if (window.IntroEvalLive) return; // live.js follows it over a WebSocket
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
  setupLiveStatus();
});

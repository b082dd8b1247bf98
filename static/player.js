// player.js: the result page's transcript in step with the recording.
//
// The server writes every word as <span class="w" data-s data-e> (and a
// long pause as <span class="pause" data-s>), so without this script the
// transcript reads as text. This script makes each word a control that
// seeks the player (#player) to the word's start, highlights the word
// being spoken, moves between words with the arrow keys (one tab stop for
// the whole transcript: a roving tabindex), and makes evidence links
// (.evidence-link, data-s/data-e) play their quote. An address ending in
// #t=SECONDS starts there. Handlers are delegated from document, since
// live updates replace the transcript (live.js, 'introeval:refreshed').
'use strict';

(function () {
  const player = () => document.getElementById('player');
  const words = () => Array.from(document.querySelectorAll('#transcript .w'));
  let starts = [];     // the words' start times, in order
  let current = -1;    // index of the highlighted word
  let stopAt = null;   // an evidence quote plays to its end

  // Words become buttons with one tab stop between them.
  function upgrade() {
    const ws = words();
    starts = ws.map((w) => Number(w.dataset.s));
    ws.forEach((w, i) => {
      w.setAttribute('role', 'button');
      w.tabIndex = i === Math.max(current, 0) ? 0 : -1;
    });
    current = -1;
    highlight();
  }

  function seek(t, end) {
    const p = player();
    if (!p || !Number.isFinite(t)) return;
    p.currentTime = Math.max(0, t);
    stopAt = Number.isFinite(end) ? end + 0.25 : null;
    const playing = p.play();
    if (playing && playing.catch) playing.catch(() => { /* autoplay refused: the seek stands */ });
  }

  // The index of the word being spoken at time t, or -1 before the first.
  function wordAt(t) {
    let lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= t + 0.01) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  }

  function highlight() {
    const p = player();
    if (!p) return;
    if (stopAt !== null && p.currentTime >= stopAt) { p.pause(); stopAt = null; }
    const ws = words();
    const i = wordAt(p.currentTime);
    if (i === current || ws.length === 0) return;
    if (current >= 0 && ws[current]) {
      ws[current].classList.remove('current');
      ws[current].removeAttribute('aria-current');
    }
    current = i;
    if (i < 0) return;
    const w = ws[i];
    w.classList.add('current');
    w.setAttribute('aria-current', 'true');
    // Keep the word in view inside the transcript's own scroll box only.
    const box = document.getElementById('transcript');
    if (box && box.scrollHeight > box.clientHeight && !box.contains(document.activeElement)) {
      const top = w.offsetTop - box.offsetTop;
      if (top < box.scrollTop || top > box.scrollTop + box.clientHeight - w.offsetHeight) {
        box.scrollTop = top - box.clientHeight / 3;
      }
    }
  }

  // While playing, follow the voice closely (timeupdate fires ~4 times a second).
  function follow() {
    const p = player();
    highlight();
    if (p && !p.paused && !p.ended) requestAnimationFrame(follow);
  }

  function focusWord(ws, i) {
    if (i < 0 || i >= ws.length) return;
    ws.forEach((w) => { w.tabIndex = -1; });
    ws[i].tabIndex = 0;
    ws[i].focus();
  }

  document.addEventListener('click', (e) => {
    const target = e.target.closest('#transcript .w, #transcript .pause, .evidence-link, .seek');
    if (!target) return;
    e.preventDefault();
    seek(Number(target.dataset.s), target.classList.contains('evidence-link') ? Number(target.dataset.e) : NaN);
    if (target.classList.contains('w')) focusWord(words(), words().indexOf(target));
  });

  document.addEventListener('keydown', (e) => {
    const w = e.target.closest && e.target.closest('#transcript .w');
    if (!w) return;
    const ws = words();
    const i = ws.indexOf(w);
    let next = null;
    switch (e.key) {
      case 'ArrowRight': case 'ArrowDown': next = i + 1; break;
      case 'ArrowLeft': case 'ArrowUp': next = i - 1; break;
      case 'Home': next = 0; break;
      case 'End': next = ws.length - 1; break;
      case 'Enter': case ' ':
        e.preventDefault();
        seek(Number(w.dataset.s), NaN);
        return;
      default: return;
    }
    e.preventDefault();
    focusWord(ws, Math.max(0, Math.min(ws.length - 1, next)));
  });

  function setup() {
    const p = player();
    if (!p) return;
    upgrade();
    p.addEventListener('timeupdate', highlight);
    p.addEventListener('seeked', highlight);
    p.addEventListener('play', () => requestAnimationFrame(follow));
    const m = /^#t=(\d+(?:\.\d+)?)$/.exec(location.hash);
    if (m) {
      const go = () => { p.currentTime = Number(m[1]); };
      if (p.readyState >= 1) go(); else p.addEventListener('loadedmetadata', go, { once: true });
    }
  }

  document.addEventListener('introeval:refreshed', upgrade);
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setup);
  else setup();
})();

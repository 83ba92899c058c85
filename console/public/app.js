// The Pi console: chat (streamed, with tool cards, charts and maps), memory and admin views over
// the public HTTP API. No framework and no build step; Chart.js, d3-geo, d3-array and
// topojson-client are vendored from npm (see /console/vendor/LICENSES.txt).

const TOKEN_KEY = 'pi.token';
const PAGE_SIZE = 30;
const DRAFT_KEY = 'pi.draft';
const PALETTE = ['#1f5fbf', '#d9730d', '#2e8b57', '#b8336a', '#6a4c93', '#0f8b8d', '#8d6e00', '#c0392b'];

const state = {
  token: localStorage.getItem(TOKEN_KEY),
  me: null,
  personas: null, // catalogue, for naming shared blocks
  places: new Map(), // place id -> {lat, lon, name}, from any tool output seen this session
  busy: false,
};

// ---------- small helpers ----------

/** Creates an element: h('div', {class: 'x', onclick: f}, 'text', child). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style') Object.assign(el.style, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) if (child) el.append(child);
  return el;
}

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const fmtInt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const pct = (share) => `${fmt.format(share * 100)} %`;

function when(ts) {
  const d = new Date(ts);
  const today = new Date();
  return d.toDateString() === today.toDateString()
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

function pretty(json) {
  try {
    return JSON.stringify(typeof json === 'string' ? JSON.parse(json) : json, null, 2);
  } catch {
    return String(json);
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// ---------- the API ----------

class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.detail || `The server answered ${status}.`);
    this.status = status;
    this.code = body?.code || 'error';
    this.errors = body?.errors || [];
    /** Seconds the server asked to wait (`Retry-After`), if it did. */
    this.retryAfter = retryAfter;
  }
}

/** Whether a send that failed this way may be retried at once with its Idempotency-Key. */
const retryable = (err) => err.status === 0 || err.status === 409 || err.code === 'storage_unavailable';

async function api(path, { method = 'GET', body, accept = 'application/json' } = {}) {
  const headers = { Accept: accept };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { detail: 'The server cannot be reached. Check your connection and try again.', code: 'offline' });
  }
  if (res.status === 401 && state.token) {
    signOut('Your session has ended. Please sign in again.');
    throw new ApiError(401, await res.json().catch(() => null));
  }
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  if (res.status === 204) return null;
  return accept === 'application/json' ? res.json() : res.text();
}

/** Explains an ApiError in one line, naming the fields of a 422. */
function explain(err) {
  const fields = (err.errors || []).map((e) => `${e.field}: ${e.message}`).join('; ');
  return fields && !err.message.includes(fields) ? `${err.message} (${fields})` : err.message;
}

/** Reads a server-sent event stream from a POST, calling onEvent(name, data) per event. */
async function stream(path, body, onEvent, key) {
  let res;
  try {
    const headers = { Accept: 'text/event-stream', 'Content-Type': 'application/json', Authorization: `Bearer ${state.token}` };
    if (key) headers['Idempotency-Key'] = key;
    res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { detail: 'The server cannot be reached. Check your connection and try again.', code: 'offline' });
  }
  if (res.status === 401) signOut('Your session has ended. Please sign in again.');
  if (!res.ok) {
    const wait = Number.parseInt(res.headers.get('Retry-After') ?? '', 10);
    throw new ApiError(res.status, await res.json().catch(() => null), Number.isFinite(wait) ? wait : undefined);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let finished = false;
  try {
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch {
        break; // the connection broke: reported below
      }
      if (chunk.done) break;
      buffer += chunk.value;
      let end;
      while ((end = /\r\n\r\n|\n\n|\r\r/.exec(buffer))) {
        const frame = buffer.slice(0, end.index);
        buffer = buffer.slice(end.index + end[0].length);
        let event = 'message';
        const data = [];
        for (const line of frame.split(/\r\n|\r|\n/)) {
          if (line.startsWith(':')) continue; // keep-alive comment
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        const payload = data.length ? parseJson(data.join('\n')) : null;
        if (payload === null) continue;
        // The stored reply is the answer: a connection lost after it lost nothing.
        if (event === 'done' || event === 'error' || event === 'assistant_message') finished = true;
        onEvent(event, payload);
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  if (!finished) {
    throw new ApiError(0, { detail: 'The connection closed before the answer finished. Your message was saved; reload the conversation to see whether the reply arrived.', code: 'stream_closed' });
  }
}

// ---------- session ----------

function setToken(token) {
  state.token = token;
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

function signOut(message) {
  setToken(null);
  state.me = null;
  state.personas = null;
  state.places.clear();
  chat = null;
  renderChrome();
  renderAuth(message);
}

async function refreshMe() {
  state.me = await api('/auth/me');
  renderChrome();
  return state.me;
}

function renderChrome() {
  const signedIn = Boolean(state.me);
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('signout').hidden = !signedIn;
  document.getElementById('who').textContent = signedIn ? `${state.me.display_name} · ${state.me.email}` : '';
  for (const adminOnly of ['admin', 'data']) {
    document.querySelector(`#nav [data-view="${adminOnly}"]`).hidden = !(signedIn && state.me.is_admin);
  }
  const view = currentRoute().view;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.view === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function mount(...children) {
  const main = document.getElementById('main');
  main.replaceChildren(...children);
  return main;
}

// ---------- sign in / sign up ----------

function renderAuth(message) {
  let mode = 'signin';
  const error = h('p', { class: 'error', role: 'alert', hidden: !message }, message || '');
  const nameRow = h('div', { hidden: true },
    h('label', { for: 'auth-name' }, 'Display name'),
    h('input', { id: 'auth-name', name: 'display_name', autocomplete: 'name', maxlength: 255 }));
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const toggle = h('button', { type: 'button', class: 'link', onclick: () => switchMode() }, 'Create an account');
  const title = h('h1', {}, 'Sign in to Pi');
  const form = h('form', { class: 'card', novalidate: true, onsubmit: (e) => { e.preventDefault(); send(); } },
    title,
    h('p', { class: 'muted' }, 'Your foot-traffic analyst that remembers how you work.'),
    nameRow,
    h('label', { for: 'auth-email' }, 'Email'),
    h('input', { id: 'auth-email', name: 'email', type: 'email', autocomplete: 'email', required: true }),
    h('label', { for: 'auth-password' }, 'Password'),
    h('input', { id: 'auth-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, minlength: 8 }),
    error,
    h('div', { class: 'row' }, submit, h('span', { class: 'spacer' }), toggle));

  function switchMode() {
    mode = mode === 'signin' ? 'signup' : 'signin';
    const up = mode === 'signup';
    nameRow.hidden = !up;
    title.textContent = up ? 'Create your Pi account' : 'Sign in to Pi';
    submit.textContent = up ? 'Sign up' : 'Sign in';
    toggle.textContent = up ? 'I have an account' : 'Create an account';
    form.querySelector('#auth-password').autocomplete = up ? 'new-password' : 'current-password';
    error.hidden = true;
    (up ? form.querySelector('#auth-name') : form.querySelector('#auth-email')).focus();
  }

  async function send() {
    const data = Object.fromEntries(new FormData(form));
    const body = { email: data.email, password: data.password };
    if (mode === 'signup') body.display_name = data.display_name;
    submit.disabled = true;
    try {
      const res = await api(mode === 'signup' ? '/auth/signup' : '/auth/login', { method: 'POST', body });
      setToken(res.access_token);
      state.me = res.user;
      renderChrome();
      if (location.hash.startsWith('#/')) route();
      else location.hash = '#/chat'; // routes on hashchange
    } catch (err) {
      error.textContent = explain(err);
      error.hidden = false;
      const bad = err.errors?.[0]?.field;
      if (bad) form.querySelector(`[name="${CSS.escape(bad)}"]`)?.focus();
    } finally {
      submit.disabled = false;
    }
  }

  mount(h('div', { class: 'auth' }, form));
  form.querySelector('#auth-email').focus();
}

// ---------- routing ----------

function currentRoute() {
  const [, view = 'chat', id] = location.hash.split('/');
  return { view: ['chat', 'memory', 'admin', 'data'].includes(view) ? view : 'chat', id };
}

async function route() {
  if (!state.token) return renderAuth();
  if (!state.me) {
    try {
      await refreshMe();
    } catch (err) {
      if (err.status !== 401) mount(h('p', { class: 'error pad', role: 'alert' }, explain(err)));
      return;
    }
  }
  renderChrome();
  const { view, id } = currentRoute();
  if (view === 'memory') return renderMemory();
  if (view === 'admin' && state.me.is_admin) return renderAdmin();
  if (view === 'data' && state.me.is_admin) return renderData();
  return renderChat(id);
}

// ---------- chat ----------

let chat = null; // the mounted chat view

function renderChat(conversationId) {
  if (!chat) {
    chat = new ChatView();
  } else if (document.getElementById('main').contains(chat.root) && chat.current === (conversationId || null)) {
    return;
  }
  if (!document.getElementById('main').contains(chat.root)) mount(chat.root);
  chat.loadList();
  chat.open(conversationId);
}

class ChatView {
  constructor() {
    this.current = null;
    this.cursor = null;
    this.list = h('ul', { 'aria-label': 'Conversations' });
    this.more = h('button', { type: 'button', class: 'ghost', hidden: true, onclick: () => this.loadList(true) }, 'Load more');
    this.log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages' });
    this.input = h('textarea', {
      id: 'composer', rows: 1, maxlength: 16000, placeholder: 'Ask about foot traffic, trade areas, competitors…',
      'aria-label': 'Message',
      onkeydown: (e) => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          this.send();
        }
      },
      oninput: () => this.autosize(),
    });
    this.sendButton = h('button', { type: 'submit' }, 'Send');
    this.input.value = sessionStorage.getItem(DRAFT_KEY) || '';
    this.root = h('div', { class: 'chat' },
      h('aside', { class: 'sidebar', 'aria-label': 'Conversation list' },
        h('div', { class: 'head' },
          h('strong', {}, 'Conversations'), h('span', { class: 'spacer' }),
          h('button', { type: 'button', 'aria-label': 'New conversation', title: 'New conversation', onclick: () => { location.hash = '#/chat'; } }, 'New')),
        this.list,
        h('div', { class: 'pad small' }, this.more)),
      h('section', { class: 'pane', 'aria-label': 'Conversation' },
        this.log,
        h('form', { class: 'composer', onsubmit: (e) => { e.preventDefault(); this.send(); } },
          this.input, this.sendButton)));
  }

  autosize() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
  }

  async loadList(append = false) {
    // A rename in progress keeps the list as it is; it reloads when the rename ends.
    if (this.list.querySelector('form')) return;
    const ticket = (this.listTicket = (this.listTicket || 0) + 1);
    this.more.disabled = true;
    try {
      const query = new URLSearchParams({ limit: PAGE_SIZE });
      if (append && this.cursor) query.set('before', this.cursor);
      const page = await api(`/chat/conversations?${query}`);
      if (ticket !== this.listTicket || this.list.querySelector('form')) return;
      if (!append) this.list.replaceChildren();
      for (const c of page.conversations) this.list.append(this.item(c));
      this.cursor = page.next_cursor;
      this.more.hidden = !this.cursor;
      this.markCurrent();
    } catch (err) {
      if (ticket === this.listTicket) this.list.append(h('li', { class: 'error', role: 'alert' }, explain(err)));
    } finally {
      this.more.disabled = false;
    }
  }

  item(c) {
    const title = c.title || 'New conversation';
    const li = h('li', { class: 'conv', dataset: { id: c.id } });
    const link = h('a', { href: `#/chat/${c.id}`, title }, title, h('span', { class: 'time' }, when(c.updated_at)));
    const rename = h('button', { type: 'button', class: 'link', 'aria-label': `Rename ${title}`, title: 'Rename', onclick: () => this.rename(li, c) }, '✎');
    const remove = h('button', { type: 'button', class: 'link', 'aria-label': `Delete ${title}`, title: 'Delete', onclick: () => this.remove(c) }, '×');
    li.append(link, rename, remove);
    return li;
  }

  rename(li, c) {
    const input = h('input', { value: c.title || '', 'aria-label': 'New title', maxlength: 255, required: true });
    const error = h('span', { class: 'error small', role: 'alert', hidden: true });
    const put = (conversation) => {
      const fresh = this.item(conversation);
      (this.list.querySelector(`[data-id="${c.id}"]`) || li).replaceWith(fresh);
      this.markCurrent();
      fresh.querySelector('a').focus();
    };
    const restore = () => put(c);
    const form = h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          put(await api(`/chat/conversations/${c.id}`, { method: 'PATCH', body: { title: input.value } }));
          this.loadList();
        } catch (err) {
          error.textContent = explain(err);
          error.hidden = false;
        }
      },
    }, input, error);
    input.addEventListener('keydown', (e) => { if (e.key === 'Escape') restore(); });
    li.replaceChildren(form);
    input.focus();
    input.select();
  }

  async remove(c) {
    if (!confirm(`Delete “${c.title || 'New conversation'}” and all its messages?`)) return;
    try {
      await api(`/chat/conversations/${c.id}`, { method: 'DELETE' });
      this.list.querySelector(`[data-id="${c.id}"]`)?.remove();
      if (this.current === c.id) location.hash = '#/chat';
      else (this.list.querySelector('.conv a') || this.input).focus();
    } catch (err) {
      alert(explain(err));
    }
  }

  markCurrent() {
    for (const li of this.list.children) li.classList.toggle('current', li.dataset.id === this.current);
  }

  async open(id) {
    this.current = id || null;
    this.markCurrent();
    if (!id) {
      this.log.replaceChildren(this.welcome());
      this.input.focus();
      return;
    }
    this.log.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    try {
      const { messages } = await api(`/chat/conversations/${id}/messages`);
      if (this.current !== id) return;
      this.log.replaceChildren();
      for (const m of messages) {
        if (m.role === 'user') this.log.append(h('div', { class: 'msg user', 'data-id': m.id }, m.content));
        else this.log.append(h('div', { class: 'msg agent' }, h('div', { class: 'text' }, m.content)));
      }
      if (!messages.length) this.log.append(this.welcome());
      this.log.scrollTop = this.log.scrollHeight;
      this.input.focus();
    } catch (err) {
      if (this.current === id) this.log.replaceChildren(h('p', { class: 'error', role: 'alert' }, explain(err)));
    }
  }

  welcome() {
    const ask = (q) => h('button', { type: 'button', onclick: () => { this.input.value = q; this.send(); } }, q);
    return h('div', { class: 'empty' },
      h('h2', {}, 'What would you like to know?'),
      h('p', {}, 'Pi answers with foot-traffic analytics and draws what it finds.'),
      h('div', { class: 'suggest' },
        ask('How did the busiest Costco in Dallas do month by month in 2024?'),
        ask('Show the trade area of the busiest Starbucks in Austin'),
        ask('Compare Starbucks and Dunkin in New York in 2025')));
  }

  /**
   * Sends the composer's text (or `retry.content` again) and streams the answer. Each message
   * has its own Idempotency-Key, kept by every retry of it: the server then never stores it
   * twice, and completes or replays the first attempt's turn. A send refused before it started
   * (offline, storage briefly unavailable, the first attempt still running) is retried by
   * itself up to three times, waiting what the server asks.
   */
  async send(retry) {
    const content = retry?.content ?? this.input.value;
    const key = retry?.key ?? crypto.randomUUID();
    if (!content.trim() || state.busy) return;
    state.busy = true;
    this.sendButton.disabled = true;
    let conversationId = retry?.conversationId ?? this.current;
    const turn = { stored: false };
    try {
      if (!conversationId) {
        const created = await api('/chat/conversations', { method: 'POST' });
        conversationId = created.id;
        // Still on the new-conversation screen: this is now that conversation.
        if (!this.current) {
          this.current = created.id;
          history.replaceState(null, '', `#/chat/${created.id}`);
        }
      }
      if (!retry) {
        sessionStorage.setItem(DRAFT_KEY, content);
        this.input.value = '';
        this.autosize();
      }
      if (this.current === conversationId) this.log.querySelector('.empty')?.remove();
      for (let attempt = 1; ; attempt++) {
        try {
          await this.turn(conversationId, content, turn, key);
          break;
        } catch (err) {
          if (!(err instanceof ApiError) || !retryable(err) || attempt >= 3) throw err;
          await new Promise((r) => setTimeout(r, Math.min(err.retryAfter ?? 1, 5) * 1000));
        }
      }
      if (!state.me?.agent_id) refreshMe().catch(() => {});
    } catch (err) {
      if (!retry && !turn.stored && !this.input.value) {
        this.input.value = content; // nothing was stored: the text is still the user's to send
        sessionStorage.removeItem(DRAFT_KEY);
      }
      if (this.current === conversationId && state.token) this.log.append(this.failure(err, { content, conversationId, key }, turn.stored));
    } finally {
      state.busy = false;
      this.sendButton.disabled = false;
      this.loadList();
      if (state.token) this.input.focus();
    }
  }

  /** The server's message and what can be done: ask again, or reload when the turn may have finished. */
  failure(err, retry, stored) {
    const box = h('div', { class: 'msg error', role: 'alert' }, explain(err), ' ');
    if (err.code === 'stream_closed') {
      box.append(h('button', { type: 'button', class: 'ghost', onclick: () => this.open(retry.conversationId) }, 'Reload conversation'));
    } else {
      const label = stored ? 'Ask again' : 'Retry';
      box.append(h('button', { type: 'button', class: 'ghost', onclick: () => { if (state.busy) return; box.remove(); this.send(retry); } }, label));
    }
    return box;
  }

  async turn(conversationId, content, turn, key) {
    const agent = h('div', { class: 'msg agent' });
    const steps = h('div', { class: 'steps' });
    const text = h('div', { class: 'text' });
    agent.append(steps, text);
    const cards = new Map();
    const seen = new Map(); // this turn's places, for maps of later tools
    const here = () => this.current === conversationId;
    const follow = () => { if (here()) this.log.scrollTop = this.log.scrollHeight; };
    let failed = null;
    this.log.setAttribute('aria-busy', 'true');
    agent.setAttribute('aria-busy', 'true');
    try {
      await stream(`/chat/conversations/${conversationId}/messages/stream`, { content }, (event, data) => {
        if (event === 'user_message') {
          turn.stored = true;
          sessionStorage.removeItem(DRAFT_KEY);
          if (here()) {
            // A retry of a stored message (same key) streams that message again: shown once.
            const shown = [...this.log.querySelectorAll('.msg.user')].find((el) => el.dataset.id === data.id);
            if (shown) shown.after(agent);
            else this.log.append(h('div', { class: 'msg user', 'data-id': data.id }, data.content), agent);
          }
        } else if (event === 'reasoning') {
          steps.append(h('p', { class: 'reasoning' }, data.text));
        } else if (event === 'tool_call') {
          const card = toolCard(data);
          cards.set(data.call_id, card);
          steps.append(card.root);
        } else if (event === 'tool_return') {
          const card = cards.get(data.call_id);
          card?.done(data);
          if (!data.is_error) {
            const output = parseJson(data.output);
            const args = parseJson(card?.arguments) || {};
            if (output) {
              rememberPlaces(output, seen);
              for (const viz of visualise(data.name, output, args, seen)) steps.append(viz);
            }
          }
        } else if (event === 'assistant_delta') {
          text.textContent += data.text;
        } else if (event === 'assistant_message') {
          text.textContent = data.content;
        } else if (event === 'error') {
          failed = new ApiError(data.status, data);
        }
        follow();
      }, key);
    } finally {
      agent.removeAttribute('aria-busy');
      this.log.removeAttribute('aria-busy');
    }
    if (failed) throw failed;
  }
}

function toolCard(call) {
  const started = performance.now();
  const status = h('span', { class: 'badge grey' }, 'running…');
  const body = h('div', { class: 'body' },
    h('strong', { class: 'small' }, 'Arguments'), h('pre', { class: 'args' }, pretty(call.arguments)));
  const root = h('details', { class: 'tool', dataset: { tool: call.name } },
    h('summary', {}, 'Tool ', h('code', {}, call.name), ' ', status), body);
  return {
    root,
    arguments: call.arguments,
    done(result) {
      const ms = Math.round(performance.now() - started);
      status.textContent = result.is_error ? `failed · ${ms} ms` : `${ms} ms`;
      status.className = result.is_error ? 'badge' : 'badge green';
      root.dataset.ms = ms;
      body.append(h('strong', { class: 'small' }, result.is_error ? 'Error' : 'Result'), h('pre', { class: 'result' }, pretty(result.output)));
    },
  };
}

// ---------- pictures from tool outputs ----------

/** Remembers every place's coordinates found in a tool output, so a later map can mark it. */
function rememberPlaces(value, seen) {
  if (Array.isArray(value)) {
    for (const v of value) rememberPlaces(v, seen);
  } else if (value && typeof value === 'object') {
    if (typeof value.id === 'string' && value.id.startsWith('place:') && Number.isFinite(value.lat) && Number.isFinite(value.lon)) {
      const place = { id: value.id, lat: value.lat, lon: value.lon, name: value.name, city: value.city };
      seen.set(value.id, place);
      state.places.set(value.id, place);
    }
    for (const v of Object.values(value)) if (v && typeof v === 'object') rememberPlaces(v, seen);
  }
}

function visualise(tool, output, args, seen) {
  try {
    switch (tool) {
      case 'get_place_summary': return placeSummary(output);
      case 'compare_performance': return comparison(output);
      case 'get_trade_area_profile': return tradeAreas(output);
      case 'nearby_competitors': return competitors(output);
      case 'search_places': return placesMap(output);
      case 'get_audience_profile': return audience(output);
      default: return [];
    }
  } catch (err) {
    console.warn(`cannot draw ${tool}:`, err);
    return [];
  }
}

const placeLabel = (p) => [p.name, p.city].filter(Boolean).join(', ');

function placeSummary(out) {
  const figures = [];
  const places = out.places || [];
  const withSeries = places.filter((p) => (p.visits?.by_period || []).length > 1);
  if (withSeries.length) {
    const labels = withSeries[0].visits.by_period.map((b) => b.period);
    const yoy = places.length === 1 && places[0].trend?.yoy_change_pct != null
      ? ` · ${places[0].trend.yoy_change_pct >= 0 ? '+' : ''}${fmt.format(places[0].trend.yoy_change_pct)} % year over year` : '';
    figures.push(chartFigure(`Visits by ${out.granularity || 'period'}, ${out.start_date} to ${out.end_date}${yoy}`, {
      type: 'line',
      labels,
      datasets: withSeries.map((p) => ({
        label: placeLabel(p.place),
        data: labels.map((l) => p.visits.by_period.find((b) => b.period === l)?.visits ?? null),
      })),
      kind: 'visits',
    }));
  }
  const hourly = places.filter((p) => (p.hourly_distribution || []).length === 24);
  if (hourly.length) {
    const labels = Array.from({ length: 24 }, (_, i) => `${String(i).padStart(2, '0')}:00`);
    figures.push(chartFigure('Share of visits by hour of day', {
      type: 'bar',
      labels,
      datasets: hourly.map((p) => ({ label: placeLabel(p.place), data: p.hourly_distribution.map((v) => +(v * 100).toFixed(2)) })),
      kind: 'hourly',
      unit: '%',
    }));
  }
  return figures;
}

function comparison(out) {
  const figures = [];
  const series = (out.series || []).filter((s) => (s.points || []).length > 1);
  if (series.length) {
    const labels = series[0].points.map((p) => p.period);
    figures.push(chartFigure(`${out.metric} by month, ${out.start_date} to ${out.end_date}`, {
      type: 'line',
      labels,
      datasets: series.map((s) => ({ label: s.name, data: labels.map((l) => s.points.find((p) => p.period === l)?.value ?? null) })),
      kind: 'series',
    }));
  }
  const names = new Map((out.series || []).map((s) => [s.entity, s.name]));
  const first = (out.rankings || [])[0];
  if (first?.ranked?.length) {
    figures.push(chartFigure(`Ranking by ${first.metric}`, {
      type: 'bar',
      labels: first.ranked.map((r) => names.get(r.entity) || r.entity),
      datasets: [{ label: first.metric, data: first.ranked.map((r) => r.value) }],
      kind: 'ranking',
      horizontal: true,
    }));
    const rows = (out.series || []).map((s) => {
      const row = { Name: s.name, Entity: s.entity, Places: s.place_count };
      for (const r of out.rankings) {
        const hit = r.ranked.find((x) => x.entity === s.entity);
        row[r.metric] = hit ? hit.value : null;
      }
      return row;
    });
    figures.push(h('div', { class: 'viz', dataset: { kind: 'ranking-table' } }, h('h3', {}, 'Comparison'), sortableTable(rows, first.metric)));
  }
  return figures;
}

function tradeAreas(out) {
  const figures = [];
  for (const profile of out.profiles || []) {
    const place = state.places.get(profile.place_id);
    const bands = profile.output_geography === 'distance_band';
    const rings = bands && place
      ? profile.geo_units.filter((u) => u.distance_km).map((u) => ({ lon: place.lon, lat: place.lat, km: u.distance_km, label: `${u.distance_km} km` }))
      : [];
    const census = { block_group: 'block group', tract: 'tract', county: 'county' }[profile.output_geography];
    const trip = profile.median_distance_km == null ? '' : `, median trip ${fmt.format(profile.median_distance_km)} km`;
    const caption = `Trade area of ${profile.place_name}: ${fmt.format(profile.traffic_volume_pct)} % of visits${trip}, ${fmtInt.format(profile.home_zip_count)} ${census ? 'census areas' : 'home ZIPs'}`;
    // Census areas come without centroids: no map, only the table.
    if (profile.polygon) {
      figures.push(mapFigure(caption, {
        polygon: profile.polygon,
        points: place ? [{ ...place, kind: 'origin' }] : [],
        rings,
        kind: 'trade-area',
      }));
    }
    const units = profile.geo_units || [];
    if (bands) {
      figures.push(chartFigure('Share of visitors by distance from home', {
        type: 'bar', labels: units.map((u) => u.id), datasets: [{ label: profile.place_name, data: units.map((u) => +(u.share * 100).toFixed(2)) }], kind: 'bands', unit: '%',
      }));
    } else if (units.length) {
      const unit = census ? census[0].toUpperCase() + census.slice(1) : profile.output_geography === 'zip' ? 'ZIP' : 'City';
      const rows = units.slice(0, 15).map((u) => ({
        [unit]: u.id,
        ...(u.name ? { Name: u.name } : {}),
        Visits: u.visits,
        'Share %': +(u.share * 100).toFixed(1),
        'Distance km': u.distance_km ?? null,
      }));
      figures.push(h('div', { class: 'viz', dataset: { kind: 'geo-units' } },
        h('h3', {}, `Top ${rows.length} of ${units.length} home ${census ? `${census}s` : profile.output_geography === 'zip' ? 'ZIPs' : 'cities'}`), sortableTable(rows, 'Visits')));
    }
  }
  return figures;
}

function competitors(out) {
  const origin = out.origin;
  if (!origin) return [];
  const rows = (out.competitors || []).map((c) => ({ Name: c.name, Address: c.address, 'Distance km': c.distance_km, 'Visits index': c.visits_index_vs_origin }));
  return [
    mapFigure(`${out.total} competitors within ${fmt.format(out.radius_km)} km of ${placeLabel(origin)}`, {
      points: [{ ...origin, kind: 'origin' }, ...(out.competitors || []).map((c) => ({ ...c, kind: 'competitor' }))],
      rings: [{ lon: origin.lon, lat: origin.lat, km: out.radius_km, label: `${out.radius_km} km` }],
      kind: 'competitors',
    }),
    h('div', { class: 'viz', dataset: { kind: 'competitor-table' } }, h('h3', {}, 'Nearest competitors'), sortableTable(rows, 'Distance km', true)),
  ];
}

function placesMap(out) {
  const places = (out.places || []).filter((p) => Number.isFinite(p.lat));
  if (!places.length) return [];
  return [mapFigure(`${places.length} of ${out.total} places`, { points: places.map((p) => ({ ...p, kind: 'place' })), kind: 'places' })];
}

function audience(out) {
  return (out.profiles || []).slice(0, 1).flatMap((p) =>
    Object.entries(p.dimensions || {}).slice(0, 2).map(([dim, segments]) => chartFigure(`${p.name}: ${dim.replaceAll('_', ' ')} (share of visitors)`, {
      type: 'bar', labels: segments.map((x) => x.segment), datasets: [{ label: p.name, data: segments.map((x) => +(x.share * 100).toFixed(1)) }], kind: 'audience', unit: '%',
    })));
}

/** A Chart.js chart with its numbers also in a table (for screen readers and copying). */
function chartFigure(title, spec) {
  const canvas = h('canvas', { role: 'img', 'aria-label': title });
  const fig = h('figure', { class: 'viz', dataset: { kind: spec.kind } },
    h('h3', {}, title), h('div', { class: 'canvas' }, canvas),
    h('details', {}, h('summary', { class: 'small' }, 'Data'), dataTable(spec)));
  requestAnimationFrame(() => {
    if (!window.Chart) return;
    new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map((d, i) => ({
          ...d,
          borderColor: PALETTE[i % PALETTE.length],
          backgroundColor: spec.type === 'bar' ? `${PALETTE[i % PALETTE.length]}cc` : PALETTE[i % PALETTE.length],
          pointRadius: spec.labels.length > 60 ? 0 : 2,
          spanGaps: false,
          tension: 0.2,
        })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? 'y' : 'x',
        interaction: { mode: 'index', intersect: false },
        plugins: { legend: { display: spec.datasets.length > 1 } },
        scales: {
          [spec.horizontal ? 'x' : 'y']: { beginAtZero: spec.type === 'bar', ticks: { callback: (v) => `${fmt.format(v)}${spec.unit ? ` ${spec.unit}` : ''}` } },
        },
      },
    });
  });
  return fig;
}

function dataTable(spec) {
  return h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, ''), spec.datasets.map((d) => h('th', { class: 'num' }, d.label)))),
    h('tbody', {}, spec.labels.map((label, i) => h('tr', {}, h('th', {}, label),
      spec.datasets.map((d) => h('td', { class: 'num' }, d.data[i] == null ? '–' : fmt.format(d.data[i])))))));
}

/** A table whose column headers sort it (numbers numerically; again to reverse). */
function sortableTable(rows, sortBy, ascending = false) {
  const columns = rows.length ? Object.keys(rows[0]) : [];
  let key = columns.includes(sortBy) ? sortBy : columns[0];
  let asc = ascending;
  const tbody = h('tbody');
  const heads = columns.map((c) => {
    const th = h('th', { scope: 'col', class: typeof rows[0][c] === 'number' ? 'num' : '' },
      h('button', { type: 'button', onclick: () => { asc = key === c ? !asc : typeof rows[0][c] !== 'number'; key = c; draw(); } }, c));
    return th;
  });
  function draw() {
    const sorted = [...rows].sort((a, b) => {
      const x = a[key];
      const y = b[key];
      if (x == null) return 1;
      if (y == null) return -1;
      const order = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
      return asc ? order : -order;
    });
    heads.forEach((th, i) => th.setAttribute('aria-sort', columns[i] === key ? (asc ? 'ascending' : 'descending') : 'none'));
    tbody.replaceChildren(...sorted.map((r) => h('tr', {}, columns.map((c) =>
      h('td', { class: typeof r[c] === 'number' ? 'num' : '' }, r[c] == null ? '–' : typeof r[c] === 'number' ? fmt.format(r[c]) : r[c])))));
  }
  draw();
  return h('table', { class: 'sortable' }, h('thead', {}, h('tr', {}, heads)), tbody);
}

let statesPromise = null;
function usStates() {
  statesPromise ??= fetch('/console/vendor/states-10m.json').then((r) => r.json())
    .then((topo) => window.topojson.feature(topo, topo.objects.states));
  return statesPromise;
}

/** d3-geo wants exterior rings clockwise; GeoJSON (RFC 7946) writes them counter-clockwise. */
function clockwise(polygon) {
  const feature = { type: 'Feature', geometry: polygon, properties: {} };
  if (window.d3.geoArea(feature) <= 2 * Math.PI) return feature;
  return { ...feature, geometry: { ...polygon, coordinates: polygon.coordinates.map((ring) => [...ring].reverse()) } };
}

/** A map of U.S. state outlines (us-atlas) projected with d3-geo around what it shows. */
function mapFigure(title, spec) {
  const W = 640;
  const H = 400;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'map' });
  const legend = h('div', { class: 'legend' });
  const fig = h('figure', { class: 'viz', dataset: { kind: spec.kind } }, h('h3', {}, title), svg, legend);
  usStates().then((states) => {
    const d3 = window.d3;
    const km = (k) => k / 111.32;
    const focus = [];
    const area = spec.polygon ? clockwise(spec.polygon) : null;
    if (area) focus.push(area);
    const circles = (spec.rings || []).map((r) => ({ ...r, shape: d3.geoCircle().center([r.lon, r.lat]).radius(km(r.km))() }));
    focus.push(...circles.map((c) => c.shape));
    for (const p of spec.points || []) focus.push(d3.geoCircle().center([p.lon, p.lat]).radius(km(1))());
    const projection = d3.geoMercator().fitExtent([[24, 24], [W - 24, H - 24]], { type: 'FeatureCollection', features: focus.map((g) => (g.type === 'Feature' ? g : { type: 'Feature', geometry: g, properties: {} })) });
    projection.clipExtent([[0, 0], [W, H]]);
    const path = d3.geoPath(projection);
    svg.append(s('rect', { x: 0, y: 0, width: W, height: H, fill: '#eef3f8' }));
    svg.append(s('path', { class: 'states', d: path(states), fill: '#fbfbf8', stroke: '#9aa7b4', 'stroke-width': 0.8 }));
    for (const c of [...circles].reverse()) {
      svg.append(s('path', { class: 'ring', d: path(c.shape), fill: 'none', stroke: '#6a4c93', 'stroke-dasharray': '4 3', 'stroke-width': 1 }, s('title', {}, document.createTextNode(c.label))));
      const [x, y] = projection([c.lon, c.lat + km(c.km)]);
      if (Number.isFinite(x)) svg.append(s('text', { x, y: y - 3, 'text-anchor': 'middle', 'font-size': 11, fill: '#6a4c93' }, document.createTextNode(c.label)));
    }
    if (area) {
      svg.append(s('path', { class: 'trade-area', d: path(area), fill: '#1f5fbf33', stroke: '#1f5fbf', 'stroke-width': 2 }, s('title', {}, document.createTextNode('Trade area'))));
    }
    const colours = { origin: '#1f5fbf', competitor: '#d9730d', place: '#2e8b57' };
    for (const p of [...(spec.points || [])].reverse()) {
      const [x, y] = projection([p.lon, p.lat]);
      if (!Number.isFinite(x)) continue;
      svg.append(s('circle', { class: `point ${p.kind}`, cx: x, cy: y, r: p.kind === 'origin' ? 7 : 5, fill: colours[p.kind], stroke: '#fff', 'stroke-width': 1.5 },
        s('title', {}, document.createTextNode(`${placeLabel(p)}${p.distance_km != null ? ` · ${fmt.format(p.distance_km)} km` : ''}`))));
    }
    if ((spec.points || []).length <= 12) {
      for (const p of spec.points || []) {
        const [x, y] = projection([p.lon, p.lat]);
        if (!Number.isFinite(x)) continue;
        const label = p.name.length > 26 ? `${p.name.slice(0, 25)}…` : p.name;
        const right = x < W - 150;
        svg.append(s('text', { class: 'label', x: right ? x + 9 : x - 9, y: y + 4, 'text-anchor': right ? 'start' : 'end', 'font-size': 11, fill: '#1b2430' }, document.createTextNode(label)));
      }
    }
    scaleBar(svg, projection, W, H);
    inset(svg, states, projection.invert([W / 2, H / 2]), H);
    const items = [];
    if (area) items.push(['#1f5fbf55', 'Trade area']);
    if (spec.points?.some((p) => p.kind === 'origin')) items.push([colours.origin, 'Place']);
    if (spec.points?.some((p) => p.kind === 'competitor')) items.push([colours.competitor, 'Competitor']);
    if (spec.points?.some((p) => p.kind === 'place')) items.push([colours.place, 'Place']);
    if (circles.length) items.push(['#6a4c93', 'Distance']);
    legend.replaceChildren(...items.map(([c, label]) => h('span', {}, h('span', { class: 'swatch', dataset: { c } }), label)));
    for (const sw of legend.querySelectorAll('.swatch')) sw.style.background = sw.dataset.c;
    fig.dataset.ready = 'true';
  }).catch((err) => {
    fig.append(h('p', { class: 'error small' }, `The map cannot be drawn: ${err.message}`));
  });
  return fig;
}

/** A scale bar of a round number of kilometres, about a fifth of the map wide. */
function scaleBar(svg, projection, W, H) {
  const [lon, lat] = projection.invert([W / 2, H / 2]);
  const [x0] = projection([lon, lat]);
  const [x1] = projection([lon + 1 / (111.32 * Math.cos((lat * Math.PI) / 180)), lat]);
  const perKm = Math.abs(x1 - x0);
  if (!Number.isFinite(perKm) || perKm === 0) return;
  const km = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].filter((k) => k * perKm <= W / 5).pop();
  if (!km) return;
  const len = km * perKm;
  const x = W - 16 - len;
  const y = H - 16;
  svg.append(s('path', { class: 'scale', d: `M${x},${y - 5}V${y}H${x + len}V${y - 5}`, fill: 'none', stroke: '#1b2430', 'stroke-width': 1.5 }),
    s('text', { x: x + len / 2, y: y - 8, 'text-anchor': 'middle', 'font-size': 11, fill: '#1b2430' }, document.createTextNode(`${km} km`)));
}

/** A small map of the whole country (Albers USA) marking where the main map is. */
function inset(svg, states, centre, H) {
  const w = 150;
  const h = 92;
  const albers = window.d3.geoAlbersUsa().fitSize([w - 8, h - 8], states);
  const at = albers(centre);
  if (!at) return;
  const g = s('g', { class: 'inset', transform: `translate(10,${H - h - 10})` });
  g.append(s('rect', { width: w, height: h, rx: 4, fill: '#fff', stroke: '#c9d1da' }),
    s('path', { d: window.d3.geoPath(albers)(states), transform: 'translate(4,4)', fill: '#e9edf2', stroke: '#b5c0cc', 'stroke-width': 0.4 }),
    s('circle', { cx: at[0] + 4, cy: at[1] + 4, r: 4, fill: '#c0392b', stroke: '#fff', 'stroke-width': 1.2 }));
  svg.append(g);
}

// ---------- memory ----------

async function personaCatalogue() {
  state.personas ??= api('/personas').then((r) => r.personas).catch(() => []);
  return state.personas;
}

async function renderMemory() {
  const page = h('div', { class: 'page' }, h('h1', {}, 'Memory'), h('p', { class: 'muted' }, 'Loading…'));
  mount(page);
  let me;
  try {
    me = await refreshMe();
  } catch (err) {
    page.replaceChildren(h('p', { class: 'error', role: 'alert' }, explain(err)));
    return;
  }
  const personas = me.personas?.length
    ? h('ul', {}, me.personas.map((p) => h('li', {}, h('strong', {}, p.persona_handle), ` · confidence ${pct(p.confidence_score)} `,
      h('meter', { min: 0, max: 1, value: p.confidence_score, 'aria-label': `Confidence in ${p.persona_handle}` }))))
    : h('p', { class: 'muted' }, 'No persona learned yet: tell Pi what you do (“I pick sites for a burger chain”).');
  page.replaceChildren(h('h1', {}, 'Memory'),
    h('p', { class: 'muted' }, 'What your agent keeps between conversations.'),
    h('h2', {}, 'Personas'), personas);
  if (!me.agent_id) {
    page.append(h('p', { class: 'muted' }, 'Your agent is created with your first message; its memory shows here afterwards.'));
    return;
  }
  const blocksSection = h('section', { 'aria-label': 'Core memory' }, h('h2', {}, 'Core memory'), h('p', { class: 'muted' }, 'Loading…'));
  const archival = archivalSection(me.agent_id);
  page.append(blocksSection, archival);
  try {
    const [memory, catalogue] = await Promise.all([api(`/letta/agents/${encodeURIComponent(me.agent_id)}/memory`), personaCatalogue()]);
    const sharedBy = new Map(catalogue.filter((p) => p.shared_block_id).map((p) => [p.shared_block_id, p.persona_handle]));
    blocksSection.replaceChildren(h('h2', {}, 'Core memory'),
      h('div', { class: 'grid' }, memory.blocks.map((b) => blockCard(b, sharedBy.get(b.id)))));
  } catch (err) {
    blocksSection.append(h('p', { class: 'error', role: 'alert' }, explain(err)));
  }
}

function blockCard(b, persona) {
  return h('article', { class: 'card block', dataset: { label: b.label, id: b.id } },
    h('h3', {}, b.label,
      b.read_only ? h('span', { class: 'badge grey' }, 'read-only') : null,
      persona ? h('span', { class: 'badge green', title: `Shared with every agent serving ${persona}` }, `shared · ${persona}`) : null),
    b.description ? h('p', { class: 'muted small' }, b.description) : null,
    h('pre', {}, b.value || '(empty)'),
    h('div', { class: 'small muted' }, `${fmtInt.format(b.value.length)} / ${fmtInt.format(b.limit)} characters`),
    h('meter', { min: 0, max: b.limit, value: b.value.length, 'aria-label': `${b.label}: ${b.value.length} of ${b.limit} characters used` }));
}

function archivalSection(agentId) {
  const results = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const input = h('input', { id: 'archival-query', type: 'search', name: 'query', maxlength: 1000, placeholder: 'e.g. drive-thru' });
  async function load() {
    const q = new URLSearchParams({ limit: 20 });
    if (input.value.trim()) q.set('query', input.value.trim());
    try {
      const r = await api(`/letta/agents/${encodeURIComponent(agentId)}/archival?${q}`);
      results.replaceChildren(r.entries.length
        ? h('ul', {}, r.entries.map((e) => h('li', {}, e.content, ' ', h('span', { class: 'muted small' }, `${when(e.created_at)}${e.tags.length ? ` · ${e.tags.join(', ')}` : ''}`))))
        : h('p', { class: 'muted' }, input.value.trim() ? 'Nothing matches.' : 'No archival entries yet.'));
    } catch (err) {
      results.replaceChildren(h('p', { class: 'error', role: 'alert' }, explain(err)));
    }
  }
  load();
  return h('section', { 'aria-label': 'Archival memory' }, h('h2', {}, 'Archival memory'),
    h('form', { role: 'search', onsubmit: (e) => { e.preventDefault(); load(); } },
      h('label', { for: 'archival-query' }, 'Search archival memory'),
      h('div', { class: 'searchrow' }, input, h('button', { type: 'submit' }, 'Search'))),
    results);
}

// ---------- admin ----------

async function renderAdmin() {
  const metrics = h('section', { 'aria-label': 'Metrics' }, h('h2', {}, 'At a glance'), h('p', { class: 'muted' }, 'Loading…'));
  const overview = h('section', { 'aria-label': 'Agents overview' }, h('h2', {}, 'Agents'), h('p', { class: 'muted' }, 'Loading…'));
  const tools = h('section', { 'aria-label': 'Tools' }, h('h2', {}, 'Tools'), h('p', { class: 'muted' }, 'Loading…'));
  mount(h('div', { class: 'page' }, h('h1', {}, 'Admin'), metrics, overview, tools));
  await Promise.all([loadMetrics(metrics), loadOverview(overview), loadTools(tools)]);
}

/** Sums a Prometheus sample family, optionally filtered by a label matcher. */
function sample(text, name, filter) {
  let total = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const match = /^([a-z_:]+)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name || (filter && !filter.test(match[2] || ''))) continue;
    total = (total || 0) + Number(match[3]);
  }
  return total;
}

async function loadMetrics(section) {
  try {
    const text = await api('/metrics', { accept: 'text/plain' });
    const turns = sample(text, 'pi_agent_turn_duration_seconds_count');
    const turnSeconds = sample(text, 'pi_agent_turn_duration_seconds_sum');
    const tiles = [
      ['Requests', sample(text, 'pi_http_requests_total'), fmtInt],
      ['Server errors (5xx)', sample(text, 'pi_http_requests_total', /status="5/) ?? 0, fmtInt],
      ['Agent turns', turns, fmtInt],
      ['Mean turn', turns ? (turnSeconds / turns) * 1000 : null, { format: (v) => `${fmtInt.format(v)} ms` }],
      ['Turn failures', sample(text, 'pi_agent_turn_failures_total') ?? 0, fmtInt],
      ['Memory (RSS)', sample(text, 'pi_process_resident_memory_bytes'), { format: (v) => `${fmt.format(v / 1048576)} MiB` }],
      ['Uptime', sample(text, 'pi_uptime_seconds'), { format: (v) => (v > 5400 ? `${fmt.format(v / 3600)} h` : `${fmtInt.format(v / 60)} min`) }],
    ];
    section.replaceChildren(h('h2', {}, 'At a glance'), h('div', { class: 'metrics' }, tiles.map(([label, value, f]) =>
      h('div', { class: 'card metric', dataset: { metric: label } }, h('div', { class: 'muted small' }, label), h('div', { class: 'value' }, value == null ? '–' : f.format(value))))));
  } catch (err) {
    section.replaceChildren(h('h2', {}, 'At a glance'), h('p', { class: 'muted' }, explain(err)));
  }
}

async function loadOverview(section) {
  try {
    const [data, catalogue] = await Promise.all([api('/letta/agents/overview'), personaCatalogue()]);
    const holders = new Map();
    for (const agent of data.agents) {
      for (const b of agent.memory_blocks) {
        if (!holders.has(b.id)) holders.set(b.id, { block: b, agents: [] });
        holders.get(b.id).agents.push(agent);
      }
    }
    const shared = [...holders.values()].filter((x) => x.agents.length > 1);
    const colour = new Map(shared.map((x, i) => [x.block.id, PALETTE[i % PALETTE.length]]));
    const personaOf = new Map(catalogue.filter((p) => p.shared_block_id).map((p) => [p.shared_block_id, p.persona_handle]));
    const sharedBadge = (id) => {
      const badge = h('span', { class: 'badge shared', dataset: { block: id } }, `shared${personaOf.has(id) ? ` · ${personaOf.get(id)}` : ''}`);
      badge.style.background = `${colour.get(id)}22`;
      badge.style.color = colour.get(id);
      return badge;
    };
    section.replaceChildren(
      h('h2', {}, 'Agents'),
      h('p', { class: 'muted' }, `${data.agent_count} agents, ${data.block_count} distinct memory blocks, ${shared.length} shared.`),
      shared.length ? h('div', { class: 'card', dataset: { kind: 'shared-blocks' } }, h('h3', {}, 'Shared blocks'),
        h('ul', {}, shared.map((x) => h('li', {}, h('strong', {}, x.block.label), sharedBadge(x.block.id),
          ` held by ${x.agents.length} agents: ${x.agents.map((a) => a.user?.email || a.name).join(', ')}`)))) : null,
      h('div', { class: 'grid' }, data.agents.map((a) => h('article', { class: 'card agent-card', dataset: { agent: a.id } },
        h('h3', {}, a.user?.display_name || a.name),
        h('div', { class: 'muted small' }, a.user?.email || 'no user', ' · ', a.id),
        h('ul', {}, a.memory_blocks.map((b) => h('li', {}, b.label, colour.has(b.id) ? sharedBadge(b.id) : null,
          h('span', { class: 'muted small' }, ` ${b.value.length}/${b.limit}`))))))));
  } catch (err) {
    section.append(h('p', { class: 'error', role: 'alert' }, explain(err)));
  }
}

async function loadTools(section) {
  try {
    const { tools } = await api('/tools');
    section.replaceChildren(h('h2', {}, 'Tools'), h('p', { class: 'muted' }, `${tools.length} tools; each form is generated from the tool's JSON Schema.`),
      ...tools.map(toolForm));
  } catch (err) {
    section.append(h('p', { class: 'error', role: 'alert' }, explain(err)));
  }
}

function schemaType(schema) {
  const t = schema?.type;
  if (Array.isArray(t)) return t.find((x) => x !== 'null') || 'string';
  if (t) return t;
  if (schema?.enum) return 'string';
  return 'json';
}

function toolForm(tool) {
  const props = tool.parameters?.properties || {};
  const required = new Set(tool.parameters?.required || []);
  const output = h('div');
  const fields = Object.entries(props).map(([name, schema]) => {
    const id = `tool-${tool.name}-${name}`;
    const type = schemaType(schema);
    const values = schema.enum || schema.anyOf?.map((x) => x.const).filter((x) => x !== undefined);
    let input;
    if (values?.length) {
      input = h('select', { id, name }, required.has(name) ? null : h('option', { value: '' }, '(default)'),
        values.map((v) => h('option', { value: v, selected: schema.default === v }, v)));
    } else if (type === 'boolean') {
      input = h('input', { id, name, type: 'checkbox', checked: schema.default === true, dataset: { default: String(schema.default === true) } });
    } else if (type === 'integer' || type === 'number') {
      input = h('input', { id, name, type: 'number', step: type === 'integer' ? 1 : 'any', min: schema.minimum ?? schema.exclusiveMinimum, max: schema.maximum, placeholder: schema.default ?? '' });
    } else if (type === 'string') {
      input = h('input', { id, name, type: schema.format === 'date' ? 'date' : 'text', placeholder: schema.default ?? schema.pattern ?? '' });
    } else {
      const example = type === 'array' ? '[]' : '{}';
      input = h('textarea', { id, name, rows: 2, placeholder: `JSON ${type === 'json' ? 'value' : type}, e.g. ${example}`, dataset: { json: 'true' } });
    }
    input.dataset.type = type;
    if (required.has(name)) input.required = true;
    const help = schema.description ? h('div', { class: 'muted small' }, schema.description) : null;
    return h('div', { class: 'row' }, h('label', { for: id, class: type === 'boolean' ? 'inline' : null }, name, required.has(name) ? ' *' : ''), input, help);
  });
  const form = h('form', {
    class: 'toolform', novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      const args = {};
      for (const input of form.querySelectorAll('[name]')) {
        const { name } = input;
        const type = input.dataset.type;
        if (type === 'boolean') {
          if (input.checked !== (input.dataset.default === 'true')) args[name] = input.checked;
          continue;
        }
        if (input.value === '') continue;
        if (type === 'integer' || type === 'number') args[name] = Number(input.value);
        else if (input.dataset.json) {
          const value = input.value.trim() === 'null' ? null : parseJson(input.value);
          if (value === null && input.value.trim() !== 'null') {
            output.replaceChildren(h('p', { class: 'error', role: 'alert' }, `${name}: not valid JSON`));
            input.focus();
            return;
          }
          args[name] = value;
        } else args[name] = input.value;
      }
      try {
        const result = await api(`/tools/${encodeURIComponent(tool.name)}`, { method: 'POST', body: args });
        output.replaceChildren(h('pre', { class: 'result' }, pretty(result)), ...visualise(tool.name, result, args, new Map()));
      } catch (err) {
        output.replaceChildren(h('p', { class: 'error', role: 'alert' }, explain(err)));
      }
    },
  }, fields, h('div', { class: 'row' }, h('button', { type: 'submit' }, `Run ${tool.name}`)));
  return h('details', { class: 'card tool-admin', dataset: { tool: tool.name } },
    h('summary', {}, h('code', {}, tool.name), ' ', h('span', { class: 'muted small' }, tool.description.split('. ')[0])),
    form, output);
}

// ---------- data sets ----------

const DATASET_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

async function renderData() {
  const sets = h('section', { 'aria-label': 'Data sets' }, h('h2', {}, 'Data sets'), h('p', { class: 'muted' }, 'Loading…'));
  const history = h('section', { 'aria-label': 'Import history' });
  const refresh = (name) => Promise.all([loadDatasets(sets, history), name ? loadHistory(history, name) : null]);
  mount(h('div', { class: 'page' }, h('h1', {}, 'Data'),
    h('p', { class: 'muted' }, 'The data sets Pi\'s tools answer from: the built-in synthetic set, or your own places and visit panels (Overture, Foursquare OS Places, Advan/SafeGraph Patterns; docs/DATA.md). One is active for every replica.'),
    sets, uploadForm(refresh), history));
  await loadDatasets(sets, history);
}

async function loadDatasets(section, history) {
  try {
    const { active, datasets } = await api('/datasets');
    const n = (v) => (v == null ? '–' : fmtInt.format(v));
    const row = (d) => h('tr', { dataset: { dataset: d.name } },
      h('th', { scope: 'row' }, h('code', {}, d.name), d.builtin ? h('span', { class: 'badge grey' }, 'built in') : null),
      h('td', {}, d.active ? h('span', { class: 'badge green' }, 'active')
        : h('button', { type: 'button', class: 'ghost', onclick: async (e) => {
          e.target.disabled = true;
          try {
            await api(`/datasets/${encodeURIComponent(d.name)}/activate`, { method: 'POST' });
            await loadDatasets(section, history);
          } catch (err) {
            section.append(h('p', { class: 'error', role: 'alert' }, explain(err)));
            e.target.disabled = false;
          }
        } }, 'Activate')),
      h('td', {}, n(d.coverage?.places)), h('td', {}, n(d.coverage?.brands)), h('td', {}, n(d.coverage?.categories)),
      h('td', {}, n(d.coverage?.regions)), h('td', {}, n(d.coverage?.visit_rows)),
      h('td', {}, d.coverage ? (d.coverage.first_day ? `${d.coverage.first_day} – ${d.coverage.last_day}` : 'no visits') : 'generated'),
      h('td', {}, d.builtin ? null : h('button', { type: 'button', class: 'ghost', onclick: () => loadHistory(history, d.name) }, 'History')));
    section.replaceChildren(h('h2', {}, 'Data sets'),
      h('p', { class: 'muted' }, `Active: ${active}. A switch reaches every replica within a second.`),
      h('div', { class: 'scroll' }, h('table', { class: 'datasets' },
        h('thead', {}, h('tr', {}, ['Name', 'Active', 'Places', 'Brands', 'Categories', 'Regions', 'Visit periods', 'Days', ''].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, datasets.map(row)))));
  } catch (err) {
    section.replaceChildren(h('h2', {}, 'Data sets'), h('p', { class: 'error', role: 'alert' }, explain(err)));
  }
}

async function loadHistory(section, name) {
  try {
    const { imports } = await api(`/datasets/${encodeURIComponent(name)}/imports`);
    const seconds = (ms) => `${fmt.format(ms / 1000)} s`;
    section.replaceChildren(h('h2', {}, `Import history of ${name}`),
      imports.length ? h('div', { class: 'scroll' }, h('table', { class: 'imports' },
        h('thead', {}, h('tr', {}, ['File', 'Format', 'Status', 'Read', 'Imported', 'Rejected', 'Took', 'Started'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, imports.map((i) => h('tr', { dataset: { import: i.id } },
          h('td', {}, i.file_name, i.rejections.length ? h('details', {}, h('summary', { class: 'small' }, 'rejected rows'),
            h('ul', { class: 'small' }, i.rejections.map((r) => h('li', {}, `line ${r.line}, ${r.field}: ${r.reason}`)))) : null),
          h('td', {}, i.format), h('td', {}, h('span', { class: `badge ${i.status === 'done' ? 'green' : i.status === 'failed' ? '' : 'grey'}` }, i.status),
            i.error ? h('div', { class: 'muted small' }, i.error) : null),
          h('td', {}, fmtInt.format(i.rows_read)), h('td', {}, fmtInt.format(i.rows_imported)), h('td', {}, fmtInt.format(i.rows_rejected)),
          h('td', {}, seconds(i.duration_ms)), h('td', {}, when(i.started_at))))))) : h('p', { class: 'muted' }, 'No imports yet.'));
  } catch (err) {
    section.replaceChildren(h('h2', {}, `Import history of ${name}`), h('p', { class: 'error', role: 'alert' }, explain(err)));
  }
}

/** Sends a file as the raw body with upload progress (fetch cannot report it). */
function sendFile(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('Authorization', `Bearer ${state.token}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded, e.total); };
    xhr.onload = () => {
      const body = parseJson(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) resolve({ status: xhr.status, body, location: xhr.getResponseHeader('Location') });
      else reject(new ApiError(xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError(0, { detail: 'The upload could not reach the server. Check your connection and try again.', code: 'offline' }));
    xhr.send(file);
  });
}

function uploadForm(refresh) {
  const bar = h('progress', { id: 'upload-progress', max: 1, value: 0, hidden: true });
  const status = h('p', { id: 'upload-status', class: 'muted', role: 'status' });
  const row = (id, label, input, help) => h('div', { class: 'row' }, h('label', { for: id }, label), input, help ? h('div', { class: 'muted small' }, help) : null);
  const name = h('input', { id: 'upload-dataset', name: 'dataset', required: true, placeholder: 'e.g. acme', pattern: DATASET_NAME.source });
  const kind = h('select', { id: 'upload-kind', name: 'kind' }, h('option', { value: 'patterns' }, 'Visits: Advan/SafeGraph Patterns (.csv, .csv.gz)'),
    h('option', { value: 'places' }, 'Places: Overture, Foursquare OS Places or CSV'));
  const format = h('select', { id: 'upload-format', name: 'format' }, h('option', { value: '' }, 'told from the file'),
    ['overture', 'foursquare', 'csv'].map((f) => h('option', { value: f }, f)));
  const maxErrors = h('input', { id: 'upload-max-errors', name: 'max_errors', type: 'number', min: 0, step: 1, placeholder: 'no limit' });
  const file = h('input', { id: 'upload-file', name: 'file', type: 'file', required: true, accept: '.csv,.gz,.parquet,.csv.gz' });
  const button = h('button', { type: 'submit' }, 'Upload and import');
  const form = h('form', {
    class: 'card upload', novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      const dataset = name.value.trim();
      if (!DATASET_NAME.test(dataset)) {
        status.replaceChildren(h('span', { class: 'error' }, 'Data set: 1–64 of a–z, 0–9, _ and -, starting with a letter or digit.'));
        name.focus();
        return;
      }
      if (!file.files.length) {
        status.replaceChildren(h('span', { class: 'error' }, 'Choose a file.'));
        file.focus();
        return;
      }
      const chosen = file.files[0];
      const query = new URLSearchParams({ kind: kind.value, file_name: chosen.name });
      if (kind.value === 'places' && format.value) query.set('format', format.value);
      if (maxErrors.value !== '') query.set('max_errors', maxErrors.value);
      button.disabled = true;
      bar.hidden = false;
      bar.max = 1;
      bar.value = 0;
      try {
        const sent = await sendFile(`/datasets/${encodeURIComponent(dataset)}/imports?${query}`, chosen, (loaded, total) => {
          bar.max = total;
          bar.value = loaded;
          status.textContent = `Uploading ${chosen.name}: ${fmt.format((100 * loaded) / total)} %`;
        });
        let record = sent.body;
        if (sent.status === 200) {
          status.textContent = `${chosen.name} is in ${dataset} already (imported ${when(record.started_at)}): nothing to do.`;
        } else {
          bar.removeAttribute('value'); // indeterminate while the server reads the file
          while (record.status === 'running') {
            status.textContent = `Importing ${chosen.name}: ${fmtInt.format(record.rows_read)} rows read, ${fmtInt.format(record.rows_rejected)} rejected…`;
            await new Promise((r) => setTimeout(r, 500));
            record = await api(sent.location);
          }
          bar.max = 1;
          bar.value = 1;
          status.textContent = record.status === 'done'
            ? `Imported ${fmtInt.format(record.rows_imported)} of ${fmtInt.format(record.rows_read)} rows of ${chosen.name} into ${dataset} (${fmtInt.format(record.rows_rejected)} rejected).`
            : `The import of ${chosen.name} failed: ${record.error}. Nothing was imported.`;
        }
        await refresh(dataset);
      } catch (err) {
        status.replaceChildren(h('span', { class: 'error', role: 'alert' }, explain(err)));
      } finally {
        button.disabled = false;
      }
    },
  }, h('h2', {}, 'Import a file'),
  row('upload-dataset', 'Data set', name, 'New or existing; a new one appears when its first import succeeds.'),
  row('upload-kind', 'Holds', kind),
  row('upload-format', 'Places format', format),
  row('upload-max-errors', 'Stop after this many bad rows', maxErrors, 'Nothing is imported when more rows than this are rejected.'),
  row('upload-file', 'File', file),
  h('div', { class: 'row' }, button), bar, status);
  return form;
}

// ---------- start ----------

// The skip link moves focus without touching the route in the URL.
document.querySelector('.skip').addEventListener('click', (e) => {
  e.preventDefault();
  document.getElementById('main').focus();
});
document.getElementById('signout').addEventListener('click', () => {
  signOut();
  history.replaceState(null, '', '#/chat');
});
window.addEventListener('hashchange', () => {
  // In-page anchors (the skip link) are not routes.
  if (location.hash === '' || location.hash.startsWith('#/')) route();
});
route();

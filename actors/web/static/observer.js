// regiment observer: plain JavaScript, no framework, nothing fetched from elsewhere.
//
// Every URL is relative, so the page works wherever the app is mounted. Every piece of text
// that comes from the system (names, roles, reasons, exception messages, message bodies) goes
// into the page through textContent or a text node, never through innerHTML; class names are
// only ever picked from fixed lists.
"use strict";

(function () {
  const STATUSES = ["starting", "idle", "processing", "waiting", "restarting", "failed", "stopped"];
  const FEED_CLASSES = {
    AgentCrashed: "feed-crash",
    AgentRestarted: "feed-restart",
    AgentStarted: "feed-start",
    AgentStopped: "feed-stop",
    Escalated: "feed-escalation",
    SystemFailed: "feed-failure",
  };
  const FLASH_MS = 2000; // how long a crashed agent's node shows the failed colour
  const FEED_MAX = 200; // feed lines kept on the page
  const DETAIL_EVERY_MS = 1000; // how often the selected agent's detail is fetched again

  const state = {
    control: false,
    token: null,
    tree: null,
    agents: [],
    sort: { key: "mailbox_depth", desc: true },
    flashes: new Map(), // agent name -> time (ms) its crash flash ends
    selected: null,
    treeKey: null,
    detailAt: 0,
    stopped: false,
  };

  const $ = (id) => document.getElementById(id);

  // el("span", {className: "x", dataset: {name: n}}, "text", otherNode): text stays text.
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [key, value] of Object.entries(props)) {
        if (value === undefined || value === null) continue;
        if (key === "dataset") Object.assign(node.dataset, value);
        else if (key === "text") node.textContent = String(value);
        else node[key] = value;
      }
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const statusClass = (status) =>
    "status-" + (STATUSES.includes(status) ? status : "starting");

  function time(at) {
    return typeof at === "number" ? new Date(at * 1000).toLocaleTimeString() : "";
  }

  function number(value, digits) {
    if (value === null || value === undefined) return "\u2013";
    return digits === undefined ? String(value) : Number(value).toFixed(digits);
  }

  function seconds(value) {
    if (value === null || value === undefined || value === 0) return "\u2013";
    if (value < 0.001) return (value * 1e6).toFixed(0) + " \u00b5s";
    if (value < 1) return (value * 1e3).toFixed(1) + " ms";
    return value.toFixed(2) + " s";
  }

  function meter(fraction, high) {
    const fill = el("span", { className: "meter-fill" + (high ? " high" : "") });
    fill.style.width = Math.round(Math.max(0, Math.min(1, fraction)) * 100) + "%";
    return el("span", { className: "meter" }, fill);
  }

  function flashing(name) {
    const until = state.flashes.get(name);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    state.flashes.delete(name);
    return false;
  }

  // -- the tree ---------------------------------------------------------------------------------

  function deepest(node) {
    let most = node.kind === "agent" ? node.mailbox : 0;
    for (const child of node.children) most = Math.max(most, deepest(child));
    return most;
  }

  function renderTree() {
    const tree = $("tree");
    if (!state.tree) return;
    // Redraw only when something shown changed: a redraw under the pointer can swallow a click.
    const flashes = [...state.flashes.keys()].filter(flashing);
    const key = JSON.stringify([state.tree, flashes, state.selected, controlling()]);
    if (key === state.treeKey) return;
    state.treeKey = key;
    const scale = Math.max(10, deepest(state.tree));
    tree.replaceChildren(renderItem(state.tree, scale, true));
  }

  function renderItem(node, scale, isRoot) {
    const item = el("li", null, renderNode(node, scale, isRoot));
    if (node.children.length) {
      item.append(el("ul", null, ...node.children.map((child) => renderItem(child, scale, false))));
    }
    return item;
  }

  function renderNode(node, scale, isRoot) {
    const isAgent = node.kind === "agent";
    const flash = isAgent && flashing(node.name);
    let classes = "node " + (isAgent ? "kind-agent" : "kind-supervisor") + " " + statusClass(node.status);
    if (flash) classes += " flash-failed";
    if (isAgent && node.name === state.selected) classes += " selected";
    const box = el("div", {
      className: classes,
      dataset: { name: node.name, kind: isAgent ? "agent" : "supervisor", status: node.status },
      title: node.state,
    });
    box.append(el("span", { className: "node-name", text: node.name }));
    const kind = node.pool ? "pool of " + node.pool.role : node.kind;
    box.append(el("span", { className: "node-kind", text: kind }));
    if (node.roles.length) box.append(el("span", { className: "roles", text: "roles: " + node.roles.join(", ") }));
    box.append(el("span", { className: "badge " + statusClass(node.status), text: flash ? "crashed" : node.status }));
    box.append(el("span", {
      className: "restarts" + (node.restarts ? " some" : ""),
      text: "restarts " + node.restarts,
    }));
    if (node.budget) {
      const budget = node.budget;
      const used = budget.max_restarts ? budget.used / budget.max_restarts : 1;
      box.append(el("span", { className: "budget", title: "restarts charged in the window" },
        el("span", { className: "budget-text", text: `budget ${budget.used}/${budget.max_restarts} in ${budget.within}s ` }),
        meter(used, used >= 1)));
    }
    if (isAgent) {
      const bound = node.capacity === null ? scale : node.capacity;
      const text = node.capacity === null ? `mailbox ${node.mailbox} ` : `mailbox ${node.mailbox}/${node.capacity} `;
      box.append(el("span", { className: "mailbox" },
        el("span", { className: "mailbox-text", text: text }),
        meter(bound ? node.mailbox / bound : 0, node.capacity !== null && node.mailbox >= node.capacity)));
    }
    if (controlling() && !isRoot) box.append(controls(node));
    return box;
  }

  function controls(node) {
    const group = el("span", { className: "controls" });
    const button = (action, label, extra) =>
      el("button", { type: "button", className: "control", dataset: { action: action, name: node.name, ...extra }, text: label });
    if (node.pool) {
      const size = node.pool.size;
      if (size > 0) group.append(button("resize", "\u2212 member", { size: String(size - 1) }));
      if (node.pool.max_size === null || size < node.pool.max_size) {
        group.append(button("resize", "+ member", { size: String(size + 1) }));
      }
    }
    group.append(button("restart", "restart"), button("stop", "stop"));
    return group;
  }

  // -- the agents table -------------------------------------------------------------------------

  function renderAgents() {
    const { key, desc } = state.sort;
    const rows = [...state.agents].sort((a, b) => {
      const x = a[key] === null || a[key] === undefined ? -Infinity : a[key];
      const y = b[key] === null || b[key] === undefined ? -Infinity : b[key];
      const order = x < y ? -1 : x > y ? 1 : a.name < b.name ? -1 : 1;
      return desc ? -order : order;
    });
    const scale = Math.max(10, ...rows.map((row) => row.mailbox_depth));
    $("agents-body").replaceChildren(...rows.map((row) => {
      const tr = el("tr", { dataset: { name: row.name }, className: row.name === state.selected ? "selected" : "" });
      tr.append(
        el("td", { className: "name", text: row.name }),
        el("td", null, el("span", { className: "badge " + statusClass(row.status), text: row.status })),
        el("td", { className: "num" }, el("span", { text: row.mailbox_depth + " " }), meter(row.mailbox_depth / scale, false)),
        el("td", { className: "num", text: number(row.handled_per_second, 1) }),
        el("td", { className: "num", text: number(row.handled) }),
        el("td", { className: "num failures" + (row.failed ? " some" : ""), text: number(row.failed) }),
        el("td", { className: "num", text: number(row.restarts) }),
        el("td", { className: "num", text: seconds(row.p50) }),
      );
      return tr;
    }));
    for (const button of document.querySelectorAll("#agents th button")) {
      button.classList.toggle("sorted-desc", button.dataset.sort === key && desc);
      button.classList.toggle("sorted-asc", button.dataset.sort === key && !desc);
    }
  }

  // -- dead letters and the feed ----------------------------------------------------------------

  function renderDeadLetters(view) {
    const counts = Object.entries(view.counts).map(([reason, count]) => `${reason}: ${count}`);
    $("dead-counts").textContent = counts.length ? "since start \u2014 " + counts.join(", ") : "none yet";
    $("dead-letters").replaceChildren(...view.letters.map((letter) => el("li", { dataset: { reason: letter.reason } },
      el("span", { className: "time", text: time(letter.at) }),
      el("span", { className: "reason", text: letter.reason }),
      el("strong", { className: "type", text: letter.type }),
      el("span", { className: "route", text: ` ${letter.sender === null ? "(outside)" : letter.sender} \u2192 ${letter.to}` }),
      letter.detail ? el("span", { className: "detail-text", text: " \u2014 " + letter.detail }) : null,
      el("code", { className: "body", text: letter.body }),
    )));
  }

  function addFeed(events, dropped) {
    const feed = $("feed");
    const now = Date.now();
    for (const event of events) {
      if (event.type === "AgentCrashed") state.flashes.set(event.name, now + FLASH_MS);
      feed.prepend(el("li", { className: FEED_CLASSES[event.type] || "", dataset: { type: event.type, name: event.name } },
        el("span", { className: "time", text: time(event.at) }),
        el("span", { className: "who", text: event.name }),
        el("span", { className: "what", text: event.text })));
    }
    if (dropped > 0) {
      feed.prepend(el("li", { className: "feed-dropped", text: `\u2026 ${dropped} more events not shown` }));
    }
    while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
    if (events.some((event) => event.type === "AgentCrashed")) {
      setTimeout(renderTree, FLASH_MS + 50); // the flash ends even if no update comes
    }
  }

  // -- the selected agent -----------------------------------------------------------------------

  function select(name) {
    state.selected = name;
    state.detailAt = 0;
    renderTree();
    renderAgents();
    refreshDetail();
  }

  async function refreshDetail() {
    const name = state.selected;
    if (name === null) return;
    state.detailAt = Date.now();
    $("detail-name").textContent = name;
    let response;
    try {
      response = await fetch("api/agents/" + encodeURIComponent(name), { cache: "no-store" });
    } catch (error) {
      return; // the stream's status says the server is gone
    }
    if (name !== state.selected) return;
    if (response.status === 404) {
      $("detail").replaceChildren(el("p", { className: "hint", text: "No live agent of that name any more." }));
      return;
    }
    if (!response.ok) return;
    renderDetail(await response.json());
  }

  function renderDetail(detail) {
    const info = detail.info;
    const fields = [
      ["status", info.status],
      ["roles", info.roles.join(", ") || "\u2013"],
      ["supervisor", detail.supervisor || "\u2013"],
      ["handling", info.handling || "\u2013"],
      ["since", info.handling_since ? time(info.handling_since) : "\u2013"],
      ["mailbox", info.mailbox_depth],
      ["restarts", info.restarts],
      ["received", info.received],
      ["handled", info.handled],
      ["failed", info.failed],
    ];
    if (detail.metrics) {
      fields.push(["p50 / p95", seconds(detail.metrics.handling.p50) + " / " + seconds(detail.metrics.handling.p95)]);
      fields.push(["high water", detail.metrics.mailbox_high_water]);
    }
    const list = el("dl", { className: "info" });
    for (const [label, value] of fields) list.append(el("dt", { text: label }), el("dd", { text: value }));
    const recent = el("table", { className: "recent" },
      el("thead", null, el("tr", null, ...["time", "type", "sender", "outcome", "took"].map((h) => el("th", { text: h })))),
      el("tbody", null, ...[...detail.recent].reverse().map((entry) => el("tr", null,
        el("td", { className: "time", text: time(entry.at) }),
        el("td", { text: entry.type }),
        el("td", { text: entry.sender === null ? "(outside)" : entry.sender }),
        el("td", { className: entry.outcome === "failed" ? "outcome-failed" : "", text: entry.outcome }),
        el("td", { text: seconds(entry.duration) }),
      ))));
    $("detail").replaceChildren(list, el("h3", { text: `Flight recording (${detail.recent.length}, newest first)` }), recent);
  }

  // -- control ----------------------------------------------------------------------------------

  function controlling() {
    return state.control && state.token !== null;
  }

  function showControl() {
    $("token-form").hidden = !state.control || state.token !== null;
    $("control-on").hidden = !controlling();
  }

  function say(text, isError) {
    const status = $("control-status");
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
    status.hidden = false;
  }

  async function act(button) {
    const { action, name } = button.dataset;
    const path = action === "resize"
      ? "api/pools/" + encodeURIComponent(name) + "/resize"
      : "api/children/" + encodeURIComponent(name) + "/" + action;
    const body = action === "resize" ? JSON.stringify({ size: Number(button.dataset.size) }) : "{}";
    button.disabled = true;
    say(`${action} ${name}\u2026`);
    try {
      const response = await fetch(path, {
        method: "POST",
        headers: { "Authorization": "Bearer " + state.token, "Content-Type": "application/json" },
        body: body,
        cache: "no-store",
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        say(action === "resize" ? `resized ${name} to ${answer.size}` : `${action} ${name}: done`);
      } else {
        say(`${action} ${name} refused (${response.status}): ${answer.error || response.statusText}`, true);
        if (response.status === 403) setToken(null);
      }
    } catch (error) {
      say(`${action} ${name} failed: ${error}`, true);
    } finally {
      button.disabled = false;
    }
  }

  function setToken(token) {
    state.token = token;
    try {
      if (token === null) sessionStorage.removeItem("regiment-token");
      else sessionStorage.setItem("regiment-token", token);
    } catch (error) {
      // storage may be off: the token then lasts as long as the page
    }
    showControl();
    renderTree();
  }

  function tokenFromPage() {
    const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (match) {
      history.replaceState(null, "", location.pathname + location.search); // out of sight
      return decodeURIComponent(match[1]);
    }
    try {
      return sessionStorage.getItem("regiment-token");
    } catch (error) {
      return null;
    }
  }

  // -- the live stream --------------------------------------------------------------------------

  function onUpdate(update) {
    if (update.events.length || update.dropped) addFeed(update.events, update.dropped);
    state.tree = update.tree;
    state.agents = update.agents;
    renderTree();
    renderAgents();
    if (update.dead_letters) renderDeadLetters(update.dead_letters);
    const agents = update.agents.length;
    const handled = update.agents.reduce((sum, row) => sum + (row.handled_per_second || 0), 0);
    $("totals").textContent = `${agents} agents \u00b7 ${handled.toFixed(1)} handled/s`;
    if (state.selected !== null && Date.now() - state.detailAt >= DETAIL_EVERY_MS) refreshDetail();
  }

  function connect() {
    const connection = $("connection");
    const source = new EventSource("api/events");
    source.addEventListener("open", () => {
      connection.textContent = "live";
      connection.className = "connection live";
    });
    source.addEventListener("update", (message) => onUpdate(JSON.parse(message.data)));
    source.addEventListener("stopped", () => {
      state.stopped = true;
      source.close();
      connection.textContent = "system stopped";
      connection.className = "connection stopped";
    });
    source.addEventListener("error", () => {
      if (state.stopped) return;
      connection.textContent = "reconnecting\u2026";
      connection.className = "connection lost";
    });
  }

  async function start() {
    const response = await fetch("api/config", { cache: "no-store" });
    const config = await response.json();
    $("system").textContent = config.system;
    document.title = "regiment observer \u2014 " + config.system;
    state.control = Boolean(config.control);
    if (state.control) state.token = tokenFromPage();
    showControl();

    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = $("token-input").value.trim();
      $("token-input").value = "";
      if (value) setToken(value);
    });
    $("token-forget").addEventListener("click", () => setToken(null));
    $("tree").addEventListener("click", (event) => {
      const button = event.target.closest("button.control");
      if (button) {
        act(button);
        return;
      }
      const node = event.target.closest(".node.kind-agent");
      if (node) select(node.dataset.name);
    });
    $("agents-body").addEventListener("click", (event) => {
      const row = event.target.closest("tr");
      if (row) select(row.dataset.name);
    });
    document.querySelector("#agents thead").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-sort]");
      if (!button) return;
      const key = button.dataset.sort;
      state.sort = { key: key, desc: state.sort.key === key ? !state.sort.desc : key !== "name" };
      renderAgents();
    });
    connect();
  }

  start();
})();

// ClickClack web app: plain ES modules, no build step, talking to the same
// public REST + WebSocket API as every other client. The session lives in
// an HttpOnly cookie; unsafe requests echo the CSRF cookie in a header.

const app = document.getElementById("app");
const state = {
  me: null,
  workspaces: [],
  workspace: null,
  channels: [],
  conversations: [],
  members: new Map(), // user id -> {user, role}
  bots: new Map(), // bot user id -> scopes of its newest live token
  target: null, // {kind: "channel"|"dm", id, name}
  messages: [],
  oldestSeq: null,
  hasOlder: false,
  cursor: "",
  socket: null,
};

// --- HTTP -----------------------------------------------------------------

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)cc_csrf=([^;]+)/);
  return match ? match[1] : "";
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-ClickClack-CSRF"] = csrfToken();
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.error || `${method} ${path} failed (${response.status})`);
    error.status = response.status;
    throw error;
  }
  return data;
}

// --- DOM helpers ----------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/// "just now", "5 min ago", "3 h ago", "2 days ago".
function relative(iso) {
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} days ago`;
}

function time(iso) {
  const date = new Date(iso);
  return el("time", { class: "time", datetime: iso }, date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
}

// --- Sign in --------------------------------------------------------------

function showSignIn(message) {
  const status = el("p", { role: "status" }, message || "");
  const email = el("input", { type: "email", id: "email", name: "email", required: true, autocomplete: "email" });
  const form = el(
    "form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        status.textContent = "Sending…";
        try {
          const answer = await api("POST", "/api/auth/magic/request", { email: email.value });
          status.replaceChildren();
          if (answer.magic_link) {
            status.append("Development mode: ", el("a", { href: answer.magic_link, id: "magic-link" }, "open your sign-in link"));
          } else {
            status.textContent = "Check your email for a sign-in link.";
          }
        } catch (error) {
          status.replaceChildren(el("span", { class: "error" }, error.message));
        }
      },
    },
    el("label", { for: "email" }, "Email"),
    email,
    el("button", { class: "primary", type: "submit" }, "Send sign-in link"),
  );
  const pasted = el("input", { id: "pasted-link", "aria-label": "Sign-in link or token" });
  const paste = el(
    "form",
    { onsubmit: async (event) => {
      event.preventDefault();
      const value = pasted.value.trim();
      const token = value.includes("magic=") ? new URL(value, location.origin).searchParams.get("magic") : value;
      try {
        await consumeMagicLink(token);
        location.reload();
      } catch (error) {
        status.replaceChildren(el("span", { class: "error" }, error.message));
      }
    } },
    el("label", { for: "pasted-link" }, "Or paste a sign-in link or token"),
    pasted,
    el("button", { type: "submit" }, "Sign in"),
  );
  app.replaceChildren(el("section", { class: "sign-in", "aria-labelledby": "sign-in-title" }, el("h1", { id: "sign-in-title" }, "Sign in to ClickClack"), form, paste, status));
  email.focus();
}

async function consumeMagicLink(token) {
  await api("POST", "/api/auth/magic/consume", { token });
  history.replaceState(null, "", "/");
}

// --- Workspace, sidebar, timeline -----------------------------------------

async function openWorkspace(workspace) {
  state.commands = null;
  state.slashCommands = null;
  if (!state.workspace || state.workspace.id !== workspace.id) state.cursor = "";
  state.workspace = workspace;
  const [channels, dms, members] = await Promise.all([
    api("GET", `/api/workspaces/${workspace.id}/channels`),
    api("GET", `/api/dms?workspace_id=${workspace.id}`),
    api("GET", `/api/workspaces/${workspace.id}/members`),
  ]);
  state.channels = channels.channels;
  state.conversations = dms.conversations;
  state.members = new Map(members.members.map((m) => [m.user.id, m]));
  state.bots = new Map();
  try {
    const bots = await api("GET", `/api/workspaces/${workspace.id}/bots`);
    for (const entry of bots.bots) {
      const live = entry.tokens.find((t) => !t.revoked_at);
      state.bots.set(entry.bot.id, live ? live.scopes : []);
    }
  } catch {
    // Members who manage no bots see none; profile cards then omit scopes.
  }
  const general = state.channels.find((c) => c.name === "general") || state.channels[0];
  renderShell();
  if (general) await openChannel(general);
  connectRealtime();
}

async function createWorkspace() {
  const dialog = el("dialog", { class: "dialog", "aria-label": "Create a workspace" });
  const name = el("input", { id: "new-workspace-name", required: true, "aria-label": "Workspace name" });
  const error = el("p", { class: "error" });
  dialog.append(
    el("form", { method: "dialog", onsubmit: async (event) => {
      event.preventDefault();
      try {
        const { workspace } = await api("POST", "/api/workspaces", { name: name.value });
        dialog.close();
        state.workspaces.push(workspace);
        await openWorkspace(workspace);
      } catch (failure) {
        error.textContent = failure.message;
      }
    } }, el("h2", {}, "Create a workspace"), name, " ", el("button", { class: "primary", type: "submit" }, "Create"), " ", el("button", { type: "button", onclick: () => dialog.close() }, "Cancel"), error),
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

function renderShell() {
  const switcher = el(
    "select",
    {
      id: "workspace-switcher",
      "aria-label": "Workspace",
      onchange: (event) => openWorkspace(state.workspaces.find((w) => w.id === event.target.value)),
    },
    state.workspaces.map((w) => el("option", { value: w.id, selected: w.id === state.workspace.id }, w.name)),
  );
  const newWorkspace = el("button", { id: "new-workspace", "aria-label": "Create a workspace", onclick: createWorkspace }, "+ New workspace");
  const channelItems = state.channels.map((channel) =>
    el(
      "li",
      {},
      el(
        "button",
        {
          "data-channel": channel.id,
          "aria-current": state.target && state.target.id === channel.id ? "true" : "false",
          onclick: () => openChannel(channel),
        },
        el("span", {}, `# ${channel.display_title || channel.name}`),
        channel.unread_count > 0 ? el("span", { class: "unread", "aria-label": `${channel.unread_count} unread` }, channel.unread_count) : null,
      ),
    ),
  );
  const dmItems = state.conversations.map((conversation) =>
    el(
      "li",
      {},
      el(
        "button",
        { "data-dm": conversation.id, onclick: () => openDm(conversation) },
        conversation.members.filter((m) => m.id !== state.me.id).map((m) => (m.kind === "bot" ? `${m.display_name} (bot)` : m.display_name)).join(", ") || "Just you",
      ),
    ),
  );
  const sidebar = el(
    "nav",
    { class: "sidebar", "aria-label": "Channels and direct messages" },
    switcher,
    newWorkspace,
    el("p", { id: "connection", class: "connection", role: "status" }),
    el("h2", {}, "Channels"),
    el("ul", {}, channelItems),
    el("h2", {}, "Direct messages"),
    el("ul", {}, dmItems),
    el("h2", {}, "People"),
    el(
      "ul",
      { class: "people" },
      [...state.members.values()].map((m) =>
        el("li", {}, el("button", { onclick: () => showProfile(m.user) }, el("span", {}, m.user.display_name, m.user.kind === "bot" ? el("span", { class: "badge" }, "BOT") : null))),
      ),
    ),
    el("button", { id: "open-settings", onclick: openSettings }, "Workspace settings"),
    el("h2", {}, "You"),
    el("p", {}, state.me.display_name),
    el("button", { id: "sign-out", onclick: signOut }, "Sign out"),
  );
  const composer = el("textarea", {
    id: "composer",
    "aria-label": "Message",
    placeholder: "Message (Enter sends, Shift+Enter for a new line)",
    oninput: () => {
      composer.style.height = "auto";
      composer.style.height = `${Math.min(composer.scrollHeight, 240)}px`;
    },
    onkeydown: (event) => {
      if (menuKey(event, composer)) return;
      if (event.key === "Escape" && state.quote) {
        setQuote(null);
        return;
      }
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        const text = composer.value;
        if (text.trim()) {
          composer.value = "";
          closeMenu();
          sendOrInvoke(text);
        }
      }
    },
  });
  composer.addEventListener("input", announceTyping);
  composer.addEventListener("input", () => updateMenu(composer));
  const fileInput = el("input", {
    type: "file",
    id: "attach",
    class: "visually-hidden",
    onchange: async (event) => {
      for (const file of event.target.files) await uploadFile(file).catch((error) => alertError(error));
      event.target.value = "";
    },
  });
  const timeline = el("section", {
    class: "timeline",
    id: "timeline",
    "aria-label": "Messages",
    tabindex: "0",
    onscroll: loadOlderOnScroll,
    ondragover: (event) => event.preventDefault(),
    ondrop: async (event) => {
      event.preventDefault();
      for (const file of event.dataTransfer.files) await uploadFile(file).catch((error) => alertError(error));
    },
  });
  const searchBox = el("input", { type: "search", id: "search", "aria-label": "Search messages", placeholder: "Search",
    onkeydown: (event) => { if (event.key === "Enter" && event.target.value.trim()) search(event.target.value.trim()); } });
  app.replaceChildren(
    el(
      "div",
      { class: "shell" },
      sidebar,
      el(
        "section",
        { class: "conversation" },
        el("header", {}, el("button", { id: "menu-toggle", "aria-label": "Show channels", onclick: () => document.querySelector(".shell").classList.toggle("drawer-open") }, "☰"), el("h1", { id: "title" }, ""), searchBox),
        el("div", { id: "unread-bar", class: "unread-bar", hidden: true }),
        timeline,
        el(
          "div",
          { class: "composer" },
          el("p", { id: "typing", class: "time", "aria-live": "polite" }),
          el("div", { id: "quote-preview" }),
          el("ul", { id: "composer-menu", role: "listbox", "aria-label": "Suggestions", hidden: true }),
          composer,
          el("label", { for: "attach", class: "attach-label" }, "Attach a file"),
          fileInput,
        ),
      ),
    ),
  );
}

/// Settings replace the conversation pane; a channel or DM chosen from the
/// sidebar while they are open brings the chat view back first.
function ensureChatView() {
  state.settingsOpen = false;
  if (!document.getElementById("timeline")) renderShell();
}

async function openChannel(channel) {
  ensureChatView();
  document.querySelector(".shell")?.classList.remove("drawer-open");
  state.target = { kind: "channel", id: channel.id, name: `# ${channel.display_title || channel.name}`, lastReadSeq: channel.last_read_seq };
  const page = await api("GET", `/api/channels/${channel.id}/messages?limit=50`);
  state.target.newestAtOpen = page.newest_seq;
  showPage(page);
  if (page.newest_seq) {
    api("POST", `/api/channels/${channel.id}/read`, { seq: page.newest_seq }).catch(() => {});
    channel.unread_count = 0;
    channel.last_read_seq = page.newest_seq;
  }
}

async function openDm(conversation) {
  ensureChatView();
  document.querySelector(".shell")?.classList.remove("drawer-open");
  const names = conversation.members.filter((m) => m.id !== state.me.id).map((m) => m.display_name).join(", ");
  state.target = { kind: "dm", id: conversation.id, name: names };
  const page = await api("GET", `/api/dms/${conversation.id}/messages?limit=50`);
  showPage(page);
}

function showPage(page) {
  closeProfile();
  state.messages = page.messages;
  state.oldestSeq = page.oldest_seq ?? null;
  state.hasOlder = Boolean(page.has_older);
  document.querySelectorAll(".sidebar button[data-channel]").forEach((b) => b.setAttribute("aria-current", b.dataset.channel === state.target.id ? "true" : "false"));
  document.getElementById("title").textContent = state.target.name;
  const composer = document.getElementById("composer");
  if (composer) composer.placeholder = `Message ${state.target.name}`;
  renderTimeline(true);
}

async function loadOlderOnScroll(event) {
  if (event.target.scrollTop > 0 || !state.hasOlder || state.target.kind !== "channel") return;
  const before = event.target.scrollHeight;
  const page = await api("GET", `/api/channels/${state.target.id}/messages?limit=50&before_seq=${state.oldestSeq}`);
  state.messages = [...page.messages, ...state.messages];
  state.oldestSeq = page.oldest_seq ?? state.oldestSeq;
  state.hasOlder = Boolean(page.has_older);
  renderTimeline(false);
  event.target.scrollTop = event.target.scrollHeight - before;
}

function dayLabel(iso) {
  const day = new Date(iso).toDateString();
  const today = new Date();
  const yesterday = new Date(Date.now() - 86400000);
  if (day === today.toDateString()) return "Today";
  if (day === yesterday.toDateString()) return "Yesterday";
  return new Date(iso).toLocaleDateString([], { weekday: "long", month: "long", day: "numeric" });
}

function renderTimeline(toBottom) {
  const timeline = document.getElementById("timeline");
  const nodes = [];
  if (!state.hasOlder) {
    nodes.push(
      el("p", { class: "empty" }, state.target.kind === "channel" ? `Welcome to ${state.target.name}! This is the start of the channel.` : `This is the start of your conversation with ${state.target.name}.`),
    );
  }
  let lastDay = null;
  let last = null;
  let unreadMarked = false;
  // Unread when the channel was opened: after the read position, up to the
  // newest message then (what arrives while watching is read).
  const readUpTo = state.target.lastReadSeq ?? Infinity;
  const newestAtOpen = state.target.newestAtOpen ?? 0;
  const turns = new Map();
  for (const message of state.messages) {
    // Agent activity (commentary, tool calls) of one turn folds into one block.
    if ((message.kind === "agent_commentary" || message.kind === "agent_tool") && message.turn_id) {
      let turn = turns.get(message.turn_id);
      if (!turn) {
        turn = el("details", { class: "agent-turn", "data-turn": message.turn_id }, el("summary", {}, ""));
        turns.set(message.turn_id, turn);
        nodes.push(turn);
      }
      turn.append(renderMessage(message));
      const steps = turn.querySelectorAll("article").length;
      turn.querySelector("summary").textContent = `${message.author?.display_name || "Agent"}: ${steps} step${steps === 1 ? "" : "s"} of agent activity`;
      continue;
    }
    const isUnread = (m) => m.channel_seq > readUpTo && m.channel_seq <= newestAtOpen && m.author_id !== state.me.id;
    if (!unreadMarked && isUnread(message)) {
      unreadMarked = true;
      const unread = state.messages.filter(isUnread).length;
      const divider = el("div", { class: "new-divider", role: "separator" }, `New: ${unread} new message${unread === 1 ? "" : "s"}`);
      nodes.push(divider);
      state.unreadBar = { divider, unread };
    }
    const day = message.created_at ? new Date(message.created_at).toDateString() : lastDay;
    if (day && day !== lastDay) {
      nodes.push(el("h2", { class: "day" }, dayLabel(message.created_at)));
      last = null;
    }
    lastDay = day;
    const node = renderMessage(message);
    // Consecutive messages by one author within five minutes read as a group.
    // An ephemeral note always shows whose it is and that it is private.
    if (last && !message.ephemeral && !last.ephemeral && last.author_id === message.author_id && message.created_at && new Date(message.created_at) - new Date(last.created_at) < 300000) {
      node.classList.add("grouped");
    }
    nodes.push(node);
    last = message;
  }
  timeline.replaceChildren(...nodes);
  if (toBottom) timeline.scrollTop = timeline.scrollHeight;
  const bar = document.getElementById("unread-bar");
  if (bar) {
    const pending = unreadMarked && state.unreadBar;
    bar.hidden = !pending;
    if (pending) {
      bar.replaceChildren(
        `${state.unreadBar.unread} new message${state.unreadBar.unread === 1 ? "" : "s"} `,
        el("button", { onclick: () => state.unreadBar.divider.scrollIntoView({ block: "start" }) }, "Jump"),
        " ",
        el("button", { id: "mark-read", onclick: () => { state.target.lastReadSeq = state.target.newestAtOpen; state.unreadBar = null; renderTimeline(false); } }, "Mark read"),
      );
    }
  }
}

function renderMessage(message, inThread = false) {
  const author = message.author || { id: message.author_id, display_name: message.author_id, kind: "human" };
  const classes = ["message", message.pending ? "pending" : "", message.failed ? "failed" : "", message.ephemeral ? "ephemeral" : "", message.error ? "error" : ""].join(" ");
  const real = !message.pending && !message.failed && !message.ephemeral;
  const mine = state.me && author.id === state.me.id && !message.pending && !message.ephemeral && !message.deleted_at;
  const replies = message.thread_state?.reply_count || 0;
  return el(
    "article",
    { class: classes, "data-message": message.id, "aria-label": `Message from ${author.display_name}` },
    el("button", { class: "author", onclick: () => showProfile(author) }, author.display_name),
    author.kind === "bot" ? el("span", { class: "badge", title: "This author is a bot" }, "BOT") : null,
    author.kind === "bot" ? el("span", { class: "bot-owner" }, botOwnerShort(author)) : null,
    message.created_at ? time(message.created_at) : null,
    message.ephemeral ? el("span", { class: "only-you" }, "Only visible to you") : null,
    message.edited_at ? el("span", { class: "time", title: message.edited_at }, "(edited)") : null,
    message.quoted_message_id && message.quoted_body_snapshot !== undefined
      ? el("blockquote", { class: "quoted" }, el("strong", {}, message.quoted_author?.display_name || "Someone"), message.quoted_author?.kind === "bot" ? el("span", { class: "badge" }, "BOT") : null, " ", message.quoted_body_snapshot)
      : null,
    el("div", { class: "body" }, message.deleted_at ? "This message was deleted." : message.body),
    (message.attachments || []).map(renderAttachment),
    real && !message.deleted_at && message.actions?.length ? renderBotActions(message, author) : null,
    real && !message.deleted_at ? renderReactions(message) : null,
    el(
      "div",
      { class: "actions" },
      real && !inThread && !message.parent_message_id
        ? el("button", { class: "open-thread", onclick: () => openThread(message) }, replies ? `${replies} ${replies === 1 ? "reply" : "replies"}${message.thread_state.last_reply_at ? ` · ${relative(message.thread_state.last_reply_at)}` : ""}` : "Reply in thread")
        : null,
      real && !inThread && !message.deleted_at ? el("button", { class: "quote-action", onclick: () => setQuote(message) }, "Quote") : null,
      real && !message.deleted_at ? el("button", { class: "copy", onclick: () => navigator.clipboard?.writeText(message.body) }, "Copy text") : null,
      mine ? el("button", { class: "edit", onclick: () => editMessage(message) }, "Edit") : null,
      mine ? el("button", { class: "delete", onclick: () => deleteMessage(message) }, "Delete") : null,
    ),
    message.failed
      ? el("span", { class: "failed-actions" }, "Couldn't send. ", el("button", { class: "retry", onclick: () => retry(message) }, "Retry"), " ", el("button", { class: "discard", onclick: () => { state.messages.splice(state.messages.indexOf(message), 1); rerender(); } }, "Discard"))
      : null,
  );
}

/// "Peter's" for a user-owned bot, "service bot" otherwise.
function botOwnerShort(bot) {
  if (!bot.owner_user_id) return "service bot";
  const owner = state.members.get(bot.owner_user_id)?.user;
  return owner ? `${owner.display_name}'s` : "a former member's";
}

function renderAttachment(upload) {
  const href = `/api/uploads/${upload.id}`;
  return el(
    "div",
    { class: "attachment" },
    upload.content_type.startsWith("image/") ? el("img", { src: href, alt: upload.filename, class: "preview" }) : null,
    el("a", { href, download: upload.filename }, `Download ${upload.filename}`),
  );
}

/// A bot's buttons under its message; pressing one asks the bot, which
/// may answer only to the presser, in the thread, or by changing the
/// message (the answer, or the message.updated event, shows that).
function renderBotActions(message, author) {
  const group = el("div", { class: "bot-actions", role: "group", "aria-label": `Actions from ${author.display_name}` });
  for (const action of message.actions) {
    const style = ["primary", "danger"].includes(action.style) ? action.style : "";
    group.append(el("button", { class: style, "data-action": action.id, onclick: () => pressAction(message, action, group) }, action.label));
  }
  return group;
}

async function pressAction(message, action, group) {
  const target = state.target;
  for (const button of group.querySelectorAll("button")) button.disabled = true;
  const note = (fields) => showEphemeral({ ...fields, botId: message.author_id, targetId: target.id });
  try {
    const answer = await api("POST", `/api/messages/${message.id}/actions/${encodeURIComponent(action.id)}`, {});
    if (answer.event?.type === "command.response") {
      const { text: said, is_error: error } = answer.event.payload;
      note({ key: error ? `error|${said}` : answer.event.id, text: said, error });
    }
    const known = state.messages.find((m) => m.id === message.id);
    if (answer.replace_original && answer.message && known) Object.assign(known, answer.message);
  } catch (error) {
    note({ key: `error|${error.message}`, text: error.message, error: true });
  }
  rerender();
}

const QUICK_REACTIONS = ["👍", "🎉", "👀"];

function renderReactions(message) {
  const present = message.reactions || [];
  const buttons = present.map((r) =>
    el(
      "button",
      { class: "reaction", "aria-pressed": r.reacted_by_me ? "true" : "false", "aria-label": `${r.emoji} ${r.count}`, onclick: () => react(message, r.emoji, !r.reacted_by_me) },
      `${r.emoji} ${r.count}`,
    ),
  );
  const quick = QUICK_REACTIONS.filter((emoji) => !present.some((r) => r.emoji === emoji)).map((emoji) =>
    el("button", { class: "add-reaction", "aria-label": `React with ${emoji}`, onclick: () => react(message, emoji, true) }, emoji),
  );
  return el("div", { class: "reactions" }, buttons, quick);
}

async function react(message, emoji, add) {
  const path = `/api/messages/${message.id}/reactions`;
  const answer = add ? await api("POST", path, { emoji }) : await api("DELETE", `${path}/${encodeURIComponent(emoji)}`);
  message.reactions = answer.reactions;
  rerender();
}

async function editMessage(message) {
  const dialog = el("dialog", { class: "dialog", "aria-label": "Edit message" });
  const text = el("textarea", { "aria-label": "New text" }, message.body);
  dialog.append(
    el("form", { method: "dialog", onsubmit: async () => {
      const { message: updated } = await api("PATCH", `/api/messages/${message.id}`, { body: text.value });
      Object.assign(message, updated);
      rerender();
    } }, el("h2", {}, "Edit message"), text, el("button", { class: "primary", type: "submit" }, "Save"), " ", el("button", { type: "button", onclick: () => dialog.close() }, "Cancel")),
  );
  document.body.append(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  dialog.showModal();
}

async function deleteMessage(message) {
  const yes = await confirmDialog("Delete this message?", "Everyone will see that it was deleted.", "Delete");
  if (!yes) return;
  const { message: deleted } = await api("DELETE", `/api/messages/${message.id}`);
  Object.assign(message, deleted);
  rerender();
}

function rerender() {
  const timeline = document.getElementById("timeline");
  if (timeline) {
    const top = timeline.scrollTop;
    renderTimeline(false);
    timeline.scrollTop = top;
  }
  if (state.thread) renderThread();
}

/// A real dialog asking to confirm `action`; resolves true when confirmed.
function confirmDialog(title, text, action) {
  return new Promise((resolve) => {
    const dialog = el("dialog", { class: "dialog", "aria-label": title });
    let answered = false;
    const answer = (yes) => {
      answered = true;
      dialog.close();
      resolve(yes);
    };
    dialog.append(
      el("h2", {}, title),
      el("p", {}, text),
      el("button", { class: "primary confirm", onclick: () => answer(true) }, action),
      " ",
      el("button", { onclick: () => answer(false) }, "Cancel"),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (!answered) resolve(false);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// --- Composer helpers: quotes, slash commands, mentions ---------------------

function setQuote(message) {
  state.quote = message;
  const preview = document.getElementById("quote-preview");
  if (!preview) return;
  preview.replaceChildren(
    message
      ? el("div", { class: "quote" }, `Quoting ${message.author?.display_name || "a message"}: ${message.body.slice(0, 120)}`, " ", el("button", { onclick: () => setQuote(null) }, "Remove quote"))
      : "",
  );
  if (message) document.getElementById("composer")?.focus();
}

async function botCommands() {
  if (!state.commands) {
    state.commands = (await api("GET", `/api/workspaces/${state.workspace.id}/bot-commands`)).bot_commands;
  }
  return state.commands;
}

/// The workspace's registered slash commands: typing one invokes its bot.
async function slashCommands() {
  if (!state.slashCommands) {
    state.slashCommands = (await api("GET", `/api/workspaces/${state.workspace.id}/slash-commands`)).slash_commands;
  }
  return state.slashCommands;
}

/// The registered command `text` starts with, if any.
async function registeredCommand(text) {
  const name = text.trim().split(/\s+/)[0].toLowerCase();
  if (!name.startsWith("/")) return null;
  return (await slashCommands().catch(() => [])).find((c) => c.command === name) || null;
}

/// Suggestions for what is being typed: `/` at the start lists the
/// registered commands (they invoke their bot) and the bots' published
/// menus (plain text), `@` lists members (bots marked).
async function updateMenu(composer) {
  const text = composer.value.slice(0, composer.selectionStart);
  let items = [];
  let replace = null;
  if (/^\/\S*$/.test(text)) {
    const prefix = text.toLowerCase();
    const registered = (await slashCommands().catch(() => [])).filter((c) => c.command.startsWith(prefix));
    const botName = (id) => state.members.get(id)?.user.display_name || "a bot";
    items = [
      ...registered.map((c) => ({ label: `${c.command}${c.description ? ` · ${c.description}` : ""} · ${botName(c.bot_user_id)}`, insert: `${c.command} ` })),
      // A registered command of the same name wins, as upstream.
      ...(await botCommands())
        .filter((c) => c.command.startsWith(prefix) && !registered.some((r) => r.command === c.command))
        .map((c) => ({ label: `${c.command}${c.args_hint ? ` ${c.args_hint}` : ""} · ${c.description} · ${c.bot.display_name}`, insert: `${c.command} ` })),
    ];
    replace = [0, text.length];
  } else {
    const mention = text.match(/(?:^|\s)@([a-z0-9_-]*)$/i);
    if (mention) {
      const prefix = mention[1].toLowerCase();
      items = [...state.members.values()]
        .map((m) => m.user)
        .filter((u) => u.handle.startsWith(prefix) || u.display_name.toLowerCase().startsWith(prefix))
        .slice(0, 8)
        .map((u) => ({ label: u.kind === "bot" ? `${u.display_name} · bot` : u.display_name, insert: `@${u.handle} ` }));
      replace = [text.length - mention[1].length - 1, text.length];
    }
  }
  const menu = document.getElementById("composer-menu");
  if (!menu) return;
  // Typing went on while the lists loaded: a later call has the menu.
  if (composer.value.slice(0, composer.selectionStart) !== text) return;
  state.menu = items.length ? { items, replace, active: 0 } : null;
  menu.hidden = !items.length;
  menu.replaceChildren(
    ...items.map((item, i) =>
      el("li", { role: "option", "aria-selected": i === 0 ? "true" : "false", onmousedown: (event) => { event.preventDefault(); choose(composer, i); } }, item.label),
    ),
  );
}

function closeMenu() {
  state.menu = null;
  const menu = document.getElementById("composer-menu");
  if (menu) menu.hidden = true;
}

function choose(composer, index) {
  const { items, replace } = state.menu;
  composer.value = composer.value.slice(0, replace[0]) + items[index].insert + composer.value.slice(replace[1]);
  closeMenu();
  composer.focus();
}

/// Arrow keys, Enter/Tab and Escape drive an open menu; true when handled.
function menuKey(event, composer) {
  if (!state.menu) return false;
  const menu = document.getElementById("composer-menu");
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    const count = state.menu.items.length;
    state.menu.active = (state.menu.active + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
    [...menu.children].forEach((li, i) => li.setAttribute("aria-selected", i === state.menu.active ? "true" : "false"));
    return true;
  }
  if (event.key === "Enter" || event.key === "Tab") {
    event.preventDefault();
    choose(composer, state.menu.active);
    return true;
  }
  if (event.key === "Escape") {
    closeMenu();
    return true;
  }
  return false;
}

// --- Threads --------------------------------------------------------------

async function openThread(root) {
  state.thread = { root, replies: [] };
  await loadThread();
}

async function loadThread() {
  const page = await api("GET", `/api/messages/${state.thread.root.id}/thread?latest=true&limit=100`);
  state.thread = { root: page.root, replies: page.replies };
  renderThread();
}

function renderThread() {
  document.querySelector(".thread-pane")?.remove();
  if (!state.thread) return;
  const composer = el("textarea", {
    id: "thread-composer",
    "aria-label": "Reply in thread",
    placeholder: "Reply…",
    onkeydown: async (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        const body = composer.value;
        if (!body.trim()) return;
        composer.value = "";
        await api("POST", `/api/messages/${state.thread.root.id}/thread/replies`, { body, nonce: crypto.randomUUID() });
        await loadThread();
      } else if (event.key === "Escape") {
        closeThread();
      }
    },
  });
  const pane = el(
    "aside",
    { class: "thread-pane", "aria-label": "Thread" },
    el("header", {}, el("h2", {}, "Thread"), el("button", { onclick: closeThread }, "Close thread")),
    el("div", { class: "thread-messages" }, renderMessage(state.thread.root, true), state.thread.replies.map((r) => renderMessage(r, true))),
    composer,
  );
  document.querySelector(".shell").append(pane);
}

function closeThread() {
  state.thread = null;
  document.querySelector(".thread-pane")?.remove();
}

// --- Uploads --------------------------------------------------------------

async function uploadFile(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  const nonce = crypto.randomUUID();
  const response = await fetch(`/api/uploads?workspace_id=${state.workspace.id}&nonce=${nonce}`, {
    method: "POST",
    body: form,
    headers: { "X-ClickClack-CSRF": csrfToken() },
    credentials: "same-origin",
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || "upload failed");
  const path = state.target.kind === "channel" ? `/api/channels/${state.target.id}/messages` : `/api/dms/${state.target.id}/messages`;
  const posted = await api("POST", path, { body: file.name, nonce: crypto.randomUUID() });
  const { message } = await api("POST", `/api/messages/${posted.message.id}/attachments`, { upload_id: data.upload.id });
  const index = state.messages.findIndex((m) => m.id === message.id);
  if (index >= 0) state.messages[index] = message;
  else state.messages.push(message);
  renderTimeline(true);
}

// --- Search ---------------------------------------------------------------

/// The API's snippet marks hits with <b>…</b>; build it without innerHTML.
function snippet(text) {
  return text.split(/(<b>.*?<\/b>)/).map((part) => (part.startsWith("<b>") ? el("mark", {}, part.slice(3, -4)) : part));
}

async function search(query) {
  const { results } = await api("GET", `/api/search?workspace_id=${state.workspace.id}&q=${encodeURIComponent(query)}&limit=20`);
  document.querySelector(".thread-pane")?.remove();
  state.thread = null;
  const jump = async (message) => {
    pane.remove();
    if (message.parent_message_id) {
      const { message: root } = await api("GET", `/api/messages/${message.thread_root_id}`);
      return openThread(root);
    }
    const channel = state.channels.find((c) => c.id === message.channel_id);
    const conversation = state.conversations.find((c) => c.id === message.direct_conversation_id);
    if (channel) await openChannel(channel);
    else if (conversation) await openDm(conversation);
    document.querySelector(`[data-message="${message.id}"]`)?.scrollIntoView({ block: "center" });
  };
  const pane = el(
    "aside",
    { class: "thread-pane", "aria-label": "Search results" },
    el("header", {}, el("h2", {}, `Results for “${query}”`), el("button", { onclick: () => pane.remove() }, "Close")),
    el(
      "div",
      { class: "thread-messages" },
      results.length
        ? results.map((r) =>
            el(
              "button",
              { class: "result", onclick: () => jump(r.message) },
              el("strong", {}, r.message.author?.display_name || ""),
              r.message.author?.kind === "bot" ? el("span", { class: "badge" }, "BOT") : null,
              el("span", { class: "snippet" }, " ", snippet(r.snippet)),
            ),
          )
        : el("p", {}, "Nothing found."),
    ),
  );
  document.querySelector(".shell").append(pane);
}

// --- Profiles -------------------------------------------------------------

function showProfile(user) {
  document.querySelector(".profile")?.remove();
  const lines = [
    user.avatar_url ? el("img", { class: "avatar", src: user.avatar_url, alt: "" }) : null,
    el("h2", {}, user.display_name, user.kind === "bot" ? el("span", { class: "badge" }, "BOT") : null),
    el("p", {}, `@${user.handle}`),
  ].filter(Boolean);
  if (user.kind === "bot") {
    if (user.owner_user_id) {
      const owner = state.members.get(user.owner_user_id)?.user;
      lines.push(
        el(
          "p",
          { class: "owned-by" },
          "Bot of ",
          owner ? el("button", { class: "owner", onclick: () => showProfile(owner) }, owner.display_name) : "a former member",
        ),
      );
    } else {
      lines.push(el("p", { class: "owned-by" }, "Service bot"));
    }
    const scopes = state.bots.get(user.id);
    if (scopes) lines.push(el("p", { class: "scopes" }, `Scopes: ${scopes.join(", ")}`));
  } else {
    const role = state.members.get(user.id)?.role;
    if (role) lines.push(el("p", {}, `Role: ${role}`));
  }
  if (user.id !== state.me.id) {
    lines.push(
      el("button", { class: "message-user", onclick: async () => {
        const { conversation } = await api("POST", "/api/dms", { workspace_id: state.workspace.id, member_ids: [user.id] });
        if (!state.conversations.some((c) => c.id === conversation.id)) state.conversations.push(conversation);
        renderShell();
        await openDm(conversation);
      } }, "Message"),
      " ",
    );
  }
  const close = el("button", { onclick: () => card.remove() }, "Close");
  const card = el(
    "aside",
    { class: "profile", role: "dialog", "aria-label": `Profile of ${user.display_name}`, onkeydown: (event) => event.key === "Escape" && card.remove() },
    ...lines,
    close,
  );
  document.body.append(card);
  close.focus();
}

// --- Sending --------------------------------------------------------------

async function send(text, existing) {
  const message = existing || {
    id: `pending-${crypto.randomUUID()}`,
    nonce: crypto.randomUUID(),
    body: text,
    author: state.me,
    pending: true,
    quoted_message_id: state.quote?.id,
    quoted_body_snapshot: state.quote?.body,
    quoted_author: state.quote?.author,
  };
  if (!existing) setQuote(null);
  if (!existing) state.messages.push(message);
  message.pending = true;
  message.failed = false;
  renderTimeline(true);
  const path = state.target.kind === "channel" ? `/api/channels/${state.target.id}/messages` : `/api/dms/${state.target.id}/messages`;
  try {
    const payload = { body: message.body, nonce: message.nonce };
    if (message.quoted_message_id) payload.quoted_message_id = message.quoted_message_id;
    const answer = await api("POST", path, payload);
    // The live event may have landed first (matched by nonce): then the
    // pending entry is already replaced and there is nothing left to do.
    const index = state.messages.indexOf(message);
    const duplicate = state.messages.findIndex((m) => m.id === answer.message.id);
    if (index >= 0 && duplicate >= 0) state.messages.splice(index, 1);
    else if (index >= 0) state.messages[index] = answer.message;
  } catch {
    message.pending = false;
    message.failed = true;
  }
  renderTimeline(true);
}

function retry(message) {
  send(message.body, message);
}

/// A registered `/command` is invoked (its bot answers); anything else is
/// posted.
async function sendOrInvoke(text) {
  const target = state.target;
  // A command registered since the list loaded must still invoke.
  if (text.trim().startsWith("/")) state.slashCommands = null;
  const command = await registeredCommand(text);
  if (!command) return send(text);
  setQuote(null);
  const rest = text.trim().slice(command.command.length).trim();
  const note = (fields) => showEphemeral({ ...fields, botId: command.bot_user_id, targetId: target.id });
  try {
    const answer = await api("POST", `/api/hooks/slash/${target.id}`, { command: command.command, text: rest });
    if (answer.event?.type === "command.response") {
      const { text: said, is_error: error } = answer.event.payload;
      note({ key: error ? `error|${said}` : answer.event.id, text: said, error });
    } else if (answer.message && state.target === target && !state.messages.some((m) => m.id === answer.message.id)) {
      state.messages.push(answer.message);
      renderTimeline(true);
    }
  } catch (error) {
    note({ key: `error|${error.message}`, text: error.message, error: true });
  }
}

/// Recently shown ephemeral notes, so the HTTP answer and the socket's
/// `command.response` show one note, not two.
const ephemeralShown = new Map();

/// A note only the signed-in person sees (a command's ephemeral reply or
/// failure), kept in the timeline until the view changes.
function showEphemeral({ key, botId, targetId, text, error = false }) {
  // The view changed while the bot answered: the note belonged there.
  if (!state.target || state.target.id !== targetId) return;
  const now = Date.now();
  for (const [seen, at] of ephemeralShown) if (now - at > 10000) ephemeralShown.delete(seen);
  if (key && ephemeralShown.has(key)) return;
  if (key) ephemeralShown.set(key, now);
  const bot = state.members.get(botId)?.user || { id: botId, display_name: "A bot", kind: "bot" };
  state.messages.push({ id: `ephemeral-${crypto.randomUUID()}`, ephemeral: true, error, author: bot, author_id: bot.id, body: text, created_at: new Date().toISOString() });
  renderTimeline(true);
}

// --- Realtime -------------------------------------------------------------

function setConnection(text) {
  const line = document.getElementById("connection");
  if (line) line.textContent = text;
}

const cursorKey = (workspace) => `clickclack.cursor.${workspace}`;

async function connectRealtime() {
  state.socket?.close();
  // The cursor is no secret: it is kept per workspace so a reload resumes
  // where it left off; a first visit starts at the tail (nothing to replay).
  if (!state.cursor) state.cursor = localStorage.getItem(cursorKey(state.workspace.id)) || "";
  if (!state.cursor) {
    const tail = await api("GET", `/api/realtime/events?workspace_id=${state.workspace.id}&limit=1&include_tail=true`).catch(() => null);
    state.cursor = tail?.tail_cursor || "";
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const cursor = state.cursor ? `&after_cursor=${encodeURIComponent(state.cursor)}` : "";
  const workspace = state.workspace.id;
  const socket = new WebSocket(`${scheme}://${location.host}/api/realtime/ws?workspace_id=${workspace}${cursor}`);
  state.socket = socket;
  socket.onopen = () => setConnection("");
  socket.onmessage = (frame) => handleEvent(JSON.parse(frame.data));
  socket.onclose = (close) => {
    if (state.socket !== socket) return;
    if (close.code === 1008) return setConnection("Signed out of this workspace: sign in again.");
    setConnection("Connecting…");
    if (close.code === 4001) {
      state.cursor = "";
      localStorage.removeItem(cursorKey(workspace));
    }
    setTimeout(() => state.workspace && state.workspace.id === workspace && connectRealtime(), 1000);
  };
}

function alertError(error) {
  const typing = document.getElementById("typing");
  if (typing) typing.replaceChildren(el("span", { class: "error" }, error.message));
}

let lastTyping = 0;
function announceTyping() {
  if (!state.target || Date.now() - lastTyping < 3000) return;
  lastTyping = Date.now();
  const where = state.target.kind === "channel" ? { channel_id: state.target.id } : { direct_conversation_id: state.target.id };
  api("POST", "/api/realtime/ephemeral", { workspace_id: state.workspace.id, type: "typing.started", ...where }).catch(() => {});
}

let progressTimer = null;
/// `agent.progress`: a short-lived status line by the composer.
function showProgress(event) {
  const here = state.target && (event.channel_id === state.target.id || event.payload.direct_conversation_id === state.target.id);
  const line = document.getElementById("typing");
  if (!here || !line) return;
  const who = state.members.get(event.payload.user_id)?.user.display_name || "Agent";
  const status = typeof event.payload.status === "string" ? `: ${event.payload.status}` : "";
  line.textContent = `${who} is responding…${status}`;
  clearTimeout(progressTimer);
  progressTimer = setTimeout(() => (line.textContent = ""), 8000);
}

let typingTimer = null;
function showTyping(event) {
  const target = event.payload.channel_id || event.payload.direct_conversation_id;
  if (!state.target || target !== state.target.id || event.payload.user_id === state.me.id) return;
  const who = state.members.get(event.payload.user_id)?.user.display_name || "Someone";
  const line = document.getElementById("typing");
  if (!line) return;
  line.textContent = `${who} is typing…`;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => (line.textContent = ""), 5000);
}

async function handleEvent(event) {
  if (event.cursor) {
    state.cursor = event.cursor;
    localStorage.setItem(cursorKey(event.workspace_id), event.cursor);
  }
  if (event.type === "typing.started") return showTyping(event);
  if (event.type === "agent.progress") return showProgress(event);
  if (event.type === "command.response") {
    const targetId = event.payload.channel_id || event.payload.direct_conversation_id;
    const key = event.payload.is_error ? `error|${event.payload.text}` : event.id;
    return showEphemeral({ key, botId: event.payload.bot_user_id, targetId, text: event.payload.text, error: event.payload.is_error });
  }
  if (event.type === "bot_command.updated") state.commands = null;
  // Settings follow bot and member changes as they happen.
  const busy = document.querySelector(".secret-box, dialog[open]");
  if (state.settingsOpen && !busy && document.getElementById("settings") && /^(bot_command\.updated|bot\.membership_removed|member\.joined|member\.removed)$/.test(event.type)) {
    return openSettings();
  }
  if ((event.type === "thread.reply_created" || event.type === "thread.state_updated") && state.thread && event.payload.root_message_id === state.thread.root.id) {
    await loadThread();
  }
  if (event.type.startsWith("reaction.") || event.type === "thread.state_updated") {
    const id = event.payload.message_id || event.payload.root_message_id;
    const known = state.messages.find((m) => m.id === id);
    if (known) {
      const { message } = await api("GET", `/api/messages/${id}`);
      Object.assign(known, message);
      rerender();
    }
    return;
  }
  if (event.type !== "message.created" && event.type !== "message.updated" && event.type !== "message.deleted") return;
  if (event.type === "message.created" && event.channel_id && (!state.target || event.channel_id !== state.target.id) && event.payload.author_id !== state.me.id) {
    const channel = state.channels.find((c) => c.id === event.channel_id);
    if (channel) {
      channel.unread_count = (channel.unread_count || 0) + 1;
      const button = document.querySelector(`.sidebar button[data-channel="${channel.id}"]`);
      button?.querySelector(".unread")?.remove();
      button?.append(el("span", { class: "unread", "aria-label": `${channel.unread_count} unread` }, channel.unread_count > 99 ? "99+" : channel.unread_count));
    }
  }
  const inView =
    state.target &&
    ((state.target.kind === "channel" && event.channel_id === state.target.id) ||
      (state.target.kind === "dm" && event.payload.direct_conversation_id === state.target.id));
  if (!inView) return;
  const { message } = await api("GET", `/api/messages/${event.payload.message_id}`);
  const index = state.messages.findIndex((m) => m.id === message.id || (m.pending && m.nonce && m.nonce === message.nonce));
  if (index >= 0) state.messages[index] = message;
  else state.messages.push(message);
  renderTimeline(true);
}

// --- Workspace settings: bots, members, audit log --------------------------

const SCOPE_CHOICES = ["bot:read", "bot:write", "bot:admin"];

function closeProfile() {
  document.querySelector(".profile")?.remove();
}

function settingsPane(...children) {
  closeProfile();
  const pane = el("section", { class: "settings", id: "settings", "aria-label": "Workspace settings" }, ...children);
  document.querySelector(".conversation").replaceChildren(
    el("header", {}, el("h1", { id: "title" }, `${state.workspace.name}: settings`), el("button", { onclick: () => openWorkspace(state.workspace) }, "Back to chat")),
    pane,
  );
  return pane;
}

async function openSettings() {
  state.target = null;
  const [bots, members] = await Promise.all([
    api("GET", `/api/workspaces/${state.workspace.id}/bots`),
    api("GET", `/api/workspaces/${state.workspace.id}/members`),
  ]);
  state.members = new Map(members.members.map((m) => [m.user.id, m]));
  const manages = ["owner", "moderator"].includes(state.workspace.role);
  // A secret on show survives a refresh (a live event may arrive while it is
  // displayed, or just before).
  const shown = document.querySelector("#notice .secret-box");
  const notice = shown ? document.getElementById("notice") : el("div", { id: "notice", role: "status" });
  const audit = manages ? (await api("GET", `/api/workspaces/${state.workspace.id}/audit-log?limit=200`)).audit_log_entries : [];
  // Who revoked each token, from the audit log (owners and moderators see it).
  const revokedBy = new Map(audit.filter((e) => e.action === "bot_token.revoked").map((e) => [e.target_id, e.actor_user_id]));
  const sections = [notice, botsSection(bots.bots, notice, revokedBy), createBotForm(notice, manages), membersSection(members.members, notice, manages)];
  if (manages) sections.unshift(workspaceSection(notice));
  sections.unshift(accountSection(notice));
  state.settingsOpen = true;
  if (manages) sections.push(auditSection(audit));
  settingsPane(...sections);
}

function applyTheme(theme) {
  if (theme === "system") document.documentElement.removeAttribute("data-theme");
  else document.documentElement.dataset.theme = theme;
}

function accountSection(notice) {
  const theme = el(
    "select",
    { id: "theme", "aria-label": "Appearance", onchange: (event) => { localStorage.setItem("clickclack.theme", event.target.value); applyTheme(event.target.value); } },
    ["system", "light", "dark"].map((t) => el("option", { value: t, selected: (localStorage.getItem("clickclack.theme") || "system") === t }, t === "system" ? "Follow the system" : t === "light" ? "Light" : "Dark")),
  );
  const name = el("input", { id: "my-name", value: state.me.display_name, required: true });
  const handle = el("input", { id: "my-handle", value: state.me.handle, required: true });
  return el(
    "section",
    { "aria-labelledby": "account-title" },
    el("h2", { id: "account-title" }, "Your profile"),
    el(
      "form",
      { id: "profile-form", onsubmit: async (event) => {
        event.preventDefault();
        try {
          const { user } = await api("PATCH", "/api/me", { display_name: name.value, handle: handle.value });
          state.me = user;
          notice.replaceChildren(el("p", { id: "profile-saved" }, "Profile saved."));
        } catch (error) {
          failed(notice, error);
        }
      } },
      el("label", { for: "my-name" }, "Display name"),
      name,
      el("label", { for: "my-handle" }, "Handle"),
      handle,
      el("button", { type: "submit" }, "Save profile"),
    ),
    el("p", {}, el("label", { for: "theme" }, "Appearance "), theme),
  );
}

function workspaceSection(notice) {
  const name = el("input", { id: "workspace-name", value: state.workspace.name, required: true });
  const rename = el(
    "form",
    { id: "rename-workspace", onsubmit: async (event) => {
      event.preventDefault();
      try {
        const { workspace } = await api("PATCH", `/api/workspaces/${state.workspace.id}`, { name: name.value });
        Object.assign(state.workspace, workspace);
        notice.replaceChildren(el("p", {}, `Renamed to ${workspace.name}.`));
      } catch (error) {
        failed(notice, error);
      }
    } },
    el("label", { for: "workspace-name" }, "Name"),
    name,
    el("button", { type: "submit" }, "Rename"),
  );
  const owner = state.workspace.role === "owner";
  const remove = el("button", { id: "delete-workspace", onclick: async () => {
    const dialog = el("dialog", { class: "dialog", "aria-label": "Delete workspace" });
    const confirmName = el("input", { id: "confirm-workspace-name", "aria-label": "Type the workspace name" });
    const go = el("button", { class: "primary", disabled: true, onclick: async () => {
      dialog.close();
      await api("DELETE", `/api/workspaces/${state.workspace.id}`);
      location.reload();
    } }, "Delete workspace");
    confirmName.addEventListener("input", () => { go.disabled = confirmName.value !== state.workspace.name; });
    dialog.append(el("h2", {}, `Delete ${state.workspace.name}?`), el("p", {}, "Every token and session there stops at once. Type its name to confirm."), confirmName, " ", go, " ", el("button", { onclick: () => dialog.close() }, "Cancel"));
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  } }, "Delete workspace…");
  const humans = [...state.members.values()].filter((m) => m.user.kind === "human" && m.user.id !== state.me.id);
  const heir = el("select", { id: "transfer-to", "aria-label": "New owner" }, humans.map((m) => el("option", { value: m.user.id }, m.user.display_name)));
  const transfer = el("button", { id: "transfer", onclick: async () => {
    const who = state.members.get(heir.value)?.user.display_name;
    if (!heir.value || !(await confirmDialog(`Make ${who} the owner?`, "You stay on as a moderator.", "Transfer ownership"))) return;
    await api("POST", `/api/workspaces/${state.workspace.id}/transfer-ownership`, { user_id: heir.value });
    state.workspace.role = "moderator";
    await openSettings();
  } }, "Transfer ownership");
  return el(
    "section",
    { "aria-labelledby": "workspace-title" },
    el("h2", { id: "workspace-title" }, "Workspace"),
    rename,
    owner && humans.length ? el("p", {}, heir, " ", transfer) : null,
    owner ? remove : null,
  );
}

function ownerLabel(bot) {
  if (!bot.owner_user_id) return "Service bot";
  const owner = state.members.get(bot.owner_user_id)?.user;
  return `Bot of ${owner ? owner.display_name : "a former member"}`;
}

function whoDid(id) {
  return id ? state.members.get(id)?.user.display_name || "a former member" : "an operator";
}

function tokenState(token, revokedBy) {
  if (!token.revoked_at) return "active";
  if (new Date(token.revoked_at) > new Date()) return `ends ${new Date(token.revoked_at).toLocaleString()}`;
  const by = revokedBy.has(token.id) ? ` by ${whoDid(revokedBy.get(token.id))}` : "";
  return `revoked ${relative(token.revoked_at)}${by}`;
}

/// A bot's setup codes as objects: pending ones with their expiry (and a
/// way to withdraw them), claimed ones with when.
function setupCodesList(bot, notice) {
  const list = el("ul", { class: "setup-codes", "aria-label": `Setup codes of ${bot.display_name}` });
  api("GET", `/api/workspaces/${state.workspace.id}/bots/${bot.id}/setup-codes`)
    .then(({ setup_codes: codes }) => {
      list.replaceChildren(
        ...codes.slice(0, 5).map((code) => {
          const expired = new Date(code.expires_at) <= new Date();
          const status = code.claimed_at
            ? `claimed ${relative(code.claimed_at)}`
            : expired
              ? "expired"
              : `pending, expires ${new Date(code.expires_at).toLocaleTimeString()}`;
          return el(
            "li",
            { "data-setup-code": code.id },
            `Setup code for "${code.token_name}" (${code.scopes.length} scopes): ${status}`,
            !code.claimed_at && !expired
              ? el("button", { class: "withdraw", onclick: async () => {
                  try {
                    await api("POST", `/api/bot-setup-codes/${code.id}/revoke`, {});
                    await openSettings();
                  } catch (error) {
                    failed(notice, error);
                  }
                } }, "Withdraw")
              : null,
          );
        }),
      );
    })
    .catch(() => {});
  return list;
}

function botsSection(entries, notice, revokedBy) {
  const rows = entries.map(({ bot, tokens }) =>
    el(
      "article",
      { class: "bot-entry", "data-bot": bot.id, "aria-label": `Bot ${bot.display_name}` },
      el("h3", {}, bot.display_name, el("span", { class: "badge" }, "BOT"), " ", el("span", { class: "scopes" }, `@${bot.handle} · ${ownerLabel(bot)}`)),
      el(
        "table",
        { class: "tokens" },
        el("thead", {}, el("tr", {}, ["Token", "Scopes", "Created", "Last used", "State", ""].map((h) => el("th", { scope: "col" }, h)))),
        el(
          "tbody",
          {},
          tokens.map((token) =>
            el(
              "tr",
              { "data-token": token.id },
              el("td", {}, token.name),
              el("td", { class: "scopes" }, token.scopes.join(" ")),
              el("td", {}, new Date(token.created_at).toLocaleString()),
              el("td", { title: token.last_used_at || "" }, token.last_used_at ? relative(token.last_used_at) : "never"),
              el("td", {}, tokenState(token, revokedBy)),
              el(
                "td",
                {},
                token.revoked_at && new Date(token.revoked_at) <= new Date()
                  ? null
                  : [
                      el("button", { class: "rotate", "aria-label": `Rotate ${token.name} keeping the old token 10 minutes`, onclick: () => rotateToken(token, notice) }, "Rotate (10 min grace)"),
                      " ",
                      el("button", { class: "revoke", "aria-label": `Revoke ${token.name}`, onclick: () => revokeToken(token, notice) }, "Revoke"),
                    ],
              ),
            ),
          ),
        ),
      ),
      setupCodesList(bot, notice),
      webhooksList(bot, notice),
      incomingHooksList(bot, notice),
      el("button", { class: "mint", onclick: () => mintToken(bot, notice) }, "Mint a token"),
      " ",
      el("button", { class: "setup-code", onclick: () => makeSetupCode(bot, notice) }, "Create a setup code"),
      " ",
      el("button", { class: "remove-bot", onclick: () => removeBot(bot, notice) }, "Remove bot"),
    ),
  );
  return el("section", { "aria-labelledby": "bots-title" }, el("h2", { id: "bots-title" }, "Bots"), rows.length ? rows : el("p", {}, "No bots yet."));
}

/// A bot's event subscriptions (webhooks): each with its state, its latest
/// deliveries (status coloured, latency) and what can be done with it, and
/// a form to add one. Shown to whoever may manage them.
function webhooksList(bot, notice) {
  const box = el("div", { class: "webhooks", "aria-label": `Webhooks of ${bot.display_name}` });
  const base = `/api/workspaces/${state.workspace.id}/event-subscriptions`;
  const act = async (work) => {
    try {
      await work();
    } catch (error) {
      failed(notice, error);
    }
  };
  const form = () => {
    const url = el("input", { type: "url", class: "webhook-url", placeholder: "https://example.com/clickclack", "aria-label": `Webhook URL for ${bot.display_name}`, required: true });
    const events = el("input", { type: "text", class: "webhook-events", value: "message.created", "aria-label": "Event types (comma-separated, or *)" });
    return el(
      "form",
      { class: "add-webhook", onsubmit: (event) => {
        event.preventDefault();
        act(async () => {
          const { event_subscription: made } = await api("POST", base, {
            bot_user_id: bot.id,
            callback_url: url.value.trim(),
            event_types: events.value.split(",").map((t) => t.trim()).filter(Boolean),
          });
          showSecret(notice, `Signing secret of the webhook to ${made.callback_url}`, made.signing_secret);
        });
      } },
      el("label", {}, "Webhook URL ", url),
      " ",
      el("label", {}, "Events ", events),
      " ",
      el("button", { type: "submit", class: "add-webhook-button" }, "Add webhook"),
    );
  };
  const deliveries = (subscription) => {
    const list = el("ol", { class: "deliveries", "aria-label": `Recent deliveries to ${subscription.callback_url}` });
    api("GET", `/api/event-subscriptions/${subscription.id}/deliveries?limit=5`)
      .then(({ event_delivery_attempts: attempts }) => {
        list.replaceChildren(
          ...(attempts.length
            ? attempts.map((attempt) => {
                const ok = attempt.response_status >= 200 && attempt.response_status < 300;
                const answer = attempt.response_status ? `${attempt.response_status}` : "no answer";
                return el(
                  "li",
                  { class: ok ? "delivery ok" : "delivery failed", "data-event": attempt.event_id },
                  el("span", { class: "delivery-status" }, answer),
                  ` ${attempt.event_type} · attempt ${attempt.attempt} · ${attempt.latency_ms} ms · ${relative(attempt.created_at)}`,
                  attempt.error ? el("span", { class: "delivery-error" }, ` · ${attempt.error}`) : null,
                  " ",
                  el("button", { class: "redeliver", "aria-label": `Deliver ${attempt.event_type} ${attempt.event_id} again`, onclick: () => act(async () => {
                    await api("POST", `/api/event-subscriptions/${subscription.id}/redeliver`, { event_id: attempt.event_id });
                    notice.replaceChildren(el("p", {}, `Queued ${attempt.event_type} again.`));
                  }) }, "Redeliver"),
                );
              })
            : [el("li", {}, "No deliveries yet.")]),
        );
      })
      .catch(() => {});
    return list;
  };
  api("GET", `${base}?bot_user_id=${encodeURIComponent(bot.id)}`)
    .then(({ event_subscriptions: subscriptions }) => {
      box.replaceChildren(
        el("h4", {}, "Webhooks"),
        ...subscriptions.map((subscription) =>
          el(
            "div",
            { class: "webhook", "data-subscription": subscription.id },
            el("p", {},
              el("span", { class: `webhook-status ${subscription.status}` }, subscription.status),
              ` ${subscription.callback_url} · ${subscription.event_types.join(", ")} · ${subscription.pending_deliveries} waiting`,
              subscription.disabled_reason ? ` · ${subscription.disabled_reason}` : "",
            ),
            deliveries(subscription),
            el("button", { class: "test-webhook", onclick: () => act(async () => {
              await api("POST", `/api/event-subscriptions/${subscription.id}/test`, {});
              notice.replaceChildren(el("p", { id: "test-queued" }, `Sent a test event to ${subscription.callback_url}.`));
            }) }, "Send test event"),
            " ",
            el("button", { class: "rotate-webhook", onclick: () => act(async () => {
              const { event_subscription: rotated } = await api("POST", `/api/event-subscriptions/${subscription.id}/rotate-secret`, {});
              showSecret(notice, "New signing secret: the old one keeps signing for 24 hours", rotated.signing_secret);
            }) }, "Rotate secret"),
            " ",
            el("button", { class: "disable-webhook", onclick: () => act(async () => {
              const yes = await confirmDialog(`Disable the webhook to ${subscription.callback_url}?`, "Nothing more is sent to it, queued deliveries included.", "Disable webhook");
              if (!yes) return;
              await api("POST", `/api/event-subscriptions/${subscription.id}/revoke`, {});
              await openSettings();
            }) }, "Disable"),
          ),
        ),
        form(),
      );
    })
    // Someone who may not manage this bot's webhooks sees none.
    .catch(() => box.replaceChildren());
  return box;
}

/// A bot's live incoming webhooks: URLs that post into one channel as the
/// bot. Each is listed with its channel and last use, revocable; a form makes one
/// and shows its URL once. Shown to whoever may manage them.
function incomingHooksList(bot, notice) {
  const box = el("div", { class: "incoming-hooks", "aria-label": `Incoming webhooks of ${bot.display_name}` });
  const base = `/api/workspaces/${state.workspace.id}/incoming-webhooks`;
  const channelName = (id) => {
    const channel = state.channels.find((c) => c.id === id);
    return channel ? `#${channel.name}` : "a channel you cannot see";
  };
  const form = () => {
    const channel = el(
      "select",
      { class: "incoming-channel", "aria-label": `Channel the incoming webhook of ${bot.display_name} posts to` },
      state.channels.map((c) => el("option", { value: c.id }, `#${c.name}`)),
    );
    const name = el("input", { type: "text", class: "incoming-name", placeholder: "CI alerts", "aria-label": "Incoming webhook name", required: true, maxlength: 80 });
    return el(
      "form",
      { class: "add-incoming", onsubmit: async (event) => {
        event.preventDefault();
        try {
          const { incoming_webhook: made } = await api("POST", base, { bot_user_id: bot.id, channel_id: channel.value, name: name.value.trim() });
          const address = made.url || new URL(made.path, location.origin).href;
          showSecret(notice, `URL of the incoming webhook "${made.name}" (it posts to ${channelName(made.channel_id)} as ${bot.display_name})`, address,
            el("p", {}, "Send ", el("code", {}, 'POST {"text": "..."}'), " to it; anyone holding the URL can post."));
        } catch (error) {
          failed(notice, error);
        }
      } },
      el("label", {}, "Name ", name),
      " ",
      el("label", {}, "Channel ", channel),
      " ",
      el("button", { type: "submit", class: "add-incoming-button" }, "Add incoming webhook"),
    );
  };
  api("GET", `${base}?bot_user_id=${encodeURIComponent(bot.id)}`)
    .then(({ incoming_webhooks: hooks }) => {
      box.replaceChildren(
        el("h4", {}, "Incoming webhooks"),
        hooks.length
          ? el(
              "ul",
              { class: "incoming-list" },
              hooks.map((hook) =>
                el(
                  "li",
                  { class: "incoming", "data-incoming": hook.id },
                  `${hook.name} → ${channelName(hook.channel_id)} · made ${relative(hook.created_at)} · ${hook.last_used_at ? `last used ${relative(hook.last_used_at)}` : "never used"} `,
                  el("button", { class: "revoke-incoming", "aria-label": `Revoke the incoming webhook ${hook.name}`, onclick: async () => {
                    const yes = await confirmDialog(`Revoke the incoming webhook "${hook.name}"?`, "Its URL stops working at once.", "Revoke");
                    if (!yes) return;
                    try {
                      await api("POST", `/api/incoming-webhooks/${hook.id}/revoke`, {});
                      await openSettings();
                    } catch (error) {
                      failed(notice, error);
                    }
                  } }, "Revoke"),
                ),
              ),
            )
          : el("p", {}, "No incoming webhooks."),
        form(),
      );
    })
    // Someone who may not manage this bot's hooks sees none.
    .catch(() => box.replaceChildren());
  return box;
}

/// A raw token, shown exactly once, with a copy button and a warning.
function showSecret(notice, label, secret, extra) {
  const value = el("output", { id: "new-secret", class: "secret" }, secret);
  // Refresh first (the secret stays on show meanwhile), then let it go.
  const done = el("button", { id: "secret-done", disabled: true, onclick: async () => {
    await openSettings();
    document.getElementById("notice")?.replaceChildren();
  } }, "Done");
  notice.replaceChildren(
    el(
      "div",
      { class: "secret-box" },
      el("p", {}, el("strong", {}, label)),
      value,
      " ",
      el("button", { id: "copy-secret", onclick: () => navigator.clipboard?.writeText(secret) }, "Copy"),
      el("p", { class: "warning" }, "This is shown only once. Store it in the runtime's secret store now; it cannot be shown again."),
      extra || null,
      el("label", {}, el("input", { type: "checkbox", id: "copied", onchange: (event) => { done.disabled = !event.target.checked; } }), " I've stored it"),
      " ",
      done,
    ),
  );
  value.scrollIntoView?.();
}

function failed(notice, error) {
  notice.replaceChildren(el("p", { class: "error" }, error.message));
}

async function mintToken(bot, notice) {
  try {
    const { bot_token } = await api("POST", `/api/workspaces/${state.workspace.id}/bots/${bot.id}/tokens`, { name: "web", scopes: "bot:write" });
    showSecret(notice, `New token for ${bot.display_name}`, bot_token.token);
  } catch (error) {
    failed(notice, error);
  }
}

async function rotateToken(token, notice) {
  try {
    const answer = await api("POST", `/api/bot-tokens/${token.id}/rotate`, { grace_seconds: 600 });
    showSecret(notice, `Rotated ${token.name}: the old token keeps working for 10 minutes`, answer.bot_token.token);
  } catch (error) {
    failed(notice, error);
  }
}

async function revokeToken(token, notice) {
  const yes = await confirmDialog(
    `Revoke ${token.name}?`,
    "Every runtime using this token is refused from its next request; its open sockets close.",
    "Revoke token",
  );
  if (!yes) return;
  try {
    await api("POST", `/api/bot-tokens/${token.id}/revoke`, {});
    notice.replaceChildren(el("p", {}, `Revoked ${token.name}.`));
    await openSettings();
    document.getElementById("notice").replaceChildren(el("p", { id: "revoked" }, `Revoked ${token.name}.`));
  } catch (error) {
    failed(notice, error);
  }
}

async function makeSetupCode(bot, notice) {
  try {
    const { setup_code } = await api("POST", `/api/workspaces/${state.workspace.id}/bots/${bot.id}/setup-codes`, {});
    // OpenClaw claims at <server>/api/bot-setup-codes/claim; the server's
    // public URL when it has one, else the origin this page came from.
    const server = (setup_code.api_base_url || location.origin).replace(/\/+$/, "");
    const countdown = el("span", { id: "setup-countdown" });
    const again = el("button", { id: "setup-again", hidden: true, onclick: () => makeSetupCode(bot, notice) }, "Generate new code");
    const expires = new Date(setup_code.expires_at).getTime();
    const tick = () => {
      const left = Math.max(0, Math.round((expires - Date.now()) / 1000));
      countdown.textContent = left ? `expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}` : "expired";
      if (!left) again.hidden = false;
      else if (countdown.isConnected || !countdown.dataset.started) setTimeout(tick, 1000);
      countdown.dataset.started = "1";
    };
    tick();
    showSecret(
      notice,
      `Setup code for ${bot.display_name}`,
      setup_code.code,
      el(
        "div",
        {},
        el("p", {}, "Run this where the runtime lives (it works once): "),
        el("pre", { class: "secret", id: "setup-command" }, `openclaw channels add clickclack --code '${server}/#${setup_code.code}'`),
        el("p", {}, "or, naming the server separately:"),
        el("pre", { class: "secret", id: "setup-command-split" }, `openclaw channels add clickclack --code ${setup_code.code} --base-url ${server}`),
        el("p", {}, countdown, " ", again),
      ),
    );
  } catch (error) {
    failed(notice, error);
  }
}

async function removeBot(bot, notice) {
  const yes = await confirmDialog(
    `Remove ${bot.display_name}?`,
    "It leaves the workspace; every token it has stops working at once and its command menu goes.",
    "Remove bot",
  );
  if (!yes) return;
  try {
    await api("DELETE", `/api/workspaces/${state.workspace.id}/bots/${bot.id}/membership`);
    await openSettings();
  } catch (error) {
    failed(notice, error);
  }
}

function createBotForm(notice, manages) {
  const name = el("input", { id: "bot-name", required: true, maxlength: "80" });
  const handle = el("input", { id: "bot-handle", pattern: "@?[a-z0-9][a-z0-9_-]{1,31}" });
  const kind = el(
    "select",
    { id: "bot-kind" },
    manages ? el("option", { value: "service" }, "Service bot (no owner)") : null,
    el("option", { value: "mine" }, "My bot (owned by me)"),
  );
  const scopes = el("select", { id: "bot-scopes" }, SCOPE_CHOICES.map((s) => el("option", { value: s, selected: s === "bot:write" }, s)));
  const form = el(
    "form",
    {
      id: "create-bot",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const body = { display_name: name.value, handle: handle.value, scopes: scopes.value, token_name: "web" };
          if (kind.value === "mine") body.owner_user_id = state.me.id;
          const created = await api("POST", `/api/workspaces/${state.workspace.id}/bots`, body);
          showSecret(notice, `${created.bot.display_name} is installed. Its token:`, created.bot_token.token);
        } catch (error) {
          failed(notice, error);
        }
      },
    },
    el("label", { for: "bot-name" }, "Display name"),
    name,
    el("label", { for: "bot-handle" }, "Handle (optional)"),
    handle,
    el("label", { for: "bot-kind" }, "Kind"),
    kind,
    el("label", { for: "bot-scopes" }, "Scopes"),
    scopes,
    el("button", { class: "primary", type: "submit" }, "Create bot"),
  );
  return el("section", { "aria-labelledby": "create-bot-title" }, el("h2", { id: "create-bot-title" }, "Create a bot"), form);
}

function filterMembers() {
  const text = document.getElementById("member-filter").value.trim().toLowerCase();
  const role = document.getElementById("role-filter").value;
  document.querySelectorAll("table.members tbody tr").forEach((row) => {
    row.hidden = !(row.dataset.name.includes(text) && (role === "all" || row.dataset.role === role));
  });
}

function membersSection(members, notice, manages) {
  const invite = el(
    "button",
    {
      id: "create-invite",
      onclick: async () => {
        try {
          const { invite: created } = await api("POST", `/api/workspaces/${state.workspace.id}/invites`, {});
          notice.replaceChildren(el("p", {}, "Invite link (works once, until ", new Date(created.expires_at).toLocaleString(), "): ", el("output", { id: "invite-url" }, created.url)));
        } catch (error) {
          failed(notice, error);
        }
      },
    },
    "Create an invite link",
  );
  return el(
    "section",
    { "aria-labelledby": "members-title" },
    el("h2", { id: "members-title" }, "Members"),
    el("input", { type: "search", id: "member-filter", "aria-label": "Find a member", placeholder: "Find a member", oninput: filterMembers }),
    " ",
    el("select", { id: "role-filter", "aria-label": "Role", onchange: filterMembers }, ["all", "owner", "moderator", "member", "guest", "bot"].map((r) => el("option", { value: r }, r === "all" ? "Every role" : r))),
    el(
      "table",
      { class: "members" },
      el("thead", {}, el("tr", {}, ["Name", "Kind", "Role"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, members.map((m) => el("tr", { "data-name": `${m.user.display_name} ${m.user.handle}`.toLowerCase(), "data-role": m.role }, el("td", {}, m.user.display_name, m.user.kind === "bot" ? el("span", { class: "badge" }, "BOT") : null, " ", el("span", { class: "scopes" }, `@${m.user.handle}`)), el("td", {}, m.user.kind), el("td", {}, m.role)))),
    ),
    manages ? invite : null,
  );
}

function auditSection(entries) {
  return el(
    "section",
    { "aria-labelledby": "audit-title" },
    el("h2", { id: "audit-title" }, "Audit log"),
    el("ul", { class: "audit" }, entries.slice(0, 50).map((e) => el("li", {}, new Date(e.created_at).toLocaleString(), ": ", whoDid(e.actor_user_id), " ", e.action))),
  );
}

// --- Start ----------------------------------------------------------------

async function signOut() {
  await api("POST", "/api/auth/logout", {}).catch(() => {});
  state.socket?.close();
  state.socket = null;
  showSignIn("Signed out.");
}

async function start() {
  const magic = new URLSearchParams(location.search).get("magic");
  try {
    if (magic) await consumeMagicLink(magic);
    state.me = (await api("GET", "/api/me")).user;
    const invite = new URLSearchParams(location.search).get("invite");
    if (invite) {
      await api("POST", `/api/invites/${encodeURIComponent(invite)}/accept`, {});
      history.replaceState(null, "", "/");
    }
  } catch (error) {
    showSignIn(error.status === 401 || !error.status ? "" : error.message);
    return;
  }
  state.workspaces = (await api("GET", "/api/workspaces")).workspaces;
  if (state.workspaces.length === 0) {
    app.replaceChildren(el("p", {}, "You are not in a workspace yet. Ask for an invite link."));
    return;
  }
  await openWorkspace(state.workspaces[0]);
}

applyTheme(localStorage.getItem("clickclack.theme") || "system");
start();

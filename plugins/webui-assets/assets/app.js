// The chat page: a conversation with the server's model over the OpenAI API,
// streamed, with a stop button, a system prompt and sampling settings.
// Model text is only ever put into the page as text (textContent), never as HTML.
import { ApiError, listModels, streamChat } from "./api.js";

const $ = (id) => document.getElementById(id);
const ui = {
  model: $("model"), status: $("status"), settings: $("settings"), system: $("system-prompt"),
  temperature: $("temperature"), temperatureValue: $("temperature-value"), topP: $("top-p"),
  topPValue: $("top-p-value"), maxTokens: $("max-tokens"), apiKey: $("api-key"), log: $("log"),
  hint: $("empty-hint"), composer: $("composer"), input: $("input"), send: $("send"), stop: $("stop"),
  clear: $("clear"), imageRow: $("image-row"), image: $("image"), imageName: $("image-name"),
};

// The conversation as the API sees it: [{role, content}], system prompt excluded.
let history = [];
let models = [];
let controller = null; // the AbortController of the answer being streamed
let image = null; // {name, url} of an attached image (data: URL)
let conversation = 0; // bumped by Clear, so an answer that ends later does not join the new chat

function setStatus(text, isError = false) {
  ui.status.textContent = text;
  ui.status.classList.toggle("error", isError);
}

function setBusy(busy) {
  document.body.dataset.busy = busy ? "true" : "false";
  ui.send.hidden = busy;
  ui.stop.hidden = !busy;
  if (busy) ui.stop.focus();
  else ui.input.focus();
}

function explain(err) {
  if (!(err instanceof ApiError)) return String(err && err.message ? err.message : err);
  if (err.status === 401) return `The server wants an API key (401): ${err.message}. Enter it under Settings.`;
  if (err.status === 0) return `The server cannot be reached: ${err.message}.`;
  return `The server answered ${err.status}: ${err.message}`;
}

// ---- the conversation log

function nearBottom() {
  return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 48;
}

function addMessage(role, text) {
  ui.hint.hidden = true;
  const article = document.createElement("article");
  article.className = `msg ${role}`;
  article.dataset.role = role;
  const who = document.createElement("h2");
  who.className = "who";
  who.textContent = role === "user" ? "You" : role === "assistant" ? ui.model.value || "Assistant" : "Error";
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  article.append(who, body);
  if (role === "error") article.setAttribute("role", "alert");
  ui.log.append(article);
  ui.log.scrollTop = ui.log.scrollHeight;
  return article;
}

function addNote(article, text) {
  const note = document.createElement("p");
  note.className = "note";
  note.textContent = text;
  article.append(note);
}

// ---- settings

function numberIn(input, fallback) {
  const v = Number(input.value);
  if (!Number.isFinite(v)) return fallback;
  return Math.min(Math.max(v, Number(input.min)), Number(input.max));
}

function request(messages) {
  const req = {
    model: ui.model.value,
    messages,
    temperature: numberIn(ui.temperature, 0.7),
    top_p: numberIn(ui.topP, 1),
  };
  const maxTokens = Math.round(numberIn(ui.maxTokens, 512));
  if (maxTokens > 0) req.max_tokens = maxTokens;
  return req;
}

async function loadModels() {
  setStatus("Connecting…");
  try {
    models = await listModels(ui.apiKey.value.trim());
  } catch (err) {
    models = [];
    ui.model.replaceChildren();
    showImageControl();
    setStatus(explain(err), true);
    return;
  }
  const previous = ui.model.value;
  ui.model.replaceChildren(...models.map((m) => new Option(m.id, m.id)));
  if (models.some((m) => m.id === previous)) ui.model.value = previous;
  showImageControl();
  setStatus(models.length ? `Connected: ${models.length} model${models.length > 1 ? "s" : ""}` : "The server has no model", !models.length);
}

// The image control exists only for a model that says it takes images.
function showImageControl() {
  const m = models.find((x) => x.id === ui.model.value);
  ui.imageRow.hidden = !(m && m.vision);
  if (ui.imageRow.hidden) clearImage();
}

function clearImage() {
  image = null;
  ui.image.value = "";
  ui.imageName.textContent = "";
}

// ---- one turn

async function sendMessage(text) {
  const content = image
    ? [{ type: "text", text }, { type: "image_url", image_url: { url: image.url } }]
    : text;
  const shown = image ? `${text}\n[image: ${image.name}]` : text;
  clearImage();
  history.push({ role: "user", content });
  addMessage("user", shown);

  const messages = [];
  const system = ui.system.value.trim();
  if (system) messages.push({ role: "system", content: system });
  messages.push(...history);

  const article = addMessage("assistant", "");
  const myConversation = conversation;
  article.classList.add("streaming");
  const body = article.querySelector(".text");
  const mine = new AbortController();
  controller = mine;
  setBusy(true);
  let reply = "";
  let outcome;
  try {
    const stream = streamChat(request(messages), ui.apiKey.value.trim(), mine.signal);
    for (;;) {
      const { value, done } = await stream.next();
      if (done) {
        outcome = value || "stop";
        break;
      }
      const follow = nearBottom();
      reply += value;
      body.textContent = reply;
      if (follow) ui.log.scrollTop = ui.log.scrollHeight;
    }
  } catch (err) {
    outcome = mine.signal.aborted ? "stopped" : "error";
    if (outcome === "error" && myConversation === conversation) {
      article.remove();
      history.pop(); // the turn did not happen; the user can send it again
      addMessage("error", explain(err));
      if (err instanceof ApiError && err.status === 401) ui.settings.open = true;
    }
  }
  if (outcome !== "error" && myConversation === conversation) {
    history.push({ role: "assistant", content: reply });
    if (outcome === "stopped") addNote(article, "(stopped)");
    else if (outcome === "length") addNote(article, "(reached the token limit)");
  }
  article.classList.remove("streaming");
  article.dataset.finish = outcome;
  if (controller === mine) {
    controller = null;
    setBusy(false);
  }
}

function stop() {
  if (controller) controller.abort();
}

function clearChat() {
  stop();
  conversation++;
  history = [];
  for (const el of [...ui.log.children]) if (el !== ui.hint) el.remove();
  ui.hint.hidden = false;
  clearImage();
  ui.input.focus();
}

// ---- wiring

ui.composer.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = ui.input.value.trim();
  if (!text || controller) return;
  if (!ui.model.value) {
    setStatus("No model to talk to: " + ui.status.textContent, true);
    return;
  }
  ui.input.value = "";
  sendMessage(text);
});
ui.input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.stop.addEventListener("click", stop);
ui.clear.addEventListener("click", clearChat);
ui.model.addEventListener("change", showImageControl);
ui.temperature.addEventListener("input", () => (ui.temperatureValue.value = ui.temperature.value));
ui.topP.addEventListener("input", () => (ui.topPValue.value = ui.topP.value));
ui.apiKey.addEventListener("change", () => {
  sessionStorage.setItem("lmrt.apiKey", ui.apiKey.value.trim());
  loadModels();
});
ui.image.addEventListener("change", () => {
  const file = ui.image.files && ui.image.files[0];
  if (!file) return clearImage();
  const reader = new FileReader();
  reader.onload = () => {
    image = { name: file.name, url: String(reader.result) };
    ui.imageName.textContent = file.name;
  };
  reader.onerror = () => setStatus(`Cannot read ${file.name}`, true);
  reader.readAsDataURL(file);
});

ui.apiKey.value = sessionStorage.getItem("lmrt.apiKey") || "";
ui.temperatureValue.value = ui.temperature.value;
ui.topPValue.value = ui.topP.value;
if (window.matchMedia("(max-width: 720px)").matches) ui.settings.open = false;
setBusy(false);
loadModels();

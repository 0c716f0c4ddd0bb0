// The OpenAI wire protocol as the page uses it: GET v1/models and a streaming
// POST v1/chat/completions. URLs are relative to the page, so the same page works
// when api_server serves it at / and when `lmrt serve webui` does (it proxies v1/*).
import { readEventData } from "./sse.js";

// An answer the server gave with an error status, or no answer at all (status 0).
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

function headers(apiKey, json) {
  const h = {};
  if (json) h["Content-Type"] = "application/json";
  if (apiKey) h["Authorization"] = `Bearer ${apiKey}`;
  return h;
}

async function send(url, init) {
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, `cannot reach the server (${e.message})`);
  }
  if (!res.ok) throw new ApiError(res.status, await errorMessage(res));
  return res;
}

// OpenAI's error shape is {"error": {"message", "type", "param", "code"}}; anything else is shown as text.
async function errorMessage(res) {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text);
    if (body && body.error) return typeof body.error === "string" ? body.error : body.error.message || text;
  } catch (_) {
    /* not JSON */
  }
  return text.trim() || res.statusText || `HTTP ${res.status}`;
}

// A model entry of /v1/models says it takes images with "capabilities": ["vision"]
// (an lmrt extension in Ollama's style; OpenAI's entries have no such field).
export function hasVision(model) {
  return Array.isArray(model.capabilities) && model.capabilities.includes("vision");
}

// The server's models: [{id, vision}].
export async function listModels(apiKey) {
  const res = await send("v1/models", { headers: headers(apiKey, false), cache: "no-store" });
  const body = await res.json();
  if (!body || !Array.isArray(body.data)) throw new ApiError(res.status, "v1/models did not answer a model list");
  return body.data.map((m) => ({ id: String(m.id), vision: hasVision(m) }));
}

// Streams one chat completion: yields text pieces as they come and returns the
// finish_reason. Aborting `signal` closes the connection, which cancels the
// generation on the server.
export async function* streamChat(request, apiKey, signal) {
  const res = await send("v1/chat/completions", {
    method: "POST",
    headers: headers(apiKey, true),
    body: JSON.stringify({ ...request, stream: true }),
    signal,
  });
  let finishReason = null;
  for await (const data of readEventData(res.body)) {
    if (data === "[DONE]") break;
    let chunk;
    try {
      chunk = JSON.parse(data);
    } catch (_) {
      throw new ApiError(res.status, `the server sent an event that is not JSON: ${data.slice(0, 80)}`);
    }
    if (chunk.error) throw new ApiError(res.status, chunk.error.message || JSON.stringify(chunk.error));
    const choice = chunk.choices && chunk.choices[0];
    if (!choice) continue; // e.g. the usage chunk of stream_options.include_usage
    if (choice.delta && typeof choice.delta.content === "string" && choice.delta.content) yield choice.delta.content;
    if (choice.finish_reason) finishReason = choice.finish_reason;
  }
  return finishReason;
}

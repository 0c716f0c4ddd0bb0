// Server-sent events read from a fetch() body (a ReadableStream of bytes), as the
// HTML standard's event-stream parser does: UTF-8, lines ended by \n, \r\n or \r,
// "data:" fields joined with \n, an empty line dispatches, ":" lines are comments.
// EventSource itself cannot POST or send an Authorization header, hence this.

// Yields the data of each event as a string (e.g. '{"choices":...}' or '[DONE]').
export async function* readEventData(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder("utf-8");
  let buffer = "";
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      // Split complete lines off the buffer; a trailing \r may be half of \r\n.
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer[i];
        if (c !== "\n" && c !== "\r") continue;
        if (c === "\r" && i + 1 === buffer.length && !done) break;
        const line = buffer.slice(start, i);
        if (c === "\r" && buffer[i + 1] === "\n") i++;
        start = i + 1;
        if (line === "") {
          if (data.length) yield data.join("\n");
          data = [];
        } else if (line.startsWith("data:")) {
          data.push(line.slice(line[5] === " " ? 6 : 5));
        }
        // Other fields (event:, id:, retry:) and comments are not used by the OpenAI protocol.
      }
      buffer = buffer.slice(start);
      if (done) break;
    }
    if (data.length) yield data.join("\n");
  } finally {
    reader.releaseLock();
  }
}

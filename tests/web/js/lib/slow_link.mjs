// A slow network link in front of the real api_server: it forwards every request
// unchanged and delays each server-sent event of a streamed answer by `delayMs`.
// The tiny test model writes a whole answer in ~0.1 s, faster than a browser can
// show it growing or a test can press Stop; over this link an answer takes seconds.
// When the client goes away mid-answer the link closes the upstream connection too
// and counts it (`aborted`), so a test can see that a Stop reached the server side.
import http from "node:http";
import { onCleanup } from "./harness.mjs";

export async function startSlowLink(upstreamUrl, delayMs) {
  const upstream = new URL(upstreamUrl);
  const stats = { streams: 0, aborted: 0, completed: 0 };
  const server = http.createServer((req, res) => {
    const up = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        const streamed = /text\/event-stream/.test(upRes.headers["content-type"] || "");
        const headers = { ...upRes.headers };
        delete headers["content-length"];
        res.writeHead(upRes.statusCode, headers);
        if (!streamed) return upRes.pipe(res);
        stats.streams++;
        // Events are released one at a time, delayMs apart, in order.
        let buffer = "";
        let queue = Promise.resolve();
        let closed = false;
        res.on("close", () => {
          if (!res.writableFinished) {
            closed = true;
            stats.aborted++;
            up.destroy();
          }
        });
        upRes.setEncoding("utf8");
        upRes.on("data", (text) => {
          buffer += text;
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const event = buffer.slice(0, cut + 2);
            buffer = buffer.slice(cut + 2);
            queue = queue.then(() => new Promise((r) => setTimeout(r, delayMs))).then(() => closed || res.write(event));
          }
        });
        upRes.on("end", () => {
          queue = queue.then(() => {
            if (closed) return;
            if (buffer) res.write(buffer);
            stats.completed++;
            res.end();
          });
        });
        upRes.on("error", () => res.destroy());
      },
    );
    up.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502, { "Content-Type": "text/plain" });
      res.end(`slow link: ${e.message}`);
    });
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  onCleanup(() => new Promise((r) => { server.closeAllConnections(); server.close(r); }));
  return { url: `http://127.0.0.1:${server.address().port}`, stats };
}

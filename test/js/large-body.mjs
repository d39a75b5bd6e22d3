// Sends bodies larger than the gateway's limit with Node's own fetch, as a client that is still sending when the
// gateway answers: once with a declared length (a Uint8Array) and once streamed (chunked). Prints one JSON line per
// attempt: the status and the error body, or the fetch error.
const url = process.env.SANJIA_URL + "/v1/chat/completions";
const size = Number(process.env.SANJIA_BODY_BYTES ?? 64 * 1024 * 1024);
const runs = Number(process.env.SANJIA_RUNS ?? 5);
const headers = { "content-type": "application/json", authorization: `Bearer ${process.env.SANJIA_KEY}` };
const chunk = new Uint8Array(1024 * 1024).fill(0x20);

function streamed() {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) { controller.close(); return; }
      controller.enqueue(chunk);
      sent += chunk.length;
    },
  });
}

const results = [];
for (let i = 0; i < runs; i++) {
  for (const kind of ["declared", "streamed"]) {
    try {
      const body = kind === "declared" ? new Uint8Array(size).fill(0x20) : streamed();
      const response = await fetch(url, { method: "POST", headers, body, duplex: "half" });
      results.push({ kind, status: response.status, body: await response.text() });
    } catch (e) {
      results.push({ kind, error: String(e.cause ?? e) });
    }
  }
}
console.log(JSON.stringify(results));

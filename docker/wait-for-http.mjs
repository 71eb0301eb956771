/* global fetch */
// Waits until a URL answers 200, polling every 2 s, or fails after a deadline.
// Used by the init service for the Event Hubs emulator, whose image has no shell or curl
// for a compose healthcheck of its own.
//
//   node wait-for-http.mjs <url> [seconds=180]
const [url, seconds = '180'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node wait-for-http.mjs <url> [seconds]');
  process.exit(2);
}
const deadline = Date.now() + Number(seconds) * 1000;
let last = 'no answer yet';
while (Date.now() < deadline) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (res.ok) {
      console.error(`${url} is up`);
      process.exit(0);
    }
    last = `HTTP ${res.status}`;
  } catch (err) {
    last = err.cause?.code ?? err.cause?.message ?? err.message;
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
}
console.error(`${url} did not answer 200 within ${seconds} s (last: ${last})`);
process.exit(1);

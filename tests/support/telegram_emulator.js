// Starts telegram-test-api (it has no CLI) for the pytest fixtures in emulators.py.
// Usage: node telegram_emulator.js <port> [storeTimeoutSeconds]
// Adds POST /__reset, which empties the stored messages and webhooks so tests can share one
// server without restarting it (a restart costs ~0.3 s; a reset ~1 ms).
'use strict';

const path = require('path');

const modulePath = process.env.TELEGRAM_TEST_API_MODULE
  || path.join(__dirname, '..', '..', '.emulators', 'node_modules', 'telegram-test-api');
// The package exports the class itself (module.exports = TelegramServer), not a named export.
const loaded = require(modulePath);
const TelegramServer = loaded.TelegramServer || loaded;

const port = Number(process.argv[2]);
const storeTimeout = Number(process.argv[3] || 600);
if (!Number.isInteger(port) || port <= 0) {
  console.error(`usage: node ${path.basename(__filename)} <port> [storeTimeoutSeconds]`);
  process.exit(2);
}

// The library calls webhooks from un-awaited promises: a failing webhook would be an unhandled
// rejection, which kills Node >= 15 and with it every later test. Log it instead.
process.on('unhandledRejection', (err) => {
  console.error(`telegram-test-api: unhandled rejection: ${err && err.stack ? err.stack : err}`);
});

const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout });

// Express routes cannot be added after the constructor (its catch-all 404 comes first), so put
// a plain handler in front of the Express app; start() builds the HTTP server from webServer.
const app = server.webServer;
const front = (req, res) => {
  if (req.method === 'POST' && req.url === '/__reset') {
    server.storage = { userMessages: [], botMessages: [] };
    server.webhooks = {};
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"ok":true,"result":true}');
    return;
  }
  app(req, res);
};
front.settings = app.settings; // start() logs webServer.settings.env
server.webServer = front;

const stop = async () => {
  try {
    await server.stop();
  } finally {
    process.exit(0);
  }
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

server.start().then(
  () => console.log(`READY http://127.0.0.1:${port}`),
  (err) => {
    console.error(`telegram-test-api failed to start on port ${port}: ${err}`);
    process.exit(1);
  },
);

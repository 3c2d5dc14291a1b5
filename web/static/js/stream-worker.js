// The SharedWorker that holds the dashboard's one stream for every tab of
// the browser (see shared-stream.js). It is a wrapper: the connection is
// connection.js's own manager, whatever its transport; this file only
// carries its messages and states to the tabs' ports and their commands
// back. The first tab's join carries the connection's options.

import { createDashboardConnection, browserEnv, holderLocation } from './connection.js';
import { StreamHub } from './shared-stream.js';

const ports = new Map(); // tab id -> MessagePort
let hub = null;

function send(env) {
  if (env.to !== undefined) {
    ports.get(env.to)?.postMessage(env);
    return;
  }
  for (const p of ports.values()) p.postMessage(env);
}

// A worker cannot navigate: when the session is gone the tabs go to the
// login page themselves, and the next tab to join starts a new connection.
function workerEnv() {
  return {
    ...browserEnv(),
    location: holderLocation(() => {
      send({ kind: 'login' });
      const h = hub;
      hub = null;
      queueMicrotask(() => h?.close());
    }),
  };
}

function startHub(config) {
  hub = new StreamHub({
    send,
    create: (h) => createDashboardConnection({ ...config, errorHandler: h.errorHandler(), env: workerEnv() }),
  });
  hub.start();
}

globalThis.onconnect = (ev) => {
  const port = ev.ports[0];
  port.onmessage = (e) => {
    const env = e.data;
    if (!env || typeof env !== 'object') return;
    if (env.kind === 'join') {
      if (!hub) startHub(env.config ?? {});
      ports.set(env.from, port);
    }
    hub?.handle(env);
    if (env.kind === 'leave') ports.delete(env.from);
  };
  port.start();
};

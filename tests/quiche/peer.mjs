// A Cloudflare quiche peer for porthop's lab (quiche through @matrixai/quic):
// an echo and download server, and a client that verifies every byte.
//
//   node peer.mjs server --listen HOST:PORT --cert FILE --key FILE
//   node peer.mjs client --connect HOST:PORT [--download BYTES] [--echo BYTES]
//                        [--seed HEX32] [--deadline SECONDS] [--idle-timeout MS]
//
// One bidirectional stream per request. The client writes a 32-byte header:
// 'D' or 'E', 7 zero bytes, the length (u64 big-endian), a 16-byte seed.
//   D: the server sends LENGTH bytes of AES-128-CTR keystream (key = seed,
//      IV 0), then ends the stream;
//   E: the client then sends LENGTH bytes of that keystream, the server sends
//      back everything it reads and ends the stream when the client has.
// The client regenerates the keystream and compares SHA-256 digests, so every
// byte is checked. It runs all its requests on ONE connection and never
// reconnects: a lost or replaced connection is a failure. The server prints a
// line per connection ("connection N from HOST:PORT"), so a test can count
// them.
//
// The client prints one JSON line per request and exits 0 only when every
// request is complete and byte-identical; 3 when the deadline cut a request;
// 1 on any error. Certificates are not verified (a self-signed lab cert).
import { createCipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { QUICClient, QUICServer, events } from '@matrixai/quic';
import Logger, { LogLevel } from '@matrixai/logger';

const HEADER = 32;
const CHUNK = 64 * 1024;
// quiche's largest UDP payload here; the lab's links have a 1500-byte MTU.
const UDP_PAYLOAD = 1350;

function parseArgs(argv) {
  const [role, ...rest] = argv;
  const opts = {};
  for (let i = 0; i < rest.length; i += 2) {
    if (!rest[i].startsWith('--') || rest[i + 1] === undefined) usage(`bad argument ${rest[i]}`);
    opts[rest[i].slice(2)] = rest[i + 1];
  }
  return { role, opts };
}

function usage(why) {
  process.stderr.write(`peer.mjs: ${why}\nusage: peer.mjs server --listen HOST:PORT --cert FILE --key FILE\n` +
    '       peer.mjs client --connect HOST:PORT [--download BYTES] [--echo BYTES] [--seed HEX32] ' +
    '[--deadline SECONDS] [--idle-timeout MS]\n');
  process.exit(2);
}

function splitHostPort(text) {
  const i = text.lastIndexOf(':');
  if (i < 0) usage(`${text}: want HOST:PORT`);
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(text.slice(i + 1)) };
}

// The deterministic payload: AES-128-CTR keystream of the seed, in CHUNKs.
function* keystream(seed, length) {
  const cipher = createCipheriv('aes-128-ctr', seed, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  for (let left = length; left > 0; left -= CHUNK) {
    yield cipher.update(left >= CHUNK ? zeros : zeros.subarray(0, left));
  }
}

function digestOf(seed, length) {
  const h = createHash('sha256');
  for (const chunk of keystream(seed, length)) h.update(chunk);
  return h.digest('hex');
}

const quietLogger = () => new Logger('quiche-peer', LogLevel.ERROR);

function describe(e) {
  if (e == null) return 'closed';
  const what = e.message || e.name || String(e);
  return e.cause ? `${what} (${describe(e.cause)})` : what;
}

// ---- server ---------------------------------------------------------------

async function readExactly(reader, n, pending) {
  while (pending.length < n) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended inside the ${n}-byte header`);
    pending = Buffer.concat([pending, value]);
  }
  return pending;
}

async function serveStream(stream) {
  const reader = stream.readable.getReader();
  const writer = stream.writable.getWriter();
  try {
    const head = await readExactly(reader, HEADER, Buffer.alloc(0));
    const mode = String.fromCharCode(head[0]);
    const length = Number(head.readBigUInt64BE(8));
    const seed = head.subarray(16, 32);
    if (mode === 'D') {
      for (const chunk of keystream(seed, length)) await writer.write(chunk);
    } else if (mode === 'E') {
      if (head.length > HEADER) await writer.write(head.subarray(HEADER));
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        await writer.write(value);
      }
    } else {
      throw new Error(`unknown request ${JSON.stringify(mode)}`);
    }
    await writer.close();
  } catch (e) {
    process.stderr.write(`stream: ${describe(e)}\n`);
    try { await writer.abort(e); } catch { /* already closed */ }
  }
}

async function runServer(opts) {
  if (!opts.listen || !opts.cert || !opts.key) usage('server needs --listen, --cert and --key');
  const { host, port } = splitHostPort(opts.listen);
  const hmacKey = randomBytes(32);
  const server = new QUICServer({
    // Signs quiche's stateless-retry tokens.
    crypto: {
      key: hmacKey.buffer.slice(hmacKey.byteOffset, hmacKey.byteOffset + 32),
      ops: {
        sign: async (key, data) => {
          const mac = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
          return mac.buffer.slice(mac.byteOffset, mac.byteOffset + mac.length);
        },
        verify: async (key, data, sig) => {
          const mac = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
          const given = Buffer.from(sig);
          return given.length === mac.length && timingSafeEqual(given, mac);
        },
      },
    },
    config: {
      key: readFileSync(opts.key, 'utf8'),
      cert: readFileSync(opts.cert, 'utf8'),
      verifyPeer: false,
      maxIdleTimeout: Number(opts['idle-timeout'] ?? 30000),
      maxSendUdpPayloadSize: UDP_PAYLOAD,
    },
    logger: quietLogger(),
  });
  let connections = 0;
  server.addEventListener(events.EventQUICServerConnection.name, (evt) => {
    const conn = evt.detail;
    connections += 1;
    const index = connections;
    process.stdout.write(`connection ${index} from ${conn.remoteHost}:${conn.remotePort}\n`);
    conn.addEventListener(events.EventQUICConnectionStream.name, (e) => { serveStream(e.detail); });
    conn.addEventListener(events.EventQUICConnectionError.name, (e) => {
      process.stdout.write(`connection ${index} closed: ${describe(e.detail)}\n`);
    });
  });
  await server.start({ host, port });
  process.stdout.write(`listening ${host}:${port}\n`);
  const stop = async () => { await server.stop({ force: true }); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// ---- client ---------------------------------------------------------------

// One request on a new stream of `conn`; resolves to a result object.
async function request(conn, mode, length, seed, deadlineAt) {
  const stream = conn.newStream('bidi');
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const head = Buffer.alloc(HEADER);
  head[0] = mode.charCodeAt(0);
  head.writeBigUInt64BE(BigInt(length), 8);
  seed.copy(head, 16);
  const t0 = process.hrtime.bigint();
  const sending = (async () => {
    await writer.write(head);
    if (mode === 'E') for (const chunk of keystream(seed, length)) await writer.write(chunk);
    await writer.close();
  })();
  const h = createHash('sha256');
  let received = 0;
  let cut = false;
  const timer = setTimeout(() => { cut = true; reader.cancel('deadline').catch(() => {}); },
    Math.max(0, deadlineAt - Date.now()));
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      h.update(value);
      received += value.length;
    }
  } catch (e) {
    if (!cut) throw e;
  } finally {
    clearTimeout(timer);
  }
  if (!cut) await sending;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const complete = !cut && received === length;
  return {
    request: mode === 'D' ? 'download' : 'echo', bytes: received, expected: length,
    seconds: Number(seconds.toFixed(3)), mbps: Number((received * 8 / seconds / 1e6).toFixed(2)),
    complete, sha256_ok: complete && h.digest('hex') === digestOf(seed, length), cut,
  };
}

async function runClient(opts) {
  if (!opts.connect) usage('client needs --connect');
  const { host, port } = splitHostPort(opts.connect);
  const seed = opts.seed ? Buffer.from(opts.seed, 'hex') : randomBytes(16);
  if (seed.length !== 16) usage('--seed: want 32 hex digits');
  const deadlineAt = Date.now() + Number(opts.deadline ?? 60) * 1000;
  const requests = [];
  if (Number(opts.download) > 0) requests.push(['D', Number(opts.download)]);
  if (Number(opts.echo) > 0) requests.push(['E', Number(opts.echo)]);
  if (requests.length === 0) usage('client needs --download and/or --echo');

  let client;
  try {
    client = await QUICClient.createQUICClient({
      host, port, localHost: host.includes(':') ? '::' : '0.0.0.0',
      crypto: { ops: { randomBytes: async (data) => { randomBytes(data.byteLength).copy(Buffer.from(data)); } } },
      config: {
        // The lab's certificate is self-signed.
        verifyPeer: false,
        // 0 (the default) would retry a dead server forever.
        maxIdleTimeout: Number(opts['idle-timeout'] ?? 10000),
        maxSendUdpPayloadSize: UDP_PAYLOAD,
      },
      logger: quietLogger(),
    }, { timer: 10000 });
  } catch (e) {
    process.stderr.write(`client: cannot connect to ${opts.connect}: ${describe(e)}\n`);
    process.exit(1);
  }
  let lost = null;
  client.addEventListener(events.EventQUICClientError.name, (e) => { lost = e.detail; });
  let status = 0;
  try {
    for (const [mode, length] of requests) {
      if (lost) throw lost;
      const r = await request(client.connection, mode, length, seed, deadlineAt);
      r.local = `${client.connection.localHost}:${client.connection.localPort}`;
      process.stdout.write(`${JSON.stringify(r)}\n`);
      if (r.cut) { status = 3; break; }
      if (!r.complete || !r.sha256_ok) { status = 1; break; }
    }
    if (lost) throw lost;
  } catch (e) {
    process.stderr.write(`client: ${describe(e)}\n`);
    status = 1;
  }
  await client.destroy({ force: true }).catch(() => {});
  process.exit(status);
}

const { role, opts } = parseArgs(process.argv.slice(2));
if (role === 'server') await runServer(opts);
else if (role === 'client') await runClient(opts);
else usage('first argument: server or client');

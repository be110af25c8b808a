// examples/game_server.lua written for Node's dgram, for the comparison in bench/game/run.sh:
// the same arguments, wire format, tick, client timeout and output line.
//   node bench/game/node_server.js port tickHz seconds [expectedClients] [reusePort] [timeoutMs]
// reusePort needs Node >= 22.12 (older Node ignores the option; the line says so).
'use strict';
const dgram = require('dgram');
const fs = require('fs');
const { performance } = require('perf_hooks');

const args = process.argv.slice(2);
const port = Number(args[0] ?? 41240);
const tickHz = Number(args[1] ?? 60);
const seconds = Number(args[2] ?? 10);
const expected = Number(args[3] ?? 100);
const reusePort = args[4] === '1' || args[4] === 'true';
const timeoutMs = Number(args[5] ?? 1000);

const INPUT = 1, SNAPSHOT = 2, SNAPSHOT_SIZE = 25;
// Sized as the Lua server does (see examples/game_server.lua and docs/GAME_SERVER.md).
const recvBuffer = Math.max(212992, Math.floor(expected * 6 * 840 / 2));

const server = dgram.createSocket({ type: 'udp4', reusePort, recvBufferSize: recvBuffer });

// Clients by address, then port, and as an array for the broadcast.
const byAddress = new Map();
const list = [];
let tick = 0, joined = 0, dropped = 0, peak = 0, inputs = 0, snapshots = 0;
let received = 0, sendErrors = 0, missed = 0;
const timeoutTicks = Math.max(1, Math.ceil(timeoutMs * tickHz / 1000));

server.on('message', (msg, rinfo) => {
  received++;
  if (msg.length !== 15 || msg[0] !== INPUT) return;
  const seq = msg.readUInt32LE(1), ts = msg.readDoubleLE(5);
  const dx = msg.readInt8(13), dy = msg.readInt8(14);
  let ports = byAddress.get(rinfo.address);
  if (ports === undefined) {
    ports = new Map();
    byAddress.set(rinfo.address, ports);
  }
  let c = ports.get(rinfo.port);
  if (c === undefined) {
    c = { address: rinfo.address, port: rinfo.port, seq: 0, ts: 0, x: 0, y: 0, seen: tick };
    ports.set(rinfo.port, c);
    list.push(c);
    joined++;
    if (list.length > peak) peak = list.length;
  }
  inputs++;
  if (seq > c.seq) {
    c.seq = seq; c.ts = ts;
    c.x += dx; c.y += dy;
  }
  c.seen = tick;
});

// Sends without a callback, as the Lua server's: a failed send is an 'error' event.
server.on('error', () => { sendErrors++; });

function drop(i) {
  const c = list[i];
  byAddress.get(c.address).delete(c.port);
  list[i] = list[list.length - 1];
  list.pop();
  dropped++;
}

function broadcast() {
  const oldest = tick - timeoutTicks;
  let i = 0;
  while (i < list.length) {
    const c = list[i];
    if (c.seen < oldest) {
      drop(i);
      continue;
    }
    const b = Buffer.allocUnsafe(SNAPSHOT_SIZE);
    b.writeUInt8(SNAPSHOT, 0);
    b.writeUInt32LE(tick >>> 0, 1);
    b.writeUInt32LE(c.seq >>> 0, 5);
    b.writeDoubleLE(c.ts, 9);
    b.writeInt32LE(c.x | 0, 17);
    b.writeInt32LE(c.y | 0, 21);
    server.send(b, c.port, c.address);
    snapshots++;
    i++;
  }
}

// A fixed-rate tick, as dgram.setFixedInterval: each due time is the previous one plus
// the period; ticks missed by more than a whole period are skipped and counted.
const period = 1000 / tickHz;
let due = performance.now() + period;
let ticker = null;
function onTick() {
  const now = performance.now();
  if (now - due >= period) {
    const skip = Math.floor((now - due) / period);
    missed += skip;
    due += skip * period;
  }
  due += period;
  tick++;
  broadcast();
  ticker = setTimeout(onTick, Math.max(0, due - performance.now()));
}
ticker = setTimeout(onTick, period);

// The receive queue's drops column in /proc/net/udp (Node has no call for it).
function kernelDrops() {
  try {
    const hexPort = server.address().port.toString(16).toUpperCase().padStart(4, '0');
    for (const line of fs.readFileSync('/proc/net/udp', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[1] === `0100007F:${hexPort}`) return Number(f[f.length - 1]);
    }
  } catch (e) { /* not Linux */ }
  return 'nil';
}

let stopped = false;
function stop(why) {
  if (stopped) return;
  stopped = true;
  clearTimeout(ticker);
  clearTimeout(stopper);
  const cpu = process.cpuUsage();
  const line = `SERVER impl=node mode=standalone stop=${why} ticks=${tick} missed=${missed} ` +
    `clients=${joined} peak=${peak} dropped=${dropped} active=${list.length} inputs=${inputs} ` +
    `snapshots=${snapshots} received=${received} sent=${snapshots - sendErrors} ` +
    `sendErrors=${sendErrors} kernelDrops=${kernelDrops()} queueDrops=0 ` +
    `rcvbuf=${server.getRecvBufferSize()} cpu=${((cpu.user + cpu.system) / 1e6).toFixed(3)}`;
  process.stdout.write(line + '\n');
  server.close();
}
const stopper = setTimeout(() => stop('time'), seconds * 1000);
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));

server.bind(port, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${server.address().port} rcvbuf=${server.getRecvBufferSize()}\n`);
});

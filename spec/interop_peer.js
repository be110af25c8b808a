// The Node.js side of spec/interop_spec.lua: a real `dgram` peer for the Lua module.
// Everything here is bounded in time and exits by itself.
//
//   node interop_peer.js server <udp4|udp6> <count> <timeout_ms>
//     Echo server on the loopback address: prints its port on a line of its own, echoes
//     each datagram back to its sender prefixed with "node:", prints "done <count>" and
//     exits 0 after <count> datagrams; prints "timeout <n>" and exits 1 after <timeout_ms>.
//
//   node interop_peer.js client <udp4|udp6> <port> <timeout_ms>
//     Sends the datagrams below to the Lua echo server at <port> (which answers each with
//     "lua:" .. msg), checks every echo (bytes, sender) and prints "ok" (exit 0), or
//     "fail: ..." (exit 1) on a wrong echo or when <timeout_ms> passes first.
'use strict';

const dgram = require('dgram');

const [mode, type, arg, timeoutArg] = process.argv.slice(2);
const host = type === 'udp6' ? '::1' : '127.0.0.1';
const timeoutMs = Number(timeoutArg) || 5000;

function finish(line, code) {
  process.stdout.write(line + '\n', () => process.exit(code));
}

// The datagrams the client sends: text, every byte value, an empty one, a large one.
function payloads() {
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  const large = Buffer.alloc(60000);
  for (let i = 0; i < large.length; i++) large[i] = (i * 7 + 3) & 0xff;
  return [Buffer.from('hello from node'), all, Buffer.alloc(0), large];
}

if (mode === 'server') {
  const count = Number(arg);
  const sock = dgram.createSocket(type);
  let seen = 0;
  const timer = setTimeout(() => finish('timeout ' + seen, 1), timeoutMs);
  sock.on('error', (err) => finish('error ' + err.message, 1));
  sock.on('message', (msg, rinfo) => {
    seen++;
    const last = seen >= count;
    sock.send(Buffer.concat([Buffer.from('node:'), msg]), rinfo.port, rinfo.address, (err) => {
      if (err) return finish('error ' + err.message, 1);
      if (last) {
        clearTimeout(timer);
        sock.close();
        finish('done ' + seen, 0);
      }
    });
  });
  sock.bind(0, host, () => {
    process.stdout.write(sock.address().port + '\n');
  });
} else if (mode === 'client') {
  const port = Number(arg);
  const sent = payloads();
  const sock = dgram.createSocket(type);
  const got = [];
  const timer = setTimeout(
    () => finish('fail: timeout after ' + got.length + ' of ' + sent.length + ' echoes', 1),
    timeoutMs);
  sock.on('error', (err) => finish('fail: error ' + err.message, 1));
  sock.on('message', (msg, rinfo) => {
    const i = got.length;
    got.push(msg);
    const want = Buffer.concat([Buffer.from('lua:'), sent[i]]);
    if (!msg.equals(want)) {
      return finish('fail: echo ' + (i + 1) + ' has ' + msg.length + ' bytes, wanted ' +
        want.length + ' (' + JSON.stringify(msg.subarray(0, 40).toString('latin1')) + ')', 1);
    }
    if (rinfo.address !== host || rinfo.port !== port) {
      return finish('fail: echo ' + (i + 1) + ' came from ' + rinfo.address + ':' + rinfo.port, 1);
    }
    if (got.length === sent.length) {
      clearTimeout(timer);
      sock.close();
      finish('ok', 0);
    }
  });
  // One after the other, so that the echoes come back in the order sent.
  let next = 0;
  const sendNext = () => {
    if (next >= sent.length) return;
    sock.send(sent[next++], port, host, (err) => {
      if (err) return finish('fail: send error ' + err.message, 1);
      sendNext();
    });
  };
  sendNext();
} else {
  finish('usage: interop_peer.js server|client udp4|udp6 <count|port> <timeout_ms>', 2);
}

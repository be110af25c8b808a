// The benchmark peer for Node.js's own dgram module, written the way its manual shows.
// Usage: node --expose-gc bench/peers/node_peer.js MODE ARGS...
// (the modes of bench/peers/dgram_peer.lua: recv, send, echo-server, echo-client, sockets)
'use strict';
const dgram = require('dgram');
const fs = require('fs');

const TICK_MS = 20, IDLE = 0.300, START = 15.0, LIMIT = 60.0;
const now = () => Number(process.hrtime.bigint()) / 1e9;
const cpu = () => { const u = process.cpuUsage(); return [u.user / 1e6, u.system / 1e6]; };

function out(kv) {
  const keys = Object.keys(kv).sort();
  console.log(keys.map((k) => {
    const v = kv[k];
    return `${k}=${Number.isInteger(v) ? v : Number(v).toFixed(6)}`;
  }).join(' '));
}

function percentile(list, p) {
  if (list.length === 0) return 0;
  const a = Float64Array.from(list).sort();
  return a[Math.max(0, Math.min(a.length - 1, Math.ceil(a.length * p / 100) - 1))];
}

function rss() {
  const statm = fs.readFileSync('/proc/self/statm', 'utf8').split(' ');
  return Number(statm[1]) * 4096;
}

// The receive meter of bench/peers/benchlib.lua.
function meter() {
  const born = now();
  let first = null, e0 = null, e1 = null;
  const sample = (count) => { const [user, sys] = cpu(); return { wall: now(), user, sys, count }; };
  return {
    tick(count) {
      const s = sample(count);
      if (s.wall - born > LIMIT) return true;
      if (!first) {
        if (count === 0) return s.wall - born > START;
        first = e0 = e1 = s;
        return false;
      }
      if (count > e1.count) { e0 = e1; e1 = s; return false; }
      return s.wall - e1.wall > IDLE;
    },
    report(count, bytes) {
      const e = first && (e0.count > first.count ? e0 : e1);
      out({
        count, bytes,
        win_count: first ? e.count - first.count : 0,
        win_wall: first ? e.wall - first.wall : 0,
        win_user: first ? e.user - first.user : 0,
        win_sys: first ? e.sys - first.sys : 0,
      });
    },
  };
}

const modes = {
  recv() {
    const s = dgram.createSocket('udp4');
    let count = 0, bytes = 0;
    s.on('message', (msg) => { count++; bytes += msg.length; });
    const m = meter();
    const ticker = setInterval(() => {
      if (m.tick(count)) { clearInterval(ticker); s.close(); m.report(count, bytes); }
    }, TICK_MS);
    s.bind(0, '127.0.0.1', () => out({ port: s.address().port }));
  },

  send(port, n, size, how) {
    port = Number(port); n = Number(n);
    const s = dgram.createSocket('udp4');
    const payload = Buffer.alloc(Number(size), 'x');
    s.bind(0, '127.0.0.1', () => {
      const t0 = now(), [u0, s0] = cpu();
      const finish = (errors) => {
        const [u1, s1] = cpu();
        out({ sent: n, secs: now() - t0, errors, user: u1 - u0, sys: s1 - s0 });
        s.close();
      };
      if (n === 0) return finish(0);
      if (how === 'cb') {
        let done = 0, errors = 0;
        const cb = (err) => { if (err) errors++; if (++done === n) finish(errors); };
        for (let i = 0; i < n; i++) s.send(payload, port, '127.0.0.1', cb);
      } else {
        for (let i = 0; i < n; i++) s.send(payload, port, '127.0.0.1');
        const drained = () => {
          if (s.getSendQueueCount() === 0) return finish(0);
          setImmediate(drained);
        };
        setImmediate(drained);
      }
    });
  },

  'echo-server'() {
    const s = dgram.createSocket('udp4');
    const deadline = setTimeout(() => s.close(), 60000);
    s.on('message', (msg, rinfo) => {
      if (msg.length === 4) { clearTimeout(deadline); s.close(); return; }
      s.send(msg, rinfo.port, rinfo.address);
    });
    s.bind(0, '127.0.0.1', () => out({ port: s.address().port }));
  },

  'echo-client'(port, inflight, secs, size) {
    port = Number(port); inflight = Number(inflight); secs = Number(secs);
    const s = dgram.createSocket('udp4');
    const payload = Buffer.alloc(Number(size), 'x');
    let count = 0, done = false, t0 = 0, sentAt = 0, last = 0, still = 0, ticker = null;
    let cpu0 = null;
    const lat = [];
    s.on('message', () => {
      if (done) return;
      count++;
      if (inflight === 1) { const t = now(); lat.push(t - sentAt); sentAt = t; }
      s.send(payload, port, '127.0.0.1');
    });
    const finish = (stalled) => {
      done = true;
      const secsRun = now() - t0;
      const cpu = process.cpuUsage(cpu0);
      clearInterval(ticker);
      out({ count, secs: secsRun, stalled, user: cpu.user / 1e6, sys: cpu.system / 1e6,
        p50_us: percentile(lat, 50) * 1e6, p99_us: percentile(lat, 99) * 1e6 });
      let quits = 0;
      for (let i = 0; i < 3; i++) {
        s.send('quit', port, '127.0.0.1', () => { if (++quits === 3) s.close(); });
      }
    };
    s.bind(0, '127.0.0.1', () => {
      t0 = now(); sentAt = t0; cpu0 = process.cpuUsage();
      for (let i = 0; i < inflight; i++) s.send(payload, port, '127.0.0.1');
      ticker = setInterval(() => {
        if (now() - t0 >= secs) return finish(0);
        if (count === last) { if (++still >= 10) finish(1); } else { last = count; still = 0; }
      }, TICK_MS);
    });
  },

  sockets(n) {
    n = Number(n);
    const handler = () => {};
    global.gc(); global.gc();
    const r0 = rss();
    const t0 = now();
    const socks = [];
    let listening = 0;
    for (let i = 0; i < n; i++) {
      const s = dgram.createSocket('udp4');
      s.on('message', handler);
      s.bind(0, '127.0.0.1', () => { if (++listening === n) created(); });
      socks.push(s);
    }
    function created() {
      const t1 = now();
      global.gc(); global.gc();
      const r1 = rss();
      const t2 = now();
      let closed = 0;
      for (const s of socks) {
        s.close(() => {
          if (++closed === n) {
            const t3 = now();
            out({ n, rss_before: r0, rss_after: r1, per_socket: (r1 - r0) / n,
              create_s: t1 - t0, close_s: t3 - t2 });
          }
        });
      }
    }
  },
};

const [mode, ...rest] = process.argv.slice(2);
if (!modes[mode]) {
  process.stderr.write('usage: node_peer.js recv|send|echo-server|echo-client|sockets ...\n');
  process.exit(2);
}
modes[mode](...rest);

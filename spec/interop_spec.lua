-- Wire interoperability with a real Node.js `dgram` peer (spec/interop_peer.js): Node echoes
-- what this module sends, and this module echoes what Node sends. Needs `node` on the PATH
-- (Debian package `nodejs`; DGRAM_NODE names another binary); without it these tests fail.
-- The peer is bounded in time and exits by itself: nothing is killed here.
local H = require("helper")
local dgram = H.dgram

local here = debug.getinfo(1, "S").source:match("^@(.*)[/\\]") or "."
local PEER = here .. "/interop_peer.js"
local NODE = os.getenv("DGRAM_NODE") or "node"

local shell_quote = H.shell_quote

-- The node binary, or a failed assertion that says how to get one.
local function node()
  local p = io.popen("command -v " .. shell_quote(NODE) .. " 2>/dev/null")
  local path = p and p:read("*l")
  if p then p:close() end
  assert(path and path ~= "", ("Node.js (%q) is not installed, so the interop specs cannot run: "
    .. "install the Debian package `nodejs` (or set DGRAM_NODE)"):format(NODE))
  return path
end

-- Starts the peer; returns the popen handle (stdout and stderr of node). Node does not
-- inherit LD_PRELOAD: under `make asan` the sanitizers are for this module, not for node.
local function start_peer(...)
  local cmd = { shell_quote(node()), shell_quote(PEER) }
  for _, a in ipairs({ ... }) do cmd[#cmd + 1] = shell_quote(a) end
  return H.popen(table.concat(cmd, " "))
end

-- Reads the rest of the peer's output and waits for it to exit (it does by itself, in
-- bounded time); returns the output and its exit status.
local function finish_peer(p)
  local out = p:read("*a") or ""
  local _, how, code = p:close()
  return out, how, code
end

-- Datagrams sent to the Node echo server: text, all 256 byte values, an empty one, a large
-- binary one.
local function payloads()
  local large = {}
  for i = 0, 59999 do large[#large + 1] = string.char((i * 7 + 3) % 256) end
  return {
    "hello from lua",
    H.all_bytes,
    "",
    table.concat(large),
  }
end

local TIMEOUT = 5000 * H.scale

local function to_node_and_back(kind)
  local host = kind == "udp6" and "::1" or "127.0.0.1"
  local family = kind == "udp6" and "IPv6" or "IPv4"
  local sent = payloads()
  local peer = start_peer("server", kind, #sent, TIMEOUT)
  local line = peer:read("*l")
  local port = math.tointeger(tonumber(line or ""))
  if not port then
    local rest = finish_peer(peer)
    error("the node peer did not print its port: " .. tostring(line) .. "\n" .. rest)
  end

  local echoes, infos, failures = {}, {}, {}
  local ok, err = pcall(function()
    dgram.spawn(function()
      local s = H.socket(kind)
      for i, msg in ipairs(sent) do
        local n, serr = s:sendAsync(msg, port, host)
        if not n then failures[#failures + 1] = ("send %d: %s"):format(i, tostring(serr)) end
        local echo, info = s:recv(2000 * H.scale)
        if not echo then
          failures[#failures + 1] = ("echo %d: %s"):format(i, tostring(info))
          break
        end
        echoes[i], infos[i] = echo, info
      end
      s:close()
    end)
    H.run(TIMEOUT + 1000)
  end)
  local out, how, code = finish_peer(peer)
  if not ok then error(err, 0) end

  assert.same({}, failures)
  assert.equals(#sent, #echoes)
  for i, msg in ipairs(sent) do
    assert.equals("node:" .. msg, echoes[i], "echo " .. i)
    assert.equals(#msg + 5, infos[i].size)
    assert.equals(host, infos[i].address)
    assert.equals(family, infos[i].family)
    assert.equals(port, infos[i].port)
  end
  assert.equals("done " .. #sent .. "\n", out)
  assert.equals("exit", how)
  assert.equals(0, code)
end

local function from_node(kind)
  local host = kind == "udp6" and "::1" or "127.0.0.1"
  local server, port = H.bound(kind)
  local expected = 4 -- interop_peer.js client sends four datagrams
  local got, sizes, errors = 0, {}, {}
  server:on("message", function(msg, rinfo)
    got = got + 1
    sizes[#sizes + 1] = rinfo.size
    assert.equals(host, rinfo.address)
    assert.equals(#msg, rinfo.size)
    local last = got == expected
    server:send("lua:" .. msg, rinfo.port, rinfo.address, function(err)
      if err then errors[#errors + 1] = tostring(err) end
      if last then server:close() end
    end)
  end)
  local peer = start_peer("client", kind, port, TIMEOUT)
  local ok, err = pcall(H.run, TIMEOUT + 1000)
  local out, how, code = finish_peer(peer)
  if not ok then error(err, 0) end
  assert.same({}, errors)
  assert.same({ 15, 256, 0, 60000 }, sizes)
  assert.equals("ok\n", out)
  assert.equals("exit", how)
  assert.equals(0, code)
end

describe("interop with a Node.js dgram peer", function()
  after_each(H.cleanup)

  it("node is installed (these specs need it)", function()
    node()
  end)

  it("node echoes what this module sends over udp4: text, all bytes, empty, 60000 bytes",
    function() to_node_and_back("udp4") end)

  it("node echoes what this module sends over udp6", function() to_node_and_back("udp6") end)

  it("this module echoes what a node client sends over udp4, and node checks the bytes",
    function() from_node("udp4") end)

  it("this module echoes what a node client sends over udp6", function() from_node("udp6") end)
end)

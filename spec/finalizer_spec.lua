-- Finalizers that use the module while the Lua state closes (lua_close), in a child
-- lua5.4: Lua finalizes the newest objects first, so an object made before
-- require("dgram") is finalized after the module's loop. Its finalizer gets error objects
-- from the module, never a crash or a write into the loop's freed memory.
local H = require("helper")

describe("a finalizer that runs after the loop's own, as the Lua state closes", function()
  it("gets ERR_SOCKET_DGRAM_NOT_RUNNING from every call, and the child exits cleanly", function()
    local ok, out = H.child([[
      local setmetatable = require("gcmodes").setmetatable -- (__gc on tables: not in 5.1)
      local results = {}
      local function try(name, fn, ...)
        local ok, err = pcall(fn, ...)
        results[#results + 1] = name .. " " .. (ok and "ok" or type(err) == "table"
          and tostring(err.code) or "string: " .. tostring(err))
      end
      -- made before require("dgram"): finalized after the loop
      local early = setmetatable({}, { __gc = function()
        local dgram = package.loaded.dgram
        local core = package.loaded["dgram.core"]
        try("createSocket", dgram.createSocket, "udp4")
        try("setTimeout", dgram.setTimeout, 1, print)
        try("setInterval", dgram.setInterval, 1, print)
        try("nextTick", core.nextTick, print)
        try("run", dgram.run)
        try("run nowait", dgram.run, "nowait")
        try("alive", dgram.alive)
        try("backendTimeout", dgram.backendTimeout)
        try("batch", dgram.batch, function() end)
        try("onSignal", dgram.onSignal, "SIGHUP", print)
        for _, name in ipairs({ "bound", "unbound", "late" }) do
          local s = _G[name]
          try(name .. " send", s.send, s, "x", 9, "127.0.0.1")
          try(name .. " bind", s.bind, s, 0)
          try(name .. " close", s.close, s)
          try(name .. " address", s.address, s)
        end
        print(table.concat(results, "\n"))
      end })
      local dgram = require("dgram")
      _G.bound = dgram.createSocket("udp4")
      bound:bind(0, "127.0.0.1")
      _G.unbound = dgram.createSocket("udp4")
      -- made after the module: finalized before the loop, it makes a socket then (which
      -- the closing state does not finalize: the loop's __gc closes it)
      local late = setmetatable({}, { __gc = function()
        _G.late = dgram.createSocket("udp4")
        _G.late:bind(0, "127.0.0.1")
      end })
      _G.keep = { early, late }
    ]])
    assert.is_true(ok, out)
    local want = {}
    for _, name in ipairs({ "createSocket", "setTimeout", "setInterval", "nextTick", "run",
      "run nowait", "alive", "backendTimeout", "batch", "onSignal" }) do
      want[#want + 1] = name .. " ERR_SOCKET_DGRAM_NOT_RUNNING"
    end
    for _, name in ipairs({ "bound", "unbound", "late" }) do
      for _, call in ipairs({ "send", "bind", "close", "address" }) do
        want[#want + 1] = name .. " " .. call .. " ERR_SOCKET_DGRAM_NOT_RUNNING"
      end
    end
    -- The bound sockets' binds never ran (no dgram.run): the hint comes first.
    assert.equals(H.FORGOTTEN_RUN_HINT .. table.concat(want, "\n") .. "\n", out)
  end)
end)

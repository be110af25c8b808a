-- The reference in docs/ and the editor types in types/dgram.lua cover the real module:
-- every public function and method (enumerated from the loaded module, not from a list)
-- has a heading in docs/*.md and a typed definition with its parameters in
-- types/dgram.lua; every relative link in README.md and docs/*.md leads somewhere; the
-- scripts of docs/GUIDE.md run as saved.

local H = require("helper")
local dgram = require("dgram")

local function read(path)
  local f = assert(io.open(path))
  local text = f:read("*a")
  f:close()
  return text
end

local function exists(path)
  return os.rename(path, path) ~= nil -- true for files and directories alike
end

local function doc_files()
  local files = {}
  local p = assert(io.popen("ls docs"))
  for name in p:lines() do
    if name:match("%.md$") then files[#files + 1] = "docs/" .. name end
  end
  p:close()
  table.sort(files)
  return files
end

-- The heading lines of docs/*.md, and their whole text.
local function docs()
  local headings, text = {}, {}
  for _, path in ipairs(doc_files()) do
    local body = read(path)
    text[#text + 1] = body
    for line in body:gmatch("[^\n]+") do
      if line:match("^#+ ") then headings[#headings + 1] = line end
    end
  end
  return headings, table.concat(text, "\n")
end

local function public(t, kind)
  local names = {}
  for name, value in pairs(t) do
    if type(name) == "string" and not name:match("^_") and (not kind or type(value) == kind) then
      names[#names + 1] = name
    end
  end
  table.sort(names)
  return names
end

-- The method table of a handle kind, through the metatable the C core registered.
local function methods_of(metatable_name)
  local mt = debug.getregistry()[metatable_name]
  assert(type(mt) == "table" and type(mt.__index) == "table", metatable_name)
  return mt.__index
end

-- Everything public: { kind, name, fn, method, doc = heading prefixes, types = forms }.
-- kind says how the docs and the types must name it.
local function surface()
  local items = {}
  local function add(kind, t, name, doc, types, method)
    items[#items + 1] = { kind = kind, name = name, fn = t[name], doc = doc, types = types,
                          method = method }
  end
  for _, name in ipairs(public(dgram)) do
    local is_fn = type(dgram[name]) == "function"
    add("dgram", dgram, name, { "dgram." .. name .. (is_fn and "(" or "") },
      is_fn and { "function dgram." .. name .. "(" } or { "---@field " .. name .. " " }, false)
  end
  local emitter = dgram.EventEmitter
  for _, name in ipairs(public(dgram.Socket, "function")) do
    local forms = { "function Socket:" .. name .. "(" }
    if emitter[name] then forms[2] = "function EventEmitter:" .. name .. "(" end
    add("socket", dgram.Socket, name, { "socket:" .. name .. "(" }, forms, true)
  end
  for _, name in ipairs(public(emitter, "function")) do
    if name == "new" then
      add("EventEmitter", emitter, name, { "dgram.EventEmitter.new(" },
        { "function EventEmitter.new(" }, false)
    else
      add("EventEmitter", emitter, name, { "socket:" .. name .. "(" },
        { "function EventEmitter:" .. name .. "(" }, true)
    end
  end
  local handles = { { "dgram.timer", "timer", "Timer" }, { "dgram.watcher", "watcher", "Watcher" },
                    { "dgram.signal", "signal", "SignalHandle" } }
  for _, h in ipairs(handles) do
    local t = methods_of(h[1])
    for _, name in ipairs(public(t, "function")) do
      local typed = "function " .. h[3] .. ":" .. name .. "("
      add(h[2], t, name, { h[2] .. ":" .. name .. "(" }, { typed }, true)
    end
  end
  return items
end

local function count_kind(items, kind)
  local n = 0
  for _, it in ipairs(items) do
    if it.kind == kind then n = n + 1 end
  end
  return n
end

-- types/dgram.lua as { [function line prefix] = { params = {...}, documented = {...} } }.
local function parse_types(text)
  local defs, doc = {}, {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local pname = line:match("^%-%-%-@param%s+([%w_%.]+)")
    local head, args = line:match("^(function [%w_]+[%.:][%w_]+)%((.-)%)")
    if pname then
      doc[pname:gsub("%?$", "")] = true
    elseif head then
      local params = {}
      for p in args:gmatch("[^,%s]+") do params[#params + 1] = p end
      defs[head .. "("] = { params = params, documented = doc }
      doc = {}
    elseif not line:match("^%-%-%-") then
      doc = {}
    end
  end
  return defs
end

describe("docs", function()
  local items = surface()
  local headings, alltext = docs()

  it("the enumeration finds the whole module", function()
    assert.is_true(count_kind(items, "dgram") >= 24)
    assert.is_true(count_kind(items, "socket") >= 40)
    assert.is_true(count_kind(items, "EventEmitter") >= 13)
    assert.equal(5, count_kind(items, "timer"))
    assert.equal(3, count_kind(items, "watcher"))
    assert.equal(1, count_kind(items, "signal"))
  end)

  it("every public function and method has a heading in docs/", function()
    local missing = {}
    for _, it in ipairs(items) do
      local found = false
      for _, h in ipairs(headings) do
        for _, form in ipairs(it.doc) do
          if h:find(form, 1, true) then found = true end
        end
      end
      if not found then missing[#missing + 1] = it.kind .. " " .. it.name end
    end
    assert.same({}, missing)
  end)

  it("every public function of dgram.core is named in docs/", function()
    local missing = {}
    for _, name in ipairs(public(dgram.core)) do
      if not alltext:find("core." .. name, 1, true) then missing[#missing + 1] = name end
    end
    assert.same({}, missing)
  end)

  it("names every event and every error code the module raises", function()
    local missing = {}
    for _, ev in ipairs({ "message", "listening", "connect", "close", "error" }) do
      if not alltext:find("'" .. ev .. "'", 1, true) then missing[#missing + 1] = ev end
    end
    local codes = {}
    for _, path in ipairs({ "lua/dgram.lua", "lua/dgram/emitter.lua", "lua/dgram/coro.lua" }) do
      for code in read(path):gmatch('"(ERR_[%u_]+)"') do codes[code] = true end
    end
    local p = assert(io.popen("cat src/*.c"))
    for code in p:read("*a"):gmatch('"(ERR_[%u_]+)"') do codes[code] = true end
    p:close()
    assert.is_true(codes.ERR_SOCKET_BAD_PORT and codes.ERR_INVALID_STATE)
    local errors = read("docs/ERRORS.md")
    for code in pairs(codes) do
      if not errors:find("### " .. code .. "\n", 1, true) then missing[#missing + 1] = code end
    end
    table.sort(missing)
    assert.same({}, missing)
  end)
end)

-- The createSocket options the code reads: the C core's and the wrapper's.
local function socket_options()
  local names = {}
  local core_src = read("src/lifecycle.c") .. read("src/blocklist.c")
  for name in core_src:gmatch('%(L, opts, "([%w_]+)"%)') do names[name] = true end
  for name in read("lua/dgram/coro.lua"):gmatch('check_limit%(options, "([%w_]+)"%)') do
    names[name] = true
  end
  return names
end

describe("docs: createSocket options", function()
  it("the API reference names every option the code reads", function()
    local names, missing, n = socket_options(), {}, 0
    local api = read("docs/API.md")
    local types = read("types/dgram.lua")
    for name in pairs(names) do
      n = n + 1
      if not api:find("`" .. name .. "`", 1, true) then missing[#missing + 1] = "docs " .. name end
      if not types:find("---@field " .. name .. "? ", 1, true) then
        missing[#missing + 1] = "types " .. name
      end
    end
    assert.is_true(n >= 10 and names.reusePort and names.recvQueueBytes and names.lookup)
    table.sort(missing)
    assert.same({}, missing)
  end)
end)

describe("types/dgram.lua", function()
  local text = read("types/dgram.lua")
  local defs = parse_types(text)

  it("parses", function()
    local chunk, err = loadfile("types/dgram.lua")
    assert.is_function(chunk, err)
    assert.truthy(text:find("^%-%-%-@meta"))
  end)

  it("defines every public function and method with its parameters", function()
    local missing, undocumented, short = {}, {}, {}
    for _, it in ipairs(surface()) do
      local def
      for _, form in ipairs(it.types) do
        def = def or defs[form] or (form:match("^%-%-%-@field") and text:find(form, 1, true))
      end
      if not def then
        missing[#missing + 1] = it.kind .. " " .. it.name
      elseif type(def) == "table" then
        for _, p in ipairs(def.params) do
          if not def.documented[p] then undocumented[#undocumented + 1] = it.name .. " " .. p end
        end
        for p in pairs(def.documented) do
          local listed = false
          for _, q in ipairs(def.params) do listed = listed or q == p end
          if not listed then undocumented[#undocumented + 1] = it.name .. " @param " .. p end
        end
        -- A Lua function's own parameters say how many the types must name at least
        -- (Lua 5.2 and later tell them: nparams).
        local info = type(it.fn) == "function" and debug.getinfo(it.fn, "Su")
        if info and info.what == "Lua" and info.nparams then
          local named = #def.params - ((def.params[#def.params] == "...") and 1 or 0)
          local need = info.nparams - (it.method and 1 or 0)
          if named < need or (info.isvararg and def.params[#def.params] ~= "...") then
            short[#short + 1] = it.kind .. " " .. it.name
          end
        end
      end
    end
    assert.same({}, missing)
    assert.same({}, undocumented)
    assert.same({}, short)
  end)

  it("types every function of dgram.core", function()
    local missing = {}
    for _, name in ipairs(public(dgram.core, "function")) do
      if not defs["function core." .. name .. "("]
        and not text:find("\ncore." .. name .. " = dgram." .. name .. "\n", 1, true) then
        missing[#missing + 1] = name
      end
    end
    assert.same({}, missing)
  end)
end)

-- GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes.
local function slug(heading)
  return (heading:gsub("^#+%s*", ""):lower():gsub("[^%w%s_%-]", ""):gsub("%s", "-"))
end

local function anchors_of(path)
  local set = {}
  for line in read(path):gmatch("[^\n]+") do
    if line:match("^#+ ") then set[slug(line)] = true end
  end
  return set
end

describe("links", function()
  it("every relative link in README.md and docs/*.md leads to a file or an anchor", function()
    local files = doc_files()
    table.insert(files, 1, "README.md")
    local broken, checked = {}, 0
    for _, path in ipairs(files) do
      local dir = path:match("^(.*)/") or "."
      for target in read(path):gmatch("%]%(([^)%s]+)%)") do
        if not target:match("^%a[%w+.-]*:") then
          checked = checked + 1
          local file, anchor = target:match("^([^#]*)#?(.*)$")
          local resolved = file == "" and path or (dir .. "/" .. file)
          if not exists(resolved) then
            broken[#broken + 1] = path .. ": " .. target
          elseif anchor ~= "" and resolved:match("%.md$") and not anchors_of(resolved)[anchor] then
            broken[#broken + 1] = path .. ": " .. target .. " (no such heading)"
          end
        end
      end
    end
    assert.is_true(checked >= 20)
    assert.same({}, broken)
  end)

  it("never sends users to shared/", function()
    local files = doc_files()
    table.insert(files, 1, "README.md")
    for _, path in ipairs(files) do
      assert.falsy(read(path):find("shared/", 1, true), path)
    end
  end)
end)

-- Runs a script as `lua5.4 script.lua` (the Lua under test, H.lua); returns whether it
-- exited with 0, and its output.
-- Under `make asan` the script is checked for memory errors but not for leaks: at the exit
-- of some scripts LeakSanitizer's own tracer crashes on this machine ("Tracer caught signal
-- 11" while it reads a bogus dynamic-TLS range), whatever the script does; the specs that
-- run the same calls in process are checked for leaks.
local function run_script(code)
  local dir = H.child_dir(code)
  local env = H.child_env()
  if env ~= "" then env = env .. "ASAN_OPTIONS=detect_leaks=0:exitcode=99 " end
  local ok = H.execute(("%stimeout %d %s %s >%s 2>&1"):format(env, 20 * H.scale, H.lua,
    H.shell_quote(dir .. "/child.lua"), H.shell_quote(dir .. "/out")))
  local output = H.read_text(dir .. "/out")
  H.remove_dir(dir)
  return ok == true, output
end

describe("docs/GUIDE.md", function()
  local expected = { "client got HELLO\n", "no answer\n", "pong ping 1\npong ping 2\n",
                     "the player saw %d+ snapshots\n" }

  it("runs each script as saved and shows what the guide says", function()
    local blocks = {}
    for code in read("docs/GUIDE.md"):gmatch("```lua\n(.-)```") do blocks[#blocks + 1] = code end
    assert.equal(#expected, #blocks)
    for i, code in ipairs(blocks) do
      local ok, out = run_script(code)
      assert.is_true(ok, out)
      assert.truthy(out:match("^" .. expected[i] .. "$"), ("script %d printed %q"):format(i, out))
    end
  end)
end)

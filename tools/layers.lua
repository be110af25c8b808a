-- The layer check of `make lint`: every call between the C files of src/ goes down the
-- order below (a file may call the files listed before it, never one listed after it).
-- Prints each call that goes up and exits 1 when there is one.
--   lua5.4 tools/layers.lua [src]
local LAYERS = {
  { "errors.c", "address.c" },                              -- addresses and errors
  { "busypoll.c", "loop.c", "timer.c", "signal.c", "watch.c" }, -- the loop (no sockets)
  { "socket.c" },                                           -- the socket core
  { "blocklist.c", "resolve.c", "transmit.c", "batch.c",    -- the operations
    "waiting.c", "recv.c", "bind.c", "connect.c", "send.c", "options.c", "stats.c",
    "lifecycle.c" },
  { "module.c" },                                           -- the module
}

local dir = arg[1] or "src"
local order = {}
for _, files in ipairs(LAYERS) do
  for _, f in ipairs(files) do order[#order + 1] = f end
end
local rank = {}
for i, f in ipairs(order) do rank[f] = i end

local function read(path)
  local fh = assert(io.open(path))
  local text = fh:read("*a")
  fh:close()
  return (text:gsub("/%*.-%*/", ""):gsub("//[^\n]*", ""))
end

-- Every file of src/ must have its place.
local p = assert(io.popen("ls " .. dir .. "/*.c"))
local files = {}
for path in p:lines() do files[#files + 1] = path:match("[^/]+$") end
p:close()
local bad = 0
for _, f in ipairs(files) do
  if not rank[f] then
    print(("layers: %s/%s has no place in tools/layers.lua"):format(dir, f))
    bad = bad + 1
  end
end

-- The functions each file defines for the others (not static).
local defined_in = {}
for _, f in ipairs(files) do
  local text = "\n" .. read(dir .. "/" .. f)
  for prefix, name in text:gmatch("\n([%a_][%w_%s%*]-[%s%*])([%a_][%w_]*)%s*%b()%s*{") do
    if not prefix:match("^static") then defined_in[name] = f end
  end
end

for _, f in ipairs(files) do
  local text = read(dir .. "/" .. f)
  for name, owner in pairs(defined_in) do
    if owner ~= f and rank[owner] and rank[f] and rank[owner] > rank[f] and
      text:find("%f[%w_]" .. name .. "%f[^%w_]") then
      print(("layers: %s uses %s (%s), which is above it"):format(f, name, owner))
      bad = bad + 1
    end
  end
end
if bad > 0 then os.exit(1) end
print(("layers: %d files, every call goes down"):format(#files))

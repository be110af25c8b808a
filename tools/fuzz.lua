-- The dgram fuzzer: seeded random calls of every public function and method with
-- hostile values (see tools/fuzz/*.lua); prints the calls made, errors by code, send
-- callbacks that ran zero or two times, and every broken invariant. Exit status 1 when
-- an invariant broke. `make fuzz` runs it under ASan+UBSan inside `unshare -n`.
--
--   lua5.4 tools/fuzz.lua [--calls N] [--seed S] [--seconds T] [--all]
--                         [--disable k1,k2] [--only k1,k2] [--known c1,c2] [--trace] [--list]
--   --all                      every attack kind, no check tolerated
--   --disable, --known         add kinds to leave out / checks to tolerate
--   --only                     just these kinds (known.lua's disabled ones too)
--   --trace                    every call to stderr, sockets by number (to find a crash)
--   DGRAM_FUZZ_DISABLE=k1,k2   attack kinds left out instead of tools/fuzz/known.lua's
--                              (the kinds that crash the process today)
--   DGRAM_FUZZ_KNOWN=c1,c2     invariants (the [check] of a violation) broken by open
--                              bugs instead of known.lua's: printed, not failing the run
--
-- Random strings parse as real multicast and broadcast addresses: run it only inside a
-- private network namespace (it refuses to start elsewhere unless DGRAM_FUZZ_ANYWHERE=1).
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path

local function set_of(list, into)
  into = into or {}
  for name in (list or ""):gmatch("[^,%s]+") do into[name] = true end
  return into
end

-- Defaults: the kinds and checks of fuzz/known.lua (open bugs), unless the environment
-- says otherwise; --all runs every kind and tolerates nothing.
local function from_env(env, list)
  local text = os.getenv(env)
  if text then return set_of(text) end
  local t = {}
  for _, name in ipairs(list) do t[name] = true end
  return t
end
local known = require("fuzz.known")
local opts = { calls = 1000000, seed = os.time(), seconds = 600,
  disabled = from_env("DGRAM_FUZZ_DISABLE", known.disabled),
  known = from_env("DGRAM_FUZZ_KNOWN", known.known) }
local i = 1
while arg[i] do
  local a, v = arg[i], arg[i + 1]
  if a == "--calls" then opts.calls, i = assert(math.tointeger(tonumber(v)), a), i + 1
  elseif a == "--seed" then opts.seed, i = assert(math.tointeger(tonumber(v)), a), i + 1
  elseif a == "--seconds" then opts.seconds, i = assert(tonumber(v), a), i + 1
  elseif a == "--disable" then set_of(v, opts.disabled); i = i + 1
  elseif a == "--only" then opts.only, opts.disabled = set_of(v), {}; i = i + 1
  elseif a == "--known" then opts.known = set_of(v, opts.known); i = i + 1
  elseif a == "--trace" then opts.trace = true
  elseif a == "--list" then opts.list = true
  elseif a == "--all" then opts.disabled, opts.known = {}, {}
  else error("unknown argument " .. a) end
  i = i + 1
end

local function enabled(name)
  return not opts.disabled[name] and (not opts.only or opts.only[name])
end

-- gc-exit (item 3): objects made before require("dgram") whose finalizers use the module
-- when the state closes, after the module's own finalizers.
if not opts.list and enabled("gc-exit") then
  opts.early_gc = {} -- kept to the end
  for k = 1, 3 do
    opts.early_gc[k] = require("fuzz.values").finalized({}, { __gc = function()
      local ok, dgram = pcall(require, "dgram")
      if not ok then return end
      local made, s = pcall(dgram.createSocket, "udp4")
      if made then pcall(s.send, s, "after the loop", 9, "127.0.0.1") end
      pcall(dgram.setTimeout, 1, function() end)
      pcall(dgram.run, "nowait")
    end })
  end
end

local attacks = require("fuzz.attacks")
if opts.list then
  local names = {}
  for name in pairs(attacks.kinds) do names[#names + 1] = name end
  table.sort(names)
  print(table.concat(names, "\n"))
  os.exit(0)
end

local H_netns = dofile(dir .. "/../spec/helper.lua").netns_problem
local problem = H_netns()
if problem and os.getenv("DGRAM_FUZZ_ANYWHERE") ~= "1" then
  io.stderr:write("fuzz: refusing to run outside a private network namespace: ", problem, "\n")
  os.exit(2)
end

local dgram = require("dgram")
local Engine = require("fuzz.engine")
math.randomseed(opts.seed)
local function names(set)
  local list = {}
  for name in pairs(set) do list[#list + 1] = name end
  table.sort(list)
  return #list > 0 and table.concat(list, ",") or "none"
end
print(("fuzz: seed %d, up to %d calls or %g s\n  kinds disabled: %s\n  checks known open: %s")
  :format(opts.seed, opts.calls, opts.seconds, names(opts.disabled), names(opts.known)))
local F = Engine.new(dgram, opts)
local t0 = os.time()
F:run(attacks)
local broken = F:report()
print(("fuzz: seed %d, %d s"):format(opts.seed, os.time() - t0))
io.stdout:flush()
-- close the state: the finalizers of gc-exit run now, after the report
os.exit(broken > 0 and 1 or 0, true)

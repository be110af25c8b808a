-- Every ```lua block of README.md runs as saved: a child lua5.4 given the block alone
-- ends by itself (within a deadline), with status 0, something on stdout and nothing on
-- stderr. The children run in a private network namespace when the machine allows it,
-- since the README's examples use Node's fixed port 41234.
local H = require("helper")

-- The README's Lua blocks: { line = where the block starts, code = its text }.
local function lua_blocks(text)
  local blocks, line, open = {}, 0, nil
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do
    line = line + 1
    if open then
      if l:match("^```%s*$") then
        blocks[#blocks + 1] = open
        open = nil
      else
        open.code = open.code .. l .. "\n"
      end
    elseif l:match("^```lua%s*$") then
      open = { line = line, code = "" }
    end
  end
  assert(not open, "README.md: the ```lua block of line " .. (open and open.line or 0)
    .. " never ends")
  return blocks
end

local netns -- whether children can have a private network namespace (checked once)
local function can_unshare()
  if netns == nil then
    netns = select(2, H.sh("unshare -n sh -c 'ip link set lo up'")) == 0
  end
  return netns
end

-- Runs `code` as a saved script; returns its exit status, stdout and stderr.
local function run_saved(code)
  local dir = H.child_dir(code)
  local cmd = ("%stimeout %d %s %s >%s 2>%s"):format(H.child_env(), 20 * H.scale, H.lua,
    H.shell_quote(dir .. "/child.lua"), H.shell_quote(dir .. "/out"),
    H.shell_quote(dir .. "/err"))
  if can_unshare() then
    cmd = "unshare -n sh -c " .. H.shell_quote("ip link set lo up && " .. cmd)
  end
  local _, status = H.sh(cmd)
  local out, err = H.read_text(dir .. "/out"), H.read_text(dir .. "/err")
  H.remove_dir(dir)
  return status, out, err
end

describe("README.md", function()
  local blocks = lua_blocks(H.read_text("README.md"))

  it("has its Lua examples in ```lua blocks", function()
    assert.is_true(#blocks >= 4, #blocks .. " ```lua blocks")
  end)

  for _, block in ipairs(blocks) do
    it("line " .. block.line .. ": the snippet runs as saved and ends by itself", function()
      local status, out, err = run_saved(block.code)
      assert.equals(0, status, "status " .. tostring(status) .. " (124: still running at the "
        .. "deadline)\nstdout:\n" .. out .. "\nstderr:\n" .. err)
      assert.equals("", err)
      assert.is_true(#out > 0, "the snippet printed nothing")
    end)
  end
end)

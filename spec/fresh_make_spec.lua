-- On a machine without the build's packages, plain `make` (and `make demo`) names them
-- and the apt-get command to run, before any compiler runs. Simulated as a user that is
-- not root (so nothing is installed) with a PATH that lacks the C compiler.
local H = require("helper")

local TOOLS = { "sh", "make", "pkg-config", "lua5.4", "grep", "id", "dpkg-query" }

-- Runs `make target` as nobody with only TOOLS on PATH; returns output and status.
local function make_without_cc(target)
  local bin = os.tmpname()
  os.remove(bin)
  local links = { "mkdir -m 755 " .. H.shell_quote(bin) }
  for _, t in ipairs(TOOLS) do
    links[#links + 1] = ('ln -s "$(command -v %s)" %s'):format(t, H.shell_quote(bin .. "/" .. t))
  end
  assert(H.execute(table.concat(links, " && ")))
  local out, status = H.sh(("setpriv --reuid=65534 --regid=65534 --clear-groups env PATH=%s "
    .. "make --no-print-directory %s"):format(H.shell_quote(bin), target))
  H.remove_dir(bin)
  return out, status
end

describe("make on a machine without a C compiler", function()
  before_each(function()
    local _, status = H.sh("[ \"$(id -u)\" = 0 ] && command -v setpriv")
    if status ~= 0 then pending("needs root and setpriv to run make as another user") end
  end)

  for _, target in ipairs({ "", "demo" }) do
    it((target == "" and "make" or "make " .. target)
      .. ": names gcc and the apt-get command, compiles nothing", function()
      local out, status = make_without_cc(target)
      assert.is_not.equals(0, status, out)
      assert.truthy(out:find("dgram: missing packages: gcc\n", 1, true), out)
      assert.truthy(out:find("dgram: run as root:  apt-get update && apt-get install -y "
        .. "--no-install-recommends gcc\n", 1, true), out)
      assert.is_nil(out:find("-fPIC", 1, true), out)
      assert.is_nil(out:find("error:", 1, true), out)
    end)
  end
end)

-- The specs of `local s <close>` (spec/close54.lua): Lua 5.4 syntax, so on older Luas the
-- file is not loaded and its test is skipped with the reason (counted as skipped).
if _VERSION == "Lua 5.4" then
  assert(loadfile("spec/close54.lua", "t", _ENV))() -- with busted's describe and it
else
  describe("<close> (Lua 5.4)", function()
    it("closes sockets at the end of a scope", function()
      pending(_VERSION .. " has no <close> variables (Lua 5.4 syntax): spec/close54.lua "
        .. "not run")
    end)
  end)
end

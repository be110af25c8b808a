-- Every attack kind by name: the names --disable/--only (and DGRAM_FUZZ_DISABLE) take.
local A = {}
for _, part in ipairs({ "fuzz.attacks_socket", "fuzz.attacks_flow", "fuzz.attacks_reentry",
  "fuzz.attacks_loop" }) do
  for name, fn in pairs(require(part)) do
    assert(A[name] == nil, "two attack kinds named " .. name)
    A[name] = fn
  end
end
return A

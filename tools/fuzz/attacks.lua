-- Every attack kind by name (the names --disable/--only and DGRAM_FUZZ_DISABLE take), and
-- how often each is picked relative to the others (1 unless said here): the slow ones
-- (a nearly full stack costs a 16 MB stack) less often.
local kinds = {}
for _, part in ipairs({ "fuzz.attacks_socket", "fuzz.attacks_flow", "fuzz.attacks_reentry",
  "fuzz.attacks_loop" }) do
  for name, fn in pairs(require(part)) do
    assert(kinds[name] == nil, "two attack kinds named " .. name)
    kinds[name] = fn
  end
end

local weights = {
  ["deep-stack"] = 0.02, ["gc-exit"] = 0.02, ["signals"] = 0.3, ["nonyield"] = 0.3,
  ["watch"] = 0.5, ["gc-close"] = 0.5, ["gc-use"] = 0.5, ["gc-run"] = 0.5,
  ["send"] = 3, ["socket-junk"] = 3,
  ["address-strings"] = 2,
}

return { kinds = kinds, weights = weights }

-- What the fuzzer leaves out or tolerates by default, because of bugs open today (the
-- items of issue 10, and what this fuzzer found). `make fuzz` and spec/fuzz_nsspec.lua
-- use these lists unless DGRAM_FUZZ_DISABLE / DGRAM_FUZZ_KNOWN are set (to "" for none).
-- Remove an entry once its bug is fixed.
return {
  -- Attack kinds that crash or hang the process, or strand callbacks, today.
  disabled = {},
  -- Invariants (the [check] of a violation) that are not bugs, printed, not failing.
  known = {
    "send-error-object", -- a custom lookup's own error value (cb("text")) reaches the send's
                         --   callback as it is, as in Node (an error of the user's making)
    "error-destination", -- a connected socket's send errors carry no destination, as Node's;
                         --   the check cannot tell a connected socket's callback apart
  },
}

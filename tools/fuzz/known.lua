-- What the fuzzer leaves out or tolerates by default, because of bugs open today (the
-- items of issue 10, and what this fuzzer found). `make fuzz` and spec/fuzz_nsspec.lua
-- use these lists unless DGRAM_FUZZ_DISABLE / DGRAM_FUZZ_KNOWN are set (to "" for none).
-- Remove an entry once its bug is fixed.
return {
  -- Attack kinds that crash or hang the process, or strand callbacks, today.
  disabled = {
    "meta-close",      -- 2: an argument's metamethod closes the socket inside bind: SEGV
    "meta-send",       -- 2: ... sends or connects on it: under ASan a SEGV in the VM from
    "meta-bind",       --    recv_on_data -> loop_call within ~500k calls (a socket bound
                       --    without its keep-alive reference, collected while receiving)
    "gc-close",        -- 1: a finalizer closes its socket inside close(): uv_close twice
    "gc-exit",         -- 3: finalizers using the module at lua_close: SEGV in uv_udp_init_ex
    "gc-use",          -- 1: finalizers sending/binding/connecting inside other calls: SEGV
                       --    (recv_on_data -> loop_call, within ~100k calls among the others)
    "gc-run",          -- new: a finalizer's dgram.run("nowait") inside a module call (a
                       --    nested run) loses send callbacks
    "nonyield",        -- 6: recv/sleep where the coroutine cannot yield leave stale waiters
    "lookup-pending",  -- 5: close() does not call back a send waiting on a lookup
    "deep-stack",      -- 7: callbacks skipped at a nearly full stack are lost
    "sleep-junk",      -- new: dgram.sleep(function) never returns (taken as setTimeout(fn, fn))
    "lookup-junk",     -- new: a lookup's junk err (a string) becomes the send's err as is
    "connected-port0", -- new: send(msg, 0[, address], cb) on a connected socket: no callback
  },
  -- Invariants (the [check] of a violation) broken by open bugs: printed, not failing.
  known = {
    "error-destination",     -- 14: send EINVAL to the other family names no address/port
    "mapped-blocklist",      -- 8: ::ffff:127.0.0.1 in sendBlockList lets 127.0.0.1 through
    "nul-address",           -- 10: "127.0.0.1\0x" and block list entries with NUL accepted
    "lookup-error",          -- behaviours: an error raised in lookup becomes the send's err
    "full-stack",            -- 7: dgram.run skips the callbacks at a nearly full stack
    "emitter-error-object",  -- 13: EventEmitter methods on a non-emitter raise strings
    "nexttick-error-object", -- 13: nextTick(non-function) raises a string
    "emit-error-value",      -- new: emit("error", 1) with no listener raises 1 itself
                             --   (Node raises ERR_UNHANDLED_ERROR for a non-error value)
    "stale-waiter",          -- 6, and rarely without nonyield (seed 20261202: once in 300k
                             --   calls, "cannot resume dead coroutine" from a recv timeout)
    "coroutine-finish",      -- the same run: a coroutine left suspended in recv
  },
}

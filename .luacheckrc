std = "lua54"
max_line_length = 100
-- `jit`: the specs tell LuaJIT from Lua 5.1 by it (make test LUA=luajit).
files["spec/**/*.lua"] = { std = "+busted", read_globals = { "jit" } }
-- The module's own files use only what every Lua has (5.1, LuaJIT, 5.3, 5.4): "min".
files["lua/**/*.lua"] = { std = "min" }
-- Set by build/embed-host (examples/embed/host.c) for the scripts it runs.
-- Scripts written for it may define on_frame(n), which the host calls each frame.
files["examples/**/*.lua"] = { read_globals = { "HOSTED" } }
files["examples/embed/*.lua"] = { globals = { "on_frame" } }
files["spec/host/*.lua"] = { read_globals = { "HOSTED" }, globals = { "on_frame" } }
exclude_files = { "build/**", "luarocks-tree/**" }

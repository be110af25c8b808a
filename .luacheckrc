std = "lua54"
max_line_length = 100
files["spec/**/*.lua"] = { std = "+busted" }
-- Set by build/embed-host (examples/embed/host.c) for the scripts it runs.
files["examples/**/*.lua"] = { read_globals = { "HOSTED" } }
exclude_files = { "build/**", "luarocks-tree/**" }

std = "lua54"
max_line_length = 100
files["spec/**/*.lua"] = { std = "+busted" }
exclude_files = { "build/**", "luarocks-tree/**" }

-- A module with a field a handler may try to set (see /remember in main.lua).
return { secret = nil }

-- Copyright 2026 The mailwatchd Authors
-- SPDX-License-Identifier: Apache-2.0
--
-- wrk script: send requests on a fixed schedule of RATE per second per
-- connection (wrk ... -s bench/wrk-rate.lua URL -- RATE) instead of as fast
-- as answers come back. Each request is due 1/RATE after the previous one's
-- due time; when an answer comes late the next request goes out at once, so
-- the average rate holds as long as the daemon keeps up. wrk measures each
-- latency from send to answer. Uses LuaJIT's ffi for a monotonic clock.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } wrk_rate_timespec;
int clock_gettime(int clk_id, wrk_rate_timespec *tp);
]]
local ts = ffi.new("wrk_rate_timespec")
local CLOCK_MONOTONIC = 1

local function now_ms()
	ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
	return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local interval = 5 -- ms: 200 requests/s unless told otherwise
local due = nil

function init(args)
	local rate = tonumber(args[1] or "200")
	interval = 1000 / rate
end

function delay()
	local t = now_ms()
	if due == nil then
		due = t
	end
	due = due + interval
	local d = due - t
	if d < 0 then
		return 0
	end
	return d
end

-- wrk script for bench/login.py: password logins through the real login form.
--
--   wrk -t 2 -c 4 -d 30s -s bench/login.lua http://127.0.0.1:PORT -- USERS PREFIX PASSWORD CSRF
--
-- Every request is a fresh, anonymous POST of the login form (wrk does not
-- keep the cookies it is given), for the next user in turn: thread k of n
-- logs in users k, k+n, k+2n, … so that consecutive logins never hit the same
-- account. The CSRF token is a fixed secret sent both as the csrftoken cookie
-- and as the form field (see bench/login.py for why Django accepts it).
-- Responses are counted per status; "302 home" is a login that succeeded
-- (redirect to the home page). done() prints machine-readable "BENCH" lines.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   users = tonumber(args[1])
   prefix = args[2]
   password = args[3]
   csrf = args[4]
   step = tonumber(args[5])
   next_user = id
   statuses = {}
   headers = {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = "csrftoken=" .. csrf,
   }
end

local function urlencode(text)
   return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
   local user = string.format("%s%05d", prefix, next_user % users + 1)
   next_user = next_user + step
   local body = "csrfmiddlewaretoken=" .. csrf .. "&login=" .. user .. "&password=" .. urlencode(password)
   return wrk.format("POST", "/fr/accounts/login/", headers, body)
end

function response(status, headers, body)
   local key = tostring(status)
   if status == 302 and headers["Location"] == "/fr/" then
      key = "302-home"
   end
   statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
   local totals = {}
   for _, thread in ipairs(threads) do
      for key, count in pairs(thread:get("statuses")) do
         totals[key] = (totals[key] or 0) + count
      end
   end
   for key, count in pairs(totals) do
      io.write(string.format("BENCH status %s %d\n", key, count))
   end
   local errors = summary.errors
   io.write(string.format("BENCH duration_us %d\n", summary.duration))
   io.write(string.format("BENCH requests %d\n", summary.requests))
   io.write(string.format("BENCH socket_errors %d\n", errors.connect + errors.read + errors.write + errors.timeout))
   for _, p in ipairs({ 50, 90, 99 }) do
      io.write(string.format("BENCH latency_p%d_us %d\n", p, latency:percentile(p)))
   end
   io.write(string.format("BENCH latency_max_us %d\n", latency.max))
end

-- wrk script for the manual-run benchmark (tests/bench/run.sh):
--   wrk -s post_run.lua <url> -- <api key>
-- POSTs an empty JSON body with the tenant's key. No response() hook: wrk
-- parses every answer into Lua when one is defined, which would slow the
-- client that shares the machine with the cluster. The answers are counted
-- by status from the gateway's /metrics instead.
function init(args)
  wrk.method = "POST"
  wrk.body = "{}"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-API-Key"] = args[1]
end

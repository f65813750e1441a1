-- wrk script: POSTs pre-signed Twilio SMS forms, each request a distinct MessageSid.
-- Usage: wrk -t T -c C -d D -s wrk_signed_sms.lua URL -- FILE T
-- FILE holds one "signature<TAB>urlencoded body" per line; thread k takes lines k, k+T, ...
local next_thread = 1

function setup(thread)
  thread:set("thread_no", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  signatures, bodies = {}, {}
  for line in io.lines(args[1]) do
    local signature, body = line:match("^([^\t]+)\t(.*)$")
    signatures[#signatures + 1] = signature
    bodies[#bodies + 1] = body
  end
  stride = tonumber(args[2])
  index = thread_no
end

function request()
  local i = index
  index = index + stride
  if i > #bodies then
    i = (i - 1) % #bodies + 1 -- out of fresh messages: a provider retry from here on
  end
  return wrk.format("POST", "/webhooks/twilio/sms", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = signatures[i],
  }, bodies[i])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end

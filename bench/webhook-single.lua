-- wrk script: one RecordingFileStatusUpdated event per request, each with a fresh event id and document id, so
-- that every request is a new durable enqueue (a repeated id would be a cheaper no-op).
local counter = 0
local thread_id = 0
local prefix = tostring(os.time()) .. "-" .. tostring(math.random(1, 1000000))

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function request()
  counter = counter + 1
  local id = prefix .. "-" .. tostring(tid) .. "-" .. tostring(counter)
  local body = '[{"id":"' .. id .. '","subject":"/recording/call/c/recordingId/r' .. id ..
    '","data":{"recordingStorageInfo":{"recordingChunks":[{"documentId":"d' .. id ..
    '","index":0,"endReason":"SessionEnded"}]}},"eventType":"Microsoft.Communication.RecordingFileStatusUpdated",' ..
    '"dataVersion":"1.0","metadataVersion":"1","eventTime":"2026-03-03T10:00:00Z"}]'
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["aeg-event-type"] = "Notification" }, body)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, non2xx))
end

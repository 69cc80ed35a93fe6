-- Phase "start": pop the next job, record its execution, return its hash.
--
-- KEYS[1] the worker hash, KEYS[2] the suspension flag (rq:suspended),
-- then for each queue i (from 0) in the order the worker listens:
-- KEYS[3 + 3i] the queue list, KEYS[4 + 3i] its started registry,
-- KEYS[5 + 3i] its intermediate list.
-- ARGV[1] worker name, ARGV[2] execution id, ARGV[3] now as RQ formats it,
-- ARGV[4] now as a float timestamp (its whole seconds score the registry
-- entries), ARGV[5] "1" for a worker that runs jobs in its own process, "0"
-- for a forking one, ARGV[6] the job monitoring interval, ARGV[7] RQ's
-- default worker TTL, ARGV[8] the worker's TTL while idle, ARGV[9] the job
-- key prefix, ARGV[10] an id the client already moved to queue ARGV[11]'s
-- intermediate list with a blocking pop ("" when none).
--
-- The popped job's own keys (hash, execution hash and execution registry)
-- are derived from its id: they cannot be named before the pop.
--
-- Returns {"suspended"}, {"empty"} or {"job", queue index from 1, job id,
-- the job hash as HGETALL would return it after the writes}. The writes are
-- those of stock RQ's prepare_execution and prepare_job_execution together,
-- plus the count of executions in the job's rqfast_executions field (its
-- attempt number). The hash is read once, before the writes, and the
-- written fields are patched into the reply, which saves an EXISTS, an HGET
-- and a second HGETALL per job.

-- The idle state a finish phase leaves its worker in, written once at the
-- end of the batch unless a start phase that pops a job overwrites it:
-- {worker key, now as RQ formats it, TTL}. Shared by the phases below.
local idle_worker = nil

local function write_idle(worker, now_iso, ttl, after_finish)
    if after_finish then
        redis.call('HDEL', worker, 'current_job')
        redis.call('HSET', worker, 'state', 'idle',
            'current_job_working_time', 0, 'last_heartbeat', now_iso)
    else
        redis.call('HSET', worker, 'state', 'idle', 'last_heartbeat', now_iso)
    end
    redis.call('EXPIRE', worker, ttl)
end

-- Set the fields of a flat HGETALL reply, appending those it lacks.
local function patch_hash(flat, fields)
    for i = 1, #flat, 2 do
        local value = fields[flat[i]]
        if value ~= nil then
            flat[i + 1] = value
            fields[flat[i]] = nil
        end
    end
    for name, value in pairs(fields) do
        flat[#flat + 1] = name
        flat[#flat + 1] = value
    end
    return flat
end

local function op_start(K, A)
    local worker = K[1]
    if redis.call('EXISTS', K[2]) == 1 then
        return {'suspended'}
    end
    local name, exec_id, now_iso, now_ts = A[1], A[2], A[3], A[4]
    local now_int = math.floor(tonumber(now_ts))
    local prefix = A[9]

    -- Pop ids until one still has a hash, as stock dequeue_any skips the rest.
    local id, qi, flat = nil, nil, nil
    if A[10] ~= '' then
        qi = tonumber(A[11])
        redis.call('LREM', K[5 + 3 * qi], 1, A[10])
        flat = redis.call('HGETALL', prefix .. A[10])
        if #flat > 0 then
            id = A[10]
        end
    else
        for i = 0, (#K - 2) / 3 - 1 do
            while true do
                local popped = redis.call('LPOP', K[3 + 3 * i])
                if not popped then
                    break
                end
                flat = redis.call('HGETALL', prefix .. popped)
                if #flat > 0 then
                    id, qi = popped, i
                    break
                end
            end
            if id then
                break
            end
        end
    end
    if not id then
        write_idle(worker, now_iso, A[8], idle_worker ~= nil)
        idle_worker = nil
        return {'empty'}
    end

    -- The fields read here and the heartbeat TTL, by stock RQ's rule for each
    -- kind of worker.
    local job = prefix .. id
    local timeout, started = nil, 0
    for i = 1, #flat, 2 do
        local name = flat[i]
        if name == 'timeout' then
            timeout = tonumber(flat[i + 1])
        elseif name == 'rqfast_executions' then
            started = tonumber(flat[i + 1]) or 0
        end
    end
    local interval, default_ttl = tonumber(A[6]), tonumber(A[7])
    local ttl
    if A[5] == '1' then
        if timeout == -1 then
            ttl = default_ttl
        elseif timeout == nil or timeout == 0 then
            ttl = default_ttl + 60
        else
            ttl = math.floor(timeout) + 60
        end
    elseif timeout ~= nil and timeout > 0 then
        ttl = math.floor(math.min(timeout, interval)) + 60
    else
        ttl = interval + 60
    end

    -- The execution, its registries, the worker and the job's own fields.
    local execution = 'rq:execution:' .. id .. ':' .. exec_id
    redis.call('HSET', execution, 'id', exec_id, 'created_at', now_ts,
        'last_heartbeat', now_ts, 'worker_name', name)
    redis.call('EXPIRE', execution, ttl)
    local executions = 'rq:executions:' .. id
    redis.call('ZADD', executions, now_int + ttl + 60, exec_id)
    redis.call('EXPIRE', executions, ttl + 60)
    redis.call('ZADD', K[4 + 3 * qi], now_int + ttl, id .. ':' .. exec_id)
    redis.call('HSET', worker, 'state', 'busy', 'current_job', id,
        'current_job_working_time', 0, 'last_heartbeat', now_iso)
    redis.call('EXPIRE', worker, ttl)
    idle_worker = nil
    -- rqfast_executions is an extra field stock RQ ignores: the executions
    -- started by rqfast workers.
    local written = {last_heartbeat = now_iso, status = 'started',
        started_at = now_iso, worker_name = name,
        rqfast_executions = tostring(started + 1)}
    redis.call('HSET', job, 'last_heartbeat', now_iso, 'status', 'started',
        'started_at', now_iso, 'worker_name', name,
        'rqfast_executions', written.rqfast_executions)
    redis.call('PERSIST', job)
    return {'job', qi + 1, id, patch_hash(flat, written)}
end

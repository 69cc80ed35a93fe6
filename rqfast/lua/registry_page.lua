-- Read one page of a registry together with the hashes of its jobs.
--
-- KEYS[1] the registry (a sorted set of job ids or job_id:execution_id)
-- ARGV[1], ARGV[2] the first and last rank, as ZRANGE takes them
-- ARGV[3] '1' for descending order
-- ARGV[4] the job key prefix (rq:job:)
--
-- Returns a flat list: member, then the HGETALL reply of its job hash.
-- The job keys are derived here rather than named in KEYS, since they are
-- only known once the page is read; the script only reads, and RQ's key
-- layout puts a registry and its jobs in different hash slots anyway, so
-- it is not meant for a Redis Cluster.

local members
if ARGV[3] == '1' then
    members = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'REV')
else
    members = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2])
end
local reply = {}
for _, member in ipairs(members) do
    local job_id = string.match(member, '^[^:]*')
    reply[#reply + 1] = member
    reply[#reply + 1] = redis.call('HGETALL', ARGV[4] .. job_id)
end
return reply

-- Run a batch of lifecycle phases in order, atomically.
--
-- ARGV[1] the number of phases p, then for each phase its name ("start" or
-- "finish"), its number of keys and its number of arguments; the phases'
-- KEYS follow each other, and so do their arguments after those 1 + 3p
-- items. A phase answering {"dependents"} stops the batch. A finished job's
-- worker is left idle at the end unless a later start gave it a job.
-- Returns the list of the phases' answers.

local phases = {start = op_start, finish = op_finish}
local count = tonumber(ARGV[1])
local kpos, apos = 1, 2 + 3 * count
local answers = {}
for i = 0, count - 1 do
    local phase = phases[ARGV[2 + 3 * i]]
    local nkeys, nargs = tonumber(ARGV[3 + 3 * i]), tonumber(ARGV[4 + 3 * i])
    local answer = phase({unpack(KEYS, kpos, kpos + nkeys - 1)},
        {unpack(ARGV, apos, apos + nargs - 1)})
    kpos, apos = kpos + nkeys, apos + nargs
    answers[#answers + 1] = answer
    if answer[1] == 'dependents' then
        break
    end
end
if idle_worker ~= nil then
    write_idle(idle_worker[1], idle_worker[2], idle_worker[3], true)
end
return answers

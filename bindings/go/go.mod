module libslotq.dev/slotq

go 1.19
